// The end line of a complete run of a source: what tells offpeak-load that the records before
// it are all the source had (or all of each scope they belong to), so that rows missing from
// them have vanished from the source.
//
// The idea: the scopes are read back from the output lines themselves, whose key the scrape
// wrote minified right after a prefix it knows, so the end line names them exactly as the load
// stores the keys, and a scope is listed only when a record of it was written.

#include "source_end.h"

#include <fmt/format.h>

#include "json_text.h"
#include "source.h"

namespace offpeak {

SourceEnd::SourceEnd(const Source& source, std::string_view region)
    : source_(source), region_json_(json_string(region)), source_json_(json_string(source.name)) {
  prefix_ = fmt::format(R"({{"region":{},"source":{},"key":)", region_json_, source_json_);
}

bool SourceEnd::declared() const { return source_.complete.kind != Completeness::kPartial; }

void SourceEnd::take(std::string_view lines) {
  if (source_.complete.kind != Completeness::kScope) return;
  const auto parts = static_cast<std::size_t>(source_.complete.scope_parts);
  while (!lines.empty()) {
    const std::size_t end = lines.find('\n');
    const std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 1);
    if (!line.starts_with(prefix_)) continue;
    if (const auto scope = json_array_prefix(line.substr(prefix_.size()), parts))
      scopes_.insert(fmt::format("{}]", *scope));
  }
}

std::string SourceEnd::line(std::uint64_t records) const {
  if (source_.complete.kind == Completeness::kSource)
    return fmt::format(R"({{"offpeak":"end","region":{},"source":{},"complete":"source",)"
                       R"("records":{}}})"
                       "\n",
                       region_json_, source_json_, records);
  std::string scopes;
  for (const std::string& scope : scopes_) {
    if (!scopes.empty()) scopes += ',';
    scopes += scope;
  }
  return fmt::format(R"({{"offpeak":"end","region":{},"source":{},"complete":"scope",)"
                     R"("scope_parts":{},"scopes":[{}],"records":{}}})"
                     "\n",
                     region_json_, source_json_, source_.complete.scope_parts, scopes, records);
}

}  // namespace offpeak
