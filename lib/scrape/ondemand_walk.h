#pragma once

// Reading a page through simdjson's On-Demand parser so that every token in it is checked,
// for record extraction (records.cc).

#include <string>
#include <string_view>

#include <simdjson.h>

namespace offpeak {

// The depth of a record's fields in an output line, {"record":{"field":...}}: values are
// checked against the nesting limit where they will stand in the line, so that offpeak-load,
// which checks the line, takes every record offpeak-scrape writes.
inline constexpr int kRecordFieldDepth = 3;

// "an array", "a string", "null"..., for messages.
[[nodiscard]] std::string_view json_type_name(simdjson::ondemand::json_type type);

// Checks a scalar's token (trimmed), which the parser has only looked at the first byte of:
// the number grammar, string escapes, the literals.
[[nodiscard]] simdjson::error_code check_scalar(std::string_view token,
                                                simdjson::ondemand::json_type type);

// The key of `field` as written, quotes included, checked.
[[nodiscard]] simdjson::simdjson_result<std::string_view> raw_key(simdjson::ondemand::field& field);

// Reads `value` through, checking every token in it; `depth` is where it stands in the output
// line (kRecordFieldDepth for a record's field).
[[nodiscard]] simdjson::error_code check_value(simdjson::ondemand::value& value, int depth);

// Appends the JSON text [begin, end) to `out` without the whitespace between its tokens.
[[nodiscard]] simdjson::error_code append_minified(const char* begin, const char* end,
                                                   std::string& out);

// "invalid JSON: " and simdjson's message for `e`.
[[nodiscard]] std::string invalid_json(simdjson::error_code e);

}  // namespace offpeak
