// Rate limits shared across sources: a vendor's quota holds however many sources use it.
//
// The idea: a limit is a spacing between request starts, kept per host or vendor key, not
// per source, so three sources of one vendor at "5/s" make five requests a second in all.
// The driver asks next() before it starts a request and delays the request's slot to that
// time when it is later; a 429 from any source of the key doubles the spacing for all of
// them and holds them back until the server's Retry-After.

#include "rate_limit.h"

#include <algorithm>

namespace offpeak {
namespace {

constexpr std::chrono::nanoseconds kSlowest = std::chrono::minutes(1);

}  // namespace

std::string url_host(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string host(rest);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

RateLimits::RateLimits(const std::vector<const Source*>& sources,
                       const std::vector<std::string>& keys) {
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto interval = sources[i]->rate_interval;
    if (interval.count() == 0 || keys[i].empty()) continue;
    auto [it, added] = limits_.try_emplace(keys[i], Limit{interval, {}});
    if (!added) it->second.interval = std::max(it->second.interval, interval);
  }
  // A source without a rate_limit of its own still keeps the limit of its host or key.
  for (const std::string& key : keys) keys_.push_back(limits_.contains(key) ? key : "");
}

SteadyTime RateLimits::next(std::size_t index, SteadyTime now) const {
  const auto it = limits_.find(keys_[index]);
  return it == limits_.end() ? now : std::max(now, it->second.next);
}

void RateLimits::take(std::size_t index, SteadyTime now) {
  const auto it = limits_.find(keys_[index]);
  if (it == limits_.end()) return;
  Limit& limit = it->second;
  limit.next =
      std::max(now, limit.next) + std::chrono::duration_cast<SteadyTime::duration>(limit.interval);
}

std::chrono::nanoseconds RateLimits::slow_down(std::size_t index, SteadyTime until) {
  const auto it = limits_.find(keys_[index]);
  if (it == limits_.end()) return std::chrono::nanoseconds{0};
  Limit& limit = it->second;
  limit.interval = std::min(limit.interval * 2, std::max(limit.interval, kSlowest));
  limit.next = std::max(limit.next, until);
  return limit.interval;
}

const std::string& RateLimits::key_of(std::size_t index) const { return keys_[index]; }

}  // namespace offpeak
