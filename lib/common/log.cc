// Log lines for the tools' stderr: one event a line, as logfmt for people and grep, or as
// JSON for log shippers. The idea: an event is an ordered list of typed fields, and both
// forms are renderings of the same list, so they never say different things.

#include "log.h"

#include <date/date.h>
#include <fmt/format.h>

#include "json_text.h"

namespace offpeak {
namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    default:
      return "info";
  }
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

LogLine& LogLine::add(std::string_view key, std::string_view value) {
  fields_.push_back({std::string(key), std::string(value), false});
  return *this;
}

LogLine& LogLine::add(std::string_view key, std::int64_t value) {
  fields_.push_back({std::string(key), std::to_string(value), true});
  return *this;
}

LogLine& LogLine::add(std::string_view key, std::uint64_t value) {
  fields_.push_back({std::string(key), std::to_string(value), true});
  return *this;
}

LogLine& LogLine::add(std::string_view key, bool value) {
  fields_.push_back({std::string(key), value ? "true" : "false", true});
  return *this;
}

LogLine& LogLine::add(std::string_view key, double value, int decimals) {
  fields_.push_back({std::string(key), fmt::format("{:.{}f}", value, decimals), true});
  return *this;
}

std::string logfmt_value(std::string_view value) {
  bool quote = value.empty();
  for (const char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      quote = true;
  // A quoted logfmt value escapes as a JSON string does, which logfmt readers understand.
  return quote ? json_string(value) : std::string(value);
}

std::string LogLine::text(std::string_view tool) const {
  std::string out(tool);
  out += ':';
  if (level_ != LogLevel::kInfo) out += fmt::format(" level={}", level_name(level_));
  for (const Field& f : fields_)
    out += fmt::format(" {}={}", f.key, f.number ? f.value : logfmt_value(f.value));
  return out;
}

std::string LogLine::json(std::string_view tool, std::chrono::system_clock::time_point time) const {
  std::string out =
      fmt::format(R"({{"time":"{}","tool":{},"level":"{}")",
                  date::format("%FT%TZ", std::chrono::floor<std::chrono::milliseconds>(time)),
                  json_string(tool), level_name(level_));
  for (const Field& f : fields_)
    out += fmt::format(",{}:{}", json_string(f.key), f.number ? f.value : json_string(f.value));
  out += '}';
  return out;
}

LogLine diagnostic_log(const Diagnostic& d) {
  LogLine line(d.severity == Severity::kError ? LogLevel::kError : LogLevel::kWarning);
  if (!d.pos.file.empty()) line.add("file", d.pos.file);
  if (d.pos.line > 0) line.add("line", d.pos.line);
  if (d.pos.line > 0 && d.pos.column > 0) line.add("column", d.pos.column);
  if (!d.region.empty()) line.add("region", d.region);
  if (!d.key.empty()) line.add("key", d.key);
  line.add("msg", d.message);
  return line;
}

}  // namespace offpeak
