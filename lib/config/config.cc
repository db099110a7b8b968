// regions.toml: parsing with toml++ and checking every key.
//
// A schedule that is silently wrong is worse than none, so checking is strict (unknown keys,
// loose time formats, dates that do not exist are all errors) and exhaustive: every problem
// in the file is collected, each with the line, column, region and key to fix, before the
// caller decides to stop. The regions' sources are checked in source_config.cc.

#include "config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <tuple>

#include <date/tz.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "calendar_file.h"
#include "config_reader.h"
#include "duration.h"

namespace offpeak {
namespace {

using config_detail::count_errors;
using config_detail::format_date;
using config_detail::format_time_of_day;
using config_detail::id_problem;
using config_detail::kWeekdayNames;
using config_detail::one_line;
using config_detail::parse_date;
using config_detail::parse_span;
using config_detail::parse_time_of_day;
using config_detail::position;
using config_detail::SourceReader;
using config_detail::unknown_key;

using std::chrono::minutes;

constexpr std::array<std::string_view, 13> kRegionKeys{"calendar",
                                                       "timezone",
                                                       "sessions",
                                                       "weekdays",
                                                       "holidays",
                                                       "early_closes",
                                                       "late_opens",
                                                       "offpeak",
                                                       "offpeak_after_close",
                                                       "offpeak_before_open",
                                                       "budget",
                                                       "claim",
                                                       "sources"};

// The calendar files regions use, each read once however many regions use it.
class CalendarFiles {
 public:
  CalendarFiles(const std::string& config_path, std::vector<Diagnostic>& diagnostics,
                RuleYears years)
      : dirs_(calendar_dirs(config_path)), diagnostics_(diagnostics), years_(years) {}

  // The calendar CODE; nullptr when there is no such file or it has errors (reported once).
  // `found` says whether a file was found.
  const Region* get(const std::string& code, bool& found) {
    auto it = read_.find(code);
    if (it == read_.end()) {
      const auto path = find_calendar(dirs_, code);
      CalendarFile file;
      if (path) file = read_calendar_file(*path, code, years_);
      diagnostics_.insert(diagnostics_.end(), file.diagnostics.begin(), file.diagnostics.end());
      it = read_.emplace(code, std::pair(path.has_value(), std::move(file.calendar))).first;
    }
    found = it->second.first;
    return it->second.second ? &*it->second.second : nullptr;
  }

  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
  std::vector<Diagnostic>& diagnostics_;
  RuleYears years_;
  std::map<std::string, std::pair<bool, std::optional<Region>>> read_;
};

// Checks one region table into a Region, adding a diagnostic for each problem.
class RegionReader {
 public:
  RegionReader(const std::string& path, std::vector<Diagnostic>& diagnostics, SourceReader& sources,
               CalendarFiles& calendars)
      : path_(path), diagnostics_(diagnostics), sources_(sources), calendars_(calendars) {}

  // The region, and its sources appended to `sources`; nothing when it has errors.
  std::optional<Region> read(const toml::key& id, const toml::table& table,
                             std::vector<Source>& sources) {
    region_ = Region{};
    region_.id = std::string(id.str());
    region_.pos = pos_of(id.source());
    region_.trading_weekdays = {false, true, true, true, true, true, false};
    const size_t errors_before = error_count();

    check_keys(table);
    if (const auto* calendar = table.get("calendar"))
      use_calendar(*calendar, table);
    else
      read_inline_calendar(table);
    if (const auto* node = table.get("offpeak_after_close"))
      region_.offpeak_after_close = read_duration(*node, "offpeak_after_close");
    if (const auto* node = table.get("offpeak_before_open"))
      region_.offpeak_before_open = read_duration(*node, "offpeak_before_open");
    if (const auto* node = table.get("budget")) region_.budget = read_duration(*node, "budget");
    if (const auto* node = table.get("claim")) read_claim(*node);
    if (!table.contains("calendar")) check_mode(table);
    // Sources come last: their templates may use session variables only with sessions.
    if (const auto* node = table.get("sources"); node && error_count() == errors_before)
      sources_.read_sources(*node, region_, sources);

    if (error_count() != errors_before) return std::nullopt;
    return std::move(region_);
  }

 private:
  SourcePos pos_of(const toml::source_region& source) const { return position(path_, source); }
  size_t error_count() const { return count_errors(diagnostics_); }

  void error(const toml::source_region& at, std::string_view key, std::string message) {
    diagnostics_.push_back(
        {Severity::kError, pos_of(at), region_.id, std::string(key), std::move(message)});
  }

  void check_keys(const toml::table& table) {
    for (auto&& [key, node] : table) {
      if (std::find(kRegionKeys.begin(), kRegionKeys.end(), key.str()) != kRegionKeys.end())
        continue;
      error(key.source(), "", unknown_key(key.str(), kRegionKeys));
    }
  }

  // The calendar keys of today's regions.toml, under [regions.ID].
  void read_inline_calendar(const toml::table& table) {
    read_timezone(table);
    if (const auto* sessions = table.get("sessions")) read_sessions(*sessions);
    if (const auto* offpeak = table.get("offpeak")) read_offpeak(*offpeak);
    if (const auto* weekdays = table.get("weekdays")) read_weekdays(*weekdays);
    if (const auto* holidays = table.get("holidays")) read_holidays(*holidays);
    if (const auto* node = table.get("early_closes"))
      read_day_times(*node, "early_closes", region_.early_closes);
    if (const auto* node = table.get("late_opens"))
      read_day_times(*node, "late_opens", region_.late_opens);
  }

  // `calendar = "XNYS"`: the region's calendar is calendars/XNYS.toml.
  void use_calendar(const toml::node& node, const toml::table& table) {
    const auto code = node.value<std::string>();
    if (!code || code->empty() || !std::all_of(code->begin(), code->end(), [](char c) {
          return std::isupper(static_cast<unsigned char>(c)) ||
                 std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        }))
      return error(node.source(), "calendar",
                   "must name a calendar file in upper case, like \"XNYS\" for XNYS.toml");
    for (std::string_view key :
         {"timezone", "sessions", "weekdays", "holidays", "early_closes", "late_opens", "offpeak"})
      if (const auto* inline_key = table.get(key))
        error(inline_key->source(), key,
              fmt::format("comes from the calendar \"{}\"; remove it here, or remove "
                          "\"calendar\" and define the calendar inline",
                          *code));
    bool found = false;
    const Region* calendar = calendars_.get(*code, found);
    if (!found) {
      std::string dirs;
      for (const std::string& dir : calendars_.dirs()) dirs += (dirs.empty() ? "" : ", ") + dir;
      return error(node.source(), "calendar",
                   fmt::format("no calendar file {}.toml in {}", *code, dirs));
    }
    if (!calendar)
      return error(node.source(), "calendar", fmt::format("the calendar \"{}\" has errors", *code));
    Region region = *calendar;
    region.id = std::move(region_.id);
    region.pos = region_.pos;
    region_ = std::move(region);
  }

  void read_timezone(const toml::table& table) {
    const auto* node = table.get("timezone");
    if (!node) {
      diagnostics_.push_back({Severity::kError, region_.pos, region_.id, "timezone",
                              "missing; give an IANA zone name, like \"America/New_York\""});
      return;
    }
    if (auto zone = config_detail::lookup_zone(*node))
      region_.zone = *zone;
    else
      error(node->source(), "timezone", std::move(zone).error().message);
  }

  // Each element of an array of strings, or an error for the key.
  template <typename Fn>
  void for_each_string(const toml::node& node, std::string_view key, std::string_view what,
                       Fn&& fn) {
    const auto* array = node.as_array();
    if (!array) return error(node.source(), key, fmt::format("must be an array of {}", what));
    for (const toml::node& element : *array) {
      if (const auto* s = element.as_string())
        fn(s->get(), element);
      else
        error(element.source(), key, fmt::format("must be an array of {}", what));
    }
  }

  // The valid spans of an array, each with the element it was read from.
  std::vector<std::pair<LocalSpan, const toml::node*>> read_spans(const toml::node& node,
                                                                  std::string_view key,
                                                                  bool may_cross_midnight) {
    std::vector<std::pair<LocalSpan, const toml::node*>> spans;
    for_each_string(node, key, "\"HH:MM-HH:MM\" strings",
                    [&](const std::string& text, const toml::node& element) {
                      auto span = parse_span(text, may_cross_midnight);
                      if (span)
                        spans.emplace_back(*span, &element);
                      else
                        error(element.source(), key, std::move(span).error().message);
                    });
    if (node.is_array() && node.as_array()->empty()) error(node.source(), key, "must not be empty");
    return spans;
  }

  static std::vector<LocalSpan> without_elements(
      const std::vector<std::pair<LocalSpan, const toml::node*>>& spans) {
    std::vector<LocalSpan> out;
    for (const auto& [span, element] : spans) out.push_back(span);
    return out;
  }

  void read_sessions(const toml::node& node) {
    const auto spans = read_spans(node, "sessions", false);
    region_.sessions = without_elements(spans);
    // An invalid session is left out of `spans`: each is placed by its own element.
    for (size_t i = 1; i < spans.size(); ++i) {
      const auto& before = spans[i - 1].first;
      const auto& after = spans[i].first;
      const auto& where = spans[i].second->source();
      if (after.start < before.start)
        error(where, "sessions",
              fmt::format("\"{}-{}\" starts before \"{}-{}\"; list sessions in order",
                          format_time_of_day(after.start), format_time_of_day(after.end),
                          format_time_of_day(before.start), format_time_of_day(before.end)));
      else if (after.start < before.end)
        error(where, "sessions",
              fmt::format("\"{}-{}\" overlaps \"{}-{}\"", format_time_of_day(after.start),
                          format_time_of_day(after.end), format_time_of_day(before.start),
                          format_time_of_day(before.end)));
    }
  }

  void read_offpeak(const toml::node& node) {
    region_.offpeak = without_elements(read_spans(node, "offpeak", true));
    // Minutes of the day the windows cover; all of them would leave no trading time.
    std::array<bool, 24 * 60> covered{};
    for (const LocalSpan& span : region_.offpeak)
      for (auto m = span.start; m != span.end; m = (m + minutes(1)) % minutes(24 * 60))
        covered[static_cast<size_t>(m.count())] = true;
    if (!region_.offpeak.empty() &&
        std::all_of(covered.begin(), covered.end(), [](bool c) { return c; }))
      error(node.source(), "offpeak",
            "the windows cover the whole day, so the region would never trade");
  }

  void read_weekdays(const toml::node& node) {
    region_.trading_weekdays = {};
    for_each_string(
        node, "weekdays", "day names", [&](const std::string& text, const toml::node& element) {
          const auto it = std::find(kWeekdayNames.begin(), kWeekdayNames.end(), text);
          if (it == kWeekdayNames.end())
            return error(
                element.source(), "weekdays",
                fmt::format("unknown day \"{}\" (expected Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
                            text));
          auto& trading = region_.trading_weekdays[static_cast<size_t>(it - kWeekdayNames.begin())];
          if (trading)
            error(element.source(), "weekdays", fmt::format("\"{}\" is listed twice", text));
          trading = true;
        });
    if (node.is_array() && node.as_array()->empty())
      error(node.source(), "weekdays", "must list at least one trading day");
  }

  void read_holidays(const toml::node& node) {
    const auto* array = node.as_array();
    if (!array) return error(node.source(), "holidays", "must be an array of dates \"YYYY-MM-DD\"");
    for (const toml::node& element : *array) {
      std::optional<date::local_days> day;
      if (const auto* d = element.as_date()) {
        day = date::local_days(date::year{d->get().year} / int(d->get().month) / int(d->get().day));
      } else if (const auto* s = element.as_string()) {
        day = parse_date(s->get());
        if (!day) {
          error(element.source(), "holidays",
                fmt::format("\"{}\" is not a valid date \"YYYY-MM-DD\"", s->get()));
          continue;
        }
      } else {
        error(element.source(), "holidays", "must be an array of dates \"YYYY-MM-DD\"");
        continue;
      }
      auto& holidays = region_.holidays;
      const auto at = std::lower_bound(holidays.begin(), holidays.end(), *day);
      if (at != holidays.end() && *at == *day)
        error(element.source(), "holidays", fmt::format("{} is listed twice", format_date(*day)));
      else
        holidays.insert(at, *day);
    }
  }

  // `claim = "window"` (the default: one host claims the window and runs all its sources) or
  // "sources" (each source is claimed on its own, so that several hosts share them).
  void read_claim(const toml::node& node) {
    const auto text = node.value<std::string>();
    if (text == "window" || text == "sources") {
      region_.claim_by_source = *text == "sources";
      return;
    }
    std::string message = fmt::format(
        "{} must be \"window\" (one host runs the window's sources) or \"sources\" (each "
        "source claimed on its own, spread over hosts)",
        text ? fmt::format("\"{}\"", *text) : std::string("the value"));
    for (std::string_view candidate : {"window", "sources"})
      if (text && config_detail::edit_distance(*text, candidate) <= 2)
        message += fmt::format("; did you mean \"{}\"?", candidate);
    error(node.source(), "claim", std::move(message));
  }

  std::chrono::seconds read_duration(const toml::node& node, std::string_view key) {
    const auto text = node.value<std::string>();
    const auto duration = text ? parse_duration(*text) : std::nullopt;
    if (!duration) {
      error(node.source(), key,
            fmt::format("{} is not a duration (expected one like \"90s\", \"30m\" or \"1h30m\")",
                        text ? fmt::format("\"{}\"", *text) : std::string("the value")));
      return {};
    }
    return *duration;
  }

  void read_day_times(const toml::node& node, std::string_view key,
                      std::map<date::local_days, minutes>& out) {
    const auto* table = node.as_table();
    if (!table)
      return error(node.source(), key,
                   "must be a table of dates and times, like { \"2026-11-27\" = \"13:00\" }");
    for (auto&& [day_key, value] : *table) {
      const auto day = parse_date(day_key.str());
      if (!day) {
        error(day_key.source(), key,
              fmt::format("\"{}\" is not a valid date \"YYYY-MM-DD\"", day_key.str()));
        continue;
      }
      const auto text = value.value<std::string>();
      if (!text) {
        error(value.source(), key,
              fmt::format("{}: must be a time \"HH:MM\", like \"13:00\"", day_key.str()));
        continue;
      }
      const auto time = parse_time_of_day(*text);
      if (!time) {
        error(value.source(), key,
              fmt::format("{}: \"{}\": {}", day_key.str(), *text, time.error().message));
        continue;
      }
      out.emplace(*day, *time);
    }
  }

  // The checks that need the whole region: sessions or offpeak, and the special days.
  void check_mode(const toml::table& table) {
    const bool has_sessions = table.contains("sessions");
    const bool has_offpeak = table.contains("offpeak");
    if (has_sessions && has_offpeak)
      error(table.get("offpeak")->source(), "",
            "give either \"sessions\" or \"offpeak\", not both");
    if (!has_sessions && !has_offpeak)
      diagnostics_.push_back({Severity::kError, region_.pos, region_.id, "",
                              "give \"sessions\" (trading hours) or \"offpeak\" (explicit "
                              "daily windows)"});
    if (has_offpeak) {
      for (std::string_view key :
           {"early_closes", "late_opens", "offpeak_after_close", "offpeak_before_open"})
        if (const auto* node = table.get(key))
          error(node->source(), key, "applies only to a region with \"sessions\"");
      return;
    }
    if (region_.sessions.empty()) return;
    check_special_days(table, "early_closes", region_.early_closes);
    check_special_days(table, "late_opens", region_.late_opens);
  }

  // Early closes and late opens fall on trading days and shorten them.
  void check_special_days(const toml::table& table, std::string_view key,
                          const std::map<date::local_days, minutes>& days) {
    const auto* days_table = table.get(key) ? table.get(key)->as_table() : nullptr;
    if (!days_table) return;
    const bool is_close = key == "early_closes";
    const auto regular_open = region_.sessions.front().start;
    const auto regular_close = region_.sessions.back().end;
    for (const auto& [day, time] : days) {
      const auto date_text = format_date(day);
      const auto& where = days_table->get(date_text)->source();
      if (!region_.is_trading_day(day)) {
        error(where, key, fmt::format("{} is not a trading day", date_text));
        continue;
      }
      const auto late_open = region_.late_opens.find(day);
      const auto open = late_open != region_.late_opens.end() ? late_open->second : regular_open;
      if (is_close && time >= regular_close)
        error(where, key,
              fmt::format("{}: {} is not before the regular close {}", date_text,
                          format_time_of_day(time), format_time_of_day(regular_close)));
      else if (is_close && time <= open)
        error(where, key,
              fmt::format("{}: {} is not after the open {}", date_text, format_time_of_day(time),
                          format_time_of_day(open)));
      else if (!is_close && time <= regular_open)
        error(where, key,
              fmt::format("{}: {} is not after the regular open {}", date_text,
                          format_time_of_day(time), format_time_of_day(regular_open)));
      else if (!is_close && time >= regular_close)
        error(where, key,
              fmt::format("{}: {} is not before the close {}", date_text, format_time_of_day(time),
                          format_time_of_day(regular_close)));
    }
  }

  const std::string& path_;
  std::vector<Diagnostic>& diagnostics_;
  SourceReader& sources_;
  CalendarFiles& calendars_;
  Region region_;
};

}  // namespace

const Region* Config::find_region(std::string_view id) const {
  for (const Region& region : regions)
    if (region.id == id) return &region;
  return nullptr;
}

std::vector<std::string> Config::regions_like(std::string_view id) const {
  std::vector<std::pair<size_t, std::string>> near;
  for (const Region& region : regions)
    if (const size_t d = config_detail::edit_distance(id, region.id); d <= 2)
      near.emplace_back(d, region.id);
  std::stable_sort(near.begin(), near.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ids;
  for (auto& [distance, name] : near) ids.push_back(std::move(name));
  return ids;
}

std::span<const Source> Config::sources_of(std::string_view id) const {
  const auto found = sources.find(id);
  if (found == sources.end()) return {};
  return found->second;
}

Result<std::string> find_config(std::string_view flag, const char* env) {
  if (!flag.empty()) return std::string(flag);
  if (env && *env) return std::string(env);
  for (const char* candidate : {"regions.toml", "/etc/offpeak/regions.toml"}) {
    // A candidate that cannot be looked at (a directory on its path that may not be searched,
    // a symlink loop) may well be the config meant: say so rather than look further.
    std::error_code error;
    if (std::filesystem::exists(candidate, error)) return std::string(candidate);
    if (error)
      return Error{kExitConfig, fmt::format("{}: cannot read: {}", candidate, error.message())};
  }
  return Error{kExitConfig,
               "no config file: give --config FILE, set OFFPEAK_CONFIG, or create "
               "./regions.toml or /etc/offpeak/regions.toml"};
}

ConfigResult load_config(const std::string& path, RuleYears years) {
  std::error_code ignored;
  int error = std::filesystem::is_directory(path, ignored) ? EISDIR : 0;
  if (!error) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    std::string text;
    // One byte over the limit is enough to refuse it: a config in /dev/zero ends there too.
    if (in) {
      text.resize(kMaxConfigBytes + 1);
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<std::size_t>(in.gcount()));
      if (in.eof()) in.clear(in.rdstate() & ~(std::ios::eofbit | std::ios::failbit));
    }
    if (in.is_open() && !in.bad()) return parse_config(text, path, years);
    error = errno ? errno : EIO;
  }
  ConfigResult result;
  Diagnostic cannot_read;
  cannot_read.pos.file = path;
  cannot_read.message = fmt::format("cannot read: {}", std::strerror(error));
  result.diagnostics.push_back(std::move(cannot_read));
  return result;
}

ConfigResult parse_config(std::string_view text, const std::string& path, RuleYears years) {
  ConfigResult result;
  auto& diagnostics = result.diagnostics;

  if (text.size() > kMaxConfigBytes) {
    diagnostics.push_back(
        {Severity::kError,
         {path, 0, 0},
         "",
         "",
         fmt::format("larger than {} bytes, the most a config may have", kMaxConfigBytes)});
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    diagnostics.push_back({Severity::kError, position(path, e.source()), "", "",
                           fmt::format("malformed TOML: {}", e.description())});
    return result;
  }

  for (auto&& [key, node] : root)
    if (key.str() != "regions" && key.str() != "defaults")
      diagnostics.push_back(
          {Severity::kError, position(path, key.source()), "", "",
           fmt::format("unknown key \"{}\" (expected \"regions\" or \"defaults\")", key.str())});

  const auto* regions = root.get("regions");
  if (!regions || !regions->is_table() || regions->as_table()->empty()) {
    diagnostics.push_back({Severity::kError,
                           {path, regions ? static_cast<int>(regions->source().begin.line) : 0,
                            regions ? static_cast<int>(regions->source().begin.column) : 0},
                           "",
                           "",
                           "no regions; define each as a table, like [regions.xnys]"});
    return result;
  }

  // toml++ keeps tables sorted by key; the file's order is the order of the keys' positions.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : *regions->as_table()) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
  });

  SourceReader sources(path, diagnostics);
  if (const auto* defaults = root.get("defaults")) sources.read_defaults(*defaults);
  CalendarFiles calendars(path, diagnostics, years);
  RegionReader reader(path, diagnostics, sources, calendars);
  for (const auto& [key, node] : entries) {
    const SourcePos pos = position(path, key->source());
    const std::string id(key->str());
    if (const auto problem = id_problem(id)) {
      diagnostics.push_back({Severity::kError, pos, id, "", "a region id " + *problem});
      continue;
    }
    if (!node->is_table()) {
      diagnostics.push_back({Severity::kError, pos, id, "", "must be a table"});
      continue;
    }
    std::vector<Source> region_sources;
    if (auto region = reader.read(*key, *node->as_table(), region_sources)) {
      if (!region_sources.empty()) result.config.sources[id] = std::move(region_sources);
      result.config.regions.push_back(std::move(*region));
    }
  }
  // Names and values from the file (a quoted key may hold a line break) stay on one line.
  for (Diagnostic& d : diagnostics) {
    d.region = one_line(d.region);
    d.key = one_line(d.key);
    d.message = one_line(d.message);
  }
  // In the order of the file, as a person fixing them would read it; calendar files after.
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [&](const auto& a, const auto& b) {
    return std::tuple(a.pos.file != path, a.pos.file, a.pos.line, a.pos.column) <
           std::tuple(b.pos.file != path, b.pos.file, b.pos.line, b.pos.column);
  });
  return result;
}

}  // namespace offpeak
