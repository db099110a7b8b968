// Reading and checking offpeak-scrape's NDJSON, one line at a time.
//
// A bad line must never reach the database: one value PostgreSQL refuses would abort the
// COPY and with it the whole load. Most lines are checked on a fast path: simdjson's DOM
// parser validates the whole line (UTF-8, structure, literals, numbers) at gigabytes a second,
// a byte scan rules out what is valid JSON but not storable (\u0000, numbers beyond numeric's
// range), and the line is minified; one On-Demand pass over the minified top level then finds
// the fields, and the key and the record are the exact spans between them. A line that fails
// any of this takes the slow path, which walks every value with On-Demand to say precisely what
// is wrong, or to accept it (a number too big for a double is still good JSON). Minifying keeps
// every token as written: the same record always yields the same text, and so the same hash.

#include "ndjson_input.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <unistd.h>

#include "json_check.h"
#include "json_text.h"

namespace offpeak {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

namespace {

constexpr std::size_t kBlockBytes = std::size_t{1} << 20;

// `text` with each byte that does not belong to a valid UTF-8 sequence replaced by U+FFFD
// (defined with the reject lines below).
std::string replace_invalid_utf8(std::string_view text);

}  // namespace

// ---------------------------------------------------------------------------------------------
// LineReader

LineReader::LineReader(int fd) : fd_(fd), buffer_(kBlockBytes) {}

bool LineReader::fill() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kBlockBytes / 2) buffer_.resize(end_ + kBlockBytes);
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    error_ = std::strerror(errno);
    eof_ = true;
    return false;
  }
}

bool LineReader::next(InputLine& line) {
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (skipping_) {
      // The rest of an overlong line, already reported: drop it without keeping it.
      if (newline == nullptr) {
        begin_ = end_ = 0;
        if (!fill()) return false;
        continue;
      }
      begin_ += static_cast<std::size_t>(newline - start) + 1;
      skipping_ = false;
      continue;
    }
    if (newline != nullptr && static_cast<std::size_t>(newline - start) <= kMaxLineBytes) {
      line = {{start, static_cast<std::size_t>(newline - start)}, ++number_, true, false};
      begin_ += line.text.size() + 1;
      return true;
    }
    if (end_ - begin_ > kMaxLineBytes) {
      line = {{start, kMaxLineBytes}, ++number_, true, true};
      if (newline != nullptr) {
        begin_ += static_cast<std::size_t>(newline - start) + 1;
      } else {
        begin_ = end_;  // the caller reads `text` before the next call, which moves nothing
        skipping_ = true;
      }
      return true;
    }
    if (eof_ || !fill()) {
      if (!error_.empty() || begin_ == end_) return false;
      line = {{buffer_.data() + begin_, end_ - begin_}, ++number_, false, false};
      begin_ = end_;
      return true;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers

Result<void> check_jsonb_number(std::string_view token) {
  // simdjson parses numbers only into 64-bit types, while jsonb keeps any numeric: the token
  // is checked here against RFC 8259's grammar and numeric's limits instead.
  const auto number = check_json_number(token);
  if (!number) return Error{kExitDataErr, number.error().message};
  const std::string_view int_part = number->integer;
  const std::string_view frac_part = number->fraction;
  long long exponent = 0;
  if (std::string_view exp_digits = number->exponent; !exp_digits.empty()) {
    exp_digits.remove_prefix(std::min(exp_digits.find_first_not_of('0'), exp_digits.size()));
    // numeric_in refuses exponents from 2^30 - 1 up, so more digits need not be read.
    exponent = 1LL << 30;
    if (exp_digits.size() <= 10)
      std::from_chars(exp_digits.data(), exp_digits.data() + exp_digits.size(), exponent);
    if (number->negative_exponent) exponent = -exponent;
  }
  // numeric holds up to 131072 digits before the decimal point and 16383 after it.
  const auto out_of_range = [&] {
    return Error{kExitDataErr, fmt::format("number {} is out of PostgreSQL's range",
                                           replace_invalid_utf8(token.substr(0, 40)))};
  };
  if (exponent >= (1LL << 30) - 1 || exponent <= -((1LL << 30) - 1)) return out_of_range();
  const auto significant = [](std::string_view d) {
    return d.find_first_not_of('0') != std::string_view::npos;
  };
  const bool zero = !significant(int_part) && !significant(frac_part);
  const std::size_t first = int_part.find_first_not_of('0');
  const std::size_t int_digits = first == std::string_view::npos ? 0 : int_part.size() - first;
  const long long weight = static_cast<long long>(int_digits) + exponent;
  const long long scale = static_cast<long long>(frac_part.size()) - exponent;
  if ((!zero && weight > 131072) || scale > 16383) return out_of_range();
  return {};
}

// ---------------------------------------------------------------------------------------------
// LineParser

struct LineParser::Impl {
  ondemand::parser parser{kMaxLineBytes};
  simdjson::dom::parser dom_parser{kMaxLineBytes};
  std::unique_ptr<char[]> padded;  // the line, with the padding simdjson reads past its end
  std::size_t padded_size = 0;
  std::string minified;  // key, then record
  std::string region, source;
  std::string fetched_at;
  std::string reason;  // set by walk() for problems simdjson does not report

  // Walks `value` completely, which is what makes On-Demand check it.
  error_code walk(ondemand::value value, std::size_t* elements = nullptr, int depth = 1);
  // The whole check, with reasons.
  std::optional<std::string> parse(const InputLine& line, NdjsonRecord& out);
  // True when the line is good and `out` set; false sends the line to parse().
  bool parse_fast(std::string_view text, NdjsonRecord& out);
  void pad(std::string_view text);
};

namespace {

// Whether the line may hold what simdjson accepts but jsonb does not: the escape \u0000, or a
// number with 300 digits in a row or an exponent of 1000 or more (under those numeric takes any
// value). False alarms (such text inside a string) only cost the slow path.
bool may_be_unstorable(std::string_view text) {
  if (text.find("\\u0000") != std::string_view::npos) return true;
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (const char e : {'e', 'E'}) {
    for (auto i = text.find(e); i != std::string_view::npos; i = text.find(e, i + 1)) {
      std::size_t j = i + 1;
      if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
      std::size_t digits = 0;
      while (j + digits < text.size() && is_digit(text[j + digits])) ++digits;
      if (digits >= 4) return true;
    }
  }
  if (text.size() < 300) return false;
  std::size_t run = 0;
  for (const char c : text)
    if (!is_digit(c))
      run = 0;
    else if (++run >= 300)
      return true;
  return false;
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

std::string json_error_reason(error_code e) {
  switch (e) {
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::UNESCAPED_CHARS:
      return "a control character inside a string is not escaped";
    case simdjson::DEPTH_ERROR:
      return check_json_depth(kMaxJsonDepth + 1).error().message;
    case simdjson::STRING_ERROR:
      return "invalid string escape (such as a lone UTF-16 surrogate)";
    default:
      return "not valid JSON";
  }
}

}  // namespace

error_code LineParser::Impl::walk(ondemand::value value, std::size_t* elements, int depth) {
  // The DOM parser's limit, kept here too: On-Demand does not enforce it, and the walk
  // recurses.
  if (!check_json_depth(depth).ok()) return simdjson::DEPTH_ERROR;
  ondemand::json_type type;
  if (auto e = value.type().get(type)) return e;
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      if (auto e = value.get_object().get(object)) return e;
      for (auto field : object) {
        std::string_view name;
        if (auto e = field.unescaped_key().get(name)) return e;
        if (has_nul(name)) {
          reason = "a string contains \\u0000, which PostgreSQL cannot store";
          return simdjson::STRING_ERROR;
        }
        ondemand::value child;
        if (auto e = field.value().get(child)) return e;
        if (auto e = walk(child, nullptr, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      if (auto e = value.get_array().get(array)) return e;
      std::size_t count = 0;
      for (auto element : array) {
        ondemand::value child;
        if (auto e = element.get(child)) return e;
        if (auto e = walk(child, nullptr, depth + 1)) return e;
        ++count;
      }
      if (elements != nullptr) *elements = count;
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::string: {
      std::string_view text;
      if (auto e = value.get_string().get(text)) return e;
      if (has_nul(text)) {
        reason = "a string contains \\u0000, which PostgreSQL cannot store";
        return simdjson::STRING_ERROR;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::number: {
      if (auto checked = check_jsonb_number(trim_json_space(value.raw_json_token())); !checked) {
        reason = std::move(checked).error().message;
        return simdjson::NUMBER_ERROR;
      }
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
      bool b;
      return value.get_bool().get(b);
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (auto e = value.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

void LineParser::Impl::pad(std::string_view text) {
  if (padded_size < text.size() + simdjson::SIMDJSON_PADDING) {
    padded_size = std::max(text.size() + simdjson::SIMDJSON_PADDING, std::size_t{4096});
    padded = std::make_unique<char[]>(padded_size);
  }
  std::memcpy(padded.get(), text.data(), text.size());
  std::memset(padded.get() + text.size(), ' ', simdjson::SIMDJSON_PADDING);
}

bool LineParser::Impl::parse_fast(std::string_view text, NdjsonRecord& out) {
  if (may_be_unstorable(text)) return false;
  pad(text);
  simdjson::dom::element root;
  if (dom_parser.parse(padded.get(), text.size(), false).get(root) || !root.is_object())
    return false;
  // Valid JSON, so minifying changes no token.
  minified.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::size_t size = 0;
  if (simdjson::minify(padded.get(), text.size(), minified.data(), size)) return false;
  std::memset(minified.data() + size, ' ', simdjson::SIMDJSON_PADDING);

  ondemand::document doc;
  ondemand::object top;
  if (parser.iterate(minified.data(), size, minified.size()).get(doc) || doc.get_object().get(top))
    return false;
  // A value ends where the next field's key starts (after ",\""), the last one before the
  // final '}'; the text is minified, so nothing lies between.
  std::string_view* open_span = nullptr;
  const char* open_start = nullptr;
  const auto close_span = [&](const char* end) {
    if (open_span != nullptr) *open_span = {open_start, static_cast<std::size_t>(end - open_start)};
    open_span = nullptr;
  };
  std::string_view key_span, record_span;
  int region_seen = 0, source_seen = 0, fetched_at_seen = 0;
  fetched_at.clear();
  for (auto field : top) {
    ondemand::raw_json_string raw_name;
    if (field.key().get(raw_name)) return false;
    close_span(raw_name.raw() - 2);
    std::string_view name;
    ondemand::value value;
    ondemand::json_type type;
    if (field.unescaped_key().get(name) || field.value().get(value) || value.type().get(type))
      return false;
    if (name == "region" || name == "source") {
      std::string_view s;
      if (type != ondemand::json_type::string || value.get_string().get(s)) return false;
      ++(name == "region" ? region_seen : source_seen);
      (name == "region" ? region : source).assign(s);
    } else if (name == "fetched_at" && type != ondemand::json_type::null) {
      std::string_view s;
      if (type != ondemand::json_type::string || value.get_string().get(s) || has_nul(s) ||
          ++fetched_at_seen > 1)
        return false;
      fetched_at.assign(s);
    } else if (name == "key" || name == "record") {
      const bool right =
          type == (name == "key" ? ondemand::json_type::array : ondemand::json_type::object);
      std::string_view& span = name == "key" ? key_span : record_span;
      if (!right || span.data() != nullptr) return false;
      open_span = &span;
      open_start = value.raw_json_token().data();
      span = {open_start, 0};
    }
  }
  close_span(minified.data() + size - 1);
  if (region_seen != 1 || source_seen != 1 || key_span.data() == nullptr ||
      record_span.data() == nullptr || key_span == "[]")
    return false;
  out = {region, source, key_span, record_span, fetched_at};
  return true;
}

std::optional<std::string> LineParser::Impl::parse(const InputLine& line, NdjsonRecord& out) {
  if (line.truncated) return fmt::format("longer than {} bytes", kMaxLineBytes);
  const std::string_view text = line.text;
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    return fmt::format("NUL byte at column {}", nul + 1);
  if (trim_json_space(text).find_first_not_of(" \t") == std::string_view::npos) return "empty line";

  // A cut-off last line is only known to be one when it is not a whole JSON value.
  const auto syntax = [&](error_code e) -> std::string {
    if (!line.complete) return "cut off: the input ends in the middle of this line";
    return reason.empty() ? json_error_reason(e) : reason;
  };
  if (parse_fast(text, out)) return std::nullopt;
  reason.clear();
  pad(text);

  ondemand::document doc;
  if (auto e = parser.iterate(padded.get(), text.size(), padded_size).get(doc)) return syntax(e);
  ondemand::object top;
  if (auto e = doc.get_object().get(top)) {
    if (e != simdjson::INCORRECT_TYPE || !line.complete) return syntax(e);
    // Some other JSON value, or no JSON at all: the DOM parser, which takes any value at the
    // root, tells them apart. Numbers it cannot hold are still JSON.
    simdjson::dom::element element;
    const auto dom_error = dom_parser.parse(padded.get(), text.size(), false).get(element);
    return dom_error == simdjson::SUCCESS || dom_error == simdjson::NUMBER_ERROR
               ? "not a JSON object"
               : json_error_reason(dom_error);
  }

  std::string_view key_span, record_span;
  bool seen_region = false, seen_source = false, seen_key = false, seen_record = false;
  std::string type_problem;  // the first field of the wrong type; the line is read to the end
  std::size_t key_elements = 0;
  bool seen_fetched_at = false;
  fetched_at.clear();
  for (auto field : top) {
    std::string_view name;
    if (auto e = field.unescaped_key().get(name)) return syntax(e);
    ondemand::value value;
    if (auto e = field.value().get(value)) return syntax(e);
    ondemand::json_type type;
    if (auto e = value.type().get(type)) return syntax(e);
    bool* seen = name == "region"       ? &seen_region
                 : name == "source"     ? &seen_source
                 : name == "key"        ? &seen_key
                 : name == "record"     ? &seen_record
                 : name == "fetched_at" ? &seen_fetched_at
                                        : nullptr;
    if (seen != nullptr && *seen) return fmt::format("\"{}\" appears twice", name);
    if (seen != nullptr) *seen = true;
    const bool is_text = name == "region" || name == "source" || name == "fetched_at";
    if (is_text && type == ondemand::json_type::string) {
      std::string_view s;
      if (auto e = value.get_string().get(s)) return syntax(e);
      if (has_nul(s)) return fmt::format("\"{}\" contains \\u0000", name);
      (name == "region" ? region : name == "source" ? source : fetched_at).assign(s);
      continue;
    }
    if (name == "fetched_at" && type == ondemand::json_type::null) continue;
    const bool spanned = (name == "key" && type == ondemand::json_type::array) ||
                         (name == "record" && type == ondemand::json_type::object);
    const char* start = value.raw_json_token().data();
    if (auto e = walk(value, name == "key" ? &key_elements : nullptr, 2)) return syntax(e);
    if (spanned) {
      // The value ends where the next token (',' or '}') starts.
      const char* end = nullptr;
      if (auto e = doc.current_location().get(end)) return syntax(e);
      (name == "key" ? key_span : record_span) =
          trim_json_space({start, static_cast<std::size_t>(end - start)});
    } else if (seen != nullptr && type_problem.empty()) {
      type_problem = fmt::format("\"{}\" is not {}", name,
                                 is_text         ? "a string"
                                 : name == "key" ? "an array"
                                                 : "an object");
    }
  }
  // Anything after the object is an error that iterating the object does not report.
  if (const char* rest = nullptr; !doc.current_location().get(rest))
    return syntax(simdjson::TAPE_ERROR);

  for (const auto& [seen, name] : {std::pair{seen_region, "region"},
                                   {seen_source, "source"},
                                   {seen_key, "key"},
                                   {seen_record, "record"}})
    if (!seen) return fmt::format("missing \"{}\"", name);
  if (!type_problem.empty()) return type_problem;
  if (key_elements == 0) return "\"key\" is an empty array";

  // minify reads and writes whole SIMD blocks: both buffers need the padding.
  minified.resize(key_span.size() + record_span.size() + simdjson::SIMDJSON_PADDING);
  std::size_t key_size = 0, record_size = 0;
  if (simdjson::minify(key_span.data(), key_span.size(), minified.data(), key_size) ||
      simdjson::minify(record_span.data(), record_span.size(), minified.data() + key_size,
                       record_size))
    return syntax(simdjson::TAPE_ERROR);
  out.region = region;
  out.source = source;
  out.key = {minified.data(), key_size};
  out.record = {minified.data() + key_size, record_size};
  out.fetched_at = fetched_at;
  return std::nullopt;
}

LineParser::LineParser() : impl_(std::make_unique<Impl>()) {}
LineParser::~LineParser() = default;

Result<void> LineParser::parse(const InputLine& line, NdjsonRecord& out) {
  if (auto reason = impl_->parse(line, out)) return Error{kExitDataErr, std::move(*reason)};
  if (const auto size = out.region.size() + out.source.size() + out.key.size(); size > kMaxKeyBytes)
    return Error{kExitDataErr,
                 fmt::format("the key is too long: region, source and key take {} bytes, more "
                             "than the {} that PostgreSQL's index holds",
                             size, kMaxKeyBytes)};
  return {};
}

// ---------------------------------------------------------------------------------------------
// Reject lines

namespace {

// `text` with each byte that does not belong to a valid UTF-8 sequence replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
    if (n > 0 && i + n <= text.size() && simdjson::validate_utf8(text.data() + i, n)) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string reject_json(std::string_view file, const InputLine& line, std::string_view reason) {
  std::string out = "{";
  if (!file.empty()) out += fmt::format("\"file\":{},", json_string(file));
  // A reason may quote the line: keep it valid UTF-8, as the text is.
  out += fmt::format("\"line\":{},\"reason\":{},", line.number,
                     json_string(replace_invalid_utf8(reason)));
  if (simdjson::validate_utf8(line.text.data(), line.text.size())) {
    out += fmt::format("\"text\":{}", json_string(line.text));
  } else {
    std::string base64(4 * ((line.text.size() + 2) / 3) + 1, '\0');
    const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(base64.data()),
                                     reinterpret_cast<const unsigned char*>(line.text.data()),
                                     static_cast<int>(line.text.size()));
    base64.resize(static_cast<std::size_t>(size));
    out += fmt::format("\"text\":{},\"base64\":\"{}\"",
                       json_string(replace_invalid_utf8(line.text)), base64);
  }
  if (line.truncated) out += ",\"truncated\":true";
  out += "}\n";
  return out;
}

}  // namespace offpeak
