// The state behind "once per window": one small file per region naming the last window
// done. A window id names the window whatever instant inside it asks, so a file holding the
// current window's id means "already ran", and any other content simply means a new window
// has opened since. A region never done counts its missed windows from DIR/REGION.since, the
// first tick that saw it, so a fresh install does not start out weeks behind. Writes replace the
// file whole (write_atomically), so a crash leaves the old id or the new one, never half of one.

#include "run_state.h"

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "atomic_file.h"
#include "region_status.h"

namespace offpeak {
namespace {

Error failure(std::string_view what, const std::string& path, int error) {
  return {kExitIoErr, fmt::format("cannot {} {}: {}", what, path, std::strerror(error))};
}

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The content of `path`, open as `fd`, up to its first newline, reading no more than an id
// could need.
Result<std::string> first_line(int fd, const std::string& path) {
  std::string text;
  char buffer[512];
  while (text.find('\n') == std::string::npos && text.size() < 4096) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure("read", path, errno);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text.substr(0, text.find('\n'));
}

}  // namespace

std::string done_path(const std::string& dir, const std::string& region_id) {
  return dir + "/" + region_id + ".done";
}

Result<std::string> read_done(const std::string& dir, const std::string& region_id) {
  const std::string path = done_path(dir, region_id);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::string();
    return failure("read", path, errno);
  }
  return first_line(fd.get(), path);
}

Result<bool> window_done(const std::string& dir, const std::string& region_id,
                         const std::string& window_id) {
  auto record = read_done(dir, region_id);
  if (!record) return std::move(record).error();
  return *record == window_id;
}

Result<void> write_done(const std::string& dir, const std::string& region_id,
                        const std::string& window_id) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return failure("create directory", dir, errno);
  return write_atomically(done_path(dir, region_id), window_id + "\n");
}

Result<void> mark_done(const std::string& dir, const Region& region, Instant at) {
  const RegionStatus status = region_status(region, at);
  if (!status.offpeak || !status.window)
    return Error{kExitDataErr,
                 fmt::format("region \"{}\" is not off-peak at {}: no window to mark done",
                             region.id, format_rfc3339(at))};
  return write_done(dir, region.id, window_id(region, *status.window));
}

Result<Instant> first_seen(const std::string& dir, const std::string& region_id, Instant at) {
  const std::string path = dir + "/" + region_id + ".since";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() >= 0) {
    auto line = first_line(fd.get(), path);
    if (!line) return std::move(line).error();
    if (const auto since = parse_rfc3339(*line)) return *since;
  } else if (errno != ENOENT) {
    return failure("read", path, errno);
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return failure("create directory", dir, errno);
  if (auto written = write_atomically(path, format_rfc3339(at) + "\n"); !written)
    return std::move(written).error();
  return at;
}

RunState run_state(const Region& region, std::string_view done_window_id, Instant at,
                   std::optional<Instant> first_seen) {
  RunState state;
  const RegionStatus status = region_status(region, at);
  state.offpeak = status.offpeak && status.window;
  if (state.offpeak) state.done = done_window_id == window_id(region, *status.window);
  // A window id is REGION@START; anything else in the file records no window.
  const std::string prefix = region.id + "@";
  if (done_window_id.starts_with(prefix))
    state.last_done_start = parse_rfc3339(done_window_id.substr(prefix.size()));
  for (const Interval& window : offpeak_windows(region, at - kMissedWindowsLookback, at)) {
    if (window.end > at) continue;  // the window `at` is in
    if (state.last_done_start ? window.start > *state.last_done_start
                              : !first_seen || window.end > *first_seen)
      ++state.missed_windows;
  }
  return state;
}

Result<MetricsFile> run_state_metrics(const std::vector<const Region*>& regions,
                                      const std::string& dir, Instant at) {
  MetricsFile m;
  m.gauge("offpeak_plan_last_run_timestamp_seconds",
          "The time offpeak-plan planned for (--at, else now), in Unix time.");
  m.gauge("offpeak_plan_offpeak", "1 when the region is in an off-peak window, else 0.");
  m.gauge("offpeak_plan_window_done", "1 when the region's current window is marked done, else 0.");
  m.gauge("offpeak_plan_missed_windows",
          "Off-peak windows that ended since the last one marked done, or since the first "
          "tick when none was (looking back 14 days).");
  m.gauge("offpeak_plan_last_done_window_start_timestamp_seconds",
          "The start of the last window marked done, in Unix time.");
  m.gauge("offpeak_plan_calendar_horizon_timestamp_seconds",
          "The end of the last day the region's calendar is exact for, in Unix time.");
  const auto seconds = [](Instant t) {
    return static_cast<double>(t.time_since_epoch() / std::chrono::seconds{1});
  };
  m.set("offpeak_plan_last_run_timestamp_seconds", {}, seconds(at));
  for (const Region* region : regions) {
    const auto record = read_done(dir, region->id);
    if (!record) return record.error();
    const auto since = first_seen(dir, region->id, at);
    if (!since) return since.error();
    const RunState state = run_state(*region, *record, at, *since);
    const Labels labels = {{"region", region->id}};
    m.set("offpeak_plan_offpeak", labels, state.offpeak ? 1 : 0);
    m.set("offpeak_plan_window_done", labels, state.done ? 1 : 0);
    m.set("offpeak_plan_missed_windows", labels, state.missed_windows);
    if (state.last_done_start)
      m.set("offpeak_plan_last_done_window_start_timestamp_seconds", labels,
            seconds(*state.last_done_start));
    if (const auto horizon = region->horizon())
      m.set("offpeak_plan_calendar_horizon_timestamp_seconds", labels,
            seconds(local_to_instant(*region->zone, *horizon + date::days{1}, {})));
  }
  return m;
}

}  // namespace offpeak
