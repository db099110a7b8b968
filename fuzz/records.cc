// Fuzzes record extraction (RecordExtractor, records.h, and the CSV reader under it): a page
// body of a JSON, NDJSON or CSV source becoming offpeak-scrape's output lines.
//
// The first bytes set the source up as regions.toml could: its format, the JSON pointer to
// its records, its key fields (names or pointers), its columns or member_key, and how it
// pages; the rest is the body. Checked besides the sanitizers: the body is given back as it
// was, every output line is a JSON object, and extracting the same body again (the next
// page, with the parser kept) gives the same result.

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "json_check.h"
#include "records.h"
#include "source.h"
#include "timestamp.h"

namespace {

using offpeak::fuzz::check;

// The choices, taken from the demo's sources and their pages (see fuzz/corpus/records).
constexpr const char* kRecords[] = {"",           "/results", "/Time Series FX (Daily)",
                                    "/data/rows", "/0",       "/a~1b"};
const std::vector<std::string> kKeys[] = {{"T", "t"}, {"code", "date"}, {"KEY", "TIME_PERIOD"},
                                          {"date"},   {"open_time"},    {"id"},
                                          {"/a/b"},   {"id", "/v/0"},   {"/~0x/~1y"}};
const std::vector<std::string> kColumns[] = {
    {},
    {"open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades",
     "taker_base_volume", "taker_quote_volume", "ignore"},
    {"code", "date", "close"},
    {"id", "v"}};

// The source the setup bytes describe, or nothing when regions.toml would refuse it.
std::optional<offpeak::Source> make_source(offpeak::fuzz::FuzzInput& in) {
  offpeak::Source s;
  s.name = "bars";
  constexpr offpeak::Format kFormats[] = {offpeak::Format::kJson, offpeak::Format::kNdjson,
                                          offpeak::Format::kCsv};
  s.format = kFormats[in.choice(std::size(kFormats))];
  const std::size_t records = in.choice(std::size(kRecords));
  s.key = kKeys[in.choice(std::size(kKeys))];
  const std::uint8_t shape = in.byte();
  const std::uint8_t paging = in.byte();
  if (s.format == offpeak::Format::kJson) s.records = kRecords[records];
  if (s.format != offpeak::Format::kNdjson) s.columns = kColumns[shape % std::size(kColumns)];
  if (s.format == offpeak::Format::kJson && s.columns.empty() && (shape & 0x80))
    s.member_key = "date";
  if (s.format == offpeak::Format::kCsv && !s.columns.empty())
    for (const std::string& k : s.key)
      if (std::find(s.columns.begin(), s.columns.end(), k) == s.columns.end()) return {};
  switch (paging % 3) {
    case 1:
      s.paginate.kind = offpeak::PageKind::kJsonLink;
      s.paginate.next = "/next";
      break;
    case 2:
      s.paginate.kind = offpeak::PageKind::kCursor;
      s.paginate.cursor = "/meta/cursor";
      s.paginate.param = "cursor";
      break;
    default:
      break;
  }
  if (s.format != offpeak::Format::kJson) s.paginate = {};
  return s;
}

void check_lines(simdjson::dom::parser& json, const offpeak::PageRecords& page) {
  std::size_t lines = 0;
  std::string_view rest = page.lines;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    check(end != std::string_view::npos, "every output line ends in a newline");
    offpeak::fuzz::check_json(json, rest.substr(0, end), simdjson::dom::element_type::OBJECT,
                              "every output line is a JSON object");
    rest.remove_prefix(end + 1);
    ++lines;
  }
  check(lines == page.written, "`written` counts the lines");
  check(page.written + page.skipped.size() <= page.found, "no more records written than found");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static simdjson::dom::parser json;
  static const offpeak::Instant kAt = *offpeak::parse_rfc3339("2026-11-27T22:00:00Z");
  offpeak::fuzz::FuzzInput in(data, size);
  const auto source = make_source(in);
  if (!source) return 0;
  const std::string original(in.rest());

  offpeak::RecordExtractor extractor(*source, "xnys");
  std::string body = original;
  const auto first = extractor.extract(body, kAt);
  check(body == original, "the body is given back as it was");
  check(first || !first.error().message.empty(), "an error says what is wrong");
  if (first) check_lines(json, *first);

  const auto second = extractor.extract(body, kAt);
  check(first.ok() == second.ok(), "the same body fails the same way on the next page");
  if (!first && !second)
    check(second.error().message == first.error().message &&
              second.error().exit == first.error().exit,
          "the same body fails the same way on the next page");
  if (first && second) {
    check(second->lines == first->lines, "the same body gives the same lines");
    check(second->next == first->next, "the same body gives the same next page");
  }
  return 0;
}
