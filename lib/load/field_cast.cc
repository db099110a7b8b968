// Checking typed fields' values on the client, by exactly the rules of the views' SQL.
//
// The key idea: each type accepts a small, plain grammar, written once here and once as the
// SQL of typed_views.cc, and every value the grammar accepts is one PostgreSQL converts
// without error. Numbers are compared as decimal text (sign, significant digits, exponent),
// never through a double, so that the client and numeric agree on every boundary. The view's
// SQL applies the same grammar as a guard, so rows loaded before a declaration read as NULL
// where they do not fit, never as an error.
//
// The grammars, after spaces around a string are dropped:
//   numeric            a JSON number, or a string [+-]digits[.digits][e[+-]1-3 digits] of at
//                      most 1000 characters (a decimal comma instead of the point when told)
//   double precision   the same, zero or of magnitude from 1e-307 up to (not including) 1e308
//   bigint, integer    [+-]digits as a string, or a JSON number with no fraction, in range
//   boolean            true/false, or (any case) true false t f yes no y n on off 1 0
//   date               "YYYY-MM-DD", a day that exists, years 1 to 9999
//   timestamptz        "YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|+HH:MM)" (T or a space; offsets up
//                      to 15:59), or epoch seconds or milliseconds as numeric reads them,
//                      from year 1 up to year 10000

#include "field_cast.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "json_text.h"

namespace offpeak {
namespace {

using Kind = JsonValue::Kind;

// ---------------------------------------------------------------------------------------------
// Finding a value

// The end of the value starting at `i` in minified valid JSON.
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (s[i] == '"') {
    for (++i; s[i] != '"'; ++i)
      if (s[i] == '\\') ++i;
    return i + 1;
  }
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    do {
      if (s[i] == '"') {
        i = skip_value(s, i);
        continue;
      }
      if (s[i] == '{' || s[i] == '[') ++depth;
      if (s[i] == '}' || s[i] == ']') --depth;
      ++i;
    } while (depth > 0);
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// The text of the valid JSON string `quoted`, unescaped into `out` when it has escapes.
std::string_view unescape(std::string_view quoted, std::string& out) {
  const std::string_view body = quoted.substr(1, quoted.size() - 2);
  if (body.find('\\') == std::string_view::npos) return body;
  out.clear();
  const auto hex = [&](std::size_t at) {
    return static_cast<unsigned>(
        std::strtoul(std::string(body.substr(at, 4)).c_str(), nullptr, 16));
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    if (c != 'u') {
      out += c == 'b'   ? '\b'
             : c == 'f' ? '\f'
             : c == 'n' ? '\n'
             : c == 'r' ? '\r'
             : c == 't' ? '\t'
                        : c;
      continue;
    }
    unsigned cp = hex(i + 1);
    i += 4;
    if (cp >= 0xd800 && cp < 0xdc00) {  // a valid line pairs it with a low surrogate
      cp = 0x10000 + ((cp - 0xd800) << 10) + (hex(i + 3) - 0xdc00);
      i += 6;
    }
    append_utf8(out, cp);
  }
  return out;
}

JsonValue value_at(std::string_view s, std::size_t i, std::string& scratch) {
  const std::size_t end = skip_value(s, i);
  const std::string_view text = s.substr(i, end - i);
  switch (s[i]) {
    case '"':
      return {Kind::kString, unescape(text, scratch)};
    case '{':
      return {Kind::kObject, text};
    case '[':
      return {Kind::kArray, text};
    case 't':
    case 'f':
      return {Kind::kBoolean, text};
    case 'n':
      return {Kind::kNull, text};
    default:
      return {Kind::kNumber, text};
  }
}

// The start of member `name` of the object at `i` (its last, as jsonb keeps), or npos.
std::size_t member(std::string_view s, std::size_t i, const std::string& name) {
  std::size_t found = std::string_view::npos;
  std::string scratch;
  for (++i; s[i] != '}';) {
    const std::size_t key_end = skip_value(s, i);
    const bool match = unescape(s.substr(i, key_end - i), scratch) == name;
    i = key_end + 1;  // past ':'
    if (match) found = i;
    i = skip_value(s, i);
    if (s[i] == ',') ++i;
  }
  return found;
}

// The start of the element the token names in the array at `i`, or npos: the token is read
// as PostgreSQL reads an array subscript in a path, by strtol, negative from the end.
std::size_t element(std::string_view s, std::size_t i, const std::string& token) {
  errno = 0;
  char* end = nullptr;
  const long index = std::strtol(token.c_str(), &end, 10);
  if (end == token.c_str() || *end != '\0' || errno != 0 || index > INT_MAX || index < INT_MIN)
    return std::string_view::npos;
  std::vector<std::size_t> starts;
  for (++i; s[i] != ']';) {
    starts.push_back(i);
    i = skip_value(s, i);
    if (s[i] == ',') ++i;
  }
  const long size = static_cast<long>(starts.size());
  const long at = index >= 0 ? index : (index == INT_MIN ? -1 : size + index);
  if (at < 0 || at >= size) return std::string_view::npos;
  return starts[static_cast<std::size_t>(at)];
}

// ---------------------------------------------------------------------------------------------
// Numbers as decimal text

// A number as sign, significant digits (no leading zeros; none for zero) and the power of
// ten of the last digit; `scale` is the digits numeric shows after the point.
struct Decimal {
  bool negative = false;
  std::string digits;
  long long exponent = 0;
  long long scale = 0;

  [[nodiscard]] bool zero() const { return digits.empty(); }
  // The power of ten of the first significant digit.
  [[nodiscard]] long long magnitude() const {
    return static_cast<long long>(digits.size()) - 1 + exponent;
  }
};

// [+-]digits[.digits][(e|E)[+-]digits], with at least one digit before or after the point and
// at most `max_exponent_digits` in the exponent; nothing when `s` is not one.
std::optional<Decimal> parse_decimal(std::string_view s, std::size_t max_exponent_digits) {
  Decimal d;
  std::size_t i = 0;
  const auto digits_from = [&](std::size_t from) {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return s.substr(from, i - from);
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) d.negative = s[i++] == '-';
  const std::string_view whole = digits_from(i);
  std::string_view fraction;
  if (i < s.size() && s[i] == '.') fraction = digits_from(++i);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  long long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    std::string_view e = digits_from(i);
    if (e.empty() || e.size() > max_exponent_digits) return std::nullopt;
    e.remove_prefix(std::min(e.find_first_not_of('0'), e.size()));
    // JSON exponents beyond numeric's are refused when the line is read; 10^12 stands in.
    exponent = e.size() > 12 ? 1'000'000'000'000LL : std::atoll(std::string(e).c_str());
    if (negative) exponent = -exponent;
  }
  if (i != s.size()) return std::nullopt;
  d.digits.reserve(whole.size() + fraction.size());
  d.digits.append(whole).append(fraction);
  d.exponent = exponent - static_cast<long long>(fraction.size());
  d.scale = std::max(0LL, -d.exponent);
  d.digits.erase(0, std::min(d.digits.find_first_not_of('0'), d.digits.size()));
  const auto last = d.digits.find_last_not_of('0');
  const std::size_t trailing = last == std::string::npos ? 0 : d.digits.size() - last - 1;
  d.digits.resize(d.digits.size() - trailing);
  d.exponent += static_cast<long long>(trailing);
  if (d.zero()) d.negative = false;
  return d;
}

// -1, 0 or 1 as a is less than, equal to or more than b.
int compare(const Decimal& a, const Decimal& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int magnitude = 0;  // of |a| against |b|
  if (a.zero() || b.zero()) {
    magnitude = a.zero() == b.zero() ? 0 : a.zero() ? -1 : 1;
  } else if (a.magnitude() != b.magnitude()) {
    magnitude = a.magnitude() < b.magnitude() ? -1 : 1;
  } else {
    const int c = a.digits.compare(b.digits);
    magnitude = c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return a.negative ? -magnitude : magnitude;
}

Decimal decimal(std::string_view integer) { return *parse_decimal(integer, 0); }

// What a string holds as a number: spaces around dropped, a decimal comma made a point.
std::optional<Decimal> decimal_string(std::string_view text, bool decimal_comma) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  std::string s(text.substr(first, text.find_last_not_of(' ') - first + 1));
  if (decimal_comma) std::replace(s.begin(), s.end(), ',', '.');
  if (s.size() > 1000) return std::nullopt;
  return parse_decimal(s, 3);
}

// A string of [+-]digits, spaces around dropped, at most 30 digits.
std::optional<Decimal> integer_string(std::string_view text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  text = text.substr(first, text.find_last_not_of(' ') - first + 1);
  const std::string_view digits = text.substr(text[0] == '+' || text[0] == '-' ? 1 : 0);
  if (digits.empty() || digits.size() > 30 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return parse_decimal(text, 0);
}

// ---------------------------------------------------------------------------------------------
// The checks

// The value as messages quote it.
std::string shown(const JsonValue& v) {
  std::string text = v.kind == Kind::kString ? json_string(v.text) : std::string(v.text);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string a_kind(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string";
    case Kind::kNumber:
      return "a number";
    case Kind::kBoolean:
      return "a boolean";
    case Kind::kObject:
      return "an object";
    case Kind::kArray:
      return "an array";
    default:
      return "null";
  }
}

// A number: a JSON number, or a string of one.
std::optional<std::string> number_problem(const JsonValue& v, bool decimal_comma,
                                          std::optional<Decimal>& out) {
  if (v.kind == Kind::kNumber) {
    out = parse_decimal(v.text, v.text.size());
  } else if (v.kind == Kind::kString) {
    out = decimal_string(v.text, decimal_comma);
  } else {
    return fmt::format("{} is {}, not a number", shown(v), a_kind(v.kind));
  }
  if (!out) return fmt::format("{} is not a number", shown(v));
  return std::nullopt;
}

std::optional<std::string> integer_problem(const JsonValue& v, std::string_view type,
                                           const Decimal& min, const Decimal& max) {
  std::optional<Decimal> d;
  if (v.kind == Kind::kNumber) {
    d = parse_decimal(v.text, v.text.size());
    if (d && d->scale > 0) return fmt::format("{} is not a whole number", shown(v));
  } else if (v.kind == Kind::kString) {
    d = integer_string(v.text);
    if (!d) return fmt::format("{} is not a whole number", shown(v));
  } else {
    return fmt::format("{} is {}, not a whole number", shown(v), a_kind(v.kind));
  }
  if (compare(*d, min) < 0 || compare(*d, max) > 0)
    return fmt::format("{} is out of {}'s range", shown(v), type);
  return std::nullopt;
}

std::optional<std::string> double_problem(const JsonValue& v, bool decimal_comma) {
  std::optional<Decimal> d;
  if (auto problem = number_problem(v, decimal_comma, d)) return problem;
  if (!d->zero() && (d->magnitude() < -307 || d->magnitude() > 307))
    return fmt::format("{} is out of double precision's range (1e-307 to 1e308)", shown(v));
  return std::nullopt;
}

std::optional<std::string> boolean_problem(const JsonValue& v) {
  constexpr std::string_view kWords[] = {"true", "false", "t",  "f",   "yes", "no",
                                         "y",    "n",     "on", "off", "1",   "0"};
  std::string word;
  if (v.kind == Kind::kString || v.kind == Kind::kNumber || v.kind == Kind::kBoolean) {
    if (v.kind == Kind::kNumber) {
      // The view reads numeric's text of it: "1" or "0" only for 1 and 0 without a fraction.
      const auto d = parse_decimal(v.text, v.text.size());
      if (d && d->scale == 0 && !d->negative &&
          (d->zero() || (d->digits == "1" && d->exponent == 0)))
        return std::nullopt;
    } else {
      const auto first = v.text.find_first_not_of(' ');
      if (first != std::string_view::npos)
        word = v.text.substr(first, v.text.find_last_not_of(' ') - first + 1);
      std::transform(word.begin(), word.end(), word.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
      });
      if (std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords))
        return std::nullopt;
    }
  }
  return fmt::format("{} is not a boolean (true or false, t f yes no y n on off 1 0)", shown(v));
}

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  return at + n <= s.size() &&
         std::all_of(s.begin() + static_cast<long>(at), s.begin() + static_cast<long>(at + n),
                     [](char c) { return c >= '0' && c <= '9'; });
}

int number_at(std::string_view s, std::size_t at, std::size_t n) {
  int value = 0;
  for (std::size_t i = at; i < at + n; ++i) value = value * 10 + (s[i] - '0');
  return value;
}

// "YYYY-MM-DD" at the start of `s`, a day that exists in years 1 to 9999.
bool valid_date(std::string_view s) {
  if (s.size() < 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2))
    return false;
  const int y = number_at(s, 0, 4), m = number_at(s, 5, 2), d = number_at(s, 8, 2);
  if (y == 0 || m < 1 || m > 12 || d < 1) return false;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool valid_rfc3339(std::string_view s) {
  if (!valid_date(s) || s.size() < 20 || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2) ||
      s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2))
    return false;
  if (number_at(s, 11, 2) > 23 || number_at(s, 14, 2) > 59 || number_at(s, 17, 2) > 59)
    return false;
  std::size_t i = 19;
  if (s[i] == '.') {
    std::size_t n = 0;
    while (i + 1 + n < s.size() && s[i + 1 + n] >= '0' && s[i + 1 + n] <= '9') ++n;
    if (n < 1 || n > 9) return false;
    i += 1 + n;
  }
  const std::string_view zone = s.substr(i);
  if (zone == "Z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digits(zone, 1, 2) &&
         zone[3] == ':' && digits(zone, 4, 2) && number_at(zone, 1, 2) <= 15 &&
         number_at(zone, 4, 2) <= 59;
}

std::optional<std::string> timestamp_problem(const TypedField& field, const JsonValue& v) {
  if (field.format == TimeFormat::kRfc3339) {
    if (v.kind == Kind::kString && valid_rfc3339(v.text)) return std::nullopt;
    return fmt::format("{} is not an RFC 3339 time, like \"2026-11-27T14:30:00Z\"", shown(v));
  }
  std::optional<Decimal> d;
  if (auto problem = number_problem(v, false, d)) return problem;
  const bool millis = field.format == TimeFormat::kEpochMillis;
  // Year 1 to the end of year 9999, in Unix seconds: PostgreSQL's range holds them all.
  static const Decimal kMinSeconds = decimal("-62135596800"), kEndSeconds = decimal("253402300800");
  static const Decimal kMinMillis = decimal("-62135596800000");
  static const Decimal kEndMillis = decimal("253402300800000");
  const Decimal& min = millis ? kMinMillis : kMinSeconds;
  const Decimal& end = millis ? kEndMillis : kEndSeconds;
  if (compare(*d, min) < 0 || compare(*d, end) >= 0)
    return fmt::format("{} is out of range for a time in {} (years 1 to 9999)", shown(v),
                       millis ? "epoch milliseconds" : "epoch seconds");
  return std::nullopt;
}

}  // namespace

namespace {

// The value that `tokens`, from the `from`th on, lead to from the value at `at`.
JsonValue value_along(std::string_view record, std::size_t at,
                      const std::vector<std::string>& tokens, std::size_t from,
                      std::string& scratch) {
  for (std::size_t t = from; t < tokens.size(); ++t) {
    if (record[at] == '{')
      at = member(record, at, tokens[t]);
    else if (record[at] == '[')
      at = element(record, at, tokens[t]);
    else
      at = std::string_view::npos;
    if (at == std::string_view::npos) return {};
  }
  return value_at(record, at, scratch);
}

}  // namespace

JsonValue find_json_value(std::string_view record, const std::vector<std::string>& tokens,
                          std::string& scratch) {
  return value_along(record, 0, tokens, 0, scratch);
}

void find_json_values(std::string_view record,
                      const std::vector<const std::vector<std::string>*>& paths,
                      std::vector<JsonValue>& values, std::vector<std::string>& scratch) {
  values.assign(paths.size(), JsonValue{});
  scratch.resize(paths.size());
  if (record.empty() || record[0] != '{') {
    for (std::size_t p = 0; p < paths.size(); ++p)
      values[p] = find_json_value(record, *paths[p], scratch[p]);
    return;
  }
  // Each member's name against the paths' first tokens; the last of a name counts.
  std::vector<std::size_t> starts(paths.size(), std::string_view::npos);
  std::string name;
  for (std::size_t i = 1; record[i] != '}';) {
    const std::size_t key_end = skip_value(record, i);
    const std::string_view key = unescape(record.substr(i, key_end - i), name);
    i = key_end + 1;  // past ':'
    for (std::size_t p = 0; p < paths.size(); ++p)
      if (!paths[p]->empty() && (*paths[p])[0] == key) starts[p] = i;
    i = skip_value(record, i);
    if (record[i] == ',') ++i;
  }
  for (std::size_t p = 0; p < paths.size(); ++p) {
    if (paths[p]->empty())
      values[p] = value_at(record, 0, scratch[p]);
    else if (starts[p] != std::string_view::npos)
      values[p] = value_along(record, starts[p], *paths[p], 1, scratch[p]);
  }
}

std::optional<std::string> cast_problem(const TypedField& field, const JsonValue& value) {
  if (value.kind == Kind::kMissing || value.kind == Kind::kNull) return std::nullopt;
  switch (field.type) {
    case FieldType::kText:
      return std::nullopt;
    case FieldType::kNumeric: {
      // A JSON number that reading the line let through (ndjson_input.cc: none beyond
      // numeric's range) is one numeric reads, as jsonb keeps it.
      if (value.kind == Kind::kNumber) return std::nullopt;
      std::optional<Decimal> d;
      return number_problem(value, field.decimal_comma, d);
    }
    case FieldType::kDouble:
      return double_problem(value, field.decimal_comma);
    case FieldType::kBigint: {
      static const Decimal kMin = decimal("-9223372036854775808");
      static const Decimal kMax = decimal("9223372036854775807");
      return integer_problem(value, "bigint", kMin, kMax);
    }
    case FieldType::kInteger: {
      static const Decimal kMin = decimal("-2147483648"), kMax = decimal("2147483647");
      return integer_problem(value, "integer", kMin, kMax);
    }
    case FieldType::kBoolean:
      return boolean_problem(value);
    case FieldType::kDate:
      if (value.kind == Kind::kString && value.text.size() == 10 && valid_date(value.text))
        return std::nullopt;
      return fmt::format("{} is not a date, like \"2026-11-27\"", shown(value));
    case FieldType::kTimestamptz:
      return timestamp_problem(field, value);
  }
  return std::nullopt;
}

}  // namespace offpeak
