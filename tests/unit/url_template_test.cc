#include <catch2/catch.hpp>

#include <map>

#include "config.h"
#include "url_template.h"

namespace {

using offpeak::TemplateTarget;

offpeak::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

offpeak::TemplateValues values() {
  offpeak::TemplateValues v;
  v.region = "xnys";
  v.source = "bars";
  const auto day = date::local_days{date::year{2026} / 11 / 27};
  v.session = offpeak::Session{day, offpeak::Instant{std::chrono::seconds{1795789800}},
                               offpeak::Instant{std::chrono::seconds{1795802400}}};
  v.page = 3;
  v.cursor = "a b/c";
  return v;
}

}  // namespace

TEST_CASE("variables expand, URL-encoded in URLs and as is in headers") {
  const auto env = env_of({{"KEY", "s3cr&t"}, {"BASE", "https://h.example:8080"}});
  const auto url = offpeak::expand_template(
      "${BASE}/{region}/{session_date}?open={session_open}&ms={session_close_ms}&c={cursor}"
      "&p={page}&k=${KEY}",
      values(), TemplateTarget::kUrl, env);
  REQUIRE(url);
  CHECK(url->text ==
        "https://h.example:8080/xnys/2026-11-27?open=2026-11-27T14%3A30%3A00Z&ms=1795802400000"
        "&c=a%20b%2Fc&p=3&k=s3cr%26t");
  CHECK(url->shown ==
        "***/xnys/2026-11-27?open=2026-11-27T14%3A30%3A00Z&ms=1795802400000&c=a%20b%2Fc&p=3"
        "&k=***");

  const auto header =
      offpeak::expand_template("Bearer ${KEY} {source}", values(), TemplateTarget::kHeader, env);
  REQUIRE(header);
  CHECK(header->text == "Bearer s3cr&t bars");
  CHECK(header->shown == "Bearer *** bars");
}

TEST_CASE("an unset environment variable is an error naming it") {
  const auto out = offpeak::expand_template("https://h/?k=${API_KEY}", values(),
                                            TemplateTarget::kUrl, env_of({}));
  REQUIRE(!out);
  CHECK(out.error().exit == offpeak::kExitConfig);
  CHECK(out.error().message == "environment variable ${API_KEY} is not set");
}

TEST_CASE("a variable without a value for the request is an error") {
  auto v = values();
  v.offset.reset();
  const auto out =
      offpeak::expand_template("https://h/?o={offset}", v, TemplateTarget::kUrl, env_of({}));
  REQUIRE(!out);
  CHECK(out.error().message == "variable {offset} has no value for this request");
}

TEST_CASE("template syntax and names are checked") {
  const std::vector<std::string_view> allowed{"region", "page"};
  CHECK(offpeak::check_template("https://h/{region}/{page}/${X_1}", allowed));
  CHECK(offpeak::check_template("https://h/{regoin}", allowed).error().message ==
        "undefined variable {regoin}; known here: {region}, {page}");
  CHECK(offpeak::check_template("https://h/{region", allowed).error().message ==
        "\"{region\" is not a variable; write {name} or ${ENV_VAR} with letters, digits and _");
  CHECK(offpeak::check_template("https://h/${}", allowed).error().message ==
        "\"${}\" is not a variable; write {name} or ${ENV_VAR} with letters, digits and _");
  CHECK(offpeak::check_template("https://h/{1x}", allowed).error().message ==
        "\"{1x}\" is not a variable; write {name} or ${ENV_VAR} with letters, digits and _");
  // A lone '$' or '}' is literal text.
  CHECK(offpeak::check_template("https://h/$5}", allowed));
}

TEST_CASE("the variables a source may use follow its region and pagination") {
  const auto result = offpeak::parse_config(R"(
[regions.x]
timezone = "UTC"
sessions = ["09:00-17:00"]
[[regions.x.sources]]
name = "a"
url = "https://h/?o={offset}&n={limit}"
key = ["id"]
paginate = { type = "offset", limit = 10 }
)",
                                            "r.toml");
  REQUIRE(result.diagnostics.empty());
  const auto& region = result.config.regions.at(0);
  CHECK(offpeak::template_variables(region, result.config.sources_of(region.id)[0]) ==
        std::vector<std::string_view>{"region", "source", "session_date", "session_open",
                                      "session_close", "session_open_ms", "session_close_ms",
                                      "offset", "limit"});
}

TEST_CASE("a body template keeps JSON's braces and escapes values for its type") {
  const auto env = env_of({{"KEY", "k\"1&2"}});
  const auto json = offpeak::expand_template(R"({"c": "{cursor}", "p": {page}, "k": "${KEY}"})",
                                             values(), TemplateTarget::kJson, env);
  REQUIRE(json);
  CHECK(json->text == R"({"c": "a b/c", "p": 3, "k": "k\"1&2"})");
  CHECK(json->shown == R"({"c": "a b/c", "p": 3, "k": "***"})");
  const auto form =
      offpeak::expand_template("c={cursor}&k=${KEY}", values(), TemplateTarget::kForm, env);
  REQUIRE(form);
  CHECK(form->text == "c=a%20b%2Fc&k=k%221%262");
  // A '{' that starts no variable is text in a body, and a syntax error elsewhere.
  const std::string_view allowed[] = {"page"};
  CHECK(offpeak::check_template(R"({"a": {"b": {page}}})", allowed, true));
  CHECK_FALSE(offpeak::check_template(R"({"a": 1})", allowed));
  const auto undefined = offpeak::check_template(R"({"a": {pages}})", allowed, true);
  REQUIRE_FALSE(undefined);
  CHECK(undefined.error().message == "undefined variable {pages}; known here: {page}");
}

TEST_CASE("{parent.FIELD} names a field of the parent's record, a path with dots") {
  const std::vector<std::string_view> dependent{"region", offpeak::kParentVariable};
  CHECK(offpeak::check_template("h/{parent.symbol}/{parent.meta.id-2}", dependent));
  const std::vector<std::string_view> plain{"region"};
  const auto no_parent = offpeak::check_template("h/{parent.symbol}", plain);
  REQUIRE_FALSE(no_parent);
  CHECK(no_parent.error().message ==
        "undefined variable {parent.symbol} (only a source with \"from\" has a parent); known "
        "here: {region}");
  for (const char* bad : {"h/{parent.}", "h/{parent..id}", "h/{parent.id.}", "h/{parent.a b}"})
    CHECK_FALSE(offpeak::check_template(bad, dependent));

  auto v = values();
  v.parent = {{"symbol", "BF B"}, {"meta.id", "7"}};
  const auto url = offpeak::expand_template("h/{parent.symbol}?id={parent.meta.id}", v,
                                            TemplateTarget::kUrl, env_of({}));
  REQUIRE(url);
  CHECK(url->text == "h/BF%20B?id=7");
  CHECK_FALSE(offpeak::expand_template("h/{parent.other}", v, TemplateTarget::kUrl, env_of({})));
}
