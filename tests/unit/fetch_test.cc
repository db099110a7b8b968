#include <catch2/catch.hpp>

#include <string>

#include "fetch.h"

using offpeak::FetchError;
using offpeak::HttpResponse;

namespace {

// The URL, or "error CODE: MESSAGE".
std::string url_of(const offpeak::Result<std::string>& url) {
  if (url) return *url;
  return "error " + std::to_string(url.error().exit) + ": " + url.error().message;
}

}  // namespace

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
  CHECK(
      url_of(offpeak::resolve_url("https://api.example.com/v2/aggs?x=1", "/v2/aggs?cursor=abc")) ==
      "https://api.example.com/v2/aggs?cursor=abc");
  CHECK(url_of(offpeak::resolve_url("https://api.example.com/v2/aggs", "next?p=2")) ==
        "https://api.example.com/v2/next?p=2");
  CHECK(url_of(offpeak::resolve_url("https://api.example.com/a", "https://other.example/b")) ==
        "https://other.example/b");
  CHECK(url_of(offpeak::resolve_url("not a url", "/b")) == "error 65: not a valid URL");
}

TEST_CASE("with_query_param sets one parameter, encoded, replacing an earlier value") {
  CHECK(url_of(offpeak::with_query_param("https://a.example/p?limit=5&page=1", "page", "2")) ==
        "https://a.example/p?limit=5&page=2");
  CHECK(url_of(offpeak::with_query_param("https://a.example/p", "cursor", "a b/c=")) ==
        "https://a.example/p?cursor=a%20b%2fc%3d");
  CHECK(url_of(offpeak::with_query_param("https://a.example/p?pages=9", "page", "1")) ==
        "https://a.example/p?pages=9&page=1");
  CHECK(url_of(offpeak::with_query_param("::", "page", "1")) == "error 65: not a valid URL");
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
