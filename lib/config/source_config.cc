// regions.toml's sources: checking [defaults] and each [[regions.ID.sources]] table.
//
// Every source starts as a copy of [defaults] and each key it sets overrides theirs, so one
// reader holds the defaults across regions. Its templates (url and headers) are checked only
// once its paginate type is known, as that decides the variables they may use.

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "config_reader.h"
#include "duration.h"
#include "url_template.h"

namespace offpeak::config_detail {
namespace {

// Keys of a [[regions.ID.sources]] table; the limits among them may also go in [defaults].
constexpr std::array<std::string_view, 34> kSourceKeys{"name",
                                                       "url",
                                                       "format",
                                                       "records",
                                                       "columns",
                                                       "member_key",
                                                       "key",
                                                       "headers",
                                                       "paginate",
                                                       "max_pages",
                                                       "timeout",
                                                       "retries",
                                                       "max_bytes",
                                                       "concurrency",
                                                       "user_agent",
                                                       "rate_limit",
                                                       "rate_limit_key",
                                                       "delimiter",
                                                       "quote",
                                                       "header",
                                                       "skip_lines",
                                                       "decimal",
                                                       "numbers",
                                                       "min_records",
                                                       "max_skipped",
                                                       "method",
                                                       "body",
                                                       "body_type",
                                                       "complete",
                                                       "key_names",
                                                       "fields",
                                                       "from",
                                                       "emit",
                                                       "include_from_parent"};
// The CSV dialect's keys, which apply only to format "csv".
constexpr std::array<std::string_view, 6> kCsvKeys{"delimiter",  "quote",   "header",
                                                   "skip_lines", "decimal", "numbers"};
constexpr std::array<std::string_view, 11> kDefaultsKeys{
    "headers",    "max_pages",      "timeout",     "retries",     "max_bytes", "concurrency",
    "user_agent", "rate_limit_key", "min_records", "max_skipped", "rate_limit"};
constexpr std::array<std::string_view, 6> kPaginateTypes{"none",   "json_link", "header_link",
                                                         "cursor", "page",      "offset"};

// RFC 6901: "" or "/" followed by reference tokens, where "~" only starts "~0" or "~1".
bool valid_json_pointer(std::string_view p) {
  if (p.empty()) return true;
  if (p.front() != '/') return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] == '~' && (i + 1 == p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  return true;
}

// An HTTP header name: RFC 9110's token characters.
bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// "5/s", "100/min", "1000/h": the time between two request starts, or nothing.
std::optional<std::chrono::nanoseconds> parse_rate(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + slash, count);
  if (ec != std::errc{} || end != text.data() + slash || count < 1 || count > 1'000'000)
    return std::nullopt;
  const std::string_view unit = text.substr(slash + 1);
  const std::chrono::nanoseconds per = unit == "s"     ? std::chrono::seconds(1)
                                       : unit == "min" ? std::chrono::minutes(1)
                                       : unit == "h"   ? std::chrono::hours(1)
                                                       : std::chrono::nanoseconds(0);
  if (per.count() == 0) return std::nullopt;
  return per / count;
}

bool same_header(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

void SourceReader::read_defaults(const toml::node& node) {
  region_id_.clear();
  label_ = "defaults";
  const auto* table = node.as_table();
  if (!table) return error(node.source(), "", "must be a table of values sources inherit");
  for (auto&& [key, value] : *table)
    if (std::find(kDefaultsKeys.begin(), kDefaultsKeys.end(), key.str()) == kDefaultsKeys.end())
      error(key.source(), "",
            std::find(kSourceKeys.begin(), kSourceKeys.end(), key.str()) != kSourceKeys.end()
                ? fmt::format("\"{}\" belongs to each source, not to [defaults]", key.str())
                : unknown_key(key.str(), kDefaultsKeys));
  read_limits(*table, defaults_);
  read_rule(*table, defaults_);
  if (const auto* headers = table->get("headers")) read_headers(*headers, defaults_);
}

void SourceReader::read_sources(const toml::node& node, const Region& region,
                                std::vector<Source>& sources) {
  region_id_ = region.id;
  const auto* array = node.as_array();
  if (!array || !array->is_array_of_tables()) {
    label_.clear();
    return error(node.source(), "sources",
                 "must be an array of tables, written [[regions." + region.id + ".sources]]");
  }
  for (size_t i = 0; i < array->size(); ++i) {
    label_ = fmt::format("sources[{}]", i + 1);
    if (auto source = read_source(*array->get(i)->as_table(), region))
      sources.push_back(std::move(*source));
  }
  check_parents();
  names_.clear();
}

std::optional<Source> SourceReader::read_source(const toml::table& table, const Region& region) {
  const size_t errors_before = error_count();
  Source source = defaults_;
  source.pos = pos_of(table.source());
  const auto* name = table.get("name");
  if (!name) {
    diagnostics_.push_back({Severity::kError, source.pos, region_id_, label_,
                            "missing \"name\", the source's id within the region"});
  } else if (const auto text = name->value<std::string>(); !text || !valid_id(*text)) {
    error(name->source(), "name",
          "must be a string of letters, digits, \"-\" and \"_\", like \"daily-bars\"");
  } else {
    source.name = *text;
    label_ = fmt::format("source \"{}\"", *text);
    if (std::find(names_.begin(), names_.end(), *text) != names_.end())
      error(name->source(), "name",
            fmt::format("\"{}\" is used by an earlier source of the region", *text));
    names_.push_back(*text);
  }
  for (auto&& [key, value] : table)
    if (std::find(kSourceKeys.begin(), kSourceKeys.end(), key.str()) == kSourceKeys.end())
      error(key.source(), "", unknown_key(key.str(), kSourceKeys));

  read_format(table, source);
  read_parent(table, source);
  read_paginate(table, source);
  read_url(table, region, source);
  read_request(table, source);
  read_shape(table, source);
  read_csv(table, source);
  read_key(table, source);
  read_complete(table, source);
  read_typed_fields(table, region_id_, source,
                    [this](const toml::source_region& at, std::string_view key,
                           std::string message) { error(at, key, std::move(message)); });
  read_limits(table, source);
  read_rule(table, source);
  if (const auto* headers = table.get("headers")) read_headers(*headers, source);
  const auto* paginate = table.get("paginate");
  if (paginate && !source.url.empty()) check_page_variable(source, *paginate);
  check_header_templates(table, region, source);
  if (const auto* body = table.get("body"); body && !source.body.empty()) {
    if (auto checked = check_template(source.body, template_variables(region, source), true);
        !checked)
      error(body->source(), "body", std::move(checked).error().message);
  }
  check_parent_variables(table, source);

  if (error_count() != errors_before) return std::nullopt;
  return source;
}

void SourceReader::read_format(const toml::table& table, Source& source) {
  const auto* node = table.get("format");
  if (!node) return;
  const auto text = node->value<std::string>();
  if (text == "json")
    source.format = Format::kJson;
  else if (text == "ndjson")
    source.format = Format::kNdjson;
  else if (text == "csv")
    source.format = Format::kCsv;
  else
    error(node->source(), "format", "must be \"json\", \"ndjson\" or \"csv\"");
}

void SourceReader::read_url(const toml::table& table, const Region& region, Source& source) {
  const auto* node = table.get("url");
  if (!node) {
    diagnostics_.push_back({Severity::kError, source.pos, region_id_, label_,
                            "missing \"url\", the address to fetch"});
    return;
  }
  const auto text = node->value<std::string>();
  if (!text) return error(node->source(), "url", "must be a string");
  if (!text->starts_with("https://") && !text->starts_with("http://") && !text->starts_with("${"))
    return error(node->source(), "url",
                 fmt::format("\"{}\" must start with https:// or http://", *text));
  const auto variables = template_variables(region, source);
  if (auto checked = check_template(*text, variables); !checked)
    return error(node->source(), "url", std::move(checked).error().message);
  source.url = *text;
}

// records, columns and member_key: where the records are and how rows become objects.
void SourceReader::read_shape(const toml::table& table, Source& source) {
  const bool json = source.format == Format::kJson;
  if (const auto* node = table.get("records")) {
    const auto text = node->value<std::string>();
    if (!json)
      error(node->source(), "records", "applies only to format \"json\"");
    else if (!text || !valid_json_pointer(*text))
      error(node->source(), "records",
            "must be a JSON pointer like \"/results\", or \"\" for the whole document");
    else
      source.records = *text;
  }
  if (const auto* node = table.get("columns")) {
    const auto* array = node->as_array();
    if (source.format == Format::kNdjson) {
      error(node->source(), "columns", "applies only to formats \"json\" and \"csv\"");
    } else if (!array || array->empty()) {
      error(node->source(), "columns", "must be a non-empty array of field names");
    } else {
      for (const toml::node& element : *array) {
        const auto name = element.value<std::string>();
        if (!name || name->empty()) {
          error(element.source(), "columns", "must be a non-empty array of field names");
        } else if (std::find(source.columns.begin(), source.columns.end(), *name) !=
                   source.columns.end()) {
          error(element.source(), "columns", fmt::format("\"{}\" is listed twice", *name));
        } else {
          source.columns.push_back(*name);
        }
      }
    }
  }
  if (const auto* node = table.get("member_key")) {
    const auto text = node->value<std::string>();
    if (!json)
      error(node->source(), "member_key", "applies only to format \"json\"");
    else if (!text || text->empty())
      error(node->source(), "member_key", "must be the name of the field for each member's name");
    else if (table.contains("columns"))
      error(node->source(), "member_key",
            "give \"columns\" (records are arrays) or \"member_key\" (records are members), "
            "not both");
    else
      source.member_key = *text;
  }
}

// The CSV dialect: delimiter, quote, header, skip_lines, decimal and numbers.
void SourceReader::read_csv(const toml::table& table, Source& source) {
  CsvDialect& csv = source.csv;
  for (std::string_view key : kCsvKeys)
    if (const auto* node = table.get(key); node && source.format != Format::kCsv)
      error(node->source(), key, "applies only to format \"csv\"");
  if (source.format != Format::kCsv) return;
  const auto one_of = [&](std::string_view key, std::string_view allowed, std::string_view valid,
                          char& out) {
    const auto* node = table.get(key);
    if (!node) return;
    const auto text = node->value<std::string>();
    if (!text || text->size() > 1 ||
        allowed.find(text->empty() ? '\0' : text->front()) == std::string_view::npos)
      return error(node->source(), key, fmt::format("must be one of {}", valid));
    out = text->empty() ? '\0' : text->front();
  };
  one_of("delimiter", std::string_view(",;\t|"), R"("," ";" "\t" (tab) "|")", csv.delimiter);
  one_of("quote", std::string_view("\"'\0", 3), R"("\"" "'" "" (fields are never quoted))",
         csv.quote);
  one_of("decimal", ".,", R"("." ",")", csv.decimal);
  if (csv.quote != '\0' && csv.quote == csv.delimiter)
    error(table.get("quote")->source(), "quote", "must differ from the delimiter");
  if (const auto* node = table.get("header")) {
    if (const auto flag = node->value<bool>())
      csv.header = *flag;
    else
      error(node->source(), "header", "must be true (the first row names the fields) or false");
    if (!csv.header && source.columns.empty())
      error(node->source(), "header", "false needs \"columns\", the names of the fields");
  }
  if (const auto* node = table.get("skip_lines")) {
    const auto n = node->value<std::int64_t>();
    if (!n || *n < 0 || *n > 1'000'000)
      error(node->source(), "skip_lines", "must be a whole number from 0 to 1000000");
    else
      csv.skip_lines = *n;
  }
  if (const auto* node = table.get("numbers")) {
    const auto* array = node->as_array();
    if (!array || array->empty())
      return error(node->source(), "numbers", "must be a non-empty array of field names");
    for (const toml::node& element : *array) {
      const auto name = element.value<std::string>();
      if (!name || name->empty())
        error(element.source(), "numbers", "must be a non-empty array of field names");
      else if (std::find(csv.numbers.begin(), csv.numbers.end(), *name) != csv.numbers.end())
        error(element.source(), "numbers", fmt::format("\"{}\" is listed twice", *name));
      else if (!source.columns.empty() && std::find(source.columns.begin(), source.columns.end(),
                                                    *name) == source.columns.end())
        error(element.source(), "numbers", fmt::format("\"{}\" is not one of the columns", *name));
      else
        csv.numbers.push_back(*name);
    }
  }
  if (const auto* node = table.get("decimal"); node && !table.contains("numbers"))
    error(node->source(), "decimal",
          "applies to the fields in \"numbers\"; list the fields to write as numbers");
}

void SourceReader::read_key(const toml::table& table, Source& source) {
  const auto* node = table.get("key");
  if (!node) {
    diagnostics_.push_back(
        {Severity::kError, source.pos, region_id_, label_,
         "missing \"key\", the fields that identify a record, like [\"symbol\", \"date\"]"});
    return;
  }
  const auto* array = node->as_array();
  if (!array || array->empty())
    return error(node->source(), "key",
                 "must be a non-empty array of field names or JSON pointers");
  for (const toml::node& element : *array) {
    const auto field = element.value<std::string>();
    if (!field || field->empty())
      error(element.source(), "key", "must be a non-empty array of field names or JSON pointers");
    else if (field->front() == '/' && !valid_json_pointer(*field))
      error(
          element.source(), "key",
          fmt::format("\"{}\" is not a JSON pointer (\"~\" must start \"~0\" or \"~1\")", *field));
    else if (std::find(source.key.begin(), source.key.end(), *field) != source.key.end())
      error(element.source(), "key", fmt::format("\"{}\" is listed twice", *field));
    else
      source.key.push_back(*field);
  }
  if (source.format == Format::kCsv && !source.columns.empty())
    for (const auto& field : source.key)
      if (field.front() != '/' &&
          std::find(source.columns.begin(), source.columns.end(), field) == source.columns.end())
        error(node->source(), "key", fmt::format("\"{}\" is not one of the columns", field));
}

// `complete = "source"`: a run returns every record of the source; `complete = { scope = N }`:
// every record of each scope it returns, a scope being the first N parts of the key.
void SourceReader::read_complete(const toml::table& table, Source& source) {
  const auto* node = table.get("complete");
  if (!node) return;
  if (!source.from.empty()) {
    error(node->source(), "complete",
          fmt::format("a dependent source (from = \"{}\") cannot declare its runs complete: "
                      "its chains end one by one, and a failed one would mark its records deleted",
                      source.from));
    return;
  }
  constexpr std::string_view kForms = R"(must be "source" or a table like { scope = 1 })";
  if (const auto text = node->value<std::string>()) {
    if (*text == "source") {
      source.complete.kind = Completeness::kSource;
    } else if (*text == "scope") {
      error(node->source(), "complete",
            "\"scope\" needs its key parts: write { scope = N }, N the leading parts of the key");
    } else {
      const bool near = edit_distance(*text, "source") <= 2;
      error(node->source(), "complete",
            fmt::format("\"{}\" {}{}", *text, kForms, near ? R"(; did you mean "source"?)" : ""));
    }
    return;
  }
  const auto* options = node->as_table();
  if (!options) return error(node->source(), "complete", std::string(kForms));
  constexpr std::array<std::string_view, 1> kKeys{"scope"};
  for (auto&& [key, value] : *options)
    if (key.str() != "scope") error(key.source(), "complete", unknown_key(key.str(), kKeys));
  const auto* scope = options->get("scope");
  if (!scope) return error(node->source(), "complete", "needs \"scope\", like { scope = 1 }");
  const auto parts = scope->value<std::int64_t>();
  const auto most = static_cast<std::int64_t>(source.key.size()) - 1;
  if (most < 1)
    return error(scope->source(), "complete",
                 "\"scope\" needs a key of two parts or more; for the whole source write "
                 "complete = \"source\"");
  if (!parts || *parts < 1 || *parts > most)
    return error(scope->source(), "complete",
                 fmt::format("\"scope\" must be a whole number from 1 to {}, fewer than the "
                             "key's {} parts",
                             most, most + 1));
  source.complete = {Completeness::kScope, static_cast<int>(*parts)};
}

void SourceReader::read_paginate(const toml::table& table, Source& source) {
  const auto* node = table.get("paginate");
  if (!node) return;
  const auto* paginate = node->as_table();
  if (!paginate)
    return error(node->source(), "paginate",
                 "must be a table, like { type = \"json_link\", next = \"/next_url\" }");
  const auto type_text = paginate->get("type") ? (*paginate)["type"].value<std::string>()
                                               : std::optional<std::string>();
  const auto type = type_text ? std::find(kPaginateTypes.begin(), kPaginateTypes.end(), *type_text)
                              : kPaginateTypes.end();
  if (type == kPaginateTypes.end())
    return error(paginate->get("type") ? paginate->get("type")->source() : node->source(),
                 "paginate",
                 "\"type\" must be one of \"none\", \"json_link\", \"header_link\", "
                 "\"cursor\", \"page\", \"offset\"");
  Pagination& p = source.paginate;
  p.kind = static_cast<PageKind>(type - kPaginateTypes.begin());

  // The keys each type takes, each with whether it is required.
  std::vector<std::pair<std::string_view, bool>> keys{{"type", true}};
  switch (p.kind) {
    case PageKind::kJsonLink:
      keys.insert(keys.end(), {{"next", true}});
      break;
    case PageKind::kCursor:
      keys.insert(keys.end(), {{"cursor", true}, {"param", false}, {"in", false}});
      break;
    case PageKind::kPage:
      keys.insert(keys.end(), {{"param", false}, {"start", false}, {"in", false}});
      break;
    case PageKind::kOffset:
      keys.insert(keys.end(), {{"param", false}, {"limit", true}, {"in", false}});
      break;
    default:
      break;
  }
  for (auto&& [key, value] : *paginate)
    if (std::none_of(keys.begin(), keys.end(),
                     [&key = key](const auto& k) { return k.first == key.str(); }))
      error(key.source(), "paginate",
            fmt::format("\"{}\" does not apply to type \"{}\"", key.str(), *type_text));
  for (const auto& [key, required] : keys)
    if (required && !paginate->contains(key))
      error(node->source(), "paginate", fmt::format("type \"{}\" needs \"{}\"", *type_text, key));

  const auto pointer = [&](std::string_view key, std::string& out) {
    const auto* value = paginate->get(key);
    if (!value) return;
    const auto text = value->value<std::string>();
    if (!text || text->empty() || !valid_json_pointer(*text))
      error(value->source(), "paginate",
            fmt::format("\"{}\" must be a JSON pointer, like \"/next_url\"", key));
    else
      out = *text;
  };
  pointer("next", p.next);
  pointer("cursor", p.cursor);
  if (const auto* value = paginate->get("param")) {
    const auto text = value->value<std::string>();
    if (!text || text->empty())
      error(value->source(), "paginate", "\"param\" must be a query parameter name");
    else
      p.param = *text;
  }
  if (const auto* value = paginate->get("start")) {
    const auto n = value->value<std::int64_t>();
    if (!n || *n < 0)
      error(value->source(), "paginate", "\"start\" must be a whole number, 0 or more");
    else
      p.start = *n;
  }
  if (const auto* value = paginate->get("limit")) {
    const auto n = value->value<std::int64_t>();
    if (!n || *n < 1)
      error(value->source(), "paginate", "\"limit\" must be a whole number, 1 or more");
    else
      p.limit = *n;
  }
  if (const auto* value = paginate->get("in")) {
    const auto text = value->value<std::string>();
    if (text != "query" && text != "body")
      error(value->source(), "paginate",
            "\"in\" must be \"query\" (the url's query string) or \"body\" (a member of the "
            "JSON body)");
    else if (*text == "body" && !paginate->contains("param"))
      error(value->source(), "paginate", "\"in\" = \"body\" needs \"param\", the member's name");
    else
      p.in_body = *text == "body";
  }
  const bool reads_body = p.kind == PageKind::kJsonLink || p.kind == PageKind::kCursor;
  if (reads_body && source.format != Format::kJson)
    error(node->source(), "paginate",
          fmt::format("type \"{}\" reads the body, so it needs format \"json\"", *type_text));
}

// A page, offset or cursor value travels in `param`, or in the url as {page}, {offset},
// {cursor}; a source that gives neither would fetch its first page forever.
void SourceReader::check_page_variable(const Source& source, const toml::node& where) {
  const std::string_view variable = source.paginate.kind == PageKind::kPage     ? "page"
                                    : source.paginate.kind == PageKind::kOffset ? "offset"
                                    : source.paginate.kind == PageKind::kCursor ? "cursor"
                                                                                : "";
  const std::string placeholder = fmt::format("{{{}}}", variable);
  if (variable.empty() || !source.paginate.param.empty() ||
      source.url.find(placeholder) != std::string::npos ||
      source.body.find(placeholder) != std::string::npos)
    return;
  error(where.source(), "paginate",
        fmt::format("give \"param\", the query parameter for the {0}, or put {{{0}}} in the url{1}",
                    variable, source.post ? " or the body" : ""));
}

void SourceReader::read_headers(const toml::node& node, Source& source) {
  const auto* table = node.as_table();
  if (!table)
    return error(node.source(), "headers",
                 "must be a table of strings, like { Authorization = \"Bearer ${API_KEY}\" }");
  for (auto&& [name, value] : *table) {
    const auto text = value.value<std::string>();
    if (!valid_header_name(name.str())) {
      error(name.source(), "headers", fmt::format("\"{}\" is not a header name", name.str()));
      continue;
    }
    if (!text || text->find_first_of("\r\n") != std::string::npos) {
      error(value.source(), "headers", fmt::format("{}: must be a string on one line", name.str()));
      continue;
    }
    auto& headers = source.headers;
    const auto same = std::find_if(headers.begin(), headers.end(), [&name = name](const auto& h) {
      return same_header(h.first, name.str());
    });
    if (same != headers.end())
      same->second = *text;
    else
      headers.emplace_back(std::string(name.str()), *text);
  }
}

// Header templates are checked once the source's variables are known (they depend on
// its paginate type), defaults' headers included.
void SourceReader::check_header_templates(const toml::table& table, const Region& region,
                                          const Source& source) {
  const auto variables = template_variables(region, source);
  for (const auto& [name, value] : source.headers) {
    const auto checked = check_template(value, variables);
    if (checked) continue;
    const auto* headers = table.get("headers");
    const auto* where = headers && headers->as_table() ? headers->as_table()->get(name) : nullptr;
    error(where ? where->source() : table.source(), "headers",
          fmt::format("{}: {}", name, checked.error().message));
  }
}

// The limits a source shares with [defaults].
void SourceReader::read_limits(const toml::table& table, Source& source) {
  const auto whole = [&](std::string_view key, std::int64_t min, std::int64_t max, auto& out) {
    const auto* node = table.get(key);
    if (!node) return;
    const auto n = node->value<std::int64_t>();
    if (!n || *n < min || *n > max)
      return error(node->source(), key,
                   fmt::format("must be a whole number from {} to {}", min, max));
    out = static_cast<std::remove_reference_t<decltype(out)>>(*n);
  };
  whole("max_pages", 1, 1'000'000'000, source.max_pages);
  whole("retries", 0, 100, source.retries);
  whole("max_bytes", 1, std::int64_t{1} << 40, source.max_bytes);
  whole("concurrency", 1, 64, source.concurrency);
  if (const auto* node = table.get("timeout")) {
    const auto text = node->value<std::string>();
    const auto duration = text ? parse_duration(*text) : std::nullopt;
    if (!duration || *duration <= std::chrono::seconds(0))
      error(node->source(), "timeout", "must be a duration above zero, like \"30s\" or \"2m\"");
    else
      source.timeout = *duration;
  }
  if (const auto* node = table.get("user_agent")) {
    const auto text = node->value<std::string>();
    if (!text || text->empty() || text->find_first_of("\r\n") != std::string::npos)
      error(node->source(), "user_agent", "must be a non-empty string on one line");
    else
      source.user_agent = *text;
  }
  if (const auto* node = table.get("rate_limit")) {
    const auto text = node->value<std::string>();
    const auto interval = text ? parse_rate(*text) : std::nullopt;
    if (!interval)
      error(node->source(), "rate_limit",
            "must be requests per unit, 1 to 1000000 per \"s\", \"min\" or \"h\", like \"5/s\" "
            "or \"100/min\"");
    else
      source.rate_interval = *interval;
  }
  if (const auto* node = table.get("rate_limit_key")) {
    const auto text = node->value<std::string>();
    if (!text || !valid_id(*text))
      error(node->source(), "rate_limit_key",
            "must be a name of letters, digits, \"-\" and \"_\", like \"polygon\"");
    else
      source.rate_limit_key = *text;
  }
}

void SourceReader::error(const toml::source_region& at, std::string_view key, std::string message) {
  std::string where = label_;
  if (!key.empty()) where += fmt::format("{}{}", where.empty() ? "" : ": ", key);
  diagnostics_.push_back({Severity::kError, pos_of(at), region_id_, where, std::move(message)});
}

}  // namespace offpeak::config_detail
