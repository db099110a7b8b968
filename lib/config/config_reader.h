// What config.cc and source_config.cc share in checking regions.toml: how they place and count
// diagnostics, and the reader of [defaults] and [[regions.ID.sources]] that RegionReader calls.

#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace date {
class time_zone;
}

#include "calendar.h"
#include "diagnostics.h"
#include "error.h"
#include "source.h"

namespace offpeak::config_detail {

inline constexpr std::array<std::string_view, 7> kWeekdayNames{"Sun", "Mon", "Tue", "Wed",
                                                               "Thu", "Fri", "Sat"};

// "HH:MM", exactly two digits each. Errors leave naming the text to the caller.
[[nodiscard]] Result<std::chrono::minutes> parse_time_of_day(std::string_view s);

// "HH:MM-HH:MM"; `may_cross_midnight` allows an end before the start.
[[nodiscard]] Result<LocalSpan> parse_span(std::string_view s, bool may_cross_midnight);

// "YYYY-MM-DD", a date that exists.
[[nodiscard]] std::optional<date::local_days> parse_date(std::string_view s);

[[nodiscard]] std::string format_time_of_day(std::chrono::minutes m);
[[nodiscard]] std::string format_date(date::local_days day);

// The IANA zone a `timezone` value names; the error says what is wrong with the value.
[[nodiscard]] Result<const date::time_zone*> lookup_zone(const toml::node& node);

// Where a TOML node starts, for diagnostics.
[[nodiscard]] SourcePos position(const std::string& path, const toml::source_region& source);

[[nodiscard]] size_t count_errors(const std::vector<Diagnostic>& diagnostics);

// A region id or a source name: letters, digits, '-' and '_'.
[[nodiscard]] bool valid_id(std::string_view id);

// Number of single-character edits between a and b, for "did you mean" hints.
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b);

// What is wrong with a region id, completing "a region id ...": characters other than
// valid_id's, a leading '-' (the tools would read it as an option), or more than
// kMaxIdLength characters; nothing when it is good.
[[nodiscard]] std::optional<std::string> id_problem(std::string_view id);

// `text` with each control character escaped (\n, \t, \x01), so a message stays on one line.
[[nodiscard]] std::string one_line(std::string_view text);

// "unknown key" with the nearest known key as a hint.
[[nodiscard]] std::string unknown_key(std::string_view key,
                                      std::span<const std::string_view> known);

// A source's key_names and fields (typed_fields_config.cc), read after its key; `error`
// reports a problem with a key of the source.
using KeyError =
    std::function<void(const toml::source_region& at, std::string_view key, std::string message)>;
void read_typed_fields(const toml::table& table, std::string_view region, Source& source,
                       const KeyError& error);

// Checks [defaults] and [[regions.ID.sources]] tables into Source values. A source starts
// as a copy of the defaults, so each key it sets overrides theirs (headers one by one).
class SourceReader {
 public:
  SourceReader(const std::string& path, std::vector<Diagnostic>& diagnostics)
      : path_(path), diagnostics_(diagnostics) {}

  // [defaults]: the limits, headers and user agent every source inherits.
  void read_defaults(const toml::node& node);

  // The region's `sources` array, appended to `sources`.
  void read_sources(const toml::node& node, const Region& region, std::vector<Source>& sources);

 private:
  std::optional<Source> read_source(const toml::table& table, const Region& region);
  void read_format(const toml::table& table, Source& source);
  void read_url(const toml::table& table, const Region& region, Source& source);
  void read_shape(const toml::table& table, Source& source);
  void read_csv(const toml::table& table, Source& source);
  void read_key(const toml::table& table, Source& source);
  void read_paginate(const toml::table& table, Source& source);
  void read_complete(const toml::table& table, Source& source);
  void check_page_variable(const Source& source, const toml::node& where);
  void read_headers(const toml::node& node, Source& source);
  void check_header_templates(const toml::table& table, const Region& region, const Source& source);
  void read_limits(const toml::table& table, Source& source);
  void read_rule(const toml::table& table, Source& source);
  void read_request(const toml::table& table, Source& source);
  // source_parents.cc: `from` and `emit`, and once the region's sources are read, that each
  // `from` names one of them and no chain of them comes back to where it started.
  void read_parent(const toml::table& table, Source& source);
  void read_include_from_parent(const toml::table& table, Source& source);
  void check_parent_variables(const toml::table& table, const Source& source);
  void check_parents();

  SourcePos pos_of(const toml::source_region& source) const { return position(path_, source); }
  size_t error_count() const { return count_errors(diagnostics_); }

  // A problem with `key` of the current source (or of [defaults]).
  void error(const toml::source_region& at, std::string_view key, std::string message);

  const std::string& path_;
  std::vector<Diagnostic>& diagnostics_;
  Source defaults_;
  std::string region_id_;
  std::string label_;               // "source \"bars\"", or "sources[2]" until its name is known
  std::vector<std::string> names_;  // of the region's sources so far
  // Of the region's sources so far: each `from` (source, parent, where), each emit = false.
  struct ParentRef {
    std::string source, parent, label;
    SourcePos pos;
  };
  std::vector<ParentRef> parents_;
  std::vector<ParentRef> not_emitted_;
};

}  // namespace offpeak::config_detail
