// Fuzzes one line of offpeak-load's input (LineParser, ndjson_input.h), and the reject-file
// line written for it when it is bad.
//
// The first byte sets how the line was read (last line without a newline, cut at the size
// limit); the rest is the line. The parser is kept across inputs, as the loader keeps it
// across lines. Checked besides the sanitizers: a good line's key is a JSON array and its
// record a JSON object, neither holding \u0000 (a line that passes must not fail in the
// database), and a bad line's reject-file line is a JSON object.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "json_check.h"
#include "ndjson_input.h"

using offpeak::fuzz::check;
using offpeak::fuzz::check_json;
using Type = simdjson::dom::element_type;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static offpeak::LineParser parser;
  static simdjson::dom::parser json;
  offpeak::fuzz::FuzzInput in(data, size);
  const std::uint8_t setup = in.byte();
  offpeak::InputLine line;
  line.text = in.rest();
  line.number = 1 + (setup >> 2);
  line.complete = (setup & 1) == 0;
  line.truncated = (setup & 2) != 0;

  offpeak::NdjsonRecord record;
  if (const auto parsed = parser.parse(line, record); !parsed) {
    const std::string& reason = parsed.error().message;
    check(!reason.empty(), "a bad line has a reason");
    check(parsed.error().exit == offpeak::kExitDataErr, "a bad line is bad data");
    check_json(json, offpeak::reject_json((setup & 4) ? "in.ndjson" : "", line, reason),
               Type::OBJECT, "a reject line is a JSON object");
    return 0;
  }
  check(!line.truncated, "a truncated line is bad");
  check(record.region.find('\0') == std::string_view::npos, "region holds no NUL");
  check(record.source.find('\0') == std::string_view::npos, "source holds no NUL");
  check_json(json, record.key, Type::ARRAY, "a good line's key is a JSON array");
  check_json(json, record.record, Type::OBJECT, "a good line's record is a JSON object");
  check(record.key != "[]", "a good line's key is not empty");
  check(!offpeak::fuzz::has_nul_escape(record.key), "a good line's key holds no \\u0000");
  check(!offpeak::fuzz::has_nul_escape(record.record), "a good line's record holds no \\u0000");
  return 0;
}
