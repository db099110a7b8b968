#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "error.h"
#include "fetch.h"
#include "source.h"
#include "timestamp.h"
#include "url_template.h"

namespace offpeak {

// Every value a source's requests carry that no output may show: each ${ENV} value, each
// configured header value, and a password in the URL.
class Masker {
 public:
  // Adds `value`, and its percent-encoded forms, which is how a URL carries it.
  void add(const std::string& value);

  // `text` with every secret replaced by ***.
  [[nodiscard]] std::string operator()(std::string text) const;

 private:
  std::vector<std::string> secrets_;  // longest first
};

// A request ready to send, and how messages may show it.
struct BuiltRequest {
  HttpRequest request;
  std::string shown_url;                   // secrets masked
  std::vector<std::string> shown_headers;  // "Name: ***"
  std::string shown_body;                  // of a POST, secrets masked
};

// Builds a source's requests: page `index`, or the page after a link or a cursor. A template
// that does not expand (an unset ${VAR}) is a config error (78) saying where and why, and so
// is a header whose ${VAR} holds a control character (CR, LF), which would inject headers.
class RequestBuilder {
 public:
  // `session` gives the {session_*} variables (template_session()); `parent` a dependent
  // source's {parent.FIELD} values, from one record of its parent.
  RequestBuilder(const Region& region, std::optional<Session> session, const Source& source,
                 EnvLookup env, std::vector<std::pair<std::string, std::string>> parent = {});

  // The first request, or page `index` of a page or offset source.
  [[nodiscard]] Result<BuiltRequest> page(std::int64_t index) const;

  // The {variables}' values of page `index`'s request.
  [[nodiscard]] TemplateValues values_of_page(std::int64_t index) const;

  // The request after a page whose cursor was `cursor`.
  [[nodiscard]] Result<BuiltRequest> after_cursor(const std::string& cursor) const;

  // The request for a next-page URL the server gave.
  [[nodiscard]] Result<BuiltRequest> at_url(std::string url) const;

  [[nodiscard]] const Masker& mask() const { return mask_; }

 private:
  [[nodiscard]] Result<BuiltRequest> expand(const TemplateValues& values) const;
  [[nodiscard]] Error control_in_header(std::string_view name, std::string_view value) const;
  [[nodiscard]] Result<BuiltRequest> with_param(Result<BuiltRequest> built,
                                                const std::string& value, bool number) const;
  [[nodiscard]] Result<void> expand_body(const TemplateValues& values, BuiltRequest& built) const;

  const Source& source_;
  EnvLookup env_;
  TemplateValues values_;
  Masker mask_;
};

}  // namespace offpeak
