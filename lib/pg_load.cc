// Loading NDJSON into PostgreSQL idempotently, in one transaction, at COPY speed.
//
// The idea: decide on the client, from hashes, what the server must write, and send only that.
// Each line is checked and minified, its key hashed to a 64-bit fingerprint and its record to
// a SHA-256 stored beside it. Lines are taken in batches: the batch's keys and hashes go to the
// server as array parameters of one query, which answers with the lines whose key is missing
// or whose stored hash differs. Those alone are sent: new rows by binary COPY straight into the
// table, changed ones by one UPDATE. An unchanged row is only looked up in the primary key's
// index, which holds the hash, and is never written or locked.
//
// Three things keep the server busy and the client out of its way. Keys new to this load
// cannot have been written by it, so further connections outside its transaction look them up,
// in parallel with each other and with the load's writes, while the client reads the next
// batch. When the table is empty at the start, a key new to the load cannot be in it at all:
// such lines skip the lookup, and the table, truncated once more inside the transaction, takes
// them by COPY FREEZE, so that a later reload finds every hash in the index alone. And the ids
// of the keys seen so far stay in a compact hash set, which makes the last line of a key win
// across batches, and counts the others as duplicates, without keeping any line.
//
// Concurrent loads of one table queue on an advisory lock held by the transaction, so their
// lookups and writes never interleave; creating the schema takes another.

#include "pg_load.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>

#include <fmt/format.h>
#include <libpq-fe.h>
#include <unistd.h>

#include "diagnostics.h"
#include "sha256.h"

namespace offpeak {
namespace {

// Flush a batch at this many lines or bytes of line data, whichever comes first.
constexpr std::size_t kBatchRows = 16384;
constexpr std::size_t kBatchBytes = std::size_t{8} << 20;
// Send COPY data in pieces of about this size.
constexpr std::size_t kCopyChunk = std::size_t{256} << 10;
// The schema version this loader creates and understands.
constexpr int kSchemaVersion = 1;
// Advisory lock keys: "offp" in the high half; the low half is 0 for the schema, or the
// table's OID.
constexpr long long kLockTag = 0x6f666670LL << 32;
// PostgreSQL's epoch, 2000-01-01, in Unix microseconds: binary timestamps count from it.
constexpr std::int64_t kPgEpochMicros = 946684800LL * 1000000;

// What the load did to a key, kept per key for the whole input.
enum class KeyState : std::uint8_t { kNone, kPending, kInserted, kUpdated, kUnchanged };

// The keys seen so far, as 62-bit fingerprints with a 2-bit state each in one 64-bit word,
// by open addressing: 11 to 21 bytes per key, and one cache line per lookup. Two keys with
// one fingerprint (about one chance in 10^7 in an input of a million keys) would only miscount
// the second as a duplicate: it is still looked up inside the transaction and written right,
// and within a batch keys are told apart by their text.
class KeySet {
 public:
  KeySet() : slots_(std::size_t{1} << 16) {}

  // The key's state, after adding it with `state` when it is not in the set.
  KeyState add(std::uint64_t fingerprint, KeyState state) {
    fingerprint = canonical(fingerprint);
    std::size_t slot = find(fingerprint);
    if (slots_[slot] != 0) return decode(slots_[slot]);
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
      slot = find(fingerprint);
    }
    slots_[slot] = encode(fingerprint, state);
    ++size_;
    return KeyState::kNone;
  }

  [[nodiscard]] KeyState get(std::uint64_t fingerprint) const {
    const std::uint64_t entry = slots_[find(canonical(fingerprint))];
    return entry == 0 ? KeyState::kNone : decode(entry);
  }

  // Changes the state of a key in the set.
  void set(std::uint64_t fingerprint, KeyState state) {
    fingerprint = canonical(fingerprint);
    std::uint64_t& entry = slots_[find(fingerprint)];
    if (entry != 0) entry = encode(fingerprint, state);
  }

 private:
  // 62 bits, never 0: an entry of 0 marks an empty slot.
  static std::uint64_t canonical(std::uint64_t fingerprint) {
    fingerprint &= ~std::uint64_t{0} >> 2;
    return fingerprint == 0 ? 1 : fingerprint;
  }
  static std::uint64_t encode(std::uint64_t fingerprint, KeyState state) {
    return fingerprint << 2 | (static_cast<std::uint64_t>(state) - 1);
  }
  static KeyState decode(std::uint64_t entry) { return static_cast<KeyState>((entry & 3) + 1); }

  // The slot of a canonical fingerprint, or the empty slot where it belongs.
  [[nodiscard]] std::size_t find(std::uint64_t fingerprint) const {
    const std::uint64_t bits = fingerprint << 2;
    const std::size_t mask = slots_.size() - 1;
    std::size_t slot = (fingerprint ^ (fingerprint >> 29)) & mask;
    while (slots_[slot] != 0 && (slots_[slot] & ~std::uint64_t{3}) != bits)
      slot = (slot + 1) & mask;
    return slot;
  }

  void grow() {
    std::vector<std::uint64_t> old(slots_.size() * 2);
    old.swap(slots_);
    for (const std::uint64_t entry : old) {
      if (entry == 0) continue;
      slots_[find(entry >> 2)] = entry;
    }
  }

  std::vector<std::uint64_t> slots_;
  std::size_t size_ = 0;
};

// A good line, its text in the batch's arena.
struct Row {
  std::uint64_t id = 0;  // fingerprint of region, source and key
  Sha256Digest hash;
  std::uint32_t offset = 0;  // region, source, key and record follow each other in the arena
  std::uint32_t region_size = 0, source_size = 0, key_size = 0, record_size = 0;
  bool superseded = false;   // a later line of this batch has the same key
  bool seen_before = false;  // an earlier batch had the key
  KeyState outcome = KeyState::kNone;
};

// Lines on their way to the table. A batch is submitted (lookups sent) and completed (answers
// read, rows written) later, while the next batch is read.
struct Batch {
  std::string arena;
  std::vector<Row> rows;
  std::vector<Row*> live;            // not superseded, in input order
  std::vector<Row*> in_transaction;  // looked up inside the load's transaction
  std::vector<Row*> outside;         // looked up by lookup connection `lookup`
  std::size_t lookup = 0;

  [[nodiscard]] std::string_view region(const Row& r) const {
    return {arena.data() + r.offset, r.region_size};
  }
  [[nodiscard]] std::string_view source(const Row& r) const {
    return {arena.data() + r.offset + r.region_size, r.source_size};
  }
  [[nodiscard]] std::string_view key(const Row& r) const {
    return {arena.data() + r.offset + r.region_size + r.source_size, r.key_size};
  }
  [[nodiscard]] std::string_view record(const Row& r) const {
    return {arena.data() + r.offset + r.region_size + r.source_size + r.key_size, r.record_size};
  }
  [[nodiscard]] bool same_key(const Row& x, const Row& y) const {
    return x.id == y.id && x.region_size == y.region_size && x.source_size == y.source_size &&
           x.key_size == y.key_size &&
           std::memcmp(arena.data() + x.offset, arena.data() + y.offset,
                       x.region_size + x.source_size + x.key_size) == 0;
  }
  [[nodiscard]] bool full() const {
    return rows.size() >= kBatchRows || arena.size() >= kBatchBytes;
  }
  void clear() {
    arena.clear();
    rows.clear();
    live.clear();
    in_transaction.clear();
    outside.clear();
  }
};

std::string_view view(const Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

class Loader {
 public:
  Loader(PgConnection& db, const std::vector<PgConnection*>& lookups, const LoadOptions& options,
         const LoadEvents& events)
      : db_(db),
        lookups_(lookups),
        options_(options),
        events_(events),
        batches_(std::max<std::size_t>(lookups.size(), 1) + 1) {}

  LoadResult run(const std::vector<LoadInput>& inputs);

 private:
  [[nodiscard]] std::optional<DbError> resolve_table();
  [[nodiscard]] std::optional<DbError> ensure_schema();
  [[nodiscard]] std::optional<DbError> begin_load();
  [[nodiscard]] std::optional<DbError> finish_load();
  void add_line(Batch& batch, const NdjsonRecord& record);
  [[nodiscard]] std::optional<DbError> submit(Batch& batch);
  [[nodiscard]] std::optional<DbError> complete(Batch& batch);
  [[nodiscard]] std::optional<DbError> send_lookup(PgConnection& conn, const Batch& batch,
                                                   std::vector<Row*>& rows);
  [[nodiscard]] std::optional<DbError> read_lookup(PgConnection& conn, std::vector<Row*>& rows);
  [[nodiscard]] std::optional<DbError> insert_row(const Batch& batch, const Row& row);
  [[nodiscard]] std::optional<DbError> end_copy();
  [[nodiscard]] std::optional<DbError> update_rows(const Batch& batch,
                                                   const std::vector<Row*>& rows);
  // A bad line; false when the load must stop reading.
  bool bad_line(std::string_view file, const InputLine& line, std::string reason);

  PgConnection& db_;
  const std::vector<PgConnection*>& lookups_;
  const LoadOptions& options_;
  const LoadEvents& events_;
  LoadResult result_;
  std::string table_;         // quoted, possibly schema-qualified
  std::string table_schema_;  // quoted schema, empty when the name has none
  bool table_was_empty_ = false;
  std::int64_t now_ = 0;  // the transaction's start, in PostgreSQL binary form
  bool failed_ = false;   // no more database work: the load will not commit
  Sha256 sha_;
  LineParser parser_;
  KeySet keys_;
  // One batch being read, and one submitted per lookup connection (at least one).
  std::vector<Batch> batches_;
  std::size_t submitted_ = 0;              // batches submitted so far
  std::vector<std::int32_t> batch_slots_;  // open addressing over a batch's rows by key id
  bool copying_ = false;
  std::string copy_buffer_;
};

std::optional<DbError> Loader::resolve_table() {
  // parse_ident reads the name exactly as SQL would, quotes and case folding included.
  const std::string name = options_.table;
  PgResult parts;
  if (auto error = db_.query("SELECT array_length(p, 1), p[1], p[2] FROM parse_ident($1) AS p",
                             {{name}}, &parts)) {
    error->exit_code = kExitUsage;
    error->message = "--table: " + error->message;
    return error;
  }
  const std::string_view count = PQgetvalue(parts.get(), 0, 0);
  if (count != "1" && count != "2")
    return DbError{kExitUsage, fmt::format("--table: \"{}\" is not TABLE or SCHEMA.TABLE", name),
                   ""};
  if (count == "1") {
    table_ = db_.quote_identifier(PQgetvalue(parts.get(), 0, 1));
  } else {
    table_schema_ = db_.quote_identifier(PQgetvalue(parts.get(), 0, 1));
    table_ = table_schema_ + "." + db_.quote_identifier(PQgetvalue(parts.get(), 0, 2));
  }
  return std::nullopt;
}

std::optional<DbError> Loader::ensure_schema() {
  PgResult found;
  if (auto error = db_.query("SELECT to_regclass('offpeak.schema_version') IS NOT NULL AND "
                             "to_regclass('offpeak.loads') IS NOT NULL AND "
                             "to_regclass($1) IS NOT NULL",
                             {{table_}}, &found))
    return error;
  if (std::string_view(PQgetvalue(found.get(), 0, 0)) != "t") {
    // IF NOT EXISTS alone still races (two creators collide in the catalog): first runs queue.
    if (auto error = db_.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kLockTag)))
      return error;
    std::string ddl = fmt::format(R"(
      CREATE SCHEMA IF NOT EXISTS offpeak;
      CREATE TABLE IF NOT EXISTS offpeak.schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO offpeak.schema_version (version) VALUES ({}) ON CONFLICT DO NOTHING;
      CREATE TABLE IF NOT EXISTS offpeak.loads (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        started timestamptz NOT NULL,
        finished timestamptz,
        host text NOT NULL,
        target text NOT NULL,
        input_lines bigint NOT NULL DEFAULT 0,
        inserted bigint NOT NULL DEFAULT 0,
        updated bigint NOT NULL DEFAULT 0,
        unchanged bigint NOT NULL DEFAULT 0,
        duplicates bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0,
        status text NOT NULL);
    )",
                                  kSchemaVersion);
    if (!table_schema_.empty())
      ddl += fmt::format("CREATE SCHEMA IF NOT EXISTS {};\n", table_schema_);
    ddl += fmt::format(R"(
      CREATE TABLE IF NOT EXISTS {} (
        region text NOT NULL,
        source text NOT NULL,
        key text NOT NULL,
        record jsonb NOT NULL,
        record_hash bytea NOT NULL,
        first_seen timestamptz NOT NULL,
        changed_at timestamptz NOT NULL,
        load_id bigint NOT NULL,
        PRIMARY KEY (region, source, key) INCLUDE (record_hash));
    )",
                       table_);
    if (auto error = db_.exec(ddl)) return error;
  }
  PgResult version;
  if (auto error = db_.query("SELECT max(version) FROM offpeak.schema_version", {}, &version))
    return error;
  if (const int v = std::atoi(PQgetvalue(version.get(), 0, 0)); v > kSchemaVersion)
    return DbError{kExitConfig,
                   fmt::format("the offpeak schema is at version {}; this offpeak-load knows "
                               "version {} at most: upgrade offpeak-load",
                               v, kSchemaVersion),
                   ""};
  return std::nullopt;
}

std::optional<DbError> Loader::begin_load() {
  // Loads of one table queue here until the one before them commits; a load of another
  // table passes. The planner settings hold for this transaction only: the batch's keys are
  // always few against a large table, which is a nested loop over the primary key, whatever
  // the statistics of a table that grows during the load say.
  const std::string lock =
      fmt::format("SELECT pg_advisory_xact_lock({} | $1::regclass::oid::bigint)", kLockTag);
  if (auto error = db_.query(lock, {{table_}})) return error;
  if (auto error = db_.exec("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
                            "SET LOCAL enable_seqscan = off"))
    return error;
  for (PgConnection* lookup : lookups_)
    if (auto error = lookup->exec("SET enable_hashjoin = off; SET enable_mergejoin = off; "
                                  "SET enable_seqscan = off"))
      return error;
  PgResult state;
  if (auto error = db_.query(fmt::format("SELECT NOT EXISTS (SELECT FROM {}), "
                                         "(extract(epoch FROM now()) * 1000000)::bigint",
                                         table_),
                             {}, &state))
    return error;
  table_was_empty_ = std::string_view(PQgetvalue(state.get(), 0, 0)) == "t";
  now_ = std::atoll(PQgetvalue(state.get(), 0, 1)) - kPgEpochMicros;
  if (table_was_empty_ && !options_.dry_run) {
    // A table that is empty is truncated once more, so that COPY may write its rows frozen
    // and all-visible: no reader pays for setting their hint bits later, and a reload finds
    // every hash in the primary key's index without visiting the table. The price is that
    // readers of the empty table wait for this first load. The lock comes before the second
    // look, so that no row another session commits meanwhile can be truncated away.
    if (auto error = db_.exec(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", table_)))
      return error;
    PgResult still;
    if (auto error =
            db_.query(fmt::format("SELECT NOT EXISTS (SELECT FROM {})", table_), {}, &still))
      return error;
    table_was_empty_ = std::string_view(PQgetvalue(still.get(), 0, 0)) == "t";
    if (table_was_empty_)
      if (auto error = db_.exec(fmt::format("TRUNCATE {}", table_))) return error;
  }

  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  PgResult id;
  if (auto error = db_.query("INSERT INTO offpeak.loads (started, host, target, status) "
                             "VALUES (now(), $1, $2, 'running') RETURNING id",
                             {{host}, {options_.table}}, &id))
    return error;
  result_.load_id = std::atoll(PQgetvalue(id.get(), 0, 0));
  return std::nullopt;
}

std::optional<DbError> Loader::finish_load() {
  const LoadCounts& c = result_.counts;
  const std::vector<std::string> values = {
      std::to_string(result_.load_id), std::to_string(c.lines),
      std::to_string(c.inserted),      std::to_string(c.updated),
      std::to_string(c.unchanged),     std::to_string(c.duplicates),
      std::to_string(c.rejected),      c.rejected > 0 ? "loaded with rejects" : "loaded"};
  std::vector<PgParam> params;
  for (const std::string& v : values) params.push_back({v});
  return db_.query(
      "UPDATE offpeak.loads SET finished = clock_timestamp(), input_lines = $2, inserted = $3, "
      "updated = $4, unchanged = $5, duplicates = $6, rejected = $7, status = $8 WHERE id = $1",
      params);
}

bool Loader::bad_line(std::string_view file, const InputLine& line, std::string reason) {
  ++result_.counts.rejected;
  if (options_.keep_rejects) {
    if (events_.reject && !events_.reject(file, line, reason)) {
      result_.status = LoadStatus::kRejectFailed;
      failed_ = true;
      return false;
    }
    if (result_.counts.rejected > options_.max_rejects) {
      result_.status = LoadStatus::kTooManyRejects;
      failed_ = true;
      return false;
    }
    return true;
  }
  // Without a reject file the load fails, but the input is read on: the report then names
  // the first few bad lines and how many there are.
  if (result_.bad_lines.size() < kReportedBadLines)
    result_.bad_lines.push_back({std::string(file), line.number, std::move(reason)});
  result_.status = LoadStatus::kBadLines;
  failed_ = true;
  return true;
}

void Loader::add_line(Batch& batch, const NdjsonRecord& record) {
  Row row;
  row.offset = static_cast<std::uint32_t>(batch.arena.size());
  row.region_size = static_cast<std::uint32_t>(record.region.size());
  row.source_size = static_cast<std::uint32_t>(record.source.size());
  row.key_size = static_cast<std::uint32_t>(record.key.size());
  row.record_size = static_cast<std::uint32_t>(record.record.size());
  for (const std::string_view part : {record.region, record.source, record.key, record.record})
    batch.arena.append(part);
  // Region, source and key lie side by side in the arena; with the sizes of the first two
  // they name the key exactly.
  const std::string_view whole(batch.arena.data() + row.offset,
                               row.region_size + row.source_size + row.key_size);
  row.id = std::hash<std::string_view>{}(whole) ^
           (row.region_size * 0x9e3779b97f4a7c15ULL + row.source_size * 0xc2b2ae3d27d4eb4fULL);
  row.hash = sha_.digest({record.record});
  batch.rows.push_back(row);
}

std::optional<DbError> Loader::submit(Batch& batch) {
  LoadCounts& counts = result_.counts;
  // Last wins within the batch: an earlier line of a key is superseded by the later one.
  std::size_t capacity = 1;
  while (capacity < batch.rows.size() * 2) capacity *= 2;
  batch_slots_.assign(capacity, -1);
  for (std::size_t i = 0; i < batch.rows.size(); ++i) {
    Row& row = batch.rows[i];
    std::size_t slot = row.id & (capacity - 1);
    while (batch_slots_[slot] >= 0 && !batch.same_key(batch.rows[batch_slots_[slot]], row))
      slot = (slot + 1) & (capacity - 1);
    if (batch_slots_[slot] >= 0) {
      batch.rows[batch_slots_[slot]].superseded = true;
      ++counts.duplicates;
    }
    batch_slots_[slot] = static_cast<std::int32_t>(i);
  }

  std::vector<Row*> fresh;
  for (Row& row : batch.rows) {
    if (row.superseded) continue;
    batch.live.push_back(&row);
    row.outcome = KeyState::kInserted;
    row.seen_before = keys_.add(row.id, KeyState::kPending) != KeyState::kNone;
    if (row.seen_before) {
      // An earlier batch's line becomes the duplicate, this one replaces it. Only the load's
      // own transaction sees what that line wrote.
      ++counts.duplicates;
      batch.in_transaction.push_back(&row);
    } else {
      // A key new to this load is not in a table that was empty when the load began.
      if (!table_was_empty_) fresh.push_back(&row);
    }
  }
  if (fresh.empty()) return std::nullopt;
  // Keys new to this load cannot have been written by it, so connections outside its
  // transaction can look them up, in parallel with each other and with the load's writes.
  if (lookups_.empty()) {
    batch.in_transaction.insert(batch.in_transaction.end(), fresh.begin(), fresh.end());
    return std::nullopt;
  }
  // Batches in flight at once take turns over the connections, so none waits for another.
  batch.lookup = submitted_++ % lookups_.size();
  batch.outside = std::move(fresh);
  return send_lookup(*lookups_[batch.lookup], batch, batch.outside);
}

std::optional<DbError> Loader::complete(Batch& batch) {
  LoadCounts& counts = result_.counts;
  if (!batch.outside.empty())
    if (auto error = read_lookup(*lookups_[batch.lookup], batch.outside)) return error;
  if (!batch.in_transaction.empty()) {
    // The lookup must see every row written so far.
    if (auto error = end_copy()) return error;
    if (auto error = send_lookup(db_, batch, batch.in_transaction)) return error;
    if (auto error = read_lookup(db_, batch.in_transaction)) return error;
  }

  std::vector<Row*> changed;
  for (Row* row : batch.live) {
    if (row->outcome == KeyState::kInserted) {
      if (auto error = insert_row(batch, *row)) return error;
    } else if (row->outcome == KeyState::kUpdated) {
      changed.push_back(row);
    }
  }
  if (!changed.empty())
    if (auto error = update_rows(batch, changed)) return error;

  for (Row* row : batch.live) {
    if (!row->seen_before) {
      keys_.set(row->id, row->outcome);
      if (row->outcome == KeyState::kInserted) ++counts.inserted;
      if (row->outcome == KeyState::kUpdated) ++counts.updated;
      if (row->outcome == KeyState::kUnchanged) ++counts.unchanged;
    } else if (keys_.get(row->id) == KeyState::kUnchanged && row->outcome != KeyState::kUnchanged) {
      // The key's first line matched the table, a later one did not: the key is updated.
      keys_.set(row->id, KeyState::kUpdated);
      --counts.unchanged;
      ++counts.updated;
    }
  }
  batch.clear();
  if (events_.progress) events_.progress(counts);
  return std::nullopt;
}

std::optional<DbError> Loader::send_lookup(PgConnection& conn, const Batch& batch,
                                           std::vector<Row*>& rows) {
  // Near the index's order, consecutive lookups share its pages. Region, source and key lie
  // side by side in the arena and are compared as one text: the index's order exactly when
  // region and source are the same throughout, as they mostly are. The answer refers to the
  // lines by position, so the order is kept in `rows`.
  std::sort(rows.begin(), rows.end(), [&](const Row* x, const Row* y) {
    return std::string_view(batch.arena.data() + x->offset,
                            x->region_size + x->source_size + x->key_size) <
           std::string_view(batch.arena.data() + y->offset,
                            y->region_size + y->source_size + y->key_size);
  });
  PgArrayBuilder regions(kTextOid), sources(kTextOid), keys(kTextOid), hashes(kByteaOid);
  for (const Row* row : rows) {
    regions.add(batch.region(*row));
    sources.add(batch.source(*row));
    keys.add(batch.key(*row));
    hashes.add(view(row->hash));
  }
  const std::string sql = fmt::format(
      "SELECT i.n, t.record_hash IS NOT NULL "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY "
      "AS i(region, source, key, hash, n) "
      "LEFT JOIN {} AS t ON t.region = i.region AND t.source = i.source AND t.key = i.key "
      "WHERE t.record_hash IS DISTINCT FROM i.hash",
      table_);
  return conn.send_query(sql, {{regions.finish(), kTextArrayOid, true},
                               {sources.finish(), kTextArrayOid, true},
                               {keys.finish(), kTextArrayOid, true},
                               {hashes.finish(), kByteaArrayOid, true}});
}

std::optional<DbError> Loader::read_lookup(PgConnection& conn, std::vector<Row*>& rows) {
  // Only the lines whose key is missing or whose hash differs come back.
  PgResult differing;
  if (auto error = conn.get_result(&differing)) return error;
  for (Row* row : rows) row->outcome = KeyState::kUnchanged;
  const int n = PQntuples(differing.get());
  for (int i = 0; i < n; ++i) {
    const std::string_view number = PQgetvalue(differing.get(), i, 0);
    std::size_t index = 0;
    std::from_chars(number.data(), number.data() + number.size(), index);
    if (index < 1 || index > rows.size()) continue;
    const bool exists = std::string_view(PQgetvalue(differing.get(), i, 1)) == "t";
    rows[index - 1]->outcome = exists ? KeyState::kUpdated : KeyState::kInserted;
  }
  return std::nullopt;
}

std::optional<DbError> Loader::insert_row(const Batch& batch, const Row& row) {
  if (options_.dry_run) return std::nullopt;
  if (!copying_) {
    if (auto error = db_.copy_start(fmt::format(
            "COPY {} (region, source, key, record, record_hash, first_seen, changed_at, load_id) "
            "FROM STDIN (FORMAT binary{})",
            table_, table_was_empty_ ? ", FREEZE" : "")))
      return error;
    copying_ = true;
    copy_buffer_.assign("PGCOPY\n\xff\r\n\0", 11);
    put_int32(copy_buffer_, 0);  // flags
    put_int32(copy_buffer_, 0);  // header extension length
  }
  const auto field = [&](std::string_view value) {
    put_int32(copy_buffer_, static_cast<std::int32_t>(value.size()));
    copy_buffer_.append(value);
  };
  put_int16(copy_buffer_, 8);
  field(batch.region(row));
  field(batch.source(row));
  field(batch.key(row));
  // jsonb's binary form is a version byte, 1, and the text.
  put_int32(copy_buffer_, static_cast<std::int32_t>(row.record_size + 1));
  copy_buffer_ += '\x01';
  copy_buffer_.append(batch.record(row));
  field(view(row.hash));
  for (const std::int64_t value : {now_, now_, result_.load_id}) {
    put_int32(copy_buffer_, 8);
    put_int64(copy_buffer_, value);
  }
  if (copy_buffer_.size() >= kCopyChunk) {
    if (auto error = db_.copy_put(copy_buffer_)) return error;
    copy_buffer_.clear();
  }
  return std::nullopt;
}

std::optional<DbError> Loader::end_copy() {
  if (!copying_) return std::nullopt;
  copying_ = false;
  put_int16(copy_buffer_, -1);
  auto error = db_.copy_put(copy_buffer_);
  copy_buffer_.clear();
  if (error) return error;
  return db_.copy_end();
}

std::optional<DbError> Loader::update_rows(const Batch& batch, const std::vector<Row*>& rows) {
  if (options_.dry_run) return std::nullopt;
  if (auto error = end_copy()) return error;
  PgArrayBuilder regions(kTextOid), sources(kTextOid), keys(kTextOid), hashes(kByteaOid),
      records(kTextOid);
  for (const Row* row : rows) {
    regions.add(batch.region(*row));
    sources.add(batch.source(*row));
    keys.add(batch.key(*row));
    hashes.add(view(row->hash));
    records.add(batch.record(*row));
  }
  const std::string load_id = std::to_string(result_.load_id);
  const std::string sql = fmt::format(
      "UPDATE {} AS t SET record = u.record::jsonb, record_hash = u.hash, changed_at = now(), "
      "load_id = $6 "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[]) "
      "AS u(region, source, key, hash, record) "
      "WHERE t.region = u.region AND t.source = u.source AND t.key = u.key",
      table_);
  return db_.query(sql, {{regions.finish(), kTextArrayOid, true},
                         {sources.finish(), kTextArrayOid, true},
                         {keys.finish(), kTextArrayOid, true},
                         {hashes.finish(), kByteaArrayOid, true},
                         {records.finish(), kTextArrayOid, true},
                         {load_id}});
}

LoadResult Loader::run(const std::vector<LoadInput>& inputs) {
  const auto fail = [&](DbError error) {
    result_.status = LoadStatus::kDbError;
    result_.db_error = std::move(error);
    return result_;
  };
  if (auto error = resolve_table()) {
    result_.status = LoadStatus::kBadTable;
    result_.db_error = std::move(*error);
    return result_;
  }
  // The schema commits on its own, so that a failed load does not undo it for the next; a
  // dry run writes nothing, so there it stays inside the load's transaction.
  if (!options_.dry_run) {
    if (auto error = db_.exec("BEGIN")) return fail(*error);
    if (auto error = ensure_schema()) return fail(*error);
    if (auto error = db_.exec("COMMIT")) return fail(*error);
  }
  if (auto error = db_.exec("BEGIN")) return fail(*error);
  if (options_.dry_run)
    if (auto error = ensure_schema()) return fail(*error);
  if (auto error = begin_load()) return fail(*error);

  // While the server looks up the batches in flight, the next one is read and hashed; the
  // oldest completes only when a new one needs its place.
  std::deque<std::size_t> in_flight;
  std::size_t reading_batch = 0;
  const auto complete_oldest = [&]() -> std::optional<DbError> {
    const std::size_t oldest = in_flight.front();
    in_flight.pop_front();
    return complete(batches_[oldest]);
  };
  const auto rotate = [&]() -> std::optional<DbError> {
    if (batches_[reading_batch].rows.empty()) return std::nullopt;
    while (in_flight.size() + 1 >= batches_.size())
      if (auto error = complete_oldest()) return error;
    if (auto error = submit(batches_[reading_batch])) return error;
    in_flight.push_back(reading_batch);
    for (std::size_t i = 0; i < batches_.size(); ++i)
      if (std::find(in_flight.begin(), in_flight.end(), i) == in_flight.end()) reading_batch = i;
    return std::nullopt;
  };
  for (const LoadInput& input : inputs) {
    LineReader reader(input.fd);
    InputLine line;
    NdjsonRecord record;
    bool reading = true;
    while (reading && reader.next(line)) {
      ++result_.counts.lines;
      result_.counts.bytes += line.text.size() + 1;
      if (auto reason = parser_.parse(line, record)) {
        reading = bad_line(input.name, line, std::move(*reason));
        continue;
      }
      if (failed_) continue;
      add_line(batches_[reading_batch], record);
      if (batches_[reading_batch].full())
        if (auto error = rotate()) return fail(*error);
    }
    if (!reader.error().empty()) {
      result_.status = LoadStatus::kInputError;
      result_.input_error =
          fmt::format("{}: {}", input.name.empty() ? "standard input" : input.name, reader.error());
      failed_ = true;
    }
    if (failed_) break;
  }
  if (!failed_) {
    if (auto error = rotate()) return fail(*error);
    while (!in_flight.empty())
      if (auto error = complete_oldest()) return fail(*error);
    if (auto error = end_copy()) return fail(*error);
    if (auto error = finish_load()) return fail(*error);
  }
  // Nothing is kept from a failed load or a dry run.
  if (copying_) db_.copy_abort();
  const bool commit = !failed_ && !options_.dry_run;
  if (auto error = db_.exec(commit ? "COMMIT" : "ROLLBACK"); error && commit) return fail(*error);
  return result_;
}

}  // namespace

LoadResult load_ndjson(PgConnection& db, const std::vector<PgConnection*>& lookups,
                       const std::vector<LoadInput>& inputs, const LoadOptions& options,
                       const LoadEvents& events) {
  Loader loader(db, lookups, options, events);
  return loader.run(inputs);
}

}  // namespace offpeak
