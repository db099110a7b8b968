#pragma once

#include <string>
#include <string_view>

namespace offpeak {

// Appends `text` to `out` as a JSON string literal, quotes included. Bytes are copied as
// they are but for the characters JSON requires escaped.
void append_json_string(std::string& out, std::string_view text);

}  // namespace offpeak
