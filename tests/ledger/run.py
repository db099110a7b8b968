#!/usr/bin/env python3
"""Tests offpeak-ledger against a real PostgreSQL server.

    run.py --bin-dir DIR CASE...    run the named cases, each in its own database
    run.py --list                   print the case names

Time in these tests is the database's: windows are placed relative to the server's now(),
and time "passes" by moving a row's lease or retry time into the past, as the clock would.
Concurrency is real: contenders are separate offpeak-ledger processes, released together.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pgenv import TIMEOUT, Database, Failure, cases_of, check, check_equal, run_cases  # noqa: E402


class Env(Database):
    def __init__(self, bin_dir, name):
        super().__init__(name, "offpeak-ledger-test.")
        self.tool = os.path.join(bin_dir, "offpeak-ledger")

    def run(self, *args, stdin="", expect=None):
        result = subprocess.run([self.tool, "--db", self.conninfo, *args], input=stdin,
                                capture_output=True, text=True, timeout=TIMEOUT)
        if expect is not None and result.returncode != expect:
            raise Failure(f"offpeak-ledger {' '.join(args)}: exit {result.returncode}, "
                          f"expected {expect}\nstdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def window(self, region, start_offset="-1 hour", end_offset="1 hour", budget=600):
        """A window as offpeak-plan --json prints it, placed around the database's now()."""
        start, end = self.rows(
            f"SELECT to_char((now() + interval '{start_offset}') AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            f"to_char((now() + interval '{end_offset}') AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0]
        return {"region": region, "offpeak": True, "window_start": start, "window_end": end,
                "window_id": f"{region}@{start}", "budget_seconds": budget}

    def claim(self, windows, *args, expect=None):
        """The claims won, as (region, window_id, source, attempt, token) tuples."""
        stdin = "".join(json.dumps(w) + "\n" for w in windows)
        result = self.run("claim", *args, stdin=stdin, expect=expect)
        check(result.returncode in (0, 1), f"claim failed: {result.stderr}")
        return [tuple(line.split(" ")[:5]) for line in result.stdout.splitlines()]

    def expire(self, where="true"):
        """Time passes beyond the leases of the rows `where` selects."""
        self.psql(f"UPDATE offpeak.runs SET lease_until = now() - interval '1 second' "
                  f"WHERE lease_until IS NOT NULL AND {where}")
        self.psql(f"UPDATE offpeak.run_sources SET lease_until = now() - interval '1 second' "
                  f"WHERE lease_until IS NOT NULL AND {where}")


def claim_together(env, n, windows, *args):
    """n offpeak-ledger processes claiming `windows` at once: started first, then all given
    their input together, so their statements meet at the server."""
    stdin = "".join(json.dumps(w) + "\n" for w in windows)
    procs = [subprocess.Popen([env.tool, "--db", env.conninfo, "claim", "--host", f"host{i}",
                               *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        outs = list(pool.map(lambda p: p.communicate(stdin, timeout=TIMEOUT), procs))
    claims = []
    for proc, (out, err) in zip(procs, outs):
        check(proc.returncode in (0, 1), f"claim exited {proc.returncode}: {err}")
        claims += [tuple(line.split(" ")[:5]) for line in out.splitlines()]
    return claims


def case_concurrent_claims_win_once(env):
    windows = [env.window(f"r{i:03d}") for i in range(60)]
    for round_number in (1, 2, 3):
        claims = claim_together(env, 12, windows)
        keys = [(c[0], c[1]) for c in claims]
        check_equal(len(keys), len(set(keys)), f"round {round_number}: double claims")
        check_equal(sorted(keys), sorted((w["region"], w["window_id"]) for w in windows),
                    f"round {round_number}: windows claimed")
        check(all(c[3] == str(round_number) for c in claims), f"attempts of round {round_number}")
        env.expire()  # every lease runs out: the next round takes every window over
    check_equal(env.psql("SELECT count(*) FROM offpeak.run_attempts"), "180", "attempts recorded")
    check_equal(env.psql("SELECT count(*) FROM offpeak.run_attempts WHERE state = 'failed' "
                         "AND error LIKE 'lease expired; taken over by host%'"), "120",
                "attempts taken over")


def case_budget_by_database_time(env):
    # 30 minutes left in each window, by the server's clock.
    fits = env.window("fits", end_offset="30 minutes", budget=20 * 60)
    short = env.window("short", end_offset="30 minutes", budget=40 * 60)
    closed = env.window("closed", start_offset="-2 hours", end_offset="-1 hour", budget=0)
    claims = env.claim([fits, short, closed], "--host", "a")
    check_equal([c[0] for c in claims], ["fits"], "the windows claimed")
    check_equal(env.psql("SELECT string_agg(region, ',') FROM offpeak.runs"), "fits",
                "rows of the windows refused")
    # A retry is held to the budget too: once failed, with the budget gone, never again.
    env.run("finish", "--token", claims[0][4], "--state", "failed", "--scrape-exit", "75",
            expect=0)
    env.psql("UPDATE offpeak.runs SET retry_at = now() - interval '1 second'")
    later = dict(fits, window_end=env.window("fits", end_offset="19 minutes")["window_end"])
    check_equal(env.claim([later], "--host", "b"), [], "a retry with less than its budget left")
    check_equal(env.claim([fits], "--host", "b")[0][3], "2", "a retry with its budget left")


def case_lease_takeover_and_heartbeat_fence(env):
    w = env.window("xnys")
    (a,) = env.claim([w], "--host", "a", "--lease", "5m")
    check_equal(env.claim([w], "--host", "b"), [], "a second claim while the lease runs")
    before = env.psql("SELECT lease_until FROM offpeak.runs")
    env.run("heartbeat", "--token", a[4], "--lease", "10m", expect=0)
    check(env.psql(f"SELECT lease_until > '{before}' FROM offpeak.runs") == "t",
          "the heartbeat moved the lease")
    env.expire()
    # Expired but not yet taken over: the fence already holds.
    result = env.run("heartbeat", "--token", a[4], expect=1)
    check("status=lease_lost" in result.stderr, f"heartbeat's message: {result.stderr}")
    (b,) = env.claim([w], "--host", "b")
    check_equal(b[3], "2", "the attempt of the takeover")
    env.run("heartbeat", "--token", b[4], expect=0)
    # The old owner finishes into nothing; the new one's finish counts.
    result = env.run("finish", "--token", a[4], "--state", "done", expect=1)
    check("status=claim_lost" in result.stderr, f"finish's message: {result.stderr}")
    check_equal(env.rows("SELECT state, host FROM offpeak.runs"), [["running", "b"]],
                "the window after the old owner's finish")
    env.run("finish", "--token", b[4], "--state", "done", "--load-id", "7",
            "--sources-json", '{"bars":{"status":"ok","records":15}}', expect=0)
    check_equal(env.rows("SELECT state, host, load_id, sources->'bars'->>'records' "
                         "FROM offpeak.runs"), [["done", "b", "7", "15"]], "the window done")
    check_equal(env.rows("SELECT attempt, host, state FROM offpeak.run_attempts ORDER BY 1"),
                [["1", "a", "failed"], ["2", "b", "done"]], "the attempts")
    check_equal(env.claim([w], "--host", "c"), [], "a claim of a window done")


def case_retryable_failure_backs_off(env):
    w = env.window("xlon")
    (a,) = env.claim([w], "--host", "a")
    env.run("finish", "--token", a[4], "--state", "failed", "--scrape-exit", "65",
            "--error", "too_few_records", "--retry-base", "10m", expect=0)
    check_equal(env.rows("SELECT state, permanent, retry_at - finished FROM offpeak.runs"),
                [["failed", "f", "00:10:00"]], "the first backoff")
    check_equal(env.claim([w], "--host", "b"), [], "a claim before the retry is due")
    env.psql("UPDATE offpeak.runs SET retry_at = now() - interval '1 second'")
    (b,) = env.claim([w], "--host", "b")
    env.run("finish", "--token", b[4], "--state", "failed", "--load-exit", "75",
            "--retry-base", "10m", expect=0)
    check_equal(env.psql("SELECT retry_at - finished FROM offpeak.runs"), "00:20:00",
                "the second backoff, doubled")
    env.psql("UPDATE offpeak.runs SET attempt = 9")
    env.psql("UPDATE offpeak.runs SET retry_at = now() - interval '1 second'")
    (c,) = env.claim([w], "--host", "c")
    env.run("finish", "--token", c[4], "--state", "failed", "--scrape-exit", "75",
            "--retry-base", "10m", "--retry-max", "2h", expect=0)
    check_equal(env.psql("SELECT retry_at - finished FROM offpeak.runs"), "02:00:00",
                "the backoff at its cap")


def case_permanent_failure_until_config_or_reset(env):
    config = env.file("regions.toml", "[regions.xnys]\n")
    w = env.window("xnys")
    (a,) = env.claim([w], "--host", "a", "--config", config)
    env.run("finish", "--token", a[4], "--state", "failed", "--scrape-exit", "69",
            "--error", "401 from https://bob:hunter2@api.example/v1?token=abc&x=1", expect=0)
    check_equal(env.rows("SELECT state, permanent, retry_at IS NULL, error FROM offpeak.runs"),
                [["failed", "t", "t",
                  "401 from https://bob:********@api.example/v1?token=********&x=1"]],
                "a permanent failure, its secrets masked")
    env.psql("UPDATE offpeak.runs SET finished = now() - interval '3 hours'")
    check_equal(env.claim([w], "--host", "b", "--config", config), [],
                "a permanent failure with the same config")
    # The operator says so.
    env.run("reset", "--region", "xnys", expect=0)
    (b,) = env.claim([w], "--host", "b", "--config", config)
    env.run("finish", "--token", b[4], "--state", "failed", "--load-exit", "78", expect=0)
    check_equal(env.claim([w], "--host", "c", "--config", config), [],
                "a permanent failure again")
    env.run("reset", "--region", "other", expect=1)
    # The config changes.
    with open(config, "a") as f:
        f.write("budget = \"30m\"\n")
    (c,) = env.claim([w], "--host", "c", "--config", config)
    check_equal(c[3], "3", "the attempt after the config changed")


def case_sweep_marks_missed(env):
    windows = [env.window(r) for r in ("failed", "expired", "live", "done", "open")]
    claims = {c[0]: c for c in env.claim(windows, "--host", "a")}
    env.run("finish", "--token", claims["failed"][4], "--state", "failed", "--scrape-exit", "75",
            "--error", "503 Service Unavailable", expect=0)
    env.run("finish", "--token", claims["done"][4], "--state", "done", expect=0)
    env.expire("region = 'expired'")
    # The windows close, but "open"'s.
    env.psql("UPDATE offpeak.runs SET window_end = now() - interval '1 second' "
             "WHERE region <> 'open'")
    env.expire("region = 'open'")
    result = env.run("sweep", "--json", expect=0)
    missed = {m["region"]: m["reason"] for m in map(json.loads, result.stdout.splitlines())}
    check_equal(sorted(missed), ["expired", "failed"], "the windows missed")
    check_equal(missed["failed"], "503 Service Unavailable", "the reason of the failed one")
    check(missed["expired"].startswith("attempt 1 on a did not finish: its lease ran out at "),
          f"the reason of the expired one: {missed['expired']}")
    check_equal(env.rows("SELECT region, state FROM offpeak.runs ORDER BY 1"),
                [["done", "done"], ["expired", "missed"], ["failed", "missed"],
                 ["live", "running"], ["open", "running"]], "the states after the sweep")
    check_equal(env.run("sweep", expect=0).stdout, "", "a second sweep")


def case_sources_spread_with_skip_locked(env):
    w = env.window("xtks")
    sources = [f"s{i:02d}" for i in range(30)]
    args = [a for s in sources for a in ("--source", s)] + ["--limit", "4"]
    claims = claim_together(env, 6, [w], *args)
    names = [c[2] for c in claims]
    check_equal(len(names), len(set(names)), "sources claimed twice")
    check_equal(len(names), 24, "sources claimed by six hosts taking four each")
    hosts = env.rows("SELECT host, count(*) FROM offpeak.run_sources WHERE state = 'running' "
                     "GROUP BY host")
    check(len(hosts) == 6 and all(n == "4" for _, n in hosts), f"spread over hosts: {hosts}")
    claims += claim_together(env, 3, [w], *args)
    check_equal(sorted(c[2] for c in claims), sources, "every source claimed once")
    check_equal(env.claim([w], "--host", "late", *args), [], "a claim with none left")
    check_equal(env.claim([w], "--host", "late"), [], "a whole-window claim of a spread window")

    def finish(claim):
        return env.run("finish", "--token", claim[4], "--state", "done", "--records", "5",
                       "--status", "ok").returncode

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(finish, claims[:-1]))
    check_equal(codes, [0] * 29, "the finishes")
    check_equal(env.psql("SELECT state FROM offpeak.runs"), "running", "with one source left")
    check_equal(finish(claims[-1]), 0, "the last finish")
    check_equal(env.rows("SELECT state, attempt, (SELECT sum((value->>'records')::int) "
                         "FROM jsonb_each(sources)) FROM offpeak.runs"),
                [["done", "30", "150"]], "the window once every source is done")


def case_claim_sources_from_plan_lines(env):
    """A plan line with "claim":"sources" (a region with claim = "sources") is claimed source
    by source, at most --limit in all, beside windows claimed whole; a line whose sources are
    not names is refused (65)."""
    spread = dict(env.window("wide"), claim="sources", sources=["s1", "s2", "s3"])
    whole = env.window("east")
    claims = env.claim([spread, whole], "--host", "a", "--limit", "2")
    check_equal(sorted(c[:4] for c in claims),
                [("east", whole["window_id"], "-", "1"), ("wide", spread["window_id"], "s1", "1"),
                 ("wide", spread["window_id"], "s2", "1")], "the claims of host a")
    claims = env.claim([spread, whole], "--host", "b", "--limit", "2")
    check_equal([c[:3] for c in claims], [("wide", spread["window_id"], "s3")], "host b's claims")
    bad = dict(spread, sources=["s1", 2])
    result = env.run("claim", "--host", "c", stdin=json.dumps(bad) + "\n", expect=65)
    check("\"sources\" holds something else than names" in result.stderr, result.stderr)


def case_dry_run_says_why_not(env):
    """claim --dry-run: per window (or source) whether a claim would win it now and why not,
    as lines and as JSON; exit 1 when nothing is claimable; nothing written."""
    spread = dict(env.window("wide"), claim="sources", sources=["s1", "s2"])
    held, retry, done = env.window("held"), env.window("retry"), env.window("done")
    late = env.window("late", end_offset="5 minutes", budget=600)
    env.claim([spread], "--host", "a", "--limit", "1")  # s1
    env.claim([held], "--host", "a")
    token = env.claim([retry], "--host", "a")[0][4]
    env.run("finish", "--token", token, "--state", "failed", "--scrape-exit", "75", expect=0)
    token = env.claim([done], "--host", "a")[0][4]
    env.run("finish", "--token", token, "--state", "done", expect=0)
    snapshot = ("SELECT (SELECT json_agg(r ORDER BY region) FROM offpeak.runs r)::text || "
                "(SELECT json_agg(s ORDER BY source) FROM offpeak.run_sources s)::text || "
                "(SELECT count(*) FROM offpeak.run_attempts)")
    before = env.psql(snapshot)
    windows = [spread, held, retry, done, late, env.window("new")]
    stdin = "".join(json.dumps(w) + "\n" for w in windows)
    lines = env.run("claim", "--dry-run", "--host", "b", stdin=stdin, expect=0).stdout.splitlines()
    verdicts = {(l.split()[0], l.split()[2]): " ".join(l.split()[3:]) for l in lines}
    rfc = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    source_lease = env.psql(f"SELECT {rfc.format('lease_until')} FROM offpeak.run_sources "
                            "WHERE source = 's1'")
    lease = env.psql(f"SELECT {rfc.format('lease_until')} FROM offpeak.runs WHERE region = 'held'")
    retry_at = env.psql(f"SELECT {rfc.format('retry_at')} FROM offpeak.runs WHERE region = 'retry'")
    check_equal(verdicts, {("wide", "s1"): f"held by a until {source_lease}",
                           ("wide", "s2"): "claimable",
                           ("held", "-"): f"held by a until {lease}",
                           ("retry", "-"): f"backoff until {retry_at}",
                           ("done", "-"): "done",
                           ("late", "-"): "no_budget: now + budget is not before the window's end",
                           ("new", "-"): "claimable"}, "the verdicts")
    objects = [json.loads(l) for l in env.run("claim", "--dry-run", "--json", "--host", "b",
                                               stdin=json.dumps(held) + "\n", expect=1).stdout.splitlines()]
    check_equal(objects, [{"region": "held", "window_id": held["window_id"], "source": None,
                           "verdict": "held", "host": "a", "until": lease, "error": None}],
                "a held window as JSON, and exit 1: nothing claimable")
    check_equal(env.psql(snapshot), before, "the ledger after the dry runs")


def case_status_table_and_json(env):
    a, b = env.window("xnys"), env.window("xlon")
    claims = {c[0]: c for c in env.claim([a, b], "--host", "h1")}
    env.run("finish", "--token", claims["xnys"][4], "--state", "done", "--load-id", "3",
            "--sources-json", '{"bars":{"status":"ok","records":12},'
            '"quotes":{"status":"too_few_records","records":0}}', expect=0)
    env.run("finish", "--token", claims["xlon"][4], "--state", "failed", "--scrape-exit", "69",
            "--error", "401 Unauthorized", expect=0)
    rows = [json.loads(line) for line in env.run("status", "--json", expect=0).stdout.splitlines()]
    by_region = {r["region"]: r for r in rows}
    check_equal(sorted(by_region), ["xlon", "xnys"], "the windows shown")
    x = by_region["xnys"]
    check_equal((x["state"], x["attempts"], x["hosts"], x["load_id"], x["permanent"]),
                ("done", 1, ["h1"], 3, False), "xnys's fields")
    check_equal(x["sources"]["bars"]["records"], 12, "xnys's bars")
    check_equal((by_region["xlon"]["state"], by_region["xlon"]["permanent"],
                 by_region["xlon"]["error"]), ("failed", True, "401 Unauthorized"), "xlon's")
    table = env.run("status", "--region", "xnys", expect=0).stdout.splitlines()
    check_equal(table[0].split(), ["REGION", "WINDOW", "STATE", "ATTEMPTS", "HOSTS", "SOURCES",
                                   "DURATION", "ERROR"], "the table's header")
    check_equal(len(table), 2, "rows for --region xnys")
    check_equal(table[1].split()[0:5], ["xnys", a["window_start"], "done", "1", "h1"],
                "xnys's row")
    check("bars=12 quotes=0(too_few_records)" in table[1], f"the sources cell: {table[1]}")


def case_bad_input_and_arguments(env):
    result = env.run("claim", stdin='{"region":"x"\n', expect=65)
    check("<stdin>:1: not a JSON object" in result.stderr, result.stderr)
    result = env.run("claim", stdin='{"region":"x","window_start":"2026-01-01T00:00:00Z"}\n',
                     expect=65)
    check('<stdin>:1: "window_id" missing' in result.stderr, result.stderr)
    result = env.run("heartbeat", "--token", "nope", expect=64)
    check('--token: "nope" is not a token' in result.stderr, result.stderr)
    result = env.run("claim", "--lease", "5", stdin="", expect=64)
    check('--lease: "5" is not a duration' in result.stderr, result.stderr)
    env.run("finish", "--token", "00000000-0000-0000-0000-000000000000", "--state", "maybe",
            expect=64)
    # A window not off-peak (as offpeak-plan --json prints it) is no claim and no error.
    check_equal(env.claim([{"region": "x", "offpeak": False, "window_start": None}]), [],
                "a region not off-peak")


def case_clock_set_by_offpeak_now(env):
    """Every statement's time is offpeak.ledger_now(): the server's now(), or offpeak.now
    when the session sets it (PGOPTIONS, as offpeak-cron --at does): claims, the budget rule,
    leases and the sweep then follow the simulated time."""
    window = {"region": "sim", "offpeak": True, "window_start": "2030-01-01T17:00:00Z",
              "window_end": "2030-01-02T09:00:00Z", "window_id": "sim@2030-01-01T17:00:00Z",
              "budget_seconds": 3600}

    def run_at(at, *args, stdin=""):
        return subprocess.run([env.tool, "--db", env.conninfo, *args], input=stdin,
                              capture_output=True, text=True, timeout=TIMEOUT,
                              env=dict(os.environ, PGOPTIONS=f"-c offpeak.now={at}"))

    stdin = json.dumps(window) + "\n"
    # Too late by the simulated clock (08:30 + 1h budget > 09:00): no claim.
    check_equal(run_at("2030-01-02T08:30:00Z", "claim", "--host", "a", stdin=stdin).returncode, 1,
                "a claim with too little budget left at the simulated time")
    won = run_at("2030-01-01T20:00:00Z", "claim", "--host", "a", stdin=stdin)
    check_equal(won.returncode, 0, f"the claim at 20:00 ({won.stderr})")
    check_equal(won.stdout.split()[5], "2030-01-01T20:05:00Z", "the lease, from the simulated now")
    check_equal(env.rows("SELECT to_char(started AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                         "FROM offpeak.runs"), [["2030-01-01 20:00"]], "the start recorded")
    # Four minutes on, the lease holds; ten minutes on, another host takes it over.
    check_equal(run_at("2030-01-01T20:04:00Z", "claim", "--host", "b", stdin=stdin).returncode, 1,
                "a claim while the lease holds")
    check_equal(run_at("2030-01-01T20:10:00Z", "claim", "--host", "b", stdin=stdin).returncode, 0,
                "a takeover after the lease")
    # The window closes: the sweep marks it missed, by the simulated clock only.
    check_equal(env.run("sweep", expect=0).stdout, "", "a sweep at the server's real time")
    swept = run_at("2030-01-02T09:10:00Z", "sweep")
    check("sim@2030-01-01T17:00:00Z" in swept.stdout, f"the sweep after the window: {swept.stdout}")


def case_backfill_claims(env):
    """claim --backfill takes a past session's window whatever time is left, again once it
    has finished, but not while it runs; the sweep leaves it alone, and a tick's claim of
    the same id takes nothing."""
    past = env.window("bf", start_offset="-3 days", end_offset="-2 days", budget=3600)
    past["window_id"] = "bf@session:2026-11-27"
    check_equal(env.claim([past], "--host", "a"), [], "a tick's claim of a past window")
    first = env.claim([past], "--host", "a", "--backfill")
    check_equal([c[3] for c in first], ["1"], "the backfill's claim")
    check_equal(env.claim([past], "--host", "b", "--backfill"), [], "a claim while it runs")
    env.expire()
    env.run("sweep", expect=0)
    check_equal(env.psql("SELECT state FROM offpeak.runs"), "running", "a backfill after a sweep")
    env.run("finish", "--token", first[0][4], "--state", "done", expect=0)
    again = env.claim([past], "--host", "b", "--backfill")
    check_equal([c[3] for c in again], ["2"], "a backfill of a session done")
    check_equal(env.claim([past], "--host", "c"), [], "a tick's claim of the backfill's row")
    env.run("claim", "--backfill", "--source", "bars", stdin="", expect=64)


def case_schema_version_1_is_migrated(env):
    """A ledger of version 1 (no offpeak.ledger_now(), no backfill column) is brought to
    version 2 by the first tool that connects, and works."""
    env.run("status", expect=0)
    env.psql("DROP FUNCTION offpeak.ledger_now(); ALTER TABLE offpeak.runs DROP COLUMN backfill; "
             "UPDATE offpeak.ledger_version SET version = 1")
    claims = env.claim([env.window("m")], "--host", "a")
    check_equal([c[0] for c in claims], ["m"], "a claim after the migration")
    check_equal(env.psql("SELECT version FROM offpeak.ledger_version WHERE component = 'ledger'"),
                "2", "the version")
    env.psql("UPDATE offpeak.ledger_version SET version = 3")
    result = env.run("status", expect=78)
    check("newer than this offpeak-ledger's 2" in result.stderr, result.stderr)


def case_status_metrics_file(env):
    """status --metrics-file writes the ledger's states per region for alerts: missed and
    permanent failures since the last done window, windows by state, the last done."""
    path = os.path.join(env.work, "ledger.prom")
    old = env.window("x", start_offset="-30 hours", end_offset="-20 hours")
    done = env.window("x", start_offset="-10 hours", end_offset="-9 hours")
    now = env.window("x")
    bad = env.window("y")
    env.run("status", expect=0)  # the schema
    env.psql("INSERT INTO offpeak.runs (region, window_id, window_start, window_end, attempt, host, "
             "started, finished, state) VALUES "
             f"('x', '{old['window_id']}', '{old['window_start']}', '{old['window_end']}', 1, 'a', "
             f"now() - interval '29 hours', now() - interval '28 hours', 'missed'), "
             f"('x', '{done['window_id']}', '{done['window_start']}', '{done['window_end']}', 1, 'a', "
             f"now() - interval '10 hours', '2026-01-01T00:00:00Z', 'done')")
    claims = {c[0]: c[4] for c in env.claim([now, bad], "--host", "a")}
    env.run("finish", "--token", claims["y"], "--state", "failed", "--scrape-exit", "69", expect=0)
    env.run("status", "--metrics-file", path, expect=0)
    with open(path) as f:
        text = f.read()
    for sample in ('offpeak_ledger_missed_windows{region="x"} 0',
                   'offpeak_ledger_windows{region="x",state="missed"} 1',
                   'offpeak_ledger_windows{region="x",state="running"} 1',
                   'offpeak_ledger_last_done_timestamp_seconds{region="x"} 1767225600',
                   'offpeak_ledger_permanent_failures{region="y"} 1',
                   'offpeak_ledger_missed_windows{region="y"} 0',
                   'offpeak_ledger_last_done_timestamp_seconds{region="y"} 0'):
        check(sample + "\n" in text, f"no {sample!r} in:\n{text}")


def case_load_marks_done_only_after_a_good_scrape(env):
    """offpeak-load --ledger-token TOKEN --scrape-status FILE: no FILE (the scrape died) fails
    the load with 75 and commits nothing; a FILE of a failed scrape commits the records and
    leaves the window running (offpeak-cron records the failure); a FILE of exit 0 commits the
    records and the window done in one transaction, with the load's id and the sources; a
    token that no longer owns the claim fails the load with 75."""
    load = os.path.join(os.path.dirname(env.tool), "offpeak-load")
    status = os.path.join(env.work, "scrape.json")
    lines = "".join(json.dumps({"region": "x", "source": "bars", "key": [i],
                                "fetched_at": "2026-12-01T20:00:00Z", "record": {"v": i}}) + "\n"
                    for i in range(3))
    token = env.claim([env.window("x")], "--host", "a")[0][4]

    def run_load(*args):
        return subprocess.run([load, "--db", env.conninfo, "--ledger-token", token, *args],
                              input=lines, capture_output=True, text=True, timeout=TIMEOUT)

    def state():
        return env.psql("SELECT state FROM offpeak.runs")

    result = run_load("--scrape-status", status)
    check_equal(result.returncode, 75, f"a load without the scrape's status ({result.stderr})")
    check("the scrape did not finish" in result.stderr, result.stderr)
    check_equal((env.psql("SELECT count(*) FROM offpeak.records"), state()), ("0", "running"),
                "records and window after a scrape that died")
    with open(status, "w") as f:
        f.write('{"exit":65,"sources":{"bars":{"status":"too_few_records","records":3}}}\n')
    check_equal(run_load("--scrape-status", status).returncode, 0, "a load after a failed scrape")
    check_equal((env.psql("SELECT count(*) FROM offpeak.records"), state()), ("3", "running"),
                "records and window after a failed scrape")
    with open(status, "w") as f:
        f.write('{"exit":0,"sources":{"bars":{"status":"ok","records":3}}}\n')
    result = run_load("--scrape-status", status, "--session", "x@w")
    check_equal(result.returncode, 0, f"a load after a good scrape ({result.stderr})")
    check_equal(env.rows("SELECT r.state, r.load_id = l.id, r.sources->'bars'->>'records', "
                         "r.scrape_exit, r.load_exit, l.session "
                         "FROM offpeak.runs r JOIN offpeak.loads l ON l.id = r.load_id"),
                [["done", "t", "3", "0", "0", "x@w"]], "the window done with its load")
    result = run_load("--scrape-status", status)
    check_equal(result.returncode, 75, f"a load whose claim is done ({result.stderr})")
    check("is no longer this run's" in result.stderr, result.stderr)
    check_equal(env.psql("SELECT count(*) FROM offpeak.loads WHERE status = 'loaded'"), "2",
                "committed loads")


CASES = cases_of(globals())

if __name__ == "__main__":
    sys.exit(run_cases(CASES, Env))
