#include <catch2/catch.hpp>

#include <string>

#include "json_check.h"

namespace {

// The number's parts as "-int.frac e-exp", or the error's exit code and message.
std::string number(std::string_view token) {
  const auto n = offpeak::check_json_number(token);
  if (!n) return std::to_string(n.error().exit) + " " + n.error().message;
  return std::string(n->negative ? "-" : "") + std::string(n->integer) + "." +
         std::string(n->fraction) + " e" + (n->negative_exponent ? "-" : "") +
         std::string(n->exponent);
}

}  // namespace

TEST_CASE("json_check: numbers follow RFC 8259's grammar, any number of digits") {
  CHECK(number("0") == "0. e");
  CHECK(number("-0") == "-0. e");
  CHECK(number("12.50") == "12.50 e");
  CHECK(number("-1.5E+10") == "-1.5 e10");
  CHECK(number("1e-007") == "1. e-007");
  CHECK(number("123456789012345678901234567890") == "123456789012345678901234567890. e");
  for (const char* bad :
       {"", "01", "-01", "1.", ".5", "-", "1e", "1e+", "+1", "1.2.3", "0x10", "1 ", "NaN"})
    CHECK(number(bad) == std::string("65 invalid number ") + bad);
  CHECK(number("1" + std::string(50, 'x')) == "65 invalid number 1" + std::string(39, 'x'));
}

TEST_CASE("json_check: string tokens need their quotes and valid escapes") {
  using offpeak::is_json_string_token;
  for (const char* good :
       {R"("")", R"("abc")", R"("a\"b")", R"("\\")", R"("\/\b\f\n\r\t")", R"("\u00e9\uD83D")"})
    CHECK(is_json_string_token(good));
  for (const char* bad :
       {R"()", R"(")", R"(abc)", R"("a\q")", R"("\u12")", R"("\u12g4")", R"("a\")"})
    CHECK_FALSE(is_json_string_token(bad));
}

TEST_CASE("json_check: a value may be 1024 levels deep, as simdjson's DOM parser allows") {
  CHECK(offpeak::kMaxJsonDepth == 1024);
  CHECK(offpeak::check_json_depth(1).ok());
  CHECK(offpeak::check_json_depth(1024).ok());
  CHECK_FALSE(offpeak::json_too_deep(1024));
  CHECK(offpeak::json_too_deep(1025));
  const auto deep = offpeak::check_json_depth(1025);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().exit == offpeak::kExitDataErr);
  CHECK(deep.error().message == "nested deeper than 1024 levels");
}

TEST_CASE("json_check: trailing JSON whitespace is trimmed, nothing else") {
  CHECK(offpeak::trim_json_space("12 \t\r\n") == "12");
  CHECK(offpeak::trim_json_space(" 12") == " 12");
  CHECK(offpeak::trim_json_space("12\v") == "12\v");
  CHECK(offpeak::trim_json_space("") == "");
}
