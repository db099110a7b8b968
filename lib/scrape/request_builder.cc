// A source's requests, built from its templates, and the secrets they carry.
//
// The idea: the URL and header templates are expanded once per request with the page's
// variables (page, offset, cursor), and every value that came from the environment or sits
// in a header is collected up front into a Masker, so whatever a message shows of a request
// (its URL in an error, the --dry-run listing) goes through one place that replaces them by ***.
// A password written into the URL (https://user:secret@host/) is one of them. A header value
// is checked after expansion: a control character in it (a CR LF from the environment or a
// server's cursor) would start another header. A POST's body is a template too, its values
// escaped for the body's type; pagination "in" the body sets a member of the JSON object,
// which is parsed and written again with that member replaced.

#include "request_builder.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "json_text.h"

namespace offpeak {
namespace {

// The names inside `${...}` in a template.
std::vector<std::string> env_names(std::string_view text) {
  std::vector<std::string> names;
  for (auto at = text.find("${"); at != std::string_view::npos; at = text.find("${", at + 2)) {
    const auto end = text.find('}', at);
    if (end == std::string_view::npos) break;
    names.emplace_back(text.substr(at + 2, end - at - 2));
  }
  return names;
}

TemplateTarget body_target(BodyType type) {
  switch (type) {
    case BodyType::kForm:
      return TemplateTarget::kForm;
    case BodyType::kText:
      return TemplateTarget::kText;
    default:
      return TemplateTarget::kJson;
  }
}

std::string_view content_type_of(BodyType type) {
  switch (type) {
    case BodyType::kForm:
      return "application/x-www-form-urlencoded";
    case BodyType::kText:
      return "text/plain; charset=utf-8";
    default:
      return "application/json";
  }
}

// `body`, a JSON object, with member `name` set to `value` (JSON text): first, replacing one
// it had. Nothing when `body` is not a JSON object.
std::optional<std::string> with_member(const std::string& body, std::string_view name,
                                       std::string_view value) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body).get(object) != simdjson::SUCCESS) return std::nullopt;
  std::string out = "{" + json_string(name) + ":" + std::string(value);
  for (const auto field : object) {
    if (field.key == name) continue;
    out += "," + json_string(field.key) + ":" + simdjson::minify(field.value);
  }
  return out + "}";
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

}  // namespace

void Masker::add(const std::string& value) {
  if (value.empty()) return;
  secrets_.push_back(value);
  if (auto encoded = percent_encode(value); encoded != value) {
    secrets_.push_back(encoded);
    // libcurl's URL parser writes escapes in lower case.
    for (size_t i = 0; i + 2 < encoded.size(); ++i) {
      if (encoded[i] != '%') continue;
      for (size_t j = i + 1; j <= i + 2; ++j)
        encoded[j] = static_cast<char>(std::tolower(static_cast<unsigned char>(encoded[j])));
    }
    if (encoded != secrets_.back()) secrets_.push_back(encoded);
  }
  // Longest first, so a secret containing another is masked whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Masker::operator()(std::string text) const {
  for (const auto& secret : secrets_) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
      text.replace(at, secret.size(), "***");
  }
  return text;
}

RequestBuilder::RequestBuilder(const Region& region, std::optional<Session> session,
                               const Source& source, EnvLookup env,
                               std::vector<std::pair<std::string, std::string>> parent)
    : source_(source), env_(std::move(env)) {
  values_.parent = std::move(parent);
  values_.region = region.id;
  values_.source = source.name;
  values_.session = std::move(session);
  for (const auto& name : env_names(source.url))
    if (const char* value = env_(name.c_str())) mask_.add(value);
  // Any page's URL has the first one's password.
  TemplateValues any_page = values_;
  any_page.page = any_page.offset = any_page.limit = 0;
  any_page.cursor = "";
  if (const auto url = expand_template(source.url, any_page, TemplateTarget::kUrl, env_)) {
    const std::string password = url_password(url->text);
    mask_.add(password);
    mask_.add(percent_decode(password));
  }
  for (const auto& [name, value] : source.headers) {
    for (const auto& variable : env_names(value))
      if (const char* v = env_(variable.c_str())) mask_.add(v);
    // A key written into the config as it is is as secret as one from the environment.
    if (const auto header = expand_template(value, values_, TemplateTarget::kHeader, env_))
      mask_.add(header->text);
  }
  for (const auto& variable : env_names(source.body))
    if (const char* v = env_(variable.c_str())) {
      mask_.add(v);
      const std::string quoted = json_string(v);  // as a JSON body carries it
      mask_.add(quoted.substr(1, quoted.size() - 2));
    }
}

Result<BuiltRequest> RequestBuilder::page(std::int64_t index) const {
  const TemplateValues values = values_of_page(index);
  switch (source_.paginate.kind) {
    case PageKind::kPage:
      return with_param(expand(values), std::to_string(*values.page), true);
    case PageKind::kOffset:
      return with_param(expand(values), std::to_string(*values.offset), true);
    default:
      return expand(values);
  }
}

TemplateValues RequestBuilder::values_of_page(std::int64_t index) const {
  TemplateValues values = values_;
  const Pagination& p = source_.paginate;
  if (p.kind == PageKind::kCursor) values.cursor = "";
  if (p.kind == PageKind::kPage) values.page = p.start + index;
  if (p.kind == PageKind::kOffset) {
    values.offset = index * p.limit;
    values.limit = p.limit;
  }
  return values;
}

Result<BuiltRequest> RequestBuilder::after_cursor(const std::string& cursor) const {
  TemplateValues values = values_;
  values.cursor = cursor;
  return with_param(expand(values), cursor, false);
}

Result<BuiltRequest> RequestBuilder::at_url(std::string url) const {
  auto built = expand(values_);
  if (!built) return built;
  built->request.url = std::move(url);
  built->shown_url = mask_(built->request.url);
  return built;
}

Result<BuiltRequest> RequestBuilder::expand(const TemplateValues& values) const {
  BuiltRequest built;
  auto url = expand_template(source_.url, values, TemplateTarget::kUrl, env_);
  if (!url) return Error{kExitConfig, fmt::format("url: {}", url.error().message)};
  built.request.url = std::move(url->text);
  built.shown_url = mask_(std::move(url->shown));
  for (const auto& [name, value] : source_.headers) {
    auto header = expand_template(value, values, TemplateTarget::kHeader, env_);
    if (!header)
      return Error{kExitConfig, fmt::format("header {}: {}", name, header.error().message)};
    if (has_control(header->text)) return control_in_header(name, value);
    built.request.headers.push_back(fmt::format("{}: {}", name, header->text));
    built.shown_headers.push_back(fmt::format("{}: ***", name));
  }
  if (source_.post) {
    if (auto body = expand_body(values, built); !body) return std::move(body).error();
  }
  built.request.user_agent = source_.user_agent;
  built.request.timeout = source_.timeout;
  built.request.max_bytes = source_.max_bytes;
  return built;
}

// A POST's body, and its Content-Type unless the source's headers give one.
Result<void> RequestBuilder::expand_body(const TemplateValues& values, BuiltRequest& built) const {
  built.request.post = true;
  if (!source_.body.empty()) {
    auto body = expand_template(source_.body, values, body_target(source_.body_type), env_);
    if (!body) return Error{kExitConfig, fmt::format("body: {}", body.error().message)};
    built.request.body = std::move(body->text);
    built.shown_body = mask_(built.request.body);
  }
  const bool has_type =
      std::any_of(source_.headers.begin(), source_.headers.end(), [](const auto& h) {
        return h.first.size() == 12 &&
               std::equal(h.first.begin(), h.first.end(), "content-type",
                          [](char a, char b) { return std::tolower(a) == b; });
      });
  if (!has_type && !source_.body.empty()) {
    const std::string header = fmt::format("Content-Type: {}", content_type_of(source_.body_type));
    built.request.headers.push_back(header);
    built.shown_headers.push_back(header);
  }
  return {};
}

// Why the expanded header `name` holds a control character: an environment variable's value
// (78, naming it, never its value), or a value the server gave, such as a cursor (65).
Error RequestBuilder::control_in_header(std::string_view name, std::string_view value) const {
  for (const auto& variable : env_names(value))
    if (const char* v = env_(variable.c_str()); v && has_control(v))
      return Error{kExitConfig,
                   fmt::format("header {}: environment variable ${{{}}} holds a control "
                               "character (such as a line break), which a header cannot carry",
                               name, variable)};
  return Error{kExitDataErr,
               fmt::format("header {}: the value the server gave holds a control character "
                           "(such as a line break), which a header cannot carry",
                           name)};
}

// Sets the pagination's parameter, when there is one, to `value` (a `number` or a string): in
// the request's query and its shown URL, or as a member of its JSON body.
Result<BuiltRequest> RequestBuilder::with_param(Result<BuiltRequest> built,
                                                const std::string& value, bool number) const {
  const std::string& param = source_.paginate.param;
  if (!built || param.empty()) return built;  // the url or body has {page}, {offset} or {cursor}
  if (source_.paginate.in_body) {
    auto body = with_member(built->request.body, param, number ? value : json_string(value));
    if (!body)
      return Error{kExitConfig, fmt::format("body: paginate \"in\" = \"body\" needs the body to be "
                                            "a JSON object, not: {}",
                                            built->shown_body)};
    built->request.body = std::move(*body);
    built->shown_body = mask_(built->request.body);
    return built;
  }
  auto url = with_query_param(built->request.url, param, value);
  if (!url)
    return Error{kExitConfig, fmt::format("url: cannot set query parameter \"{}\" in {}", param,
                                          built->shown_url)};
  built->request.url = std::move(*url);
  if (auto shown = with_query_param(built->shown_url, param, value)) {
    built->shown_url = mask_(std::move(*shown));
  } else {
    built->shown_url = "";  // the masked URL is no longer one (*** for its base): nothing to show
  }
  return built;
}

}  // namespace offpeak
