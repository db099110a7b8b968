// The typed views: their SQL, kept in step with the declarations at the start of each load,
// and the check of each line against its source's fields.
//
// The idea: a view is replaced only when its definition changes, and its definition is
// known before any DDL: the loader builds the CREATE VIEW text, hashes it with the functions
// the views call, and compares the hash with the one kept in the view's comment. So an
// unchanged declaration costs one catalog query. The view reads each field through a
// function of its type (as_numeric, as_bigint, ...) that applies field_cast.cc's grammar as a
// guard: a value the loader accepted converts exactly, and any other (a row loaded before
// the declaration) reads as NULL, never as an error. The functions are plain SQL expressions
// that PostgreSQL inlines into the view.

#include "typed_views.h"

#include <fmt/format.h>

#include "config.h"
#include "field_cast.h"
#include "pg.h"
#include "sha256.h"

namespace offpeak {
namespace {

// The functions the views call, in the views' schema {s}. A JSON number is read as numeric
// straight from the jsonb, and checked as a number (its scale, its range); a string's text is
// checked by pattern before numeric reads it (number_in), an integer's before bigint does; a
// date by a pattern that knows the days of each month (days_fit for 29 February), a time by
// pattern and then days_fit, so that no cast can fail. The patterns are field_cast.cc's
// grammars. Each function is one expression (stable where a cast from text is, else
// immutable), so that PostgreSQL inlines it into the view's query: a call that is not inlined
// costs several times more. Inlining repeats an argument where the body uses it more than
// once, so a value is taken apart once per branch: a JSON number's path does no text work.
constexpr std::string_view kFunctions = R"SQL(
CREATE OR REPLACE FUNCTION {s}.number_in(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN length(t) <= 1000
    AND t ~ '^[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)(?:[eE][+-]?[0-9]{{1,3}})?$' THEN t END $f$;
CREATE OR REPLACE FUNCTION {s}.numeric_text(v jsonb, decimal_comma boolean) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(v) WHEN 'number' THEN v #>> '{{}}'
    WHEN 'string' THEN {s}.number_in(CASE WHEN decimal_comma
      THEN replace(btrim(v #>> '{{}}', ' '), ',', '.') ELSE btrim(v #>> '{{}}', ' ') END) END $f$;
CREATE OR REPLACE FUNCTION {s}.as_numeric(v jsonb, decimal_comma boolean) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN v::numeric
    ELSE {s}.numeric_text(v, decimal_comma)::numeric END $f$;
CREATE OR REPLACE FUNCTION {s}.double_of(n numeric) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN n = 0 OR abs(n) >= 1e-307 AND abs(n) < 1e308 THEN n::double precision END $f$;
CREATE OR REPLACE FUNCTION {s}.as_double(v jsonb, decimal_comma boolean) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN {s}.double_of(v::numeric)
    ELSE {s}.double_of({s}.numeric_text(v, decimal_comma)::numeric) END $f$;
CREATE OR REPLACE FUNCTION {s}.whole_in(n numeric, low numeric, high numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN scale(n) = 0 AND n BETWEEN low AND high THEN n END $f$;
CREATE OR REPLACE FUNCTION {s}.whole_text_in(t text, low numeric, high numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN t ~ '^[+-]?[0-9]{{1,30}}$' THEN
    CASE WHEN t::numeric BETWEEN low AND high THEN t::numeric END END $f$;
CREATE OR REPLACE FUNCTION {s}.whole(v jsonb, low numeric, high numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(v) WHEN 'number' THEN {s}.whole_in(v::numeric, low, high)
    WHEN 'string' THEN {s}.whole_text_in(btrim(v #>> '{{}}', ' '), low, high) END $f$;
CREATE OR REPLACE FUNCTION {s}.as_bigint(v jsonb) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT {s}.whole(v, -9223372036854775808, 9223372036854775807)::bigint $f$;
CREATE OR REPLACE FUNCTION {s}.as_integer(v jsonb) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT {s}.whole(v, -2147483648, 2147483647)::integer $f$;
CREATE OR REPLACE FUNCTION {s}.as_boolean(v jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(v) IN ('boolean', 'number', 'string') THEN
    CASE WHEN lower(btrim(v #>> '{{}}', ' ')) IN ('true', 't', 'yes', 'y', 'on', '1') THEN true
         WHEN lower(btrim(v #>> '{{}}', ' ')) IN ('false', 'f', 'no', 'n', 'off', '0') THEN false
    END END $f$;
CREATE OR REPLACE FUNCTION {s}.days_fit(t text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT substr(t, 1, 4) <> '0000' AND substr(t, 9, 2)::integer <= CASE substr(t, 6, 2)
    WHEN '02' THEN CASE WHEN substr(t, 1, 4)::integer % 4 = 0 AND (substr(t, 1, 4)::integer % 100 <> 0
      OR substr(t, 1, 4)::integer % 400 = 0) THEN 29 ELSE 28 END
    WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30 ELSE 31 END $f$;
CREATE OR REPLACE FUNCTION {s}.date_of(t text) RETURNS date
  LANGUAGE sql STABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN t ~ '^[0-9]{{4}}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$'
    THEN CASE WHEN left(t, 4) <> '0000' THEN t::date END
    WHEN t ~ '^[0-9]{{4}}-02-29$' THEN CASE WHEN {s}.days_fit(t) THEN t::date END END $f$;
CREATE OR REPLACE FUNCTION {s}.as_date(v jsonb) RETURNS date
  LANGUAGE sql STABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN {s}.date_of(v #>> '{{}}') END $f$;
CREATE OR REPLACE FUNCTION {s}.as_timestamptz(v jsonb) RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(v) = 'string'
    AND v #>> '{{}}' ~ '^[0-9]{{4}}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{{1,9}})?(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])$' THEN
    CASE WHEN {s}.days_fit(v #>> '{{}}') THEN (v #>> '{{}}')::timestamptz END END $f$;
CREATE OR REPLACE FUNCTION {s}.epoch_of(n numeric, per_second numeric) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN n >= -62135596800 * per_second AND n < 253402300800 * per_second
    THEN to_timestamp((n / per_second)::double precision) END $f$;
CREATE OR REPLACE FUNCTION {s}.epoch_time(v jsonb, per_second numeric) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN {s}.epoch_of(v::numeric, per_second)
    ELSE {s}.epoch_of({s}.numeric_text(v, false)::numeric, per_second) END $f$;
)SQL";

// The view's column of `field`, read from the record `r.record`.
std::string column_sql(PgConnection& db, const std::string& schema, const TypedField& field) {
  std::string path = "ARRAY[";
  const auto tokens = json_pointer_tokens(field.at);
  for (std::size_t i = 0; i < tokens.size(); ++i)
    path += (i == 0 ? "" : ", ") + db.quote_literal(tokens[i]);
  path += "]::text[]";
  const std::string value = "r.record #> " + path;
  const char* comma = field.decimal_comma ? "true" : "false";
  std::string sql;
  switch (field.type) {
    case FieldType::kText:
      sql = "r.record #>> " + path;
      break;
    case FieldType::kNumeric:
      sql = fmt::format("{}.as_numeric({}, {})", schema, value, comma);
      break;
    case FieldType::kDouble:
      sql = fmt::format("{}.as_double({}, {})", schema, value, comma);
      break;
    case FieldType::kBigint:
      sql = fmt::format("{}.as_bigint({})", schema, value);
      break;
    case FieldType::kInteger:
      sql = fmt::format("{}.as_integer({})", schema, value);
      break;
    case FieldType::kBoolean:
      sql = fmt::format("{}.as_boolean({})", schema, value);
      break;
    case FieldType::kDate:
      sql = fmt::format("{}.as_date({})", schema, value);
      break;
    case FieldType::kTimestamptz:
      sql = field.format == TimeFormat::kRfc3339
                ? fmt::format("{}.as_timestamptz({})", schema, value)
                : fmt::format("{}.epoch_time({}, {})", schema, value,
                              field.format == TimeFormat::kEpochMillis ? 1000 : 1);
      break;
  }
  return fmt::format("{} AS {}", sql, db.quote_identifier(field.name));
}

// The view's SELECT.
std::string view_select(PgConnection& db, const std::string& schema, const std::string& table,
                        const TypedSource& source, bool deleted_at) {
  std::string columns;
  const auto& names = source.declaration.key_names;
  for (std::size_t i = 0; i < names.size(); ++i)
    columns += fmt::format("r.key::jsonb ->> {} AS {},\n  ", i, db.quote_identifier(names[i]));
  for (const TypedField& field : source.declaration.fields)
    columns += column_sql(db, schema, field) + ",\n  ";
  if (deleted_at) columns += "r.deleted_at, ";
  columns += "r.fetched_at, r.changed_at";
  return fmt::format("SELECT {}\nFROM {} AS r\nWHERE r.region = {} AND r.source = {}", columns,
                     table, db.quote_literal(source.region), db.quote_literal(source.source));
}

std::string hex(const Sha256Digest& digest) {
  std::string out;
  for (const auto byte : digest) out += fmt::format("{:02x}", byte);
  return out;
}

constexpr std::string_view kCommentPrefix = "offpeak-load view, definition sha256:";

}  // namespace

Result<std::vector<TypedSource>> read_typed_sources(
    const std::string& path, const std::function<void(const Diagnostic&)>& report) {
  const ConfigResult read = load_config(path);
  std::size_t errors = 0;
  for (const Diagnostic& d : read.diagnostics)
    if (d.severity == Severity::kError) {
      ++errors;
      if (report) report(d);
    }
  if (errors > 0)
    return Error{kExitConfig, fmt::format("--config {}: {} error{} (offpeak-plan --check lists "
                                          "them too); nothing loaded",
                                          path, errors, errors == 1 ? "" : "s")};
  std::vector<TypedSource> sources;
  for (const Region& region : read.config.regions)
    for (const Source& source : read.config.sources_of(region.id))
      if (!source.typed.key_names.empty())
        sources.push_back({region.id, source.name, source.typed});
  return sources;
}

TypedChecks::TypedChecks(const std::vector<TypedSource>& sources) {
  for (const TypedSource& source : sources) {
    auto& fields = fields_[source.region + '\0' + source.source];
    for (const TypedField& field : source.declaration.fields)
      fields.push_back({field, json_pointer_tokens(field.at)});
  }
}

std::optional<std::string> TypedChecks::problem(const NdjsonRecord& record) {
  if (fields_.empty()) return std::nullopt;
  name_.assign(record.region).append(1, '\0').append(record.source);
  if (last_ == nullptr || name_ != last_name_) {
    const auto found = fields_.find(name_);
    last_ = found == fields_.end() ? nullptr : &found->second;
    last_name_ = name_;
    if (last_ == nullptr) return std::nullopt;
    paths_.clear();
    for (const Field& f : *last_) paths_.push_back(&f.tokens);
  }
  find_json_values(record.record, paths_, values_, scratch_);
  for (std::size_t i = 0; i < last_->size(); ++i) {
    const Field& f = (*last_)[i];
    if (auto problem = cast_problem(f.field, values_[i]))
      return fmt::format("field \"{}\" ({} at {}): {}", f.field.name,
                         kFieldTypeNames[static_cast<std::size_t>(f.field.type)], f.field.at,
                         *problem);
  }
  return std::nullopt;
}

std::string views_schema(std::string_view schema, std::string_view table) {
  if (schema == "offpeak" && table == "records") return "offpeak_views";
  return fmt::format("{}_{}_views", schema, table);
}

Result<int> ensure_views(PgConnection& db, const std::string& table,
                         const std::vector<TypedSource>& sources) {
  if (sources.empty()) return 0;
  auto found = db.query(
      "SELECT n.nspname, c.relname, EXISTS (SELECT FROM pg_attribute WHERE attrelid = c.oid "
      "AND attname = 'deleted_at' AND NOT attisdropped) "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass",
      {{table}});
  if (!found) return std::move(found).error();
  const std::string schema_name = views_schema(found->text(0, 0), found->text(0, 1));
  if (schema_name.size() > 63)
    return Error{kExitUsage, fmt::format("--table: the views' schema \"{}\" would be longer than "
                                         "63 bytes; load into a table with a shorter name",
                                         schema_name)};
  const bool deleted_at = found->boolean(0, 2);
  const std::string schema = db.quote_identifier(schema_name);
  const std::string functions = fmt::format(kFunctions, fmt::arg("s", schema));
  auto comments = db.query(
      "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v'",
      {{schema_name}});
  if (!comments) return std::move(comments).error();
  std::unordered_map<std::string, std::string> kept;
  for (int row = 0; row < comments->rows(); ++row)
    kept.emplace(comments->text(row, 0), comments->text(row, 1));

  Sha256 sha;
  std::string ddl;
  int replaced = 0;
  for (const TypedSource& source : sources) {
    const std::string name = source.region + "." + source.source;
    const std::string view = schema + "." + db.quote_identifier(name);
    const std::string select = view_select(db, schema, table, source, deleted_at);
    const std::string comment = std::string(kCommentPrefix) + hex(sha.digest({functions, select}));
    if (const auto it = kept.find(name); it != kept.end() && it->second == comment) continue;
    ddl += fmt::format(
        "DROP VIEW IF EXISTS {0};\nCREATE VIEW {0} AS\n{1};\nCOMMENT ON VIEW {0} IS {2};\n", view,
        select, db.quote_literal(comment));
    ++replaced;
  }
  if (replaced == 0) return 0;
  if (auto created =
          db.exec(fmt::format("CREATE SCHEMA IF NOT EXISTS {};\n{}{}", schema, functions, ddl));
      !created)
    return std::move(created).error();
  return replaced;
}

}  // namespace offpeak
