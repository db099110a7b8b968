#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "calendar.h"
#include "console.h"
#include "error.h"

namespace offpeak {

struct Source;

// The values of the {variables} for one request. A variable whose value is absent here is
// undefined for this source.
struct TemplateValues {
  std::string region;
  std::string source;
  std::optional<Session> session;  // {session_date}, {session_open}, {session_close}, {..._ms}
  std::optional<std::int64_t> page;
  std::optional<std::int64_t> offset;
  std::optional<std::int64_t> limit;
  std::optional<std::string> cursor;
  // A dependent source's {parent.FIELD} values, from one record of its parent: FIELD, value.
  std::vector<std::pair<std::string, std::string>> parent;
};

// What template_variables() lists for a dependent source: any {parent.FIELD}, where FIELD
// is a field of the parent's record, or a path into it like {parent.meta.id}.
inline constexpr std::string_view kParentVariable = "parent.FIELD";

// The session behind the {session_*} variables of a run at `at`: the latest session that
// closed by then. A region without sessions (off-peak windows only) has {session_date}
// alone, the local date of the start of the window open at `at`, or of the last one before.
[[nodiscard]] std::optional<Session> template_session(const Region& region, Instant at);

// The same for local date `day` (--session): that day's session, or the off-peak window that
// starts on it; nothing when the region has none that day (a weekend, a holiday).
[[nodiscard]] std::optional<Session> template_session_on(const Region& region,
                                                         date::local_days day);

// The {variables} that `source` of `region` may use: {region} and {source} always, the
// session variables when the region has trading sessions ({session_date} alone when it has
// off-peak windows instead), those of its pagination, and kParentVariable when it has `from`.
[[nodiscard]] std::vector<std::string_view> template_variables(const Region& region,
                                                               const Source& source);

// Each of `names` with its value in `values`, for --dry-run; "" for one without a value.
[[nodiscard]] std::vector<std::pair<std::string_view, std::string>> variable_values(
    std::span<const std::string_view> names, const TemplateValues& values);

// Checks a template's syntax and that it names only `allowed` variables; an Error (78) says
// what is wrong ("undefined variable {sesion_date}; ..."). With `literal_braces` (a request
// body), a '{' that does not start a {variable} is text.
[[nodiscard]] Result<void> check_template(std::string_view text,
                                          std::span<const std::string_view> allowed,
                                          bool literal_braces = false);

// The ${VAR} names a template uses, in order, each once (none when its syntax is wrong, which
// the config's check reports).
[[nodiscard]] std::vector<std::string> env_variables(std::string_view text);

// Where an expanded template goes: into a URL, whose values are percent-encoded (except a
// ${VAR} that starts the URL, which may hold a base URL), into a header value, as is, or into
// a request body: a form's values percent-encoded, a JSON body's escaped as inside a string,
// a text body's as they are. In a body, a '{' that does not start a {variable} is text.
enum class TemplateTarget { kUrl, kHeader, kForm, kJson, kText };

struct Expanded {
  std::string text;   // what is sent
  std::string shown;  // what may be printed: each ${VAR} value replaced by ***
};

// The template with its values, or an Error (78): "environment variable ${API_KEY} is not
// set", or a variable this request has no value for.
[[nodiscard]] Result<Expanded> expand_template(std::string_view text, const TemplateValues& values,
                                               TemplateTarget target, const EnvLookup& env);

}  // namespace offpeak
