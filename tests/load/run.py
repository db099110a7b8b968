#!/usr/bin/env python3
"""Tests offpeak-load against a real PostgreSQL server.

    run.py --bin-dir DIR CASE...    run the named cases (see CASES), each in its own database
    run.py --list                   print the case names

The server and each case's database are as tests/pgenv.py says: libpq's environment names
the server, or the script runs itself under pg_virtualenv.
"""

import hashlib
import json
import os
import pty
import random
import re
import signal
import socket
import string
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pgenv import TIMEOUT, Database, Failure, cases_of, check, check_equal, run_cases  # noqa: E402

COUNTS = ["lines", "inserted", "updated", "unchanged", "duplicates", "stale", "rejected"]
LOGFMT_VALUE = r'(?:[^ "=]+|"(?:[^"\\]|\\.)*")'
# `deleted=N` shows only where an end line declared a run complete.
SUMMARY = re.compile(
    r"^offpeak-load: status=ok lines=(\d+) inserted=(\d+) updated=(\d+) unchanged=(\d+) "
    r"duplicates=(\d+) stale=(\d+) (?:deleted=(\d+) )?rejected=(\d+) (load_id=(\d+)|dry_run=true) "
    r"table=" + LOGFMT_VALUE + r" seconds=\d+\.\d$"
)
PAIR = re.compile(
    r"^offpeak-load: region=(" + LOGFMT_VALUE + r") source=(" + LOGFMT_VALUE + r") status=ok "
    r"lines=(\d+) inserted=(\d+) updated=(\d+) unchanged=(\d+) duplicates=(\d+) "
    r"stale=(\d+) (?:deleted=(\d+) )?rejected=(\d+)$"
)


def counts_from(groups):
    """COUNTS from a summary match's groups (lines to stale, deleted, rejected); "deleted" is
    None when the line has none."""
    counts = {n: int(groups[i]) for i, n in enumerate(COUNTS[:-1])}
    counts["rejected"] = int(groups[7])
    counts["deleted"] = None if groups[6] is None else int(groups[6])
    return counts


def logfmt_value(text):
    """A logfmt value as offpeak's tools write it: bare, or quoted with \\ and \" escaped."""
    if not text.startswith('"'):
        return text
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)),
                  text[1:-1])


def line(region, source, key, record, **extra):
    obj = {"region": region, "source": source, "key": key, **extra, "record": record}
    return json.dumps(obj) + "\n"


def minified(record):
    return json.dumps(record, separators=(",", ":"))


def bars(n, start=0, price=1.0, symbols=50, fetched_at="2026-01-03T00:00:00Z"):
    """n bar lines with distinct keys, as offpeak-scrape would print them."""
    out = []
    for i in range(start, start + n):
        symbol, day = f"S{i % symbols:03d}", i // symbols
        record = {"t": f"d{day:05d}", "o": price + i, "v": i * 10}
        out.append(line("xnys", "bars", [symbol, f"d{day:05d}"], record, fetched_at=fetched_at))
    return "".join(out)


class Env(Database):
    """A fresh database and the means to run offpeak-load and SQL against it."""

    def __init__(self, bin_dir, name):
        super().__init__(name, "offpeak-load-test-")
        self.loader = os.path.abspath(os.path.join(bin_dir, "offpeak-load"))

    def load(self, *args, stdin="", db=True, env=None):
        command = [self.loader] + (["--db", self.conninfo] if db else []) + list(args)
        result = subprocess.run(
            command, input=stdin.encode() if isinstance(stdin, str) else stdin,
            capture_output=True, timeout=TIMEOUT, env=env, cwd=self.work)
        return result.returncode, result.stdout.decode(errors="replace"), \
            result.stderr.decode(errors="replace")

    def load_ok(self, *args, stdin=""):
        code, out, err = self.load(*args, stdin=stdin)
        check(code == 0, f"offpeak-load {' '.join(args)} exited {code}: {err}")
        return summary(err), out

    def start_writing(self, text, *args):
        """offpeak-load ARGS with `text` on its standard input, still open, once the server
        shows it writing rows (COPY progress)."""
        process = subprocess.Popen([self.loader, "--db", self.conninfo, *args],
                                   stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdin.write(text.encode())
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while self.psql("SELECT coalesce(sum(tuples_processed), 0) FROM pg_stat_progress_copy "
                        f"WHERE datname = '{self.db}'") == "0":
            check(time.monotonic() < deadline, "the load never started writing")
            time.sleep(0.02)
        return process

    def table(self, table="offpeak.records"):
        return self.rows(f"SELECT region, source, key, record::text, encode(record_hash, 'hex'), "
                         f"first_seen, changed_at, load_id FROM {table} ORDER BY 1, 2, 3")

    def count(self, table="offpeak.records"):
        return int(self.psql(f"SELECT count(*) FROM {table}"))


def summary(stderr):
    """The summary's counts, and under "pairs" each (region, source) line's, checked to add
    up: each pair's lines are its other counts' sum, and the totals the pairs' sums."""
    lines = [l for l in stderr.splitlines() if l.startswith("offpeak-load: status=")]
    check(len(lines) == 1, f"expected one summary line in:\n{stderr}")
    match = SUMMARY.match(lines[0])
    check(match, f"summary line has the wrong form: {lines[0]!r}")
    counts = counts_from(match.groups())
    counts["load"] = int(match.group(10)) if match.group(10) else None
    check(counts["lines"] == sum(counts[n] for n in COUNTS[1:]),
          f"counts do not reconcile: {lines[0]}")
    pairs = {}
    for l in stderr.splitlines():
        if not l.startswith("offpeak-load: region="):
            continue
        m = PAIR.match(l)
        check(m, f"pair line has the wrong form: {l!r}")
        pair = (logfmt_value(m.group(1)), logfmt_value(m.group(2)))
        check(pair not in pairs, f"pair {pair} twice in:\n{stderr}")
        # A pair's "deleted" only where shown, so that its counts compare with pair_model's.
        pairs[pair] = {n: c for n, c in counts_from(m.groups()[2:]).items() if c is not None}
        check(pairs[pair]["lines"] == sum(pairs[pair][n] for n in COUNTS[1:]),
              f"pair counts do not reconcile: {l}")
    for n in COUNTS:
        check_equal(sum(p[n] for p in pairs.values()), counts[n], f"the pairs' sum of {n}")
    shown = [p["deleted"] for p in pairs.values() if "deleted" in p]
    check_equal(counts["deleted"], sum(shown) if shown else None, "the pairs' sum of deleted")
    check(stderr.splitlines().index(lines[0]) == len(stderr.splitlines()) - 1,
          f"the summary comes last:\n{stderr}")
    counts["pairs"] = pairs
    return counts


def counts_of(s):
    return (s["lines"], s["inserted"], s["updated"], s["unchanged"], s["duplicates"],
            s["rejected"])


# ----------------------------------------------------------------------------------------
# Cases


def case_first_load(env):
    records = [{"o": 1.5, "s": "a \"q\" b"}, {"o": 2, "n": None}, {"o": 3, "u": "Zürich"}]
    text = "".join(line("xnys", "bars", ["K", i], r, fetched_at="2026-01-03T00:00:00Z")
                   for i, r in enumerate(records))
    path = env.file("in.ndjson", text.replace('"o": ', '"o" :  '))
    s, out = env.load_ok(path)
    check_equal(counts_of(s), (3, 3, 0, 0, 0, 0), "counts")
    check_equal(out, "", "stdout without --json")
    table = env.table()
    check_equal(len(table), 3, "rows")
    for i, (row, record) in enumerate(zip(table, records)):
        check_equal(row[:3], ["xnys", "bars", f'["K",{i}]'], "region, source, key")
        check_equal(json.loads(row[3]), record, "record")
        check_equal(row[4], hashlib.sha256(minified(record).encode()).hexdigest(),
                    "record_hash: SHA-256 of the minified record")
        check_equal(row[5], row[6], "first_seen = changed_at on insert")
        check_equal(int(row[7]), s["load"], "load_id")
    ledger = env.rows("SELECT id, host <> '', target, input_lines, inserted, updated, unchanged, "
                      "duplicates, rejected, status, finished >= started FROM offpeak.loads")
    check_equal(ledger, [[str(s["load"]), "t", "offpeak.records", "3", "3", "0", "0", "0", "0",
                          "loaded", "t"]], "offpeak.loads")
    check_equal(env.psql("SELECT max(version) FROM offpeak.schema_version"), "3", "schema version")


def case_identical_reload(env):
    path = env.file("in.ndjson", bars(20000))
    first, _ = env.load_ok(path)
    check_equal(counts_of(first), (20000, 20000, 0, 0, 0, 0), "first load")
    before_rows = env.rows("SELECT xmin, ctid FROM offpeak.records ORDER BY key")
    before = env.tuple_counters()
    check_equal(before, ["20000", "0", "0"], "counters after the first load")
    second, _ = env.load_ok(path)
    check_equal(counts_of(second), (20000, 0, 0, 20000, 0, 0), "reload")
    check_equal(env.tuple_counters(), before, "n_tup_ins, n_tup_upd, n_tup_del after reload")
    check_equal(env.rows("SELECT xmin, ctid FROM offpeak.records ORDER BY key"), before_rows,
                "row versions after reload")
    check_equal(env.psql("SELECT count(*) FROM offpeak.loads"), "2", "two ledger rows")


def case_changed_record(env):
    env.load_ok(stdin=bars(100))
    before = {r[2]: r for r in env.table()}
    counters = env.tuple_counters()
    changed = bars(100).replace('"o": 43.0', '"o": 43.5')
    s, _ = env.load_ok(stdin=changed)
    check_equal(counts_of(s), (100, 0, 1, 99, 0, 0), "counts")
    after = {r[2]: r for r in env.table()}
    key = '["S042","d00000"]'
    check_equal(json.loads(after[key][3])["o"], 43.5, "the changed record")
    check_equal(after[key][5], before[key][5], "first_seen stays")
    check(after[key][6] > before[key][6], "changed_at moves")
    check_equal(int(after[key][7]), s["load"], "load_id of the changed row")
    check_equal({k: v for k, v in after.items() if k != key},
                {k: v for k, v in before.items() if k != key}, "the other rows")
    new = env.tuple_counters()
    check_equal((int(new[0]) - int(counters[0]), int(new[1]) - int(counters[1]), new[2]),
                (0, 1, "0"), "one tuple updated")


def case_duplicates_within_input(env):
    text = (line("r", "s", [1], {"v": "first"}) + line("r", "s", [2], {"v": "only"}) +
            line("r", "s", [1], {"v": "second"}) + line("r", "s", [1], {"v": "last"}))
    s, _ = env.load_ok(stdin=text)
    check_equal(counts_of(s), (4, 2, 0, 0, 2, 0), "counts")
    check_equal([r[3] for r in env.table()], ['{"v": "last"}', '{"v": "only"}'], "last wins")
    # Across batches: the same key 20000 lines apart; the first occurrence matches the
    # table, the last does not, so the key counts as updated.
    far = line("r", "s", [1], {"v": "last"}) + bars(20000) + line("r", "s", [1], {"v": "later"})
    s, _ = env.load_ok(stdin=far)
    check_equal(counts_of(s), (20002, 20000, 1, 0, 1, 0), "counts across batches")
    check_equal(env.psql("""SELECT record->>'v' FROM offpeak.records WHERE key = '[1]'"""),
                "later", "last wins across batches")
    check_equal(env.count(), 20002, "rows")


def case_sweep_agrees_with_lookups(env):
    """A pair with many lines in the input and not many more rows in the table is swept (its
    keys and hashes read in one pass) and compared on the client; other pairs are looked up
    key by key. Both decide as a model of the table does, from a file and from a pipe."""
    def records(pair, n, start=0, version=0):
        region, source = pair
        return [((region, source, json.dumps([f"K{i:06d}"], separators=(",", ":"))),
                 {"i": i, "v": version, "p": f"{region}/{source}"}) for i in range(start, start + n)]

    def text_of(rows):
        return "".join(line(r, s, json.loads(k), rec) for (r, s, k), rec in rows)

    swept, small, large = ("xnys", "bars"), ("xlon", "fx"), ("xtks", "bars")
    base = records(swept, 30000) + records(small, 200) + records(large, 40000)
    s, _ = env.load_ok(env.file("base.ndjson", text_of(base)))
    check_equal(counts_of(s), (70200, 70200, 0, 0, 0, 0), "first load")
    table = dict(base)

    # The swept pair: every tenth record changed, a thousand new keys, and the lines of a
    # few keys repeated side by side, the last of each the one that counts. The small pair
    # has too few lines for a sweep; the large one too many rows in the table for its lines.
    reload = []
    for key, record in records(swept, 30000):
        i = record["i"]
        if i % 10 == 0:
            record = dict(record, v=1)
        if i % 1000 == 5:
            reload.append((key, dict(record, v=-1)))
        reload.append((key, record))
    reload += records(swept, 1000, start=30000, version=1)
    reload += [(k, dict(r, v=1) if r["i"] % 10 == 3 else r) for k, r in records(small, 200)]
    reload += [(k, dict(r, v=1) if r["i"] % 10 == 7 else r) for k, r in records(large, 4500)]

    def expect(rows):
        last = dict(rows)
        inserted = sum(1 for k in last if k not in table)
        updated = sum(1 for k, r in last.items() if k in table and table[k] != r)
        unchanged = sum(1 for k, r in last.items() if table.get(k) == r)
        return (len(rows), inserted, updated, unchanged, len(rows) - len(last), 0)

    def index_scans():
        env.tuple_counters()  # waits until the loader's backends have reported
        return int(env.psql("SELECT idx_scan FROM pg_stat_user_indexes "
                            "WHERE relname = 'records' AND schemaname = 'offpeak'"))

    def check_table():
        rows = env.rows("SELECT region, source, key, record::text, encode(record_hash, 'hex') "
                        "FROM offpeak.records")
        actual = {(r, s_, k): (json.loads(rec), h) for r, s_, k, rec, h in rows}
        check_equal(len(actual), len(table), "rows")
        for key, record in table.items():
            stored = actual.get(key)
            check(stored is not None, f"{key} is missing")
            check_equal(stored[0], record, f"record of {key}")
            check_equal(stored[1], hashlib.sha256(minified(record).encode()).hexdigest(),
                        f"record_hash of {key}")

    # From a file, whose size tells the loader early how many lines each pair has.
    scans = index_scans()
    expected = expect(reload)
    s, _ = env.load_ok(env.file("reload.ndjson", text_of(reload)))
    check_equal(counts_of(s), expected, "counts of the reload from a file")
    table.update(dict(reload))
    check_table()
    # The small and large pairs' 4,700 lines are looked up, an index scan each, and the 3,500
    # keys with changed lines take a few each as they are written; the swept pair's 31,000
    # lines take none: looking them up would take the count past 35,000.
    scans, before = index_scans(), scans
    check(4700 + 3500 <= scans - before < 25000, f"{scans - before} index scans for the reload")

    # From a pipe, whose size is not known: the same again, then other changes.
    counters = env.tuple_counters()
    s, _ = env.load_ok(stdin=text_of(reload))
    check_equal(counts_of(s), expect(reload), "counts of the same reload from a pipe")
    check_equal(env.tuple_counters(), counters, "n_tup_ins, n_tup_upd, n_tup_del after it")
    again = [(k, dict(r, v=2) if r["i"] % 7 == 0 else r) for k, r in dict(reload).items()]
    again += records(swept, 500, start=40000, version=2)
    expected = expect(again)
    s, _ = env.load_ok(stdin=text_of(again))
    check_equal(counts_of(s), expected, "counts of a changed reload from a pipe")
    table.update(dict(again))
    check_table()


def case_row_deleted_during_load(env):
    """A row that another session deletes after the loader swept its pair, and whose record
    then arrives changed, is inserted again rather than lost. The delete waits until the
    server shows the sweep's COPY finished on an idle lookup connection."""
    env.load_ok(stdin=bars(30000))
    changed = bars(30000).replace('"o": 25001.0', '"o": 0.5')
    lines = changed.splitlines(keepends=True)
    first, rest = "".join(lines[:20000]), "".join(lines[20000:])
    check('"o": 0.5' in rest, "the changed line comes after the first batch")
    loader = subprocess.Popen([env.loader, "--db", env.conninfo], stdin=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    loader.stdin.write(first.encode())
    loader.stdin.flush()
    deadline = time.monotonic() + 60
    while env.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   f"'offpeak-load' AND datname = '{env.db}' AND state = 'idle' AND "
                   "query LIKE 'COPY (SELECT key, record_hash%'") == "0":
        check(loader.poll() is None, "the loader ended before its sweep")
        check(time.monotonic() < deadline, "the loader never swept the pair")
        time.sleep(0.02)
    env.psql("""DELETE FROM offpeak.records WHERE key = '["S000","d00500"]'""")
    loader.stdin.write(rest.encode())
    loader.stdin.close()
    err = loader.stderr.read().decode()
    check_equal(loader.wait(timeout=TIMEOUT), 0, f"offpeak-load's exit ({err})")
    check_equal(counts_of(summary(err)), (30000, 1, 0, 29999, 0, 0), "counts")
    check_equal(env.psql("""SELECT record->>'o' FROM offpeak.records
                            WHERE key = '["S000","d00500"]'"""), "0.5", "the row, back")
    check_equal(env.count(), 30000, "rows")


def case_far_duplicates_reload_writes_nothing(env):
    """A key whose lines differ within the input, further apart than a batch, is written as
    its last line says, once; loading the same input again writes nothing."""
    text = (line("r", "s", [1], {"v": "early"}) + line("r", "s", [2], {"v": "kept"}) +
            bars(20000) + line("r", "s", [1], {"v": "last"}) + line("r", "s", [2], {"v": "kept"}))
    s, _ = env.load_ok(stdin=text)
    check_equal(counts_of(s), (20004, 20002, 0, 0, 2, 0), "first load")
    check_equal(env.rows("SELECT key, record->>'v' FROM offpeak.records WHERE region = 'r' "
                         "ORDER BY key"), [["[1]", "last"], ["[2]", "kept"]], "last wins")
    before = env.tuple_counters()
    rows = env.rows("SELECT xmin, ctid FROM offpeak.records ORDER BY key")
    for source in ("a pipe", "a file"):
        s, _ = env.load_ok(*([env.file("in.ndjson", text)] if source == "a file" else []),
                           stdin=text if source == "a pipe" else "")
        check_equal(counts_of(s), (20004, 0, 0, 20002, 2, 0), f"reload from {source}")
        check_equal(env.tuple_counters(), before, f"tuples written by the reload from {source}")
        check_equal(env.rows("SELECT xmin, ctid FROM offpeak.records ORDER BY key"), rows,
                    f"row versions after the reload from {source}")
    # Back and forth: the first line differs from the table, the last matches it.
    s, _ = env.load_ok(stdin=line("r", "s", [1], {"v": "other"}) + bars(20000) +
                       line("r", "s", [1], {"v": "last"}))
    check_equal(counts_of(s), (20002, 0, 0, 20001, 1, 0), "a key changed and changed back")
    check_equal(env.tuple_counters(), before, "tuples written by it")
    # The first line matches, the last does not: one update, which a dry run counts alike.
    text = line("r", "s", [1], {"v": "last"}) + bars(20000) + line("r", "s", [1], {"v": "new"})
    s, _ = env.load_ok("--dry-run", stdin=text)
    check_equal(counts_of(s), (20002, 0, 1, 20000, 1, 0), "a dry run of a change at the end")
    check_equal(env.tuple_counters(), before, "tuples written by the dry run")
    s, _ = env.load_ok(stdin=text)
    check_equal(counts_of(s), (20002, 0, 1, 20000, 1, 0), "a key changed at its last line")
    after = env.tuple_counters()
    check_equal((after[0], int(after[1]) - int(before[1]), after[2]), (before[0], 1, "0"),
                "one tuple updated")


def case_full_key_table(env):
    """Past the memory the table of keys may take (made small here), lines of keys it could
    not take are staged and settled at the end, and every count and row is as the model says:
    on a first load, an identical reload that writes nothing, and a reload with changes."""
    memory = {**os.environ, "OFFPEAK_LOAD_KEY_MEMORY": "600000"}  # 49,152 keys, no growth

    def load(text):
        result = subprocess.run([env.loader, "--db", env.conninfo], input=text.encode(),
                                capture_output=True, timeout=TIMEOUT, env=memory)
        err = result.stderr.decode()
        check_equal(result.returncode, 0, f"offpeak-load's exit ({err})")
        return counts_of(summary(err))

    def rows(n, version, start=0):
        return [(json.dumps([f"K{i:06d}"], separators=(",", ":")), {"i": i, "v": version})
                for i in range(start, start + n)]

    def text_of(rows_):
        return "".join(line("r", "s", json.loads(k), rec) for k, rec in rows_)

    table = {}

    def expect(rows_):
        last = dict(rows_)
        return (len(rows_), sum(1 for k in last if k not in table),
                sum(1 for k, r in last.items() if k in table and table[k] != r),
                sum(1 for k, r in last.items() if table.get(k) == r), len(rows_) - len(last), 0)

    def check_table():
        actual = {k: json.loads(r) for k, r in
                  env.rows("SELECT key, record::text FROM offpeak.records")}
        check_equal(len(actual), len(table), "rows")
        check(actual == table, "the table is as the model says")

    # Keys before and past the first 49,152 repeat, changing and not, in the same batch
    # (16,384 lines) and in later ones.
    first = rows(80000, 0)
    first += [(k, dict(r, v=1)) for k, r in rows(80000, 0)[::97]]
    first += [(k, dict(r, v=0)) for k, r in rows(80000, 0)[::89]]
    check_equal(load(text_of(first)), expect(first), "first load")
    table.update(dict(first))
    check_table()
    counters = env.tuple_counters()
    check_equal(load(text_of(first)), expect(first), "identical reload")
    check_equal(env.tuple_counters(), counters, "tuples written by the identical reload")
    again = [(k, dict(r, v=2) if r["i"] % 7 == 0 else r) for k, r in dict(first).items()]
    again += rows(3000, 3, start=60000) + [(k, dict(r, v=4)) for k, r in again[::1000]]
    check_equal(load(text_of(again)), expect(again), "a reload with changes")
    table.update(dict(again))
    check_table()


def case_shared_key_ids(env):
    """With key ids cut to a few bits (OFFPEAK_LOAD_KEY_BITS), so that hundreds of keys share
    each id, every row is still written as the input's last line of its key says, on a first
    load, reloads from a file (swept) and a pipe, and an identical reload writes nothing."""
    shared = {**os.environ, "OFFPEAK_LOAD_KEY_BITS": "12"}  # 512 ids, as the table keeps them

    def load(*args, stdin=""):
        result = subprocess.run([env.loader, "--db", env.conninfo, *args], input=stdin.encode(),
                                capture_output=True, timeout=TIMEOUT, env=shared)
        err = result.stderr.decode()
        check_equal(result.returncode, 0, f"offpeak-load's exit ({err})")
        return summary(err)

    def text_of(rows_):
        return "".join(line("r", "s", json.loads(k), rec) for k, rec in rows_)

    table = {}

    def check_table(what):
        actual = {k: json.loads(r) for k, r in
                  env.rows("SELECT key, record::text FROM offpeak.records")}
        check_equal(len(actual), len(table), f"rows after {what}")
        check(actual == table, f"the table is as the model says after {what}")

    keys = [json.dumps([f"K{i:06d}"], separators=(",", ":")) for i in range(40000)]
    first = [(k, {"v": 0}) for k in keys[:30000]] + [(k, {"v": 1}) for k in keys[:30000:101]]
    s = load(stdin=text_of(first))
    check_equal((s["lines"], s["inserted"]), (len(first), 30000), "first load")
    table.update(dict(first))
    check_table("the first load")
    again = [(k, {"v": 2} if i % 7 == 0 else table[k]) for i, k in enumerate(keys[:30000])]
    again += [(k, {"v": 3}) for k in keys[30000:]] + [(k, {"v": 4}) for k in keys[:40000:997]]
    s = load(env.file("again.ndjson", text_of(again)))
    check_equal(s["lines"], len(again), "lines of a reload with changes")
    table.update(dict(again))
    check_table("a reload with changes from a file")
    counters = env.tuple_counters()
    s = load(stdin=text_of(again))
    check_equal((s["inserted"], s["updated"]), (0, 0), "an identical reload")
    check_equal(env.tuple_counters(), counters, "tuples written by an identical reload")
    last = [(k, {"v": 5}) for k in keys[::3]] + [(k, table[k]) for k in keys[::3]]
    load(stdin=text_of(last))
    check_equal(env.tuple_counters(), counters, "tuples written by keys changed and back")


PAIRS = [("xnys", "bars"), ("xnys", "quotes"), ("xlon", "bars"), ("xlon", 'end of day "eod"')]


def pair_model(table, lines):
    """What the loader must report per (region, source) for `lines` (tuples of region,
    source, key and record, or a string for a bad line) loaded into `table` (key -> record),
    and the table afterwards: a key's last line wins, its earlier lines are duplicates."""
    counts, last = {}, {}
    for i, l in enumerate(lines):
        pair = ("", "") if isinstance(l, str) else l[:2]
        c = counts.setdefault(pair, dict.fromkeys(COUNTS, 0))
        c["lines"] += 1
        if isinstance(l, str):
            c["rejected"] += 1
            continue
        if l[:3] in last:
            c["duplicates"] += 1
        last[l[:3]] = l[3]
    after = dict(table)
    for key, record in last.items():
        c = counts[key[:2]]
        c["inserted" if key not in table else
          "unchanged" if table[key] == record else "updated"] += 1
        after[key] = record
    return counts, after


def pair_text(lines):
    return "".join(l + "\n" if isinstance(l, str) else line(l[0], l[1], l[2], l[3])
                   for l in lines)


def case_counts_per_pair(env):
    """Each (region, source) of the input gets its own counts, which add up to its lines and
    to the totals: on a first load (bad lines under the empty pair, duplicates near and
    across batches), a reload from a file (swept pairs) and one from a pipe (lookups). With
    key ids of 12 bits, shared across pairs, the lines, rejects and first inserts per pair
    still hold, and so does the table."""
    def keyed(pair, n, start=0):
        return [(*pair, [f"K{i:05d}"], {"v": 0, "p": pair[1]}) for i in range(start, start + n)]

    first = []
    for i in range(7000):  # the pairs interleaved, some more often than others
        pair = PAIRS[i % 4] if i % 5 else PAIRS[0]
        first.append((*pair, [f"K{i:05d}"], {"v": 0, "p": pair[1]}))
    first += [(*l[:3], {"v": 1}) for l in first[:7000:13]]  # duplicates, a batch later
    first = first[:3000] + [(*l[:3], {"v": 9}) for l in first[:3000:500]] + first[3000:]
    first += [(*l[:3], {"v": 0, "p": l[1]}) for l in first[4000:7000:250]]  # back to as was
    first.insert(10, "not json")
    first.insert(5000, '{"region":"xnys","source":"bars","key":[1]}')
    first = first * 3  # 3 copies: the last wins, beyond the first batch of 16384 lines
    first = [l if isinstance(l, str) else (*l[:3], {**l[3], "c": 2 if n >= len(first) * 2 // 3
                                                   else 0})
             for n, l in enumerate(first)]

    again = []
    for i, l in enumerate(first[len(first) * 2 // 3:]):
        if isinstance(l, str) or l[1] == "quotes":
            continue  # one pair is absent from the reload
        again.append((*l[:3], {**l[3], "v": 5}) if i % 7 == 0 else l)
    again += [(*PAIRS[3], [f"N{i:05d}"], {"v": 3}) for i in range(300)]
    again += [(*l[:3], {"v": 6}) for l in again[:2000:100]]
    again.append("[]")

    piped = [l if i % 11 else (*l[:3], {"v": 8}) for i, l in enumerate(again[:5000])]
    piped += [l for l in again[:1000:50]]  # back to the file's lines: duplicates, unchanged

    for table_name, bits in (("offpeak.per_pair", None), ("offpeak.per_pair_shared", "12")):
        run_env = {**os.environ, **({"OFFPEAK_LOAD_KEY_BITS": bits} if bits else {})}

        def load(*args, stdin=""):
            result = subprocess.run([env.loader, "--db", env.conninfo, "--table", table_name,
                                     "--reject-file", "r.ndjson", *args], cwd=env.work,
                                    input=stdin.encode(), capture_output=True, timeout=TIMEOUT,
                                    env=run_env)
            err = result.stderr.decode()
            check_equal(result.returncode, 0, f"offpeak-load's exit ({err})")
            return summary(err)

        def check_run(what, s, expected, after):
            pairs = {p: c for p, c in s["pairs"].items()}
            check_equal(set(pairs), set(expected), f"pairs of {what} ({table_name})")
            for pair in expected:
                if bits:
                    for n in ("lines", "rejected"):
                        check_equal(pairs[pair][n], expected[pair][n], f"{n} of {pair} in {what}")
                else:
                    check_equal(pairs[pair], expected[pair], f"counts of {pair} in {what}")
            rows = env.rows(f"SELECT region, source, key, record::text FROM {table_name}")
            check_equal(len(rows), len(after), f"rows after {what} ({table_name})")
            actual = {(r, s_, k): json.loads(rec) for r, s_, k, rec in rows}
            model = {(r, s_, json.dumps(k, separators=(",", ":"))): rec
                     for (r, s_, k), rec in ((key[:2] + (json.loads(key[2]),), rec)
                                             for key, rec in after.items())}
            check(actual == model, f"the table is as the model says after {what} ({table_name})")

        def as_model(lines):
            return [l if isinstance(l, str) else
                    (*l[:2], json.dumps(l[2], separators=(",", ":")), l[3]) for l in lines]

        table = {}
        expected, after = pair_model(table, as_model(first))
        s = load(stdin=pair_text(first))
        check_run("the first load", s, expected, after)
        if bits:
            for pair in expected:
                check_equal(s["pairs"][pair]["inserted"], expected[pair]["inserted"],
                            f"inserted of {pair} in the first load")
        table = after
        expected, after = pair_model(table, as_model(again))
        s = load(env.file("again.ndjson", pair_text(again)))
        check_run("a reload from a file", s, expected, after)
        table = after
        expected, after = pair_model(table, as_model(piped))
        s = load(stdin=pair_text(piped))
        check_run("a reload from a pipe", s, expected, after)
        s = load(stdin=pair_text(piped))
        for pair, c in s["pairs"].items():
            check_equal((c["inserted"], c["updated"]), (0, 0), f"{pair} in an identical reload")


def metrics_of(path):
    """The samples of a metrics file, {(name, ((label, value), ...)): value}, once it is
    checked as Prometheus text format (by promtool, or tests/golden/run.py's checker)."""
    import importlib.util
    golden = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "golden", "run.py")
    spec = importlib.util.spec_from_file_location("golden_run", golden)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    problems = module.check_metrics(text)
    check(not problems, f"{path} is not valid: {problems}\n{text}")
    samples = {}
    for l in text.splitlines():
        if l.startswith("#"):
            continue
        m = module.SAMPLE.match(l)
        labels = tuple((k, logfmt_value(v)) for k, v in
                       re.findall(r'([a-zA-Z_]\w*)=("(?:[^"\\]|\\.)*")', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def case_metrics_file(env):
    """--metrics-file: the run's figures and each pair's counts after a load; after failed
    loads (bad lines, no database) the exit code, and last_success carried over."""
    path = os.path.join(env.work, "load.prom")
    text = bars(30) + line("xlon", 'a "q"\\b', ["K"], {"v": 1}) + "not json\n"
    before = time.time()
    code, _, err = env.load("--metrics-file", path, "--reject-file", "r.ndjson", stdin=text)
    check_equal(code, 0, f"exit ({err})")
    m = metrics_of(path)
    check(oct(os.stat(path).st_mode & 0o777) == "0o644", "mode 0644")
    check_equal(sorted(os.listdir(env.work)), ["load.prom", "r.ndjson"], "no temporary file left")
    xnys = (("region", "xnys"), ("source", "bars"))
    xlon = (("region", "xlon"), ("source", 'a "q"\\b'))
    bad = (("region", ""), ("source", ""))
    for name, labels, value in [
            ("offpeak_load_exit_code", (), 0), ("offpeak_load_lines", xnys, 30),
            ("offpeak_load_inserted", xnys, 30), ("offpeak_load_updated", xnys, 0),
            ("offpeak_load_unchanged", xnys, 0), ("offpeak_load_duplicates", xnys, 0),
            ("offpeak_load_rejected", xnys, 0), ("offpeak_load_lines", xlon, 1),
            ("offpeak_load_inserted", xlon, 1), ("offpeak_load_lines", bad, 1),
            ("offpeak_load_rejected", bad, 1), ("offpeak_load_inserted", bad, 0)]:
        check_equal(m.get((name, labels)), value, f"{name}{labels}")
    success = {k: v for k, v in m.items() if k[0] == "offpeak_load_last_success_timestamp_seconds"}
    check_equal(sorted(k[1] for k in success), sorted([(), xnys, xlon]), "last_success samples")
    for v in success.values():
        check(before <= v <= time.time(), f"last_success {v} is the run's end")
    check_equal(m[("offpeak_load_last_run_timestamp_seconds", ())], success[(
        "offpeak_load_last_success_timestamp_seconds", ())], "last run = last success")
    check(0 < m[("offpeak_load_duration_seconds", ())] < TIMEOUT, "duration")

    code, _, err = env.load("--metrics-file", path, stdin=bars(3) + "not json\n")
    check_equal(code, 65, f"exit with a bad line ({err})")
    failed = metrics_of(path)
    check_equal(failed[("offpeak_load_exit_code", ())], 65, "exit code of a failed load")
    check_equal({k: v for k, v in failed.items() if k[0].endswith("last_success_timestamp_seconds")},
                success, "last_success carried over")
    check(not any(k[0] == "offpeak_load_lines" for k in failed), "no counts of a failed load")
    check(failed[("offpeak_load_last_run_timestamp_seconds", ())] >
          m[("offpeak_load_last_run_timestamp_seconds", ())], "a newer last run")

    code, _, err = env.load("--db", "host=/nonexistent dbname=x connect_timeout=2",
                            "--metrics-file", path, stdin=bars(3), db=False)
    check(code in (69, 75), f"exit without a database ({code}: {err})")
    down = metrics_of(path)
    check_equal(down[("offpeak_load_exit_code", ())], code, "exit code without a database")
    check_equal({k: v for k, v in down.items() if k[0].endswith("last_success_timestamp_seconds")},
                success, "last_success carried over again")

    code, _, err = env.load("--metrics-file", path, "--log-format", "json", "--dry-run",
                            stdin=bars(3))
    check_equal(code, 0, f"dry run ({err})")
    check_equal(metrics_of(path), down, "a dry run leaves the metrics file alone")
    events = [json.loads(l) for l in err.splitlines()]
    check_equal([(e["tool"], e["level"], e.get("region"), e["lines"]) for e in events],
                [("offpeak-load", "info", "xnys", 3), ("offpeak-load", "info", None, 3)],
                "JSON log lines")
    check_equal(events[1]["dry_run"], True, "dry_run in the JSON summary")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", events[1]["time"]), "time")
    check(isinstance(events[1]["seconds"], float), "seconds a number")


def case_progress_on_a_terminal(env):
    """A live progress line appears only when stderr is a terminal, and is erased before the
    summary; with stderr a file or a pipe there is none."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([env.loader, "--db", env.conninfo], stdin=subprocess.PIPE,
                               stderr=secondary)
    os.close(secondary)
    process.stdin.write(bars(40000).encode())
    process.stdin.close()
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal is gone with the process
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    check_equal(process.wait(timeout=TIMEOUT), 0, "exit status")
    text = output.decode()
    check(re.search(r"\r\x1b\[Koffpeak-load: \d+ lines, \d+\.\d MB read\.\.\.", text),
          f"a progress line: {text!r}")
    check(re.search(r"\r\x1b\[Koffpeak-load: region=xnys source=bars status=ok lines=40000 "
                    r"inserted=40000 ", text),
          f"erased before the summary: {text!r}")
    _, _, err = env.load(stdin=bars(40000))
    check("\x1b[K" not in err and "MB read" not in err, f"no progress into a pipe: {err!r}")


BAD_LINES = [
    ("not json", "not valid JSON"),
    ("[1,2]", "not a JSON object"),
    ('{"source":"s","key":[1],"record":{}}', 'missing "region"'),
    ('{"region":"r","key":[1],"record":{}}', 'missing "source"'),
    ('{"region":"r","source":"s","record":{}}', 'missing "key"'),
    ('{"region":"r","source":"s","key":[1]}', 'missing "record"'),
    ('{"region":7,"source":"s","key":[1],"record":{}}', '"region" is not a string'),
    ('{"region":"r","source":"s","key":"k","record":{}}', '"key" is not an array'),
    ('{"region":"r","source":"s","key":[1],"record":[]}', '"record" is not an object'),
    ('{"region":"r","source":"s","key":[],"record":{}}', '"key" is an empty array'),
    ('{"region":"r","source":"s","key":[1],"record":{"a":"\\u0000"}}',
     "a string contains \\u0000, which PostgreSQL cannot store"),
    ('{"region":"r","source":"s","key":[1],"record":{"a":"\\ud800"}}',
     "invalid string escape (such as a lone UTF-16 surrogate)"),
    ('{"region":"r","source":"s","key":[1],"record":{"a":1e999999}}',
     "number 1e999999 is out of PostgreSQL's range"),
    ('{"region":"r","source":"s","key":[1],"record":{"a":' + "[" * 2000 + "]" * 2000 + "}}",
     "nested deeper than 1024 levels"),
]


def bad_input():
    """Good lines around every kind of bad line, and the expected reject-file lines."""
    good = [line("r", "s", [i], {"v": i}) for i in range(3)]
    parts, rejects = [good[0].encode()], []
    number = 1
    for text, reason in BAD_LINES + [(b'{"region":"r","source":"s","key":[1],"record":{"a":"\xff"}}',
                                      "invalid UTF-8"),
                                     (b'{"region":"r","source":"s","key":[1],"record":{"a":\x00}}',
                                      "NUL byte at column 52")]:
        number += 1
        raw = text if isinstance(text, bytes) else text.encode()
        parts.append(raw + b"\n")
        rejects.append((number, reason))
    parts.append(good[1].encode())
    parts.append(good[2].encode())
    parts.append(b'{"region":"r","source":"s","key":[9],"rec')  # cut off at the end
    rejects.append((number + 3, "cut off: the input ends in the middle of this line"))
    return b"".join(parts), rejects, number + 3


def case_bad_lines_without_reject_file(env):
    env.load_ok(stdin=line("r", "s", [0], {"v": "old"}))
    before = env.table()
    data, rejects, total = bad_input()
    code, out, err = env.load(env.file("in.ndjson", data))
    check_equal(code, 65, "exit status")
    check_equal(out, "", "stdout")
    expected = [f"offpeak-load: error: {env.work}/in.ndjson:{n}: {reason}"
                for n, reason in rejects[:10]]
    expected.append(f"offpeak-load: error: {len(rejects)} bad lines in {total} lines; nothing "
                    "loaded (with --reject-file FILE the good lines load and the bad ones go to "
                    "FILE)")
    check_equal(err.splitlines(), expected, "stderr")
    check_equal(env.table(), before, "table unchanged")
    check_equal(env.psql("SELECT count(*) FROM offpeak.loads"), "1", "no ledger row")


def case_bad_lines_with_reject_file(env):
    data, rejects, total = bad_input()
    s, _ = env.load_ok("--reject-file", "rejects.ndjson", stdin=data)
    check_equal(counts_of(s), (total, 3, 0, 0, 0, len(rejects)), "counts")
    check_equal([json.loads(r[3])["v"] for r in env.table()], [0, 1, 2], "good lines loaded")
    with open(os.path.join(env.work, "rejects.ndjson"), "rb") as f:
        written = [json.loads(l) for l in f.read().splitlines()]
    check_equal([(r["line"], r["reason"]) for r in written], rejects, "reject file")
    raw_lines = data.split(b"\n")
    for r in written:
        original = raw_lines[r["line"] - 1]
        if "base64" in r:
            import base64
            check_equal(base64.b64decode(r["base64"]), original, "base64 of a non-UTF-8 line")
        else:
            check_equal(r["text"].encode(), original, f"text of line {r['line']}")
    check_equal(env.rows("SELECT rejected, status FROM offpeak.loads"),
                [[str(len(rejects)), "loaded with rejects"]], "ledger")


def case_too_many_rejects(env):
    data, rejects, _ = bad_input()
    code, _, err = env.load("--reject-file", "r.ndjson", "--max-rejects", str(len(rejects) - 1),
                            stdin=data)
    check_equal(code, 65, "exit status")
    check_equal(err, f"offpeak-load: error: more than {len(rejects) - 1} bad lines "
                "(--max-rejects); nothing loaded; the bad lines so far are in r.ndjson\n", "stderr")
    check_equal(env.psql("SELECT to_regclass('offpeak.records') IS NULL OR "
                         "NOT EXISTS (SELECT FROM offpeak.records)"), "t", "nothing loaded")
    # Exactly at the limit the good lines load.
    s, _ = env.load_ok("--reject-file", "r.ndjson", "--max-rejects", str(len(rejects)), stdin=data)
    check_equal(s["rejected"], len(rejects), "rejected at the limit")
    code, _, err = env.load("--max-rejects", "5", stdin=data)
    check_equal(code, 64, "--max-rejects without --reject-file")


def case_reject_file_write_fails_rolls_back(env):
    """A reject file whose writes fail (/dev/full takes them into the buffer and fails them
    when they reach it) fails the load before it commits: exit 74, and nothing loaded."""
    env.load_ok(stdin=bars(5))
    before = env.table()
    code, out, err = env.load("--reject-file", "/dev/full",
                              stdin=bars(10, price=2.0) + "not json\n")
    check_equal(code, 74, f"exit status ({err})")
    check_equal(err, "offpeak-load: error: --reject-file: cannot write /dev/full; nothing "
                "loaded\n", "stderr")
    check_equal(env.table(), before, "table unchanged")
    check_equal(env.psql("SELECT count(*) FROM offpeak.loads"), "1", "no ledger row")


def case_hard_lines_load(env):
    """Several MB, huge numbers, odd spacing and Unicode are good lines, stored as sent."""
    big = {"values": list(range(700000))}
    numbers = {"big": 123456789012345678901234567890, "tiny": 1e-300}
    text = (line("r", "s", ["big"], big) +
            '{"region":"r","source":"s","key":["num"],"record":{"big":123456789012345678901234567890,'
            '"exp":1e400,"long":0.123456789012345678901234567890}}\n' +
            line("r", "s", ["uni"], {"name": "東京 \u00e9 😀"}) +
            '\t{ "region" : "r" , "source":"s","key":[ "ws" ],"record":{ "a" : [ 1 , 2 ] } }  \r\n')
    check(len(text) > 4_000_000, "the big line is several MB")
    s, _ = env.load_ok(stdin=text)
    check_equal(counts_of(s), (4, 4, 0, 0, 0, 0), "counts")
    check_equal(env.psql("""SELECT jsonb_array_length(record->'values') FROM offpeak.records
                            WHERE key = '["big"]'"""), "700000", "the big record")
    check_equal(env.psql("""SELECT record->>'big', record->>'exp' = (1e400)::numeric::text,
                            record->>'long' FROM offpeak.records WHERE key = '["num"]'"""),
                "123456789012345678901234567890|t|0.123456789012345678901234567890",
                "huge numbers kept exactly")
    check_equal(env.psql("""SELECT record->>'name' FROM offpeak.records WHERE key = '["uni"]'"""),
                "東京 é 😀", "Unicode")
    check_equal(env.psql("""SELECT record::text, encode(record_hash, 'hex') FROM offpeak.records
                            WHERE key = '["ws"]'"""),
                '{"a": [1, 2]}|' + hashlib.sha256(b'{"a":[1,2]}').hexdigest(), "minified hash")
    s, _ = env.load_ok(stdin=text)
    check_equal(counts_of(s), (4, 0, 0, 4, 0, 0), "reload of the hard lines")


def case_key_over_the_index_limit(env):
    """A key PostgreSQL's btree cannot hold is a bad line like any other, never a failed load:
    rejected alone with its reason, the other lines loaded. Region, source and key of 2600
    bytes together still load (random text, which PostgreSQL cannot compress below the
    limit), with short or long region and source; 2601 bytes are refused."""
    rnd = random.Random(17)

    def text(n):
        return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(n))

    # A key ["TEXT"] takes 4 bytes more than TEXT.
    fits = line("r", "s", [text(2600 - 2 - 4)], {"v": 1})
    long_names = line("r" * 200, "s" * 300, [text(2600 - 500 - 4)], {"v": 2})
    over = line("r", "s", [text(2600 - 2 - 3)], {"v": 3})
    small = line("r", "s", ["small"], {"v": 4})
    # Beyond the btree's 2704 bytes: this one alone used to fail the whole load (69).
    far_over = line("r", "s", [text(3000)], {"v": 5})
    data = fits + long_names + over + small + far_over
    code, _, err = env.load(stdin=data)
    check_equal(code, 65, f"exit status ({err})")
    check_equal(err.splitlines()[0],
                "offpeak-load: error: <stdin>:3: the key is too long: region, source and key take "
                "2601 bytes, more than the 2600 that PostgreSQL's index holds", "stderr")
    s, _ = env.load_ok("--reject-file", "r.ndjson", stdin=data)
    check_equal(counts_of(s), (5, 3, 0, 0, 0, 2), "counts")
    check_equal(env.psql("SELECT string_agg(record->>'v', ',' ORDER BY record->>'v') "
                         "FROM offpeak.records"), "1,2,4", "loaded")
    with open(os.path.join(env.work, "r.ndjson")) as f:
        check_equal([json.loads(l)["line"] for l in f], [3, 5], "rejected")
    s, _ = env.load_ok("--reject-file", "r.ndjson", stdin=data)
    check_equal(counts_of(s), (5, 0, 0, 3, 0, 2), "a rerun")


def case_empty_input(env):
    s, out = env.load_ok("--json", stdin="")
    check_equal(counts_of(s), (0, 0, 0, 0, 0, 0), "counts")
    check_equal(json.loads(out)["lines"], 0, "--json")
    check_equal(env.psql("SELECT input_lines, status FROM offpeak.loads"), "0|loaded", "ledger")


def case_json_and_dry_run(env):
    env.load_ok(stdin=bars(10))
    s, out = env.load_ok("--json", stdin=bars(12).replace('"o": 3.0', '"o": 3.5'))
    obj = json.loads(out)
    check_equal({k: obj[k] for k in ("lines", "inserted", "updated", "unchanged", "duplicates",
                                     "rejected", "load_id", "dry_run", "table")},
                {"lines": 12, "inserted": 2, "updated": 1, "unchanged": 9, "duplicates": 0,
                 "rejected": 0, "load_id": s["load"], "dry_run": False,
                 "table": "offpeak.records"}, "--json")
    check_equal(out.count("\n"), 1, "one line")
    before = env.table()
    counters = env.tuple_counters()
    s, out = env.load_ok("--dry-run", "--json", stdin=bars(15).replace('"o": 4.0', '"o": 4.5'))
    # Line 3 is back to what the first load wrote, line 4 changes.
    check_equal(counts_of(s), (15, 3, 2, 10, 0, 0), "dry-run counts")
    check_equal(json.loads(out)["dry_run"], True, "dry_run in --json")
    check_equal(env.table(), before, "dry run writes nothing")
    check_equal(env.tuple_counters(), counters, "dry run writes no tuple")


def case_json_to_a_full_stdout(env):
    """--json whose standard output cannot be written (/dev/full): the load is committed and
    summarized, then the run ends 74 saying so, and the metrics file has that exit code."""
    path = os.path.join(env.work, "load.prom")
    with open("/dev/full", "w") as full:
        result = subprocess.run([env.loader, "--db", env.conninfo, "--json", "--metrics-file", path],
                                input=bars(4).encode(), stdout=full, stderr=subprocess.PIPE,
                                timeout=TIMEOUT, cwd=env.work)
    err = result.stderr.decode()
    check_equal(result.returncode, 74, f"exit ({err})")
    lines = err.splitlines()
    check_equal(len(lines), 3, f"stderr lines ({err})")
    check(lines[1].startswith("offpeak-load: status=ok lines=4 inserted=4 "), "the summary first")
    check_equal(lines[2], "offpeak-load: error: cannot write to standard output (the load is "
                "committed)", "then the error")
    check_equal(env.count(), 4, "rows committed")
    m = metrics_of(path)
    check_equal(m[("offpeak_load_exit_code", ())], 74, "exit code in the metrics file")
    check(not any(k[0] == "offpeak_load_lines" for k in m), "no counts of a failed run")


def case_quoted_table_name(env):
    for name, sql in [('market."Bars 2"', 'market."Bars 2"'), ('"we""ird"', 'public."we""ird"'),
                      ("market.bars", "market.bars")]:
        s, _ = env.load_ok("--table", name, stdin=bars(5))
        check_equal(s["inserted"], 5, f"inserted into {name}")
        check_equal(env.count(sql), 5, f"rows in {sql}")
        s, _ = env.load_ok("--table", name, stdin=bars(5))
        check_equal(s["unchanged"], 5, f"reload of {name}")
    check_equal(env.psql("SELECT target FROM offpeak.loads ORDER BY id LIMIT 1"),
                'market."Bars 2"', "ledger target")
    for bad in ["x; DROP TABLE offpeak.loads", "a.b.c.d", ""]:
        code, _, err = env.load("--table", bad, stdin=bars(1))
        check_equal(code, 64, f"exit status for --table {bad!r}")
        check(err.startswith("offpeak-load: error: --table: "), f"message: {err}")
    check_equal(env.psql("SELECT to_regclass('offpeak.loads') IS NOT NULL"), "t", "no injection")


def case_table_name_too_long(env):
    """A --table name PostgreSQL would cut to 63 bytes is refused (64), not loaded into the
    table its first 63 bytes name; 63 bytes, in the schema or the table, are fine."""
    name = "t" * 63
    s, _ = env.load_ok("--table", f"{name}.{name}", stdin=bars(2))
    check_equal(s["inserted"], 2, "inserted with 63-byte names")
    for bad, part in [(name + "x", name + "x"), (f"{name}x.{name}", name + "x"),
                      (f'market."{"é" * 32}"', "é" * 32)]:
        code, _, err = env.load("--table", bad, stdin=bars(1))
        check_equal(code, 64, f"exit status for --table {bad!r} ({err})")
        check_equal(err, f'offpeak-load: error: --table: "{part}" is {len(part.encode())} bytes '
                    "long; PostgreSQL names have at most 63\nTry 'offpeak-load --help' for more "
                    "information.\n", "message")
    check_equal(env.psql(f"SELECT count(*) FROM pg_class WHERE relname LIKE '{name}%'"), "1",
                "only the table of 63-byte names")


def case_database_not_utf8(env):
    """A database in another encoding than UTF8 would refuse a record's character in the middle
    of the COPY (here one LATIN1 has no equivalent for): refused before loading, 78."""
    other = env.db + "_latin1"
    env.admin(f'DROP DATABASE IF EXISTS "{other}"')
    env.admin(f"CREATE DATABASE \"{other}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
              "TEMPLATE template0")
    try:
        code, _, err = env.load("--db", f"dbname={other}", "--reject-file", "r.ndjson", db=False,
                                stdin=line("r", "s", ["a"], {"city": "Zürich"}) +
                                line("r", "s", ["b"], {"city": "東京"}))
        check_equal(code, 78, f"exit status ({err})")
        check_equal(err, "offpeak-load: error: the database's encoding is LATIN1; offpeak-load "
                    "needs a UTF8 database; nothing loaded\n", "stderr")
    finally:
        env.admin(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')


def case_sigkill_midway(env):
    env.load_ok(stdin=bars(1000, price=1.0))
    before = env.table()
    # Several batches before the pause: the loader writes a batch once it has read the next
    # few.
    data = bars(160000, price=2.0)
    head, tail = data[:len(data) // 2], data[len(data) // 2:]
    process = env.start_writing(head)
    process.kill()
    process.wait()
    check_equal(process.returncode, -signal.SIGKILL, "killed")
    env.tuple_counters()  # waits for its backend to go
    check_equal(env.table(), before, "table unchanged after SIGKILL")
    check_equal(env.psql("SELECT count(*) FROM offpeak.loads"), "1", "no ledger row")
    s, _ = env.load_ok(stdin=head + tail)
    check_equal(counts_of(s), (160000, 159000, 1000, 0, 0, 0), "the rerun completes")
    check_equal(env.count(), 160000, "rows")


def case_first_load_into_empty_table(env):
    """Into an empty table the rows go without the primary key's index, which is built again
    before the load commits: it is there after a load, after a killed one, and a table that
    foreign keys refer to (which cannot be truncated) loads as it is."""
    primary_key = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = 'market.bars'::regclass AND contype = 'p'")
    env.load_ok("--table", "market.bars")  # creates the table
    expected = [["bars_pkey",
                 "PRIMARY KEY (region, source, key) INCLUDE (record_hash, fetched_at)"]]
    check_equal(env.rows(primary_key), expected, "the primary key as created")

    process = env.start_writing(bars(100000), "--table", "market.bars")
    process.kill()
    process.wait()
    env.tuple_counters("bars", "market")  # waits for its backend to go
    check_equal(env.rows(primary_key), expected, "the primary key after a killed first load")
    check_equal(env.count("market.bars"), 0, "rows after a killed first load")

    s, _ = env.load_ok("--table", "market.bars", stdin=bars(20000) + bars(10, start=5))
    check_equal(counts_of(s), (20010, 20000, 0, 0, 10, 0), "first load")
    check_equal(env.rows(primary_key), expected, "the primary key after the first load")
    check_equal(env.psql("SELECT indisvalid AND indisunique FROM pg_index "
                         "WHERE indexrelid = 'market.bars_pkey'::regclass"), "t",
                "the index is valid and unique")
    s, _ = env.load_ok("--table", "market.bars", stdin=bars(20000))
    check_equal(counts_of(s), (20000, 0, 0, 20000, 0, 0), "reload")

    env.psql("TRUNCATE market.bars; CREATE TABLE market.notes (region text, source text, "
             "key text, FOREIGN KEY (region, source, key) REFERENCES market.bars)")
    s, _ = env.load_ok("--table", "market.bars", stdin=bars(100))
    check_equal(counts_of(s), (100, 100, 0, 0, 0, 0), "first load of a referenced table")
    check_equal(env.rows(primary_key), expected, "its primary key")


def case_connection_lost_midway(env):
    data = bars(160000)
    process = env.start_writing(data[:len(data) // 2])
    env.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             f"WHERE application_name = 'offpeak-load' AND datname = '{env.db}'")
    try:
        process.stdin.write(data[len(data) // 2:].encode())
        process.stdin.close()
    except BrokenPipeError:
        pass
    err = process.stderr.read().decode()
    process.wait(timeout=TIMEOUT)
    check_equal(process.returncode, 75, f"exit status; stderr: {err}")
    check(err.startswith("offpeak-load: error: ") and err.endswith("; nothing loaded\n"),
          f"message: {err}")
    check_equal(env.count(), 0, "nothing loaded")


def case_concurrent_overlapping_loads(env):
    # Both start on a database without the schema: creating it races too.
    a = env.file("a.ndjson", bars(30000, start=0, price=1.0))
    b = env.file("b.ndjson", bars(30000, start=15000, price=1000000.0))
    results = {}

    def run(name, path):
        results[name] = env.load(path)

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, (code, _, err) in results.items():
        check_equal(code, 0, f"load {name} exit status; stderr: {err}")
    sa, sb = summary(results["a"][2]), summary(results["b"][2])
    check_equal(env.count(), 45000, "rows: the union of both inputs")
    check_equal(env.psql("SELECT count(DISTINCT (region, source, key)) FROM offpeak.records"),
                "45000", "no duplicates")
    first, second = (sa, sb) if sa["load"] < sb["load"] else (sb, sa)
    check_equal((first["inserted"], first["updated"]), (30000, 0), "the first load")
    check_equal((second["inserted"], second["updated"]), (15000, 15000), "the second load")
    winner = int(env.psql("SELECT count(*) FROM offpeak.records WHERE load_id = "
                          f"{second['load']}"))
    check_equal(winner, 30000, "the overlap holds the later load's records")


def case_database_down(env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = env.load("--db", f"postgresql://loader:Pa55word@127.0.0.1:{port}/x",
                              stdin=bars(1), db=False)
    check_equal(code, 75, "exit status when nothing listens")
    check_equal(out, "", "stdout")
    check(err.startswith("offpeak-load: error: cannot connect to PostgreSQL: connection to "
                         f'server at "127.0.0.1", port {port} failed: Connection refused'),
          f"message: {err}")
    check("Pa55word" not in err, "password in the message")


def case_database_refuses(env):
    code, _, err = env.load("--db", "dbname=no_such_database_here", stdin=bars(1), db=False)
    check_equal(code, 69, f"exit status for a missing database; stderr: {err}")
    check('failed: FATAL: database "no_such_database_here" does not exist' in err,
          f"message: {err}")
    # A wrong password where the server asks for one, a missing database where it trusts.
    code, _, err = env.load("--db", "dbname=no_such_database_here password=Pa55word",
                            stdin=bars(1), db=False)
    check_equal(code, 69, f"exit status for a wrong password; stderr: {err}")
    check("password authentication failed" in err or "does not exist" in err, f"message: {err}")
    check("Pa55word" not in err, "password in the message")
    code, _, err = env.load("--db", "postgresql://u:Pa55word@[::1", stdin=bars(1), db=False)
    check_equal(code, 78, "exit status for a bad URI")
    check(err.startswith("offpeak-load: error: --db: invalid connection string: "), err)
    check("Pa55word" not in err and "********" in err, f"password in the message: {err}")
    code, _, err = env.load("--db", "host=h password=Pa55word oops", stdin=bars(1), db=False)
    check_equal(code, 78, "exit status for a bad conninfo")
    check("Pa55word" not in err, f"password in the message: {err}")


def case_database_url(env):
    environ = dict(os.environ, DATABASE_URL=f"postgresql:///{env.db}")
    code, _, err = env.load(stdin=bars(3), db=False, env=environ)
    check_equal(code, 0, f"exit status with DATABASE_URL; {err}")
    check_equal(env.count(), 3, "loaded through DATABASE_URL")
    environ["DATABASE_URL"] = "postgresql:///no_such_database_here"
    code, _, err = env.load("--db", env.conninfo, stdin=bars(3), db=False, env=environ)
    check_equal(code, 0, f"--db wins over DATABASE_URL; {err}")


def case_usage_errors(env):
    code, _, err = env.load("--bogus", db=False)
    check_equal(code, 64, "unknown flag")
    code, _, err = env.load(os.path.join(env.work, "missing.ndjson"), db=False)
    check_equal(code, 64, "missing input file")
    check_equal(err.splitlines()[0], f"offpeak-load: error: cannot open {env.work}/missing.ndjson: "
                "No such file or directory", "message")
    code, out, _ = env.load("--help", db=False)
    check(code == 0 and "--reject-file FILE" in out and "DATABASE_URL" in out, "--help")


def case_scrape_pipe_load(env):
    """offpeak-scrape REGION | offpeak-load against the loopback test server: every record
    scraped is loaded once, and the same scrape loaded again writes nothing."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    server = subprocess.Popen([sys.executable, os.path.join(root, "tests", "http", "server.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        url = server.stdout.readline().decode().strip()
        check(url.startswith("http://"), "tests/http/server.py did not start")
        config = env.file("regions.toml", f"""
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]

[[regions.xnys.sources]]
name = "bars"
url = "{url}/polygon"
records = "/results"
key = ["T", "t"]
paginate = {{ type = "json_link", next = "/next_url" }}

[[regions.xnys.sources]]
name = "closes"
url = "{url}/csv"
format = "csv"
key = ["symbol", "date"]
""")
        scraper = os.path.join(os.path.dirname(env.loader), "offpeak-scrape")

        def pipeline():
            scrape = subprocess.Popen([scraper, "--config", config, "--at", "2026-03-07T12:00:00Z",
                                       "xnys"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            load = subprocess.run([env.loader, "--db", env.conninfo], stdin=scrape.stdout,
                                  capture_output=True, timeout=TIMEOUT)
            scrape.stdout.close()
            scrape_err = scrape.stderr.read().decode()
            scrape.wait(timeout=TIMEOUT)
            # Both ends must succeed, as `set -o pipefail` would demand.
            check_equal(scrape.returncode, 0, f"offpeak-scrape's exit ({scrape_err})")
            check_equal(load.returncode, 0, f"offpeak-load's exit ({load.stderr.decode()})")
            scraped = sum(int(m) for m in re.findall(r" records=(\d+) ", scrape_err))
            return scraped, summary(load.stderr.decode())

        scraped, first = pipeline()
        check(scraped > 2, f"the scrape printed {scraped} records")
        check_equal(counts_of(first), (scraped, scraped, 0, 0, 0, 0), "first pipeline run")
        check_equal(env.count(), scraped, "rows in offpeak.records")
        check_equal(env.rows("SELECT source, count(*) FROM offpeak.records GROUP BY 1 ORDER BY 1"),
                    [["bars", str(scraped - 2)], ["closes", "2"]], "rows per source")
        check_equal(env.psql("SELECT record->>'close' FROM offpeak.records WHERE source = "
                             "'closes' AND key = '[\"IBM\",\"2026-03-06\"]'"),
                    "229,00", "a CSV record's field")
        before = env.tuple_counters()
        again, second = pipeline()
        check_equal(again, scraped, "records of the second scrape")
        check_equal(counts_of(second), (scraped, 0, 0, scraped, 0, 0), "second pipeline run")
        check_equal(env.tuple_counters(), before, "n_tup_ins, n_tup_upd, n_tup_del after rerun")
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def stale_of(s):
    return s["stale"]


def case_newest_wins_over_a_backfill(env):
    night, month = "2026-11-28T01:00:00Z", "2026-10-15T01:00:00Z"
    first, _ = env.load_ok(env.file("night.ndjson", bars(20000, fetched_at=night)))
    check_equal(counts_of(first), (20000, 20000, 0, 0, 0, 0), "last night's load")
    table, counters = env.table(), env.tuple_counters()
    # Last month's data, other prices, loaded after: every line is stale and writes nothing.
    backfill = env.file("month.ndjson", bars(20000, price=7.0, fetched_at=month))
    s, _ = env.load_ok(backfill)
    check_equal((counts_of(s), stale_of(s)), ((20000, 0, 0, 0, 0, 0), 20000), "backfill")
    check_equal(env.table(), table, "last night's rows stay")
    check_equal(env.tuple_counters(), counters, "no tuple written by the backfill")
    check_equal(env.rows(f"SELECT stale, input_lines FROM offpeak.loads WHERE id = {s['load']}"),
                [["20000", "20000"]], "the ledger's stale count")
    d, _ = env.load_ok("--dry-run", backfill)
    check_equal(stale_of(d), 20000, "a dry run counts stale lines too")
    # A newer fetch of other prices replaces them; lines without fetched_at do as before.
    s, _ = env.load_ok(stdin=bars(100, price=9.0, fetched_at="2026-11-29T01:00:00Z"))
    check_equal((counts_of(s), stale_of(s)), ((100, 0, 100, 0, 0, 0), 0), "a newer fetch")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records WHERE fetched_at = "
                         "'2026-11-29T01:00:00Z'"), "100", "fetched_at stored with the row")
    untimed = bars(10, price=11.0).replace(', "fetched_at": "2026-01-03T00:00:00Z"', "")
    s, _ = env.load_ok(stdin=untimed)
    check_equal((counts_of(s), stale_of(s)), ((10, 0, 10, 0, 0, 0), 0), "lines without fetched_at")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records WHERE fetched_at IS NULL"), "10",
                "no fetched_at stored for them")


def case_stale_first_lines_settle_by_the_last(env):
    """Lines a day or more older than their swept rows are stale without the final UPDATE;
    a later line of such a key, newer or matching its row, still decides the key."""
    night, month = "2026-11-28T01:00:00Z", "2026-10-15T01:00:00Z"
    env.load_ok(env.file("night.ndjson", bars(20000, fetched_at=night)))
    counters = env.tuple_counters()
    key = lambda i: [f"S{i % 50:03d}", f"d{i // 50:05d}"]  # noqa: E731 (bars' keys)
    night_record = lambda i: {"t": f"d{i // 50:05d}", "o": 1.0 + i, "v": i * 10}  # noqa: E731
    text = (bars(20000, price=7.0, fetched_at=month) +  # stale, first in their batches
            # an hour older than its row, the same day: stale by the final UPDATE
            line("xnys", "bars", ["S999", "d99999"], {"v": 1}, fetched_at=month) +
            # in later batches: newer than the row, again older, and the row's own record
            line("xnys", "bars", key(0), {"v": "newer"}, fetched_at="2026-11-29T01:00:00Z") +
            line("xnys", "bars", key(1), {"v": "older"}, fetched_at="2026-10-16T01:00:00Z") +
            line("xnys", "bars", key(2), night_record(2), fetched_at=month) +
            line("xnys", "bars", key(3), {"v": "hour"}, fetched_at="2026-11-28T00:00:00Z"))
    s, _ = env.load_ok(env.file("mixed.ndjson", text))
    # 20005 lines: key 0 updated, key 2 unchanged, 4 later lines duplicates, S999 inserted
    check_equal((counts_of(s), stale_of(s)), ((20005, 1, 1, 1, 4, 0), 19998), "counts")
    check_equal(env.rows("SELECT key, record->>'v' FROM offpeak.records WHERE key IN "
                         f"('{minified(key(0))}', '{minified(key(1))}', '{minified(key(3))}', "
                         "'[\"S999\",\"d99999\"]') ORDER BY key"),
                [[minified(key(0)), "newer"], [minified(key(1)), "10"],
                 [minified(key(3)), "30"], ['["S999","d99999"]', "1"]],
                "key 0 replaced, S999 added; keys 1 and 3 kept their rows")
    after = env.tuple_counters()
    check_equal((int(after[0]) - int(counters[0]), int(after[1]) - int(counters[1])), (1, 1),
                "tuples written: S999's and key 0's only")


def case_stale_first_lines_looked_up(env):
    """The same as stale-first-lines-settle-by-the-last, for a pair looked up rather than
    swept (too few lines against its rows): the lookup tells a stale line, to the
    microsecond, and later lines still decide their keys."""
    night, month = "2026-11-28T01:00:00Z", "2026-10-15T01:00:00Z"
    env.load_ok(env.file("night.ndjson", bars(40000, fetched_at=night)))
    counters = env.tuple_counters()
    key = lambda i: [f"S{i % 50:03d}", f"d{i // 50:05d}"]  # noqa: E731 (bars' keys)
    night_record = lambda i: {"t": f"d{i // 50:05d}", "o": 1.0 + i, "v": i * 10}  # noqa: E731
    filler = "".join(line("xnys", "filler", [i], {"v": i}, fetched_at=night)
                     for i in range(17000))  # another pair: the lines below go in a later batch
    text = (bars(3000, price=7.0, fetched_at=month) + filler +
            line("xnys", "bars", key(0), {"v": "newer"}, fetched_at="2026-11-29T01:00:00Z") +
            line("xnys", "bars", key(1), {"v": "older"}, fetched_at="2026-10-16T01:00:00Z") +
            line("xnys", "bars", key(2), night_record(2), fetched_at=month) +
            line("xnys", "bars", key(3), {"v": "hour"}, fetched_at="2026-11-28T00:59:59.999999Z"))
    s, _ = env.load_ok(env.file("mixed.ndjson", text))
    check_equal((counts_of(s), stale_of(s)), ((20004, 17000, 1, 1, 4, 0), 2998), "counts")
    check_equal((s["pairs"][("xnys", "bars")]["stale"], s["pairs"][("xnys", "filler")]["inserted"]),
                (2998, 17000), "per pair")
    check_equal(env.rows("SELECT key, record->>'v' FROM offpeak.records WHERE key IN "
                         f"('{minified(key(0))}', '{minified(key(1))}', '{minified(key(3))}') "
                         "ORDER BY key"),
                [[minified(key(0)), "newer"], [minified(key(1)), "10"], [minified(key(3)), "30"]],
                "key 0 replaced; keys 1 and 3 kept their rows")
    after = env.tuple_counters()
    check_equal((int(after[0]) - int(counters[0]), int(after[1]) - int(counters[1])), (17000, 1),
                "tuples written: the filler's and key 0's only")


def case_newest_wins_within_the_input(env):
    env.load_ok(stdin=line("r", "s", [2], {"v": "A"}, fetched_at="2026-01-01T00:00:00Z") +
                line("r", "s", [3], {"v": "A"}, fetched_at="2026-01-10T00:00:00Z"))
    t = lambda day: f"2026-01-{day:02d}T00:00:00Z"  # noqa: E731
    # Within a batch, and across batches (20000 lines apart): the newest line wins.
    text = (line("r", "s", [1], {"v": "new9"}, fetched_at=t(9)) +
            line("r", "s", [1], {"v": "new5"}, fetched_at=t(5)) +
            line("r", "s", [2], {"v": "B9"}, fetched_at=t(9)) +
            line("r", "s", [3], {"v": "B5"}, fetched_at=t(5)) +
            bars(20000) +
            line("r", "s", [2], {"v": "C5"}, fetched_at=t(5)) +
            line("r", "s", [1], {"v": "new7"}, fetched_at=t(7)) +
            line("r", "s", [4], {"v": "late"}, fetched_at="2026-01-09T00:00:00+01:00") +
            line("r", "s", [4], {"v": "tie"}, fetched_at="2026-01-08T23:00:00Z") +
            line("r", "s", [5], {"v": "ms"}, fetched_at="2026-01-08T23:00:00.250Z") +
            line("r", "s", [5], {"v": "s"}, fetched_at="2026-01-08T23:00:00.0001Z"))
    s, _ = env.load_ok(stdin=text)
    check_equal((counts_of(s), stale_of(s)), ((20010, 20003, 1, 0, 5, 0), 1), "counts")
    check_equal(env.rows("SELECT key, record->>'v', fetched_at FROM offpeak.records "
                         "WHERE region = 'r' ORDER BY key"),
                [["[1]", "new9", "2026-01-09 00:00:00+00"], ["[2]", "B9", "2026-01-09 00:00:00+00"],
                 ["[3]", "A", "2026-01-10 00:00:00+00"], ["[4]", "tie", "2026-01-08 23:00:00+00"],
                 ["[5]", "ms", "2026-01-08 23:00:00.25+00"]],
                "the newest line of each key, to the microsecond; the later on a tie")


def case_bad_fetched_at_is_a_bad_line(env):
    text = (line("r", "s", [1], {}, fetched_at="2026-13-01T00:00:00Z") +
            line("r", "s", [2], {}, fetched_at=5) + line("r", "s", [3], {}, fetched_at=None))
    s, _ = env.load_ok("--reject-file", "bad.ndjson", stdin=text)
    check_equal((counts_of(s), stale_of(s)), ((3, 1, 0, 0, 0, 2), 0), "counts")
    with open(os.path.join(env.work, "bad.ndjson")) as f:
        reasons = [json.loads(l)["reason"] for l in f]
    check_equal(reasons, ['"fetched_at" is not an RFC 3339 time', '"fetched_at" is not a string'],
                "reasons")


def case_schema_v1_migrates(env):
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema-v1.sql")
    subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", env.db, "-f", fixture],
                   check=True, capture_output=True, timeout=TIMEOUT)
    before = env.table()
    lines = (line("xnys", "bars", ["AAPL", "2026-11-27"], {"c": "189.5", "t": 1764277200000},
                  fetched_at="2026-11-28T01:00:00Z") +
             line("xnys", "bars", ["MSFT", "2026-11-27"], {"c": "420.1", "t": 1764277200000},
                  fetched_at="2026-11-28T01:00:00Z"))
    s, _ = env.load_ok("--session", "2026-11-28", stdin=lines)
    check_equal(counts_of(s), (2, 0, 0, 2, 0, 0), "the release's rows are unchanged")
    check_equal(env.table(), before, "rows kept as they were")
    check_equal(env.rows("SELECT version FROM offpeak.schema_version ORDER BY 1"),
                [["1"], ["2"], ["3"]], "schema_version")
    check_equal(env.rows("SELECT id, input_lines, stale, session FROM offpeak.loads ORDER BY id"),
                [["1", "2", "0", ""], [str(s["load"]), "2", "0", "2026-11-28"]],
                "the old ledger row kept, the new one with stale and session")
    check_equal(env.rows("SELECT load_id, region, source, input_lines, unchanged "
                         "FROM offpeak.load_sources"),
                [[str(s["load"]), "xnys", "bars", "2", "2"]], "offpeak.load_sources")
    counters = env.tuple_counters()
    env.load_ok(stdin=lines)
    check_equal(env.tuple_counters(), counters, "a reload after the migration writes nothing")
    s, _ = env.load_ok(stdin=lines.replace("189.5", "190.0"))
    check_equal(counts_of(s), (2, 0, 1, 1, 0, 0), "a change after the migration")
    s, _ = env.load_ok(stdin=lines.replace("190.0", "1.0").replace("2026-11-28", "2026-11-20"))
    check_equal((counts_of(s), stale_of(s)), ((2, 0, 0, 1, 0, 0), 1), "older than the new row")


def case_ledger_per_source(env):
    text = (bars(30) + line("xlon", "fx", ["GBP"], {"r": 1}) + "not json\n" +
            line("xlon", "fx", ["GBP"], {"r": 2}))
    s, _ = env.load_ok("--session", "xnys 2026-11-27", "--reject-file", "bad.ndjson", stdin=text)
    rows = env.rows("SELECT region, source, input_lines, inserted, updated, unchanged, "
                    "duplicates, stale, rejected FROM offpeak.load_sources "
                    f"WHERE load_id = {s['load']} ORDER BY region, source")
    check_equal(rows, [["", "", "1", "0", "0", "0", "0", "0", "1"],
                       ["xlon", "fx", "2", "1", "0", "0", "1", "0", "0"],
                       ["xnys", "bars", "30", "30", "0", "0", "0", "0", "0"]],
                "a row per (region, source), as the summary's")
    for (region, source), c in s["pairs"].items():
        check_equal([r[2:] for r in rows if (r[0], r[1]) == (region, source)],
                    [[str(c[n]) for n in COUNTS]], f"ledger of {region}/{source}")
    env.load_ok("--session", "xnys 2026-11-28", stdin=bars(30, price=2.0))
    changed = env.rows("SELECT ls.updated FROM offpeak.loads l JOIN offpeak.load_sources ls "
                       "ON ls.load_id = l.id WHERE l.session = 'xnys 2026-11-28' "
                       "AND ls.region = 'xnys'")
    check_equal(changed, [["30"]], "what last night's xnys load changed, in one query")


# The versions of offpeak.records as docs/records.md's query gives them: every record as of a
# time (:at) or as of a load (:load), the current rows and the history's.
AS_OF = """
WITH versions AS (
  SELECT region, source, key, record, changed_at AS valid_from, NULL::timestamptz AS valid_to,
         load_id, NULL::bigint AS closed_by
  FROM offpeak.records WHERE deleted_at IS NULL
  UNION ALL
  SELECT region, source, key, record, valid_from, valid_to, load_id, closed_by
  FROM offpeak.records_history)
SELECT region, source, key, record FROM versions
WHERE {where}
ORDER BY region, source, key
"""
AS_OF_TIME = "valid_from <= {at} AND (valid_to IS NULL OR valid_to > {at})"
AS_OF_LOAD = "load_id <= {load} AND (closed_by IS NULL OR closed_by > {load})"


def as_of(env, time=None, load=None):
    """{key: record} as of a time (SQL expression) or a load id."""
    where = AS_OF_TIME.format(at=time) if time is not None else AS_OF_LOAD.format(load=load)
    return {r[2]: json.loads(r[3]) for r in env.rows(AS_OF.format(where=where))}


def history_counters(env):
    """n_tup_ins, n_tup_upd, n_tup_del of offpeak.records and of offpeak.records_history."""
    return env.tuple_counters() + env.tuple_counters("records_history")


def versions_of(env, lines):
    """{key: record} of bar lines as the loader stores them."""
    return {minified(o["key"]): o["record"] for o in map(json.loads, lines.splitlines())}


def case_history_versions_as_of(env):
    """--history on: three loads of changing data keep every previous version, and the
    documented query gives each version back as of any time or load. A changed line writes its
    row and one history row; unchanged and stale lines, and an identical reload, write nothing."""
    t = lambda day: f"2026-02-{day:02d}T00:00:00Z"  # noqa: E731
    one = bars(200, fetched_at=t(1))
    two = bars(20, price=2.0, fetched_at=t(2)) + bars(180, start=20, fetched_at=t(2))
    three = (bars(10, price=3.0, fetched_at=t(3)) + bars(10, start=10, price=2.0, fetched_at=t(3))
             + bars(10, start=20, price=3.0, fetched_at=t(3))
             + bars(170, start=30, fetched_at=t(3)))
    loads, counters = [], []
    for text, args, expected in ((one, ["--history", "on"], (200, 200, 0, 0, 0, 0)),
                                 (two, [], (200, 0, 20, 180, 0, 0)),
                                 (three, [], (200, 0, 20, 180, 0, 0))):
        s, _ = env.load_ok(*args, stdin=text)
        check_equal(counts_of(s), expected, f"counts of load {len(loads) + 1}")
        loads.append(s["load"])
        counters.append(history_counters(env))
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "40",
                "one history row per changed line")
    for i in (1, 2):
        ins, upd = (int(counters[i][n]) - int(counters[i - 1][n]) for n in (0, 1))
        hist = int(counters[i][3]) - int(counters[i - 1][3])
        check_equal((ins, upd, hist, counters[i][2], counters[i][4], counters[i][5]),
                    (0, 20, 20, "0", "0", "0"), f"tuples written by load {i + 1}")
    check_equal(env.rows("SELECT target, history, since_load FROM offpeak.history_tables"),
                [["offpeak.records", "offpeak.records_history", str(loads[0])]],
                "history remembered for the table")
    models = [versions_of(env, text) for text in (one, two, three)]
    started = env.rows("SELECT started FROM offpeak.loads ORDER BY id")
    for i, load in enumerate(loads):
        check_equal(as_of(env, load=load), models[i], f"as of load {load}")
        check_equal(as_of(env, time=f"'{started[i][0]}'::timestamptz + interval '1 ms'"), models[i],
                    f"as of the time of load {i + 1}")
    check_equal(as_of(env, time=f"'{started[0][0]}'::timestamptz - interval '1 ms'"), {},
                "before the first load")
    check_equal(env.rows("SELECT DISTINCT valid_to = (SELECT started FROM offpeak.loads WHERE "
                         "id = closed_by), valid_from = (SELECT started FROM offpeak.loads WHERE "
                         "id = h.load_id) FROM offpeak.records_history AS h"),
                [["t", "t"]], "valid_from and valid_to are the times of the loads")
    # An identical reload, a stale backfill and a dry run write nothing to either table.
    before, rows = history_counters(env), env.rows("SELECT xmin, ctid FROM offpeak.records")
    s, _ = env.load_ok(stdin=three)
    check_equal(counts_of(s), (200, 0, 0, 200, 0, 0), "identical reload")
    s, _ = env.load_ok(stdin=bars(200, price=9.0, fetched_at="2026-01-15T00:00:00Z"))
    check_equal((counts_of(s), stale_of(s)), ((200, 0, 0, 0, 0, 0), 200), "stale backfill")
    env.load_ok("--dry-run", stdin=bars(200, price=8.0, fetched_at=t(4)))
    check_equal(history_counters(env), before, "tuples written by reload, backfill, dry run")
    check_equal(env.rows("SELECT xmin, ctid FROM offpeak.records"), rows, "row versions")
    check_equal(as_of(env, load=loads[2] + 10), models[2], "as of the latest load")


def case_history_of_a_key_changed_within_the_load(env):
    """A key inserted and changed again by one load (lines more than a batch apart) gets no
    history row: nobody saw the version in between."""
    text = (line("r", "s", [1], {"v": "A"}) + bars(20000) + line("r", "s", [1], {"v": "B"}))
    s, _ = env.load_ok("--history", "on", stdin=text)
    check_equal(counts_of(s), (20002, 20001, 0, 0, 1, 0), "counts")
    check_equal(env.psql("SELECT record->>'v' FROM offpeak.records WHERE key = '[1]'"), "B", "row")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "0", "no history")
    s, _ = env.load_ok(stdin=line("r", "s", [1], {"v": "C"}))
    check_equal(env.rows("SELECT record->>'v', load_id, closed_by FROM offpeak.records_history"),
                [["B", str(s["load"] - 1), str(s["load"])]], "the next change keeps B")


def case_history_off_writes_no_history_table(env):
    env.load_ok(stdin=bars(50))
    s, _ = env.load_ok(stdin=bars(50, price=2.0))
    check_equal(counts_of(s), (50, 0, 50, 0, 0, 0), "changed")
    check_equal(env.psql("SELECT count(*) FROM pg_class WHERE relname LIKE '%history%' AND "
                         "relname <> 'history_tables' AND relkind = 'r'"), "0", "no history table")
    check_equal(env.psql("SELECT count(*) FROM offpeak.history_tables"), "0", "nothing remembered")
    check_equal(env.psql("SELECT max(version) FROM offpeak.schema_version"), "3", "schema version")
    env.load_ok("--history", "off", stdin=bars(50, price=3.0))
    check_equal(env.psql("SELECT to_regclass('offpeak.records_history') IS NULL"), "t",
                "--history off on a table without history creates nothing")


def case_history_turned_on_for_an_existing_table(env):
    """History starts with the load that turns it on, is remembered by later loads, and stops
    with --history off, which keeps the history table."""
    env.load_ok(stdin=bars(30))
    env.load_ok(stdin=bars(30, price=2.0))
    s, _ = env.load_ok("--history", "on", stdin=bars(30, price=2.0))
    check_equal(counts_of(s), (30, 0, 0, 30, 0, 0), "turned on with an identical reload")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "0",
                "no history from before")
    on = s["load"]
    s, _ = env.load_ok(stdin=bars(5, price=3.0) + bars(25, start=5, price=2.0))
    check_equal(counts_of(s), (30, 0, 5, 25, 0, 0), "a change, without --history")
    hist = env.rows("SELECT key, record::text, load_id, closed_by FROM offpeak.records_history")
    check_equal({r[0]: json.loads(r[1]) for r in hist}, versions_of(env, bars(5, price=2.0)),
                "the versions replaced")
    check_equal({(r[2], r[3]) for r in hist}, {(str(on - 1), str(s["load"]))},
                "written by the load before history was on, closed by this one")
    check_equal(as_of(env, load=on - 1), versions_of(env, bars(30, price=2.0)),
                "as of the load before history was on")
    s, _ = env.load_ok("--history", "off", stdin=bars(30, price=4.0))
    check_equal(counts_of(s), (30, 0, 30, 0, 0, 0), "changed with history off")
    env.load_ok(stdin=bars(30, price=5.0))
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "5",
                "history kept, and not written once off")
    check_equal(env.psql("SELECT count(*) FROM offpeak.history_tables"), "0", "off is remembered")
    env.load_ok("--history", "on", stdin=bars(30, price=6.0))
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "35",
                "on again: the same history table")


def case_history_dropped_by_hand_comes_back(env):
    env.load_ok("--history", "on", stdin=bars(10))
    env.psql("DROP TABLE offpeak.records_history")
    env.load_ok(stdin=bars(10, price=2.0))
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "10", "history rows")


def case_history_of_a_quoted_table(env):
    """A quoted, schema-qualified table keeps its history beside it; --dry-run's setting is
    rolled back with the rest."""
    table = '"My Schema"."Bars X"'
    env.load_ok("--table", table, "--history", "on", stdin=bars(5))
    env.load_ok("--table", table, "--dry-run", "--history", "off", stdin=bars(5, price=3.0))
    env.load_ok("--table", table, stdin=bars(5, price=2.0))
    check_equal(env.rows("SELECT target, history FROM offpeak.history_tables"),
                [[table, '"My Schema"."Bars X_history"']], "remembered by its quoted name")
    check_equal(env.psql('SELECT count(*) FROM "My Schema"."Bars X_history"'), "5", "history")


def case_history_table_name_too_long(env):
    name = "t" * 60
    code, _, err = env.load("--table", name, "--history", "on", stdin=bars(1))
    check_equal(code, 64, "exit code")
    check(f"--history: the history table of public.{name} would be named public.{name}_history, "
          "longer than PostgreSQL's 63 bytes" in err, err)
    check_equal(env.psql(f"SELECT count(*) FROM public.{name}"), "0", "nothing loaded")


# ----------------------------------------------------------------------------------------
# Vanished records


def end_line(region, source, records, scope_parts=0, scopes=None):
    """The end line offpeak-scrape writes after a complete run of a source."""
    end = {"offpeak": "end", "region": region, "source": source,
           "complete": "scope" if scope_parts else "source"}
    if scope_parts:
        end.update(scope_parts=scope_parts, scopes=scopes)
    end["records"] = records
    return json.dumps(end) + "\n"


def without(text, drop):
    """The lines of `text` but those numbered (from 0) in `drop`."""
    return "".join(l for i, l in enumerate(text.splitlines(True)) if i not in drop)


def deleted_keys(env, where="true"):
    return env.rows("SELECT source, key, length(record_hash) FROM offpeak.records WHERE "
                    f"deleted_at IS NOT NULL AND {where} ORDER BY 1, 2")


def case_vanished_rows_marked_and_come_back(env):
    """Rows a complete run left out get deleted_at, and only they are written; a reload of
    the same run writes nothing; records that come back are updated and lose deleted_at.
    "bars" is swept (many lines), "small" looked up."""
    big = bars(20000)
    small = "".join(line("xnys", "small", [f"K{i:03d}"], {"v": i}, fetched_at="2026-01-03T00:00:00Z")
                    for i in range(300))
    full = big + small + end_line("xnys", "bars", 20000) + end_line("xnys", "small", 300)
    first, _ = env.load_ok(env.file("full.ndjson", full))
    check_equal((counts_of(first), first["deleted"]), ((20300, 20300, 0, 0, 0, 0), 0),
                "the first load marks nothing")
    before = env.tuple_counters()
    gone = (without(big, {5, 777, 19999}) + without(small, {0, 150}) +
            end_line("xnys", "bars", 19997) + end_line("xnys", "small", 298))
    prom = os.path.join(env.work, "load.prom")
    s, out = env.load_ok("--json", "--metrics-file", prom, env.file("gone.ndjson", gone))
    check_equal((counts_of(s), s["deleted"]), ((20295, 0, 0, 20295, 0, 0), 5), "vanished")
    check_equal({k[1]: v for k, v in metrics_of(prom).items() if k[0] == "offpeak_load_deleted"},
                {(("region", "xnys"), ("source", "bars")): 3,
                 (("region", "xnys"), ("source", "small")): 2}, "offpeak_load_deleted")
    check_equal({p: c["deleted"] for p, c in s["pairs"].items()},
                {("xnys", "bars"): 3, ("xnys", "small"): 2}, "deleted per pair")
    check_equal(json.loads(out)["deleted"], 5, "deleted in --json")
    check_equal(deleted_keys(env),
                [["bars", '["S005","d00000"]', "33"], ["bars", '["S027","d00015"]', "33"],
                 ["bars", '["S049","d00399"]', "33"], ["small", '["K000"]', "33"],
                 ["small", '["K150"]', "33"]], "the rows marked")
    ins, upd, dele = (int(v) for v in before)
    check_equal(env.tuple_counters(), [str(ins), str(upd + 5), str(dele)],
                "only the vanished rows written")
    check_equal(env.rows(f"SELECT deleted FROM offpeak.loads WHERE id = {s['load']}"), [["5"]],
                "offpeak.loads.deleted")
    check_equal(env.rows("SELECT source, deleted FROM offpeak.load_sources WHERE "
                         f"load_id = {s['load']} ORDER BY 1"), [["bars", "3"], ["small", "2"]],
                "offpeak.load_sources.deleted")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records WHERE deleted_at IS NOT NULL AND "
                         f"load_id = {s['load']} AND deleted_at = (SELECT started FROM "
                         f"offpeak.loads WHERE id = {s['load']})"), "5",
                "deleted_at is the load's time, load_id the load")
    counters = env.tuple_counters()
    again, _ = env.load_ok(env.file("gone.ndjson", gone))
    check_equal((counts_of(again), again["deleted"]), ((20295, 0, 0, 20295, 0, 0), 0),
                "the same run again")
    check_equal(env.tuple_counters(), counters, "a reload of the same run writes nothing")
    # One more gone while three are marked already: the sweep's unmatched live row is found.
    more = (without(big, {5, 6, 777, 19999}) + without(small, {0, 150}) +
            end_line("xnys", "bars", 19996) + end_line("xnys", "small", 298))
    s, _ = env.load_ok(env.file("more.ndjson", more))
    check_equal((counts_of(s), s["deleted"]), ((20294, 0, 0, 20294, 0, 0), 1), "one more gone")
    back, _ = env.load_ok(env.file("full.ndjson", full))
    check_equal((counts_of(back), back["deleted"]), ((20300, 0, 6, 20294, 0, 0), 0),
                "records that come back are updated")
    check_equal(deleted_keys(env), [], "and lose deleted_at")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records WHERE length(record_hash) <> 32"),
                "0", "their hash restored")
    counters = env.tuple_counters()
    env.load_ok(env.file("full.ndjson", full))
    check_equal(env.tuple_counters(), counters, "then a reload writes nothing again")
    dry, _ = env.load_ok("--dry-run", env.file("gone.ndjson", gone))
    check_equal(dry["deleted"], 5, "a dry run counts what it would mark")
    check_equal(deleted_keys(env), [], "and marks nothing")


def day_symbol_lines(days, symbols, price=1):
    return "".join(line("xnys", "closes", [day, f"S{s}"], {"c": price + s},
                        fetched_at="2026-01-03T00:00:00Z") for day in days for s in symbols)


def case_scope_marks_only_present_scopes(env):
    """complete by scope: only rows whose leading key parts are a scope of the run can be
    marked; other days' rows, absent from the input, stay."""
    env.load_ok(stdin=day_symbol_lines(["d1", "d2", "d3"], range(10)))
    text = (day_symbol_lines(["d2"], range(8)) +
            end_line("xnys", "closes", 8, scope_parts=1, scopes=[["d2"]]))
    s, _ = env.load_ok(stdin=text)
    check_equal((counts_of(s), s["deleted"]), ((8, 0, 0, 8, 0, 0), 2), "counts")
    check_equal(deleted_keys(env), [["closes", '["d2","S8"]', "33"], ["closes", '["d2","S9"]', "33"]],
                "only d2's missing symbols marked")
    # Two scopes in one run, given as two key parts: d1/S* and d3/S* are other scopes.
    text = (line("xnys", "closes", ["d1", "S1"], {"c": 2}, fetched_at="2026-01-03T00:00:00Z") +
            end_line("xnys", "closes", 1, scope_parts=2, scopes=[["d1", "S1"], ["d3", "S4"]]))
    s, _ = env.load_ok(stdin=text)
    check_equal(s["deleted"], 1, "a scope of two parts")
    check_equal(deleted_keys(env, "key LIKE '[\"d3%'"), [["closes", '["d3","S4"]', "33"]],
                "d3/S4 only")


def case_identical_reload_of_complete_source_writes_nothing(env):
    """A complete source loaded again as it was writes no tuple: n_tup_upd and every row's
    xmin stay."""
    text = bars(5000) + end_line("xnys", "bars", 5000)
    env.load_ok(stdin=bars(5000) + line("xnys", "bars", ["GONE", "d0"], {}))
    s, _ = env.load_ok(stdin=text)
    check_equal(s["deleted"], 1, "the row missing from the run")
    xmins = env.rows("SELECT key, xmin FROM offpeak.records ORDER BY key")
    counters = env.tuple_counters()
    for _ in range(2):
        s, _ = env.load_ok(stdin=text)
        check_equal((counts_of(s), s["deleted"]), ((5000, 0, 0, 5000, 0, 0), 0), "reload")
    check_equal(env.tuple_counters(), counters, "n_tup_ins, n_tup_upd, n_tup_del")
    check_equal(env.rows("SELECT key, xmin FROM offpeak.records ORDER BY key"), xmins, "xmin")


def case_incomplete_input_marks_nothing(env):
    """Rows are marked only after an end line, only when the input has at least the lines it
    counts, and never when the input had bad lines (whose source cannot be told)."""
    env.load_ok(stdin=bars(30))
    part = bars(28)
    s, _ = env.load_ok(stdin=part)
    check_equal(s["deleted"], None, "no end line: no deleted count")
    code, _, err = env.load(stdin=part + end_line("xnys", "bars", 30))
    check_equal(code, 0, f"exit ({err})")
    check("offpeak-load: warning: xnys/bars: nothing marked deleted: its end line counts 30 "
          "records, the input has 28 lines of it" in err, f"warning in:\n{err}")
    check_equal(summary(err)["deleted"], 0, "fewer lines than the end line counts")
    code, _, err = env.load("--reject-file", "bad.ndjson",
                            stdin=part + "not json\n" + end_line("xnys", "bars", 28))
    check_equal(code, 0, f"exit ({err})")
    check("offpeak-load: warning: nothing marked deleted: 1 bad line may belong to a complete "
          "source" in err, f"warning in:\n{err}")
    code, _, err = env.load(stdin=end_line("xnys", "bars", 0))
    check_equal(code, 0, f"exit ({err})")
    check("its complete run had no records" in err, f"warning in:\n{err}")
    check_equal(summary(err)["pairs"][("xnys", "bars")]["deleted"], 0, "an empty run's pair")
    # More keys than the table of keys takes (made small here): whether a row's key was in
    # the input can no longer be told.
    memory = {**os.environ, "OFFPEAK_LOAD_KEY_MEMORY": "600000"}  # 49,152 keys
    code, _, err = env.load(stdin=bars(50000, start=30) + end_line("xnys", "bars", 50000),
                            env=memory)
    check_equal(code, 0, f"exit ({err})")
    check("offpeak-load: warning: nothing marked deleted: the input has more keys than the "
          "table of keys holds" in err, f"warning in:\n{err}")
    check_equal(deleted_keys(env), [], "nothing marked so far")
    s, _ = env.load_ok(stdin=part + end_line("xnys", "bars", 28))
    check_equal((s["deleted"], len(deleted_keys(env))), (50002, 50002),
                "then a complete run marks")
    code, _, err = env.load("--reject-file", "bad.ndjson",
                            stdin='{"offpeak":"end","region":"xnys"}\n')
    check_equal(code, 0, f"exit ({err})")
    with open(os.path.join(env.work, "bad.ndjson")) as f:
        check_equal([json.loads(l)["reason"] for l in f], ['end line: needs "region" and "source"'],
                    "a bad end line is a bad line")


def scrape_to_file(env, scraper, config, path):
    return subprocess.Popen([scraper, "--config", config, "--at", "2026-03-07T12:00:00Z", "xnys"],
                            stdout=open(path, "wb"), stderr=subprocess.DEVNULL)


def case_killed_scrape_marks_nothing(env):
    """A scrape killed after its first page, while the server stalls the second, leaves no
    end line: its output loaded marks nothing. The same source scraped whole does."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    server = subprocess.Popen([sys.executable, os.path.join(root, "tests", "http", "server.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        url = server.stdout.readline().decode().strip()
        check(url.startswith("http://"), "tests/http/server.py did not start")
        # /session answers one record whose "date" is what it was asked for: here "/stall",
        # which the json_link paging follows to the page that never ends.
        source = f"""
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]

[[regions.xnys.sources]]
name = "days"
url = "{url}/session?date=/stall"
records = "/results"
key = ["date", "n"]
complete = "source"
"""
        paged = env.file("paged.toml", source + 'paginate = { type = "json_link", next = "/results/0/date" }\n')
        whole = env.file("whole.toml", source)
        env.load_ok(stdin=line("xnys", "days", ["/stall", 1], {"date": "/stall", "n": 1}) +
                    line("xnys", "days", ["gone", 1], {"date": "gone", "n": 1}))
        scraper = os.path.join(os.path.dirname(env.loader), "offpeak-scrape")
        out = os.path.join(env.work, "killed.ndjson")
        scrape = scrape_to_file(env, scraper, paged, out)
        deadline = time.monotonic() + 60
        while os.path.getsize(out) == 0 or not open(out, "rb").read().endswith(b"\n"):
            check(time.monotonic() < deadline and scrape.poll() is None,
                  "the scrape never wrote its first page")
            time.sleep(0.02)
        scrape.send_signal(signal.SIGKILL)
        scrape.wait(timeout=TIMEOUT)
        with open(out) as f:
            written = f.read()
        check_equal([json.loads(l)["key"] for l in written.splitlines()], [["/stall", 1]],
                    "the killed scrape's output: its first page, no end line")
        s, _ = env.load_ok(out)
        check_equal((counts_of(s), s["deleted"]), ((1, 0, 0, 1, 0, 0), None), "killed scrape")
        check_equal(deleted_keys(env), [], "nothing marked")
        done = os.path.join(env.work, "whole.ndjson")
        scrape = scrape_to_file(env, scraper, whole, done)
        check_equal(scrape.wait(timeout=TIMEOUT), 0, "the whole scrape's exit")
        s, _ = env.load_ok(done)
        check_equal(s["deleted"], 1, "a whole scrape marks")
        check_equal(deleted_keys(env), [["days", '["gone",1]', "33"]], "the row it left out")
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def case_schema_v2_migrates(env):
    """A database as the version 2 release left it migrates to 3 in place: the ledger gains
    deleted, the table deleted_at; rows and old ledger rows stay, a reload writes nothing."""
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema-v2.sql")
    subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", env.db, "-f", fixture],
                   check=True, capture_output=True, timeout=TIMEOUT)
    before = env.table()
    keys = [["AAPL", "2026-11-27"], ["MSFT", "2026-11-27"]]
    lines = "".join(line("xnys", "bars", k, {"c": c, "t": 1764277200000},
                         fetched_at="2026-11-28T01:00:00Z") for k, c in zip(keys, ["189.5", "420.1"]))
    s, _ = env.load_ok(stdin=lines + end_line("xnys", "bars", 2))
    check_equal((counts_of(s), s["deleted"]), ((2, 0, 0, 2, 0, 0), 1), "IBM left out")
    check_equal([r for r in env.table() if "IBM" not in r[2]],
                [r for r in before if "IBM" not in r[2]], "the other rows kept as they were")
    check_equal(env.rows("SELECT version FROM offpeak.schema_version ORDER BY 1"),
                [["1"], ["2"], ["3"]], "schema_version")
    check_equal(env.rows("SELECT id, deleted, session FROM offpeak.loads ORDER BY id"),
                [["1", "0", "xnys 2026-11-27"], [str(s["load"]), "1", ""]], "offpeak.loads")
    check_equal(env.rows("SELECT load_id, deleted FROM offpeak.load_sources ORDER BY 1"),
                [["1", "0"], [str(s["load"]), "1"]], "offpeak.load_sources")
    check_equal(deleted_keys(env), [["bars", '["IBM","2026-11-27"]', "33"]], "deleted_at")
    counters = env.tuple_counters()
    env.load_ok(stdin=lines + end_line("xnys", "bars", 2))
    check_equal(env.tuple_counters(), counters, "a reload after the migration writes nothing")

def case_history_of_vanished_records(env):
    """With history on, a row a complete run leaves out closes its version when it is marked
    deleted, the as-of query leaves it out from then on, and when it comes back a new version
    starts at that load: the marked version is not closed a second time."""
    t = lambda day: f"2026-03-{day:02d}T00:00:00Z"  # noqa: E731
    one = bars(100, fetched_at=t(1))
    first, _ = env.load_ok("--history", "on", stdin=one + end_line("xnys", "bars", 100))
    gone = without(bars(100, fetched_at=t(2)), {7, 42})
    second, _ = env.load_ok(stdin=gone + end_line("xnys", "bars", 98))
    check_equal(second["deleted"], 2, "two rows marked deleted")
    check_equal(env.rows("SELECT key, load_id, closed_by FROM offpeak.records_history ORDER BY 1"),
                [[minified(json.loads(l)["key"]), str(first["load"]), str(second["load"])]
                 for i, l in enumerate(one.splitlines()) if i in (7, 42)],
                "the marked rows' versions closed by the marking load")
    model = versions_of(env, one)
    check_equal(as_of(env, load=first["load"]), model, "as of the first load: every record")
    vanished = {k: v for k, v in model.items() if k not in
                {minified(json.loads(l)["key"]) for i, l in enumerate(one.splitlines())
                 if i in (7, 42)}}
    check_equal(as_of(env, load=second["load"]), vanished, "as of the marking load: without them")
    third, _ = env.load_ok(stdin=bars(100, fetched_at=t(3)) + end_line("xnys", "bars", 100))
    check_equal((third["updated"], third["deleted"]), (2, 0), "the two come back as updates")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records_history"), "2",
                "coming back closes no second version")
    check_equal(as_of(env, load=third["load"]), model, "as of the load they came back in")
    check_equal(as_of(env, load=second["load"]), vanished, "the gap stays in the history")


from typed_cases import *  # noqa: E402,F401,F403  (case_typed_*, case_key_spacing)

CASES = cases_of(globals())

if __name__ == "__main__":
    sys.exit(run_cases(CASES, Env))
