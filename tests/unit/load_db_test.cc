// load_ndjson against a real PostgreSQL: the server libpq's environment names (PGHOST and
// the others, as pg_virtualenv and scripts/test set them), in a database of each test's own.
// Without a server named, these tests pass with a warning.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "pg.h"
#include "pg_load.h"

using namespace offpeak;

namespace {

bool have_server() {
  for (const char* name : {"PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE"})
    if (std::getenv(name) != nullptr) return true;
  WARN("no PostgreSQL server named (PGHOST): skipped");
  return false;
}

std::unique_ptr<PgConnection> connect(const std::string& conninfo) {
  auto db = PgConnection::connect({conninfo, ""});
  if (!db) FAIL(db.error().message);
  return std::move(*db);
}

void run(PgConnection& db, const std::string& sql) {
  const auto done = db.exec(sql);
  if (!done) FAIL(sql << ": " << done.error().message);
}

// A database made for one test and dropped after it, and input files in a scratch folder.
class Scratch {
 public:
  explicit Scratch(std::string_view name)
      : name_(fmt::format("offpeak_unit_{}_{}", name, getpid())),
        admin_(connect("dbname=postgres")) {
    run(*admin_, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
    run(*admin_, fmt::format("CREATE DATABASE {}", name_));
    char dir[] = "/tmp/offpeak-unit-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    dir_ = dir;
  }
  ~Scratch() {
    (void)admin_->exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
    (void)std::system(("rm -rf " + dir_).c_str());
  }

  [[nodiscard]] std::unique_ptr<PgConnection> connect_db() const {
    return connect("dbname=" + name_);
  }
  // An input file with `text`, open for reading.
  [[nodiscard]] LoadInput input(const std::string& text) {
    const std::string path = fmt::format("{}/in{}.ndjson", dir_, files_++);
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(text.data(), 1, text.size(), f) == text.size());
    REQUIRE(std::fclose(f) == 0);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    fds_.push_back(fd);
    return {path, fd};
  }

 private:
  std::string name_;
  std::unique_ptr<PgConnection> admin_;
  std::string dir_;
  int files_ = 0;
  std::vector<int> fds_;
};

std::string line(std::string_view source, int key, int value) {
  return fmt::format(R"({{"region":"r","source":"{}","key":["K{:06d}"],"record":{{"v":{}}}}})",
                     source, key, value) +
         "\n";
}

// The connection answers a query, outside any transaction.
void check_clean(PgConnection& conn) {
  CHECK_FALSE(conn.in_transaction());
  const auto answer = conn.query("SELECT 1");
  if (!answer) FAIL_CHECK(answer.error().message);
}

}  // namespace

TEST_CASE("A load that fails with lookups in flight leaves every connection ready") {
  if (!have_server()) return;
  Scratch scratch("lookups_in_flight");
  auto db = scratch.connect_db();
  auto first = load_ndjson(*db, {}, {scratch.input(line("s0", 0, 0))}, {}, {});
  REQUIRE(first.ok());
  // 20,000 lines over 100 pairs, too few each for a sweep: the first batch's keys are looked
  // up on a lookup connection; the reject file then fails before that batch completes.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += line(fmt::format("s{}", i % 100), i, 1);
  text += "not json\n";
  auto lookup_a = scratch.connect_db(), lookup_b = scratch.connect_db();
  LoadOptions options;
  options.reject_file = "r.ndjson";
  LoadEvents events;
  events.reject = [](std::string_view, const InputLine&, std::string_view) -> Result<void> {
    return Error{kExitIoErr, "--reject-file: cannot write r.ndjson"};
  };
  const auto failed =
      load_ndjson(*db, {lookup_a.get(), lookup_b.get()}, {scratch.input(text)}, options, events);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().exit == kExitIoErr);
  CHECK(failed.error().message == "--reject-file: cannot write r.ndjson; nothing loaded");
  check_clean(*db);
  check_clean(*lookup_a);
  check_clean(*lookup_b);
  const auto rows = db->query("SELECT count(*) FROM offpeak.records");
  REQUIRE(rows.ok());
  CHECK(rows->int64(0, 0) == 1);
}

TEST_CASE("A load whose COPY fails leaves its connection out of the transaction") {
  if (!have_server()) return;
  Scratch scratch("copy_fails");
  auto db = scratch.connect_db();
  // The loader's columns and one more it does not fill: COPY fails at its end.
  run(*db,
      "CREATE TABLE strict (region text NOT NULL, source text NOT NULL, key text NOT NULL, "
      "record jsonb NOT NULL, record_hash bytea NOT NULL, first_seen timestamptz NOT NULL, "
      "changed_at timestamptz NOT NULL, load_id bigint NOT NULL, extra int NOT NULL, "
      "PRIMARY KEY (region, source, key))");
  LoadOptions options;
  options.table = "strict";
  const auto failed = load_ndjson(*db, {}, {scratch.input(line("s", 1, 1))}, options, {});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message.find("\"extra\"") != std::string::npos);
  CHECK(failed.error().message.ends_with("; nothing loaded"));
  check_clean(*db);
  // The take-over rolled back with the rest: the primary key is there.
  const auto key = db->query(
      "SELECT count(*) FROM pg_constraint WHERE conrelid = 'strict'::regclass AND contype = 'p'");
  REQUIRE(key.ok());
  CHECK(key->int64(0, 0) == 1);
}

namespace {

// Loads 40,000 keys of pair "s" (all {"v":0}); then loads `text` with the key table limited to
// `key_memory` bytes, while another session adds keys `from` to `to` (their records with
// another hash) after the sweep has counted the pair's rows and before it reads them.
Result<LoadResult> load_racing_sweep(Scratch& scratch, PgConnection& db, const std::string& text,
                                     std::size_t key_memory, int from, int to, int& sweeps) {
  std::string first;
  for (int i = 0; i < 40000; ++i) first += line("s", i, 0);
  REQUIRE(load_ndjson(db, {}, {scratch.input(first)}, {}, {}).ok());
  auto lookup = scratch.connect_db(), other = scratch.connect_db();
  LoadOptions options;
  options.key_memory = key_memory;
  LoadEvents events;
  events.sweep_counted = [&] {
    ++sweeps;
    run(*other, fmt::format("INSERT INTO offpeak.records SELECT 'r', 's', '[\"K' || "
                            "lpad(i::text, 6, '0') || '\"]', '{{\"v\": 0}}', '\\x00', now(), "
                            "now(), 0 FROM generate_series({}, {}) AS i",
                            from, to));
  };
  return load_ndjson(db, {lookup.get()}, {scratch.input(text)}, options, events);
}

// How many rows of the table have {"v": value}.
std::int64_t rows_with(PgConnection& db, int value) {
  const auto rows = db.query(
      fmt::format("SELECT count(*) FROM offpeak.records WHERE record->>'v' = '{}'", value));
  if (!rows) FAIL(rows.error().message);
  return rows->int64(0, 0);
}

}  // namespace

TEST_CASE("Rows added between a sweep's count and its read are not inserted again") {
  if (!have_server()) return;
  Scratch scratch("sweep_full");
  auto db = scratch.connect_db();
  // The key table holds 49,152 keys with their checks and rows (2 MiB) and cannot grow: the 40,000
  // rows counted fit, but not all of the 10,000 another session adds before the sweep reads them.
  // The table is then full for good, so each line of a key the sweep could not keep is untracked
  // and settled by the final UPDATE, whichever keys those are.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += line("s", i, 0);      // unchanged
  for (int i = 40000; i < 50000; ++i) text += line("s", i, 1);  // added meanwhile, changed
  for (int i = 50000; i < 50100; ++i) text += line("s", i, 1);  // new
  int sweeps = 0;
  const auto loaded =
      load_racing_sweep(scratch, *db, text, std::size_t{1} << 21, 40000, 49999, sweeps);
  if (!loaded) FAIL(loaded.error().message);
  CHECK(sweeps == 1);
  CHECK(loaded->counts.inserted == 100);
  CHECK(loaded->counts.updated == 10000);
  CHECK(loaded->counts.unchanged == 20000);
  CHECK(loaded->counts.duplicates == 0);
  CHECK(rows_with(*db, 0) == 40000);
  CHECK(rows_with(*db, 1) == 10100);
}

TEST_CASE("Rows added between a sweep's count and its read grow the key table") {
  if (!have_server()) return;
  Scratch scratch("sweep_grows");
  auto db = scratch.connect_db();
  // The 40,000 rows counted take 65,536 slots, which hold 49,152 keys; the 20,000 rows
  // another session adds before the read take the key table past them, and it grows to keep
  // them all (a table that kept only the room reserved would drop them, and their lines,
  // which come after the sweep, would be inserted again into the swept pair).
  std::string text;
  for (int i = 0; i < 20000; ++i) text += line("s", i, 0);
  for (int i = 40000; i < 60000; ++i) text += line("s", i, 1);
  for (int i = 60000; i < 60100; ++i) text += line("s", i, 1);
  int sweeps = 0;
  const auto loaded =
      load_racing_sweep(scratch, *db, text, std::size_t{8} << 20, 40000, 59999, sweeps);
  if (!loaded) FAIL(loaded.error().message);
  CHECK(sweeps == 1);
  CHECK(loaded->counts.inserted == 100);
  CHECK(loaded->counts.updated == 20000);
  CHECK(loaded->counts.unchanged == 20000);
  CHECK(rows_with(*db, 0) == 40000);
  CHECK(rows_with(*db, 1) == 20100);
}
