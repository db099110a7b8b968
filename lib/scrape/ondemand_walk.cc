// Checking a page as On-Demand reads it.
//
// simdjson's On-Demand parser validates the page's structure and UTF-8 in its indexing pass,
// but looks at a scalar only when a program reads it, and does not count nesting. Record
// extraction copies tokens out as written, so it reads every value through here: each
// scalar's text against JSON's grammar (json_check.h) and each value's depth against the one
// nesting limit, counted where the value will stand in the output line.

#include "ondemand_walk.h"

#include <fmt/format.h>

namespace offpeak {

namespace od = simdjson::ondemand;
using simdjson::error_code;

std::string_view json_type_name(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "a value";
}

error_code check_value(od::value& value, int depth) {
  if (json_too_deep(depth)) return simdjson::DEPTH_ERROR;
  od::json_type type{};
  if (auto e = value.type().get(type)) return e;
  if (type == od::json_type::object) {
    od::object object;
    if (auto e = value.get_object().get(object)) return e;
    for (auto result : object) {
      od::field field;
      std::string_view key;
      if (auto e = std::move(result).get(field); e || (e = raw_key(field).get(key))) return e;
      if (auto e = check_value(field.value(), depth + 1)) return e;
    }
    return simdjson::SUCCESS;
  }
  if (type == od::json_type::array) {
    od::array array;
    if (auto e = value.get_array().get(array)) return e;
    for (auto result : array) {
      od::value element;
      if (auto e = std::move(result).get(element); e || (e = check_value(element, depth + 1)))
        return e;
    }
    return simdjson::SUCCESS;
  }
  std::string_view token;
  return read_scalar(value, type, token);
}

error_code read_scalar(od::value& value, od::json_type type, std::string_view& token) {
  token = trim_json_space(value.raw_json_token());
  if (auto e = check_scalar(token, type); e || type != od::json_type::string) return e;
  od::raw_json_string raw;
  return value.get_raw_json_string().get(raw);
}

error_code append_minified(const char* begin, const char* end, std::string& out) {
  const std::size_t at = out.size();
  const auto length = static_cast<std::size_t>(end - begin);
  // simdjson::minify writes in whole SIMD blocks; the slack keeps it inside the string.
  out.resize(at + length + simdjson::SIMDJSON_PADDING);
  std::size_t written = 0;
  const error_code e = simdjson::minify(begin, length, out.data() + at, written);
  out.resize(at + written);
  return e;
}

std::string invalid_json(error_code e) {
  return fmt::format("invalid JSON: {}", simdjson::error_message(e));
}

}  // namespace offpeak
