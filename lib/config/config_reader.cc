// What config.cc and source_config.cc share in checking regions.toml: where a TOML node
// sits, how errors are counted, what an id may be, and the "did you mean" hint of an unknown
// key, which names the known key within two single-character edits of the one written.

#include "config_reader.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <date/tz.h>
#include <fmt/format.h>

#include "config.h"

namespace offpeak::config_detail {

using std::chrono::minutes;

// Number of single-character edits between a and b, for "did you mean" hints.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

Result<const date::time_zone*> lookup_zone(const toml::node& node) {
  const auto name = node.value<std::string>();
  if (!name) return Error{kExitConfig, "must be a string"};
  try {
    return date::locate_zone(*name);
  } catch (const std::runtime_error&) {
    return Error{kExitConfig, fmt::format("unknown time zone \"{}\"", *name)};
  }
}

SourcePos position(const std::string& path, const toml::source_region& source) {
  return {path, static_cast<int>(source.begin.line), static_cast<int>(source.begin.column)};
}

size_t count_errors(const std::vector<Diagnostic>& diagnostics) {
  return static_cast<size_t>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

bool valid_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::optional<std::string> id_problem(std::string_view id) {
  if (!valid_id(id)) return "may use only letters, digits, \"-\" and \"_\"";
  if (id.starts_with('-')) return "may not start with \"-\", which reads as an option";
  if (id.size() > kMaxIdLength)
    return fmt::format("has {} characters; at most {}, so that the file names made from it fit",
                       id.size(), kMaxIdLength);
  return std::nullopt;
}

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return out;
}

std::string unknown_key(std::string_view key, std::span<const std::string_view> known) {
  std::string message = fmt::format("unknown key \"{}\"", key);
  // The nearest of the keys two edits away or less; the first listed of those as near.
  std::string_view nearest;
  size_t distance = 3;
  for (std::string_view candidate : known)
    if (const size_t d = edit_distance(key, candidate); d < distance) {
      nearest = candidate;
      distance = d;
    }
  if (!nearest.empty()) message += fmt::format("; did you mean \"{}\"?", nearest);
  return message;
}

namespace {

// A value in regions.toml that is wrong: why, for a diagnostic.
Error invalid(std::string why) { return {kExitConfig, std::move(why)}; }

int two_digits(std::string_view s, size_t pos) {
  if (pos + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[pos])) ||
      !std::isdigit(static_cast<unsigned char>(s[pos + 1])))
    return -1;
  return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
}

}  // namespace

// "HH:MM", exactly two digits each. Errors leave naming the text to the caller.
Result<minutes> parse_time_of_day(std::string_view s) {
  const int hour = two_digits(s, 0), minute = two_digits(s, 3);
  if (s.size() != 5 || s[2] != ':' || hour < 0 || minute < 0)
    return invalid("expected a time \"HH:MM\", like \"09:30\"");
  if (hour > 23) return invalid(fmt::format("hour {} is out of range (00-23)", hour));
  if (minute > 59) return invalid(fmt::format("minute {} is out of range (00-59)", minute));
  return minutes(hour * 60 + minute);
}

// "HH:MM-HH:MM"; `may_cross_midnight` allows an end before the start.
Result<LocalSpan> parse_span(std::string_view s, bool may_cross_midnight) {
  const auto fail = [&](std::string_view why) {
    return invalid(fmt::format("\"{}\": {}", s, why));
  };
  if (s.size() != 11 || s[5] != '-') return fail("expected \"HH:MM-HH:MM\", like \"09:30-16:00\"");
  const auto start = parse_time_of_day(s.substr(0, 5));
  if (!start) return fail(start.error().message);
  const auto end = parse_time_of_day(s.substr(6));
  if (!end) return fail(end.error().message);
  if (*start == *end) return fail("starts and ends at the same time");
  if (*end < *start && !may_cross_midnight)
    return fail("ends before it starts; sessions cannot cross midnight");
  return LocalSpan{*start, *end};
}

// "YYYY-MM-DD", a date that exists.
std::optional<date::local_days> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return {};
  const int century = two_digits(s, 0), year = two_digits(s, 2);
  const int month = two_digits(s, 5), day = two_digits(s, 8);
  if (century < 0 || year < 0 || month < 0 || day < 0) return {};
  const date::year_month_day ymd{date::year{century * 100 + year}, date::month(unsigned(month)),
                                 date::day(unsigned(day))};
  if (!ymd.ok()) return {};
  return date::local_days(ymd);
}

std::string format_time_of_day(minutes m) {
  if (m < minutes{0}) m += minutes{24 * 60};  // a session opening the evening before
  return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60);
}

std::string format_date(date::local_days day) {
  const date::year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()));
}

}  // namespace offpeak::config_detail
