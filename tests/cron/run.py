#!/usr/bin/env python3
"""Tests cron/offpeak-cron end to end: real PostgreSQL, the loopback test server, real locks.

    run.py --bin-dir DIR CASE...    run the named cases (see CASES), each in its own database
    run.py --list                   print the case names

Each tick runs the script as cron would, with OFFPEAK_BIN_DIR pointing at the build, a
config written for the case, and --at fixing the time the tick plans for. The server and
the database are as tests/pgenv.py says.
"""

import fcntl
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "cron", "offpeak-cron")

sys.path.insert(0, os.path.join(ROOT, "tests"))
from pgenv import TIMEOUT, Database, Failure, cases_of, check, check_equal, run_cases  # noqa: E402

# Regions on UTC with the day's session 09:00-17:00: off-peak from 17:00 to 09:00 the next
# trading day. 2026-12-01 is a Tuesday.
EVENING = "2026-12-01T20:00:00Z"
WINDOW = "2026-12-01T17:00:00Z"


def region(name, url, budget="30m", timezone="UTC", sessions='["09:00-17:00"]', **source):
    source = {"name": "bars", "url": url, "records": "/results", "key": '["T", "t"]', **source}
    fields = "".join(f"{k} = {v}\n" if k in ("key", "paginate") else f'{k} = "{v}"\n'
                     for k, v in source.items() if v is not None)
    return (f'[regions.{name}]\ntimezone = "{timezone}"\nsessions = {sessions}\n'
            f'budget = "{budget}"\n\n[[regions.{name}.sources]]\n{fields}\n')


class Env(Database):
    """A database, the loopback test server, a state folder and a config for the ticks."""

    def __init__(self, bin_dir, name):
        super().__init__(name, "offpeak-cron-test-")
        self.bin_dir = os.path.abspath(bin_dir)
        self.state = os.path.join(self.work, "state")
        self.server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "http", "server.py")],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.url = self.server.stdout.readline().decode().strip()
        check(self.url.startswith("http://"), "tests/http/server.py did not start")

    def close(self):
        self.server.stdin.close()
        self.server.wait(timeout=10)
        super().close()

    def config(self, *regions, retries=5):
        self.config_path = self.file("regions.toml", f"[defaults]\nretries = {retries}\n\n" + "".join(regions))

    def tick(self, at, *args, timeout=TIMEOUT, **settings):
        """One run of offpeak-cron --at AT; returns (exit status, stderr, seconds)."""
        env = dict(os.environ, OFFPEAK_BIN_DIR=self.bin_dir, OFFPEAK_STATE_DIR=self.state,
                   OFFPEAK_CONFIG=self.config_path, PGDATABASE=self.db, OFFPEAK_RETRY_BASE_MS="0")
        env.update(settings)
        started = time.monotonic()
        result = subprocess.run([SCRIPT, "--at", at, *args], capture_output=True, text=True,
                                timeout=timeout, env=env, cwd=self.work)
        return result.returncode, result.stderr, time.monotonic() - started

    def tick_ok(self, at, *args, **settings):
        code, err, _ = self.tick(at, *args, **settings)
        check(code == 0, f"offpeak-cron --at {at} exited {code}:\n{err}")
        return err

    def done(self, name):
        path = os.path.join(self.state, f"{name}.done")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.readline().strip()

    def loads(self):
        return int(self.psql("SELECT count(*) FROM offpeak.loads"))

    def rows_of(self, name):
        return int(self.psql(f"SELECT count(*) FROM offpeak.records WHERE region = '{name}'"))


def cron_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("offpeak-cron: ")]


def check_metrics(path):
    """The file is Prometheus text format: promtool says so when it is installed."""
    check(os.path.exists(path), f"no metrics file {path}")
    promtool = shutil.which("promtool")
    with open(path) as f:
        text = f.read()
    if promtool:
        result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                                text=True, timeout=TIMEOUT)
        check(result.returncode == 0, f"promtool check metrics {path}: {result.stdout}{result.stderr}")
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+$')
    for line in text.splitlines():
        check(line.startswith("# ") or sample.match(line), f"{path}: not a sample: {line!r}")
    return text


# ----------------------------------------------------------------------------------------
# Cases


def case_two_ticks_in_one_window_load_once(env):
    """The first tick in a window runs the pipeline and marks the window done; the second
    does nothing; the next window runs again, and its load changes no row."""
    env.config(region("east", f"{env.url}/polygon", paginate='{ type = "json_link", next = "/next_url" }'))
    metrics = os.path.join(env.work, "metrics")
    err = env.tick_ok(EVENING, OFFPEAK_METRICS_DIR=metrics)
    check(any("region=east status=ok" in l for l in cron_lines(err)), f"no ok line in:\n{err}")
    check_equal(env.done("east"), f"east@{WINDOW}", "east.done after the first tick")
    rows = env.rows_of("east")
    check(rows > 2, f"{rows} rows loaded")
    check_equal(env.loads(), 1, "loads after the first tick")

    err = env.tick_ok("2026-12-01T20:10:00Z", OFFPEAK_METRICS_DIR=metrics)
    check_equal(env.loads(), 1, "loads after a second tick in the same window")
    check(any("status=idle" in l for l in cron_lines(err)), f"the second tick did something:\n{err}")

    for name in ("offpeak-scrape-east.prom", "offpeak-load-east.prom"):
        check_metrics(os.path.join(metrics, name))

    before = env.tuple_counters()
    env.tick_ok("2026-12-02T20:00:00Z")
    check_equal(env.done("east"), "east@2026-12-02T17:00:00Z", "east.done in the next window")
    check_equal(env.loads(), 2, "loads after the next window's tick")
    check_equal(env.rows("SELECT inserted, updated FROM offpeak.loads ORDER BY id DESC LIMIT 1"),
                [["0", "0"]], "the next window's load")
    check_equal(env.tuple_counters(), before, "n_tup_ins, n_tup_upd, n_tup_del")


def case_failed_scrape_is_retried_next_tick(env):
    """A scrape that fails (503 after its one retry) leaves the window open, although the load
    of its empty output succeeded: pipefail. The next tick runs it again and marks it done."""
    env.config(region("flaky", f"{env.url}/503-twice?case=cron"), retries=1)
    code, err, _ = env.tick(EVENING)
    check_equal(code, 75, f"the failed tick's exit ({err})")
    check(any("region=flaky status=failed exit=75 scrape_exit=75 load_exit=0" in l
              for l in cron_lines(err)), f"no failure line in:\n{err}")
    check_equal(env.done("flaky"), None, "flaky.done after the failure")
    check_equal(env.rows_of("flaky"), 0, "rows after the failure")

    env.tick_ok("2026-12-01T20:10:00Z")
    check_equal(env.done("flaky"), f"flaky@{WINDOW}", "flaky.done after the retry")
    check(env.rows_of("flaky") > 0, "no rows after the retry")


def case_tick_exits_with_the_worst_region(env):
    """The tick's exit status is the worst of its regions', ranked as lib/common/error.h ranks
    them: 78 (a source's ${VAR} unset) over 69 (401) over 65 (invalid JSON) over 75 (500)."""
    failing = [region("denied", f"{env.url}/401"),
               region("garbled", f"{env.url}/invalid-json"),
               region("flaky", f"{env.url}/500-forever")]
    unset = region("unset", "${OFFPEAK_TEST_NEVER_SET}/ndjson", format="ndjson", key='["id"]',
                   records=None)
    for regions, worst in ((failing + [unset], 78), (failing, 69), (failing[1:], 65),
                           (failing[2:], 75)):
        env.config(*regions, retries=0)
        code, err, _ = env.tick(EVENING)
        check_equal(code, worst, f"the exit of a tick of {len(regions)} failing regions ({err})")


def case_held_lock_skips_the_region(env):
    """A region whose lock an earlier run holds is skipped (75) and left for the next tick;
    the other regions of the tick run."""
    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None),
               region("north", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    os.makedirs(env.state)
    with open(os.path.join(env.state, "east.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        code, err, _ = env.tick(EVENING)
    check_equal(code, 75, f"exit with a held lock ({err})")
    check(any("region=east status=skipped reason=locked" in l for l in cron_lines(err)),
          f"no skipped line in:\n{err}")
    check_equal((env.rows_of("east"), env.done("east")), (0, None), "east while locked")
    check_equal((env.rows_of("north"), env.done("north")), (3, f"north@{WINDOW}"), "north")
    env.tick_ok("2026-12-01T20:10:00Z")
    check_equal((env.rows_of("east"), env.done("east")), (3, f"east@{WINDOW}"), "east once free")


def case_region_outside_its_window_is_not_touched(env):
    """Regions trading at the tick, or off-peak with less than their budget left, are not
    run: their sources answer 401, which would fail the tick if they were fetched."""
    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None),
               region("west", f"{env.url}/401", timezone="America/Los_Angeles",
                      sessions='["09:30-16:00"]'),
               region("short", f"{env.url}/401", budget="13h30m"))
    err = env.tick_ok(EVENING)
    check_equal([re.sub(r" seconds=\d+", "", l) for l in cron_lines(err)],
                ["offpeak-cron: region=east status=ok"], "offpeak-cron's lines")
    check_equal(env.rows("SELECT DISTINCT region FROM offpeak.records"), [["east"]], "regions loaded")
    check_equal((env.done("west"), env.done("short")), (None, None), "done files of the others")


def case_window_end_stops_the_scrape(env):
    """A tick with 4 s of the window left, whose source stalls, stops at the window's end:
    the scrape fails with 75 and the window is not marked done."""
    env.config(region("late", f"{env.url}/stall", budget="0m"))
    code, err, seconds = env.tick("2026-12-02T08:59:56Z", timeout=30)
    check_equal(code, 75, f"exit of a tick past its window ({err})")
    check(seconds < 20, f"the tick took {seconds:.1f} s; the window had 4 s left")
    check("deadline" in err, f"no word of the deadline in:\n{err}")
    check_equal(env.done("late"), None, "late.done")


def case_missed_windows_for_alerts(env):
    """With OFFPEAK_METRICS_DIR, each tick writes offpeak-plan.prom: after a success the
    window is done and nothing is missed; after two windows without success (the source
    broke) offpeak_plan_missed_windows is 2, which the alert rule fires on."""
    metrics = os.path.join(env.work, "metrics")
    plan = os.path.join(metrics, "offpeak-plan.prom")

    def sample(name):
        found = re.search(rf'^{name}{{region="east"}} (\S+)$', check_metrics(plan), re.M)
        check(found, f"no {name} for east in {plan}")
        return float(found.group(1))

    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    env.tick_ok(EVENING, OFFPEAK_METRICS_DIR=metrics)
    check_equal((sample("offpeak_plan_window_done"), sample("offpeak_plan_missed_windows")),
                (1.0, 0.0), "window done and missed after the first tick")
    check_equal(sample("offpeak_plan_last_done_window_start_timestamp_seconds"),
                1796144400.0, "the window done: 2026-12-01T17:00:00Z")

    # Friday evening: Wednesday's and Thursday's windows went by without a run.
    env.config(region("east", f"{env.url}/500-forever", retries=None), retries=0)
    code, err, _ = env.tick("2026-12-04T20:00:00Z", OFFPEAK_METRICS_DIR=metrics)
    check_equal(code, 75, f"the tick with a broken source ({err})")
    check_equal((sample("offpeak_plan_window_done"), sample("offpeak_plan_missed_windows")),
                (0.0, 2.0), "window done and missed after two windows without success")


def held_locks(paths):
    """How many of these files a process holds a flock on, read from /proc/locks (trying to
    take one would make the script see it held and skip its region)."""
    inodes = set()
    for path in paths:
        try:
            inodes.add(os.stat(path).st_ino)
        except FileNotFoundError:
            pass
    with open("/proc/locks") as f:
        held = {int(line.split()[5].split(":")[2]) for line in f if " FLOCK " in line}
    return len(inodes & held)


def case_regions_run_in_parallel_up_to_the_limit(env):
    """Three due regions whose sources take a second and a half: at most OFFPEAK_JOBS of them
    run at once (their locks held together), and with 2 there are two at once."""
    names = ["east", "north", "south"]
    env.config(*(region(n, f"{env.url}/ndjson?delay=1.5", format="ndjson", key='["id"]',
                        records=None) for n in names))
    locks = [os.path.join(env.state, f"{n}.lock") for n in names]
    for jobs, at in (("2", EVENING), ("1", "2026-12-02T20:00:00Z")):
        process = subprocess.Popen(
            [SCRIPT, "--at", at], stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, OFFPEAK_BIN_DIR=env.bin_dir, OFFPEAK_STATE_DIR=env.state,
                     OFFPEAK_CONFIG=env.config_path, PGDATABASE=env.db, OFFPEAK_JOBS=jobs))
        most = 0
        while process.poll() is None:
            most = max(most, held_locks(locks))
            time.sleep(0.01)
        err = process.stderr.read()
        check_equal(process.returncode, 0, f"exit with OFFPEAK_JOBS={jobs} ({err})")
        check_equal(most, int(jobs), f"regions at once with OFFPEAK_JOBS={jobs}")
        check_equal(sum("status=ok" in l for l in cron_lines(err)), 3, f"regions run:\n{err}")


def case_json_logs(env):
    """OFFPEAK_LOG_FORMAT=json: every line on stderr, the script's and the tools', is a
    JSON object."""
    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    err = env.tick_ok(EVENING, OFFPEAK_LOG_FORMAT="json")
    objects = []
    for l in err.splitlines():
        try:
            objects.append(json.loads(l))
        except ValueError:
            raise Failure(f"not a JSON line: {l!r}")
    tools = {o.get("tool") for o in objects}
    check({"offpeak-cron", "offpeak-scrape", "offpeak-load"} <= tools, f"tools logged: {tools}")
    check({"tool": "offpeak-cron", "region": "east", "status": "ok"}.items()
          <= next(o for o in objects if o.get("tool") == "offpeak-cron").items(),
          f"offpeak-cron's line: {objects}")


def case_lock_file_must_be_a_regular_file(env):
    """A symlink at REGION.lock is not followed (root would create its target anywhere), and a
    FIFO there does not hang the tick: the region fails (74), the other regions run."""
    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None),
               region("north", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    os.makedirs(env.state)
    target = os.path.join(env.work, "created-by-root")
    os.symlink(target, os.path.join(env.state, "east.lock"))
    code, err, _ = env.tick(EVENING)
    check_equal(code, 74, f"exit with a symlinked lock ({err})")
    check(any("region=east status=failed reason=lock_file_not_regular exit=74" in l
              for l in cron_lines(err)), f"no failed line in:\n{err}")
    check(not os.path.lexists(target), "the symlink's target was created")
    check_equal((env.rows_of("north"), env.done("north")), (3, f"north@{WINDOW}"), "north")
    os.remove(os.path.join(env.state, "east.lock"))
    os.mkfifo(os.path.join(env.state, "east.lock"))
    code, err, _ = env.tick("2026-12-01T20:10:00Z", timeout=60)
    check_equal(code, 74, f"exit with a FIFO for a lock ({err})")
    check_equal(env.done("east"), None, "east not done")


def case_shared_directories_are_refused(env):
    """A state or metrics directory that other users may write is refused (73), naming it, as
    sshd refuses a group-writable home; the script's own files are made under umask 022
    whatever umask cron gives it."""
    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    metrics = os.path.join(env.work, "metrics")
    for directory, what, mode in ((env.state, "state directory", 0o777),
                                  (env.state, "state directory", 0o775),
                                  (metrics, "metrics directory", 0o1777)):
        os.makedirs(env.state, exist_ok=True)
        os.makedirs(metrics, exist_ok=True)
        os.chmod(env.state, 0o755)
        os.chmod(metrics, 0o755)
        os.chmod(directory, mode)
        code, err, _ = env.tick(EVENING, OFFPEAK_METRICS_DIR=metrics)
        check_equal(code, 73, f"exit with a {what} of mode {mode:o} ({err})")
        check_equal(err, f"offpeak-cron: error: the {what} {directory} is writable by other "
                    f"users; it must be writable only by {pwd.getpwuid(os.getuid()).pw_name} "
                    "(chmod go-w)\n", "message")
        check(not os.path.exists(os.path.join(env.state, "east.lock")), "nothing run")
    os.chmod(metrics, 0o755)
    os.chmod(env.state, 0o755)
    result = subprocess.run(
        [SCRIPT, "--at", EVENING], capture_output=True, text=True, timeout=TIMEOUT, umask=0,
        env=dict(os.environ, OFFPEAK_BIN_DIR=env.bin_dir, OFFPEAK_STATE_DIR=env.state,
                 OFFPEAK_CONFIG=env.config_path, PGDATABASE=env.db, OFFPEAK_METRICS_DIR=metrics))
    check_equal(result.returncode, 0, f"exit under umask 000 ({result.stderr})")
    check_equal(oct(os.stat(os.path.join(env.state, "east.lock")).st_mode & 0o777), "0o644",
                "the lock file's mode under umask 000")


def case_usage_errors(env):
    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    for args in (["--jobs", "0"], ["--bogus"], ["--jobs"]):
        code, err, _ = env.tick(EVENING, *args)
        check_equal(code, 64, f"exit of {args} ({err})")
        check("Try 'offpeak-cron --help'" in err, f"no hint in {err!r}")
    code, err, _ = env.tick(EVENING, OFFPEAK_BIN_DIR=env.work)
    check_equal(code, 69, f"exit without the tools ({err})")
    check("OFFPEAK_BIN_DIR" in err, f"the error does not say what to set: {err!r}")
    result = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    check_equal((result.returncode, result.stdout.startswith("Usage: offpeak-cron")), (0, True),
                "--help")


def case_install_units_and_man_pages(env):
    """cmake --install lays out the tools, the script, the units (ExecStart in the prefix,
    clean under systemd-analyze verify) and the man pages; the installed script finds the
    tools beside it."""
    prefix = os.path.join(env.work, "prefix")
    result = subprocess.run(["cmake", "--install", env.bin_dir, "--prefix", prefix],
                            capture_output=True, text=True, timeout=TIMEOUT)
    check(result.returncode == 0, f"cmake --install: {result.stdout}{result.stderr}")
    tools = ["offpeak-plan", "offpeak-scrape", "offpeak-load", "offpeak-cron"]
    for tool in tools:
        check(os.access(os.path.join(prefix, "bin", tool), os.X_OK), f"bin/{tool}")
        with open(os.path.join(prefix, "share", "man", "man1", f"{tool}.1")) as f:
            page = f.read()
        check(".SH DESCRIPTION" in page and "\\-\\-help" in page, f"{tool}.1 lacks its help")
    for name in ("regions.toml", "crontab.example", "offpeak.env.example", "offpeak-alerts.yml"):
        check(os.path.exists(os.path.join(prefix, "share", "offpeak", name)), f"share/offpeak/{name}")
    units = os.path.join(prefix, "lib", "systemd", "system")
    with open(os.path.join(units, "offpeak.service")) as f:
        check(f"ExecStart={prefix}/bin/offpeak-cron\n" in f.read(), "ExecStart of the installed unit")
    # verify also looks up the units' Documentation= man pages: in the prefix.
    result = subprocess.run(["systemd-analyze", "verify", os.path.join(units, "offpeak.service"),
                             os.path.join(units, "offpeak.timer")],
                            capture_output=True, text=True, timeout=TIMEOUT,
                            env=dict(os.environ, MANPATH=os.path.join(prefix, "share", "man")))
    check_equal((result.returncode, result.stdout + result.stderr), (0, ""), "systemd-analyze verify")

    env.config(region("east", f"{env.url}/ndjson", format="ndjson", key='["id"]', records=None))
    env_script = dict(os.environ, OFFPEAK_STATE_DIR=env.state, OFFPEAK_CONFIG=env.config_path)
    env_script.pop("OFFPEAK_BIN_DIR", None)
    result = subprocess.run([os.path.join(prefix, "bin", "offpeak-cron"), "--at", EVENING],
                            capture_output=True, text=True, timeout=TIMEOUT,
                            env=dict(env_script, PGDATABASE=env.db))
    check(result.returncode == 0, f"the installed offpeak-cron exited {result.returncode}: {result.stderr}")
    check_equal(env.rows_of("east"), 3, "rows loaded by the installed script")


CASES = cases_of(globals())

if __name__ == "__main__":
    sys.exit(run_cases(CASES, Env))
