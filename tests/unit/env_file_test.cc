#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "env_file.h"
#include "temp_dir.h"

namespace {

std::map<std::string, std::string> values(const char* text) {
  const auto file = offpeak::parse_env_file(text, "offpeak.env");
  return {file.values.begin(), file.values.end()};
}

}  // namespace

// The cases of tests/cron/run.py's env file, which systemd's own parser reads the same way.
TEST_CASE("env files read as systemd reads EnvironmentFile=") {
  CHECK(values("DATABASE_URL=postgresql://h/db?sslmode=disable&application_name=offpeak\n") ==
        std::map<std::string, std::string>{
            {"DATABASE_URL", "postgresql://h/db?sslmode=disable&application_name=offpeak"}});
  CHECK(values("SPACED = a value with  inner spaces   \n")["SPACED"] ==
        "a value with  inner spaces");
  CHECK(values("HASHED=abc#def # not a comment\n")["HASHED"] == "abc#def # not a comment");
  CHECK(values("EQUALS=a=b=c")["EQUALS"] == "a=b=c");
  CHECK(values("SINGLE='single quoted  # kept'\n")["SINGLE"] == "single quoted  # kept");
  CHECK(values(R"(DOUBLE="double \"quoted\" \\ back \n")")["DOUBLE"] ==
        R"(double "quoted" \ back \n)");
  CHECK(values(R"(MIXED=pre"quoted part"'and more')")["MIXED"] == R"(pre"quoted part"'and more')");
  CHECK(values("JOINED=\"a\" 'b'\n")["JOINED"] == "ab");
  CHECK(values(R"(ESCAPED=a\ b\#c)")["ESCAPED"] == "a b#c");
  CHECK(values("CONTINUED=one\\\ntwo\n")["CONTINUED"] == "onetwo");
  CHECK(values("EMPTY=\n") == std::map<std::string, std::string>{{"EMPTY", ""}});
  CHECK(values("# A=1\n; B=2\n   \nno equals sign\nC=3").size() == 1);
}

TEST_CASE("an env file's invalid names are warned about and left out") {
  const auto file = offpeak::parse_env_file("A=1\nnot a name=2\n1X=3\n", "offpeak.env");
  CHECK(file.values.size() == 1);
  REQUIRE(file.warnings.size() == 2);
  CHECK(offpeak::format_diagnostic("t", file.warnings[0]) ==
        "t: warning: offpeak.env:2: \"not a name\" is no variable name: ignored");
}

TEST_CASE("an env file that cannot be read is a config error naming it") {
  TempDir dir;
  const auto missing = offpeak::read_env_file(dir.str() + "/missing.env");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().exit == offpeak::kExitConfig);
  CHECK(missing.error().message ==
        "--env-file: cannot read " + dir.str() + "/missing.env: No such file or directory");
}
