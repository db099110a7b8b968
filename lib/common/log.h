#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "diagnostics.h"

namespace offpeak {

// How a tool writes its log lines on stderr: logfmt (key=value) or one JSON object a line.
enum class LogFormat { kText, kJson };

enum class LogLevel { kInfo, kWarning, kError };

// "text" or "json"; nothing for anything else.
[[nodiscard]] std::optional<LogFormat> parse_log_format(std::string_view text);

// One event: a level and fields in the order they were added, shown as a logfmt line or a
// JSON object. A field is a string or a number; numbers stay bare in both forms.
class LogLine {
 public:
  explicit LogLine(LogLevel level = LogLevel::kInfo) : level_(level) {}

  LogLine& add(std::string_view key, std::string_view value);
  LogLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  LogLine& add(std::string_view key, std::int64_t value);
  LogLine& add(std::string_view key, std::uint64_t value);
  LogLine& add(std::string_view key, int value) { return add(key, std::int64_t{value}); }
  LogLine& add(std::string_view key, bool value);
  // A number with `decimals` digits after the point, like seconds=0.02.
  LogLine& add(std::string_view key, double value, int decimals);

  [[nodiscard]] LogLevel level() const { return level_; }

  // "TOOL: level=warning region=xnys msg="a b"": the level only when it is not info.
  [[nodiscard]] std::string text(std::string_view tool) const;
  // {"time":"2026-03-08T06:30:00.123Z","tool":TOOL,"level":"info",...}
  [[nodiscard]] std::string json(std::string_view tool,
                                 std::chrono::system_clock::time_point time) const;

 private:
  struct Field {
    std::string key;
    std::string value;  // a number's text, or the string itself
    bool number = false;
  };
  LogLevel level_;
  std::vector<Field> fields_;
};

// A logfmt value: as it is, or in double quotes with \" and \\ (and control characters)
// escaped when it is empty or holds a space, a quote or '='.
[[nodiscard]] std::string logfmt_value(std::string_view value);

// A diagnostic as fields: file, line, column, region, key (those known) and msg.
[[nodiscard]] LogLine diagnostic_log(const Diagnostic& d);

}  // namespace offpeak
