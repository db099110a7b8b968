// The note a parse error carries about what came back instead of the source's format.
//
// The idea: the common failure is a server answering 200 with something else, an HTML
// login or error page, a CSV where JSON was asked; the parser's message ("invalid JSON")
// then says too little, so the Content-Type and the body's first bytes say it, as an HTTP
// error's message does. When both look like the configured format the parser's own message
// (a position, a missing field) is the useful part and nothing is added.

#include "body_preview.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace offpeak {
namespace {

// Body bytes shown: enough for an HTML title or an API's error object.
constexpr std::size_t kShown = 120;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The media type alone: "application/json" of "application/json; charset=utf-8".
std::string media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && is_space(type.front())) type.remove_prefix(1);
  while (!type.empty() && is_space(type.back())) type.remove_suffix(1);
  return lower(type);
}

bool names_format(Format format, const std::string& type) {
  switch (format) {
    case Format::kJson:
      return type == "application/json" || type == "text/json" || type.ends_with("+json");
    case Format::kNdjson:
      return type.find("json") != std::string::npos;
    case Format::kCsv:
      return type == "text/csv" || type == "application/csv" || type == "text/plain" ||
             type == "application/octet-stream" || type == "application/vnd.ms-excel";
  }
  return false;
}

}  // namespace

std::string body_preview(Format format, std::string_view content_type, std::string_view body) {
  const auto first = std::find_if_not(body.begin(), body.end(), is_space);
  const bool markup = first != body.end() && *first == '<';
  const std::string type = media_type(content_type);
  if (!markup && names_format(format, type)) return "";
  const std::string_view shown = body.substr(static_cast<std::size_t>(first - body.begin()));
  std::string start;
  for (const char c : shown.substr(0, kShown))
    start += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  while (!start.empty() && start.back() == ' ') start.pop_back();
  if (shown.size() > kShown) start += "...";
  const std::string had =
      content_type.empty() ? "no Content-Type" : fmt::format("Content-Type {}", content_type);
  return start.empty() ? fmt::format("; the response had {} and an empty body", had)
                       : fmt::format("; the response had {} and began: {}", had, start);
}

}  // namespace offpeak
