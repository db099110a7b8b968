// What config.cc and source_config.cc share in checking regions.toml: where a TOML node
// sits, how errors are counted, what an id may be, and the "did you mean" hint of an unknown
// key, which names the known key within two single-character edits of the one written.

#include "config_reader.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "config.h"

namespace offpeak::config_detail {
namespace {

// Number of single-character edits between a and b, for "did you mean" hints.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

SourcePos position(const std::string& path, const toml::source_region& source) {
  return {path, static_cast<int>(source.begin.line), static_cast<int>(source.begin.column)};
}

size_t count_errors(const std::vector<Diagnostic>& diagnostics) {
  return static_cast<size_t>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

bool valid_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::optional<std::string> id_problem(std::string_view id) {
  if (!valid_id(id)) return "may use only letters, digits, \"-\" and \"_\"";
  if (id.starts_with('-')) return "may not start with \"-\", which reads as an option";
  if (id.size() > kMaxIdLength)
    return fmt::format("has {} characters; at most {}, so that the file names made from it fit",
                       id.size(), kMaxIdLength);
  return std::nullopt;
}

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return out;
}

std::string unknown_key(std::string_view key, std::span<const std::string_view> known) {
  std::string message = fmt::format("unknown key \"{}\"", key);
  for (std::string_view candidate : known)
    if (edit_distance(key, candidate) <= 2) {
      message += fmt::format("; did you mean \"{}\"?", candidate);
      break;
    }
  return message;
}

}  // namespace offpeak::config_detail
