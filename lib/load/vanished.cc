// Vanished records: reading the end lines of complete runs, and marking deleted the rows of
// their sources (or of their scopes) that the input did not have.
//
// The idea: after the load has written its lines, the key table knows every key of the input
// (key_table.h). One COPY reads the keys of each complete pair's live rows from the primary
// key's index, the client hashes each and asks the key table, and only the keys the input did
// not have, within the run's scopes, go back to the server, which marks those rows. A reload
// of the same complete run so reads the pair's keys once and writes nothing; a marking writes
// only the vanished rows. The keys can be read outside the load's transaction, on another
// connection while the load's final UPDATE runs: the load writes only keys of its input,
// which are not marked, and the marking itself runs in the transaction, on live rows only. A row is
// live while its record_hash is a bare SHA-256 (32 bytes); marking puts a zero byte before it, so
// the index alone tells the two apart, and a line of the key no longer matches: it comes back as a
// changed record, whose UPDATE clears deleted_at (staged_update.h).

#include "vanished.h"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include "history.h"
#include "json_text.h"
#include "key_table.h"
#include "pg.h"
#include "pg_binary.h"

namespace offpeak {
namespace {

namespace ondemand = simdjson::ondemand;

// Keys marked by one UPDATE.
constexpr std::size_t kMarkBatch = 10000;

Error bad_end_line(std::string_view why) {
  return Error{kExitDataErr, fmt::format("end line: {}", why)};
}

// The fields of an end line, read from its minified text.
Result<void> read_end_fields(ondemand::object top, EndLine& end, std::string& complete,
                             bool& has_records) {
  std::string offpeak;
  for (auto field : top) {
    std::string_view name;
    ondemand::value value;
    if (field.unescaped_key().get(name) || field.value().get(value))
      return bad_end_line("not valid JSON");
    if (name == "offpeak" || name == "region" || name == "source" || name == "complete") {
      std::string_view text;
      if (value.get_string().get(text))
        return bad_end_line(fmt::format("\"{}\" is not a string", name));
      (name == "offpeak"  ? offpeak
       : name == "region" ? end.region
       : name == "source" ? end.source
                          : complete)
          .assign(text);
    } else if (name == "records" || name == "scope_parts") {
      std::uint64_t n = 0;
      if (value.get_uint64().get(n))
        return bad_end_line(fmt::format("\"{}\" is not a whole number", name));
      if (name == "records") {
        end.records = n;
        has_records = true;
      } else {
        end.scope_parts = n;
      }
    } else if (name == "scopes") {
      ondemand::array scopes;
      if (value.get_array().get(scopes)) return bad_end_line("\"scopes\" is not an array");
      for (auto element : scopes) {
        ondemand::array scope;
        std::string_view text;
        if (element.get_array().get(scope) || scope.raw_json().get(text))
          return bad_end_line("each scope must be an array of key parts");
        end.scopes.emplace_back(text);
      }
    }
  }
  if (offpeak != "end") return bad_end_line("\"offpeak\" must be \"end\"");
  return {};
}

}  // namespace

bool is_end_line(std::string_view text) {
  // Records start {"region": as the scrape writes them; spacing is allowed for hands and jq.
  const auto open = text.find_first_not_of(" \t\r");
  if (open == std::string_view::npos || text[open] != '{') return false;
  const auto name = text.find_first_not_of(" \t\r\n", open + 1);
  return name != std::string_view::npos && text.substr(name).starts_with(R"("offpeak")");
}

Result<EndLine> parse_end_line(std::string_view text) {
  const simdjson::padded_string padded(text);
  simdjson::dom::parser dom;
  simdjson::dom::element root;
  if (dom.parse(padded).get(root) || !root.is_object()) return bad_end_line("not a JSON object");
  // Minified, the scopes' raw text is as the keys are stored.
  std::string minified(text.size() + simdjson::SIMDJSON_PADDING, ' ');
  std::size_t size = 0;
  if (simdjson::minify(padded.data(), text.size(), minified.data(), size))
    return bad_end_line("not valid JSON");
  ondemand::parser parser;
  ondemand::document doc;
  ondemand::object top;
  if (parser.iterate(minified.data(), size, minified.size()).get(doc) || doc.get_object().get(top))
    return bad_end_line("not a JSON object");
  EndLine end;
  std::string complete;
  bool has_records = false;
  if (auto read = read_end_fields(top, end, complete, has_records); !read)
    return std::move(read).error();
  if (end.region.empty() || end.source.empty())
    return bad_end_line("needs \"region\" and \"source\"");
  if (!has_records) return bad_end_line("needs \"records\", the run's count");
  if (complete == "source") {
    end.scope_parts = 0;
    end.scopes.clear();
    return end;
  }
  if (complete != "scope") return bad_end_line(R"("complete" must be "source" or "scope")");
  if (end.scope_parts == 0) return bad_end_line("\"scope_parts\" must be 1 or more");
  for (std::string& scope : end.scopes) {
    const auto prefix = json_array_prefix(scope, end.scope_parts);
    if (!prefix || prefix->size() + 1 != scope.size())
      return bad_end_line(fmt::format("scope {} must have {} key part{}", scope, end.scope_parts,
                                      end.scope_parts == 1 ? "" : "s"));
    scope.pop_back();  // compared with the keys' prefixes, which end before the ']'
  }
  return end;
}

std::string_view vanished_migration_ddl() {
  return R"(
      ALTER TABLE offpeak.loads ADD COLUMN IF NOT EXISTS deleted bigint NOT NULL DEFAULT 0;
      ALTER TABLE offpeak.load_sources ADD COLUMN IF NOT EXISTS deleted bigint NOT NULL DEFAULT 0;
    )";
}

std::string vanished_columns_ddl(const std::string& table) {
  return fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS deleted_at timestamptz", table);
}

void VanishedRows::add(EndLine end) {
  Run& run = runs_[{std::move(end.region), std::move(end.source)}];
  const bool first = run.records == 0 && run.scopes.empty() && !run.conflicting;
  if (!first && run.scope_parts != end.scope_parts) run.conflicting = true;
  run.scope_parts = end.scope_parts;
  run.records += end.records;
  for (std::string& scope : end.scopes) run.scopes.insert(std::move(scope));
}

bool VanishedRows::declared(std::string_view region, std::string_view source) const {
  return runs_.find(std::pair{std::string(region), std::string(source)}) != runs_.end();
}

Result<VanishedRows::KeysToMark> VanishedRows::find(const Load& load, PgConnection& conn,
                                                    const Pairs& pairs, bool keys_overflowed,
                                                    std::vector<std::string>& skipped) const {
  KeysToMark found_keys;
  if (runs_.empty()) return found_keys;
  std::uint64_t rejected = 0;
  for (const auto& [name, pair] : pairs) rejected += pair.counts.rejected;
  if (rejected > 0) {
    skipped.push_back(
        fmt::format("nothing marked deleted: {} bad line{} may belong to a complete source",
                    rejected, rejected == 1 ? "" : "s"));
    return found_keys;
  }
  if (keys_overflowed) {
    skipped.emplace_back(
        "nothing marked deleted: the input has more keys than the table of keys holds");
    return found_keys;
  }
  // A pair whose rows a sweep read into the key table has vanished rows only if some live
  // row stayed there unmatched by the input: when none did, no pair's keys need reading.
  const bool swept_vanished = load.keys->count_stored(kDeletedCheck) > 0;
  for (const auto& [name, run] : runs_) {
    const auto found = pairs.find(name);
    const std::uint64_t lines = found == pairs.end() ? 0 : found->second.counts.lines;
    const std::string what = fmt::format("{}/{}", name.first, name.second);
    if (run.conflicting) {
      skipped.push_back(
          fmt::format("{}: nothing marked deleted: its end lines disagree on "
                      "what is complete",
                      what));
    } else if (run.records == 0) {
      skipped.push_back(
          fmt::format("{}: nothing marked deleted: its complete run had no records", what));
    } else if (lines < run.records) {
      skipped.push_back(
          fmt::format("{}: nothing marked deleted: its end line counts {} records, "
                      "the input has {} lines of it",
                      what, run.records, lines));
    } else if (!load.table_was_empty && (swept_vanished || !found->second.swept)) {
      auto keys = vanished_keys(load, conn, found->second, run);
      if (!keys) return std::move(keys).error();
      found_keys[name] = std::move(*keys);
    }
  }
  return found_keys;
}

Result<void> VanishedRows::mark(const Load& load, Pairs& pairs, const KeysToMark& found) {
  for (const auto& [name, keys] : found) {
    Pair& pair = pairs.find(name)->second;
    auto marked = mark_keys(load, pair, keys);
    if (!marked) return std::move(marked).error();
    pair.counts.deleted = *marked;
  }
  return {};
}

Result<std::vector<std::string>> VanishedRows::vanished_keys(const Load& load, PgConnection& conn,
                                                             const Pair& pair,
                                                             const Run& run) const {
  // COPY takes no parameters: the pair reaches its query as settings, for the transaction on
  // the load's own connection, for the session on another.
  if (auto set = conn.query("SELECT set_config('offpeak.mark_region', $1, $3), "
                            "set_config('offpeak.mark_source', $2, $3)",
                            {{pair.region}, {pair.source}, {&conn == load.db ? "true" : "false"}});
      !set)
    return std::move(set).error();
  std::vector<std::string> vanished;
  std::string whole = pair.region + pair.source;
  const std::size_t prefix = whole.size();
  CopyReader reader;
  bool well_formed = true;
  const auto row = [&](const std::vector<std::string_view>& fields) {
    if (fields.size() != 1) {
      well_formed = false;
      return;
    }
    const std::string_view key = fields[0];
    whole.resize(prefix);
    whole.append(key);
    const KeyHash hash = hash_key(whole, pair.region.size(), pair.source.size());
    const KeyState state = load.keys->get(hash.id & load.id_mask);
    if (state != KeyState::kNone && state != KeyState::kStored) return;  // in the input
    if (run.scope_parts > 0) {
      const auto scope = json_array_prefix(key, run.scope_parts);
      if (!scope || !run.scopes.contains(*scope)) return;
    }
    vanished.emplace_back(key);
  };
  const std::string sql = fmt::format(
      "COPY (SELECT key FROM {} WHERE region = current_setting('offpeak.mark_region') AND "
      "source = current_setting('offpeak.mark_source') AND length(record_hash) = 32) "
      "TO STDOUT (FORMAT binary)",
      load.table);
  if (auto copied =
          conn.copy_out(sql, [&](std::string_view data) { well_formed &= reader.take(data, row); });
      !copied)
    return std::move(copied).error();
  if (!well_formed || !reader.complete())
    return Error{kExitTempFail, "unexpected COPY data while reading keys to mark"};
  return vanished;
}

Result<std::uint64_t> VanishedRows::mark_keys(const Load& load, const Pair& pair,
                                              const std::vector<std::string>& keys) {
  if (load.dry_run) return keys.size();
  // With history on, the version a mark ends is closed there by this load ($1), read from
  // o, the row as it was before the statement.
  const std::string closed =
      load.history.empty()
          ? std::string()
          : fmt::format(", closed AS ({})",
                        history_close_sql(load.history,
                                          "SELECT region, source, key, record, record_hash, "
                                          "fetched_at, changed_at, load_id FROM marked"));
  const std::string sql = fmt::format(
      "WITH marked AS (UPDATE {0} AS t SET deleted_at = now(), record_hash = '\\x00'::bytea || "
      "t.record_hash, load_id = $1 FROM {0} AS o WHERE o.region = t.region AND "
      "o.source = t.source AND o.key = t.key AND t.region = $2 AND t.source = $3 AND "
      "t.key = ANY($4::text[]) AND length(t.record_hash) = 32 RETURNING o.region, o.source, "
      "o.key, o.record, o.record_hash, o.fetched_at, o.changed_at, o.load_id){1} "
      "SELECT count(*) FROM marked",
      load.table, closed);
  const std::string id = std::to_string(load.load_id);
  std::uint64_t marked = 0;
  PgArrayBuilder batch(kTextOid);
  for (std::size_t from = 0; from < keys.size(); from += kMarkBatch) {
    batch.clear();
    for (std::size_t i = from; i < std::min(keys.size(), from + kMarkBatch); ++i)
      batch.add(keys[i]);
    auto count = load.db->query(
        sql, {{id}, {pair.region}, {pair.source}, {batch.finish(), kTextArrayOid, true}});
    if (!count) return std::move(count).error();
    marked += count->uint64(0, 0);
  }
  return marked;
}

}  // namespace offpeak
