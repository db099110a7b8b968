#pragma once

#include <cstdint>
#include <string>

namespace offpeak {

// What became of the input lines;
// lines = inserted + updated + unchanged + duplicates + stale + rejected.
struct LoadCounts {
  std::uint64_t lines = 0;
  std::uint64_t inserted = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t duplicates = 0;  // lines whose key a newer line of the input replaces
  std::uint64_t stale = 0;       // lines older (by fetched_at) than their key's row: not written
  std::uint64_t rejected = 0;
  std::uint64_t bytes = 0;    // input read so far, for progress
  std::uint64_t deleted = 0;  // rows a complete run left out, marked deleted: not lines
};

// What became of the lines of one (region, source) of the input. Bad lines count under
// region "" and source "": what they say cannot be trusted.
struct PairCounts {
  std::string region;
  std::string source;
  LoadCounts counts;      // without bytes
  bool complete = false;  // an end line declared the pair's run complete
};

}  // namespace offpeak
