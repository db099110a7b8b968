#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "source.h"

namespace offpeak {

// One field of a CSV row, pointing into the text it was read from. A quoted field's `raw`
// is the text between its quotes, with each `"` still doubled; append_csv_value undoes that.
struct CsvField {
  std::string_view raw;
  bool quoted = false;
};

// Appends the field's value to `out`; `quote` is the dialect's quote character.
void append_csv_value(std::string& out, const CsvField& field, char quote = '"');

// Appends the field's value to `out` as a JSON number, its `decimal` mark made a '.', or
// null for an empty field: false (and `out` as it was) when the value is not a number.
[[nodiscard]] bool append_csv_number(std::string& out, std::string_view value, char decimal);

// Reads CSV (RFC 4180) a row at a time, without copying. Strict where the RFC is: a quote
// inside an unquoted field, text after a closing quote and an unclosed quote are errors.
// Lenient where files commonly differ: rows may end in "\n" as well as "\r\n", the last row
// needs no line end, empty lines are not rows, and a leading UTF-8 byte order mark is dropped.
// The dialect's delimiter and quote replace RFC 4180's ',' and '"' (a quote of '\0' quotes
// nothing), and its first `skip_lines` lines are not read.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text, const CsvDialect& dialect = {});

  // Reads the next row into `fields`: true, or false at the end of the text, or why the
  // text is not CSV (`line 3: quote inside an unquoted field`, exit 65).
  [[nodiscard]] Result<bool> next_row(std::vector<CsvField>& fields);

  // The 1-based line on which the row last read starts.
  [[nodiscard]] std::size_t row_line() const { return row_line_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t row_line_ = 0;
  char delimiter_ = ',';
  char quote_ = '"';
};

}  // namespace offpeak
