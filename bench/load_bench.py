#!/usr/bin/env python3
"""Times offpeak-load against its baselines on one PostgreSQL server, side by side.

    load_bench.py OFFPEAK_LOAD NDJSON_FILE COPY_FILE LINES [BACKFILL_FILE CHANGED_FILE
                  [VANISHED_FILE]]

Run under pg_virtualenv (bench/load does): libpq's PG* variables name the server. Every step
loads into a fresh table of offpeak-load's own shape, after a CHECKPOINT:

  copy           psql \\copy of the rows already extracted (key, hash, payload): the baseline
  first load     offpeak-load into an empty table
  reload         offpeak-load of the same input again: must write no tuple
  reload (pipe)  the same again through a pipe, as `offpeak-scrape | offpeak-load` runs,
                 where the loader cannot tell the input's size from the start
  backfill       every key again, other records fetched a month earlier: all stale, no
                 tuple written (with BACKFILL_FILE, see load_data.py)
  changed 1%     every key again fetched a day later, one in a hundred changed: only those
                 rows written (with CHANGED_FILE)
  vanished 1%    a complete run of the source after that: one key in a hundred gone (marked
                 deleted), one record in a hundred changed: only those rows written (with
                 VANISHED_FILE)
  naive first    psql: \\copy the NDJSON into a jsonb staging table, then
                 INSERT ... SELECT ... ON CONFLICT DO UPDATE (skipping unchanged records)
  naive reload   the same again
  typed          the complete run again with --config, 6 typed fields checked on each line;
                 then reading the source's typed view (sums of its 6 columns) beside the
                 same casts written by hand over the table

With a loader that has --history, history is on for offpeak.records throughout (turned on
before the first load), and the history rows each step writes are counted: none but the 1%
changed load's. Every input but the backfill is a complete run (it ends with an end line), so
deletion marking is on too: fetched_at ordering, deletion and history all at once. With OFFPEAK_LOAD_BEFORE=PATH in the environment, another build of the loader
(one that knows the same schema) also times the identical reload, right after this one's, on
the same table: before and after figures from the same run.
"""

import os
import subprocess
import sys
import time

TABLE_OF = {"copy": "bench.copy_target", "load": "offpeak.records", "naive": "bench.naive"}
HISTORY = "offpeak.records_history"


# The bars' fields, typed, for the typed step: the view reads each through its guard.
TYPED_CONFIG = """
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]

[[regions.xnys.sources]]
name = "bars"
url = "https://e.example/bars"
key = ["/symbol", "/date"]
key_names = ["symbol", "date"]
fields = { t = "date", o = "numeric", h = "double precision", l = "numeric", c = "numeric", v = "bigint" }
"""
VIEW_READ = ('SELECT count(*), sum(o), sum(h), sum(l), sum(c), max(t), sum(v) '
             'FROM offpeak_views."xnys.bars"')
HAND_READ = ("SELECT count(*), sum((record->>'o')::numeric), sum((record->>'h')::float8), "
             "sum((record->>'l')::numeric), sum((record->>'c')::numeric), "
             "max((record->>'t')::date), sum((record->>'v')::bigint) FROM offpeak.records "
             "WHERE region = 'xnys' AND source = 'bars'")


def psql(sql, *extra):
    result = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", *extra, "-c", sql],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"psql failed: {sql}\n{result.stderr}")
    return result.stdout.strip()


def timed(command, stdin=None):
    """Wall seconds, client CPU seconds and peak RSS (MB) of one command."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    err = process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, err


def counters(table, *more):
    schema, name = table.split(".")
    # The loader's backends report their counters as they exit.
    deadline = time.monotonic() + 30
    while psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'offpeak-load'") != "0":
        if time.monotonic() > deadline:
            sys.exit("offpeak-load's backends did not exit")
        time.sleep(0.05)
    row = psql("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
               f"WHERE schemaname = '{schema}' AND relname = '{name}'")
    return int(row or 0) + sum(counters(t) for t in more)


def main():
    loader, ndjson, copy_file, lines = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    later = sys.argv[5:8] if len(sys.argv) >= 7 else None
    millions = lines / 1e6
    # Each table is created by offpeak-load itself (from empty input), so all have its shape.
    psql("CREATE SCHEMA bench")
    for table in TABLE_OF.values():
        subprocess.run([loader, "--table", table], stdin=subprocess.DEVNULL, check=True,
                       capture_output=True)
    help_text = subprocess.run([loader, "--help"], capture_output=True, text=True).stdout
    history = "--history" in help_text
    if history:
        subprocess.run([loader, "--history", "on"], stdin=subprocess.DEVNULL, check=True,
                       capture_output=True)
    before_loader = os.environ.get("OFFPEAK_LOAD_BEFORE")
    results = {}

    psql("CHECKPOINT")
    results["copy"] = timed(["psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-c",
                             f"\\copy {TABLE_OF['copy']} (region, source, key, record, "
                             f"record_hash, fetched_at, first_seen, changed_at, load_id) FROM '{copy_file}'"])

    psql("CHECKPOINT")
    with open(ndjson, "rb") as f:
        results["first"] = timed([loader], stdin=f)
    history_tables = (HISTORY,) if history else ()
    written_before = counters(TABLE_OF["load"], *history_tables)
    psql("CHECKPOINT")
    with open(ndjson, "rb") as f:
        results["reload"] = timed([loader], stdin=f)
    if before_loader:
        psql("CHECKPOINT")
        with open(ndjson, "rb") as f:
            results["reload_before"] = timed([before_loader], stdin=f)
    psql("CHECKPOINT")
    with open(ndjson, "rb") as f:
        cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        results["reload_pipe"] = timed([loader], stdin=cat.stdout)
        cat.stdout.close()
        cat.wait()
    reload_written = counters(TABLE_OF["load"], *history_tables) - written_before
    later_written = {}
    for step, path in zip(("backfill", "changed", "vanished"), later or []):
        before = counters(TABLE_OF["load"]), counters(*history_tables) if history else 0
        psql("CHECKPOINT")
        with open(path, "rb") as f:
            results[step] = timed([loader], stdin=f)
        later_written[step] = (counters(TABLE_OF["load"]) - before[0],
                               counters(*history_tables) - before[1] if history else 0)

    # Typed fields checked on every line: the same complete run again, with --config.
    typed = "--config" in help_text and "vanished" in results
    if typed:
        config = os.path.join(os.path.dirname(os.path.abspath(ndjson)), "typed-regions.toml")
        with open(config, "w") as f:
            f.write(TYPED_CONFIG)
        psql("CHECKPOINT")
        with open(later[2], "rb") as f:
            results["typed"] = timed([loader, "--config", config], stdin=f)
        psql("CHECKPOINT")
        psql("SELECT count(*) FROM offpeak.records")  # the same pages in memory for both reads
        results["view"] = timed(["psql", "-XAtq", "-c", VIEW_READ])
        results["by_hand"] = timed(["psql", "-XAtq", "-c", HAND_READ])

    naive = (
        "BEGIN;\n"
        "CREATE TEMP TABLE staging (doc jsonb) ON COMMIT DROP;\n"
        # CSV with quote and delimiter bytes that never occur: each line is one jsonb value.
        f"\\copy staging FROM '{ndjson}' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')\n"
        f"INSERT INTO {TABLE_OF['naive']} AS t "
        "(region, source, key, record, record_hash, first_seen, changed_at, load_id) "
        "SELECT doc->>'region', doc->>'source', (doc->'key')::text, doc->'record', "
        "sha256(convert_to((doc->'record')::text, 'UTF8')), now(), now(), 0 FROM staging "
        "WHERE doc ? 'record' "  # not the end line
        "ON CONFLICT (region, source, key) DO UPDATE SET record = EXCLUDED.record, "
        "record_hash = EXCLUDED.record_hash, changed_at = now() "
        "WHERE t.record IS DISTINCT FROM EXCLUDED.record;\n"
        "COMMIT;\n")
    script = os.path.join(os.path.dirname(os.path.abspath(ndjson)), "naive.sql")
    with open(script, "w") as f:
        f.write(naive)
    for step in ("naive_first", "naive_reload"):
        psql("CHECKPOINT")
        results[step] = timed(["psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-f", script])

    copy = results["copy"][0]
    size = os.path.getsize(ndjson) / 1e6
    with open(ndjson, "rb") as f:
        f.seek(max(0, os.path.getsize(ndjson) - 4096))
        complete = f.read().splitlines()[-1].startswith(b'{"offpeak":"end"')
    print(f"{lines} bar records, {size:.0f} MB of NDJSON; PostgreSQL "
          f"{psql('SHOW server_version')}, shared_buffers {psql('SHOW shared_buffers')}; "
          f"history {'on' if history else 'off (the loader has no --history)'}; "
          f"deletion marking {'on (complete runs)' if complete else 'off'}")
    print(f"{'step':<38} {'wall':>8} {'x copy':>7} {'target':>8}  {'client CPU/M':>12} "
          f"{'peak RSS':>9}  verdict")

    def row(label, key, target=None, client=False):
        wall, cpu, rss, _ = results[key]
        ratio = wall / copy
        verdict = ""
        if target is not None:
            verdict = "within target" if ratio <= target else "OVER TARGET"
        cpu_text = f"{cpu / millions:.2f} s" if client else ""
        rss_text = f"{rss:.0f} MB" if client else ""
        target_text = f"<= {target:.2f}" if target is not None else ""
        print(f"{label:<38} {wall:>6.2f} s {ratio:>7.2f} {target_text:>8}  {cpu_text:>12} "
              f"{rss_text:>9}  {verdict}")

    row("psql \\copy of extracted rows", "copy")
    row("offpeak-load, first load", "first", 0.8, client=True)
    row("offpeak-load, identical reload", "reload", 0.3, client=True)
    if before_loader:
        row("OFFPEAK_LOAD_BEFORE, identical reload", "reload_before", 0.3, client=True)
    row("offpeak-load, the same through a pipe", "reload_pipe", 0.3, client=True)
    if later:
        row("offpeak-load, backfill: all stale", "backfill", client=True)
        row("offpeak-load, 1% changed", "changed", 0.4, client=True)
    if "vanished" in results:
        row("offpeak-load, complete: 1% gone, 1% changed", "vanished", 0.4, client=True)
    if "typed" in results:
        row("offpeak-load --config: 6 typed fields", "typed", client=True)
        view, by_hand = results["view"][0], results["by_hand"][0]
        print(f"{'typed view read: sums of 6 columns':<38} {view:>6.2f} s   "
              f"{view / by_hand:.2f}x the same casts by hand ({by_hand:.2f} s)")
    row("naive: \\copy to jsonb + upsert, first", "naive_first")
    row("naive: \\copy to jsonb + upsert, reload", "naive_reload")
    first_gain = results["naive_first"][0] / results["first"][0]
    reload_gain = results["naive_reload"][0] / results["reload"][0]
    pipe_gain = results["naive_reload"][0] / results["reload_pipe"][0]
    print(f"offpeak-load vs naive: first load {first_gain:.1f}x faster (target >= 2), "
          f"reload {reload_gain:.1f}x faster, through a pipe {pipe_gain:.1f}x (target >= 4)")
    loads = ("first", "reload", "reload_pipe") + (("backfill", "changed") if later else ())
    loads += ("vanished",) if "vanished" in results else ()
    loads += ("typed",) if "typed" in results else ()
    worst_cpu = max(results[k][1] for k in loads) / millions
    worst_rss = max(results[k][2] for k in loads)
    print(f"tuples written by the reloads: {reload_written} (target 0); client CPU at most "
          f"{worst_cpu:.2f} s per million records (target <= 1.5); peak RSS {worst_rss:.0f} MB "
          "(target < 100)")
    if later:
        print(f"tuples written by the backfill: {later_written['backfill'][0]} (target 0); by the "
              f"1% changed load: {later_written['changed'][0]} (target {lines // 100})")
    if later and history:
        print(f"history rows written by the backfill: {later_written['backfill'][1]} (target 0); "
              f"by the 1% changed load: {later_written['changed'][1]} (target {lines // 100})")
    if "vanished" in results:
        print(f"tuples written by the complete run with 1% gone and 1% changed: "
              f"{later_written['vanished'][0]} (target {2 * (lines // 100)})")
    print("summaries:", " | ".join(results[k][3].strip() for k in loads))


if __name__ == "__main__":
    main()
