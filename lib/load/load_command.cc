// What offpeak-load's main needs besides its flags, kept here so that main only parses
// options, calls the library and maps the result to an exit code: opening the inputs, the
// settings tests make through the environment, and the texts of the summary and the
// progress line. Nothing here prints: the lines and texts go back to main.

#include "load_cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "json_text.h"

namespace offpeak {

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

void apply_test_settings(LoadOptions& options,
                         const std::function<const char*(const char*)>& getenv) {
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

void add_counts(LogLine& line, const LoadCounts& counts) {
  line.add("status", "ok")
      .add("lines", counts.lines)
      .add("inserted", counts.inserted)
      .add("updated", counts.updated)
      .add("unchanged", counts.unchanged)
      .add("duplicates", counts.duplicates)
      .add("rejected", counts.rejected);
}

}  // namespace

std::vector<LogLine> summary_lines(const LoadResult& result, const LoadSummary& summary) {
  std::vector<LogLine> lines;
  for (const PairCounts& pair : result.pairs) {
    LogLine& line = lines.emplace_back();
    line.add("region", pair.region).add("source", pair.source);
    add_counts(line, pair.counts);
  }
  LogLine& total = lines.emplace_back();
  add_counts(total, result.counts);
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
      "\"rejected\":{},\"load_id\":{},\"dry_run\":{},\"table\":{},\"seconds\":{:.3f}}}\n",
      c.lines, c.inserted, c.updated, c.unchanged, c.duplicates, c.rejected,
      summary.dry_run ? std::string("null") : std::to_string(result.load_id),
      summary.dry_run ? "true" : "false", json_string(summary.table), summary.seconds);
}

std::string progress_text(std::string_view tool, const LoadCounts& counts) {
  return fmt::format("{}: {} lines, {:.1f} MB read...", tool, counts.lines,
                     static_cast<double>(counts.bytes) / 1e6);
}

}  // namespace offpeak
