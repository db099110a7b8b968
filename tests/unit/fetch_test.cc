#include <catch2/catch.hpp>

#include "fetch.h"

using offpeak::FetchError;
using offpeak::HttpResponse;

TEST_CASE("next_link finds rel=next among several links and relation types") {
  CHECK(
      offpeak::next_link(
          R"(<https://a.example/p?page=1>; rel="first", <https://a.example/p?page=3>; rel="next")") ==
      "https://a.example/p?page=3");
  CHECK(offpeak::next_link(R"(</items?after=x,y>; title="a, b"; rel="next last")") ==
        "/items?after=x,y");
  CHECK(offpeak::next_link(R"(<https://a.example/p>; REL=next)") == "https://a.example/p");
  CHECK(offpeak::next_link(R"(<https://a.example/p?page=1>; rel="prev")").empty());
  CHECK(offpeak::next_link(R"(<https://a.example/p>; rel="nextish")").empty());
  CHECK(offpeak::next_link("").empty());
  CHECK(offpeak::next_link("garbage; rel=next").empty());
}

TEST_CASE("resolve_url resolves relative links against the page they came with") {
  CHECK(offpeak::resolve_url("https://api.example.com/v2/aggs?x=1", "/v2/aggs?cursor=abc") ==
        "https://api.example.com/v2/aggs?cursor=abc");
  CHECK(offpeak::resolve_url("https://api.example.com/v2/aggs", "next?p=2") ==
        "https://api.example.com/v2/next?p=2");
  CHECK(offpeak::resolve_url("https://api.example.com/a", "https://other.example/b") ==
        "https://other.example/b");
  CHECK(offpeak::resolve_url("not a url", "/b").empty());
}

TEST_CASE("with_query_param sets one parameter, encoded, replacing an earlier value") {
  CHECK(offpeak::with_query_param("https://a.example/p?limit=5&page=1", "page", "2") ==
        "https://a.example/p?limit=5&page=2");
  CHECK(offpeak::with_query_param("https://a.example/p", "cursor", "a b/c=") ==
        "https://a.example/p?cursor=a%20b%2fc%3d");
  CHECK(offpeak::with_query_param("https://a.example/p?pages=9", "page", "1") ==
        "https://a.example/p?pages=9&page=1");
  CHECK(offpeak::with_query_param("::", "page", "1").empty());
}

TEST_CASE("describe shows the status and the start of what the server said") {
  HttpResponse r;
  r.status = 401;
  r.body = "{\"error\":\n\"Unknown API Key\"}";
  CHECK(offpeak::describe(r) == "HTTP 401: {\"error\": \"Unknown API Key\"}");
  r.body = std::string(300, 'x');
  CHECK(offpeak::describe(r) == "HTTP 401: " + std::string(200, 'x') + "...");
  r.body.clear();
  CHECK(offpeak::describe(r) == "HTTP 401");
  r.error = FetchError::kTooManyRedirects;
  CHECK(offpeak::describe(r) == "more than 5 redirects");
}
