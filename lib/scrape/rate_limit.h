#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fetch.h"
#include "source.h"

namespace offpeak {

// The host of `url` ("api.polygon.io", with its port when it names one), or "" when it has
// none: the key sources share a rate limit by when they give no rate_limit_key.
[[nodiscard]] std::string url_host(std::string_view url);

// The rate limits of a run, one per host or vendor key, shared by every source that names
// it: requests start no closer together than the strictest interval any of those sources
// asks for, and a 429 from any of them slows the limit for all.
class RateLimits {
 public:
  // `keys[i]` is the limit key of `sources[i]`: its rate_limit_key, else its url's host.
  RateLimits(const std::vector<const Source*>& sources, const std::vector<std::string>& keys);

  // When source `index` may start a request at `now` or after: `now`, or later. A request
  // that starts must take() its turn.
  [[nodiscard]] SteadyTime next(std::size_t index, SteadyTime now) const;
  void take(std::size_t index, SteadyTime now);

  // A 429 for source `index`: its limit's interval doubles (up to a minute) and no request
  // of it starts before `until`. The new interval, or zero when the source has no limit.
  std::chrono::nanoseconds slow_down(std::size_t index, SteadyTime until);

  // The key of source `index`'s limit, or "" when it has none.
  [[nodiscard]] const std::string& key_of(std::size_t index) const;

 private:
  struct Limit {
    std::chrono::nanoseconds interval{0};
    SteadyTime next{};
  };
  std::map<std::string, Limit, std::less<>> limits_;
  std::vector<std::string> keys_;  // per source; "" for none
};

}  // namespace offpeak
