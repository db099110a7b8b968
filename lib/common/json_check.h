#pragma once

// Checks of JSON token text, shared by the scrape's record extraction and the loader's input
// checking, so both take the same JSON: RFC 8259's grammar for numbers (any number of digits)
// and string escapes, and one limit on nesting.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "error.h"

namespace offpeak {

// The deepest a JSON value may be: 1 for the root of a document, one more inside each object
// or array. simdjson's DOM parser allows this much (On-Demand does not count); so does
// PostgreSQL's jsonb, whose own limit depends on its stack.
inline constexpr int kMaxJsonDepth = 1024;

// Whether a value at `depth` is deeper than kMaxJsonDepth.
[[nodiscard]] constexpr bool json_too_deep(int depth) { return depth > kMaxJsonDepth; }

// "nested deeper than 1024 levels" when a value at `depth` is too deep.
[[nodiscard]] Result<void> check_json_depth(int depth);

// JSON's whitespace: space, tab, line feed, carriage return.
[[nodiscard]] constexpr bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// `token` without the whitespace after it (a parser's token runs up to the next one).
[[nodiscard]] inline std::string_view trim_json_space(std::string_view token) {
  while (!token.empty() && is_json_space(token.back())) token.remove_suffix(1);
  return token;
}

// A number token, split by RFC 8259's grammar: -?int(.frac)?([eE][+-]?exp)?
struct JsonNumber {
  bool negative = false;
  std::string_view integer;   // the digits before the point
  std::string_view fraction;  // the digits after it, if any
  bool negative_exponent = false;
  std::string_view exponent;  // the exponent's digits, if any
};

// "invalid number TOKEN" (its first 40 bytes), exit 65.
[[nodiscard]] Error invalid_json_number(std::string_view token);

// `token` as a number, or invalid_json_number(token). Inline, as the next one: record
// extraction checks every token of a page with them.
[[nodiscard]] inline Result<JsonNumber> check_json_number(std::string_view token) {
  JsonNumber number;
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < token.size() && token[i] >= '0' && token[i] <= '9') ++i;
    return token.substr(from, i - from);
  };
  number.negative = i < token.size() && token[i] == '-';
  if (number.negative) ++i;
  number.integer = digits();
  if (number.integer.empty() || (number.integer.size() > 1 && number.integer[0] == '0'))
    return invalid_json_number(token);
  if (i < token.size() && token[i] == '.') {
    ++i;
    number.fraction = digits();
    if (number.fraction.empty()) return invalid_json_number(token);
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    number.negative_exponent = i < token.size() && token[i] == '-';
    if (i < token.size() && (token[i] == '-' || token[i] == '+')) ++i;
    number.exponent = digits();
    if (number.exponent.empty()) return invalid_json_number(token);
  }
  if (i != token.size()) return invalid_json_number(token);
  return number;
}

// Whether `token` is a string token, quotes included, whose escapes are all valid. Its UTF-8
// and its control characters are left to the parser, which checks them in bulk.
[[nodiscard]] inline bool is_json_string_token(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  const char* p = token.data() + 1;
  const char* const end = token.data() + token.size() - 1;
  const auto is_hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  while ((p = static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p))))) {
    if (end - p < 2) return false;
    const char c = p[1];
    if (c == 'u') {
      if (end - p < 6 || !std::all_of(p + 2, p + 6, is_hex)) return false;
      p += 6;
    } else if (c != '\0' && std::strchr("\"\\/bfnrt", c) != nullptr) {
      p += 2;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace offpeak
