#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace offpeak {

// The live progress line a tool draws on stderr while a person watches: only on a terminal,
// redrawn at most every `interval`, and erased before any other message and at the end.
class ProgressLine {
 public:
  // Draws nothing unless `enabled` and stderr is a terminal.
  ProgressLine(bool enabled, std::chrono::milliseconds interval);
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Whether show() would draw now: the line is on, and `interval` has passed since the last.
  // Lets a caller skip formatting a line that would not be drawn.
  [[nodiscard]] bool due();

  // Replaces the line with `text`; call after due() said yes.
  void show(std::string_view text);

  // Erases the line, if one is shown.
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace offpeak
