#pragma once

// The check a typed field's value passes when a line is loaded: what the view's SQL reads
// cleanly (typed_views.h), decided on the client by the same rules, so that a line the view
// could not read is a bad line and `SELECT * FROM` a view never fails.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typed_field.h"

namespace offpeak {

// A value found in a record, as PostgreSQL's `#>` finds it.
struct JsonValue {
  enum class Kind { kMissing, kNull, kString, kNumber, kBoolean, kObject, kArray };
  Kind kind = Kind::kMissing;
  // A string's text, unescaped; else the value's JSON text.
  std::string_view text;
};

// The value at `tokens` (a JSON pointer's, json_pointer_tokens()) in `record`, minified valid
// JSON, found as jsonb's `#>` finds it: an object's last member of the name, an array's
// element by the token read as strtol reads it, negative from the end. A string's unescaped
// text may go into `scratch`.
[[nodiscard]] JsonValue find_json_value(std::string_view record,
                                        const std::vector<std::string>& tokens,
                                        std::string& scratch);

// The values at several paths in `record` at once, as find_json_value finds each: the
// members that the paths' first tokens name are found in one pass over the record, so that
// checking many fields of a record reads it once. `values` gets one value per path; a
// string's unescaped text may go into the path's own string of `scratch`.
void find_json_values(std::string_view record,
                      const std::vector<const std::vector<std::string>*>& paths,
                      std::vector<JsonValue>& values, std::vector<std::string>& scratch);

// Why `value` cannot be a `field` in its view, or nothing when the view reads it (a missing
// value or null reads as NULL).
[[nodiscard]] std::optional<std::string> cast_problem(const TypedField& field,
                                                      const JsonValue& value);

}  // namespace offpeak
