#pragma once

#include <string>
#include <string_view>

#include "source.h"

namespace offpeak {

// What a page that did not parse was, for its error message: "" when its Content-Type
// names the source's format and its body does not start like markup, else
// "; the response had Content-Type text/html and began: <!DOCTYPE html>..." (or "no
// Content-Type"), the body's first bytes on one line.
[[nodiscard]] std::string body_preview(Format format, std::string_view content_type,
                                       std::string_view body);

}  // namespace offpeak
