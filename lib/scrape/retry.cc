// Which failed transfers are worth another attempt, and how long to wait before it.
//
// The idea: a failure is retried only when waiting can change the answer (the network, an
// overloaded or rate-limiting server); everything else is final at once, with the exit
// code that tells cron what kind of trouble it was. Waits grow exponentially with full
// jitter unless the server said how long to wait, in which case it knows best.

#include "retry.h"

#include <algorithm>
#include <charconv>
#include <string>

#include <curl/curl.h>

namespace offpeak {

Verdict judge(const HttpResponse& response) {
  switch (response.error) {
    case FetchError::kNone:
      break;
    case FetchError::kResolve:
    case FetchError::kConnect:
    case FetchError::kTimeout:
    case FetchError::kTruncated:
    case FetchError::kNetwork:
      return {false, true, kExitTempFail};
    case FetchError::kTooLarge:
    case FetchError::kBadEncoding:
      return {false, false, kExitDataErr};
    case FetchError::kRefusedProtocol:
    case FetchError::kTooManyRedirects:
    case FetchError::kTls:
    case FetchError::kOther:
      return {false, false, kExitUnavailable};
  }
  const long s = response.status;
  if (s >= 200 && s < 300) return {true, false, kExitOk};
  if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504)
    return {false, true, kExitTempFail};
  // Other 5xx (501, 505, ...) say the server cannot do this at all; 3xx here is a redirect
  // libcurl did not follow (no Location); 4xx is a request the server refuses for good.
  return {false, false, kExitUnavailable};
}

std::chrono::milliseconds backoff_delay(const Backoff& backoff, int retry,
                                        std::mt19937_64& random) {
  auto ceiling = backoff.base;
  for (int i = 0; i < retry && ceiling < backoff.cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, backoff.cap);
  if (ceiling.count() <= 0) return std::chrono::milliseconds{0};
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(0, ceiling.count());
  return std::chrono::milliseconds{pick(random)};
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, Instant now) {
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    // Anything beyond a day is as good as forever: the deadline comes first.
    if (ec != std::errc{} || seconds > 86400) seconds = 86400;
    return std::chrono::seconds{seconds};
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto wait = std::chrono::sys_seconds{std::chrono::seconds{when}} - now;
  return std::max(std::chrono::milliseconds{0}, std::chrono::milliseconds{wait});
}

}  // namespace offpeak
