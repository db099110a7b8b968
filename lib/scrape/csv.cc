// A strict CSV reader (RFC 4180) with the dialects spreadsheets export (a ';' or tab
// delimiter, another quote, lines before the header, a decimal comma), written here because
// none of offpeak's libraries reads CSV and the format is small.
//
// The idea: fields are handed out as views into the page, never copied; a quoted field
// keeps its doubled quotes in the view and is undone only when its value is written, so a
// row costs no allocation once the field vector has grown to the row's width.

#include "csv.h"

#include <fmt/format.h>

#include "json_check.h"

namespace offpeak {

void append_csv_value(std::string& out, const CsvField& field, char quote) {
  if (!field.quoted) {
    out.append(field.raw);
    return;
  }
  for (std::size_t i = 0; i < field.raw.size(); ++i) {
    out += field.raw[i];
    if (field.raw[i] == quote) ++i;  // the second quote of a doubled pair
  }
}

bool append_csv_number(std::string& out, std::string_view value, char decimal) {
  if (value.empty()) {
    out += "null";
    return true;
  }
  const std::size_t start = out.size();
  // With a decimal comma, a '.' is a thousands mark or a mistake: not a number either way.
  const bool foreign_point = decimal != '.' && value.find('.') != std::string_view::npos;
  for (const char c : value) out += c == decimal ? '.' : c;
  if (!foreign_point && check_json_number(std::string_view(out).substr(start)).ok()) return true;
  out.resize(start);
  return false;
}

CsvReader::CsvReader(std::string_view text, const CsvDialect& dialect)
    : text_(text), delimiter_(dialect.delimiter), quote_(dialect.quote) {
  if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
  for (std::int64_t skipped = 0; skipped < dialect.skip_lines && pos_ < text_.size(); ++skipped) {
    const std::size_t end = text_.find('\n', pos_);
    pos_ = end == std::string_view::npos ? text_.size() : end + 1;
    ++line_;
  }
}

Result<bool> CsvReader::next_row(std::vector<CsvField>& fields) {
  fields.clear();
  const auto bad = [&](std::string_view what, std::size_t line) {
    return Error{kExitDataErr, fmt::format("line {}: {}", line, what)};
  };
  const std::string_view t = text_;
  const char quote = quote_;
  const char delimiter = delimiter_;
  // Empty lines are not rows.
  while (pos_ < t.size() && (t[pos_] == '\n' || t.substr(pos_, 2) == "\r\n")) {
    pos_ += t[pos_] == '\n' ? 1 : 2;
    ++line_;
  }
  if (pos_ >= t.size()) return false;
  row_line_ = line_;
  for (;;) {
    CsvField field;
    if (quote != '\0' && pos_ < t.size() && t[pos_] == quote) {
      const std::size_t start = ++pos_;
      const std::size_t open_line = line_;
      for (;;) {
        if (pos_ >= t.size()) {
          return bad("quoted field not closed", open_line);
        }
        if (t[pos_] == quote) {
          if (pos_ + 1 < t.size() && t[pos_ + 1] == quote) {
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
      if (pos_ < t.size() && t[pos_] != delimiter && t[pos_] != '\n' &&
          t.substr(pos_, 2) != "\r\n") {
        return bad("text after the closing quote of a field", line_);
      }
    } else {
      const std::size_t start = pos_;
      while (pos_ < t.size() && t[pos_] != delimiter && t[pos_] != '\n' &&
             t.substr(pos_, 2) != "\r\n") {
        if (quote != '\0' && t[pos_] == quote) {
          return bad("quote inside an unquoted field", line_);
        }
        ++pos_;
      }
      field = {t.substr(start, pos_ - start), false};
    }
    fields.push_back(field);
    if (pos_ >= t.size()) return true;
    if (t[pos_] == delimiter) {
      ++pos_;
      continue;
    }
    pos_ += t[pos_] == '\n' ? 1 : 2;
    ++line_;
    return true;
  }
}

}  // namespace offpeak
