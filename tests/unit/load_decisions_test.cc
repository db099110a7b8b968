// The loader's pure parts, with no database: key decisions and count reconciliation, the
// binary COPY format, the reject file, and what main takes from load_command.h.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "key_decisions.h"
#include "load_command.h"
#include "ndjson_input.h"
#include "pg_binary.h"
#include "reject_file.h"
#include "sha256.h"
#include "temp_dir.h"

using namespace offpeak;

namespace {

// A batch of lines of one pair, each {key, record}.
struct Lines {
  Pair pair;
  Batch batch;
  Sha256 sha;
  std::vector<std::int32_t> slots;

  Lines(std::initializer_list<std::pair<std::string, std::string>> lines,
        std::vector<std::int64_t> fetched_at = {}) {
    pair.region = "r";
    pair.source = "s";
    fetched_at.resize(lines.size(), kNoFetchedAt);
    std::size_t i = 0;
    for (const auto& [key, record] : lines)
      batch.add(NdjsonRecord{"r", "s", key, record, ""}, fetched_at[i++], pair, sha,
                ~std::uint64_t{0});
  }
};

}  // namespace

TEST_CASE("supersede_repeats: within a batch the last line of a key wins") {
  Lines l({{"[1]", "{\"v\":1}"}, {"[2]", "{}"}, {"[1]", "{\"v\":2}"}, {"[1]", "{\"v\":3}"}});
  supersede_repeats(l.batch, l.slots);
  CHECK(l.batch.rows[0].superseded);
  CHECK_FALSE(l.batch.rows[1].superseded);
  CHECK(l.batch.rows[2].superseded);
  CHECK_FALSE(l.batch.rows[3].superseded);
  CHECK(l.pair.counts.duplicates == 2);
  CHECK(l.pair.counts.lines == 4);
  CHECK(l.batch.record(l.batch.rows[3]) == "{\"v\":3}");
}

TEST_CASE("supersede_repeats: the newest line by fetched_at wins, the last on a tie") {
  // Times 5, none, 9, 3, 9 for key [1]: the second line of time 9 wins; [2] has one line.
  Lines l({{"[1]", "{\"v\":1}"},
           {"[1]", "{\"v\":2}"},
           {"[1]", "{\"v\":3}"},
           {"[2]", "{}"},
           {"[1]", "{\"v\":4}"},
           {"[1]", "{\"v\":5}"}},
          {5, kNoFetchedAt, 9, 1, 3, 9});
  supersede_repeats(l.batch, l.slots);
  for (const std::size_t i : {0, 1, 2, 4}) CHECK(l.batch.rows[i].superseded);
  CHECK_FALSE(l.batch.rows[3].superseded);
  CHECK_FALSE(l.batch.rows[5].superseded);
  CHECK(l.pair.counts.duplicates == 4);

  // An older line after a newer one is superseded, not the newer one.
  Lines older({{"[1]", "{\"v\":1}"}, {"[1]", "{\"v\":2}"}}, {9, 5});
  supersede_repeats(older.batch, older.slots);
  CHECK_FALSE(older.batch.rows[0].superseded);
  CHECK(older.batch.rows[1].superseded);
}

TEST_CASE("classify: what the key table knew decides a line, or sends it to a lookup") {
  Lines l({{"[1]", "{}"}});
  Row& row = l.batch.rows[0];
  SECTION("a key new to an empty table is inserted without a lookup") {
    CHECK_FALSE(classify(row, KeyState::kNone, 0, true));
    CHECK(row.outcome == KeyState::kInserted);
  }
  SECTION("a key new to the load, into a table with rows, is looked up") {
    CHECK(classify(row, KeyState::kNone, 0, false));
  }
  SECTION("unless its pair was swept: then it is new") {
    l.pair.swept = true;
    CHECK_FALSE(classify(row, KeyState::kNone, 0, false));
    CHECK(row.outcome == KeyState::kInserted);
  }
  SECTION("a swept key is unchanged or changed by its content check") {
    CHECK_FALSE(classify(row, KeyState::kStored, row.check, false));
    CHECK(row.outcome == KeyState::kUnchanged);
    CHECK_FALSE(classify(row, KeyState::kStored, row.check + 1, false));
    CHECK(row.outcome == KeyState::kUpdated);
  }
  SECTION("a changed line fetched before the day of the swept row's fetched_at is stale") {
    constexpr std::int64_t day = std::int64_t{86400} * 1000000;
    row.fetched_at = 9500 * day;
    CHECK_FALSE(classify(row, KeyState::kStored, row.check + 1, false, 9502));
    CHECK(row.outcome == KeyState::kStale);
    // The same day, or a row without fetched_at: only the final UPDATE can tell.
    CHECK_FALSE(classify(row, KeyState::kStored, row.check + 1, false, 9501));
    CHECK(row.outcome == KeyState::kUpdated);
    CHECK_FALSE(classify(row, KeyState::kStored, row.check + 1, false, 0));
    CHECK(row.outcome == KeyState::kUpdated);
    // A line without fetched_at is never stale; an unchanged one is unchanged.
    row.fetched_at = kNoFetchedAt;
    CHECK_FALSE(classify(row, KeyState::kStored, row.check + 1, false, 9502));
    CHECK(row.outcome == KeyState::kUpdated);
    row.fetched_at = 9500 * day;
    CHECK_FALSE(classify(row, KeyState::kStored, row.check, false, 9502));
    CHECK(row.outcome == KeyState::kUnchanged);
  }
  SECTION("a key whose first line was stale makes a later line a duplicate") {
    CHECK_FALSE(classify(row, KeyState::kStale, 0, false));
    CHECK(row.seen_before);
    CHECK(l.pair.counts.duplicates == 1);
  }
  SECTION("a key an earlier batch had makes that line a duplicate") {
    CHECK_FALSE(classify(row, KeyState::kUpdated, 0, false));
    CHECK(row.seen_before);
    CHECK(l.pair.counts.duplicates == 1);
    CHECK(write_of(row, KeyState::kUpdated).write == Write::kStage);
    CHECK(write_of(row, KeyState::kUpdated).first == KeyState::kUpdated);
  }
  SECTION("a key the full table could not take is settled at the end") {
    CHECK_FALSE(classify(row, KeyState::kUntracked, 0, false));
    CHECK(row.untracked);
    CHECK(write_of(row, KeyState::kNone).first == KeyState::kUntracked);
  }
}

TEST_CASE("write_of and count_written: inserted, staged, or nothing, counted once") {
  KeyTable keys;
  Lines l({{"[1]", "{}"}, {"[2]", "{}"}, {"[3]", "{}"}});
  std::uint64_t check = 0;
  for (Row& row : l.batch.rows) (void)keys.see(row.id, check);
  Row &fresh = l.batch.rows[0], &changed = l.batch.rows[1], &same = l.batch.rows[2];
  fresh.outcome = KeyState::kInserted;
  changed.outcome = KeyState::kUpdated;
  same.outcome = KeyState::kUnchanged;
  CHECK(write_of(fresh, KeyState::kNone).write == Write::kInsert);
  CHECK(write_of(changed, KeyState::kNone).write == Write::kStage);
  CHECK(write_of(same, KeyState::kNone).write == Write::kNothing);
  for (Row& row : l.batch.rows) count_written(row, write_of(row, KeyState::kNone), keys);
  CHECK(l.pair.counts.inserted == 1);
  CHECK(l.pair.changed == 1);  // counted once the final UPDATE tells
  CHECK(l.pair.counts.unchanged == 1);
  CHECK(keys.get(fresh.id) == KeyState::kInserted);
  CHECK(keys.get(changed.id) == KeyState::kUpdated);
  CHECK(keys.get(same.id) == KeyState::kUnchanged);
}

TEST_CASE("reconcile: the staged keys' tally completes a pair's counts") {
  Pair pair;
  // 10 lines: 2 inserted, 3 unchanged, 2 staged as changed, 1 untracked, 2 duplicates.
  pair.counts = {10, 2, 0, 3, 2, 0, 0};
  pair.changed = 2;
  pair.untracked = 1;
  StagedTally tally;
  tally.written_u = 1;  // one changed key was written; the other turned back to its row
  tally.keys_n = 1;     // the untracked line's key, new
  tally.missing_n = 1;
  reconcile(pair, tally);
  const LoadCounts& c = pair.counts;
  CHECK(c.inserted == 3);
  CHECK(c.updated == 1);
  CHECK(c.unchanged == 4);
  CHECK(c.duplicates == 2);
  CHECK(c.lines == c.inserted + c.updated + c.unchanged + c.duplicates + c.rejected);
  CHECK(pair.changed == 0);
  CHECK(pair.untracked == 0);

  // Keys that share an id: lines taken for repeats turn out to be keys of their own.
  Pair shared;
  shared.counts = {4, 1, 0, 0, 3, 0, 0};
  StagedTally inserted;
  inserted.missing_i = 2;
  inserted.missing_u = 1;  // and one counted nowhere yet
  reconcile(shared, inserted);
  CHECK(shared.counts.inserted == 4);
  CHECK(shared.counts.unchanged == 0);
  CHECK(shared.counts.duplicates == 0);
  CHECK(shared.counts.lines == shared.counts.inserted + shared.counts.duplicates);

  // Keys whose newest line is older than their row are stale, not unchanged.
  Pair old;
  old.counts = {3, 0, 0, 0, 0, 0, 0};
  old.changed = 2;
  old.untracked = 1;
  StagedTally stale;
  stale.stale_u = 1;
  stale.written_u = 1;
  stale.keys_n = 1;
  stale.stale_n = 1;
  reconcile(old, stale);
  CHECK(old.counts.stale == 2);
  CHECK(old.counts.updated == 1);
  CHECK(old.counts.unchanged == 0);
  CHECK(old.counts.duplicates == 0);

  // Keys whose first line was stale on the client (counted then), each with a later line
  // staged (a duplicate): one stays stale, one was written, one matched its row, one was
  // missing after all.
  Pair first_stale;
  first_stale.counts = {8, 0, 0, 0, 4, 4, 0};
  StagedTally later;
  later.keys_s = 4;
  later.stale_s = 1;
  later.written_s = 1;
  later.missing_s = 1;
  reconcile(first_stale, later);
  const LoadCounts& f = first_stale.counts;
  CHECK(f.stale == 1);
  CHECK(f.updated == 1);
  CHECK(f.unchanged == 1);
  CHECK(f.inserted == 1);
  CHECK(f.duplicates == 4);
  CHECK(f.lines == f.inserted + f.updated + f.unchanged + f.duplicates + f.stale + f.rejected);
}

TEST_CASE("CopyWriter's rows read back through CopyReader, in pieces of any size") {
  CopyWriter out;
  out.row(3);
  out.field("key");
  out.int64_field(-2);
  out.jsonb_field("{}");
  out.row(1);
  out.field("");
  out.end();
  const std::string data = out.data();
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, data.size()}) {
    CopyReader reader;
    std::vector<std::vector<std::string>> rows;
    for (std::size_t at = 0; at < data.size(); at += piece)
      REQUIRE(reader.take(std::string_view(data).substr(at, piece), [&](const auto& fields) {
        rows.emplace_back(fields.begin(), fields.end());
      }));
    CHECK(reader.complete());
    REQUIRE(rows.size() == 2);
    CHECK(rows[0] == std::vector<std::string>{
                         "key", std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8), "\x01{}"});
    CHECK(rows[1] == std::vector<std::string>{""});
  }
  std::string not_copy(19, '\0');
  not_copy.replace(0, 7, "NOTCOPY");
  CopyReader bad;
  CHECK_FALSE(bad.take(not_copy, [](const auto&) {}));
}

TEST_CASE("RejectFile: a write that fails shows at sync, before the load commits") {
  // /dev/full takes writes into the buffer and fails them when they reach it.
  auto full = RejectFile::create("/dev/full");
  REQUIRE(full.ok());
  const InputLine line{"not json", 3, true, false};
  REQUIRE(full->write("in.ndjson", line, "not valid JSON").ok());
  const auto synced = full->sync();
  REQUIRE_FALSE(synced.ok());
  CHECK(synced.error().exit == kExitIoErr);
  CHECK(synced.error().message == "--reject-file: cannot write /dev/full");

  const auto missing = RejectFile::create("/nonexistent/dir/r.ndjson");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message ==
        "--reject-file: cannot create /nonexistent/dir/r.ndjson: No such file or directory");
}

TEST_CASE("RejectFile: never through a symlink, and a FIFO nobody reads fails at once") {
  TempDir dir;
  const auto target = dir / "target";
  std::ofstream(target) << "precious\n";
  const auto link = dir / "r.ndjson";
  std::filesystem::create_symlink(target, link);
  const auto linked = RejectFile::create(link.string());
  REQUIRE_FALSE(linked.ok());
  CHECK(linked.error().exit == kExitIoErr);
  CHECK(linked.error().message ==
        "--reject-file: cannot create " + link.string() + ": it is a symlink");
  std::ifstream in(target);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "precious\n");

  const auto fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto unread = RejectFile::create(fifo.string());
  REQUIRE_FALSE(unread.ok());
  CHECK(unread.error().message ==
        "--reject-file: cannot create " + fifo.string() + ": No such device or address");
}

TEST_CASE("Sha256 reports a failure that is not memory as a runtime_error") {
  CHECK_THROWS_AS(Sha256("NO-SUCH-DIGEST"), std::runtime_error);
  CHECK_THROWS_AS(Sha256("SHA512"), std::runtime_error);
  Sha256 sha;
  CHECK(sha.digest({"a", "bc"}) == sha.digest({"abc"}));
}

TEST_CASE("apply_test_settings reads the key table's settings from the environment") {
  std::map<std::string, std::string> env = {{"OFFPEAK_LOAD_KEY_MEMORY", "600000"},
                                            {"OFFPEAK_LOAD_KEY_BITS", "12"}};
  const auto getenv = [&](const char* name) -> const char* {
    const auto found = env.find(name);
    return found == env.end() ? nullptr : found->second.c_str();
  };
  LoadOptions options;
  apply_test_settings(options, getenv);
  CHECK(options.key_memory == 600000);
  CHECK(options.key_id_mask == 0xfff);
  env = {{"OFFPEAK_LOAD_KEY_MEMORY", "12x"}, {"OFFPEAK_LOAD_KEY_BITS", "64"}};
  LoadOptions unchanged;
  apply_test_settings(unchanged, getenv);
  CHECK(unchanged.key_memory == LoadOptions().key_memory);
  CHECK(unchanged.key_id_mask == ~std::uint64_t{0});
}

TEST_CASE("summary_json and progress_text: the texts main prints") {
  LoadResult result;
  result.counts = {5, 2, 1, 1, 1, 0, 0, 2500000};
  result.load_id = 7;
  CHECK(summary_json(result, {"market.\"b\"", false, 0.25}) ==
        "{\"lines\":5,\"inserted\":2,\"updated\":1,\"unchanged\":1,\"duplicates\":1,"
        "\"stale\":0,\"rejected\":0,\"deleted\":0,\"load_id\":7,\"dry_run\":false,"
        "\"table\":\"market.\\\"b\\\"\","
        "\"seconds\":0.250}\n");
  CHECK(summary_json(result, {"t", true, 1}).find("\"load_id\":null,\"dry_run\":true") !=
        std::string::npos);
  CHECK(progress_text("offpeak-load", result.counts) == "offpeak-load: 5 lines, 2.5 MB read...");
  const auto lines = summary_lines(result, {"t", false, 0.25});
  CHECK(lines.size() == 1);
}

TEST_CASE("LineParser: fetched_at is kept as text, unescaped; null or absent is none") {
  LineParser parser;
  NdjsonRecord record;
  const auto parse = [&](const std::string& text) {
    const InputLine line{text, 1, true, false};
    REQUIRE(parser.parse(line, record).ok());
    return std::string(record.fetched_at);
  };
  const std::string head = R"({"region":"r","source":"s","key":[1],)";
  CHECK(parse(head + R"("fetched_at":"2026-01-03T00:00:00Z","record":{}})") ==
        "2026-01-03T00:00:00Z");
  CHECK(parse(head + R"( "fetched_at" : "2026-01-03T00:00:00\u005a" , "record":{}})") ==
        "2026-01-03T00:00:00Z");
  CHECK(parse(head + R"("record":{},"fetched_at":null})").empty());
  CHECK(parse(head + R"("record":{}})").empty());
  const std::string number_text = head + R"("fetched_at":5,"record":{}})";
  const InputLine number{number_text, 1, true, false};
  CHECK(parser.parse(number, record).error().message == "\"fetched_at\" is not a string");
  const std::string twice_text = head + R"("fetched_at":"a","fetched_at":"b","record":{}})";
  const InputLine twice{twice_text, 1, true, false};
  CHECK(parser.parse(twice, record).error().message == "\"fetched_at\" appears twice");
}
