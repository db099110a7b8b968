#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace offpeak {

// `text` as a JSON string literal, quotes included. Bytes are copied as they are but for
// the characters JSON requires escaped.
[[nodiscard]] std::string json_string(std::string_view text);

// The text of the minified JSON array `array` up to the end of its first `parts` elements
// (the comma or bracket after them excluded): "[1,\"a\"" of "[1,\"a\",3]" for 2. Nothing when
// the array has fewer elements, or is not an array. Text after the array is ignored.
[[nodiscard]] std::optional<std::string_view> json_array_prefix(std::string_view array,
                                                                std::size_t parts);

}  // namespace offpeak
