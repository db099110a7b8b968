// Writing JSON strings. offpeak writes JSON one line at a time with fmt; only string
// values need care, and this is all the care they need (RFC 8259, section 7).

#include "json_text.h"

#include <fmt/format.h>

namespace offpeak {

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  out += '"';
  return out;
}

std::optional<std::string_view> json_array_prefix(std::string_view array, std::size_t parts) {
  if (array.empty() || array.front() != '[' || parts == 0) return std::nullopt;
  std::size_t elements = 0;
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 1; i < array.size(); ++i) {
    const char c = array[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ']') {
      if (i > 1 && elements + 1 == parts) return array.substr(0, i);
      return std::nullopt;
    } else if (c == ',' && depth == 0 && ++elements == parts) {
      return array.substr(0, i);
    }
  }
  return std::nullopt;
}

}  // namespace offpeak
