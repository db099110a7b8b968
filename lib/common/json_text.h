#pragma once

#include <string>
#include <string_view>

namespace offpeak {

// `text` as a JSON string literal, quotes included. Bytes are copied as they are but for
// the characters JSON requires escaped.
[[nodiscard]] std::string json_string(std::string_view text);

}  // namespace offpeak
