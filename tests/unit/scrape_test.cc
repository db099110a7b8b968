#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <date/tz.h>
#include <fmt/format.h>

#include "body_preview.h"
#include "dependent.h"
#include "rate_limit.h"
#include "scrape.h"
#include "scrape_command.h"
#include "temp_dir.h"

using namespace std::chrono_literals;
using offpeak::HttpRequest;
using offpeak::HttpResponse;
using offpeak::SteadyTime;

namespace {

// A transport with a virtual clock: each request is answered by `serve` after the latency
// it names, and waiting jumps the clock to the next answer. Tests of hours of retries and
// deadlines run in microseconds.
class FakeTransport final : public offpeak::Transport {
 public:
  struct Answer {
    HttpResponse response;
    std::chrono::milliseconds latency{10};
  };
  std::function<Answer(const HttpRequest&)> serve;
  std::vector<std::string> started;  // URLs, in order
  std::vector<std::uint64_t> cancelled;
  SteadyTime clock{};

  void start(std::uint64_t id, HttpRequest request) override {
    started.push_back(request.url);
    requests.push_back(request);
    Answer a = serve(request);
    pending.emplace(clock + a.latency, Done{id, std::move(a.response)});
  }

  void cancel(std::uint64_t id) override {
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      if (it->second.id == id) {
        pending.erase(it);
        cancelled.push_back(id);
        return;
      }
    }
  }

  std::vector<Done> wait(SteadyTime until) override {
    std::vector<Done> out;
    if (pending.empty() || pending.begin()->first > until) {
      clock = std::max(clock, until);
      return out;
    }
    clock = std::max(clock, pending.begin()->first);
    while (!pending.empty() && pending.begin()->first <= clock) {
      out.push_back(std::move(pending.begin()->second));
      pending.erase(pending.begin());
    }
    return out;
  }

  SteadyTime now() const override { return clock; }

  std::vector<HttpRequest> requests;
  std::multimap<SteadyTime, Done> pending;
};

HttpResponse ok(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

HttpResponse status(long code, std::string retry_after = "") {
  HttpResponse r;
  r.status = code;
  r.retry_after = std::move(retry_after);
  return r;
}

struct Run {
  offpeak::Region region;
  std::vector<offpeak::Source> sources;
  std::map<std::string, std::string> env;
  std::string out;
  std::vector<std::string> messages;
  std::vector<std::string> statuses;  // of the messages
  bool fail_writes = false;
  int writes = 0;

  Run() {
    region.id = "xnys";
    region.zone = date::locate_zone("America/New_York");
  }

  offpeak::Source& add(std::string name, std::string url) {
    offpeak::Source s;
    s.name = std::move(name);
    s.url = std::move(url);
    s.records = "/items";
    s.key = {"id"};
    sources.push_back(std::move(s));
    return sources.back();
  }

  offpeak::ScrapeOptions options(FakeTransport& t, std::chrono::milliseconds time_left = 1h) {
    offpeak::ScrapeOptions o;
    o.region = &region;
    for (const auto& s : sources) o.sources.push_back(&s);
    o.at = offpeak::Instant{std::chrono::seconds{1772884800}};  // 2026-03-07T12:00:00Z
    o.fixed_fetched_at = true;
    o.deadline = t.now() + time_left;
    o.env = [this](const char* name) -> const char* {
      const auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    };
    return o;
  }

  offpeak::ScrapeReport go(FakeTransport& t, std::chrono::milliseconds time_left = 1h) {
    const auto o = options(t, time_left);
    offpeak::ScrapeEvents events;
    events.write = [this](std::string_view lines) -> offpeak::Result<void> {
      ++writes;
      if (fail_writes) return offpeak::Error{offpeak::kExitIoErr, "disk full"};
      out += lines;
      return {};
    };
    events.message = [this](offpeak::Severity severity, std::string_view source,
                            std::string_view status, std::string_view message) {
      statuses.emplace_back(status);
      messages.push_back(fmt::format("{}: {}: {}",
                                     severity == offpeak::Severity::kError ? "error" : "warning",
                                     source, message));
    };
    return offpeak::run_scrape(t, o, events);
  }
};

std::string items(std::vector<int> ids) {
  std::string body = "{\"items\":[";
  for (size_t i = 0; i < ids.size(); ++i)
    body += fmt::format("{}{{\"id\":{}}}", i ? "," : "", ids[i]);
  return body + "]}";
}

std::string line(int id) {
  return fmt::format(
      "{{\"region\":\"xnys\",\"source\":\"s\",\"key\":[{}],\"fetched_at\":\"2026-03-07T12:00:00Z\","
      "\"record\":{{\"id\":{}}}}}\n",
      id, id);
}

int query_int(const std::string& url, const std::string& name) {
  const auto at = url.find(name + "=");
  return at == std::string::npos ? -1 : std::stoi(url.substr(at + name.size() + 1));
}

}  // namespace

TEST_CASE("pages fetched ahead come out in page order, and the first empty page ends them") {
  FakeTransport t;
  // Later pages answer first: page 1 takes 40 ms, page 4 10 ms.
  t.serve = [](const HttpRequest& r) {
    const int page = query_int(r.url, "page");
    return FakeTransport::Answer{ok(page <= 3 ? items({page * 10, page * 10 + 1}) : items({})),
                                 std::chrono::milliseconds(10 * std::max(1, 5 - page))};
  };
  Run run;
  auto& s = run.add("s", "http://h/items");
  s.paginate.kind = offpeak::PageKind::kPage;
  s.paginate.param = "page";
  s.concurrency = 4;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(run.out == line(10) + line(11) + line(20) + line(21) + line(30) + line(31));
  REQUIRE(report.sources.size() == 1);
  CHECK(report.sources[0].pages == 3);
  CHECK(report.sources[0].records == 6);
  CHECK(report.sources[0].status == "ok");
  // Never more than `concurrency` ahead: pages 1-4 at once, then 5-7 as 1-3 are consumed.
  CHECK(t.started.front() == "http://h/items?page=1");
  CHECK(t.started.size() <= 7);
  CHECK(t.pending.empty());
}

TEST_CASE("a page failing after the last page is never seen") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    const int page = query_int(r.url, "page");
    if (page >= 3) return FakeTransport::Answer{status(404), 1ms};
    return FakeTransport::Answer{ok(page == 1 ? items({1}) : items({})), 20ms};
  };
  Run run;
  auto& s = run.add("s", "http://h/items");
  s.paginate.kind = offpeak::PageKind::kPage;
  s.paginate.param = "page";
  s.concurrency = 4;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(run.out == line(1));
  CHECK(run.messages.empty());
}

TEST_CASE("503 twice, then 200: two retries after backoff waits, records written once") {
  FakeTransport t;
  int calls = 0;
  t.serve = [&](const HttpRequest&) {
    return FakeTransport::Answer{++calls <= 2 ? status(503) : ok(items({7}))};
  };
  Run run;
  run.add("s", "http://h/x");
  const auto start = t.clock;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(run.out == line(7));
  CHECK(report.sources[0].requests == 3);
  CHECK(report.sources[0].retries == 2);
  REQUIRE(run.messages.size() == 2);
  CHECK(run.messages[0].starts_with("warning: s: http://h/x: HTTP 503; retry 1 of 5 in "));
  CHECK(run.messages[1].starts_with("warning: s: http://h/x: HTTP 503; retry 2 of 5 in "));
  CHECK(run.statuses == std::vector<std::string>{"retry", "retry"});
  CHECK(report.sources[0].responses == std::map<std::string, std::int64_t>{{"200", 1}, {"503", 2}});
  // Full jitter under a 1 s then 2 s ceiling, plus three 10 ms transfers.
  CHECK(t.clock - start <= 3s + 30ms);
}

TEST_CASE("Retry-After is honoured: the retry starts no earlier than the server asked") {
  FakeTransport t;
  std::vector<SteadyTime> starts;
  t.serve = [&](const HttpRequest&) {
    starts.push_back(t.clock);
    return FakeTransport::Answer{starts.size() == 1 ? status(429, "7") : ok(items({1}))};
  };
  Run run;
  run.add("s", "http://h/x");
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  REQUIRE(starts.size() == 2);
  CHECK(starts[1] - starts[0] >= 7s + 10ms);
  CHECK(starts[1] - starts[0] < 7s + 20ms);
  CHECK(run.messages ==
        std::vector<std::string>{"warning: s: http://h/x: HTTP 429; retry 1 of 5 in 7.0 s"});
}

TEST_CASE("a retry that would pass the deadline gives up at once with 75") {
  FakeTransport t;
  t.serve = [](const HttpRequest&) { return FakeTransport::Answer{status(429, "600")}; };
  Run run;
  run.add("s", "http://h/x");
  const auto start = t.clock;
  const auto report = run.go(t, 5min);
  CHECK(report.exit == offpeak::kExitTempFail);
  CHECK(report.sources[0].requests == 1);
  CHECK(t.clock - start < 1s);  // no waiting for a retry that cannot happen
  CHECK(run.messages == std::vector<std::string>{
                            "error: s: http://h/x: HTTP 429; giving up: a retry in 600.0 s would "
                            "pass the deadline"});
}

TEST_CASE("transfers get only the time left before the deadline, and the run stops there") {
  FakeTransport t;
  t.serve = [](const HttpRequest&) { return FakeTransport::Answer{ok(items({1})), 10min}; };
  Run run;
  run.add("s", "http://h/x");
  const auto report = run.go(t, 2min);
  CHECK(report.exit == offpeak::kExitTempFail);
  REQUIRE(t.requests.size() == 1);
  CHECK(t.requests[0].time_left == 2min);
  CHECK(run.messages == std::vector<std::string>{"error: s: stopped at the deadline"});
  CHECK(t.pending.empty());  // the transfer in flight was cancelled
}

TEST_CASE("sources are independent and the exit code is the worst") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    if (r.url.ends_with("/denied")) return FakeTransport::Answer{status(401)};
    if (r.url.ends_with("/busy")) return FakeTransport::Answer{status(503)};
    if (r.url.ends_with("/broken")) return FakeTransport::Answer{ok("{\"items\": [")};
    return FakeTransport::Answer{ok(items({1}))};
  };
  Run run;
  run.add("s", "http://h/good");
  run.add("busy", "http://h/busy").retries = 0;
  run.add("broken", "http://h/broken");
  auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitDataErr);
  CHECK(run.out == line(1));
  CHECK(report.sources[1].exit == offpeak::kExitTempFail);
  CHECK(report.sources[1].status == "temporary failure");
  CHECK(report.sources[2].status == "bad data");

  Run run2;
  run2.add("s", "http://h/good");
  run2.add("denied", "http://h/denied");
  run2.add("broken", "http://h/broken");
  CHECK(run2.go(t).exit == offpeak::kExitUnavailable);
}

TEST_CASE("a failed write ends the run at once: nothing more is fetched or written") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    const int page = query_int(r.url, "page");
    return FakeTransport::Answer{ok(items({page}))};
  };
  Run run;
  auto& s = run.add("s", "http://h/items");
  s.paginate.kind = offpeak::PageKind::kPage;
  s.paginate.param = "page";
  s.concurrency = 2;
  run.fail_writes = true;
  const auto report = run.go(t);
  REQUIRE_FALSE(report.output.ok());
  CHECK(report.output.error().message == "disk full");
  CHECK(report.exit == offpeak::kExitIoErr);
  CHECK(run.writes == 1);
  CHECK(t.started.size() == 2);
  CHECK(t.pending.empty());
}

TEST_CASE("json_link follows relative links; max_pages stops with a warning") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    const int n = std::max(0, query_int(r.url, "n"));
    return FakeTransport::Answer{
        ok(fmt::format("{{\"items\":[{{\"id\":{}}}],\"next\":\"/list?n={}\"}}", n, n + 1))};
  };
  Run run;
  auto& s = run.add("s", "https://h/api/list");
  s.paginate.kind = offpeak::PageKind::kJsonLink;
  s.paginate.next = "/next";
  s.max_pages = 3;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(t.started ==
        std::vector<std::string>{"https://h/api/list", "https://h/list?n=1", "https://h/list?n=2"});
  CHECK(run.out == line(0) + line(1) + line(2));
  CHECK(report.sources[0].status == "stopped at max_pages");
  CHECK(run.messages == std::vector<std::string>{
                            "warning: s: stopped at max_pages (3); the source has more pages"});
}

TEST_CASE("cursor pages put the cursor into the query parameter until it is null") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    if (r.url.find("c=") == std::string::npos)
      return FakeTransport::Answer{ok(R"({"items":[{"id":1}],"meta":{"next":"a b"}})")};
    return FakeTransport::Answer{ok(R"({"items":[{"id":2}],"meta":{"next":null}})")};
  };
  Run run;
  auto& s = run.add("s", "https://h/q?limit=5");
  s.paginate.kind = offpeak::PageKind::kCursor;
  s.paginate.cursor = "/meta/next";
  s.paginate.param = "c";
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(t.started ==
        std::vector<std::string>{"https://h/q?limit=5", "https://h/q?limit=5&c=a%20b"});
  CHECK(run.out == line(1) + line(2));
}

TEST_CASE("secrets are sent but masked in every message and in the dry run") {
  FakeTransport t;
  t.serve = [](const HttpRequest&) { return FakeTransport::Answer{status(403)}; };
  Run run;
  run.env["KEY"] = "s3cr3t/k";
  auto& s = run.add("s", "https://h/q?apiKey=${KEY}");
  s.headers = {{"Authorization", "Bearer ${KEY}"}, {"X-Literal", "lit-secret"}};
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitUnavailable);
  REQUIRE(t.requests.size() == 1);
  CHECK(t.requests[0].url == "https://h/q?apiKey=s3cr3t%2Fk");
  CHECK(t.requests[0].headers ==
        std::vector<std::string>{"Authorization: Bearer s3cr3t/k", "X-Literal: lit-secret"});
  CHECK(run.messages == std::vector<std::string>{"error: s: https://h/q?apiKey=***: HTTP 403"});

  const auto dry = offpeak::describe_first_requests(run.options(t));
  CHECK(dry ==
        "xnys/s: GET https://h/q?apiKey=***\n"
        "  Authorization: ***\n"
        "  X-Literal: ***\n"
        "  User-Agent: offpeak/0.1\n"
        "  {region} = xnys\n"
        "  {source} = s\n"
        "  ${KEY} = ***\n");
}

TEST_CASE("an unset environment variable is a config error naming it, for every source") {
  Run run;
  run.add("a", "https://h/q?apiKey=${A_KEY}");
  run.add("b", "https://h/q").headers = {{"Authorization", "Bearer ${B_KEY}"}};
  run.add("c", "https://h/q");
  FakeTransport t;
  const auto problems = offpeak::check_requests(run.options(t));
  REQUIRE(problems.size() == 2);
  CHECK(offpeak::format_diagnostic("t", problems[0]) ==
        "t: error: region \"xnys\": source \"a\": url: environment variable ${A_KEY} is not set");
  CHECK(offpeak::format_diagnostic("t", problems[1]) ==
        "t: error: region \"xnys\": source \"b\": header Authorization: environment variable "
        "${B_KEY} is not set");
}

TEST_CASE("the summary line and the worst exit code") {
  offpeak::SourceSummary s;
  s.name = "bars";
  s.status = "ok";
  s.pages = 1;
  s.requests = 2;
  s.retries = 1;
  s.bytes = 1234;
  s.records = 15;
  s.skipped = 2;
  s.seconds = 0.5;
  CHECK(offpeak::summary_log("xnys", s).text("t") ==
        "t: region=xnys source=bars status=ok pages=1 requests=2 retries=1 bytes=1234 "
        "records=15 skipped=2 seconds=0.50");
  s.status = "temporary failure";
  CHECK(offpeak::summary_log("xnys", s).text("t").starts_with(
      "t: region=xnys source=bars status=\"temporary failure\" pages=1 "));
  using offpeak::worse;
  CHECK(worse(offpeak::kExitOk, offpeak::kExitTempFail) == offpeak::kExitTempFail);
  CHECK(worse(offpeak::kExitDataErr, offpeak::kExitTempFail) == offpeak::kExitDataErr);
  CHECK(worse(offpeak::kExitDataErr, offpeak::kExitUnavailable) == offpeak::kExitUnavailable);
  CHECK(worse(offpeak::kExitConfig, offpeak::kExitUnavailable) == offpeak::kExitConfig);
}

TEST_CASE("the --limit of records is a number, 1 or more") {
  using offpeak::parse_limit;
  CHECK(parse_limit("").value() == 0);
  CHECK(parse_limit("25").value() == 25);
  for (const char* bad : {"0", "-1", "5x", " 5", "many"}) {
    const auto limit = parse_limit(bad);
    REQUIRE_FALSE(limit.ok());
    CHECK(limit.error().exit == offpeak::kExitUsage);
    CHECK(
        limit.error().message ==
        fmt::format("--limit: invalid value \"{}\"; expected a number of records, 1 or more", bad));
  }
}

TEST_CASE("a --deadline is a duration or a time after --at, and must leave time") {
  const offpeak::Instant at{std::chrono::seconds{1772884800}};  // 2026-03-07T12:00:00Z
  using offpeak::parse_deadline;
  CHECK(parse_deadline("", at).value() == std::nullopt);
  CHECK(parse_deadline("45m", at).value() == std::chrono::seconds{2700});
  CHECK(parse_deadline("2026-03-07T13:00:00Z", at).value() == std::chrono::seconds{3600});
  const auto bad = parse_deadline("soon", at);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().exit == offpeak::kExitUsage);
  CHECK(bad.error().message ==
        "--deadline: invalid value \"soon\"; expected a time like 2026-03-08T11:00:00Z or a "
        "duration like 45m");
  const auto past = parse_deadline("2026-03-07T12:00:00Z", at);
  REQUIRE_FALSE(past.ok());
  CHECK(past.error().exit == offpeak::kExitUsage);
  CHECK(past.error().message == "--deadline: 2026-03-07T12:00:00Z leaves no time to scrape");
}

TEST_CASE("without --deadline a scrape has until the end of off-peak, and none in a session") {
  const auto loaded = offpeak::parse_config(R"([regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]
)",
                                            "r.toml");
  REQUIRE(loaded.diagnostics.empty());
  const offpeak::Region& region = *loaded.config.find_region("xnys");
  // Saturday 2026-03-07 12:00 UTC: off-peak until Monday's open, 2026-03-09 13:30 UTC.
  const offpeak::Instant saturday{std::chrono::seconds{1772884800}};
  CHECK(offpeak::scrape_time_left(region, saturday, std::nullopt).value() ==
        std::chrono::seconds{(48 + 1) * 3600 + 30 * 60});
  CHECK(offpeak::scrape_time_left(region, saturday, std::chrono::seconds{60}).value() ==
        std::chrono::seconds{60});
  // Monday 2026-03-09 15:00 UTC is in the session.
  const offpeak::Instant monday{std::chrono::seconds{1773068400}};
  const auto refused = offpeak::scrape_time_left(region, monday, std::nullopt);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().exit == offpeak::kExitTempFail);
  CHECK(refused.error().message ==
        "region \"xnys\" is not off-peak at 2026-03-09T15:00:00Z (the next window opens at "
        "2026-03-09T20:00:00Z); run it then, or give --deadline to scrape anyway");
}

TEST_CASE("a --source picks sources in the config's order and names the ones there are") {
  Run run;
  run.add("bars", "http://h/bars");
  run.add("quotes", "http://h/quotes");
  run.add("trades", "http://h/trades");
  const auto names = [](const std::vector<const offpeak::Source*>& sources) {
    std::vector<std::string> out;
    for (const auto* s : sources) out.push_back(s->name);
    return out;
  };
  using offpeak::select_sources;
  CHECK(names(select_sources(run.sources, run.region, {}, "r.toml").value()) ==
        std::vector<std::string>{"bars", "quotes", "trades"});
  CHECK(names(select_sources(run.sources, run.region, {"trades", "bars"}, "r.toml").value()) ==
        std::vector<std::string>{"bars", "trades"});
  const auto unknown = select_sources(run.sources, run.region, {"bars", "ticks"}, "r.toml");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().exit == offpeak::kExitUsage);
  CHECK(unknown.error().message ==
        "--source: region \"xnys\" has no source \"ticks\"; it has: bars, quotes, trades");
  const auto none = select_sources({}, run.region, {"bars"}, "r.toml");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().exit == offpeak::kExitConfig);
  CHECK(none.error().message == "r.toml: region \"xnys\" has no [[regions.xnys.sources]]");
}

TEST_CASE("OFFPEAK_RETRY_BASE_MS sets the backoff base only when it is a whole number") {
  std::map<std::string, std::string> env;
  const offpeak::EnvLookup lookup = [&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK(offpeak::retry_base_from_env(lookup) == std::nullopt);
  env["OFFPEAK_RETRY_BASE_MS"] = "20";
  CHECK(offpeak::retry_base_from_env(lookup) == std::chrono::milliseconds{20});
  for (const char* bad : {"", "-1", "2s", "x"}) {
    env["OFFPEAK_RETRY_BASE_MS"] = bad;
    CHECK(offpeak::retry_base_from_env(lookup) == std::nullopt);
  }
}

TEST_CASE("the progress line counts finished sources, pages, records and megabytes") {
  std::vector<offpeak::SourceSummary> sources(2);
  sources[0].status = "ok";
  sources[0].pages = 3;
  sources[0].records = 15;
  sources[0].bytes = 150000;
  sources[1].pages = 1;
  sources[1].records = 5;
  sources[1].bytes = 12000;
  CHECK(offpeak::progress_text("xnys", sources) ==
        "offpeak-scrape: xnys: 1/2 sources done, 4 pages, 20 records, 0.2 MB");
}

TEST_CASE("body_preview shows what came back when it is not the source's format") {
  using offpeak::body_preview;
  using offpeak::Format;
  CHECK(body_preview(Format::kJson, "application/json; charset=utf-8", "{\"a\":") == "");
  CHECK(body_preview(Format::kJson, "application/vnd.api+json", "[1,") == "");
  CHECK(body_preview(Format::kCsv, "text/csv", "a,\"b") == "");
  CHECK(body_preview(Format::kNdjson, "application/x-ndjson", "{\"a\"") == "");
  CHECK(body_preview(Format::kJson, "text/html", "<html>\n<title>Sign in</title>") ==
        "; the response had Content-Type text/html and began: <html> <title>Sign in</title>");
  CHECK(body_preview(Format::kJson, "application/json", "  <!DOCTYPE html>") ==
        "; the response had Content-Type application/json and began: <!DOCTYPE html>");
  CHECK(body_preview(Format::kCsv, "", "") ==
        "; the response had no Content-Type and an empty body");
  const std::string long_body(300, 'x');
  CHECK(body_preview(Format::kCsv, "application/pdf", long_body) ==
        "; the response had Content-Type application/pdf and began: " + std::string(120, 'x') +
            "...");
}

TEST_CASE("a rate limit spaces the requests of every source of its host, one shared turn") {
  FakeTransport t;
  std::vector<std::pair<std::string, SteadyTime>> starts;
  t.serve = [&](const HttpRequest& r) {
    starts.emplace_back(r.url, t.clock);
    return FakeTransport::Answer{ok(items({1})), 1ms};
  };
  Run run;
  run.add("a", "http://api.example.com/a").rate_interval = 500ms;  // 2/s
  run.add("b", "http://API.example.com:80/b");                     // another host: port
  run.add("c", "http://api.example.com/c");  // no rate_limit of its own: the host's holds
  run.add("d", "http://other.example.com/d").rate_interval = 250ms;
  run.sources[3].rate_limit_key = "vendor";
  run.add("e", "http://third.example.com/e").rate_limit_key = "vendor";
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  std::map<std::string, std::chrono::milliseconds> at;
  for (const auto& [url, when] : starts)
    at[url] = std::chrono::duration_cast<std::chrono::milliseconds>(when - SteadyTime{});
  CHECK(at ==
        std::map<std::string, std::chrono::milliseconds>{{"http://api.example.com/a", 0ms},
                                                         {"http://API.example.com:80/b", 0ms},
                                                         {"http://api.example.com/c", 500ms},
                                                         {"http://other.example.com/d", 0ms},
                                                         {"http://third.example.com/e", 250ms}});
  CHECK(run.messages.empty());
}

TEST_CASE("a 429 slows the shared limit for every source of the key, and says so") {
  FakeTransport t;
  std::vector<std::pair<std::string, SteadyTime>> starts;
  int calls = 0;
  t.serve = [&](const HttpRequest& r) {
    starts.emplace_back(r.url, t.clock);
    return FakeTransport::Answer{++calls == 1 ? status(429, "2") : ok(items({1})), 1ms};
  };
  Run run;
  run.add("a", "http://h/a").rate_interval = 1s;
  run.add("b", "http://h/b").rate_interval = 1s;
  run.add("c", "http://h/c").rate_interval = 1s;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  std::vector<std::pair<std::string, std::chrono::milliseconds>> got;
  for (const auto& [url, when] : starts)
    got.emplace_back(url,
                     std::chrono::duration_cast<std::chrono::milliseconds>(when - SteadyTime{}));
  // a's 429 at 1 ms (Retry-After 2 s) holds b and c back until a's retry, and every start
  // after is 2 s apart, the doubled interval.
  CHECK(got ==
        std::vector<std::pair<std::string, std::chrono::milliseconds>>{{"http://h/a", 0ms},
                                                                       {"http://h/a", 2001ms},
                                                                       {"http://h/b", 4001ms},
                                                                       {"http://h/c", 6001ms}});
  CHECK(run.messages ==
        std::vector<std::string>{
            "warning: a: HTTP 429: the rate limit of \"h\" is now one request every 2 s",
            "warning: a: http://h/a: HTTP 429; retry 1 of 5 in 2.0 s"});
}

TEST_CASE("url_host is the host and port, lower case, without user info") {
  CHECK(offpeak::url_host("https://API.Polygon.io/v2/aggs?x=1") == "api.polygon.io");
  CHECK(offpeak::url_host("http://u:p@h:8080#f") == "h:8080");
  CHECK(offpeak::url_host("not a url") == "");
}

TEST_CASE("a header whose ${VAR} holds a line break is refused, naming the variable only") {
  Run run;
  run.env["KEY"] = "k1\r\nX-Injected: yes";
  run.add("s", "https://h/q").headers = {{"X-Api-Key", "${KEY}"}};
  FakeTransport t;
  t.serve = [](const HttpRequest&) { return FakeTransport::Answer{ok(items({1}))}; };
  const auto problems = offpeak::check_requests(run.options(t));
  REQUIRE(problems.size() == 1);
  CHECK(offpeak::format_diagnostic("t", problems[0]) ==
        "t: error: region \"xnys\": source \"s\": header X-Api-Key: environment variable ${KEY} "
        "holds a control character (such as a line break), which a header cannot carry");
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitConfig);
  CHECK(t.started.empty());
  for (const auto& m : run.messages) CHECK(m.find("Injected") == std::string::npos);
}

TEST_CASE("a server's cursor with a line break does not reach a header") {
  FakeTransport t;
  t.serve = [](const HttpRequest&) {
    return FakeTransport::Answer{
        ok(R"({"items":[{"id":1}],"meta":{"next":"a\r\nX-Injected: 1"}})")};
  };
  Run run;
  auto& s = run.add("s", "https://h/q");
  s.paginate.kind = offpeak::PageKind::kCursor;
  s.paginate.cursor = "/meta/next";
  s.paginate.param = "c";
  s.headers = {{"X-Cursor", "{cursor}"}};
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitDataErr);
  CHECK(t.started.size() == 1);
  CHECK(run.messages ==
        std::vector<std::string>{"error: s: header X-Cursor: the value the server gave holds a "
                                 "control character (such as a line break), which a header "
                                 "cannot carry"});
}

TEST_CASE("a next link or cursor back to a page already fetched stops the source with 65") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    const int n = std::max(1, query_int(r.url, "n"));
    return FakeTransport::Answer{
        ok(fmt::format("{{\"items\":[{{\"id\":{}}}],\"next\":\"/list?n={}\"}}", n, n % 2 + 1))};
  };
  Run run;
  auto& s = run.add("s", "https://h/list?n=1");
  s.paginate.kind = offpeak::PageKind::kJsonLink;
  s.paginate.next = "/next";
  s.max_pages = 100;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitDataErr);
  CHECK(t.started == std::vector<std::string>{"https://h/list?n=1", "https://h/list?n=2"});
  CHECK(run.out == line(1) + line(2));
  CHECK(run.messages ==
        std::vector<std::string>{"error: s: https://h/list?n=2: the next page's link points back "
                                 "at a page already fetched: https://h/list?n=1"});

  FakeTransport cursors;
  cursors.serve = [](const HttpRequest&) {
    return FakeTransport::Answer{ok(R"({"items":[{"id":1}],"meta":{"next":"same"}})")};
  };
  Run again;
  auto& c = again.add("s", "https://h/q");
  c.paginate.kind = offpeak::PageKind::kCursor;
  c.paginate.cursor = "/meta/next";
  c.paginate.param = "c";
  c.max_pages = 100;
  CHECK(again.go(cursors).exit == offpeak::kExitDataErr);
  CHECK(cursors.started == std::vector<std::string>{"https://h/q", "https://h/q?c=same"});
  CHECK(again.messages ==
        std::vector<std::string>{"error: s: https://h/q?c=same: the next page's cursor points back "
                                 "at a page already fetched: https://h/q?c=same"});
}

TEST_CASE("a password in the URL is sent but masked in messages and the dry run") {
  FakeTransport t;
  t.serve = [](const HttpRequest&) { return FakeTransport::Answer{status(403)}; };
  Run run;
  run.add("s", "https://user:p%40ss-w0rd@h/q");
  CHECK(run.go(t).exit == offpeak::kExitUnavailable);
  REQUIRE(t.requests.size() == 1);
  CHECK(t.requests[0].url == "https://user:p%40ss-w0rd@h/q");
  CHECK(run.messages == std::vector<std::string>{"error: s: https://user:***@h/q: HTTP 403"});
  CHECK(offpeak::describe_first_requests(run.options(t)) ==
        "xnys/s: GET https://user:***@h/q\n  User-Agent: offpeak/0.1\n  {region} = xnys\n"
        "  {source} = s\n");
}

TEST_CASE("a source that writes fewer than min_records or skips more than max_skipped fails") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    if (r.url.ends_with("/empty")) return FakeTransport::Answer{ok(items({}))};
    return FakeTransport::Answer{ok(R"({"items":[{"id":1},{"x":2},{"id":3},{"id":4}]})")};
  };
  Run run;
  run.add("empty", "http://h/empty");
  auto& may_be_empty = run.add("may-be-empty", "http://h/empty");
  may_be_empty.min_records = 0;
  run.add("skips", "http://h/skips");  // 1 of 4 skipped: 25%
  auto& within = run.add("within", "http://h/skips");
  within.max_skipped = 25;
  within.max_skipped_percent = true;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitDataErr);
  REQUIRE(report.sources.size() == 4);
  CHECK(report.sources[0].status == "too_few_records");
  CHECK(report.sources[0].exit == offpeak::kExitDataErr);
  CHECK(report.sources[1].status == "ok");
  CHECK(report.sources[2].status == "too_many_skipped");
  CHECK(report.sources[3].status == "ok");
  CHECK(std::count(run.messages.begin(), run.messages.end(),
                   "error: empty: 0 records written, fewer than min_records (1)") == 1);
  CHECK(std::count(run.messages.begin(), run.messages.end(),
                   "error: skips: 1 of 4 records skipped, more than max_skipped (0)") == 1);
}

TEST_CASE("a POST's retry sends the same body, and a cursor in the body pages") {
  FakeTransport t;
  int calls = 0;
  t.serve = [&](const HttpRequest& r) {
    if (++calls == 1) return FakeTransport::Answer{status(503)};
    const bool first = r.body.find("\"c\":\"next\"") == std::string::npos;
    return FakeTransport::Answer{
        ok(first ? R"({"items":[{"id":1}],"next":"next"})" : R"({"items":[{"id":2}]})")};
  };
  Run run;
  auto& s = run.add("s", "http://h/search");
  s.post = true;
  s.body = R"({"c": "", "q": "{source}"})";
  s.paginate.kind = offpeak::PageKind::kCursor;
  s.paginate.cursor = "/next";
  s.paginate.param = "c";
  s.paginate.in_body = true;
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(run.out == line(1) + line(2));
  REQUIRE(t.requests.size() == 3);
  CHECK(t.requests[0].post);
  CHECK(t.requests[0].body == R"({"c": "", "q": "s"})");  // the first page: the template's
  CHECK(t.requests[1].body == t.requests[0].body);
  CHECK(t.requests[2].body == R"({"c":"next","q":"s"})");
  CHECK(t.requests[0].headers == std::vector<std::string>{"Content-Type: application/json"});
}

TEST_CASE("with a cache, a 304 answers from the kept body: the same records, no bytes") {
  TempDir tmp;
  auto cache = offpeak::ResponseCache::open((tmp / "cache").string());
  REQUIRE(cache);
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    const bool conditional =
        std::find(r.headers.begin(), r.headers.end(), "If-None-Match: \"v1\"") != r.headers.end();
    auto response = conditional ? status(304) : ok(items({5, 6}));
    response.etag = "\"v1\"";
    return FakeTransport::Answer{response};
  };
  std::string first_out;
  for (int run_number = 0; run_number < 2; ++run_number) {
    Run run;
    run.add("s", "http://h/x");
    auto o = run.options(t);
    o.cache = &*cache;
    offpeak::ScrapeEvents events;
    events.write = [&](std::string_view lines) -> offpeak::Result<void> {
      run.out += lines;
      return {};
    };
    const auto report = offpeak::run_scrape(t, o, events);
    CHECK(report.exit == offpeak::kExitOk);
    CHECK(run.out == line(5) + line(6));
    CHECK(report.sources[0].not_modified == run_number);
    CHECK(report.sources[0].bytes == (run_number == 0 ? items({5, 6}).size() : 0));
  }
  CHECK(t.requests[1].headers == std::vector<std::string>{"If-None-Match: \"v1\""});
}

// Dependent sources (`from`): a chain of requests per record of the parent.

namespace {

// A parent page: records {"id": N, "symbol": S}.
std::string listing(const std::vector<std::string>& symbols) {
  std::string body = "{\"items\":[";
  for (size_t i = 0; i < symbols.size(); ++i)
    body += fmt::format("{}{{\"id\":{},\"symbol\":\"{}\"}}", i ? "," : "", i, symbols[i]);
  return body + "]}";
}

// A run of "list" (at /list) and "bars" (at /bars/{parent.symbol}), which answers one record
// per symbol, its id the symbol's length, or 404 for "gone".
Run parent_and_child(FakeTransport& t, const std::vector<std::string>& symbols, int concurrency,
                     std::size_t* most_in_flight = nullptr) {
  t.serve = [&t, symbols, most_in_flight](const HttpRequest& r) {
    if (most_in_flight) *most_in_flight = std::max(*most_in_flight, t.pending.size() + 1);
    if (r.url == "http://h/list") return FakeTransport::Answer{ok(listing(symbols))};
    const std::string symbol = r.url.substr(std::string("http://h/bars/").size());
    if (symbol == "gone") return FakeTransport::Answer{status(404)};
    return FakeTransport::Answer{ok(items({static_cast<int>(symbol.size())})), 10ms};
  };
  Run run;
  run.add("list", "http://h/list");
  auto& bars = run.add("bars", "http://h/bars/{parent.symbol}");
  bars.from = "list";
  bars.concurrency = concurrency;
  return run;
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a dependent source runs one chain per parent record, `concurrency` at once") {
  FakeTransport t;
  std::size_t most = 0;
  Run run = parent_and_child(t, {"A", "BB", "C D", "EEEE", "F"}, 2, &most);
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitOk);
  REQUIRE(t.started.size() == 6);
  CHECK(t.started[0] == "http://h/list");
  CHECK(t.started[1] == "http://h/bars/A");
  CHECK(t.started[3] == "http://h/bars/C%20D");  // percent-encoded
  CHECK(most == 2);
  CHECK(count_of(run.out, "\"source\":\"list\"") == 5);
  CHECK(count_of(run.out, "\"source\":\"bars\"") == 5);
  REQUIRE(report.sources.size() == 2);
  CHECK(report.sources[1].name == "bars");
  CHECK(report.sources[1].requests == 5);
  CHECK(report.sources[1].pages == 5);
  CHECK(report.sources[1].records == 5);
  CHECK(report.sources[1].status == "ok");
}

TEST_CASE("a failing chain fails its source with its code; the other chains go on") {
  FakeTransport t;
  Run run = parent_and_child(t, {"A", "gone", "CCC"}, 1);
  const auto report = run.go(t);
  CHECK(report.exit == offpeak::kExitUnavailable);
  CHECK(report.sources[0].exit == offpeak::kExitOk);
  CHECK(report.sources[1].exit == offpeak::kExitUnavailable);
  CHECK(report.sources[1].status == "unavailable");
  CHECK(report.sources[1].records == 2);
  CHECK(count_of(run.out, "\"source\":\"bars\"") == 2);
  REQUIRE(run.messages.size() == 1);
  CHECK(run.messages[0] == "error: bars: http://h/bars/gone: HTTP 404");
}

TEST_CASE("a parent not emitted feeds its dependent without being written") {
  FakeTransport t;
  Run run = parent_and_child(t, {"A", "BB"}, 4);
  run.sources[0].emit = false;
  CHECK(run.go(t).exit == offpeak::kExitOk);
  CHECK(count_of(run.out, "\"source\":\"list\"") == 0);
  CHECK(count_of(run.out, "\"source\":\"bars\"") == 2);

  // A parent --source did not name (with_parents() adds it) is not written either.
  Run child_only = parent_and_child(t, {"A", "BB"}, 4);
  const auto selected = offpeak::with_parents(child_only.sources, {&child_only.sources[1]});
  REQUIRE(selected.sources.size() == 2);
  CHECK(selected.sources[0]->name == "list");
  REQUIRE(selected.inputs_only.size() == 1);
  CHECK(selected.inputs_only[0]->name == "list");
  auto options = child_only.options(t);
  options.inputs_only = selected.inputs_only;
  std::string out;
  offpeak::ScrapeEvents events;
  events.write = [&](std::string_view lines) -> offpeak::Result<void> {
    out += lines;
    return {};
  };
  CHECK(offpeak::run_scrape(t, options, events).exit == offpeak::kExitOk);
  CHECK(count_of(out, "\"source\":\"list\"") == 0);
  CHECK(count_of(out, "\"source\":\"bars\"") == 2);
}

TEST_CASE("a parent that fails fails its dependent; a record without the field is skipped") {
  FakeTransport t;
  t.serve = [](const HttpRequest& r) {
    if (r.url == "http://h/list")
      return FakeTransport::Answer{ok(R"({"items":[{"id":1,"symbol":"A"},{"id":2}],"next":"x"})")};
    if (r.url == "http://h/x") return FakeTransport::Answer{status(404)};
    return FakeTransport::Answer{ok(items({1}))};
  };
  Run run;
  auto& list = run.add("list", "http://h/list");
  list.paginate.kind = offpeak::PageKind::kJsonLink;
  list.paginate.next = "/next";
  auto& bars = run.add("bars", "http://h/bars/{parent.symbol}");
  bars.from = "list";
  const auto report = run.go(t);
  CHECK(report.sources[0].exit == offpeak::kExitUnavailable);
  CHECK(report.sources[1].exit == offpeak::kExitUnavailable);
  CHECK(report.sources[1].records == 1);  // A's chain ran
  CHECK(report.sources[1].skipped == 1);
  CHECK(std::find(run.messages.begin(), run.messages.end(),
                  "warning: bars: record [2] of \"list\" skipped: it has no /symbol") !=
        run.messages.end());
  CHECK(std::find(run.messages.begin(), run.messages.end(),
                  "error: bars: source \"list\" failed (unavailable), so not all of its records "
                  "have requests") != run.messages.end());
}

TEST_CASE("a --limit counts a dependent source's records across its chains") {
  FakeTransport t;
  Run run = parent_and_child(t, {"A", "BB", "CCC", "DDDD"}, 1);
  run.sources[0].emit = false;
  const auto serve = t.serve;  // with two records per chain
  t.serve = [serve](const HttpRequest& r) {
    if (r.url == "http://h/list") return serve(r);
    return FakeTransport::Answer{ok(items({1, 2}))};
  };
  auto options = run.options(t);
  options.limit = 3;
  std::string out;
  offpeak::ScrapeEvents events;
  events.write = [&](std::string_view lines) -> offpeak::Result<void> {
    out += lines;
    return {};
  };
  const auto report = offpeak::run_scrape(t, options, events);
  CHECK(report.exit == offpeak::kExitOk);
  CHECK(count_of(out, "\"source\":\"bars\"") == 3);
  CHECK(report.sources[1].records == 3);
  CHECK(t.started.size() == 3);  // the list, then A and BB: no chain after the limit
}

TEST_CASE("a dependent source's chains wait their turn under its rate limit") {
  FakeTransport t;
  std::vector<SteadyTime> starts;
  Run run = parent_and_child(t, {"A", "BB", "CCC"}, 3);
  const auto serve = t.serve;
  t.serve = [&t, &starts, serve](const HttpRequest& r) {
    starts.push_back(t.clock);
    return serve(r);
  };
  run.sources[1].rate_interval = 1s;  // the list shares it: same host
  CHECK(run.go(t).exit == offpeak::kExitOk);
  REQUIRE(starts.size() == 4);
  for (size_t i = 1; i < starts.size(); ++i) CHECK(starts[i] - starts[i - 1] >= 1s);
}

TEST_CASE("include_from_parent gives each chain's records its parent record's field") {
  FakeTransport t;
  Run run = parent_and_child(t, {"A", "BB"}, 1);
  run.sources[1].include_from_parent = {"symbol"};
  run.sources[1].key = {"_list_symbol"};
  CHECK(run.go(t).exit == offpeak::kExitOk);
  CHECK(count_of(run.out, R"("source":"bars","key":["A"])") == 1);
  CHECK(count_of(run.out, R"("source":"bars","key":["BB"])") == 1);
  CHECK(count_of(run.out, R"("_list_symbol":"BB"})") == 1);
}
