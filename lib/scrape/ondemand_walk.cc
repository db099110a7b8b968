// Checking a page as On-Demand reads it.
//
// simdjson's On-Demand parser validates the page's structure and UTF-8 in its indexing pass,
// but looks at a scalar only when a program reads it, and does not count nesting. Record
// extraction copies tokens out as written, so it reads every value through here: each
// scalar's text against JSON's grammar (json_check.h) and each value's depth against the one
// nesting limit, counted where the value will stand in the output line.

#include "ondemand_walk.h"

#include <fmt/format.h>

#include "json_check.h"

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

error_code check_scalar(std::string_view token, od::json_type type) {
  switch (type) {
    case od::json_type::string:
      if (!is_json_string_token(token)) return simdjson::STRING_ERROR;
      break;
    case od::json_type::number:
      if (!check_json_number(token).ok()) return simdjson::NUMBER_ERROR;
      break;
    case od::json_type::boolean:
      if (token != "true" && token != "false") return simdjson::T_ATOM_ERROR;
      break;
    case od::json_type::null:
      if (token != "null") return simdjson::N_ATOM_ERROR;
      break;
    default:
      return simdjson::TAPE_ERROR;
  }
  return simdjson::SUCCESS;
}

// Between a key and its value the parser has seen only the colon and whitespace, so the key
// ends at the quote before the colon.
simdjson::simdjson_result<std::string_view> raw_key(od::field& field) {
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
  return check_scalar(trim_json_space(value.raw_json_token()), type);
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
