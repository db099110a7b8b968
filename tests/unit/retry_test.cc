#include <catch2/catch.hpp>

#include "retry.h"

using namespace std::chrono_literals;
using offpeak::FetchError;
using offpeak::HttpResponse;

namespace {

offpeak::Verdict status(long code) {
  HttpResponse r;
  r.status = code;
  return offpeak::judge(r);
}

offpeak::Verdict failed(FetchError error) {
  HttpResponse r;
  r.error = error;
  return offpeak::judge(r);
}

}  // namespace

TEST_CASE("2xx is success; 408, 429, 500, 502, 503, 504 retry; other statuses are final") {
  CHECK(status(200).ok);
  CHECK(status(204).ok);
  for (long code : {408, 429, 500, 502, 503, 504}) {
    INFO(code);
    CHECK(status(code).retryable);
    CHECK(status(code).exit == offpeak::kExitTempFail);
  }
  for (long code : {301, 400, 401, 403, 404, 410, 501, 505}) {
    INFO(code);
    CHECK_FALSE(status(code).ok);
    CHECK_FALSE(status(code).retryable);
    CHECK(status(code).exit == offpeak::kExitUnavailable);
  }
}

TEST_CASE("network trouble retries; oversized or undecodable bodies are bad data; refusals final") {
  for (auto e : {FetchError::kResolve, FetchError::kConnect, FetchError::kTimeout,
                 FetchError::kTruncated, FetchError::kNetwork}) {
    CHECK(failed(e).retryable);
    CHECK(failed(e).exit == offpeak::kExitTempFail);
  }
  CHECK(failed(FetchError::kTooLarge).exit == offpeak::kExitDataErr);
  CHECK_FALSE(failed(FetchError::kTooLarge).retryable);
  CHECK(failed(FetchError::kBadEncoding).exit == offpeak::kExitDataErr);
  for (auto e : {FetchError::kRefusedProtocol, FetchError::kTooManyRedirects, FetchError::kTls,
                 FetchError::kOther}) {
    CHECK_FALSE(failed(e).retryable);
    CHECK(failed(e).exit == offpeak::kExitUnavailable);
  }
  // A transport error wins over whatever status came before it.
  HttpResponse r;
  r.status = 200;
  r.error = FetchError::kTruncated;
  CHECK_FALSE(offpeak::judge(r).ok);
}

TEST_CASE("backoff has full jitter under an exponential ceiling capped at 60 s") {
  std::mt19937_64 random(42);
  const offpeak::Backoff backoff;
  for (int retry = 0; retry < 12; ++retry) {
    const auto ceiling = std::min(60000ms, 1000ms * (1 << retry));
    std::chrono::milliseconds low = ceiling, high = 0ms;
    for (int i = 0; i < 2000; ++i) {
      const auto d = offpeak::backoff_delay(backoff, retry, random);
      REQUIRE(d >= 0ms);
      REQUIRE(d <= ceiling);
      low = std::min(low, d);
      high = std::max(high, d);
    }
    INFO(retry);
    // Spread over the whole range, not bunched at the ceiling.
    CHECK(low < ceiling / 10);
    CHECK(high > ceiling * 9 / 10);
  }
  CHECK(offpeak::backoff_delay({0ms, 60000ms}, 3, random) == 0ms);
}

TEST_CASE("Retry-After is delay-seconds or an HTTP date") {
  const auto now = offpeak::Instant{std::chrono::seconds{1445412480}};  // 2015-10-21T07:28:00Z
  CHECK(offpeak::parse_retry_after("120", now) == 120s);
  CHECK(offpeak::parse_retry_after(" 0 ", now) == 0s);
  CHECK(offpeak::parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30s);
  CHECK(offpeak::parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0s);  // past
  CHECK(offpeak::parse_retry_after("99999999999999999999", now) == 86400s);
  CHECK_FALSE(offpeak::parse_retry_after("", now));
  CHECK_FALSE(offpeak::parse_retry_after("-5", now));
  CHECK_FALSE(offpeak::parse_retry_after("soon", now));
}
