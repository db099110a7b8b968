#include <catch2/catch.hpp>

#include "config.h"

namespace {

std::vector<std::string> messages(const offpeak::ConfigResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(offpeak::format_diagnostic("t", d));
  return out;
}

offpeak::ConfigResult parse(std::string_view source) {
  return offpeak::parse_config(std::string(R"(
[regions.x]
timezone = "America/New_York"
sessions = ["09:30-16:00"]

[[regions.x.sources]]
name = "bars"
url = "https://e.example/b"
)") + std::string(source),
                               "r.toml");
}

}  // namespace

TEST_CASE("typed fields: a type name, or a table with at, type, format and decimal") {
  const auto result = parse(R"(key = ["symbol", "/d/day"]
fields = { close = "numeric", ts = { at = "/t", type = "timestamptz", format = "epoch_ms" }, "a/b" = "double precision", px = { type = "numeric", decimal = "," } }
)");
  REQUIRE(messages(result).empty());
  const auto& typed = result.config.sources_of("x")[0].typed;
  CHECK(typed.key_names == std::vector<std::string>{"symbol", "day"});
  REQUIRE(typed.fields.size() == 4);
  // In name order, as the view's columns.
  CHECK(typed.fields[0].name == "a/b");
  CHECK(typed.fields[0].at == "/a~1b");
  CHECK(typed.fields[0].type == offpeak::FieldType::kDouble);
  CHECK(typed.fields[1].name == "close");
  CHECK(typed.fields[1].at == "/close");
  CHECK(typed.fields[1].type == offpeak::FieldType::kNumeric);
  CHECK_FALSE(typed.fields[1].decimal_comma);
  CHECK(typed.fields[2].name == "px");
  CHECK(typed.fields[2].decimal_comma);
  CHECK(typed.fields[3].name == "ts");
  CHECK(typed.fields[3].at == "/t");
  CHECK(typed.fields[3].type == offpeak::FieldType::kTimestamptz);
  CHECK(typed.fields[3].format == offpeak::TimeFormat::kEpochMillis);
}

TEST_CASE("typed fields: key_names alone make a view; neither, none") {
  auto result = parse("key = [\"/s\"]\nkey_names = [\"symbol\"]\n");
  REQUIRE(messages(result).empty());
  CHECK(result.config.sources_of("x")[0].typed.key_names == std::vector<std::string>{"symbol"});
  result = parse("key = [\"/s\"]\n");
  REQUIRE(messages(result).empty());
  CHECK(result.config.sources_of("x")[0].typed.key_names.empty());
}

TEST_CASE("typed fields' problems name the field, with the valid values") {
  const auto result = parse(R"(key = ["symbol", "date"]
key_names = ["symbol"]
fields = { a = "numerc", b = { type = "timestamptz", format = "epoch_us" }, c = { at = "c", type = "text" }, d = { type = "bigint", decimal = "," }, e = { typ = "text" }, fetched_at = "text", f = 3 }
)");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:10:13: region \"x\": source \"bars\": key_names: must be an array "
            "of 2 names, one for each part of \"key\"",
            "t: error: r.toml:11:16: region \"x\": source \"bars\": fields.a: the type must be "
            "one of \"text\", \"numeric\", \"bigint\", \"integer\", \"double precision\", "
            "\"boolean\", \"date\" or \"timestamptz\"; did you mean \"numeric\"?",
            "t: error: r.toml:11:63: region \"x\": source \"bars\": fields.b: \"format\" must "
            "be one of \"rfc3339\", \"epoch_s\" or \"epoch_ms\"; did you mean \"epoch_s\"?",
            "t: error: r.toml:11:88: region \"x\": source \"bars\": fields.c: \"at\" must be a "
            "JSON pointer into the record, like \"/close\" or \"/quote/bid\"",
            "t: error: r.toml:11:143: region \"x\": source \"bars\": fields.d: \"decimal\" "
            "applies only to types \"numeric\" and \"double precision\"",
            "t: error: r.toml:11:154: region \"x\": source \"bars\": fields.e: needs \"type\", "
            "one of \"text\", \"numeric\", \"bigint\", \"integer\", \"double precision\", "
            "\"boolean\", \"date\" or \"timestamptz\"",
            "t: error: r.toml:11:156: region \"x\": source \"bars\": fields.e: unknown key "
            "\"typ\"; did you mean \"type\"?",
            "t: error: r.toml:11:185: region \"x\": source \"bars\": fields.fetched_at: "
            "\"fetched_at\" is a column every view has: \"deleted_at\", \"fetched_at\" or "
            "\"changed_at\"",
            "t: error: r.toml:11:197: region \"x\": source \"bars\": fields.f: the type must be "
            "one of \"text\", \"numeric\", \"bigint\", \"integer\", \"double precision\", "
            "\"boolean\", \"date\" or \"timestamptz\""});
}

TEST_CASE("typed fields: a column name is used once") {
  const auto result = parse(R"(key = ["symbol"]
fields = { symbol = "text" }
)");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:10:21: region \"x\": source \"bars\": fields.symbol: "
            "\"symbol\" names two columns of the view"});
}
