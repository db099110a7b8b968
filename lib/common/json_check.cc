// JSON token checks: the number grammar, string escapes and the nesting limit that record
// extraction and the loader's input checking share.
//
// simdjson reads numbers only into 64-bit types and its On-Demand parser checks only what a
// program reads, while offpeak keeps every number's text as written (a price keeps its digits,
// an integer of any size survives). So the tokens are checked here, by the grammar alone, on
// the text: one pass, no conversion, no allocation unless the token is bad.

#include "json_check.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace offpeak {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

Result<void> check_json_depth(int depth) {
  if (!json_too_deep(depth)) return {};
  return Error{kExitDataErr, fmt::format("nested deeper than {} levels", kMaxJsonDepth)};
}

std::string_view trim_json_space(std::string_view token) {
  while (!token.empty() && is_json_space(token.back())) token.remove_suffix(1);
  return token;
}

Result<JsonNumber> check_json_number(std::string_view token) {
  JsonNumber number;
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < token.size() && is_digit(token[i])) ++i;
    return token.substr(from, i - from);
  };
  const auto bad = [&] {
    return Error{kExitDataErr, fmt::format("invalid number {}", token.substr(0, 40))};
  };
  number.negative = i < token.size() && token[i] == '-';
  if (number.negative) ++i;
  number.integer = digits();
  if (number.integer.empty() || (number.integer.size() > 1 && number.integer[0] == '0'))
    return bad();
  if (i < token.size() && token[i] == '.') {
    ++i;
    number.fraction = digits();
    if (number.fraction.empty()) return bad();
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    number.negative_exponent = i < token.size() && token[i] == '-';
    if (i < token.size() && (token[i] == '-' || token[i] == '+')) ++i;
    number.exponent = digits();
    if (number.exponent.empty()) return bad();
  }
  if (i != token.size()) return bad();
  return number;
}

bool is_json_string_token(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  const char* p = token.data() + 1;
  const char* const end = token.data() + token.size() - 1;
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
