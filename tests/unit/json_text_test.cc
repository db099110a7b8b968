#include <catch2/catch.hpp>

#include "json_text.h"

TEST_CASE("json_string escapes what JSON requires and copies the rest") {
  CHECK(offpeak::json_string("") == R"("")");
  CHECK(offpeak::json_string("xnys") == R"("xnys")");
  CHECK(offpeak::json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(offpeak::json_string("line\nnext\r\ttab") == R"("line\nnext\r\ttab")");
  CHECK(offpeak::json_string(std::string_view("\x01\x1f\0", 3)) == R"("\u0001\u001f\u0000")");
  CHECK(offpeak::json_string("Zürich/東京") == "\"Zürich/東京\"");
}
