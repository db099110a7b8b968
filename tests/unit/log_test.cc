#include <catch2/catch.hpp>

#include <chrono>

#include <date/date.h>

#include "log.h"

using offpeak::LogLevel;
using offpeak::LogLine;

namespace {

std::chrono::system_clock::time_point at() {
  using namespace std::chrono;
  return date::sys_days{date::year{2026} / 3 / 8} + 6h + 30min + 1234ms;
}

}  // namespace

TEST_CASE("logfmt values are quoted when they must be, with quotes and backslashes escaped") {
  CHECK(offpeak::logfmt_value("xnys") == "xnys");
  CHECK(offpeak::logfmt_value("") == R"("")");
  CHECK(offpeak::logfmt_value("temporary failure") == R"("temporary failure")");
  CHECK(offpeak::logfmt_value("a=b") == R"("a=b")");
  CHECK(offpeak::logfmt_value(R"(say "hi")") == R"("say \"hi\"")");
  CHECK(offpeak::logfmt_value(R"(C:\x)") == R"("C:\\x")");
  CHECK(offpeak::logfmt_value("two\nlines") == R"("two\nlines")");
}

TEST_CASE("a log line as text: the level only when not info, fields in order") {
  LogLine info;
  info.add("region", "xnys").add("pages", 3).add("bytes", std::uint64_t{1234});
  info.add("seconds", 0.0213, 2).add("dry_run", true);
  CHECK(info.text("offpeak-scrape") ==
        "offpeak-scrape: region=xnys pages=3 bytes=1234 seconds=0.02 dry_run=true");
  LogLine warning(LogLevel::kWarning);
  warning.add("source", "bars").add("msg", "HTTP 503: \"busy\"");
  CHECK(warning.text("t") == R"(t: level=warning source=bars msg="HTTP 503: \"busy\"")");
}

TEST_CASE("a log line as JSON: time in UTC milliseconds, numbers bare, strings escaped") {
  LogLine line(LogLevel::kError);
  line.add("region", "xnys").add("exit", 65).add("seconds", 1.5, 2).add("msg", "a\"b\\c\nd");
  CHECK(line.json("offpeak-load", at()) ==
        R"({"time":"2026-03-08T06:30:01.234Z","tool":"offpeak-load","level":"error",)"
        R"("region":"xnys","exit":65,"seconds":1.50,"msg":"a\"b\\c\nd"})");
  CHECK(LogLine().json("t", at()) ==
        R"({"time":"2026-03-08T06:30:01.234Z","tool":"t","level":"info"})");
}

TEST_CASE("log format names, and diagnostics as fields") {
  CHECK(offpeak::parse_log_format("text") == offpeak::LogFormat::kText);
  CHECK(offpeak::parse_log_format("json") == offpeak::LogFormat::kJson);
  CHECK(!offpeak::parse_log_format("JSON"));
  offpeak::Diagnostic d{
      offpeak::Severity::kError, {"regions.toml", 12, 3}, "xnys", "sesions", "unknown key"};
  CHECK(offpeak::diagnostic_log(d).text("t") ==
        R"(t: level=error file=regions.toml line=12 column=3 region=xnys key=sesions )"
        R"(msg="unknown key")");
}
