// A strict CSV reader (RFC 4180), written here because none of offpeak's libraries reads
// CSV and the format is small.
//
// The idea: fields are handed out as views into the page, never copied; a quoted field
// keeps its doubled quotes in the view and is undone only when its value is written, so a
// row costs no allocation once the field vector has grown to the row's width.

#include "csv.h"

#include <fmt/format.h>

namespace offpeak {

void append_csv_value(std::string& out, const CsvField& field) {
  if (!field.quoted) {
    out.append(field.raw);
    return;
  }
  for (std::size_t i = 0; i < field.raw.size(); ++i) {
    out += field.raw[i];
    if (field.raw[i] == '"') ++i;  // the second quote of a doubled pair
  }
}

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
}

Result<bool> CsvReader::next_row(std::vector<CsvField>& fields) {
  fields.clear();
  const auto bad = [&](std::string_view what, std::size_t line) {
    return Error{kExitDataErr, fmt::format("line {}: {}", line, what)};
  };
  const std::string_view t = text_;
  // Empty lines are not rows.
  while (pos_ < t.size() && (t[pos_] == '\n' || t.substr(pos_, 2) == "\r\n")) {
    pos_ += t[pos_] == '\n' ? 1 : 2;
    ++line_;
  }
  if (pos_ >= t.size()) return false;
  row_line_ = line_;
  for (;;) {
    CsvField field;
    if (pos_ < t.size() && t[pos_] == '"') {
      const std::size_t start = ++pos_;
      const std::size_t open_line = line_;
      for (;;) {
        if (pos_ >= t.size()) {
          return bad("quoted field not closed", open_line);
        }
        if (t[pos_] == '"') {
          if (pos_ + 1 < t.size() && t[pos_ + 1] == '"') {
            pos_ += 2;
            continue;
          }
          break;
        }
        if (t[pos_] == '\n') ++line_;
        ++pos_;
      }
      field = {t.substr(start, pos_ - start), true};
      ++pos_;  // the closing quote
      if (pos_ < t.size() && t[pos_] != ',' && t[pos_] != '\n' && t.substr(pos_, 2) != "\r\n") {
        return bad("text after the closing quote of a field", line_);
      }
    } else {
      const std::size_t start = pos_;
      while (pos_ < t.size() && t[pos_] != ',' && t[pos_] != '\n' && t.substr(pos_, 2) != "\r\n") {
        if (t[pos_] == '"') {
          return bad("quote inside an unquoted field", line_);
        }
        ++pos_;
      }
      field = {t.substr(start, pos_ - start), false};
    }
    fields.push_back(field);
    if (pos_ >= t.size()) return true;
    if (t[pos_] == ',') {
      ++pos_;
      continue;
    }
    pos_ += t[pos_] == '\n' ? 1 : 2;
    ++line_;
    return true;
  }
}

}  // namespace offpeak
