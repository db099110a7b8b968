// Record extraction: the bodies of a source's pages become offpeak-scrape's output lines.
//
// The idea: simdjson's On-Demand parser indexes a page in one SIMD pass, and a walk over
// the records then copies each token's original text into the output, leaving out the
// whitespace between tokens. Numbers are never converted, so a price keeps its digits and
// an integer of any size survives; because On-Demand checks only what a program reads, the
// walk checks each token (ondemand_walk.h: number grammar, string escapes, literals, nesting)
// and the output is always valid JSON that offpeak-load takes. Once checked, a record object is
// copied out in one simdjson::minify call, and its key values are views of their tokens in the
// page; with one scratch buffer for the record, the page's output string reserved ahead and the
// parser kept across pages, a record costs no allocation. A dependent source's
// include_from_parent values are appended to each record object as its last members.

#include "records.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>

#include "csv.h"
#include "json_check.h"
#include "json_text.h"
#include "ondemand_walk.h"
#include "source.h"

namespace offpeak {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);

constexpr std::size_t kNoSpan = std::string::npos;

Error bad_data(std::string message) { return {kExitDataErr, std::move(message)}; }

// One entry of a source's `key`: a field of the record, and a pointer into that field's
// value when the entry is a JSON pointer of more than one token.
struct KeyPart {
  std::string name;   // as configured, for messages
  std::string field;  // the first reference token, unescaped
  std::string rest;   // the rest of the pointer ("/symbol"); empty for the field itself
};

KeyPart key_part(const std::string& name) {
  KeyPart part{name, name, ""};
  if (!name.starts_with('/')) return part;
  const std::size_t slash = name.find('/', 1);
  const std::string_view token = std::string_view(name).substr(1, slash - 1);
  part.field.clear();
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      part.field += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      part.field += token[i];
    }
  }
  if (slash != std::string::npos) part.rest = name.substr(slash);
  return part;
}

}  // namespace

struct RecordExtractor::Impl {
  Format format;
  std::string records;
  std::string member_key;
  Pagination paginate;
  std::vector<std::string> configured_columns;
  std::vector<std::string> column_names;  // for array rows; CSV's header unless `columns`
  std::vector<std::string> column_json;   // the same as JSON strings
  CsvDialect csv;
  std::vector<bool> number_columns;  // CSV: the columns written as numbers
  std::vector<KeyPart> keys;
  std::vector<std::size_t> key_columns;        // each key's position in column_names, or kNoSpan
  std::vector<std::string> parent_names;       // include_from_parent's members
  std::vector<std::string> parent_json;        // the same as JSON strings
  std::span<const std::string> parent_values;  // their values for this page
  std::string column_clash;                    // a column named as one of them
  std::string clash;                           // a field of the record named as one of them
  std::string prefix;                          // {"region":R,"source":S,"key":[
  std::string middle;                          // ],"fetched_at":T,"record":   (per page)

  od::parser parser;
  od::parser key_parser;           // for keys that point into a field's value
  std::string record;              // the record being built, minified
  const char* text_end = nullptr;  // the end of the text being parsed
  // Each key's value: minified JSON in the page, in `key_values` or (as `key_spans`) in
  // `record`; no data() when not found.
  std::vector<std::string_view> key_text;
  std::vector<std::string> key_values;
  std::vector<std::string> pointer_values;  // values of keys that point into a field
  std::vector<std::pair<std::size_t, std::size_t>> key_spans;
  std::string key_buffer;  // a field's value, padded for key_parser
  std::string scratch;
  std::vector<CsvField> fields;
  double output_ratio = 2.5;  // output bytes per body byte, to reserve the output ahead

  Impl(const Source& source, std::string_view region)
      : format(source.format),
        records(source.records),
        member_key(source.member_key),
        paginate(source.paginate),
        configured_columns(source.columns),
        csv(source.csv) {
    for (const std::string& k : source.key) keys.push_back(key_part(k));
    for (const std::string& field : source.include_from_parent) {
      parent_names.push_back(parent_member(source.from, field));
      parent_json.push_back(json_string(parent_names.back()));
    }
    key_text.resize(keys.size());
    key_values.resize(keys.size());
    pointer_values.resize(keys.size());
    key_spans.resize(keys.size());
    set_columns(source.columns);
    prefix = fmt::format(R"({{"region":{},"source":{},"key":[)", json_string(region),
                         json_string(source.name));
  }

  void set_columns(const std::vector<std::string>& names) {
    column_names = names;
    column_json.clear();
    for (const std::string& name : names) column_json.push_back(json_string(name));
    key_columns.assign(keys.size(), kNoSpan);
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const auto it = std::find(names.begin(), names.end(), keys[k].field);
      if (it != names.end()) key_columns[k] = static_cast<std::size_t>(it - names.begin());
    }
    column_clash.clear();
    for (const std::string& name : names) note_clash(name, column_clash);
    number_columns.clear();
    for (const std::string& name : names)
      number_columns.push_back(std::find(csv.numbers.begin(), csv.numbers.end(), name) !=
                               csv.numbers.end());
  }

  // Notes in `out` that a record's field `name` is one include_from_parent would add.
  void note_clash(std::string_view name, std::string& out) const {
    if (out.empty() &&
        std::find(parent_names.begin(), parent_names.end(), name) != parent_names.end())
      out = name;
  }

  void start_record() {
    record.clear();
    clash = column_clash;
    std::fill(key_text.begin(), key_text.end(), std::string_view());
    std::fill(key_spans.begin(), key_spans.end(), std::pair{kNoSpan, std::size_t{0}});
  }

  // Where the value just read through ends: at the next token, or at the end of the text.
  const char* end_of(od::value& v) const {
    const char* end = nullptr;
    if (v.current_location().get(end)) return text_end;
    return end;
  }

  // The minified text of `v`, checked: a scalar's token where it stands in the page, an
  // object or an array minified into `buffer`.
  error_code value_text(od::value& v, std::string_view& text, std::string& buffer) {
    const char* const begin = v.raw_json_token().data();
    od::json_type t{};
    if (auto e = v.type().get(t)) return e;
    if (t != od::json_type::object && t != od::json_type::array) return read_scalar(v, t, text);
    if (auto e = check_value(v, kRecordFieldDepth)) return e;
    buffer.clear();
    if (auto e = append_minified(begin, end_of(v), buffer)) return e;
    text = buffer;
    return simdjson::SUCCESS;
  }

  // Notes `text` as the value of every key that is the field `name` and has none yet.
  void found_field(std::string_view name, std::string_view text) {
    for (std::size_t k = 0; k < keys.size(); ++k)
      if (key_text[k].data() == nullptr && keys[k].field == name) key_text[k] = text;
  }

  // Reads a record object's fields through, checking them and taking the key fields'
  // values.
  error_code read_fields(od::object& o) {
    for (auto result : o) {
      od::field f;
      std::string_view key;
      if (auto e = std::move(result).get(f); e || (e = raw_key(f).get(key))) return e;
      std::string_view name = key.substr(1, key.size() - 2);
      if (name.find('\\') != std::string_view::npos) {
        if (auto e = f.unescaped_key().get(name)) return e;
      }
      note_clash(name, clash);
      std::size_t k = 0;
      while (k < keys.size() && (key_text[k].data() != nullptr || keys[k].field != name)) ++k;
      if (k == keys.size()) {
        if (auto e = check_value(f.value(), kRecordFieldDepth)) return e;
        continue;
      }
      std::string_view text;
      if (auto e = value_text(f.value(), text, key_values[k])) return e;
      found_field(name, text);
    }
    return simdjson::SUCCESS;
  }

  // A record object: read through, then copied minified in one piece.
  error_code read_record(od::value& v) {
    const char* const begin = v.raw_json_token().data();
    od::object o;
    if (auto e = v.get_object().get(o); e || (e = read_fields(o))) return e;
    return append_minified(begin, end_of(v), record);
  }

  // Writes an array row as an object named by `columns`; returns the row's length.
  error_code read_row(od::array& a, std::size_t& length) {
    length = 0;
    record += '{';
    for (auto result : a) {
      od::value v;
      if (auto e = std::move(result).get(v)) return e;
      if (length < column_json.size()) {
        std::string_view text;
        if (auto e = value_text(v, text, scratch)) return e;
        if (length > 0) record += ',';
        record += column_json[length];
        record += ':';
        found_column(length, record.size(), text.size());
        record += text;
      } else if (auto e = check_value(
                     v, kRecordFieldDepth)) {  // a row to skip must not hide a broken page
        return e;
      }
      ++length;
    }
    record += '}';
    return simdjson::SUCCESS;
  }

  void found_column(std::size_t column, std::size_t offset, std::size_t length) {
    for (std::size_t k = 0; k < keys.size(); ++k)
      if (key_columns[k] == column) key_spans[k] = {offset, length};
  }

  // The value at `pointer` inside the minified JSON `json`, or nothing.
  std::optional<std::string_view> value_at(std::string_view json, const std::string& pointer,
                                           std::string& out) {
    key_buffer.assign(json);
    key_buffer.append(simdjson::SIMDJSON_PADDING, ' ');
    od::document doc;
    if (key_parser
            .iterate(
                simdjson::padded_string_view(key_buffer.data(), json.size(), key_buffer.size()))
            .get(doc))
      return std::nullopt;
    od::value v;
    od::json_type t{};
    if (doc.at_pointer(pointer).get(v) || v.type().get(t)) return std::nullopt;
    std::string_view text;
    if (t == od::json_type::object) {
      od::object o;
      if (v.get_object().get(o) || o.raw_json().get(text)) return std::nullopt;
    } else if (t == od::json_type::array) {
      od::array a;
      if (v.get_array().get(a) || a.raw_json().get(text)) return std::nullopt;
    } else {
      text = trim_json_space(v.raw_json_token());
    }
    out.assign(text);
    return out;
  }

  // Adds the include_from_parent members to the object in `record`, noting the keys'.
  void add_parent_members() {
    record.pop_back();  // '}'
    for (std::size_t i = 0; i < parent_names.size(); ++i) {
      if (record.size() > 1) record += ',';
      record += parent_json[i];
      record += ':';
      for (std::size_t k = 0; k < keys.size(); ++k)
        if (key_text[k].data() == nullptr && keys[k].field == parent_names[i])
          key_spans[k] = {record.size(), parent_values[i].size()};
      record += parent_values[i];
    }
    record += '}';
  }

  // Writes the record in `record` as an output line, or says in `page.skipped` why not; an
  // error when the record has a field include_from_parent would add.
  Result<void> emit(PageRecords& page, std::size_t index) {
    if (!clash.empty())
      return bad_data(fmt::format(
          "record {} has a field {} already, the name include_from_parent gives a field of "
          "the parent's record",
          index, json_string(clash)));
    if (!parent_names.empty() && parent_values.size() == parent_names.size()) add_parent_members();
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (key_spans[k].first != kNoSpan)
        key_text[k] = std::string_view(record).substr(key_spans[k].first, key_spans[k].second);
      if (key_text[k].data() != nullptr && !keys[k].rest.empty()) {
        const auto value = value_at(key_text[k], keys[k].rest, pointer_values[k]);
        key_text[k] = value ? *value : std::string_view();
      }
      if (key_text[k].data() == nullptr) {
        page.skipped.push_back(
            fmt::format("record {}: no key field {}", index, json_string(keys[k].name)));
        return {};
      }
      if (key_text[k] == "null") {
        page.skipped.push_back(
            fmt::format("record {}: key field {} is null", index, json_string(keys[k].name)));
        return {};
      }
    }
    page.lines += prefix;
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (k > 0) page.lines += ',';
      page.lines += key_text[k];
    }
    page.lines += middle;
    page.lines += record;
    page.lines += "}\n";
    ++page.written;
    return {};
  }

  Error records_error(std::string_view what) const {
    return bad_data(fmt::format("records at {}: {}", json_string(records), what));
  }

  // A JSON page: the records at `records`, then the link or cursor to the next page.
  Result<void> extract_json(od::document& doc, PageRecords& page) {
    if (!records.empty() && !records.starts_with('/'))
      return bad_data(fmt::format("invalid JSON pointer {}", json_string(records)));
    od::json_type root{};
    if (auto e = doc.type().get(root)) return bad_data(invalid_json(e));
    if (root != od::json_type::array && root != od::json_type::object) {
      // A document that is one scalar: say whether it is broken before that it is not records.
      std::string_view token;
      if (auto e = doc.raw_json_token().get(token)) return bad_data(invalid_json(e));
      if (auto e = check_scalar(trim_json_space(token), root)) return bad_data(invalid_json(e));
      if (!records.empty()) return bad_data(fmt::format("no records at {}", json_string(records)));
      return records_error(fmt::format("expected an array, found {}", json_type_name(root)));
    }
    od::value v;
    if (records.empty()) {
      if (auto e = doc.get_value().get(v)) return bad_data(invalid_json(e));
    } else if (auto e = doc.at_pointer(records).get(v)) {
      if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS ||
          e == simdjson::INCORRECT_TYPE || e == simdjson::INVALID_JSON_POINTER)
        return bad_data(fmt::format("no records at {}", json_string(records)));
      return bad_data(invalid_json(e));
    }
    od::json_type t{};
    if (auto e = v.type().get(t)) return bad_data(invalid_json(e));
    if (t == od::json_type::object) {
      if (member_key.empty())
        return records_error(
            "expected an array, found an object (member_key reads its members as records)");
      od::object o;
      if (auto e = v.get_object().get(o)) return bad_data(invalid_json(e));
      if (auto done = extract_members(o, page); !done) return done;
    } else if (t == od::json_type::array) {
      od::array a;
      if (auto e = v.get_array().get(a)) return bad_data(invalid_json(e));
      if (auto done = extract_array(a, page); !done) return done;
    } else {
      return records_error(fmt::format("expected an array, found {}", json_type_name(t)));
    }
    if (paginate.kind == PageKind::kJsonLink) return find_next(doc, paginate.next, false, page);
    if (paginate.kind == PageKind::kCursor) return find_next(doc, paginate.cursor, true, page);
    return {};
  }

  Result<void> extract_array(od::array& a, PageRecords& page) {
    const bool rows = !column_json.empty();
    std::size_t index = 0;
    for (auto result : a) {
      od::value v;
      if (auto e = std::move(result).get(v)) return bad_data(invalid_json(e));
      ++index;
      ++page.found;
      od::json_type t{};
      if (auto e = v.type().get(t)) return bad_data(invalid_json(e));
      const od::json_type want = rows ? od::json_type::array : od::json_type::object;
      // A page nested too deep is that before it is a record of the wrong type; the walk
      // stops at the limit, so its stack and memory stay bounded.
      if (t != want) {
        if (auto e = check_value(v, kRecordFieldDepth - 1); e == simdjson::DEPTH_ERROR)
          return records_error(
              fmt::format("record {} is nested deeper than {} levels", index, kMaxJsonDepth));
        return records_error(
            fmt::format("record {} is {}, not {}", index, json_type_name(t), json_type_name(want)));
      }
      start_record();
      if (rows) {
        od::array row;
        std::size_t length = 0;
        if (auto e = v.get_array().get(row); e || (e = read_row(row, length)))
          return bad_data(invalid_json(e));
        if (length != column_json.size()) {
          page.skipped.push_back(fmt::format("record {}: {} values for {} columns", index, length,
                                             column_json.size()));
          continue;
        }
      } else if (auto e = read_record(v)) {
        return bad_data(invalid_json(e));
      }
      if (auto done = emit(page, index); !done) return done;
    }
    return {};
  }

  // Each member of `o` is a record, its name going first into the field `member_key`.
  Result<void> extract_members(od::object& o, PageRecords& page) {
    const std::string member_key_json = json_string(member_key);
    std::size_t index = 0;
    for (auto result : o) {
      od::field f;
      if (auto e = std::move(result).get(f)) return bad_data(invalid_json(e));
      std::string_view key;
      if (auto e = raw_key(f).get(key)) return bad_data(invalid_json(e));
      ++index;
      ++page.found;
      od::json_type t{};
      if (auto e = f.value().type().get(t)) return bad_data(invalid_json(e));
      if (t != od::json_type::object)
        return records_error(fmt::format("member {} is {}, not an object", key, json_type_name(t)));
      start_record();
      record += '{';
      record += member_key_json;
      record += ':';
      record += key;
      found_field(member_key, key);
      note_clash(member_key, clash);
      od::value& value = f.value();
      const char* const begin = value.raw_json_token().data();
      od::object member;
      scratch.clear();
      if (auto e = value.get_object().get(member);
          e || (e = read_fields(member)) || (e = append_minified(begin, end_of(value), scratch)))
        return bad_data(invalid_json(e));
      if (scratch.size() > 2) {
        record += ',';
        record.append(scratch, 1);
      } else {
        record += '}';
      }
      if (auto done = emit(page, index); !done) return done;
    }
    return {};
  }

  // The next page's link (a string) or cursor (a string or a number) at `pointer`.
  Result<void> find_next(od::document& doc, const std::string& pointer, bool cursor,
                         PageRecords& page) {
    od::value v;
    if (auto e = doc.at_pointer(pointer).get(v)) {
      if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS ||
          e == simdjson::INCORRECT_TYPE || e == simdjson::INVALID_JSON_POINTER)
        return {};
      return bad_data(invalid_json(e));
    }
    od::json_type t{};
    if (auto e = v.type().get(t)) return bad_data(invalid_json(e));
    if (t == od::json_type::null) return {};
    if (t == od::json_type::string) {
      std::string_view text;
      if (auto e = v.get_string().get(text)) return bad_data(invalid_json(e));
      if (!text.empty()) page.next = std::string(text);
      return {};
    }
    if (cursor && t == od::json_type::number) {
      const std::string_view token = trim_json_space(v.raw_json_token());
      if (!check_json_number(token).ok()) return bad_data(invalid_json(simdjson::NUMBER_ERROR));
      page.next = std::string(token);
      return {};
    }
    return bad_data(fmt::format("{} at {} is {}, not {}", cursor ? "cursor" : "next page link",
                                json_string(pointer), json_type_name(t),
                                cursor ? "a string or a number" : "a string"));
  }

  // NDJSON: each line that is not blank is one record object.
  Result<void> extract_ndjson(std::string_view text, std::size_t padding, PageRecords& page) {
    std::size_t line_number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t end = std::min(text.find('\n', pos), text.size());
      std::string_view line = text.substr(pos, end - pos);
      const std::size_t available = text.size() + padding - pos;
      pos = end + 1;
      ++line_number;
      if (std::all_of(line.begin(), line.end(), is_json_space)) continue;
      ++page.found;
      od::document doc;
      od::json_type t{};
      if (auto e = parser.iterate(simdjson::padded_string_view(line.data(), line.size(), available))
                       .get(doc);
          e || (e = doc.type().get(t)))
        return bad_data(fmt::format("line {}: {}", line_number, invalid_json(e)));
      if (t != od::json_type::object)
        return bad_data(fmt::format("line {}: expected a JSON object, found {}", line_number,
                                    json_type_name(t)));
      od::value v;
      start_record();
      text_end = line.data() + line.size();
      if (auto e = doc.get_value().get(v); e || (e = read_record(v)))
        return bad_data(fmt::format("line {}: {}", line_number, invalid_json(e)));
      if (!doc.current_location().error())
        return bad_data(
            fmt::format("line {}: invalid JSON: more than one value on the line", line_number));
      if (auto done = emit(page, page.found); !done) return done;
    }
    return {};
  }

  // CSV: the header row names the fields (unless `columns` does), each further row is a
  // record of strings, and of numbers in the `numbers` columns.
  Result<void> extract_csv(std::string_view text, PageRecords& page) {
    if (!simdjson::validate_utf8(text)) return bad_data("invalid CSV: not UTF-8");
    CsvReader reader(text, csv);
    const auto next_row = [&]() -> Result<bool> {
      auto row = reader.next_row(fields);
      if (!row) return bad_data("invalid CSV: " + std::move(row).error().message);
      return row;
    };
    if (csv.header) {
      auto header = next_row();
      if (!header || !*header) return header ? Result<void>() : std::move(header).error();
      if (configured_columns.empty()) {
        std::vector<std::string> names;
        for (const CsvField& field : fields)
          append_csv_value(names.emplace_back(), field, csv.quote);
        set_columns(names);
      }
    }
    for (std::size_t index = 1;; ++index) {
      auto row = next_row();
      if (!row || !*row) return row ? Result<void>() : std::move(row).error();
      ++page.found;
      if (fields.size() != column_json.size()) {
        page.skipped.push_back(fmt::format("record {} (line {}): {} fields for {} columns", index,
                                           reader.row_line(), fields.size(), column_json.size()));
        continue;
      }
      if (!csv_record(index, reader.row_line(), page)) continue;
      if (auto done = emit(page, index); !done) return done;
    }
  }

  // The CSV row in `fields` as the object in `record`: false (and why in `page.skipped`)
  // when a `numbers` field holds no number.
  bool csv_record(std::size_t index, std::size_t line, PageRecords& page) {
    start_record();
    record += '{';
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) record += ',';
      record += column_json[i];
      record += ':';
      const std::size_t start = record.size();
      scratch.clear();
      append_csv_value(scratch, fields[i], csv.quote);
      if (!number_columns[i]) {
        record += json_string(scratch);
      } else if (!append_csv_number(record, scratch, csv.decimal)) {
        page.skipped.push_back(fmt::format("record {} (line {}): field {} is not a number: {}",
                                           index, line, column_json[i], json_string(scratch)));
        return false;
      }
      found_column(i, start, record.size() - start);
    }
    record += '}';
    return true;
  }

  Result<PageRecords> extract(std::string& body, Instant fetched_at,
                              std::span<const std::string> parent) {
    parent_values = parent;
    middle = fmt::format(R"(],"fetched_at":{},"record":)", json_string(format_rfc3339(fetched_at)));
    PageRecords page;
    page.lines.reserve(static_cast<std::size_t>(static_cast<double>(body.size()) * output_ratio) +
                       4096);
    const std::size_t size = body.size();
    body.append(kBodyPadding, ' ');
    std::string_view text(body.data(), size);
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    Result<void> done = extract_format(text, page);
    body.resize(size);
    if (!done) return std::move(done).error();
    // The next page is likely laid out like this one; the bounds keep an odd page from
    // making the next reservation useless or huge.
    if (size > 4096)
      output_ratio = std::clamp(
          1.1 * static_cast<double>(page.lines.size()) / static_cast<double>(size), 1.0, 4.0);
    return page;
  }

  // The records of the page `text`, which kBodyPadding bytes of padding follow.
  Result<void> extract_format(std::string_view text, PageRecords& page) {
    switch (format) {
      case Format::kJson: {
        od::document doc;
        text_end = text.data() + text.size();
        if (auto e = parser
                         .iterate(simdjson::padded_string_view(text.data(), text.size(),
                                                               text.size() + kBodyPadding))
                         .get(doc))
          return bad_data(invalid_json(e));
        return extract_json(doc, page);
      }
      case Format::kNdjson:
        return extract_ndjson(text, kBodyPadding, page);
      case Format::kCsv:
        return extract_csv(text, page);
    }
    return Error{kExitSoftware, "unknown format"};
  }
};

RecordExtractor::RecordExtractor(const Source& source, std::string_view region)
    : impl_(std::make_unique<Impl>(source, region)) {}

RecordExtractor::~RecordExtractor() = default;

Result<PageRecords> RecordExtractor::extract(std::string& body, Instant fetched_at,
                                             std::span<const std::string> parent) {
  return impl_->extract(body, fetched_at, parent);
}

}  // namespace offpeak
