#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "csv.h"

namespace {

// Every row of `text` as values, or the error that ended the reading.
std::vector<std::vector<std::string>> rows(std::string_view text, std::string* error = nullptr) {
  offpeak::CsvReader reader(text);
  std::vector<offpeak::CsvField> fields;
  std::vector<std::vector<std::string>> out;
  for (;;) {
    const auto read = reader.next_row(fields);
    if (!read) {
      CHECK(read.error().exit == offpeak::kExitDataErr);
      if (error != nullptr) *error = read.error().message;
      return out;
    }
    if (!*read) return out;
    auto& row = out.emplace_back();
    for (const auto& field : fields) offpeak::append_csv_value(row.emplace_back(), field);
  }
}

using Rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("csv reads plain rows ended by LF, CRLF or the end of the text") {
  CHECK(rows("a,b\n1,2\n") == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(rows("a,b\r\n1,2\r\n") == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(rows("a,b\r\n1,2") == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(rows("a,,\n") == Rows{{"a", "", ""}});
  CHECK(rows("") == Rows{});
}

TEST_CASE("csv quoted fields hold commas, doubled quotes and line ends") {
  CHECK(rows("\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n") ==
        Rows{{"a,b", "say \"hi\"", "two\r\nlines"}});
  CHECK(rows("\"\",x") == Rows{{"", "x"}});
}

TEST_CASE("csv drops a byte order mark and skips empty lines") {
  CHECK(rows("\xEF\xBB\xBFname\n\nx\r\n\r\ny\n\n") == Rows{{"name"}, {"x"}, {"y"}});
}

TEST_CASE("csv reports the row line of each row, counting lines inside quotes") {
  offpeak::CsvReader reader("h\n\"a\nb\"\nc\n");
  std::vector<offpeak::CsvField> fields;
  const auto read = [&] {
    const auto row = reader.next_row(fields);
    REQUIRE(row.ok());
    return *row;
  };
  REQUIRE(read());
  CHECK(reader.row_line() == 1);
  REQUIRE(read());
  CHECK(reader.row_line() == 2);
  REQUIRE(read());
  CHECK(reader.row_line() == 4);
  CHECK_FALSE(read());
}

TEST_CASE("csv rejects what RFC 4180 forbids, naming the line") {
  std::string error;
  CHECK(rows("a,b\nx,y\"z\n", &error) == Rows{{"a", "b"}});
  CHECK(error == "line 2: quote inside an unquoted field");
  CHECK(rows("\"ab\"c,d\n", &error).empty());
  CHECK(error == "line 1: text after the closing quote of a field");
  CHECK(rows("a\n\"never\nclosed\n", &error) == Rows{{"a"}});
  CHECK(error == "line 2: quoted field not closed");
}

TEST_CASE("csv dialects: another delimiter and quote, or no quoting at all") {
  const auto dialect_rows = [](std::string_view text, const offpeak::CsvDialect& dialect) {
    offpeak::CsvReader reader(text, dialect);
    std::vector<offpeak::CsvField> fields;
    Rows out;
    for (;;) {
      const auto read = reader.next_row(fields);
      REQUIRE(read.ok());
      if (!*read) return out;
      auto& row = out.emplace_back();
      for (const auto& field : fields)
        offpeak::append_csv_value(row.emplace_back(), field, dialect.quote);
    }
  };
  offpeak::CsvDialect semicolon;
  semicolon.delimiter = ';';
  CHECK(dialect_rows("a;\"b;c\";d,e\n", semicolon) == Rows{{"a", "b;c", "d,e"}});
  offpeak::CsvDialect single;
  single.delimiter = '\t';
  single.quote = '\'';
  CHECK(dialect_rows("'it''s'\t\"x\"\n", single) == Rows{{"it's", "\"x\""}});
  offpeak::CsvDialect unquoted;
  unquoted.delimiter = '|';
  unquoted.quote = '\0';
  CHECK(dialect_rows("\"a|b\"\n", unquoted) == Rows{{"\"a", "b\""}});
}

TEST_CASE("csv skip_lines drops lines before the header and counts them") {
  offpeak::CsvDialect dialect;
  dialect.skip_lines = 2;
  offpeak::CsvReader reader("# one\n# \"two\n h\nx\n", dialect);
  std::vector<offpeak::CsvField> fields;
  const auto row = reader.next_row(fields);
  REQUIRE(row.ok());
  REQUIRE(*row);
  CHECK(reader.row_line() == 3);
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].raw == " h");
}

TEST_CASE("csv numbers: a decimal comma becomes a point, empty is null, the rest refused") {
  // What append_csv_number appends after "x", or "refused" when it leaves "x" as it was.
  const auto number = [](std::string_view value, char decimal) {
    std::string out("x");
    if (!offpeak::append_csv_number(out, value, decimal)) return out == "x" ? "refused" : out;
    return out.substr(1);
  };
  CHECK(number("227,05", ',') == "227.05");
  CHECK(number("-1.5e3", '.') == "-1.5e3");
  CHECK(number("", ',') == "null");
  CHECK(number("1.229,00", ',') == "refused");
  CHECK(number("229,00", '.') == "refused");
  CHECK(number("n/a", '.') == "refused");
  CHECK(number("012", '.') == "refused");
}
