// Calendar files: reading and checking calendars/CODE.toml into a Region's calendar.
//
// A calendar file states holidays, early closes and late opens as rules (fixed dates with an
// observance, n-th weekdays, Easter offsets, explicit dates) rather than as lists of days, so
// it does not expire. The key idea is to work the rules out once, when the file is read, over
// the years the caller needs (RuleYears: all of kFirstRuleYear to kLastRuleYear unless it
// says fewer) into the same sorted lists of days an inline calendar gives: everything
// downstream (windows, sessions, the timeline) stays a lookup, and a rule and an explicit
// date can never disagree about a day. Checking is as
// strict as regions.toml's: every problem, with its line, column and key.

#include "calendar_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <date/tz.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "config_reader.h"
#include "holiday_rules.h"

#ifndef OFFPEAK_CALENDAR_DIR
#define OFFPEAK_CALENDAR_DIR "/usr/share/offpeak/calendars"
#endif

namespace offpeak {
namespace {

using config_detail::format_date;
using config_detail::format_time_of_day;
using config_detail::kWeekdayNames;
using config_detail::parse_date;
using config_detail::parse_span;
using config_detail::parse_time_of_day;
using config_detail::position;
using config_detail::unknown_key;
using std::chrono::minutes;

constexpr std::array<std::string_view, 11> kTopKeys{
    "name",    "timezone", "sessions",     "weekdays",   "published_through", "exact_through",
    "changes", "holidays", "early_closes", "late_opens", "special_sessions"};
constexpr std::array<std::string_view, 13> kRuleKeys{
    "name",  "month",   "day",    "weekday", "nth",   "easter", "orthodox_easter",
    "dates", "observe", "offset", "from",    "until", "time"};
constexpr std::array<std::string_view, 4> kSpecialKeys{"name", "date", "dates", "sessions"};
constexpr std::array<std::string_view, 3> kChangeKeys{"from", "weekdays", "sessions"};
constexpr std::array<std::pair<std::string_view, Observe>, 7> kObserveNames{{
    {"none", Observe::kNone},
    {"nearest_weekday", Observe::kNearestWeekday},
    {"sunday_to_monday", Observe::kSundayToMonday},
    {"sunday_to_next_free_weekday", Observe::kSundayToNextFree},
    {"next_weekday", Observe::kNextWeekday},
    {"next_free_weekday", Observe::kNextFreeWeekday},
    {"previous_trading_day", Observe::kPreviousTradingDay},
}};

// A key's value as a date: a TOML date or a "YYYY-MM-DD" string.
std::optional<date::local_days> date_value(const toml::node& node) {
  if (const auto* d = node.as_date())
    return date::local_days(date::year{d->get().year} / int(d->get().month) / int(d->get().day));
  if (const auto* s = node.as_string()) return parse_date(s->get());
  return std::nullopt;
}

class CalendarReader {
 public:
  CalendarReader(const std::string& path, std::vector<Diagnostic>& diagnostics, RuleYears years)
      : path_(path), diagnostics_(diagnostics), years_(years) {}

  std::optional<Region> read(const toml::table& root, std::string_view code) {
    region_ = Region{};
    region_.calendar.code = std::string(code);
    region_.calendar.file = path_;
    region_.trading_weekdays = {false, true, true, true, true, true, false};
    const size_t errors_before = config_detail::count_errors(diagnostics_);

    for (auto&& [key, node] : root)
      if (std::find(kTopKeys.begin(), kTopKeys.end(), key.str()) == kTopKeys.end())
        error(key.source(), "", unknown_key(key.str(), kTopKeys));
    if (const auto* node = root.get("name")) {
      if (const auto* s = node->as_string())
        region_.calendar.name = s->get();
      else
        error(node->source(), "name", "must be a string");
    }
    read_timezone(root);
    if (const auto* node = root.get("sessions"))
      region_.sessions = read_sessions(*node, "sessions");
    else
      error(root.source(), "sessions", "missing; give the regular hours, like [\"09:30-16:00\"]");
    if (const auto* node = root.get("weekdays"))
      region_.trading_weekdays = read_weekdays(*node, "weekdays");
    region_.calendar.published_through = read_year(root, "published_through");
    region_.calendar.exact_through = read_year(root, "exact_through");
    if (const auto* node = root.get("changes")) read_changes(*node);
    if (config_detail::count_errors(diagnostics_) != errors_before) return std::nullopt;

    // Holidays need the trading week; special sessions, the holidays; the timed days, both.
    const auto holiday_rules = read_rules(root, "holidays", false);
    const auto weekday_trades = [this](date::local_days day) {
      return region_.weekdays_on(day)[date::weekday(day).c_encoding()];
    };
    region_.holidays =
        expand_holidays(holiday_rules.rules, years_.first, years_.last, weekday_trades);
    if (const auto* node = root.get("special_sessions")) read_special_sessions(*node);
    const auto closes = read_rules(root, "early_closes", true);
    const auto opens = read_rules(root, "late_opens", true);
    set_timed_days(opens, "late_opens", region_.late_opens);
    set_timed_days(closes, "early_closes", region_.early_closes);
    if (config_detail::count_errors(diagnostics_) != errors_before) return std::nullopt;
    return std::move(region_);
  }

 private:
  void error(const toml::source_region& at, std::string_view key, std::string message) {
    diagnostics_.push_back(
        {Severity::kError, position(path_, at), "", std::string(key), std::move(message)});
  }

  void read_timezone(const toml::table& root) {
    const auto* node = root.get("timezone");
    if (!node)
      return error(root.source(), "timezone",
                   "missing; give an IANA zone name, like \"America/New_York\"");
    if (auto zone = config_detail::lookup_zone(*node))
      region_.zone = *zone;
    else
      error(node->source(), "timezone", std::move(zone).error().message);
  }

  // Sessions in order; the first may cross midnight, opening the evening before its day.
  std::vector<LocalSpan> read_sessions(const toml::node& node, std::string_view key) {
    std::vector<LocalSpan> spans;
    const auto* array = node.as_array();
    if (!array || array->empty()) {
      error(node.source(), key, "must be a non-empty array of \"HH:MM-HH:MM\" strings");
      return spans;
    }
    for (const toml::node& element : *array) {
      const auto* text = element.as_string();
      if (!text) {
        error(element.source(), key, "must be an array of \"HH:MM-HH:MM\" strings");
        continue;
      }
      auto span = parse_span(text->get(), spans.empty());
      if (!span) {
        error(element.source(), key, std::move(span).error().message);
        continue;
      }
      if (span->end < span->start) span->start -= minutes{24 * 60};
      if (!spans.empty() && span->start < spans.back().end)
        error(element.source(), key,
              fmt::format("\"{}\" starts before the session before it ends; list sessions in "
                          "order, without overlaps",
                          text->get()));
      spans.push_back(*span);
    }
    return spans;
  }

  std::array<bool, 7> read_weekdays(const toml::node& node, std::string_view key) {
    std::array<bool, 7> weekdays{};
    const auto* array = node.as_array();
    if (!array || array->empty()) {
      error(node.source(), key, "must be a non-empty array of day names, like [\"Mon\", \"Tue\"]");
      return weekdays;
    }
    for (const toml::node& element : *array) {
      const auto text = element.value<std::string>().value_or("");
      const auto it = std::find(kWeekdayNames.begin(), kWeekdayNames.end(), text);
      if (it == kWeekdayNames.end()) {
        error(element.source(), key,
              fmt::format("unknown day \"{}\" (expected Mon, Tue, Wed, Thu, Fri, Sat, Sun)", text));
        continue;
      }
      auto& day = weekdays[static_cast<size_t>(it - kWeekdayNames.begin())];
      if (day) error(element.source(), key, fmt::format("\"{}\" is listed twice", text));
      day = true;
    }
    return weekdays;
  }

  // An integer key of `table` within [low, high]; nothing when absent or wrong.
  std::optional<int> read_int(const toml::table& table, std::string_view key, int low, int high,
                              std::string_view label) {
    const auto* node = table.get(key);
    if (!node) return std::nullopt;
    const auto value = node->value_exact<int64_t>();
    if (!value || *value < low || *value > high) {
      error(node->source(), label,
            fmt::format("{}: must be an integer from {} to {}", key, low, high));
      return std::nullopt;
    }
    return static_cast<int>(*value);
  }

  int read_year(const toml::table& root, std::string_view key) {
    return read_int(root, key, kFirstRuleYear, kLastRuleYear, key).value_or(0);
  }

  void read_changes(const toml::node& node) {
    const auto* array = node.as_array();
    if (!array || !array->is_array_of_tables())
      return error(node.source(), "changes", "must be tables, written [[changes]]");
    for (const toml::node& element : *array) {
      const auto& table = *element.as_table();
      check_keys(table, kChangeKeys, "changes");
      TradingWeek week{
          {},
          region_.changes.empty() ? region_.trading_weekdays : region_.changes.back().weekdays,
          region_.changes.empty() ? region_.sessions : region_.changes.back().sessions};
      const auto* from = table.get("from");
      const auto day = from ? date_value(*from) : std::nullopt;
      if (!day) {
        error(from ? from->source() : table.source(), "changes",
              "from: give the first day of the change as \"YYYY-MM-DD\"");
        continue;
      }
      week.from = *day;
      if (!region_.changes.empty() && week.from <= region_.changes.back().from)
        error(from->source(), "changes", "from: list changes in date order");
      if (const auto* n = table.get("weekdays")) week.weekdays = read_weekdays(*n, "changes");
      if (const auto* n = table.get("sessions")) week.sessions = read_sessions(*n, "changes");
      if (!table.contains("weekdays") && !table.contains("sessions"))
        error(table.source(), "changes", "give the new \"weekdays\", \"sessions\" or both");
      region_.changes.push_back(std::move(week));
    }
  }

  template <size_t N>
  void check_keys(const toml::table& table, const std::array<std::string_view, N>& known,
                  std::string_view section) {
    for (auto&& [key, node] : table)
      if (std::find(known.begin(), known.end(), key.str()) == known.end())
        error(key.source(), section, unknown_key(key.str(), known));
  }

  // A section's rules, each with the table it was read from, to place errors about its days.
  struct Rules {
    std::vector<DayRule> rules;
    std::vector<const toml::table*> tables;
  };

  Rules read_rules(const toml::table& root, std::string_view section, bool timed) {
    Rules out;
    const auto* node = root.get(section);
    if (!node) return out;
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
      error(node->source(), section,
            fmt::format("must be tables, written [[{}]], one per rule", section));
      return out;
    }
    for (const toml::node& element : *array)
      if (auto rule = read_rule(*element.as_table(), section, timed)) {
        out.rules.push_back(std::move(*rule));
        out.tables.push_back(element.as_table());
      }
    return out;
  }

  std::optional<DayRule> read_rule(const toml::table& table, std::string_view section, bool timed);
  void read_rule_shape(const toml::table& table, std::string_view section, DayRule& rule);
  void read_special_sessions(const toml::node& node);
  void set_timed_days(const Rules& rules, std::string_view section,
                      std::map<date::local_days, minutes>& out);

  const std::string& path_;
  std::vector<Diagnostic>& diagnostics_;
  RuleYears years_;
  Region region_;
};

std::optional<DayRule> CalendarReader::read_rule(const toml::table& table, std::string_view section,
                                                 bool timed) {
  const size_t errors_before = config_detail::count_errors(diagnostics_);
  check_keys(table, kRuleKeys, section);
  DayRule rule;
  if (const auto name = table.get("name") ? table.get("name")->value<std::string>() : std::nullopt)
    rule.name = *name;
  else
    error(table.get("name") ? table.get("name")->source() : table.source(), section,
          "name: give each rule a name, like \"Christmas Day\"");
  read_rule_shape(table, section, rule);
  if (const auto* node = table.get("observe")) {
    const auto text = node->value<std::string>().value_or("");
    const auto it = std::find_if(kObserveNames.begin(), kObserveNames.end(),
                                 [&](const auto& entry) { return entry.first == text; });
    if (it == kObserveNames.end())
      error(node->source(), section,
            fmt::format("observe: unknown value \"{}\" (expected none, nearest_weekday, "
                        "sunday_to_monday, sunday_to_next_free_weekday, next_weekday, "
                        "next_free_weekday or "
                        "previous_trading_day)",
                        text));
    else
      rule.observe = it->second;
  }
  rule.offset = read_int(table, "offset", -366, 366, section).value_or(0);
  rule.from_year = read_int(table, "from", kFirstRuleYear, kLastRuleYear, section).value_or(0);
  rule.until_year = read_int(table, "until", kFirstRuleYear, kLastRuleYear, section).value_or(0);
  if (rule.from_year && rule.until_year && rule.until_year < rule.from_year)
    error(table.get("until")->source(), section, "until: is before from");
  if (const auto* node = table.get("time"); node && !timed) {
    error(node->source(), section, "time: only early_closes and late_opens have a time");
  } else if (timed) {
    const auto text = node ? node->value<std::string>() : std::nullopt;
    const auto time = text ? parse_time_of_day(*text) : Result<minutes>(Error{kExitConfig, ""});
    if (time)
      rule.time = *time;
    else
      error(node ? node->source() : table.source(), section,
            fmt::format("time: give the time as \"HH:MM\", like \"13:00\"{}",
                        text ? fmt::format(" (\"{}\": {})", *text, time.error().message) : ""));
  }
  if (config_detail::count_errors(diagnostics_) != errors_before) return std::nullopt;
  return rule;
}

// One of the shapes: month and day; month, weekday and nth; easter; orthodox_easter; dates.
void CalendarReader::read_rule_shape(const toml::table& table, std::string_view section,
                                     DayRule& rule) {
  const bool has_month = table.contains("month"), has_day = table.contains("day");
  const bool has_weekday = table.contains("weekday"), has_nth = table.contains("nth");
  const int shapes = int(has_month) + int(table.contains("easter")) +
                     int(table.contains("orthodox_easter")) + int(table.contains("dates"));
  if (shapes != 1 || (has_month && has_day == (has_weekday || has_nth)) ||
      (!has_month && (has_day || has_weekday || has_nth)))
    return error(table.source(), section,
                 fmt::format("\"{}\": give one shape of date: month and day; month, weekday and "
                             "nth; easter; orthodox_easter; or dates",
                             rule.name));
  if (const auto* node = table.get("dates")) {
    rule.shape = DayRule::Shape::kDates;
    const auto* array = node->as_array();
    if (!array || array->empty())
      return error(node->source(), section, "dates: must be a non-empty array of \"YYYY-MM-DD\"");
    for (const toml::node& element : *array) {
      if (const auto day = date_value(element))
        rule.dates.push_back(*day);
      else
        error(element.source(), section, "dates: each must be a date \"YYYY-MM-DD\" that exists");
    }
    return;
  }
  if (table.contains("easter") || table.contains("orthodox_easter")) {
    const bool western = table.contains("easter");
    rule.shape = western ? DayRule::Shape::kEaster : DayRule::Shape::kOrthodoxEaster;
    rule.easter_offset =
        read_int(table, western ? "easter" : "orthodox_easter", -366, 366, section).value_or(0);
    return;
  }
  rule.month = unsigned(read_int(table, "month", 1, 12, section).value_or(1));
  if (has_day) {
    rule.shape = DayRule::Shape::kFixed;
    rule.day = unsigned(read_int(table, "day", 1, 31, section).value_or(1));
    if (!date::year_month_day(date::year{2000}, date::month{rule.month}, date::day{rule.day}).ok())
      error(table.get("day")->source(), section,
            fmt::format("day: month {} has no day {}", rule.month, rule.day));
    return;
  }
  rule.shape = DayRule::Shape::kNthWeekday;
  const auto* weekday = table.get("weekday");
  const auto text = weekday ? weekday->value<std::string>().value_or("") : "";
  const auto it = std::find(kWeekdayNames.begin(), kWeekdayNames.end(), text);
  if (it == kWeekdayNames.end())
    error(weekday ? weekday->source() : table.source(), section,
          fmt::format("weekday: unknown day \"{}\" (expected Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
                      text));
  else
    rule.weekday = date::weekday(unsigned(it - kWeekdayNames.begin()));
  const auto* nth = table.get("nth");
  const auto n = nth ? nth->value_exact<int64_t>() : std::nullopt;
  if (!n || *n == 0 || *n < -1 || *n > 5)
    error(nth ? nth->source() : table.source(), section,
          "nth: must be 1 to 5 (the n-th weekday of the month) or -1 (the last)");
  else
    rule.nth = static_cast<int>(*n);
}

void CalendarReader::read_special_sessions(const toml::node& node) {
  const auto* array = node.as_array();
  if (!array || !array->is_array_of_tables())
    return error(node.source(), "special_sessions", "must be tables, written [[special_sessions]]");
  for (const toml::node& element : *array) {
    const auto& table = *element.as_table();
    check_keys(table, kSpecialKeys, "special_sessions");
    if (!table.get("name") || !table.get("name")->is_string())
      error(table.source(), "special_sessions", "name: give each session a name");
    std::vector<date::local_days> days;
    const auto add = [&](const toml::node& n) {
      if (const auto day = date_value(n))
        days.push_back(*day);
      else
        error(n.source(), "special_sessions", "date: must be a date \"YYYY-MM-DD\" that exists");
    };
    if (const auto* date = table.get("date")) add(*date);
    if (const auto* dates = table.get("dates"); dates && dates->is_array())
      for (const toml::node& n : *dates->as_array()) add(n);
    if (table.contains("date") == table.contains("dates"))
      error(table.source(), "special_sessions", "give \"date\" or \"dates\", one of them");
    const auto* sessions = table.get("sessions");
    if (!sessions) {
      error(table.source(), "special_sessions", "sessions: give the session's hours");
      continue;
    }
    const auto spans = read_sessions(*sessions, "special_sessions");
    for (const auto day : days) {
      // Like the holidays, only in the years worked out: outside them, a holiday the
      // session falls on is not known.
      const int year = int(date::year_month_day(day).year());
      if (year < years_.first || year > years_.last) continue;
      if (region_.is_trading_day(day))
        error(table.source(), "special_sessions",
              fmt::format("{} is a trading day already; a special session is for a day that "
                          "does not trade (use early_closes or late_opens to change its hours)",
                          format_date(day)));
      else if (!spans.empty())
        region_.special_sessions[day] = spans;
    }
  }
}

// Early closes and late opens worked out and checked against the hours of their days.
void CalendarReader::set_timed_days(const Rules& rules, std::string_view section,
                                    std::map<date::local_days, minutes>& out) {
  const auto trades = [this](date::local_days day) { return region_.is_trading_day(day); };
  const DayRule* failed = nullptr;  // one error per rule, not one per year
  for (const TimedDay& timed : expand_timed_days(rules.rules, years_.first, years_.last, trades)) {
    if (timed.rule == failed) continue;
    const auto& where = rules.tables[static_cast<size_t>(timed.rule - rules.rules.data())];
    const auto fail = [&](std::string why) {
      error(where->source(), section,
            fmt::format("\"{}\": {}: {}", timed.rule->name, format_date(timed.day), why));
      failed = timed.rule;
    };
    if (!region_.is_trading_day(timed.day)) {
      fail("is not a trading day");
      continue;
    }
    // Checked against the day's hours as they stand: a late open before its early close.
    const auto spans = region_.day_sessions(timed.day);
    const auto open = spans.front().start, close = spans.back().end;
    if (timed.time <= open || timed.time >= close)
      fail(fmt::format("{} is not between the open {} and the close {}",
                       format_time_of_day(timed.time), format_time_of_day(open),
                       format_time_of_day(close)));
    else
      out.emplace(timed.day, timed.time);
  }
}

}  // namespace

std::vector<std::string> calendar_dirs(const std::string& config_path) {
  const auto beside = std::filesystem::path(config_path).parent_path() / "calendars";
  std::vector<std::string> dirs{beside.string(), "/etc/offpeak/calendars", OFFPEAK_CALENDAR_DIR};
  // The config in /etc/offpeak has /etc/offpeak/calendars beside it: look there once.
  if (std::filesystem::path(dirs[0]).lexically_normal() ==
      std::filesystem::path(dirs[1]).lexically_normal())
    dirs.erase(dirs.begin() + 1);
  return dirs;
}

std::optional<std::string> find_calendar(const std::vector<std::string>& dirs,
                                         std::string_view code) {
  for (const std::string& dir : dirs) {
    const auto path = (std::filesystem::path(dir) / (std::string(code) + ".toml")).string();
    std::error_code ignored;
    if (std::filesystem::exists(path, ignored)) return path;
  }
  return std::nullopt;
}

CalendarFile read_calendar_file(const std::string& path, std::string_view code, RuleYears years) {
  std::ifstream in(path, std::ios::binary);
  std::string text;
  if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in.is_open() || in.bad()) {
    CalendarFile result;
    Diagnostic cannot_read;
    cannot_read.pos.file = path;
    cannot_read.message = "cannot read the calendar file";
    result.diagnostics.push_back(std::move(cannot_read));
    return result;
  }
  return parse_calendar(text, path, code, years);
}

CalendarFile parse_calendar(std::string_view text, const std::string& path, std::string_view code,
                            RuleYears years) {
  CalendarFile result;
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    result.diagnostics.push_back({Severity::kError, position(path, e.source()), "", "",
                                  fmt::format("malformed TOML: {}", e.description())});
    return result;
  }
  CalendarReader reader(path, result.diagnostics, years);
  result.calendar = reader.read(root, code);
  std::stable_sort(
      result.diagnostics.begin(), result.diagnostics.end(), [](const auto& a, const auto& b) {
        return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
      });
  return result;
}

}  // namespace offpeak
