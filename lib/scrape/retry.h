#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "diagnostics.h"
#include "fetch.h"
#include "timestamp.h"

namespace offpeak {

// What a finished transfer means for its source.
struct Verdict {
  bool ok = false;          // a 2xx response with its whole body
  bool retryable = false;   // worth another attempt: network trouble, 408, 429, 500, 502-504
  ExitCode exit = kExitOk;  // when it is the last word: 75, 65 or 69
};

[[nodiscard]] Verdict judge(const HttpResponse& response);

struct Backoff {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{60000};
};

// The wait before retry number `retry` (0 for the first), with full jitter: uniform in
// [0, min(cap, base * 2^retry)], so clients that failed together spread out.
[[nodiscard]] std::chrono::milliseconds backoff_delay(const Backoff& backoff, int retry,
                                                      std::mt19937_64& random);

// A Retry-After value (delay-seconds or an HTTP date, RFC 9110 10.2.3) as a wait from
// `now`; nothing when it is neither. A date in the past is no wait.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                                         Instant now);

}  // namespace offpeak
