// The live progress line: "\r\033[K" returns to the start of the line and erases it, so each
// redraw replaces the last and clear() leaves the terminal as it was.

#include "progress_line.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace offpeak {

ProgressLine::ProgressLine(bool enabled, std::chrono::milliseconds interval)
    : enabled_(enabled && isatty(STDERR_FILENO) == 1), interval_(interval) {}

bool ProgressLine::due() {
  if (!enabled_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < interval_) return false;
  last_ = now;
  return true;
}

void ProgressLine::show(std::string_view text) {
  const std::string line = "\r\033[K" + std::string(text);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace offpeak
