#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "error.h"

namespace offpeak {

// The KEY=value settings of an environment file, read as systemd reads EnvironmentFile=
// (and as offpeak-cron --env-file does): lines starting with # or ; are comments; spaces
// around keys and values are dropped; a value is 'single quoted' (literal), "double quoted"
// (\ escapes \ " ` $ and newlines) or bare (\ escapes the next character, a trailing \ joins
// lines). An assignment to a name that is no variable name is left out with a warning.
struct EnvFile {
  std::map<std::string, std::string, std::less<>> values;
  std::vector<Diagnostic> warnings;
};

// `text` read from `path` (named in the warnings).
[[nodiscard]] EnvFile parse_env_file(std::string_view text, const std::string& path);

// The file at `path`, or an Error (78) "--env-file: cannot read PATH: REASON".
[[nodiscard]] Result<EnvFile> read_env_file(const std::string& path);

}  // namespace offpeak
