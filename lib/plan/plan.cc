// What offpeak-plan reports: the regions off-peak now, and the windows over a stretch of
// time, as lines for scripts, JSON lines for programs, or tables for people. Everything
// here is computed from the instant it is given, so the same question always gets the same
// answer; the one other input is the state directory, which says which windows already had
// their run (run_state.h).

#include "plan.h"

#include <algorithm>

#include <date/tz.h>
#include <fmt/format.h>

#include "duration.h"
#include "json_text.h"
#include "region_status.h"
#include "run_state.h"

namespace offpeak {
namespace {

using Row = std::vector<std::string>;

// Columns padded to their widest cell, two spaces apart, the last one not padded.
std::string render_table(const std::vector<Row>& rows) {
  std::vector<size_t> widths;
  for (const Row& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
  return out;
}

std::string format_local(const Region& region, Instant t) {
  return date::format("%a %F %T %Z", date::make_zoned(region.zone, t));
}

// `"claim":"sources","sources":[...]` for a region claimed source by source, else nothing.
std::string claim_json(const SourceClaims& source_claims, std::string_view region) {
  const auto found = source_claims.find(region);
  if (found == source_claims.end()) return "";
  std::string names;
  for (const std::string& name : found->second)
    names += (names.empty() ? "" : ",") + json_string(name);
  return fmt::format(",\"claim\":\"sources\",\"sources\":[{}]", names);
}

std::string status_json(const RegionStatus& s, std::optional<bool> done, std::string_view claim) {
  std::string start = "null", end = "null", id = "null";
  if (s.window) {
    start = json_string(format_rfc3339(s.window->start));
    end = json_string(format_rfc3339(s.window->end));
    id = json_string(window_id(*s.region, *s.window));
  }
  return fmt::format(
      "{{\"region\":{},\"timezone\":{},\"offpeak\":{},\"window_start\":{},\"window_end\":{},"
      "\"window_id\":{},\"remaining_seconds\":{},\"budget_seconds\":{}{}{}}}\n",
      json_string(s.region->id), json_string(s.region->zone->name()), s.offpeak, start, end, id,
      s.remaining.count(), s.region->budget.count(),
      done ? fmt::format(",\"done\":{}", *done) : std::string(), claim);
}

Row status_row(const RegionStatus& s, Instant at) {
  if (!s.window) return {s.region->id, s.region->zone->name(), "no", "-", "-", "-"};
  const auto& w = *s.window;
  return {s.region->id,
          s.region->zone->name(),
          s.offpeak ? "yes" : "no",
          format_rfc3339(w.start),
          format_rfc3339(w.end),
          s.offpeak ? format_duration(s.remaining) + " left"
                    : "opens in " + format_duration(w.start - at)};
}

}  // namespace

RegionSelection select_regions(const Config& config, const std::vector<std::string>& ids) {
  RegionSelection selection;
  for (const std::string& id : ids)
    if (!config.find_region(id)) selection.unknown.push_back(id);
  for (const Region& region : config.regions)
    if (ids.empty() || std::find(ids.begin(), ids.end(), region.id) != ids.end())
      selection.regions.push_back(&region);
  return selection;
}

Result<Report> report_now(const std::vector<const Region*>& regions, const NowRequest& request,
                          const SourceClaims& source_claims) {
  Report report;
  std::vector<Row> rows{
      {"REGION", "TIMEZONE", "OFF-PEAK", "WINDOW START (UTC)", "WINDOW END (UTC)", "REMAINING"}};
  if (request.state_dir) rows.front().push_back("DONE");
  for (const Region* region : regions) {
    const RegionStatus status = region_status(*region, request.at);
    const auto needed =
        request.due ? std::max(request.min_remaining, region->budget) : request.min_remaining;
    // Only a current window can be done; the state file is not read for a region not off-peak.
    std::optional<bool> done;
    if (request.state_dir) {
      done = false;
      if (status.offpeak) {
        const auto state =
            window_done(*request.state_dir, region->id, window_id(*region, *status.window));
        if (!state) return state.error();
        done = *state;
      }
    }
    const bool wanted = status.offpeak && status.remaining >= needed && !done.value_or(false);
    report.found |= wanted;
    if (!wanted && !request.all) continue;
    if (request.json) {
      report.text += status_json(status, done, claim_json(source_claims, region->id));
    } else if (request.all) {
      rows.push_back(status_row(status, request.at));
      if (done) rows.back().push_back(!status.offpeak ? "-" : *done ? "yes" : "no");
    } else {
      report.text += region->id + '\n';
    }
  }
  if (request.all && !request.json) report.text = render_table(rows);
  return report;
}

Report report_windows(const std::vector<const Region*>& regions, const WindowsRequest& request) {
  Report report;
  std::vector<Row> rows{
      {"REGION", "START (LOCAL)", "END (LOCAL)", "START (UTC)", "END (UTC)", "LENGTH"}};
  for (const Region* region : regions) {
    for (const Interval& w : offpeak_windows(*region, request.from, request.to)) {
      report.found = true;
      if (request.json) {
        report.text += fmt::format(
            "{{\"region\":{},\"window_start\":{},\"window_end\":{},\"window_id\":{}}}\n",
            json_string(region->id), json_string(format_rfc3339(w.start)),
            json_string(format_rfc3339(w.end)), json_string(window_id(*region, w)));
      } else {
        rows.push_back({region->id, format_local(*region, w.start), format_local(*region, w.end),
                        format_rfc3339(w.start), format_rfc3339(w.end),
                        format_duration(w.end - w.start)});
      }
    }
  }
  if (!request.json && report.found) report.text = render_table(rows);
  return report;
}

namespace {

std::string format_local_time(const Region& region, Instant t) {
  return date::format("%R",
                      date::make_zoned(region.zone, std::chrono::floor<std::chrono::minutes>(t)));
}

std::string session_json(const Region& region, const TradingSession& found) {
  const Session& session = found.session;
  std::string breaks;
  for (const Interval& b : found.breaks)
    breaks += fmt::format("{}{{\"start\":{},\"end\":{}}}", breaks.empty() ? "" : ",",
                          json_string(format_rfc3339(b.start)), json_string(format_rfc3339(b.end)));
  return fmt::format("{{\"region\":{},\"date\":{},\"open\":{},\"close\":{},\"breaks\":[{}]}}\n",
                     json_string(region.id), json_string(date::format("%F", session.day)),
                     json_string(format_rfc3339(session.open)),
                     json_string(format_rfc3339(session.close)), breaks);
}

}  // namespace

Report report_sessions(const std::vector<const Region*>& regions, const WindowsRequest& request) {
  Report report;
  std::vector<Row> rows{{"REGION", "DATE", "OPEN (LOCAL)", "CLOSE (LOCAL)", "OPEN (UTC)",
                         "CLOSE (UTC)", "BREAKS (LOCAL)"}};
  for (const Region* region : regions) {
    for (const TradingSession& found : sessions_between(*region, request.from, request.to)) {
      report.found = true;
      if (request.json) {
        report.text += session_json(*region, found);
        continue;
      }
      const Session& session = found.session;
      std::string breaks;
      for (const Interval& b : found.breaks)
        breaks += (breaks.empty() ? "" : " ") + format_local_time(*region, b.start) + "-" +
                  format_local_time(*region, b.end);
      rows.push_back({region->id, date::format("%a %F", session.day),
                      format_local(*region, session.open), format_local(*region, session.close),
                      format_rfc3339(session.open), format_rfc3339(session.close),
                      breaks.empty() ? "-" : breaks});
    }
  }
  if (!request.json && report.found) report.text = render_table(rows);
  return report;
}

}  // namespace offpeak
