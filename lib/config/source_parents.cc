// regions.toml's dependent sources: `from`, `emit`, `include_from_parent`, and the checks
// across a region's sources.
//
// A source with `from` takes its {parent.FIELD} values from the records of another source of
// the same region. Each source is read on its own, so what needs the whole region (that the
// parent exists, that no chain of parents comes back to where it started, that a source whose
// records are not emitted feeds some other source) waits until the region's last source is
// read; the reader keeps each `from` and `emit = false` with its position until then.

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "config_reader.h"
#include "url_template.h"

namespace offpeak {

std::string parent_member(std::string_view from, std::string_view field) {
  std::string name = fmt::format("_{}_", from);
  for (const char c : field) name += c == '.' ? '_' : c;
  return name;
}

namespace config_detail {
namespace {

// A field of a record as {parent.FIELD} names it: field names of letters, digits, '_' and
// '-', joined by '.'.
bool valid_field_path(std::string_view path) {
  std::size_t segment = 0;
  for (const char c : path) {
    if (c == '.') {
      if (segment == 0) return false;
      segment = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      ++segment;
    } else {
      return false;
    }
  }
  return segment > 0;
}

}  // namespace

void SourceReader::read_parent(const toml::table& table, Source& source) {
  if (const auto* node = table.get("from")) {
    const auto text = node->value<std::string>();
    if (!text || !valid_id(*text))
      error(node->source(), "from",
            "must be the name of another source of the region, like \"instruments\"");
    else if (*text == source.name)
      error(node->source(), "from", "a source cannot take its values from its own records");
    else
      parents_.push_back({source.name, *text, label_, pos_of(node->source())});
    if (text && valid_id(*text)) source.from = *text;  // its {parent.FIELD} are not errors too
  }
  if (const auto* node = table.get("emit")) {
    const auto flag = node->value<bool>();
    if (!flag)
      error(node->source(), "emit",
            "must be true (the records are written) or false (they only feed the sources that "
            "take them with \"from\")");
    else
      source.emit = *flag;
    if (flag && !*flag) not_emitted_.push_back({source.name, "", label_, pos_of(node->source())});
  }
  read_include_from_parent(table, source);
}

void SourceReader::read_include_from_parent(const toml::table& table, Source& source) {
  const auto* node = table.get("include_from_parent");
  if (!node) return;
  if (!table.get("from"))
    return error(node->source(), "include_from_parent",
                 "applies only to a dependent source: add \"from\", the source whose records "
                 "the fields come from");
  const auto* array = node->as_array();
  if (!array || array->empty())
    return error(node->source(), "include_from_parent",
                 "must be a non-empty array of fields of the parent's records, like "
                 "[\"symbol\"] or [\"meta.id\"]");
  for (const auto& element : *array) {
    const auto field = element.value<std::string>();
    if (!field || !valid_field_path(*field))
      error(element.source(), "include_from_parent",
            "must name fields of the parent's records: names of letters, digits, \"_\" and "
            "\"-\", joined by \".\" for a field inside another, like \"meta.id\"");
    else if (std::find(source.include_from_parent.begin(), source.include_from_parent.end(),
                       *field) != source.include_from_parent.end())
      error(element.source(), "include_from_parent", fmt::format("\"{}\" is listed twice", *field));
    else
      source.include_from_parent.push_back(*field);
  }
}

// A dependent source whose templates use no {parent.FIELD} would send the same request once
// for every record of its parent.
void SourceReader::check_parent_variables(const toml::table& table, const Source& source) {
  const auto uses_parent = [](std::string_view text) {
    return text.find("{parent.") != std::string_view::npos;
  };
  if (source.from.empty() || source.url.empty() || uses_parent(source.url) ||
      std::any_of(source.headers.begin(), source.headers.end(),
                  [&](const auto& header) { return uses_parent(header.second); }))
    return;
  error(table.get("from")->source(), "from",
        fmt::format("the url and headers use no {{parent.FIELD}}, so every record of \"{}\" "
                    "would send the same request; put a field of its records in the url, "
                    "like {{parent.id}}",
                    source.from));
}

void SourceReader::check_parents() {
  std::map<std::string, std::string> parent_of;
  for (const ParentRef& ref : parents_) {
    if (std::find(names_.begin(), names_.end(), ref.parent) != names_.end()) {
      parent_of[ref.source] = ref.parent;
      continue;
    }
    std::string message = fmt::format("no source \"{}\" in region \"{}\"", ref.parent, region_id_);
    const auto near = std::find_if(names_.begin(), names_.end(), [&](const std::string& name) {
      return name != ref.source && edit_distance(name, ref.parent) <= 2;
    });
    if (near != names_.end()) {
      message += fmt::format("; did you mean \"{}\"?", *near);
    } else {
      std::string known;
      for (const auto& name : names_)
        if (name != ref.source) known += fmt::format("{}\"{}\"", known.empty() ? "" : ", ", name);
      message += known.empty() ? "; it has no other source" : "; it has: " + known;
    }
    diagnostics_.push_back({Severity::kError, ref.pos, region_id_, ref.label + ": from", message});
  }
  // A cycle is reported once, at the `from` of its first source in the file.
  std::vector<std::string> reported;
  for (const ParentRef& ref : parents_) {
    std::vector<std::string> chain{ref.source};
    for (auto at = parent_of.find(ref.source); at != parent_of.end();
         at = parent_of.find(at->second)) {
      const bool seen = std::find(chain.begin(), chain.end(), at->second) != chain.end();
      chain.push_back(at->second);
      if (seen) break;
    }
    if (chain.size() < 2 || chain.back() != ref.source) continue;
    if (std::any_of(chain.begin(), chain.end(), [&](const std::string& name) {
          return std::find(reported.begin(), reported.end(), name) != reported.end();
        }))
      continue;
    reported.insert(reported.end(), chain.begin(), chain.end());
    std::string path;
    for (const auto& name : chain)
      path += fmt::format("{}\"{}\"", path.empty() ? "" : " -> ", name);
    diagnostics_.push_back(
        {Severity::kError, ref.pos, region_id_, ref.label + ": from",
         fmt::format("{} is a cycle: each source takes its values from the records of the next",
                     path)});
  }
  for (const ParentRef& ref : not_emitted_) {
    if (std::any_of(parents_.begin(), parents_.end(),
                    [&](const ParentRef& p) { return p.parent == ref.source; }))
      continue;
    diagnostics_.push_back({Severity::kWarning, ref.pos, region_id_, ref.label + ": emit",
                            "false, but no source takes its records with \"from\", so the "
                            "source fetches for nothing"});
  }
  parents_.clear();
  not_emitted_.clear();
}

}  // namespace config_detail
}  // namespace offpeak
