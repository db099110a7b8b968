// Loading NDJSON into PostgreSQL idempotently, in one transaction, at COPY speed: the driver.
//
// The idea: decide on the client, from hashes, what the server must write, and send only that.
// Each line is checked and minified, its key hashed (XXH3, 128 bits) and its record hashed by
// SHA-256, which the table stores beside it. Lines are taken in batches, and each line's key
// is decided one of three ways (key_decisions.h):
//
//  - Into a table that was empty when the load began, every key new to the load is new: it
//    goes straight in, by COPY FREEZE, with the primary key rebuilt at the end (load_table.h).
//  - A (region, source) pair with many lines in the input, and not many more rows in the
//    table, is swept: one COPY reads its keys and hashes, and its lines are compared on the
//    client (lookups.h). The input's size, when it is a file, or else the lines seen so far,
//    tell whether a pair is worth it; counting its rows up to a limit tells whether the table
//    has too many.
//  - Other keys are looked up a batch at a time, stale lines told too where the key's index
//    holds fetched_at. Keys new to the load cannot have been
//    written by it, so the lookups run on further connections outside its transaction, in
//    parallel with each other and with the load's writes, while the client reads the next
//    batch.
//
// New keys go to the table by binary COPY (pg_binary.h). Changed records, and every further
// line of a key that the input had before, are staged and written at the end by one UPDATE,
// by each key's last line (staged_update.h). The ids of the keys seen stay in a compact hash
// table (key_table.h), which makes the last line of a key win across batches without keeping
// any line. With history on (history.h), that UPDATE also keeps each changed row's previous
// version. Concurrent loads of one table queue on an advisory lock held by the transaction.
//
// Whatever path the load leaves by, its COPY is ended, its transaction rolled back unless
// committed, and every lookup connection's answer read: the connections are ready for more.

#include "pg_load.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "history.h"
#include "key_decisions.h"
#include "key_table.h"
#include "load_table.h"
#include "lookups.h"
#include "pg.h"
#include "pg_binary.h"
#include "sha256.h"
#include "staged_update.h"
#include "timestamp.h"
#include "vanished.h"

namespace offpeak {
namespace {

// A (region, source) pair of the input is worth a sweep from this many lines on, when its
// rows in the table are fewer than this many times its lines. A sweep reads a row for about
// 0.5 us of server time with the client's share, a lookup costs about 7 us, and counting the
// pair's rows up to the limit first about 0.15 us a row.
constexpr std::uint64_t kMinSweepLines = 4096;
constexpr std::uint64_t kSweepRatio = 8;
// A table estimated at fewer rows than the limit divided by this is not counted.
constexpr std::uint64_t kEstimateMargin = 2;

// PostgreSQL's epoch, 2000-01-01, in Unix seconds: binary timestamps count from it.
constexpr std::int64_t kPgEpochSeconds = 946684800;

// A line's fetched_at as a binary timestamp, to the microsecond (as PostgreSQL keeps it),
// kNoFetchedAt when the line has none; nothing when it is not an RFC 3339 time.
std::optional<std::int64_t> fetched_time(std::string_view text) {
  if (text.empty()) return kNoFetchedAt;
  const auto at = parse_rfc3339(text);
  if (!at) return std::nullopt;
  // parse_rfc3339 checked the fraction's digits, and drops them: its first six count here.
  std::int64_t micros = 0;
  if (text.size() > 19 && text[19] == '.') {
    std::size_t i = 20;
    for (int place = 0; place < 6; ++place, ++i) {
      const bool digit = i < text.size() && text[i] >= '0' && text[i] <= '9';
      micros = micros * 10 + (digit ? text[i] - '0' : 0);
      if (!digit) i = text.size();
    }
  }
  return (at->time_since_epoch().count() - kPgEpochSeconds) * 1000000 + micros;
}

// Where the load's COPY is going.
enum class CopyTarget { kNone, kTable, kStage };

class Loader {
 public:
  Loader(PgConnection& db, const std::vector<PgConnection*>& lookups, const LoadOptions& options,
         const LoadEvents& events)
      : db_(db),
        lookups_(lookups),
        options_(options),
        events_(events),
        copy_(db),
        keys_(options.key_memory),
        typed_(options.typed),
        batches_(std::max<std::size_t>(lookups.size(), 1) + 1) {}
  // The COPY ends first, then the lookups' answers are read; the transaction rolls back last.
  ~Loader() {
    copy_.abort();
    for (PgConnection* lookup : lookups_) lookup->discard_results();
  }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  Result<LoadResult> run(const std::vector<LoadInput>& inputs);

 private:
  [[nodiscard]] Result<void> begin();
  void measure_inputs(const std::vector<LoadInput>& inputs);
  [[nodiscard]] Result<void> read_inputs(const std::vector<LoadInput>& inputs);
  [[nodiscard]] Result<void> bad_line(std::string_view file, const InputLine& line,
                                      std::string reason);
  [[nodiscard]] std::optional<Error> bad_input() const;
  [[nodiscard]] Result<void> end_line(std::string_view file, const InputLine& line);
  [[nodiscard]] Result<void> settle(bool keys_overflowed);
  [[nodiscard]] Result<void> finish();
  Pair& pair_of(std::string_view region, std::string_view source);

  [[nodiscard]] Result<void> rotate();
  [[nodiscard]] Result<void> complete_oldest();
  [[nodiscard]] Result<void> submit(Batch& batch);
  [[nodiscard]] std::vector<Row*> classify_rows(Batch& batch);
  [[nodiscard]] Result<void> consider_sweeps(const Batch& batch, PgConnection& conn);
  [[nodiscard]] Result<void> consider_sweep(Pair& pair, PgConnection& conn);
  [[nodiscard]] Result<std::uint64_t> pair_rows_below(PgConnection& conn, const Pair& pair,
                                                      std::uint64_t limit);
  [[nodiscard]] Result<void> complete(Batch& batch);

  [[nodiscard]] Result<void> start_copy(CopyTarget target);
  [[nodiscard]] Result<void> end_copy();
  [[nodiscard]] Result<void> insert_row(const Batch& batch, const Row& row);
  [[nodiscard]] Result<void> stage_row(const Batch& batch, const Row& row, KeyState first);
  [[nodiscard]] Result<void> apply_staged();
  [[nodiscard]] Result<void> read_staged();

  PgConnection& db_;
  const std::vector<PgConnection*>& lookups_;
  const LoadOptions& options_;
  const LoadEvents& events_;
  LoadResult result_;
  std::optional<TargetTable> table_;
  History history_;
  std::optional<Transaction> tx_;  // declared before copy_: it rolls back after the COPY ends
  CopyIn copy_;
  CopyTarget copying_ = CopyTarget::kNone;
  StagedLines staged_;
  Sha256 sha_;
  LineParser parser_;
  KeyTable keys_;
  VanishedRows vanished_;  // the input's complete runs (end lines)
  TypedChecks typed_;
  // Bad input: lines without a reject file (read on, to count them), too many with one.
  bool bad_lines_ = false;
  bool too_many_rejects_ = false;
  // The input's (region, source) pairs, and the last one found, which the next line most
  // likely shares.
  std::map<std::pair<std::string, std::string>, Pair, std::less<>> pairs_;
  Pair* last_pair_ = nullptr;
  std::uint64_t input_size_ = 0;  // bytes in all inputs, when all are files; else 0
  bool input_done_ = false;       // the last batch is being submitted
  // One batch being read, and one submitted per lookup connection (at least one). While the
  // server looks up the batches in flight, the next one is read and hashed; the oldest
  // completes only when a new one needs its place.
  std::vector<Batch> batches_;
  std::deque<std::size_t> in_flight_;
  std::size_t reading_ = 0;
  std::size_t submitted_ = 0;              // batches submitted so far
  std::vector<std::int32_t> batch_slots_;  // scratch space of supersede_repeats
};

Result<LoadResult> Loader::run(const std::vector<LoadInput>& inputs) {
  const auto nothing_loaded = [](Error error) {
    error.message += "; nothing loaded";
    return error;
  };
  auto table = TargetTable::resolve(db_, options_.table);
  if (!table) return std::move(table).error();
  table_.emplace(std::move(*table));
  if (auto begun = begin(); !begun) return nothing_loaded(std::move(begun).error());
  measure_inputs(inputs);
  if (auto read = read_inputs(inputs); !read) return nothing_loaded(std::move(read).error());
  if (auto bad = bad_input()) return std::move(*bad);
  if (auto finished = finish(); !finished) return nothing_loaded(std::move(finished).error());
  return std::move(result_);
}

Result<void> Loader::begin() {
  // The schema commits on its own, so that a failed load does not undo it for the next; a
  // dry run writes nothing, so there it stays inside the load's transaction.
  if (!options_.dry_run) {
    auto schema = Transaction::begin(db_);
    if (!schema) return std::move(schema).error();
    if (auto ensured = table_->ensure_schema(db_); !ensured) return ensured;
    if (auto committed = schema->commit(); !committed) return committed;
  }
  auto tx = Transaction::begin(db_);
  if (!tx) return std::move(tx).error();
  tx_.emplace(std::move(*tx));
  if (options_.dry_run)
    if (auto ensured = table_->ensure_schema(db_); !ensured) return ensured;
  if (auto set = set_planner(db_, lookups_); !set) return set;
  if (auto locked = table_->lock(db_, options_.dry_run); !locked) return locked;
  if (auto views = ensure_views(db_, table_->sql(), options_.typed); !views)
    return std::move(views).error();
  auto id = table_->start_load_row(db_, options_.session);
  if (!id) return std::move(id).error();
  result_.load_id = *id;
  // Whether the load keeps history, as asked or as remembered for the table.
  auto history = History::settle(db_, table_->sql(), options_.history, result_.load_id);
  if (!history) return std::move(history).error();
  history_ = std::move(*history);
  return {};
}

void Loader::measure_inputs(const std::vector<LoadInput>& inputs) {
  // Knowing the input's size tells early how many lines each pair will have.
  for (const LoadInput& input : inputs) {
    struct stat st {};
    if (fstat(input.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      input_size_ = 0;
      return;
    }
    const off_t at = lseek(input.fd, 0, SEEK_CUR);
    input_size_ += static_cast<std::uint64_t>(st.st_size - std::max<off_t>(at, 0));
  }
}

Result<void> Loader::read_inputs(const std::vector<LoadInput>& inputs) {
  for (const LoadInput& input : inputs) {
    LineReader reader(input.fd);
    InputLine line;
    NdjsonRecord record;
    while (reader.next(line)) {
      ++result_.counts.lines;
      result_.counts.bytes += line.text.size() + 1;
      if (is_end_line(line.text)) {
        if (auto kept = end_line(input.name, line); !kept) return kept;
        if (too_many_rejects_) return {};
        continue;
      }
      if (auto parsed = parser_.parse(line, record); !parsed) {
        if (auto kept = bad_line(input.name, line, std::move(parsed).error().message); !kept)
          return kept;
        if (too_many_rejects_) return {};
        continue;
      }
      const auto fetched_at = fetched_time(record.fetched_at);
      if (!fetched_at) {
        if (auto kept = bad_line(input.name, line, "\"fetched_at\" is not an RFC 3339 time"); !kept)
          return kept;
        if (too_many_rejects_) return {};
        continue;
      }
      if (auto problem = typed_.problem(record)) {
        if (auto kept = bad_line(input.name, line, std::move(*problem)); !kept) return kept;
        if (too_many_rejects_) return {};
        continue;
      }
      if (bad_lines_) continue;  // nothing will be loaded: the lines are only counted
      batches_[reading_].add(record, *fetched_at, pair_of(record.region, record.source), sha_,
                             options_.key_id_mask);
      if (batches_[reading_].full())
        if (auto rotated = rotate(); !rotated) return rotated;
    }
    if (!reader.error().empty())
      return Error{kExitIoErr,
                   fmt::format("cannot read {}: {}",
                               input.name.empty() ? "standard input" : input.name, reader.error())};
  }
  return {};
}

Result<void> Loader::bad_line(std::string_view file, const InputLine& line, std::string reason) {
  ++result_.counts.rejected;
  // A bad line's region and source cannot be trusted: its pair is the empty one.
  Pair& unknown = pair_of("", "");
  ++unknown.counts.lines;
  ++unknown.counts.rejected;
  if (!options_.reject_file.empty()) {
    if (events_.reject)
      if (auto kept = events_.reject(file, line, reason); !kept) return kept;
    too_many_rejects_ = result_.counts.rejected > options_.max_rejects;
    return {};
  }
  // Without a reject file the load fails, but the input is read on: the report then names
  // the first few bad lines and how many there are.
  if (result_.counts.rejected <= kReportedBadLines && events_.bad_line)
    events_.bad_line({std::string(file), line.number, std::move(reason)});
  bad_lines_ = true;
  return {};
}

std::optional<Error> Loader::bad_input() const {
  const LoadCounts& c = result_.counts;
  if (too_many_rejects_)
    return Error{kExitDataErr, fmt::format("more than {} bad lines (--max-rejects); nothing "
                                           "loaded; the bad lines so far are in {}",
                                           options_.max_rejects, options_.reject_file)};
  if (bad_lines_)
    return Error{kExitDataErr,
                 fmt::format("{} bad line{} in {} lines; nothing loaded (with --reject-file FILE "
                             "the good lines load and the bad ones go to FILE)",
                             c.rejected, c.rejected == 1 ? "" : "s", c.lines)};
  return std::nullopt;
}

Result<void> Loader::end_line(std::string_view file, const InputLine& line) {
  // An end line is no record: it counts under no heading, but its pair shows in the summary.
  auto end = parse_end_line(line.text);
  if (!end) return bad_line(file, line, std::move(end).error().message);
  pair_of(end->region, end->source);
  vanished_.add(std::move(*end));
  return {};
}

Result<void> Loader::settle(bool keys_overflowed) {
  // The staged lines are written while a lookup connection, idle now, reads the keys that
  // complete runs may have left out (vanished.h); the rows are marked after.
  const VanishedRows::Load load{&db_,
                                table_->sql(),
                                &keys_,
                                options_.key_id_mask,
                                result_.load_id,
                                options_.dry_run,
                                table_->was_empty(),
                                history_.table()};
  PgConnection& reader = lookups_.empty() ? db_ : *lookups_.front();
  const bool parallel = &reader != &db_ && vanished_.any();
  if (parallel)
    if (auto sent =
            staged_.send(db_, table_->sql(), history_.table(), options_.dry_run, result_.load_id);
        !sent)
      return sent;
  if (!parallel)
    if (auto applied = apply_staged(); !applied) return applied;
  auto found = vanished_.find(load, reader, pairs_, keys_overflowed, result_.warnings);
  if (!found) {
    if (parallel) db_.discard_results();  // the UPDATE's answer: the load fails either way
    return std::move(found).error();
  }
  if (parallel)
    if (auto read = read_staged(); !read) return read;
  return VanishedRows::mark(load, pairs_, *found);
}

Result<void> Loader::finish() {
  // The batches still in flight, then what only the whole input tells.
  input_done_ = true;
  if (auto rotated = rotate(); !rotated) return rotated;
  while (!in_flight_.empty())
    if (auto completed = complete_oldest(); !completed) return completed;
  if (auto ended = end_copy(); !ended) return ended;
  if (auto rebuilt = table_->rebuild_primary_key(db_); !rebuilt) return rebuilt;
  // Keys the full table of keys could not take are counted until the staged lines settle.
  const bool keys_overflowed = std::any_of(pairs_.begin(), pairs_.end(),
                                           [](const auto& p) { return p.second.untracked > 0; });
  if (auto settled = settle(keys_overflowed); !settled) return settled;
  const std::uint64_t bytes = result_.counts.bytes;
  result_.counts = sum_counts(pairs_);
  result_.counts.bytes = bytes;
  for (const auto& [name, pair] : pairs_)
    result_.pairs.push_back(
        {pair.region, pair.source, pair.counts, vanished_.declared(pair.region, pair.source)});
  if (auto row = table_->finish_load_row(db_, result_.load_id, result_.counts, result_.pairs); !row)
    return row;
  // What must be safe before the load is, such as the reject file on disk.
  if (events_.before_commit)
    if (auto ready = events_.before_commit(); !ready) return ready;
  // A dry run's transaction rolls back with tx_.
  if (options_.dry_run) return {};
  if (events_.in_transaction)
    if (auto written = events_.in_transaction(db_, result_.load_id); !written) return written;
  return tx_->commit();
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

Result<void> Loader::rotate() {
  if (batches_[reading_].rows.empty()) return {};
  while (in_flight_.size() + 1 >= batches_.size())
    if (auto completed = complete_oldest(); !completed) return completed;
  if (auto submitted = submit(batches_[reading_]); !submitted) return submitted;
  in_flight_.push_back(reading_);
  for (std::size_t i = 0; i < batches_.size(); ++i)
    if (std::find(in_flight_.begin(), in_flight_.end(), i) == in_flight_.end()) reading_ = i;
  return {};
}

Result<void> Loader::complete_oldest() {
  const std::size_t oldest = in_flight_.front();
  in_flight_.pop_front();
  return complete(batches_[oldest]);
}

Result<void> Loader::submit(Batch& batch) {
  supersede_repeats(batch, batch_slots_);
  // Batches in flight at once take turns over the lookup connections; the one whose turn it
  // is has no query outstanding.
  PgConnection& conn = lookups_.empty() ? db_ : *lookups_[submitted_ % lookups_.size()];
  if (!table_->was_empty())
    if (auto considered = consider_sweeps(batch, conn); !considered) return considered;
  std::vector<Row*> fresh = classify_rows(batch);
  if (fresh.empty()) return {};
  // Keys new to this load cannot have been written by it, so connections outside its
  // transaction can look them up, in parallel with each other and with the load's writes.
  if (lookups_.empty()) {
    batch.in_transaction.insert(batch.in_transaction.end(), fresh.begin(), fresh.end());
    return {};
  }
  batch.lookup = submitted_++ % lookups_.size();
  batch.outside = std::move(fresh);
  return send_lookup(*lookups_[batch.lookup], table_->sql(), batch, batch.outside,
                     table_->key_has_fetched_at());
}

std::vector<Row*> Loader::classify_rows(Batch& batch) {
  std::vector<Row*> fresh;
  // The key table is much larger than the cache, and keys come in no order.
  constexpr std::size_t kAhead = 16;
  for (std::size_t i = 0; i < std::min(kAhead, batch.rows.size()); ++i)
    keys_.prefetch(batch.rows[i].id);
  for (std::size_t i = 0; i < batch.rows.size(); ++i) {
    if (i + kAhead < batch.rows.size()) keys_.prefetch(batch.rows[i + kAhead].id);
    Row& row = batch.rows[i];
    if (row.superseded) continue;
    batch.live.push_back(&row);
    std::uint64_t stored_check = 0;
    std::uint16_t stored_day = 0;
    const KeyState before = keys_.see(row.id, stored_check, stored_day);
    if (classify(row, before, stored_check, table_->was_empty(), stored_day)) fresh.push_back(&row);
  }
  return fresh;
}

Result<void> Loader::consider_sweeps(const Batch& batch, PgConnection& conn) {
  std::vector<Pair*> touched;
  for (const Row& row : batch.rows) {
    if (row.superseded) continue;
    ++row.pair->lines;
    if (touched.empty() || touched.back() != row.pair)
      if (std::find(touched.begin(), touched.end(), row.pair) == touched.end())
        touched.push_back(row.pair);
  }
  for (Pair* pair : touched)
    if (!pair->swept)
      if (auto considered = consider_sweep(*pair, conn); !considered) return considered;
  return {};
}

Result<void> Loader::consider_sweep(Pair& pair, PgConnection& conn) {
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
  if (expected < std::max(kMinSweepLines, pair.next_look)) return {};
  pair.next_look = expected * 2;

  // Counting the pair's rows, as far as the limit, costs a fraction of what the lookups
  // would; past the limit the lookups stay.
  const std::uint64_t limit = expected * kSweepRatio;
  const bool own = &conn == &db_;
  if (own)
    if (auto ended = end_copy(); !ended) return ended;
  auto rows = pair_rows_below(conn, pair, limit);
  if (!rows) return std::move(rows).error();
  if (*rows >= limit || !keys_.reserve_stored(*rows)) return {};
  if (events_.sweep_counted) events_.sweep_counted();
  auto complete = sweep_pair(conn, own, table_->sql(), pair, keys_, options_.key_id_mask,
                             table_->key_has_fetched_at());
  if (!complete) return std::move(complete).error();
  pair.swept = *complete;
  return {};
}

Result<std::uint64_t> Loader::pair_rows_below(PgConnection& conn, const Pair& pair,
                                              std::uint64_t limit) {
  // A table whose whole size is well under the limit, by the planner's estimate, needs no
  // count: a reload of a large pair saves reading its index twice. The margin covers an
  // estimate made when the table was smaller; the key table grows past it if need be.
  auto estimate = estimate_table_rows(conn, table_->sql());
  if (!estimate) return std::move(estimate).error();
  if (*estimate && **estimate < limit / kEstimateMargin) return **estimate;
  return count_pair_rows(conn, table_->sql(), pair, limit);
}

Result<void> Loader::complete(Batch& batch) {
  if (!batch.outside.empty())
    if (auto read = read_lookup(*lookups_[batch.lookup], batch.outside); !read) return read;
  if (!batch.in_transaction.empty()) {
    // The lookup must see every row written so far.
    if (auto ended = end_copy(); !ended) return ended;
    if (auto sent = send_lookup(db_, table_->sql(), batch, batch.in_transaction,
                                table_->key_has_fetched_at());
        !sent)
      return sent;
    if (auto read = read_lookup(db_, batch.in_transaction); !read) return read;
  }
  // New keys first, in one COPY; then the staged lines in another.
  for (Row* row : batch.live)
    if (write_of(*row, KeyState::kNone).write == Write::kInsert)
      if (auto inserted = insert_row(batch, *row); !inserted) return inserted;
  for (Row* row : batch.live) {
    const LineWrite write = write_of(*row, row->seen_before ? keys_.get(row->id) : KeyState::kNone);
    if (write.write == Write::kStage)
      if (auto staged = stage_row(batch, *row, write.first); !staged) return staged;
    count_written(*row, write, keys_);
  }
  batch.clear();
  if (events_.progress) events_.progress(result_.counts);
  return {};
}

Result<void> Loader::start_copy(CopyTarget target) {
  if (copying_ == target) return {};
  if (auto ended = end_copy(); !ended) return ended;
  std::string sql;
  if (target == CopyTarget::kTable) {
    sql = fmt::format(
        "COPY {} (region, source, key, record, record_hash, fetched_at, first_seen, changed_at, "
        "load_id) "
        "FROM STDIN (FORMAT binary{})",
        table_->sql(), table_->truncated() ? ", FREEZE" : "");
  } else {
    auto stage = staged_.copy_sql(db_);
    if (!stage) return std::move(stage).error();
    sql = std::move(*stage);
  }
  if (auto started = copy_.start(sql); !started) return started;
  copying_ = target;
  return {};
}

Result<void> Loader::end_copy() {
  copying_ = CopyTarget::kNone;
  return copy_.finish();
}

Result<void> Loader::insert_row(const Batch& batch, const Row& row) {
  if (options_.dry_run) return {};
  if (auto started = start_copy(CopyTarget::kTable); !started) return started;
  CopyWriter& out = copy_.writer();
  out.row(9);
  out.field(batch.region(row));
  out.field(batch.source(row));
  out.field(batch.key(row));
  out.jsonb_field(batch.record(row));
  out.field(row.hash_bytes());
  if (row.fetched_at == kNoFetchedAt) {
    out.null_field();
  } else {
    out.int64_field(row.fetched_at);
  }
  for (const std::int64_t value : {table_->now(), table_->now(), result_.load_id})
    out.int64_field(value);
  return copy_.row_done();
}

Result<void> Loader::stage_row(const Batch& batch, const Row& row, KeyState first) {
  // A dry run stages too: the staged lines go with its rolled-back transaction.
  if (auto started = start_copy(CopyTarget::kStage); !started) return started;
  staged_.write(copy_.writer(), batch, row, first);
  return copy_.row_done();
}

Result<void> Loader::apply_staged() {
  if (auto sent =
          staged_.send(db_, table_->sql(), history_.table(), options_.dry_run, result_.load_id);
      !sent)
    return sent;
  return read_staged();
}

Result<void> Loader::read_staged() {
  auto tallies = staged_.read(db_);
  if (!tallies) return std::move(tallies).error();
  for (const StagedTally& tally : *tallies) reconcile(pair_of(tally.region, tally.source), tally);
  return {};
}

}  // namespace

Result<LoadResult> load_ndjson(PgConnection& db, const std::vector<PgConnection*>& lookups,
                               const std::vector<LoadInput>& inputs, const LoadOptions& options,
                               const LoadEvents& events) {
  Loader loader(db, lookups, options, events);
  return loader.run(inputs);
}

}  // namespace offpeak
