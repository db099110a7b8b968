#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace offpeak {

// Writes `text` to `path` atomically: a temporary ".NAME.XXXXXX" in the same directory, mode
// 0644, synced, renamed over `path`, then the directory synced so that the rename lasts.
// Nothing, or what went wrong.
[[nodiscard]] std::optional<std::string> write_atomically(const std::string& path,
                                                          std::string_view text);

}  // namespace offpeak
