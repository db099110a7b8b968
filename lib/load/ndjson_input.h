#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"

namespace offpeak {

// Lines longer than this are bad lines: a parser for them would need about five times the
// line in memory, and the loader keeps its memory bounded.
inline constexpr std::size_t kMaxLineBytes = std::size_t{8} << 20;

// The most bytes region, source and the minified key may take together: the primary key's
// btree holds an entry of at most 2704 bytes (8 KB pages), of which these take all but the
// tuple's headers, alignment and the record's hash. A longer key would fail the whole COPY.
inline constexpr std::size_t kMaxKeyBytes = 2600;

// One line of input, without its newline.
struct InputLine {
  std::string_view text;     // valid until the next read
  std::uint64_t number = 0;  // 1-based
  bool complete = true;      // ended in a newline (false only for the last line of an input)
  bool truncated = false;    // longer than kMaxLineBytes; `text` is its beginning
};

// Splits a file descriptor into lines, reading large blocks. Never holds more than one line
// beyond a block, whatever the input size.
class LineReader {
 public:
  explicit LineReader(int fd);

  // The next line; false at the end of the input or when reading fails (see error()).
  [[nodiscard]] bool next(InputLine& line);
  // Why reading failed (strerror), empty when it did not.
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  [[nodiscard]] bool fill();

  int fd_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  std::uint64_t number_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside the rest of an overlong line
  std::string error_;
};

// What a good line holds. Views into the parser, valid until its next parse.
struct NdjsonRecord {
  std::string_view region;  // unescaped
  std::string_view source;  // unescaped
  std::string_view key;     // the key array, minified JSON
  std::string_view record;  // the record object, minified JSON
  // "fetched_at", unescaped; empty when the line has none or it is null. Checked by the loader.
  std::string_view fetched_at;
};

// Checks lines of offpeak-scrape's output, {"region":R,"source":S,"key":[...],"record":{...}}
// with an optional "fetched_at", as strictly as PostgreSQL will read them: a line that passes
// never fails in the database (no \u0000, numbers numeric holds, a key its index holds).
class LineParser {
 public:
  LineParser();
  ~LineParser();
  LineParser(const LineParser&) = delete;
  LineParser& operator=(const LineParser&) = delete;

  // Sets `out` when the line is good; else an Error (65) says why the line is bad.
  [[nodiscard]] Result<void> parse(const InputLine& line, NdjsonRecord& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks that a JSON number token can be stored in jsonb; an Error (65) says why not.
[[nodiscard]] Result<void> check_jsonb_number(std::string_view token);

// A reject-file line: {"line":N,"reason":"...","text":"..."} with "file" first when the input
// is a named file. Text that is not UTF-8 has each bad byte replaced by U+FFFD in "text", and
// comes in "base64" exactly as read.
[[nodiscard]] std::string reject_json(std::string_view file, const InputLine& line,
                                      std::string_view reason);

}  // namespace offpeak
