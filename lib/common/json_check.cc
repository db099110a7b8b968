// JSON token checks: the number grammar, string escapes and the nesting limit that record
// extraction and the loader's input checking share.
//
// simdjson reads numbers only into 64-bit types and its On-Demand parser checks only what a
// program reads, while offpeak keeps every number's text as written (a price keeps its digits,
// an integer of any size survives). So the tokens are checked here, by the grammar alone, on
// the text: one pass, no conversion, no allocation unless the token is bad. The token checks
// are inline in the header; record extraction calls them for every token.

#include "json_check.h"

#include <fmt/format.h>

namespace offpeak {

Result<void> check_json_depth(int depth) {
  if (!json_too_deep(depth)) return {};
  return Error{kExitDataErr, fmt::format("nested deeper than {} levels", kMaxJsonDepth)};
}

Error invalid_json_number(std::string_view token) {
  return {kExitDataErr, fmt::format("invalid number {}", token.substr(0, 40))};
}

}  // namespace offpeak
