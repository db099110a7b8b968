// offpeak-plan --timeline: the next days of every region as rows of cells on one UTC axis,
// so a person sees at a glance where the windows fall and how they line up across regions.
// Each cell is a fixed stretch of time, and its character says how much of that stretch is
// off-peak; labels go in the column of the cell that holds their instant, and one that would
// collide with a label already placed is left out, so any cell size stays readable.

#include "timeline.h"

#include <algorithm>
#include <array>

#include <date/date.h>
#include <fmt/format.h>

#include "duration.h"

namespace offpeak {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr size_t kMaxCells = 100;
constexpr std::array<int, 6> kCellMinutes{15, 30, 60, 120, 180, 360};

// Hours between two ticks of the hour line, so that ticks stay at least 4 cells apart.
std::chrono::hours tick_interval(minutes cell) {
  if (cell <= minutes(15)) return std::chrono::hours(3);
  if (cell <= minutes(60)) return std::chrono::hours(6);
  if (cell <= minutes(180)) return std::chrono::hours(12);
  return std::chrono::hours(24);
}

// One line of the picture: a name column, then a column per cell, labels placed with a
// space between them.
class Line {
 public:
  Line(size_t name_width, size_t count)
      : name_width_(name_width), text_(name_width + count, ' '), used_(count, false) {}

  void set_name(std::string_view name) { text_.replace(0, name.size(), name); }

  // Writes `label` from cell `column` when it fits and keeps clear of the labels placed.
  void place(size_t column, std::string_view label) {
    const size_t end = column + label.size();
    if (end > used_.size()) return;
    const size_t first = column == 0 ? 0 : column - 1;
    const size_t last = std::min(end + 1, used_.size());
    if (std::any_of(used_.begin() + first, used_.begin() + last, [](bool u) { return u; })) return;
    std::fill(used_.begin() + column, used_.begin() + end, true);
    text_.replace(name_width_ + column, label.size(), label);
  }

  std::string str() const {
    std::string out = text_;
    out.erase(out.find_last_not_of(' ') + 1);
    return out + '\n';
  }

 private:
  size_t name_width_;
  std::string text_;
  std::vector<bool> used_;
};

std::string format_day(date::sys_days day) {
  const date::year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()));
}

}  // namespace

minutes timeline_cell_size(int days) {
  for (const int m : kCellMinutes)
    if (static_cast<size_t>(days * 24 * 60 / m) <= kMaxCells) return minutes(m);
  return minutes(kCellMinutes.back());
}

std::string timeline_cells(const Region& region, Instant from, minutes cell, size_t count) {
  const Instant to = from + cell * static_cast<int>(count);
  std::vector<seconds> covered(count);
  // Windows never overlap, so each cell's off-peak time is the sum of its overlaps.
  for (const Interval& w : offpeak_windows(region, from, to)) {
    const size_t first = w.start <= from ? 0 : static_cast<size_t>((w.start - from) / cell);
    for (size_t i = first; i < count; ++i) {
      const Instant start = from + cell * static_cast<int>(i);
      if (start >= w.end) break;
      covered[i] += std::min(w.end, start + cell) - std::max(w.start, start);
    }
  }
  std::string cells;
  for (const seconds c : covered) cells += c >= cell ? '#' : c > seconds(0) ? '+' : '.';
  return cells;
}

std::string render_timeline(const std::vector<const Region*>& regions,
                            const TimelineRequest& request) {
  const minutes cell = timeline_cell_size(request.days);
  const size_t count = static_cast<size_t>(request.days * 24 * 60 / cell.count());
  const Instant from = request.from;
  const Instant to = from + date::days(request.days);
  const auto column = [&](Instant t) { return static_cast<size_t>((t - from) / cell); };

  size_t name_width = 3;  // "UTC"
  for (const Region* region : regions) name_width = std::max(name_width, region->id.size());
  name_width += 2;

  // The dates at each midnight, then the first date when it still fits before them.
  Line dates(name_width, count);
  const auto first_day = date::floor<date::days>(from);
  for (auto day = first_day + date::days(1); day < to; day += date::days(1))
    dates.place(column(day), format_day(day));
  dates.place(0, format_day(first_day));

  Line hours(name_width, count);
  hours.set_name("UTC");
  const auto tick = tick_interval(cell);
  for (Instant t = first_day; t < to; t += tick)
    if (t >= from)
      hours.place(column(t), fmt::format("{:02}", (t - first_day).count() / 3600 % 24));

  const bool at_inside = from <= request.at && request.at < to;
  Line above(name_width, count), below(name_width, count);
  if (at_inside) {
    above.place(column(request.at), "v");
    below.place(column(request.at), "^");
  }

  std::string out = dates.str() + hours.str();
  if (at_inside) out += above.str();
  for (const Region* region : regions) {
    Line row(name_width, count);
    row.set_name(region->id);
    row.place(0, timeline_cells(*region, from, cell, count));
    out += row.str();
  }
  if (at_inside) out += below.str();
  const std::string now =
      at_inside ? fmt::format("v now {}", format_rfc3339(request.at))
                : fmt::format("now {} is outside the picture", format_rfc3339(request.at));
  out += fmt::format("# off-peak  + partly off-peak  . not off-peak  {}  cells of {}, times UTC\n",
                     now, format_duration(cell));
  return out;
}

}  // namespace offpeak
