#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace offpeak {

struct Source;

// The line that ends a complete run of a source in offpeak-scrape's output, for offpeak-load
// to mark the rows the run did not return:
//   {"offpeak":"end","region":R,"source":S,"complete":"source","records":N}
//   {"offpeak":"end","region":R,"source":S,"complete":"scope","scope_parts":P,
//    "scopes":[[...],...],"records":N}
// Only sources with `complete` in regions.toml have one.
class SourceEnd {
 public:
  SourceEnd(const Source& source, std::string_view region);

  // Whether the source declares its runs complete.
  [[nodiscard]] bool declared() const;
  // Output lines of the source as written: notes the scopes of their keys.
  void take(std::string_view lines);
  // The end line of a run that wrote `records` records, newline included.
  [[nodiscard]] std::string line(std::uint64_t records) const;

 private:
  const Source& source_;
  std::string prefix_;  // each line's text before its key: {"region":R,"source":S,"key":
  std::string region_json_, source_json_;
  std::set<std::string> scopes_;  // minified, like ["2026-11-27"]
};

}  // namespace offpeak
