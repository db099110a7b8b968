#pragma once

#include <string>
#include <string_view>

#include "error.h"

namespace offpeak {

// Writes `text` to `path` atomically: a temporary ".NAME.XXXXXX" in the same directory, mode
// `mode` (0644 unless given), synced, renamed over `path`, then the directory synced so that the
// rename lasts. Anything at `path` that is not a regular file (a symlink, a device, a FIFO) is left
// alone: an Error (74). An Error (74) says what went wrong; the old file is then as it was.
[[nodiscard]] Result<void> write_atomically(const std::string& path, std::string_view text,
                                            unsigned mode = 0644);

}  // namespace offpeak
