// offpeak-load's run: the steps between a parsed command line and an exit code, and the
// pieces the run is made of: opening the inputs, the settings tests make through the
// environment, and the texts of the summary and the progress line.
//
// The idea: the run is a table of contents, one call per step (the inputs, the reject file,
// the connections, the load, the summary), and every way out goes through one place that says
// what went wrong and writes --metrics-file, so a load that fails early still leaves the
// figures cron's alerts read. What the run shows goes through the caller's Console.

#include "load_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "json_text.h"
#include "load_metrics.h"
#include "metrics.h"
#include "pg.h"
#include "reject_file.h"

namespace offpeak {
namespace {

constexpr std::string_view kTool = "offpeak-load";
// Connections that look keys up beside the load's own; a server with no room for them just
// makes the load slower.
constexpr int kLookupConnections = 2;

class CommandRun {
 public:
  CommandRun(const LoadCommand& command, const Console& console)
      : command_(command), console_(console) {}

  ExitCode run() {
    const auto inputs = open_inputs(command_.files);
    if (!inputs) return fail(inputs.error());
    if (!command_.reject_file.empty()) {
      auto created = RejectFile::create(command_.reject_file);
      if (!created) return fail(created.error());
      rejects_.emplace(std::move(*created));
    }
    std::vector<TypedSource> typed;
    if (!command_.config.empty()) {
      auto read = read_typed_sources(command_.config, console_.diagnostic);
      if (!read) return fail(read.error());
      typed = std::move(*read);
    }
    const Conninfo conninfo = choose_conninfo(command_.db, console_.env("DATABASE_URL"));
    auto db = PgConnection::connect(conninfo);
    if (!db) return fail(db.error());
    connect_lookups(conninfo);
    LoadOptions options{command_.table, command_.reject_file, command_.max_rejects,
                        command_.dry_run, command_.session};
    options.history = command_.history;
    options.typed = std::move(typed);
    apply_test_settings(options, console_.env);
    const auto result = load_ndjson(**db, lookups_, *inputs, options, events());
    clear_progress();
    if (!result) return fail(result.error());
    for (const std::string& warning : result->warnings)
      console_.diagnostic({Severity::kWarning, {}, "", "", warning});
    if (rejects_)
      if (auto closed = rejects_->close(); !closed) return fail(closed.error(), &*result);
    return report(*result);
  }

 private:
  void connect_lookups(const Conninfo& conninfo) {
    for (int i = 0; i < kLookupConnections; ++i) {
      auto lookup = PgConnection::connect(conninfo);
      if (!lookup) break;
      lookups_.push_back(lookup->get());
      lookup_connections_.push_back(std::move(*lookup));
    }
  }

  LoadEvents events() {
    LoadEvents events;
    events.progress = [this](const LoadCounts& counts) {
      if (console_.progress && console_.progress->due())
        console_.progress->show(progress_text(kTool, counts));
    };
    events.bad_line = [this](const BadLine& bad) {
      clear_progress();
      console_.diagnostic({Severity::kError,
                           {bad.file.empty() ? "<stdin>" : bad.file, static_cast<int>(bad.line), 0},
                           "",
                           "",
                           bad.reason});
    };
    if (rejects_) {
      events.reject = [this](std::string_view file, const InputLine& line,
                             std::string_view reason) {
        return rejects_->write(file, line, reason);
      };
      events.before_commit = [this] { return rejects_->sync(); };
    }
    events.in_transaction = command_.in_transaction;
    return events;
  }

  // The summary lines, and with --json the summary on stdout.
  ExitCode report(const LoadResult& result) {
    const LoadSummary summary{command_.table, command_.dry_run, seconds()};
    for (const LogLine& line : summary_lines(result, summary)) console_.log(line);
    if (command_.json)
      if (auto written = console_.write(summary_json(result, summary)); !written)
        return fail({kExitIoErr, written.error().message + " (the load is committed)"}, &result);
    return end(kExitOk, &result);
  }

  void clear_progress() const {
    if (console_.progress) console_.progress->clear();
  }

  // Reports `error` and ends the run with its code; a usage error writes no metrics.
  ExitCode fail(const Error& error, const LoadResult* loaded = nullptr) {
    clear_progress();
    console_.error(error);
    return error.exit == kExitUsage ? error.exit : end(error.exit, loaded);
  }

  // Every run that gets past its usage checks ends here: the metrics file, then the code.
  ExitCode end(ExitCode code, const LoadResult* loaded) {
    if (command_.metrics_file.empty() || command_.dry_run) return code;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    MetricsFile metrics =
        load_metrics(loaded, code, std::chrono::duration<double>(now).count(), seconds());
    if (auto warning = write_run_metrics(metrics, command_.metrics_file, kLoadLastSuccess)) {
      clear_progress();
      console_.log(*warning);
    }
    return code;
  }

  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  const LoadCommand& command_;
  const Console& console_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<RejectFile> rejects_;
  std::vector<std::unique_ptr<PgConnection>> lookup_connections_;
  std::vector<PgConnection*> lookups_;
};

}  // namespace

ExitCode run_load_command(const LoadCommand& command, const Console& console) {
  return CommandRun(command, console).run();
}

Result<std::vector<LoadInput>> open_inputs(std::vector<std::string> files) {
  if (files.empty()) files.emplace_back("-");
  std::vector<LoadInput> inputs;
  for (const std::string& file : files) {
    if (file == "-") {
      inputs.push_back({"", STDIN_FILENO});
      continue;
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const Error error{kExitUsage, fmt::format("cannot open {}: {}", file, std::strerror(errno))};
      for (const LoadInput& input : inputs)
        if (input.fd != STDIN_FILENO) ::close(input.fd);
      return error;
    }
    inputs.push_back({file, fd});
  }
  return inputs;
}

void apply_test_settings(LoadOptions& options, const EnvLookup& getenv) {
  const auto number = [&](const char* name, std::uint64_t& value) {
    const char* setting = getenv(name);
    if (setting == nullptr) return false;
    const std::string_view text(setting);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size();
  };
  if (std::uint64_t bytes = 0; number("OFFPEAK_LOAD_KEY_MEMORY", bytes)) options.key_memory = bytes;
  if (std::uint64_t bits = 0; number("OFFPEAK_LOAD_KEY_BITS", bits) && bits < 64)
    options.key_id_mask = (std::uint64_t{1} << bits) - 1;
}

namespace {

// `deleted` shows only where an end line declared a run complete: elsewhere nothing is marked.
void add_counts(LogLine& line, const LoadCounts& counts, bool complete) {
  line.add("status", "ok")
      .add("lines", counts.lines)
      .add("inserted", counts.inserted)
      .add("updated", counts.updated)
      .add("unchanged", counts.unchanged)
      .add("duplicates", counts.duplicates)
      .add("stale", counts.stale);
  if (complete) line.add("deleted", counts.deleted);
  line.add("rejected", counts.rejected);
}

}  // namespace

std::vector<LogLine> summary_lines(const LoadResult& result, const LoadSummary& summary) {
  std::vector<LogLine> lines;
  for (const PairCounts& pair : result.pairs) {
    LogLine& line = lines.emplace_back();
    line.add("region", pair.region).add("source", pair.source);
    add_counts(line, pair.counts, pair.complete);
  }
  LogLine& total = lines.emplace_back();
  add_counts(total, result.counts,
             std::any_of(result.pairs.begin(), result.pairs.end(),
                         [](const PairCounts& pair) { return pair.complete; }));
  if (summary.dry_run) {
    total.add("dry_run", true);
  } else {
    total.add("load_id", std::int64_t{result.load_id});
  }
  total.add("table", summary.table).add("seconds", summary.seconds, 1);
  return lines;
}

std::string summary_json(const LoadResult& result, const LoadSummary& summary) {
  const LoadCounts& c = result.counts;
  return fmt::format(
      "{{\"lines\":{},\"inserted\":{},\"updated\":{},\"unchanged\":{},\"duplicates\":{},"
      "\"stale\":{},\"rejected\":{},\"deleted\":{},\"load_id\":{},\"dry_run\":{},"
      "\"table\":{},\"seconds\":{:.3f}}}\n",
      c.lines, c.inserted, c.updated, c.unchanged, c.duplicates, c.stale, c.rejected, c.deleted,
      summary.dry_run ? std::string("null") : std::to_string(result.load_id),
      summary.dry_run ? "true" : "false", json_string(summary.table), summary.seconds);
}

std::string progress_text(std::string_view tool, const LoadCounts& counts) {
  return fmt::format("{}: {} lines, {:.1f} MB read...", tool, counts.lines,
                     static_cast<double>(counts.bytes) / 1e6);
}

}  // namespace offpeak
