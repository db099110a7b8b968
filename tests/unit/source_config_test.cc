#include <catch2/catch.hpp>

#include "config.h"

namespace {

std::vector<std::string> messages(const offpeak::ConfigResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(offpeak::format_diagnostic("t", d));
  return out;
}

constexpr const char* kRegion = R"(
[regions.x]
timezone = "America/New_York"
sessions = ["09:30-16:00"]
)";

offpeak::ConfigResult parse(std::string_view sources, std::string_view defaults = "") {
  return offpeak::parse_config(std::string(defaults) + kRegion + std::string(sources), "r.toml");
}

}  // namespace

TEST_CASE("a source inherits [defaults] and overrides them key by key") {
  const auto result = parse(R"(
[[regions.x.sources]]
name = "bars"
url = "https://api.example.com/{session_date}?page={page}"
records = "/results"
key = ["T", "/meta/t"]
headers = { accept = "text/csv", Authorization = "Bearer ${KEY}" }
paginate = { type = "page", start = 0 }
retries = 2

[[regions.x.sources]]
name = "rates"
url = "${BASE}/rates.csv"
format = "csv"
columns = ["date", "rate"]
key = ["date"]
)",
                            R"(
[defaults]
timeout = "10s"
retries = 7
max_bytes = 1000
concurrency = 3
user_agent = "desk/1"
max_pages = 50
headers = { Accept = "application/json", X-Desk = "rates" }
)");
  CHECK(messages(result).empty());
  REQUIRE(result.diagnostics.empty());
  const auto& sources = result.config.sources_of("x");
  REQUIRE(sources.size() == 2);
  const auto& bars = sources[0];
  CHECK(bars.name == "bars");
  CHECK(bars.format == offpeak::Format::kJson);
  CHECK(bars.records == "/results");
  CHECK(bars.key == std::vector<std::string>{"T", "/meta/t"});
  CHECK(bars.paginate.kind == offpeak::PageKind::kPage);
  CHECK(bars.paginate.start == 0);
  CHECK(bars.retries == 2);
  CHECK(bars.timeout == std::chrono::seconds(10));
  CHECK(bars.max_bytes == 1000);
  CHECK(bars.concurrency == 3);
  CHECK(bars.max_pages == 50);
  CHECK(bars.user_agent == "desk/1");
  // Header names match without regard to case; the source's value replaces the default's.
  using Headers = std::vector<std::pair<std::string, std::string>>;
  CHECK(bars.headers ==
        Headers{{"Accept", "text/csv"}, {"X-Desk", "rates"}, {"Authorization", "Bearer ${KEY}"}});
  CHECK(bars.pos.line == 15);  // its [[regions.x.sources]] line
  const auto& rates = sources[1];
  CHECK(rates.format == offpeak::Format::kCsv);
  CHECK(rates.retries == 7);
  CHECK(rates.columns == std::vector<std::string>{"date", "rate"});
  CHECK(rates.headers.size() == 2);
}

TEST_CASE("a source without limits gets the built-in defaults") {
  const auto result = parse(R"(
[[regions.x.sources]]
name = "a"
url = "https://e.example/a"
key = ["id"]
)");
  REQUIRE(result.diagnostics.empty());
  const auto& a = result.config.sources_of("x")[0];
  CHECK(a.format == offpeak::Format::kJson);
  CHECK(a.records.empty());
  CHECK(a.paginate.kind == offpeak::PageKind::kNone);
  CHECK(a.max_pages == 1000);
  CHECK(a.retries == 5);
  CHECK(a.timeout == std::chrono::seconds(30));
  CHECK(a.max_bytes == 256u << 20);
  CHECK(a.concurrency == 4);
}

TEST_CASE("source problems name the region, the source and the key") {
  const auto result = parse(R"(
[[regions.x.sources]]
name = "bars"
url = "https://e.example/{sesion_date}"
format = "xml"
key = []
formt = 1

[[regions.x.sources]]
url = "ftp://e.example/"
key = ["id"]

[[regions.x.sources]]
name = "bars"
url = "https://e.example/b"
key = ["id"]

[[regions.x.sources]]
name = "c"
url = "https://e.example/c"
key = ["id", "id", "/a~2"]
format = "ndjson"
records = "/x"
columns = ["a"]
paginate = { type = "cursor", cursor = "/next", next = "/n" }
timeout = "0s"
retries = -1
concurrency = 100
headers = { "Bad Name" = "1", X-Two = "a\nb", X-Var = "{page}" }
)");
  CHECK(
      messages(result) ==
      std::vector<std::string>{
          "t: error: r.toml:8:7: region \"x\": source \"bars\": url: undefined variable "
          "{sesion_date}; known here: {region}, {source}, {session_date}, {session_open}, "
          "{session_close}, {session_open_ms}, {session_close_ms}",
          "t: error: r.toml:9:10: region \"x\": source \"bars\": format: must be \"json\", "
          "\"ndjson\" or \"csv\"",
          "t: error: r.toml:10:7: region \"x\": source \"bars\": key: must be a non-empty array of "
          "field names or JSON pointers",
          "t: error: r.toml:11:1: region \"x\": source \"bars\": unknown key \"formt\"; did you "
          "mean \"format\"?",
          "t: error: r.toml:13:1: region \"x\": sources[2]: missing \"name\", the source's id "
          "within the region",
          "t: error: r.toml:14:7: region \"x\": sources[2]: url: \"ftp://e.example/\" must start "
          "with https:// or http://",
          "t: error: r.toml:18:8: region \"x\": source \"bars\": name: \"bars\" is used by an "
          "earlier source of the region",
          "t: error: r.toml:25:14: region \"x\": source \"c\": key: \"id\" is listed twice",
          "t: error: r.toml:25:20: region \"x\": source \"c\": key: \"/a~2\" is not a JSON pointer "
          "(\"~\" must start \"~0\" or \"~1\")",
          "t: error: r.toml:27:11: region \"x\": source \"c\": records: applies only to format "
          "\"json\"",
          "t: error: r.toml:28:11: region \"x\": source \"c\": columns: applies only to formats "
          "\"json\" and \"csv\"",
          "t: error: r.toml:29:12: region \"x\": source \"c\": paginate: type \"cursor\" reads the "
          "body, so it needs format \"json\"",
          "t: error: r.toml:29:12: region \"x\": source \"c\": paginate: give \"param\", the query "
          "parameter for the cursor, or put {cursor} in the url",
          "t: error: r.toml:29:49: region \"x\": source \"c\": paginate: \"next\" does not apply "
          "to "
          "type \"cursor\"",
          "t: error: r.toml:30:11: region \"x\": source \"c\": timeout: must be a duration above "
          "zero, like \"30s\" or \"2m\"",
          "t: error: r.toml:31:11: region \"x\": source \"c\": retries: must be a whole number "
          "from 0 to 100",
          "t: error: r.toml:32:15: region \"x\": source \"c\": concurrency: must be a whole number "
          "from 1 to 64",
          "t: error: r.toml:33:13: region \"x\": source \"c\": headers: \"Bad Name\" is not a "
          "header name",
          "t: error: r.toml:33:39: region \"x\": source \"c\": headers: X-Two: must be a string on "
          "one line",
          "t: error: r.toml:33:55: region \"x\": source \"c\": headers: X-Var: undefined variable "
          "{page} (not with this source's paginate type); known here: {region}, {source}, "
          "{session_date}, {session_open}, {session_close}, {session_open_ms}, "
          "{session_close_ms}, {cursor}",
      });
}

TEST_CASE("session times need a region with sessions; without, only {session_date} is known") {
  const auto result = offpeak::parse_config(R"(
[regions.fx]
timezone = "UTC"
offpeak = ["21:00-23:00"]
[[regions.fx.sources]]
name = "r"
url = "https://e.example/{session_close_ms}"
key = ["id"]
)",
                                            "r.toml");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:7:7: region \"fx\": source \"r\": url: undefined variable "
            "{session_close_ms} (the region has no trading sessions); known here: {region}, "
            "{source}, {session_date}"});
}

TEST_CASE("pagination keys are checked against their type") {
  const auto result = parse(R"(
[[regions.x.sources]]
name = "a"
url = "https://e.example/a"
key = ["id"]
paginate = { type = "offset", param = "offset" }
[[regions.x.sources]]
name = "b"
url = "https://e.example/b"
key = ["id"]
paginate = { type = "pages" }
[[regions.x.sources]]
name = "c"
url = "https://e.example/c?from={offset}&n={limit}"
key = ["id"]
paginate = { type = "offset", limit = 500 }
)");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:10:12: region \"x\": source \"a\": paginate: type \"offset\" needs "
            "\"limit\"",
            "t: error: r.toml:15:21: region \"x\": source \"b\": paginate: \"type\" must be one of "
            "\"none\", \"json_link\", \"header_link\", \"cursor\", \"page\", \"offset\""});
}

TEST_CASE("[defaults] takes only what every source may share") {
  const auto result = parse("", R"(
[defaults]
name = "x"
retrys = 3
timeout = "soon"
)");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:3:1: defaults: \"name\" belongs to each source, not to [defaults]",
            "t: error: r.toml:4:1: defaults: unknown key \"retrys\"; did you mean \"retries\"?",
            "t: error: r.toml:5:11: defaults: timeout: must be a duration above zero, like \"30s\" "
            "or \"2m\""});
}

TEST_CASE("sources written as a plain table are refused with the right syntax") {
  const auto result = parse(R"(
[regions.x.sources]
name = "a"
)");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:6:1: region \"x\": sources: must be an array of tables, written "
            "[[regions.x.sources]]"});
}
