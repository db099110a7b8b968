// Diagnostics shared by every tool: one line per problem, in the form compilers use
// (`tool: error: file:line:col: ...`), so editors and people read them alike.

#include "diagnostics.h"

#include <algorithm>

#include <fmt/format.h>

namespace offpeak {

std::string format_message(std::string_view tool, Severity severity, std::string_view message) {
  return fmt::format("{}: {}: {}", tool, severity == Severity::kError ? "error" : "warning",
                     message);
}

std::string format_diagnostic(std::string_view tool, const Diagnostic& d) {
  std::string text;
  if (!d.pos.file.empty()) {
    text += d.pos.file;
    if (d.pos.line > 0) text += fmt::format(":{}", d.pos.line);
    if (d.pos.line > 0 && d.pos.column > 0) text += fmt::format(":{}", d.pos.column);
    text += ": ";
  }
  if (!d.region.empty()) text += fmt::format("region \"{}\": ", d.region);
  if (!d.key.empty()) text += fmt::format("{}: ", d.key);
  text += d.message;
  return format_message(tool, d.severity, text);
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace offpeak
