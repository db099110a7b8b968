#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "diagnostics.h"
#include "typed_field.h"

namespace offpeak {

// How a source's body is laid out.
enum class Format { kJson, kNdjson, kCsv };

// How a source reaches its next page.
enum class PageKind {
  kNone,        // one request
  kJsonLink,    // the URL at JSON pointer `next` in the body; stops when missing, null or ""
  kHeaderLink,  // the `Link: <...>; rel="next"` response header; stops when absent
  kCursor,      // the value at JSON pointer `cursor` goes into query parameter `param`
  kPage,        // `param` counts from `start`; stops at a page with no records
  kOffset,      // `param` steps by `limit` from 0; stops at a page with fewer than `limit`
};

struct Pagination {
  PageKind kind = PageKind::kNone;
  std::string next;        // kJsonLink: JSON pointer to the next page's URL
  std::string cursor;      // kCursor: JSON pointer to the next cursor
  std::string param;       // kCursor, kPage, kOffset: the query parameter set on each request
  std::int64_t start = 1;  // kPage: the first page number
  std::int64_t limit = 0;  // kOffset: records per page
  bool in_body = false;    // `param` is a member of the JSON body, not a query parameter
};

// How a request body is written: its Content-Type, and how {variables} and ${VAR}s go in.
enum class BodyType {
  kJson,  // application/json: values escaped as inside a JSON string
  kForm,  // application/x-www-form-urlencoded: values percent-encoded
  kText,  // text/plain: values as they are
};

// What one run of a source returns: some of its records (kPartial), all of them (kSource), or
// all of those of each scope it returns (kScope: the keys that share their first
// `scope_parts` parts with a record of the run). The load marks the rows a complete run left
// out as deleted.
enum class Completeness { kPartial, kSource, kScope };
struct Complete {
  Completeness kind = Completeness::kPartial;
  int scope_parts = 0;  // kScope: how many leading key parts name a scope
};

// How a CSV source's text is written.
struct CsvDialect {
  char delimiter = ',';              // ',' ';' '\t' or '|'
  char quote = '"';                  // '\0': fields are never quoted
  bool header = true;                // the first row names the fields; without it, `columns` does
  std::int64_t skip_lines = 0;       // lines before the header (or the first row) to drop
  char decimal = '.';                // '.' or ',': how `numbers` write their fraction
  std::vector<std::string> numbers;  // fields written as JSON numbers, not strings
};

// One HTTP source of a region, with `[defaults]` already applied.
struct Source {
  std::string name;
  std::string url;  // template: {variable} and ${ENV_VAR}, see url_template.h
  Format format = Format::kJson;
  // JSON pointer (RFC 6901) to the records: an array of objects, an array of arrays (named
  // by `columns`) or an object whose members are records (each member's name goes into the
  // field `member_key`). "" is the document itself. Unused for ndjson and csv.
  std::string records;
  std::vector<std::string> columns;  // names for array rows; for csv, replaces the header row
  std::string member_key;
  CsvDialect csv;  // format "csv" only
  // The record's natural key: field names, or JSON pointers into the record when they
  // start with '/'. Never empty.
  std::vector<std::string> key;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value template
  bool post = false;                                         // method "POST", else "GET"
  std::string body;                                          // template, as url; sent with POST
  BodyType body_type = BodyType::kJson;
  Pagination paginate;
  std::int64_t max_pages = 1000;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // connect and stall limit
  int retries = 5;                                              // retries after the first attempt
  std::uint64_t max_bytes = std::uint64_t{256} << 20;           // decoded body size limit
  int concurrency = 4;                                          // kPage/kOffset requests in flight
  std::string user_agent = "offpeak/0.1";
  // rate_limit: the least time between two request starts, 0 for none; shared by every
  // source of the run with the same rate_limit_key, or without one, the same url host.
  std::chrono::nanoseconds rate_interval{0};
  std::string rate_limit_key;
  // The source's rule of success: at least min_records records written, and at most
  // max_skipped records left out, a count or (max_skipped_percent) a share of those found.
  std::int64_t min_records = 1;
  std::int64_t max_skipped = 0;
  bool max_skipped_percent = false;  // max_skipped is a percentage, 0 to 100
  Complete complete;                 // `complete`: whether a run returns every record
  TypedDeclaration typed;            // fields and key_names: the source's typed view, if any
  // A dependent source takes its {parent.FIELD} values from the records of source `from` of
  // the region: one request chain per record, `concurrency` of them at once.
  std::string from;
  bool emit = true;  // false: the source's records are only its dependents' inputs
  // Fields of the parent's record that each child record gets, as member
  // parent_member(from, FIELD): "_instruments_symbol" for "symbol" ("meta.id": "_P_meta_id").
  std::vector<std::string> include_from_parent;
  SourcePos pos;  // where the source's table is defined
};

// The member a dependent source's records get for `field` of its parent `from`'s records.
[[nodiscard]] std::string parent_member(std::string_view from, std::string_view field);

}  // namespace offpeak
