#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "timestamp.h"

namespace offpeak {

struct Source;

// The records of one page, already written out as offpeak-scrape's output lines:
// {"region":R,"source":S,"key":[...],"fetched_at":"...Z","record":{...}}
struct PageRecords {
  std::string lines;        // whole lines, each ending in '\n'
  std::size_t found = 0;    // records on the page, written or skipped (for page/offset stops)
  std::size_t written = 0;  // lines in `lines`
  std::vector<std::string> skipped;  // one message per record left out, e.g. a missing key field
  // kJsonLink: the next page's URL; kCursor: the next cursor (a number as its digits).
  // Absent when the pointer is missing, null or "".
  std::optional<std::string> next;
};

// The bytes extract() appends to a body for the JSON parser (and takes off again); a body
// read into a string with this much spare capacity is never copied.
inline constexpr std::size_t kBodyPadding = 64;

// Turns page bodies of one source into output lines. Keeps its parser between pages.
class RecordExtractor {
 public:
  RecordExtractor(const Source& source, std::string_view region);
  ~RecordExtractor();
  RecordExtractor(const RecordExtractor&) = delete;
  RecordExtractor& operator=(const RecordExtractor&) = delete;

  // The page's records, or why the body is not data of the configured shape (exit 65).
  // `body` is the decoded page. It is grown by kBodyPadding while parsing and is as it was
  // on return, but for its capacity. `parent`: a dependent source's include_from_parent
  // values (JSON), in its order, which each record gets as members; a record that has such a
  // member already is an error.
  [[nodiscard]] Result<PageRecords> extract(std::string& body, Instant fetched_at,
                                            std::span<const std::string> parent = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace offpeak
