// URL and header templates: {variable} for values offpeak knows, ${VAR} for the environment.
//
// One scanner serves both checking and expanding, so a template that passed the config
// check expands the same way at run time. Values from the environment are secrets as far
// as offpeak can tell (API keys), so expansion builds two strings side by side: the one
// sent, and the one shown, where each of those values is ***.

#include "url_template.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "error.h"
#include "json_text.h"
#include "source.h"

namespace offpeak {
namespace {

constexpr std::string_view kSessionVariables[] = {"session_date", "session_open", "session_close",
                                                  "session_open_ms", "session_close_ms"};

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// {parent.FIELD}: a name "parent", then '.' and a path of field names joined by '.', each
// of letters, digits, '_' and '-'. Where the path ends (at `end` when there is none).
size_t parent_path_end(std::string_view text, size_t name_from, size_t end) {
  if (text.substr(name_from, end - name_from) != "parent") return end;
  size_t at = end;
  while (at < text.size() && text[at] == '.') {
    size_t segment = at + 1;
    while (segment < text.size() && (is_name_char(text[segment]) || text[segment] == '-'))
      ++segment;
    if (segment == at + 1) return at;  // an empty field name: not a variable
    at = segment;
  }
  return at;
}

// One piece of a template: literal text, a {variable} or an ${ENV_VAR}.
struct Piece {
  enum Kind { kText, kVariable, kEnv } kind = kText;
  std::string_view text;  // the literal, or the name
};

// The pieces of a template, or the Error (78) of its syntax. With `literal_braces` (a request
// body, where JSON is full of braces), a '{' that does not start a {variable} is text.
Result<std::vector<Piece>> scan(std::string_view text, bool literal_braces = false) {
  std::vector<Piece> out;
  size_t literal_from = 0;
  const auto flush = [&](size_t to) {
    if (to > literal_from)
      out.push_back({Piece::kText, text.substr(literal_from, to - literal_from)});
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const bool env = text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{';
    if (text[i] != '{' && !env) continue;
    const size_t name_from = i + (env ? 2 : 1);
    size_t end = name_from;
    while (end < text.size() && is_name_char(text[end])) ++end;
    if (!env) end = parent_path_end(text, name_from, end);
    if (end == text.size() || text[end] != '}' || end == name_from ||
        !is_name_start(text[name_from])) {
      if (literal_braces && !env) continue;
      const size_t close = text.find('}', i);
      return Error{
          kExitConfig,
          fmt::format(
              "\"{}\" is not a variable; write {{name}} or ${{ENV_VAR}} with letters, digits and _",
              text.substr(
                  i, close == std::string_view::npos ? std::string_view::npos : close - i + 1))};
    }
    flush(i);
    out.push_back({env ? Piece::kEnv : Piece::kVariable, text.substr(name_from, end - name_from)});
    i = end;
    literal_from = end + 1;
  }
  flush(text.size());
  return out;
}

std::int64_t epoch_ms(Instant t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string format_day(date::local_days day) {
  const date::year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()));
}

// The value of {name}, or nothing when it has none for this request.
std::optional<std::string> variable_value(std::string_view name, const TemplateValues& values) {
  if (name == "region") return values.region;
  if (name == "source") return values.source;
  if (values.session) {
    const Session& s = *values.session;
    if (name == "session_date") return format_day(s.day);
    if (name == "session_open") return format_rfc3339(s.open);
    if (name == "session_close") return format_rfc3339(s.close);
    if (name == "session_open_ms") return std::to_string(epoch_ms(s.open));
    if (name == "session_close_ms") return std::to_string(epoch_ms(s.close));
  }
  const auto number = [](const std::optional<std::int64_t>& n) -> std::optional<std::string> {
    if (!n) return std::nullopt;
    return std::to_string(*n);
  };
  if (name == "page") return number(values.page);
  if (name == "offset") return number(values.offset);
  if (name == "limit") return number(values.limit);
  if (name == "cursor") return values.cursor;
  if (name.starts_with("parent."))
    for (const auto& [field, value] : values.parent)
      if (field == name.substr(7)) return value;
  return std::nullopt;
}

// Percent-encodes all but RFC 3986's unreserved characters. libcurl's curl_easy_escape does
// the same, but calling it would make every tool that reads regions.toml (offpeak-plan, run
// by cron every few minutes) load libcurl and its thirty shared libraries at start-up.
std::string url_encode(std::string_view value) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<Session> template_session(const Region& region, Instant at) {
  if (!region.sessions.empty()) return last_session(region, at);
  if (region.offpeak.empty()) return std::nullopt;
  // Windows last at most a day or so; a week back finds the last one of a long weekend.
  const auto windows = offpeak_windows(region, at - date::days{8}, at + std::chrono::seconds{1});
  const auto last = std::find_if(windows.rbegin(), windows.rend(),
                                 [&](const Interval& w) { return w.start <= at; });
  if (last == windows.rend()) return std::nullopt;
  return Session{local_date(*region.zone, last->start), last->start, last->end};
}

std::optional<Session> template_session_on(const Region& region, date::local_days day) {
  const Instant midnight = local_to_instant(*region.zone, day, std::chrono::seconds{0});
  const Instant next = local_to_instant(*region.zone, day + date::days{1}, std::chrono::seconds{0});
  if (!region.sessions.empty()) {
    const auto session = last_session(region, next);
    if (session && session->day == day) return session;
    return std::nullopt;
  }
  for (const Interval& w : offpeak_windows(region, midnight, next))
    if (w.start >= midnight && w.start < next) return Session{day, w.start, w.end};
  return std::nullopt;
}

std::vector<std::string_view> template_variables(const Region& region, const Source& source) {
  std::vector<std::string_view> names{"region", "source"};
  if (!region.sessions.empty())
    names.insert(names.end(), std::begin(kSessionVariables), std::end(kSessionVariables));
  else if (!region.offpeak.empty())
    names.push_back("session_date");
  switch (source.paginate.kind) {
    case PageKind::kPage:
      names.push_back("page");
      break;
    case PageKind::kOffset:
      names.insert(names.end(), {"offset", "limit"});
      break;
    case PageKind::kCursor:
      names.push_back("cursor");
      break;
    default:
      break;
  }
  if (!source.from.empty()) names.push_back(kParentVariable);
  return names;
}

std::vector<std::pair<std::string_view, std::string>> variable_values(
    std::span<const std::string_view> names, const TemplateValues& values) {
  std::vector<std::pair<std::string_view, std::string>> out;
  for (std::string_view name : names)
    out.emplace_back(name, variable_value(name, values).value_or(""));
  return out;
}

std::vector<std::string> env_variables(std::string_view text) {
  std::vector<std::string> names;
  const auto scanned = scan(text, true);
  if (!scanned) return names;
  for (const Piece& piece : *scanned)
    if (piece.kind == Piece::kEnv &&
        std::find(names.begin(), names.end(), piece.text) == names.end())
      names.emplace_back(piece.text);
  return names;
}

Result<void> check_template(std::string_view text, std::span<const std::string_view> allowed,
                            bool literal_braces) {
  auto scanned = scan(text, literal_braces);
  if (!scanned) return std::move(scanned).error();
  for (const Piece& piece : *scanned) {
    const bool parent = piece.text.starts_with("parent.");
    if (piece.kind != Piece::kVariable ||
        std::find(allowed.begin(), allowed.end(), parent ? kParentVariable : piece.text) !=
            allowed.end())
      continue;
    std::string known;
    for (std::string_view name : allowed)
      known += fmt::format("{}{{{}}}", known.empty() ? "" : ", ", name);
    const bool is_session = std::find(std::begin(kSessionVariables), std::end(kSessionVariables),
                                      piece.text) != std::end(kSessionVariables);
    const bool is_paging = piece.text == "page" || piece.text == "offset" ||
                           piece.text == "limit" || piece.text == "cursor";
    std::string why = is_session  ? " (the region has no trading sessions)"
                      : is_paging ? " (not with this source's paginate type)"
                      : parent    ? " (only a source with \"from\" has a parent)"
                                  : "";
    return Error{kExitConfig, fmt::format("undefined variable {{{}}}{}; known here: {}", piece.text,
                                          why, known)};
  }
  return {};
}

Result<Expanded> expand_template(std::string_view text, const TemplateValues& values,
                                 TemplateTarget target, const EnvLookup& env) {
  Expanded out;
  const bool in_url = target == TemplateTarget::kUrl;
  const bool in_body = target == TemplateTarget::kJson || target == TemplateTarget::kForm ||
                       target == TemplateTarget::kText;
  auto scanned = scan(text, in_body);
  if (!scanned) return std::move(scanned).error();
  const auto encode = [&](const std::string& value, bool starts) {
    if (target == TemplateTarget::kJson) {
      const std::string quoted = json_string(value);
      return quoted.substr(1, quoted.size() - 2);
    }
    if (target == TemplateTarget::kForm || (in_url && !starts)) return url_encode(value);
    return value;
  };
  for (size_t i = 0; i < scanned->size(); ++i) {
    const Piece& piece = (*scanned)[i];
    switch (piece.kind) {
      case Piece::kText:
        out.text += piece.text;
        out.shown += piece.text;
        break;
      case Piece::kVariable: {
        const auto value = variable_value(piece.text, values);
        if (!value)
          return Error{kExitConfig,
                       fmt::format("variable {{{}}} has no value for this request", piece.text)};
        const std::string encoded = encode(*value, false);
        out.text += encoded;
        out.shown += encoded;
        break;
      }
      case Piece::kEnv: {
        const std::string name(piece.text);
        const char* value = env ? env(name.c_str()) : nullptr;
        if (!value)
          return Error{kExitConfig, fmt::format("environment variable ${{{}}} is not set", name)};
        // A ${VAR} that starts a URL holds its scheme and host, which encoding would break.
        out.text += encode(value, i == 0);
        out.shown += "***";
        break;
      }
    }
  }
  return out;
}

}  // namespace offpeak
