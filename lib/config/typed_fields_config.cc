// regions.toml's typed fields: a source's `key_names` and `fields`, the columns of the view
// offpeak-load keeps for it (docs/records.md, "Typed views").
//
// `fields` is a table of columns, each a type name ("numeric") or a table
// { at = "/t", type = "timestamptz", format = "epoch_ms" }; a field is at "/NAME" in the
// record unless `at` says otherwise. The key's parts are named by `key_names`, else by the
// key's fields (a pointer's last token). Every name becomes a quoted SQL identifier, so any
// text goes that PostgreSQL keeps whole: 1 to 63 bytes, no control characters, and unique
// among the view's columns.

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "config_reader.h"

namespace offpeak {

std::vector<std::string> json_pointer_tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
    } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
      token += pointer[++i] == '1' ? '/' : '~';
    } else {
      token += pointer[i];
    }
  }
  return tokens;
}

}  // namespace offpeak

namespace offpeak::config_detail {
namespace {

constexpr std::size_t kMaxColumnBytes = 63;
constexpr std::array<std::string_view, 4> kFieldKeys{"at", "type", "format", "decimal"};

// "/" and then reference tokens, where "~" only starts "~0" or "~1".
bool valid_field_pointer(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] == '~' && (i + 1 == p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  return true;
}

std::string pointer_to(std::string_view name) {
  std::string pointer = "/";
  for (const char c : name) pointer += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return pointer;
}

// `"a", "b" or "c"`, for messages.
template <std::size_t N>
std::string one_of(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i)
    out += fmt::format("{}\"{}\"", i == 0 ? "" : i + 1 == N ? " or " : ", ", names[i]);
  return out;
}

// What is wrong with `name` as a column of the view, or "".
std::string column_problem(std::string_view name) {
  if (name.empty() || name.size() > kMaxColumnBytes ||
      std::any_of(name.begin(), name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return fmt::format("\"{}\" must be 1 to {} bytes without control characters", one_line(name),
                       kMaxColumnBytes);
  if (std::find(kViewTimeColumns.begin(), kViewTimeColumns.end(), name) != kViewTimeColumns.end())
    return fmt::format("\"{}\" is a column every view has: {}", name, one_of(kViewTimeColumns));
  return "";
}

// A name from a list, with "did you mean" when one is close.
template <std::size_t N>
std::string not_one_of(std::string_view what, std::string_view text,
                       const std::array<std::string_view, N>& names) {
  std::string message = fmt::format("{} must be one of {}", what, one_of(names));
  for (std::string_view candidate : names)
    if (edit_distance(text, candidate) <= 2)
      return message + fmt::format("; did you mean \"{}\"?", candidate);
  return message;
}

class TypedReader {
 public:
  TypedReader(Source& source, const KeyError& error) : source_(source), error_(error) {}

  void read_key_names(const toml::table& table) {
    auto& names = source_.typed.key_names;
    const auto* node = table.get("key_names");
    if (!node) {
      for (const std::string& field : source_.key)
        names.push_back(field.front() == '/' ? json_pointer_tokens(field).back() : field);
      return;
    }
    const auto* array = node->as_array();
    if (!array || array->size() != source_.key.size())
      return error_(node->source(), "key_names",
                    fmt::format("must be an array of {} names, one for each part of \"key\"",
                                source_.key.size()));
    for (const toml::node& element : *array) {
      const auto name = element.value<std::string>();
      if (!name) return error_(element.source(), "key_names", "must be an array of names");
      names.push_back(*name);
    }
    key_names_at_ = node;
  }

  void read_fields(const toml::table& table) {
    const auto* node = table.get("fields");
    if (!node) return;
    const auto* fields = node->as_table();
    if (!fields)
      return error_(node->source(), "fields",
                    "must be a table of columns, like { close = \"numeric\", ts = { at = \"/t\", "
                    "type = \"timestamptz\", format = \"epoch_ms\" } }");
    for (auto&& [name, value] : *fields) read_field(std::string(name.str()), value);
  }

  // Names must be good columns and unique; checked once both lists are read.
  void check_names(const toml::table& table) {
    if (source_.typed.fields.empty() && key_names_at_ == nullptr) {
      source_.typed.key_names.clear();  // no view
      return;
    }
    std::vector<std::string_view> seen;
    const auto check = [&](std::string_view name, const toml::node& where, std::string_view key) {
      if (auto problem = column_problem(name); !problem.empty())
        return error_(where.source(), key, problem);
      if (std::find(seen.begin(), seen.end(), name) != seen.end())
        return error_(where.source(), key,
                      fmt::format("\"{}\" names two columns of the view", name));
      seen.push_back(name);
    };
    const toml::node& keys = key_names_at_ != nullptr ? *key_names_at_ : *table.get("key");
    for (const std::string& name : source_.typed.key_names)
      check(name, keys, key_names_at_ != nullptr ? "key_names" : "key");
    for (const TypedField& field : source_.typed.fields)
      check(field.name, *table.get("fields")->as_table()->get(field.name),
            fmt::format("fields.{}", one_line(field.name)));
  }

 private:
  void read_field(std::string name, const toml::node& value) {
    TypedField field;
    field.name = std::move(name);
    field.at = pointer_to(field.name);
    const std::string key = fmt::format("fields.{}", one_line(field.name));
    const toml::node* type = &value;
    bool good = true;
    if (const auto* spec = value.as_table()) {
      for (auto&& [k, v] : *spec)
        if (std::find(kFieldKeys.begin(), kFieldKeys.end(), k.str()) == kFieldKeys.end())
          error_(k.source(), key, unknown_key(k.str(), kFieldKeys));
      type = spec->get("type");
      if (type == nullptr)
        return error_(value.source(), key,
                      fmt::format("needs \"type\", one of {}", one_of(kFieldTypeNames)));
      good = read_spec(*spec, field, key);
    }
    const auto text = type->value<std::string>();
    const auto found = text ? std::find(kFieldTypeNames.begin(), kFieldTypeNames.end(), *text)
                            : kFieldTypeNames.end();
    if (found == kFieldTypeNames.end())
      return error_(type->source(), key,
                    not_one_of("the type", text.value_or(""), kFieldTypeNames));
    field.type = static_cast<FieldType>(found - kFieldTypeNames.begin());
    if (const auto* spec = value.as_table()) {
      const bool timestamp = field.type == FieldType::kTimestamptz;
      const bool number = field.type == FieldType::kNumeric || field.type == FieldType::kDouble;
      if (const auto* format = spec->get("format"); format && !timestamp)
        return error_(format->source(), key, "\"format\" applies only to type \"timestamptz\"");
      if (const auto* decimal = spec->get("decimal"); decimal && !number)
        return error_(decimal->source(), key,
                      "\"decimal\" applies only to types \"numeric\" and \"double precision\"");
    }
    if (good) source_.typed.fields.push_back(std::move(field));
  }

  // `at`, `format` and `decimal` of a field written as a table.
  bool read_spec(const toml::table& spec, TypedField& field, const std::string& key) {
    bool good = true;
    if (const auto* at = spec.get("at")) {
      const auto text = at->value<std::string>();
      if (!text || !valid_field_pointer(*text)) {
        error_(at->source(), key,
               "\"at\" must be a JSON pointer into the record, like \"/close\" or \"/quote/bid\"");
        good = false;
      } else {
        field.at = *text;
      }
    }
    if (const auto* format = spec.get("format")) {
      const auto text = format->value<std::string>();
      const auto found = text ? std::find(kTimeFormatNames.begin(), kTimeFormatNames.end(), *text)
                              : kTimeFormatNames.end();
      if (found == kTimeFormatNames.end()) {
        error_(format->source(), key,
               not_one_of("\"format\"", text.value_or(""), kTimeFormatNames));
        good = false;
      } else {
        field.format = static_cast<TimeFormat>(found - kTimeFormatNames.begin());
      }
    }
    if (const auto* decimal = spec.get("decimal")) {
      const auto text = decimal->value<std::string>();
      if (text != "." && text != ",") {
        error_(decimal->source(), key, "\"decimal\" must be \".\" or \",\"");
        good = false;
      } else {
        field.decimal_comma = text == ",";
      }
    }
    return good;
  }

  Source& source_;
  const KeyError& error_;
  const toml::node* key_names_at_ = nullptr;
};

}  // namespace

void read_typed_fields(const toml::table& table, std::string_view region, Source& source,
                       const KeyError& error) {
  if (source.key.empty()) return;  // the key's own problems are reported already
  TypedReader reader(source, error);
  reader.read_key_names(table);
  reader.read_fields(table);
  reader.check_names(table);
  // The view is named "REGION.SOURCE", which PostgreSQL must keep whole.
  if (!source.typed.key_names.empty() && region.size() + 1 + source.name.size() > kMaxColumnBytes)
    error(table.source(), "fields",
          fmt::format("the view's name \"{}.{}\" would be longer than {} bytes", region,
                      source.name, kMaxColumnBytes));
}

}  // namespace offpeak::config_detail
