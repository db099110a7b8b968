#pragma once

// Checks of JSON token text, shared by the scrape's record extraction and the loader's input
// checking, so both take the same JSON: RFC 8259's grammar for numbers (any number of digits)
// and string escapes, and one limit on nesting.

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
[[nodiscard]] std::string_view trim_json_space(std::string_view token);

// A number token, split by RFC 8259's grammar: -?int(.frac)?([eE][+-]?exp)?
struct JsonNumber {
  bool negative = false;
  std::string_view integer;   // the digits before the point
  std::string_view fraction;  // the digits after it, if any
  bool negative_exponent = false;
  std::string_view exponent;  // the exponent's digits, if any
};

// `token` as a number, or "invalid number TOKEN" (its first 40 bytes).
[[nodiscard]] Result<JsonNumber> check_json_number(std::string_view token);

// Whether `token` is a string token, quotes included, whose escapes are all valid. Its UTF-8
// and its control characters are left to the parser, which checks them in bulk.
[[nodiscard]] bool is_json_string_token(std::string_view token);

}  // namespace offpeak
