// HTTP transfers over libcurl's multi interface, and the URL helpers paging needs.
//
// The idea: one multi handle runs every transfer of the run on one thread, so sources and
// fetched-ahead pages proceed concurrently and share libcurl's connection cache. Each limit
// is enforced where libcurl can see it: the protocol list in the easy handle, the stall limit as
// libcurl's low-speed check, and max_bytes in the write callback, which receives the body after
// Content-Encoding is decoded, so a small compressed body that inflates without end is stopped at
// the limit, not after it. Redirects are followed by the transport itself, so that each one's URL
// decides whether the configured headers (API keys) go along: only to the scheme, host and port
// they were configured for.

#include "fetch.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace offpeak {
namespace {

// Larger bodies grow as they arrive: a lying Content-Length reserves no more than this.
constexpr std::uint64_t kMaxReserve = std::uint64_t{16} << 20;
constexpr int kMaxRedirects = 5;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// libcurl's URL parser, freed on every path.
struct Url {
  CURLU* h = curl_url();
  ~Url() { curl_url_cleanup(h); }
  Url() = default;
  Url(const Url&) = delete;
  Url& operator=(const Url&) = delete;

  std::string get(CURLUPart part, unsigned flags = 0) const {
    char* out = nullptr;
    if (curl_url_get(h, part, &out, flags) != CURLUE_OK) return "";
    std::string s = out;
    curl_free(out);
    return s;
  }
};

// "scheme://host:port", the port given even when it is the scheme's default; "" when `url`
// is not a URL. Configured headers go only to the origin they were written for.
std::string origin_of(const std::string& url) {
  Url u;
  if (curl_url_set(u.h, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  std::string host = u.get(CURLUPART_HOST);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return u.get(CURLUPART_SCHEME) + "://" + host + ":" + u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

// `next` with the user and password of `first` when it has none itself: as libcurl does, a
// redirect within the origin keeps the credentials written into the first URL.
std::string with_credentials_of(const std::string& first, const std::string& next) {
  Url from, to;
  if (curl_url_set(from.h, CURLUPART_URL, first.c_str(), 0) != CURLUE_OK ||
      curl_url_set(to.h, CURLUPART_URL, next.c_str(), 0) != CURLUE_OK)
    return next;
  const std::string user = from.get(CURLUPART_USER);
  if (user.empty() || !to.get(CURLUPART_USER).empty()) return next;
  const std::string password = from.get(CURLUPART_PASSWORD);
  curl_url_set(to.h, CURLUPART_USER, user.c_str(), 0);
  if (!password.empty()) curl_url_set(to.h, CURLUPART_PASSWORD, password.c_str(), 0);
  return to.get(CURLUPART_URL);
}

struct Transfer {
  std::uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::uint64_t max_bytes = 0;
  bool post = false;   // until a redirect turns it into a GET
  std::string body;    // of a POST, which libcurl reads from here while it sends
  std::string url;     // the request's, before any redirect
  std::string origin;  // of `url`
  int redirects = 0;
  SteadyTime deadline;  // of the whole chain of redirects
  bool too_large = false;
  bool reserved = false;
  char error[CURL_ERROR_SIZE] = {};
  HttpResponse response;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string& body = t->response.body;
  if (body.size() + n > t->max_bytes) {
    t->too_large = true;
    return CURL_WRITEFUNC_ERROR;
  }
  if (!t->reserved) {
    t->reserved = true;
    curl_off_t length = -1;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0)
      // With room for the JSON parser's padding, so the body is never copied for it.
      body.reserve(std::min({static_cast<std::uint64_t>(length), t->max_bytes, kMaxReserve}) + 64);
  }
  body.append(data, n);
  return n;
}

// Called once per header line, for every response of a redirect chain: a status line
// starts a new response, whose headers replace those kept so far.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response.link.clear();
    t->response.retry_after.clear();
    t->response.etag.clear();
    t->response.last_modified.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const auto name = trim(line.substr(0, colon));
  const auto value = trim(line.substr(colon + 1));
  if (iequals(name, "Link")) {
    if (!t->response.link.empty()) t->response.link += ", ";
    t->response.link += value;
  } else if (iequals(name, "Retry-After")) {
    t->response.retry_after = value;
  } else if (iequals(name, "ETag")) {
    t->response.etag = value;
  } else if (iequals(name, "Last-Modified")) {
    t->response.last_modified = value;
  }
  return n;
}

FetchError classify(CURLcode code, bool too_large) {
  switch (code) {
    case CURLE_OK:
      return FetchError::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return FetchError::kResolve;
    case CURLE_COULDNT_CONNECT:
      return FetchError::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return FetchError::kTimeout;
    case CURLE_PARTIAL_FILE:
      return FetchError::kTruncated;
    case CURLE_WRITE_ERROR:
      return too_large ? FetchError::kTooLarge : FetchError::kOther;
    case CURLE_BAD_CONTENT_ENCODING:
      return FetchError::kBadEncoding;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return FetchError::kRefusedProtocol;
    case CURLE_TOO_MANY_REDIRECTS:
      return FetchError::kTooManyRedirects;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
      return FetchError::kTls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return FetchError::kNetwork;
    default:
      return FetchError::kOther;
  }
}

class CurlTransport final : public Transport {
 public:
  CurlTransport() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
  }

  ~CurlTransport() override {
    for (auto& [id, t] : transfers_) curl_multi_remove_handle(multi_, t->easy);
    transfers_.clear();
    curl_multi_cleanup(multi_);
  }

  void start(std::uint64_t id, HttpRequest request) override {
    auto t = std::make_unique<Transfer>();
    t->id = id;
    t->max_bytes = request.max_bytes;
    t->url = request.url;
    t->origin = origin_of(request.url);
    t->deadline = now() + request.time_left;
    t->easy = curl_easy_init();
    CURL* e = t->easy;
    for (const auto& h : request.headers) t->headers = curl_slist_append(t->headers, h.c_str());
    curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
    if (request.post) {
      // No "Expect: 100-continue": a body is sent at once, as APIs expect.
      t->headers = curl_slist_append(t->headers, "Expect:");
      t->post = true;
      t->body = std::move(request.body);
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, request.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    // Redirects are followed here (follow_redirect), not by libcurl, which would send the
    // configured headers on to any host: only Authorization is dropped.
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
    // A stall is a second-granular low-speed check: under 1 byte/s for `timeout`.
    const auto stall = std::max<long>(1, static_cast<long>((request.timeout.count() + 999) / 1000));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     std::max<long>(1, static_cast<long>(request.time_left.count())));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    // Several pages of one host in flight share a connection when the server speaks HTTP/2.
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_multi_add_handle(multi_, e);
    transfers_[id] = std::move(t);
  }

  void cancel(std::uint64_t id) override {
    const auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    curl_multi_remove_handle(multi_, it->second->easy);
    transfers_.erase(it);
  }

  std::vector<Done> wait(SteadyTime until) override {
    std::vector<Done> done;
    for (;;) {
      int running = 0;
      curl_multi_perform(multi_, &running);
      collect(done);
      const auto now = std::chrono::steady_clock::now();
      if (!done.empty() || now >= until) return done;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::min<long long>(left, 1000)),
                      nullptr);
    }
  }

  SteadyTime now() const override { return std::chrono::steady_clock::now(); }

 private:
  void collect(std::vector<Done>& done) {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      HttpResponse& r = t->response;
      const CURLcode code = msg->data.result;
      r.error = classify(code, t->too_large);
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
      if (r.error == FetchError::kNone && follow_redirect(*t)) continue;
      const char* url = nullptr;
      if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
        r.effective_url = url;
      const char* type = nullptr;
      if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
        r.content_type = type;
      if (r.error == FetchError::kTooLarge) {
        r.error_text = fmt::format("the body is larger than max_bytes ({} bytes)", t->max_bytes);
      } else if (r.error != FetchError::kNone && r.error_text.empty()) {
        r.error_text = t->error[0] ? t->error : curl_easy_strerror(code);
      }
      const std::uint64_t id = t->id;
      Done d{id, std::move(r)};
      curl_multi_remove_handle(multi_, t->easy);
      transfers_.erase(id);
      done.push_back(std::move(d));
    }
  }

  // Starts the next request of a redirect, as libcurl would, and true; false when the
  // response is the answer (not a redirect, or one refused: then the response says why).
  // The configured headers go along only while the URL keeps the first one's scheme, host
  // and port: an API key is for the API, not for wherever the API redirects.
  bool follow_redirect(Transfer& t) {
    const char* location = nullptr;
    if (t.response.status < 300 || t.response.status > 399 ||
        curl_easy_getinfo(t.easy, CURLINFO_REDIRECT_URL, &location) != CURLE_OK ||
        location == nullptr)
      return false;
    HttpResponse& r = t.response;
    if (t.redirects == kMaxRedirects) {
      r.error = FetchError::kTooManyRedirects;
      return false;
    }
    // A URL of another scheme is left to libcurl, which refuses it (CURLOPT_PROTOCOLS_STR).
    const std::string next = location;
    const long status = r.status;
    // 307 and 308 send the POST again, body and all: never to another origin, where the
    // body's secrets would go.
    if (t.post && (status == 307 || status == 308) && origin_of(next) != t.origin) {
      r.error = FetchError::kOther;
      r.error_text = fmt::format("HTTP {}: a POST is not sent on to another origin", status);
      return false;
    }
    ++t.redirects;
    curl_multi_remove_handle(multi_, t.easy);
    r = HttpResponse{};
    t.reserved = false;
    t.error[0] = '\0';
    const bool same_origin = origin_of(next) == t.origin;
    const std::string url = same_origin ? with_credentials_of(t.url, next) : next;
    curl_easy_setopt(t.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, same_origin ? t.headers : nullptr);
    // As browsers and curl do, a POST redirected by 301, 302 or 303 becomes a GET.
    if (t.post && status != 307 && status != 308) {
      t.post = false;
      curl_easy_setopt(t.easy, CURLOPT_HTTPGET, 1L);
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(t.deadline - now()).count();
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, left)));
    curl_multi_add_handle(multi_, t.easy);
    return true;
  }

  CURLM* multi_ = nullptr;
  std::map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace

std::string percent_encode(std::string_view text) {
  char* out = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (!out) return "";
  std::string s = out;
  curl_free(out);
  return s;
}

std::string percent_decode(std::string_view text) {
  int size = 0;
  char* out = curl_easy_unescape(nullptr, text.data(), static_cast<int>(text.size()), &size);
  if (!out) return "";
  std::string s(out, static_cast<std::size_t>(size));
  curl_free(out);
  return s;
}

std::string url_password(const std::string& url) {
  Url u;
  if (curl_url_set(u.h, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  return u.get(CURLUPART_PASSWORD);
}

std::string request_key(const HttpRequest& request) {
  return request.post ? "POST " + request.url + "\n" + request.body : request.url;
}

std::unique_ptr<Transport> make_curl_transport() { return std::make_unique<CurlTransport>(); }

std::string describe(const HttpResponse& response) {
  switch (response.error) {
    case FetchError::kNone:
      break;
    case FetchError::kRefusedProtocol:
      return fmt::format("only http and https are allowed: {}", response.error_text);
    case FetchError::kTooManyRedirects:
      return "more than 5 redirects";
    default:
      return response.error_text;
  }
  // APIs say in the body why they refuse (a bad key, a missing parameter): its start, on
  // one line, is often the whole answer.
  constexpr size_t kShown = 200;
  std::string said;
  for (const char c : std::string_view(response.body).substr(0, kShown))
    said += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  said = std::string(trim(said));
  if (response.body.size() > kShown) said += "...";
  return said.empty() ? fmt::format("HTTP {}", response.status)
                      : fmt::format("HTTP {}: {}", response.status, said);
}

std::string next_link(std::string_view header) {
  size_t i = 0;
  while (i < header.size()) {
    const auto open = header.find('<', i);
    if (open == std::string_view::npos) return "";
    const auto close = header.find('>', open);
    if (close == std::string_view::npos) return "";
    const auto url = header.substr(open + 1, close - open - 1);
    // The link's parameters run to the next comma outside a quoted string.
    size_t end = close + 1;
    bool quoted = false;
    for (; end < header.size(); ++end) {
      if (header[end] == '"') quoted = !quoted;
      if (header[end] == ',' && !quoted) break;
    }
    std::string_view params = header.substr(close + 1, end - close - 1);
    while (!params.empty()) {
      const auto semi = params.find(';');
      auto param = trim(params.substr(0, semi));
      params = semi == std::string_view::npos ? "" : params.substr(semi + 1);
      const auto eq = param.find('=');
      if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "rel")) continue;
      auto value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      // rel may list several relation types: rel="next last".
      while (!value.empty()) {
        const auto space = value.find(' ');
        if (iequals(value.substr(0, space), "next")) return std::string(trim(url));
        value = space == std::string_view::npos ? "" : trim(value.substr(space + 1));
      }
    }
    i = end + 1;
  }
  return "";
}

namespace {

Error not_a_url() { return {kExitDataErr, "not a valid URL"}; }

}  // namespace

Result<std::string> resolve_url(const std::string& base, const std::string& ref) {
  Url url;
  if (curl_url_set(url.h, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return not_a_url();
  if (curl_url_set(url.h, CURLUPART_URL, ref.c_str(), 0) != CURLUE_OK) return not_a_url();
  return url.get(CURLUPART_URL);
}

Result<std::string> with_query_param(const std::string& text, std::string_view name,
                                     std::string_view value) {
  Url url;
  if (curl_url_set(url.h, CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return not_a_url();
  const std::string query = url.get(CURLUPART_QUERY);
  const std::string key = percent_encode(name);
  std::string out;
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    if (part.empty() || part == key || part.starts_with(key + "=")) continue;
    out += part;
    out += '&';
  }
  out += key + "=" + percent_encode(value);
  if (curl_url_set(url.h, CURLUPART_QUERY, out.c_str(), 0) != CURLUE_OK) return not_a_url();
  return url.get(CURLUPART_URL);
}

}  // namespace offpeak
