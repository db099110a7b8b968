#pragma once

// Reading a page through simdjson's On-Demand parser so that every token in it is checked,
// for record extraction (records.cc).

#include <string>
#include <string_view>

#include <simdjson.h>

#include "json_check.h"

namespace offpeak {

// The depth of a record's fields in an output line, {"record":{"field":...}}: values are
// checked against the nesting limit where they will stand in the line, so that offpeak-load,
// which checks the line, takes every record offpeak-scrape writes.
inline constexpr int kRecordFieldDepth = 3;

// "an array", "a string", "null"..., for messages.
[[nodiscard]] std::string_view json_type_name(simdjson::ondemand::json_type type);

// Checks a scalar's token (trimmed), which the parser has only looked at the first byte of:
// the number grammar, string escapes, the literals. Inline, as raw_key(): record extraction
// calls them for every token.
[[nodiscard]] inline simdjson::error_code check_scalar(std::string_view token,
                                                       simdjson::ondemand::json_type type) {
  using simdjson::ondemand::json_type;
  switch (type) {
    case json_type::string:
      return is_json_string_token(token) ? simdjson::SUCCESS : simdjson::STRING_ERROR;
    case json_type::number:
      return check_json_number(token).ok() ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    case json_type::boolean:
      return token == "true" || token == "false" ? simdjson::SUCCESS : simdjson::T_ATOM_ERROR;
    case json_type::null:
      return token == "null" ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    default:
      return simdjson::TAPE_ERROR;
  }
}

// The key of `field` as written, quotes included, checked. Between a key and its value the
// parser has seen only the colon and whitespace, so the key ends at the quote before the colon.
[[nodiscard]] inline simdjson::simdjson_result<std::string_view> raw_key(
    simdjson::ondemand::field& field) {
  const char* const begin = field.key().raw() - 1;
  const char* p = field.value().raw_json_token().data();
  do --p;
  while (p > begin && is_json_space(*p));
  if (p <= begin || *p != ':') return simdjson::TAPE_ERROR;
  do --p;
  while (p > begin && is_json_space(*p));
  if (p <= begin || *p != '"') return simdjson::TAPE_ERROR;
  std::string_view key(begin, static_cast<std::size_t>(p + 1 - begin));
  if (!is_json_string_token(key)) return simdjson::STRING_ERROR;
  return key;
}

// Checks the scalar `value` of type `type`, sets `token` to its text, and moves past it. Left
// for the parser to skip, a string followed by ':' would pass for a key, so a colon where a
// comma belongs would end the object silently, halfway.
[[nodiscard]] simdjson::error_code read_scalar(simdjson::ondemand::value& value,
                                               simdjson::ondemand::json_type type,
                                               std::string_view& token);

// Reads `value` through, checking every token in it; `depth` is where it stands in the output
// line (kRecordFieldDepth for a record's field).
[[nodiscard]] simdjson::error_code check_value(simdjson::ondemand::value& value, int depth);

// Appends the JSON text [begin, end) to `out` without the whitespace between its tokens.
[[nodiscard]] simdjson::error_code append_minified(const char* begin, const char* end,
                                                   std::string& out);

// "invalid JSON: " and simdjson's message for `e`.
[[nodiscard]] std::string invalid_json(simdjson::error_code e);

}  // namespace offpeak
