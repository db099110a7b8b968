// Fuzzes URL and header templates (url_template.h): checking against the variables a
// source may use, then expanding into a URL and into a header value.
//
// The first byte picks the variables allowed (with or without sessions, each paginate
// type); the rest is the template. The promise checked: a template that passes
// check_template expands without error when every allowed variable and every ${VAR} has a
// value, and what may be shown never holds an environment value.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "fuzz_input.h"
#include "source.h"
#include "timestamp.h"
#include "url_template.h"

namespace {

using offpeak::fuzz::check;

constexpr const char* kSecret = "s3cr/et &=?";

offpeak::TemplateValues values_for(const std::vector<std::string_view>& allowed) {
  offpeak::TemplateValues values;
  values.region = "xn ys";
  values.source = "bars/1";
  const auto has = [&](std::string_view name) {
    for (std::string_view a : allowed)
      if (a == name) return true;
    return false;
  };
  if (has("session_date")) {
    const auto open = *offpeak::parse_rfc3339("2026-03-06T14:30:00Z");
    values.session = offpeak::Session{date::local_days(date::year(2026) / 3 / 6), open,
                                      open + std::chrono::hours(6) + std::chrono::minutes(30)};
  }
  if (has("page")) values.page = 3;
  if (has("offset")) values.offset = -200;
  if (has("limit")) values.limit = 100;
  if (has("cursor")) values.cursor = "a b/c?d=e&f";
  return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  offpeak::fuzz::FuzzInput in(data, size);
  const std::size_t setup = in.byte();
  const std::string_view text = in.rest();

  offpeak::Region region;
  if (setup & 1) region.sessions.push_back({std::chrono::hours(9), std::chrono::hours(16)});
  offpeak::Source source;
  constexpr offpeak::PageKind kKinds[] = {offpeak::PageKind::kNone, offpeak::PageKind::kJsonLink,
                                          offpeak::PageKind::kCursor, offpeak::PageKind::kPage,
                                          offpeak::PageKind::kOffset};
  source.paginate.kind = kKinds[(setup >> 1) % std::size(kKinds)];
  const auto allowed = offpeak::template_variables(region, source);

  const auto checked = offpeak::check_template(text, allowed);
  const offpeak::EnvLookup env = [](const char*) { return kSecret; };
  const auto values = values_for(allowed);
  for (const auto target : {offpeak::TemplateTarget::kUrl, offpeak::TemplateTarget::kHeader}) {
    const auto expanded = offpeak::expand_template(text, values, target, env);
    if (!checked) continue;
    check(expanded.ok(), "a template that passed the check expands");
    // The secret starts with "s3cr", which no other value holds.
    if (text.find("s3cr") == std::string_view::npos)
      check(expanded->shown.find("s3cr") == std::string::npos, "no secret is shown");
  }
  // Without an environment, a ${VAR} does not expand: an error, never a crash.
  (void)offpeak::expand_template(text, values, offpeak::TemplateTarget::kUrl,
                                 [](const char*) -> const char* { return nullptr; });
  return 0;
}
