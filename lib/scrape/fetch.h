#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"

namespace offpeak {

using SteadyTime = std::chrono::steady_clock::time_point;

// One GET or POST, with every limit it must keep.
struct HttpRequest {
  std::string url;
  bool post = false;
  std::string body;                  // of a POST
  std::vector<std::string> headers;  // "Name: value"
  std::string user_agent;
  std::chrono::milliseconds timeout{30000};    // to connect, and the longest time without a byte
  std::chrono::milliseconds time_left{60000};  // the whole transfer, up to the deadline
  std::uint64_t max_bytes = std::uint64_t{256} << 20;  // the decoded body
};

// Why a transfer ended without a whole HTTP response.
enum class FetchError {
  kNone,              // a complete response, whatever its status
  kResolve,           // DNS lookup failed
  kConnect,           // could not connect
  kTimeout,           // connect timeout, stall limit or the deadline's time limit
  kTruncated,         // the connection closed before the body was complete
  kNetwork,           // another transient network failure (reset, empty reply)
  kTooLarge,          // the decoded body went over max_bytes
  kBadEncoding,       // the Content-Encoding could not be decoded
  kRefusedProtocol,   // a URL or redirect to something other than http or https
  kTooManyRedirects,  // more than 5
  kTls,               // certificate or TLS failure
  kOther,             // a malformed URL and everything else
};

struct HttpResponse {
  FetchError error = FetchError::kNone;
  std::string error_text;     // what went wrong, when `error` is set
  long status = 0;            // of the last response when redirected
  std::string body;           // decoded
  std::string link;           // the Link header(s), joined by ", "
  std::string retry_after;    // the Retry-After header
  std::string effective_url;  // after redirects: the base for relative next links
  std::string content_type;   // of the last response, "" when it had none
  std::string etag;           // the ETag header, for a conditional request next time
  std::string last_modified;  // the Last-Modified header, likewise
};

// What identifies a request's answer: its URL, and for a POST its body too.
[[nodiscard]] std::string request_key(const HttpRequest& request);

// The HTTP seam: transfers start, run concurrently and are collected as they finish. The
// scrape driver sees only this, so its paging, retry and deadline logic runs in tests
// against a scripted transport with a virtual clock.
class Transport {
 public:
  struct Done {
    std::uint64_t id;
    HttpResponse response;
  };

  virtual ~Transport() = default;
  virtual void start(std::uint64_t id, HttpRequest request) = 0;
  // Drops a transfer that has not finished; it will not be reported.
  virtual void cancel(std::uint64_t id) = 0;
  // Waits until at least one transfer finished or `until`, and returns those that finished.
  [[nodiscard]] virtual std::vector<Done> wait(SteadyTime until) = 0;
  [[nodiscard]] virtual SteadyTime now() const = 0;
};

// The libcurl transport: one multi handle, so connections are reused across transfers and
// sources, only http and https (also across at most 5 redirects), TLS always verified,
// gzip, deflate and br accepted, and max_bytes counted on the decoded body. A redirect to
// another scheme, host or port gets none of the request's `headers`.
[[nodiscard]] std::unique_ptr<Transport> make_curl_transport();

// "HTTP 404", "connection timed out: ..." and the like, for messages.
[[nodiscard]] std::string describe(const HttpResponse& response);

// The URL of the `rel="next"` link in a Link header value, or "" when there is none.
[[nodiscard]] std::string next_link(std::string_view link_header);

// `ref` resolved against `base` (RFC 3986); "not a valid URL" (exit 65) when either is not.
[[nodiscard]] Result<std::string> resolve_url(const std::string& base, const std::string& ref);

// The password of `url` (https://user:PASSWORD@host/) as written, percent-encoded; "" when
// there is none or `url` is not a URL.
[[nodiscard]] std::string url_password(const std::string& url);

// `text` with its %XX escapes decoded.
[[nodiscard]] std::string percent_decode(std::string_view text);

// `text` percent-encoded: everything but RFC 3986's unreserved characters.
[[nodiscard]] std::string percent_encode(std::string_view text);

// `url` with query parameter `name` set to `value` (percent-encoded), replacing an earlier
// value of it; "not a valid URL" (exit 65) when `url` is not one.
[[nodiscard]] Result<std::string> with_query_param(const std::string& url, std::string_view name,
                                                   std::string_view value);

}  // namespace offpeak
