#pragma once

// A source's typed fields: the columns of its view (docs/records.md, "Typed views"), as
// regions.toml declares them and offpeak-load checks and creates them.

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace offpeak {

// The SQL types a field may have.
enum class FieldType { kText, kNumeric, kBigint, kInteger, kDouble, kBoolean, kDate, kTimestamptz };

// The types' SQL names, in FieldType's order, as regions.toml spells them.
inline constexpr std::array<std::string_view, 8> kFieldTypeNames{
    "text", "numeric", "bigint", "integer", "double precision", "boolean", "date", "timestamptz"};

// How a timestamptz field is written: an RFC 3339 string, or a count of seconds or
// milliseconds since 1970 (a number, or a string of one).
enum class TimeFormat { kRfc3339, kEpochSeconds, kEpochMillis };

inline constexpr std::array<std::string_view, 3> kTimeFormatNames{"rfc3339", "epoch_s", "epoch_ms"};

struct TypedField {
  std::string name;  // the view's column
  std::string at;    // JSON pointer (RFC 6901) into the record, starting with '/'
  FieldType type = FieldType::kText;
  TimeFormat format = TimeFormat::kRfc3339;  // timestamptz only
  bool decimal_comma = false;                // numeric and double precision: "1,5" is 1.5
};

// What a source declares for its view: a view when it gives `fields` or `key_names`, and
// then `key_names` has a name for each key part; else both are empty.
struct TypedDeclaration {
  std::vector<std::string> key_names;  // one per key part, the view's first columns
  std::vector<TypedField> fields;
};

// The columns every view has after its fields, which no field or key part may be named.
inline constexpr std::array<std::string_view, 3> kViewTimeColumns{"deleted_at", "fetched_at",
                                                                  "changed_at"};

// The reference tokens of a JSON pointer ("/a~1b/0" is "a/b", "0"), unescaped.
[[nodiscard]] std::vector<std::string> json_pointer_tokens(std::string_view pointer);

}  // namespace offpeak
