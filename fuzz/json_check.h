#pragma once

// Checks on JSON the library wrote, for the harnesses: that it is one valid JSON value of
// the expected kind, and that no string in it holds \u0000, which PostgreSQL's jsonb refuses.

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "fuzz_input.h"

namespace offpeak::fuzz {

// Whether the JSON text `json` holds the escape \u0000 inside a string.
inline bool has_nul_escape(std::string_view json) {
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    if (!in_string) {
      in_string = json[i] == '"';
    } else if (json[i] == '"') {
      in_string = false;
    } else if (json[i] == '\\') {
      if (json.substr(i + 1, 5) == "u0000") return true;
      ++i;
    }
  }
  return false;
}

// Aborts unless `json` is one JSON value of `type`. Numbers simdjson cannot hold in 64 bits
// are still JSON.
inline void check_json(simdjson::dom::parser& parser, std::string_view json,
                       simdjson::dom::element_type type, const char* what) {
  const simdjson::padded_string padded(json);
  simdjson::dom::element element;
  const auto error = parser.parse(padded).get(element);
  if (error == simdjson::NUMBER_ERROR) return;
  check(error == simdjson::SUCCESS, what);
  check(element.type() == type, what);
}

}  // namespace offpeak::fuzz
