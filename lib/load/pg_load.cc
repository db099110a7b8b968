// Loading NDJSON into PostgreSQL idempotently, in one transaction, at COPY speed.
//
// The idea: decide on the client, from hashes, what the server must write, and send only that.
// Each line is checked and minified, its key hashed (XXH3, 128 bits) and its record hashed by
// SHA-256, which the table stores beside it. Lines are taken in batches, and each line's key
// is decided one of three ways:
//
//  - Into a table that was empty when the load began, every key new to the load is new: it
//    goes straight in. The load truncates the table once more and sets its primary key aside,
//    so that COPY FREEZE writes the rows frozen and all-visible and the index is built once,
//    sorted, at the end.
//  - A (region, source) pair with many lines in the input, and not many more rows in the
//    table, is swept: one COPY reads its keys and hashes from the primary key's index, and its
//    lines are compared on the client. The input's size, when it is a file, or else the lines
//    seen so far, tell whether a pair is worth it; counting its rows up to a limit tells
//    whether the table has too many.
//  - Other keys are looked up a batch at a time: the batch's keys and hashes go to the server
//    as array parameters of one query, which answers with the lines whose key is missing or
//    whose stored hash differs. Keys new to the load cannot have been written by it, so the
//    lookups run on further connections outside its transaction, in parallel with each other
//    and with the load's writes, while the client reads the next batch.
//
// New keys go to the table by binary COPY. Changed records, and every further line of a key
// that the input had before, are staged in a temporary table by COPY, and written at the end
// with one UPDATE, by each key's last line, and only where it differs from the row: a key
// whose lines change back and forth within the input is written as its last line says, or not
// at all. Unchanged rows are never written or locked. The ids of the keys seen stay in a
// compact hash table (key_table.h), which makes the last line of a key win across batches and
// counts the others as duplicates, without keeping any line.
//
// Concurrent loads of one table queue on an advisory lock held by the transaction, so their
// lookups, sweeps and writes never interleave; creating the schema takes another.

#include "pg_load.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diagnostics.h"
#include "key_table.h"
#include "sha256.h"

namespace offpeak {
namespace {

// Flush a batch at this many lines or bytes of line data, whichever comes first.
constexpr std::size_t kBatchRows = 16384;
constexpr std::size_t kBatchBytes = std::size_t{8} << 20;
// Send COPY data in pieces of about this size.
constexpr std::size_t kCopyChunk = std::size_t{256} << 10;
// A (region, source) pair of the input is worth a sweep from this many lines on, when its
// rows in the table are fewer than this many times its lines. A sweep reads a row for about
// 0.5 us of server time with the client's share, a lookup costs about 7 us, and counting the
// pair's rows up to the limit first about 0.15 us a row.
constexpr std::uint64_t kMinSweepLines = 4096;
constexpr std::uint64_t kSweepRatio = 8;
// The schema version this loader creates and understands.
constexpr int kSchemaVersion = 1;
// Advisory lock keys: "offp" in the high half; the low half is 0 for the schema, or the
// table's OID.
constexpr long long kLockTag = 0x6f666670LL << 32;
// PostgreSQL's epoch, 2000-01-01, in Unix microseconds: binary timestamps count from it.
constexpr std::int64_t kPgEpochMicros = 946684800LL * 1000000;

// A (region, source) of the input: how many of its lines the load has seen, and whether its
// rows in the table have been swept into the key table.
struct Pair {
  std::string region, source;
  LoadCounts counts;            // what became of the pair's lines
  std::uint64_t changed = 0;    // keys first staged as changed: not yet counted
  std::uint64_t untracked = 0;  // lines staged with no key state: not yet counted
  std::uint64_t lines = 0;      // lines not superseded within their batch, which a sweep weighs
  std::uint64_t next_look = 0;  // consider a sweep when the expected lines reach this
  bool swept = false;
};

// Where the load's COPY is going.
enum class CopyTarget { kNone, kTable, kStage };

// A good line, its text in the batch's arena.
struct Row {
  std::uint64_t id = 0;     // of region, source and key: KeyHash::id
  std::uint64_t check = 0;  // content_check of the key and record
  Sha256Digest hash;
  Pair* pair = nullptr;      // its region and source
  std::uint32_t offset = 0;  // region, source, key and record follow each other in the arena
  std::uint32_t region_size = 0, source_size = 0, key_size = 0, record_size = 0;
  bool superseded = false;   // a later line of this batch has the same key
  bool untracked = false;    // its key did not fit in the table of keys: settled at the end
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
        keys_(options.key_memory),
        batches_(std::max<std::size_t>(lookups.size(), 1) + 1) {}

  LoadResult run(const std::vector<LoadInput>& inputs);

 private:
  [[nodiscard]] std::optional<DbError> resolve_table();
  [[nodiscard]] std::optional<DbError> ensure_schema();
  [[nodiscard]] std::optional<DbError> begin_load();
  [[nodiscard]] std::optional<DbError> set_primary_key_aside();
  [[nodiscard]] std::optional<DbError> finish_load();
  void add_line(Batch& batch, const NdjsonRecord& record);
  Pair& pair_of(std::string_view region, std::string_view source);
  [[nodiscard]] std::optional<DbError> consider_sweep(Pair& pair, PgConnection& conn);
  [[nodiscard]] std::optional<DbError> sweep(Pair& pair, PgConnection& conn);
  [[nodiscard]] std::optional<DbError> submit(Batch& batch);
  [[nodiscard]] std::optional<DbError> complete(Batch& batch);
  [[nodiscard]] std::optional<DbError> send_lookup(PgConnection& conn, const Batch& batch,
                                                   std::vector<Row*>& rows);
  [[nodiscard]] std::optional<DbError> read_lookup(PgConnection& conn, std::vector<Row*>& rows);
  [[nodiscard]] std::optional<DbError> start_copy(CopyTarget target);
  [[nodiscard]] std::optional<DbError> put_copy_row();
  [[nodiscard]] std::optional<DbError> insert_row(const Batch& batch, const Row& row);
  [[nodiscard]] std::optional<DbError> stage_row(const Batch& batch, const Row& row,
                                                 KeyState first);
  [[nodiscard]] std::optional<DbError> end_copy();
  [[nodiscard]] std::optional<DbError> apply_staged();
  // The totals as the sums of the pairs' counts, once these are final.
  void sum_pairs();
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
  bool truncated_ = false;       // by this transaction, so COPY may freeze the rows
  std::string add_primary_key_;  // the statement that builds it again, when set aside
  std::int64_t now_ = 0;         // the transaction's start, in PostgreSQL binary form
  bool failed_ = false;          // no more database work: the load will not commit
  Sha256 sha_;
  LineParser parser_;
  KeyTable keys_;
  // The input's (region, source) pairs, and the last one found, which the next line most
  // likely shares.
  std::map<std::pair<std::string, std::string>, Pair, std::less<>> pairs_;
  Pair* last_pair_ = nullptr;
  std::uint64_t input_size_ = 0;  // bytes in all inputs, when all are files; else 0
  bool input_done_ = false;       // the last batch is being submitted
  // One batch being read, and one submitted per lookup connection (at least one).
  std::vector<Batch> batches_;
  std::size_t submitted_ = 0;              // batches submitted so far
  std::vector<std::int32_t> batch_slots_;  // open addressing over a batch's rows by key id
  CopyTarget copying_ = CopyTarget::kNone;
  std::string copy_buffer_;
  bool stage_created_ = false;
  std::uint64_t staged_ = 0;  // lines staged so far, which numbers them
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
  // table passes. The planner settings hold for this load only. The batch's keys are always
  // few against a large table, which is a nested loop over the primary key; a sweep or a
  // count of a pair's rows reads the primary key's index alone. That holds whatever the
  // statistics of a table that grows during the load say, or when it has none yet. And with
  // plans made so costly, the server would compile each query for tens of milliseconds.
  const std::string lock =
      fmt::format("SELECT pg_advisory_xact_lock({} | $1::regclass::oid::bigint)", kLockTag);
  if (auto error = db_.query(lock, {{table_}})) return error;
  const std::string_view planner =
      "SET {0}enable_hashjoin = off; SET {0}enable_mergejoin = off; "
      "SET {0}enable_seqscan = off; SET {0}enable_bitmapscan = off; SET {0}jit = off";
  if (auto error = db_.exec(fmt::format(fmt::runtime(planner), "LOCAL "))) return error;
  for (PgConnection* lookup : lookups_)
    if (auto error = lookup->exec(fmt::format(fmt::runtime(planner), ""))) return error;
  PgResult state;
  if (auto error = db_.query(fmt::format("SELECT NOT EXISTS (SELECT FROM {}), "
                                         "(extract(epoch FROM now()) * 1000000)::bigint, "
                                         "EXISTS (SELECT FROM pg_constraint WHERE confrelid = "
                                         "$1::regclass)",
                                         table_),
                             {{table_}}, &state))
    return error;
  table_was_empty_ = std::string_view(PQgetvalue(state.get(), 0, 0)) == "t";
  now_ = std::atoll(PQgetvalue(state.get(), 0, 1)) - kPgEpochMicros;
  const bool referenced = std::string_view(PQgetvalue(state.get(), 0, 2)) == "t";
  if (table_was_empty_ && !referenced && !options_.dry_run) {
    // A table that is empty is truncated once more, so that COPY may write its rows frozen
    // and all-visible: no reader pays for setting their hint bits later, and a reload finds
    // every hash in the primary key's index without visiting the table. The price is that
    // readers of the empty table wait for this first load. The lock comes before the second
    // look, so that no row another session commits meanwhile can be truncated away. A table
    // that foreign keys refer to cannot be truncated, and is loaded as it is.
    if (auto error = db_.exec(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", table_)))
      return error;
    PgResult still;
    if (auto error =
            db_.query(fmt::format("SELECT NOT EXISTS (SELECT FROM {})", table_), {}, &still))
      return error;
    table_was_empty_ = std::string_view(PQgetvalue(still.get(), 0, 0)) == "t";
    if (table_was_empty_) {
      if (auto error = db_.exec(fmt::format("TRUNCATE {}", table_))) return error;
      truncated_ = true;
      if (auto error = set_primary_key_aside()) return error;
    }
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

std::optional<DbError> Loader::set_primary_key_aside() {
  // Into a table that is empty, truncated and locked, the rows go faster without the primary
  // key's index, which is then built again in one sorted pass, inside the same transaction:
  // the load keeps its keys unique.
  PgResult key;
  if (auto error =
          db_.query("SELECT conname, pg_get_constraintdef(oid), "
                    "(SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem') "
                    "FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'",
                    {{table_}}, &key))
    return error;
  if (PQntuples(key.get()) != 1) return std::nullopt;
  const std::string name = db_.quote_identifier(PQgetvalue(key.get(), 0, 0));
  if (auto error = db_.exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", table_, name)))
    return error;
  add_primary_key_ =
      fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", table_, name, PQgetvalue(key.get(), 0, 1));
  // A million keys sort in memory in about 100 MB (the setting is in kB).
  if (std::strtoll(PQgetvalue(key.get(), 0, 2), nullptr, 10) < 256 * 1024)
    add_primary_key_ = "SET LOCAL maintenance_work_mem = '256MB'; " + add_primary_key_;
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
  // A bad line's region and source cannot be trusted: its pair is the empty one.
  Pair& unknown = pair_of("", "");
  ++unknown.counts.lines;
  ++unknown.counts.rejected;
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
                               std::size_t{row.region_size} + row.source_size + row.key_size);
  const KeyHash key = hash_key(whole, row.region_size, row.source_size);
  row.id = key.id & options_.key_id_mask;
  row.hash = sha_.digest({record.record});
  row.check = content_check(key, view(row.hash));
  row.pair = &pair_of(record.region, record.source);
  ++row.pair->counts.lines;
  batch.rows.push_back(row);
}

Pair& Loader::pair_of(std::string_view region, std::string_view source) {
  if (last_pair_ == nullptr || last_pair_->region != region || last_pair_->source != source) {
    auto name = std::make_pair(std::string(region), std::string(source));
    auto found = pairs_.find(name);
    if (found == pairs_.end()) {
      found = pairs_.emplace(name, Pair{}).first;
      found->second.region = region;
      found->second.source = source;
    }
    last_pair_ = &found->second;
  }
  return *last_pair_;
}

std::optional<DbError> Loader::consider_sweep(Pair& pair, PgConnection& conn) {
  // The pair's lines in the whole input, as far as can be told: from the share of the input
  // read so far when its size is known, else as many again as so far.
  double scale = 2;
  if (input_done_) {
    scale = 1;
  } else if (input_size_ > 0 && result_.counts.bytes > 0) {
    scale =
        std::max(1.0, static_cast<double>(input_size_) / static_cast<double>(result_.counts.bytes));
  }
  const auto expected = static_cast<std::uint64_t>(static_cast<double>(pair.lines) * scale);
  if (expected < std::max(kMinSweepLines, pair.next_look)) return std::nullopt;
  pair.next_look = expected * 2;

  // Counting the pair's rows, as far as the limit, costs a fraction of what the lookups
  // would; past the limit the lookups stay.
  const std::uint64_t limit = expected * kSweepRatio;
  const std::string limit_text = std::to_string(limit);
  PgResult count;
  if (&conn == &db_)
    if (auto error = end_copy()) return error;
  if (auto error = conn.query(fmt::format("SELECT count(*) FROM (SELECT FROM {} WHERE region = "
                                          "$1 AND source = $2 LIMIT $3) AS s",
                                          table_),
                              {{pair.region}, {pair.source}, {limit_text}}, &count))
    return error;
  const std::uint64_t rows = std::strtoull(PQgetvalue(count.get(), 0, 0), nullptr, 10);
  if (rows >= limit || !keys_.reserve_stored(rows)) return std::nullopt;
  return sweep(pair, conn);
}

std::optional<DbError> Loader::sweep(Pair& pair, PgConnection& conn) {
  // COPY takes no parameters: the pair reaches its query as settings, which are parameters
  // of their own statement. On the load's own connection they last as long as its
  // transaction.
  const bool own = &conn == &db_;
  if (auto error = conn.query("SELECT set_config('offpeak.sweep_region', $1, $3), "
                              "set_config('offpeak.sweep_source', $2, $3)",
                              {{pair.region}, {pair.source}, {own ? "true" : "false"}}))
    return error;

  // The binary COPY's rows, each (key, record_hash), arrive one piece at a time; a row cut
  // between pieces waits in `pending` for the rest.
  std::string whole = pair.region + pair.source;
  const std::size_t prefix = whole.size();
  std::string pending;
  bool header = false, malformed = false;
  // Keys go into the table a few dozen at a time, each prefetched first.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> found;
  const auto store = [&] {
    for (const auto& [id, check] : found) keys_.prefetch(id);
    for (const auto& [id, check] : found) keys_.store(id, check);
    found.clear();
  };
  const auto take = [&](std::string_view data) {
    pending.append(data);
    const auto int_at = [&](std::size_t offset, int bytes) {
      std::uint32_t value = 0;
      for (int i = 0; i < bytes; ++i)
        value = value << 8 | static_cast<unsigned char>(pending[offset + i]);
      return value;
    };
    std::size_t at = 0;
    if (!header) {
      // The signature, flags, and an extension of the length that follows them.
      if (pending.size() < 19 || pending.size() < 19 + int_at(15, 4)) return;
      at = 19 + int_at(15, 4);
      header = true;
    }
    while (!malformed && pending.size() >= at + 2) {
      const std::uint32_t fields = int_at(at, 2);
      if (fields == 0xffff) break;  // the trailer
      if (fields != 2) {
        malformed = true;
        break;
      }
      if (pending.size() < at + 6) break;
      const std::size_t key_size = int_at(at + 2, 4);
      if (pending.size() < at + 10 + key_size) break;
      const std::size_t hash_size = int_at(at + 6 + key_size, 4);
      if (pending.size() < at + 10 + key_size + hash_size) break;
      whole.resize(prefix);
      whole.append(pending, at + 6, key_size);
      const KeyHash key = hash_key(whole, pair.region.size(), pair.source.size());
      found.emplace_back(
          key.id & options_.key_id_mask,
          content_check(key, std::string_view(pending).substr(at + 10 + key_size, hash_size)));
      if (found.size() == 32) store();
      at += 10 + key_size + hash_size;
    }
    pending.erase(0, at);
  };
  if (auto error = conn.copy_out(
          fmt::format("COPY (SELECT key, record_hash FROM {} WHERE "
                      "region = current_setting('offpeak.sweep_region') AND "
                      "source = current_setting('offpeak.sweep_source')) TO STDOUT (FORMAT binary)",
                      table_),
          take))
    return error;
  store();
  if (malformed) return DbError{kExitTempFail, "unexpected COPY data while reading keys", ""};
  pair.swept = true;
  return std::nullopt;
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
      ++row.pair->counts.duplicates;  // the same key, so the same pair
    }
    batch_slots_[slot] = static_cast<std::int32_t>(i);
  }

  // Batches in flight at once take turns over the lookup connections; the one whose turn it
  // is has no query outstanding.
  PgConnection& conn = lookups_.empty() ? db_ : *lookups_[submitted_ % lookups_.size()];
  if (!table_was_empty_) {
    // A pair with many lines is swept when its rows in the table are not many more: one
    // sequential read of its keys and hashes, then lines of it are compared on the client.
    std::vector<Pair*> touched;
    for (Row& row : batch.rows) {
      if (row.superseded) continue;
      ++row.pair->lines;
      if (touched.empty() || touched.back() != row.pair)
        if (std::find(touched.begin(), touched.end(), row.pair) == touched.end())
          touched.push_back(row.pair);
    }
    for (Pair* pair : touched)
      if (!pair->swept)
        if (auto error = consider_sweep(*pair, conn)) return error;
  }

  std::vector<Row*> fresh;
  constexpr std::size_t kAhead = 16;
  for (std::size_t i = 0; i < std::min(kAhead, batch.rows.size()); ++i)
    keys_.prefetch(batch.rows[i].id);
  for (std::size_t i = 0; i < batch.rows.size(); ++i) {
    if (i + kAhead < batch.rows.size()) keys_.prefetch(batch.rows[i + kAhead].id);
    Row& row = batch.rows[i];
    if (row.superseded) continue;
    batch.live.push_back(&row);
    row.outcome = KeyState::kInserted;
    std::uint64_t stored_check = 0;
    const KeyState before = keys_.see(row.id, stored_check);
    row.seen_before = before >= KeyState::kPending && before <= KeyState::kUnchanged;
    if (before == KeyState::kUntracked) {
      // With the table of keys full, whether the key is new, or has come before, only the
      // end tells.
      row.untracked = true;
    } else if (row.seen_before) {
      // An earlier batch's line becomes the duplicate; this one is staged and decides at the
      // end, when the key's last line is known.
      ++counts.duplicates;
      ++row.pair->counts.duplicates;
    } else if (before == KeyState::kStored) {
      // A changed record is only likely to be in the table: its staged line settles it.
      row.outcome = stored_check == row.check ? KeyState::kUnchanged : KeyState::kUpdated;
    } else if (!table_was_empty_ && !row.pair->swept) {
      // Only a lookup tells. (A key new to this load and to a table that was empty when the
      // load began, or to its pair's swept keys, is new: it stays kInserted.)
      fresh.push_back(&row);
    }
  }
  if (fresh.empty()) return std::nullopt;
  // Keys new to this load cannot have been written by it, so connections outside its
  // transaction can look them up, in parallel with each other and with the load's writes.
  if (lookups_.empty()) {
    batch.in_transaction.insert(batch.in_transaction.end(), fresh.begin(), fresh.end());
    return std::nullopt;
  }
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

  // New keys go straight into the table. A changed record, and any line of a key that an
  // earlier line had, are staged: whether the key's row is written depends on its last line,
  // which only the end of the input tells. So a key whose lines change back and forth within
  // the input is written once at most, and not at all when its last line matches the table.
  for (Row* row : batch.live) {
    if (row->seen_before || row->untracked || row->outcome != KeyState::kInserted) continue;
    if (auto error = insert_row(batch, *row)) return error;
    ++counts.inserted;
    ++row->pair->counts.inserted;
  }
  for (Row* row : batch.live) {
    if (row->untracked) {
      if (auto error = stage_row(batch, *row, KeyState::kUntracked)) return error;
      ++row->pair->untracked;
      continue;
    }
    if (row->seen_before) {
      if (auto error = stage_row(batch, *row, keys_.get(row->id))) return error;
    } else if (row->outcome == KeyState::kUpdated) {
      if (auto error = stage_row(batch, *row, KeyState::kUpdated)) return error;
      ++row->pair->changed;
    } else if (row->outcome == KeyState::kUnchanged) {
      ++counts.unchanged;
      ++row->pair->counts.unchanged;
    }
    if (!row->seen_before) keys_.set(row->id, row->outcome);
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

std::optional<DbError> Loader::start_copy(CopyTarget target) {
  if (copying_ == target) return std::nullopt;
  if (auto error = end_copy()) return error;
  std::string sql;
  if (target == CopyTarget::kTable) {
    sql = fmt::format(
        "COPY {} (region, source, key, record, record_hash, first_seen, changed_at, load_id) "
        "FROM STDIN (FORMAT binary{})",
        table_, truncated_ ? ", FREEZE" : "");
  } else {
    if (!stage_created_) {
      if (auto error = db_.exec(
              "CREATE TEMPORARY TABLE offpeak_stage (n bigint, first_state text, region text, "
              "source text, key text, record jsonb, record_hash bytea) ON COMMIT DROP"))
        return error;
      stage_created_ = true;
    }
    sql = "COPY pg_temp.offpeak_stage FROM STDIN (FORMAT binary)";
  }
  if (auto error = db_.copy_start(sql)) return error;
  copying_ = target;
  copy_buffer_.assign("PGCOPY\n\xff\r\n\0", 11);
  put_int32(copy_buffer_, 0);  // flags
  put_int32(copy_buffer_, 0);  // header extension length
  return std::nullopt;
}

// Binary COPY fields.
void put_field(std::string& out, std::string_view value) {
  put_int32(out, static_cast<std::int32_t>(value.size()));
  out.append(value);
}
void put_jsonb(std::string& out, std::string_view json) {
  // jsonb's binary form is a version byte, 1, and the text.
  put_int32(out, static_cast<std::int32_t>(json.size() + 1));
  out += '\x01';
  out.append(json);
}
void put_int64_field(std::string& out, std::int64_t value) {
  put_int32(out, 8);
  put_int64(out, value);
}

std::optional<DbError> Loader::put_copy_row() {
  if (copy_buffer_.size() < kCopyChunk) return std::nullopt;
  auto error = db_.copy_put(copy_buffer_);
  copy_buffer_.clear();
  return error;
}

std::optional<DbError> Loader::insert_row(const Batch& batch, const Row& row) {
  if (options_.dry_run) return std::nullopt;
  if (auto error = start_copy(CopyTarget::kTable)) return error;
  put_int16(copy_buffer_, 8);
  put_field(copy_buffer_, batch.region(row));
  put_field(copy_buffer_, batch.source(row));
  put_field(copy_buffer_, batch.key(row));
  put_jsonb(copy_buffer_, batch.record(row));
  put_field(copy_buffer_, view(row.hash));
  for (const std::int64_t value : {now_, now_, result_.load_id})
    put_int64_field(copy_buffer_, value);
  return put_copy_row();
}

std::optional<DbError> Loader::stage_row(const Batch& batch, const Row& row, KeyState first) {
  // A dry run stages too: the staged lines go with its rolled-back transaction.
  if (auto error = start_copy(CopyTarget::kStage)) return error;
  put_int16(copy_buffer_, 7);
  put_int64_field(copy_buffer_, static_cast<std::int64_t>(++staged_));
  put_field(copy_buffer_, first == KeyState::kInserted    ? "i"
                          : first == KeyState::kUpdated   ? "u"
                          : first == KeyState::kUnchanged ? "c"
                                                          : "n");
  put_field(copy_buffer_, batch.region(row));
  put_field(copy_buffer_, batch.source(row));
  put_field(copy_buffer_, batch.key(row));
  put_jsonb(copy_buffer_, batch.record(row));
  put_field(copy_buffer_, view(row.hash));
  return put_copy_row();
}

std::optional<DbError> Loader::end_copy() {
  if (copying_ == CopyTarget::kNone) return std::nullopt;
  copying_ = CopyTarget::kNone;
  put_int16(copy_buffer_, -1);
  auto error = db_.copy_put(copy_buffer_);
  copy_buffer_.clear();
  if (error) return error;
  return db_.copy_end();
}

std::optional<DbError> Loader::apply_staged() {
  if (staged_ == 0) return std::nullopt;
  if (auto error = end_copy()) return error;
  // The last staged line of each key against its row: for keys whose first line was changed
  // ('u') or unchanged ('c'), and keys the load did not keep ('n'), the row is as it was
  // before the load, or missing; for keys the load inserted ('i'), as their first line made it.
  // Rows are written where the last line differs, and inserted where missing: an 'i' key is
  // missing only when its id was another key's, and its lines were taken for repeats (a dry
  // run inserts none). The answer is what became of the keys of each kind, and how many the
  // load did not keep, for each (region, source). A dry run only compares.
  const std::string_view join = "t.region = l.region AND t.source = l.source AND t.key = l.key";
  std::string sql = fmt::format(
      "WITH last AS (SELECT DISTINCT ON (region, source, key) * FROM pg_temp.offpeak_stage "
      "ORDER BY region, source, key, n DESC), "
      "missing AS (SELECT * FROM last AS l WHERE {2}"
      "NOT EXISTS (SELECT FROM {0} AS t WHERE {1})), ",
      table_, join, options_.dry_run ? "first_state <> 'i' AND " : "");
  if (options_.dry_run) {
    sql += fmt::format(
        "written AS (SELECT l.region, l.source, l.first_state FROM last AS l JOIN {0} AS t ON {1} "
        "WHERE t.record_hash <> l.record_hash) ",
        table_, join);
  } else {
    sql += fmt::format(
        "written AS (UPDATE {0} AS t SET record = l.record, record_hash = l.record_hash, "
        "changed_at = now(), load_id = $1 FROM last AS l WHERE {1} AND "
        "t.record_hash <> l.record_hash RETURNING l.region, l.source, l.first_state), "
        "added AS (INSERT INTO {0} (region, source, key, record, record_hash, first_seen, "
        "changed_at, load_id) SELECT region, source, key, record, record_hash, now(), now(), $1 "
        "FROM missing) ",
        table_, join);
  }
  sql +=
      "SELECT region, source, "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 'u'), "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 'c'), "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'u'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'c'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'l' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'i') "
      "FROM (SELECT 'w' AS kind, region, source, first_state FROM written "
      "UNION ALL SELECT 'm', region, source, first_state FROM missing "
      "UNION ALL SELECT 'l', region, source, first_state FROM last) AS k "
      "GROUP BY region, source";
  const std::string load_id = std::to_string(result_.load_id);
  PgResult tally;
  if (auto error = db_.query(
          sql, options_.dry_run ? std::vector<PgParam>{} : std::vector<PgParam>{{load_id}}, &tally))
    return error;
  for (int row = 0; row < PQntuples(tally.get()); ++row) {
    const auto number = [&](int column) -> std::uint64_t {
      return std::strtoull(PQgetvalue(tally.get(), row, column + 2), nullptr, 10);
    };
    const auto written_u = number(0), written_c = number(1), written_n = number(2);
    const auto missing_u = number(3), missing_c = number(4), missing_n = number(5);
    const auto keys_n = number(6), missing_i = number(7);
    Pair& pair = pair_of(PQgetvalue(tally.get(), row, 0), PQgetvalue(tally.get(), row, 1));
    // Keys first staged as changed, and keys not kept, are counted now; keys first counted
    // unchanged may turn out updated, or deleted meanwhile and inserted again. Only keys that
    // share an id can make the unchanged count fall below zero, their lines having been taken
    // for repeats: those are moved back from the duplicates, and the counts still add up.
    LoadCounts& counts = pair.counts;
    counts.updated += written_u + written_c + written_n;
    counts.inserted += missing_u + missing_c + missing_n + missing_i;
    const std::int64_t unchanged =
        static_cast<std::int64_t>(counts.unchanged + pair.changed + keys_n) -
        static_cast<std::int64_t>(written_u + missing_u + written_n + missing_n + written_c +
                                  missing_c);
    const std::int64_t duplicates = static_cast<std::int64_t>(counts.duplicates + pair.untracked) -
                                    static_cast<std::int64_t>(keys_n + missing_i) +
                                    std::min<std::int64_t>(unchanged, 0);
    counts.unchanged = static_cast<std::uint64_t>(std::max<std::int64_t>(unchanged, 0));
    counts.duplicates = static_cast<std::uint64_t>(std::max<std::int64_t>(duplicates, 0));
    pair.changed = pair.untracked = 0;
  }
  return std::nullopt;
}

void Loader::sum_pairs() {
  LoadCounts totals;
  for (const auto& [name, pair] : pairs_) {
    totals.lines += pair.counts.lines;
    totals.inserted += pair.counts.inserted;
    totals.updated += pair.counts.updated;
    totals.unchanged += pair.counts.unchanged;
    totals.duplicates += pair.counts.duplicates;
    totals.rejected += pair.counts.rejected;
  }
  totals.bytes = result_.counts.bytes;
  result_.counts = totals;
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
  // Knowing the input's size tells early how many lines each pair will have.
  for (const LoadInput& input : inputs) {
    struct stat st {};
    if (fstat(input.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      input_size_ = 0;
      break;
    }
    const off_t at = lseek(input.fd, 0, SEEK_CUR);
    input_size_ += static_cast<std::uint64_t>(st.st_size - std::max<off_t>(at, 0));
  }

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
    input_done_ = true;
    if (auto error = rotate()) return fail(*error);
    while (!in_flight.empty())
      if (auto error = complete_oldest()) return fail(*error);
    if (auto error = end_copy()) return fail(*error);
    if (!add_primary_key_.empty())
      if (auto error = db_.exec(add_primary_key_)) return fail(*error);
    if (auto error = apply_staged()) return fail(*error);
    sum_pairs();
    if (auto error = finish_load()) return fail(*error);
  }
  for (const auto& [name, pair] : pairs_)
    result_.pairs.push_back({pair.region, pair.source, pair.counts});
  // Nothing is kept from a failed load or a dry run.
  if (copying_ != CopyTarget::kNone) db_.copy_abort();
  const bool commit = !failed_ && !options_.dry_run;
  if (auto error = db_.exec(commit ? "COMMIT" : "ROLLBACK"); error && commit) return fail(*error);
  return result_;
}

}  // namespace

MetricsFile load_metrics(const LoadResult* result, int exit, double now, double run_seconds) {
  MetricsFile m;
  m.gauge("offpeak_load_last_run_timestamp_seconds", "When the last load ended, in Unix time.");
  m.gauge(kLoadLastSuccess,
          "When a load last committed, in Unix time: unlabelled for the run, labelled for the "
          "pairs it had lines of.");
  m.gauge("offpeak_load_duration_seconds", "How long the last load took.");
  m.gauge("offpeak_load_exit_code",
          "The last load's exit status (0 loaded, 65 bad lines, 69 or 75 database, 74 I/O).");
  m.gauge("offpeak_load_lines", "Input lines of the pair in the last load.");
  m.gauge("offpeak_load_inserted", "Rows the last load inserted.");
  m.gauge("offpeak_load_updated", "Rows the last load updated.");
  m.gauge("offpeak_load_unchanged", "Lines of the last load that matched their row.");
  m.gauge("offpeak_load_duplicates",
          "Lines of the last load that a later line of their key replaced.");
  m.gauge("offpeak_load_rejected", "Bad lines of the last load, under region=\"\" source=\"\".");
  m.set("offpeak_load_last_run_timestamp_seconds", {}, now);
  m.set("offpeak_load_duration_seconds", {}, run_seconds);
  m.set("offpeak_load_exit_code", {}, exit);
  if (exit != kExitOk || result == nullptr) return m;
  m.set(kLoadLastSuccess, {}, now);
  for (const PairCounts& p : result->pairs) {
    const Labels labels = {{"region", p.region}, {"source", p.source}};
    // Empty labels are no labels to Prometheus: bad lines' pair has the run's last_success.
    if (!p.region.empty() || !p.source.empty()) m.set(kLoadLastSuccess, labels, now);
    m.set("offpeak_load_lines", labels, static_cast<double>(p.counts.lines));
    m.set("offpeak_load_inserted", labels, static_cast<double>(p.counts.inserted));
    m.set("offpeak_load_updated", labels, static_cast<double>(p.counts.updated));
    m.set("offpeak_load_unchanged", labels, static_cast<double>(p.counts.unchanged));
    m.set("offpeak_load_duplicates", labels, static_cast<double>(p.counts.duplicates));
    m.set("offpeak_load_rejected", labels, static_cast<double>(p.counts.rejected));
  }
  return m;
}

LoadResult load_ndjson(PgConnection& db, const std::vector<PgConnection*>& lookups,
                       const std::vector<LoadInput>& inputs, const LoadOptions& options,
                       const LoadEvents& events) {
  Loader loader(db, lookups, options, events);
  return loader.run(inputs);
}

}  // namespace offpeak
