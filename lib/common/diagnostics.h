#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "error.h"

namespace offpeak {

enum class Severity { kError, kWarning };

// Where in a file something was found; line and column are 1-based, 0 when unknown.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
};

// One problem found in an input, with everything a person needs to fix it.
struct Diagnostic {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string region;  // empty when the problem is not inside a region
  std::string key;     // the key whose value is wrong; empty when not about one value
  std::string message;
};

// "TOOL: error: FILE:LINE:COL: region "R": KEY: MESSAGE", the parts that are known.
[[nodiscard]] std::string format_diagnostic(std::string_view tool, const Diagnostic& d);

// "TOOL: error: MESSAGE" / "TOOL: warning: MESSAGE".
[[nodiscard]] std::string format_message(std::string_view tool, Severity severity,
                                         std::string_view message);

[[nodiscard]] bool has_errors(const std::vector<Diagnostic>& diagnostics);

}  // namespace offpeak
