#pragma once

#include <functional>
#include <string_view>

#include "diagnostics.h"
#include "error.h"
#include "log.h"
#include "progress_line.h"

namespace offpeak {

// Looks up an environment variable; nullptr when it is unset. std::getenv in the tools.
using EnvLookup = std::function<const char*(const char* name)>;

// Where a tool's run reports as it goes: the tool's main draws it (tool_main.h), the library
// never prints. offpeak-scrape's and offpeak-load's runs take one.
struct Console {
  // Writes to stdout (records, a --json summary), or says why it could not (74).
  std::function<Result<void>(std::string_view text)> write;
  // An event for stderr: a summary line, a warning, a source's error.
  std::function<void(const LogLine& line)> log;
  // A problem at a place in a file: the config, a bad input line.
  std::function<void(const Diagnostic& d)> diagnostic;
  // What ends the run; one of exit 64 is a usage error.
  std::function<void(const Error& error)> error;
  // The live progress line, or none; erased before anything else is said.
  ProgressLine* progress = nullptr;
  // std::getenv: the config's path, the ${VAR}s of sources, DATABASE_URL, test settings.
  EnvLookup env;
};

}  // namespace offpeak
