// offpeak-ledger's subcommands: each checks its arguments, connects, makes sure the ledger's
// schema is there, makes one call of the ledger, and says what happened, on stdout for
// scripts (claims, missed windows, the status) and as log lines on stderr for people.
//
// The windows to claim come as offpeak-plan prints them with --json, so a tick is
// `offpeak-plan --due --json | offpeak-ledger claim`: the plan owns the windows (local
// times, calendars, DST), the ledger only compares their UTC instants with the database's
// clock.

#include "ledger_command.h"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

#include "duration.h"
#include "json_text.h"
#include "ledger.h"
#include "ledger_metrics.h"
#include "ledger_status.h"
#include "log.h"
#include "pg.h"
#include "sha256.h"
#include "timestamp.h"

namespace offpeak {

namespace {

Result<std::chrono::seconds> duration_arg(std::string_view flag, const std::string& text) {
  const auto d = parse_duration(text);
  if (!d || d->count() <= 0)
    return Error{kExitUsage,
                 fmt::format("{}: \"{}\" is not a duration like 5m or 1h30m", flag, text)};
  return *d;
}

// The windows of one line of offpeak-plan --json; none when the region is not off-peak.
Result<std::optional<WindowRequest>> window_of(simdjson::dom::parser& parser,
                                               const std::string& line, const std::string& where) {
  simdjson::dom::element object;
  if (parser.parse(line).get(object) != simdjson::SUCCESS || !object.is_object())
    return Error{kExitDataErr, where + ": not a JSON object"};
  bool offpeak = true;  // lines of --due have no "offpeak"
  if (object["offpeak"].get_bool().get(offpeak) != simdjson::SUCCESS) offpeak = true;
  if (!offpeak || object["window_start"].is_null()) return std::optional<WindowRequest>{};
  WindowRequest w;
  std::string_view text;
  for (auto [key, field] : {std::pair{"region", &w.region},
                            {"window_id", &w.window_id},
                            {"window_start", &w.window_start},
                            {"window_end", &w.window_end}}) {
    if (object[key].get_string().get(text) != simdjson::SUCCESS || text.empty())
      return Error{kExitDataErr, fmt::format("{}: \"{}\" missing or not a string", where, key)};
    *field = text;
  }
  for (const auto* time : {&w.window_start, &w.window_end}) {
    if (!parse_rfc3339(*time))
      return Error{kExitDataErr, fmt::format("{}: \"{}\" is not an RFC 3339 time", where, *time)};
  }
  std::int64_t budget = 0;
  if (object["budget_seconds"].get_int64().get(budget) != simdjson::SUCCESS || budget < 0)
    return Error{kExitDataErr,
                 where + ": \"budget_seconds\" missing or not a non-negative integer"};
  w.budget = std::chrono::seconds(budget);
  // A region with claim = "sources" (regions.toml): its sources are claimed one by one.
  std::string_view claim;
  if (object["claim"].get_string().get(claim) == simdjson::SUCCESS && claim == "sources") {
    simdjson::dom::array sources;
    if (object["sources"].get_array().get(sources) != simdjson::SUCCESS)
      return Error{kExitDataErr, where + ": \"claim\" is \"sources\" but \"sources\" is no array"};
    for (auto source : sources) {
      if (source.get_string().get(text) != simdjson::SUCCESS || text.empty())
        return Error{kExitDataErr, where + ": \"sources\" holds something else than names"};
      w.sources.emplace_back(text);
    }
  }
  return std::optional<WindowRequest>{std::move(w)};
}

Result<std::vector<WindowRequest>> read_windows(const std::vector<std::string>& files) {
  std::vector<WindowRequest> windows;
  simdjson::dom::parser parser;
  const std::vector<std::string> names = files.empty() ? std::vector<std::string>{"-"} : files;
  for (const auto& name : names) {
    std::ifstream file;
    if (name != "-") {
      file.open(name);
      if (!file) return Error{kExitIoErr, fmt::format("cannot read {}", name)};
    }
    std::istream& in = name == "-" ? std::cin : file;
    const std::string shown = name == "-" ? "<stdin>" : name;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto window = window_of(parser, line, fmt::format("{}:{}", shown, number));
      if (!window) return std::move(window).error();
      if (*window) windows.push_back(std::move(**window));
    }
    if (in.bad()) return Error{kExitIoErr, fmt::format("cannot read {}", shown)};
  }
  return windows;
}

Result<std::string> config_hash(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return Error{kExitConfig, fmt::format("cannot read {}", path)};
  const auto digest = Sha256().digest({text.str()});
  std::string hex;
  for (const auto byte : digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

class Runner {
 public:
  Runner(const LedgerCommand& command, const Console& console)
      : command_(command), console_(console) {}

  int run() {
    auto checked = check_arguments();
    if (!checked) return fail(checked.error());
    conninfo_ = choose_conninfo(command_.db, console_.env("DATABASE_URL"));
    auto db = PgConnection::connect(conninfo_);
    if (!db) return fail(db.error());
    db_ = std::move(*db);
    // A dry run writes nothing, not even the ledger's tables.
    if (!command_.dry_run)
      if (auto schema = ensure_ledger_schema(*db_); !schema) return fail(schema.error());
    const auto& a = command_.action;
    auto code = a == "claim"       ? claim()
                : a == "heartbeat" ? beat()
                : a == "finish"    ? end()
                : a == "reset"     ? reset_windows()
                : a == "sweep"     ? sweep_windows()
                                   : status();
    return code ? *code : fail(code.error());
  }

 private:
  int fail(const Error& e) {
    console_.error(e);
    return e.exit;
  }

  Result<void> check_arguments() {
    const auto lease = duration_arg("--lease", command_.lease);
    if (!lease) return lease.error();
    lease_ = *lease;
    static const std::regex kUuid(
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    if ((command_.action == "heartbeat" || command_.action == "finish") &&
        !std::regex_match(command_.token, kUuid))
      return Error{kExitUsage,
                   fmt::format("--token: \"{}\" is not a token claim printed", command_.token)};
    if (command_.action == "finish") {
      for (auto [flag, text, out] : {std::tuple{"--retry-base", &command_.retry_base, &retry_base_},
                                     {"--retry-max", &command_.retry_max, &retry_max_}}) {
        const auto d = duration_arg(flag, *text);
        if (!d) return d.error();
        *out = *d;
      }
      if (!command_.sources_json.empty()) {
        simdjson::dom::parser parser;
        simdjson::dom::element e;
        if (parser.parse(command_.sources_json).get(e) != simdjson::SUCCESS || !e.is_object())
          return Error{kExitUsage, "--sources-json: not a JSON object"};
      }
    }
    if (command_.limit < 1) return Error{kExitUsage, "--limit: must be at least 1"};
    if (command_.dry_run && command_.backfill)
      return Error{kExitUsage, "--dry-run looks at a tick's claims: not with --backfill"};
    if (command_.backfill && !command_.sources.empty())
      return Error{kExitUsage, "--backfill claims whole windows: it cannot be used with --source"};
    if (command_.nights < 1) return Error{kExitUsage, "--nights: must be at least 1"};
    return {};
  }

  Result<int> claim() {
    auto windows = read_windows(command_.files);
    if (!windows) return std::move(windows).error();
    auto hash = config_hash(command_.config_file);
    if (!hash) return std::move(hash).error();
    const ClaimTerms terms{command_.host.empty() ? host_name() : command_.host, lease_, *hash,
                           command_.backfill};
    if (!command_.sources.empty())
      for (auto& w : *windows) w.sources = command_.sources;
    if (command_.dry_run) return peek_claims(*windows, terms);
    auto claims = claim_all(*windows, terms);
    if (!claims) return std::move(claims).error();
    std::string out;
    for (const auto& c : *claims) {
      console_.log(LogLine()
                       .add("region", c.region)
                       .add("window", c.window_id)
                       .add("source", c.source.empty() ? "-" : c.source)
                       .add("state", "running")
                       .add("attempt", c.attempt)
                       .add("host", terms.host));
      out += command_.json ? fmt::format(
                                 "{{\"region\":{},\"window_id\":{},\"source\":{},\"attempt\":{},"
                                 "\"token\":{},\"lease_until\":{}}}\n",
                                 json_string(c.region), json_string(c.window_id),
                                 c.source.empty() ? "null" : json_string(c.source), c.attempt,
                                 json_string(c.token), json_string(c.lease_until))
                           : fmt::format("{} {} {} {} {} {}\n", c.region, c.window_id,
                                         c.source.empty() ? "-" : c.source, c.attempt, c.token,
                                         c.lease_until);
    }
    if (auto written = console_.write(out); !written) return std::move(written).error();
    return claims->empty() ? kExitNothing : kExitOk;
  }

  // The windows claimed whole, then at most --limit sources of the others, grouped by their
  // list of sources (a region's), each group in one statement.
  Result<std::vector<Claim>> claim_all(const std::vector<WindowRequest>& windows,
                                       const ClaimTerms& terms) {
    std::vector<WindowRequest> whole;
    std::map<std::vector<std::string>, std::vector<WindowRequest>> by_sources;
    for (const auto& w : windows) {
      if (w.sources.empty())
        whole.push_back(w);
      else
        by_sources[w.sources].push_back(w);
    }
    auto claims = claim_windows(*db_, whole, terms);
    if (!claims) return claims;
    int left = command_.limit;
    for (const auto& [sources, group] : by_sources) {
      auto taken = claim_sources(*db_, group, sources, left, terms);
      if (!taken) return taken;
      left -= static_cast<int>(taken->size());
      claims->insert(claims->end(), taken->begin(), taken->end());
    }
    return claims;
  }

  // claim --dry-run: what a claim would grant now, one line per window (or source): REGION
  // WINDOW SOURCE VERDICT, then why not. Exit 0 when something is claimable, else 1.
  Result<int> peek_claims(const std::vector<WindowRequest>& windows, const ClaimTerms& terms) {
    auto peeks = peek(*db_, windows, terms);
    if (!peeks) return std::move(peeks).error();
    std::string out;
    bool claimable = false;
    for (const auto& p : *peeks) {
      claimable |= p.verdict == "claimable";
      if (command_.json) {
        out += fmt::format(
            "{{\"region\":{},\"window_id\":{},\"source\":{},\"verdict\":{},\"host\":{},"
            "\"until\":{},\"error\":{}}}\n",
            json_string(p.region), json_string(p.window_id),
            p.source.empty() ? "null" : json_string(p.source), json_string(p.verdict),
            p.host.empty() ? "null" : json_string(p.host),
            p.until.empty() ? "null" : json_string(p.until),
            p.error.empty() ? "null" : json_string(p.error));
        continue;
      }
      std::string why;
      if (p.verdict == "held") why = fmt::format(" by {} until {}", p.host, p.until);
      if (p.verdict == "backoff") why = fmt::format(" until {}", p.until);
      if (p.verdict == "no_budget") why = ": now + budget is not before the window's end";
      if (p.verdict == "failed_permanent") why = " (same config; offpeak-ledger reset retries it)";
      if (!p.error.empty() && p.verdict != "done") why += ": " + one_line_text(p.error);
      out += fmt::format("{} {} {} {}{}\n", p.region, p.window_id,
                         p.source.empty() ? "-" : p.source, p.verdict, why);
    }
    if (auto written = console_.write(out); !written) return std::move(written).error();
    return claimable ? kExitOk : kExitNothing;
  }

  static std::string one_line_text(std::string text) {
    for (char& c : text)
      if (c == '\n' || c == '\r') c = ' ';
    return text;
  }

  Result<int> beat() {
    auto kept = heartbeat(*db_, command_.token, lease_);
    if (!kept) return std::move(kept).error();
    if (*kept) return kExitOk;
    console_.log(LogLine(LogLevel::kWarning)
                     .add("token", command_.token)
                     .add("status", "lease_lost")
                     .add("msg", "the claim was taken over or its lease ran out: stop the run"));
    return kExitNothing;
  }

  Result<int> end() {
    if (command_.state != "done" && command_.state != "failed")
      return Error{kExitUsage, "--state: must be done or failed"};
    Finish f{command_.token,
             command_.state == "done",
             command_.scrape_exit,
             command_.load_exit,
             command_.load_id,
             command_.sources_json,
             command_.records,
             command_.status,
             mask_secrets(command_.error, conninfo_.text),
             retry_base_,
             retry_max_};
    auto finished = finish(*db_, f);
    if (!finished) return std::move(finished).error();
    if (!*finished) {
      console_.log(LogLine(LogLevel::kWarning)
                       .add("token", command_.token)
                       .add("status", "claim_lost")
                       .add("msg", "the claim is no longer this run's: nothing recorded"));
      return kExitNothing;
    }
    const auto& r = **finished;
    LogLine line(r.state == "done" ? LogLevel::kInfo : LogLevel::kError);
    line.add("region", r.region).add("window", r.window_id);
    if (!r.source.empty()) line.add("source", r.source);
    line.add("state", r.state).add("permanent", r.permanent);
    if (!r.retry_at.empty()) line.add("retry_at", r.retry_at);
    if (r.window_state != r.state) line.add("window_state", r.window_state);
    console_.log(line);
    return kExitOk;
  }

  Result<int> reset_windows() {
    auto count = reset(*db_, command_.region, command_.window_id);
    if (!count) return std::move(count).error();
    console_.log(LogLine().add("region", command_.region).add("reset", *count));
    return *count > 0 ? kExitOk : kExitNothing;
  }

  Result<int> sweep_windows() {
    auto missed = sweep(*db_);
    if (!missed) return std::move(missed).error();
    std::string out;
    for (const auto& m : *missed) {
      console_.log(LogLine(LogLevel::kError)
                       .add("region", m.region)
                       .add("window", m.window_id)
                       .add("state", "missed")
                       .add("reason", m.reason));
      out += command_.json ? fmt::format("{{\"region\":{},\"window_id\":{},\"reason\":{}}}\n",
                                         json_string(m.region), json_string(m.window_id),
                                         json_string(m.reason))
                           : fmt::format("{} {} {}\n", m.region, m.window_id, m.reason);
    }
    if (auto written = console_.write(out); !written) return std::move(written).error();
    return kExitOk;
  }

  Result<int> status() {
    auto windows = read_status(*db_, StatusQuery{command_.nights, command_.regions});
    if (!windows) return std::move(windows).error();
    std::string out;
    if (command_.json) {
      for (const auto& w : *windows) out += w.json + "\n";
    } else {
      out = status_table(*windows);
    }
    if (auto written = console_.write(out); !written) return std::move(written).error();
    if (!command_.metrics_file.empty()) {
      auto metrics = ledger_metrics(*db_, StatusQuery{command_.nights, command_.regions});
      if (!metrics) return std::move(metrics).error();
      if (auto replaced = write_atomically(command_.metrics_file, metrics->text()); !replaced)
        return std::move(replaced).error();
    }
    return kExitOk;
  }

  const LedgerCommand& command_;
  const Console& console_;
  Conninfo conninfo_;
  std::unique_ptr<PgConnection> db_;
  std::chrono::seconds lease_{300};
  std::chrono::seconds retry_base_{600};
  std::chrono::seconds retry_max_{7200};
};

}  // namespace

int run_ledger_command(const LedgerCommand& command, const Console& console) {
  return Runner(command, console).run();
}

}  // namespace offpeak
