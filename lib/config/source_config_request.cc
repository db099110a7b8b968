// regions.toml's source keys for what a request sends and when a source has failed: method,
// body and body_type; min_records and max_skipped (also under [defaults]).
//
// The idea: these keys are read after url and paginate, so a body's cross-checks (a body
// needs POST; pagination "in" the body needs a JSON one) can name every key involved.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "config_reader.h"

namespace offpeak::config_detail {

// method, body and body_type: what a POST sends, and where pagination goes into it.
void SourceReader::read_request(const toml::table& table, Source& source) {
  if (const auto* node = table.get("method")) {
    const auto text = node->value<std::string>().value_or("");
    std::string upper = text;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (text == "GET" || text == "POST")
      source.post = text == "POST";
    else if (upper == "GET" || upper == "POST")
      error(node->source(), "method",
            fmt::format("must be \"GET\" or \"POST\"; did you mean \"{}\"?", upper));
    else
      error(node->source(), "method", "must be \"GET\" or \"POST\"");
  }
  if (const auto* node = table.get("body_type")) {
    const auto text = node->value<std::string>();
    if (text == "json")
      source.body_type = BodyType::kJson;
    else if (text == "form")
      source.body_type = BodyType::kForm;
    else if (text == "text")
      source.body_type = BodyType::kText;
    else
      error(node->source(), "body_type", "must be \"json\", \"form\" or \"text\"");
    if (!table.contains("body"))
      error(node->source(), "body_type", "applies to a \"body\"; give one, or drop body_type");
  }
  if (const auto* node = table.get("body")) {
    const auto text = node->value<std::string>();
    if (!text || text->empty())
      error(node->source(), "body",
            "must be a non-empty string, the template of what a POST sends");
    else if (!source.post)
      error(node->source(), "body", "needs method = \"POST\"; a GET sends no body");
    else
      source.body = *text;
  }
  const auto* paginate = table.get("paginate");
  if (source.paginate.in_body && paginate &&
      (!source.post || source.body.empty() || source.body_type != BodyType::kJson))
    error(paginate->source(), "paginate",
          "\"in\" = \"body\" needs method = \"POST\" and a JSON body (body_type \"json\")");
}

// min_records and max_skipped: when a source that answered still failed.
void SourceReader::read_rule(const toml::table& table, Source& source) {
  if (const auto* node = table.get("min_records")) {
    const auto n = node->value<std::int64_t>();
    if (!n || *n < 0 || *n > 1'000'000'000)
      error(node->source(), "min_records",
            "must be a whole number from 0 (the source may be empty) to 1000000000");
    else
      source.min_records = *n;
  }
  const auto* node = table.get("max_skipped");
  if (!node) return;
  std::int64_t n = -1;
  bool percent = false;
  if (const auto count = node->value<std::int64_t>(); count && node->is_integer()) {
    n = *count <= 1'000'000'000 ? *count : -1;
  } else if (const auto text = node->value<std::string>(); text && text->ends_with('%')) {
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size() - 1, n);
    if (ec != std::errc{} || end != text->data() + text->size() - 1 || n > 100) n = -1;
    percent = true;
  }
  if (n < 0)
    return error(node->source(), "max_skipped",
                 "must be a count of records from 0 to 1000000000, like 10, or a percentage of "
                 "the records found from \"0%\" to \"100%\", like \"5%\"");
  source.max_skipped = n;
  source.max_skipped_percent = percent;
}

}  // namespace offpeak::config_detail
