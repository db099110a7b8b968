#pragma once

// What the ledger's statements share: how lists reach the server and times come back.

#include <string>
#include <string_view>
#include <vector>

#include "ledger.h"

namespace offpeak {

// `items` as a PostgreSQL array literal of text, {"a","b"}, each element quoted and escaped:
// a list travels as one parameter and is unnested on the server.
[[nodiscard]] inline std::string pg_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// The windows of `requests` as parameters $1-$5 of the claims' statements: parallel arrays
// of regions, window ids, starts, ends and budgets in seconds.
[[nodiscard]] inline std::vector<std::string> window_arrays(
    const std::vector<WindowRequest>& requests) {
  std::vector<std::string> regions, ids, starts, ends, budgets;
  for (const auto& r : requests) {
    regions.push_back(r.region);
    ids.push_back(r.window_id);
    starts.push_back(r.window_start);
    ends.push_back(r.window_end);
    budgets.push_back(std::to_string(r.budget.count()));
  }
  return {pg_text_array(regions), pg_text_array(ids), pg_text_array(starts), pg_text_array(ends),
          pg_text_array(budgets)};
}

// The SQL of `column` (a timestamptz) as RFC 3339 in UTC, to the second.
[[nodiscard]] inline std::string rfc3339_sql(std::string_view column) {
  return "to_char(" + std::string(column) +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

}  // namespace offpeak
