#!/usr/bin/env python3
"""Tests cron/offpeak-cron end to end: real PostgreSQL, the loopback test server, real locks.

    run.py --bin-dir DIR CASE...    run the named cases (see CASES), each in its own database
    run.py --list                   print the case names

Each tick runs the script as cron would, with OFFPEAK_BIN_DIR pointing at the build, a
config written for the case, and --at fixing the time the tick plans for. The server and
the database are as tests/pgenv.py says.
"""

import fcntl
import http.server
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import threading
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
    fields = "".join(f"{k} = {v}\n" if k in ("key", "paginate", "key_names", "fields") else f'{k} = "{v}"\n'
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

    def environment(self, **settings):
        # Every line by default (OFFPEAK_LOG_LEVEL=info), so that the cases can follow the
        # regions; the quiet default has a case of its own.
        env = dict(os.environ, OFFPEAK_BIN_DIR=self.bin_dir, OFFPEAK_STATE_DIR=self.state,
                   OFFPEAK_CONFIG=self.config_path, PGDATABASE=self.db, OFFPEAK_RETRY_BASE_MS="0",
                   OFFPEAK_LOG_LEVEL="info")
        for name in ("JOURNAL_STREAM", "OFFPEAK_PING_URL", "OFFPEAK_METRICS_DIR"):
            env.pop(name, None)
        env.update(settings)
        return env

    def tick(self, at, *args, timeout=TIMEOUT, stderr=None, **settings):
        """One run of offpeak-cron --at AT; returns (exit status, stderr, seconds). With
        `stderr` (an open file), stderr goes there and "" is returned for it."""
        started = time.monotonic()
        result = subprocess.run([SCRIPT, "--at", at, *args], stdout=subprocess.PIPE,
                                stderr=stderr or subprocess.PIPE, text=True, timeout=timeout,
                                env=self.environment(**settings), cwd=self.work)
        self.stdout = result.stdout
        return result.returncode, result.stderr or "", time.monotonic() - started

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
        process = subprocess.Popen([SCRIPT, "--at", at], stderr=subprocess.PIPE, text=True,
                                   env=env.environment(OFFPEAK_JOBS=jobs))
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
    # A man page for every program, offpeak-cron(8) and regions.toml(5), made from docs/.
    for page, section, text in (("offpeak-plan", 1, "\\-\\-due"), ("offpeak-scrape", 1, "\\-\\-dry\\-run"),
                                ("offpeak-load", 1, "\\-\\-table"), ("offpeak-cron", 8, "OFFPEAK_PING_URL"),
                                ("regions.toml", 5, "budget")):
        with open(os.path.join(prefix, "share", "man", f"man{section}", f"{page}.{section}")) as f:
            text_of_page = f.read()
        check(text_of_page.startswith(f".TH {page.upper()} {section} ") and ".SH DESCRIPTION" in text_of_page
              and text in text_of_page, f"{page}.{section} lacks its page's text")
    # Bash completes options from --help and region ids from the config.
    completion = os.path.join(prefix, "share", "bash-completion", "completions", "offpeak-plan")
    env.config(region("east", f"{env.url}/ndjson"), region("west", f"{env.url}/ndjson"))
    script = (f'. {completion}; PATH={prefix}/bin:$PATH; COMP_WORDS=(offpeak-plan --config {env.config_path} --region ""); '
              'COMP_CWORD=4; _offpeak offpeak-plan; echo "${COMPREPLY[*]}"; '
              'COMP_WORDS=(offpeak-plan --ti); COMP_CWORD=1; _offpeak offpeak-plan; echo "${COMPREPLY[*]}"')
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    check_equal(result.stdout, "east west\n--timeline\n", f"bash completions ({result.stderr})")
    check(os.path.islink(os.path.join(os.path.dirname(completion), "offpeak-cron")), "offpeak-cron's completion")
    # zsh's function, run with compadd and _files stubbed to print what they would offer.
    zsh_completion = os.path.join(prefix, "share", "zsh", "vendor-completions", "_offpeak")
    script = ('compadd() { if [[ $1 == -a ]]; then print -l -- ${(P)2}; else print -l -- "$@"; fi }; '
              '_files() { print FILES }; '
              f't() {{ words=("$@"); CURRENT=$#; service=$1; source {zsh_completion} }}; PATH={prefix}/bin:$PATH; '
              f't offpeak-scrape --config {env.config_path} ""; t offpeak-plan --config {env.config_path} --region ""; '
              f't offpeak-load --reject-file ""; print -- -; t offpeak-cron --dry')
    result = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    offered, _, options = result.stdout.partition("-\n")
    check_equal(offered, "east\nwest\neast\nwest\nFILES\n", f"zsh completions ({result.stderr})")
    check("--dry-run\n" in options and "--jobs\n" in options, f"zsh: offpeak-cron's options: {options!r}")
    # fish: the completions and the function they share, from their vendor directories.
    fish_script = (f'complete -C "offpeak-scrape --config {env.config_path} "; '
                   f'complete -C "offpeak-plan --config {env.config_path} --region w"; '
                   'complete -C "offpeak-cron --dry"')
    fish_env = dict(os.environ, XDG_DATA_DIRS=os.path.join(prefix, "share"), HOME=env.work,
                    XDG_CONFIG_HOME=os.path.join(env.work, "fish-config"), PATH=f"{prefix}/bin:{os.environ['PATH']}")
    result = subprocess.run(["fish", "-c", fish_script], capture_output=True, text=True, timeout=TIMEOUT,
                            env=fish_env)
    check_equal(result.stdout, "east\nwest\nwest\n--dry-run\n", f"fish completions ({result.stderr})")
    for name in ("regions.toml", "crontab.example", "offpeak.env.example", "offpeak-alerts.yml"):
        check(os.path.exists(os.path.join(prefix, "share", "offpeak", name)), f"share/offpeak/{name}")
    units = os.path.join(prefix, "lib", "systemd", "system")
    with open(os.path.join(units, "offpeak.service")) as f:
        check(f"ExecStart={prefix}/bin/offpeak-cron\n" in f.read(), "ExecStart of the installed unit")
    with open(os.path.join(prefix, "share", "offpeak", "crontab.example")) as f:
        check(f"\nPATH={prefix}/bin:/usr/bin:/bin\n" in f.read(), "PATH of the installed crontab")
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


def ndjson_region(name, url, **settings):
    return region(name, url, format="ndjson", key='["id"]', records=None, **settings)


def case_quiet_when_nothing_is_wrong(env):
    """Under cron every line is a mail: a tick that loads and one with nothing due print
    nothing by default; --verbose prints their lines; a failed region prints its error with
    the tools' lines that explain it."""
    env.config(ndjson_region("east", f"{env.url}/ndjson"))
    code, err, _ = env.tick(EVENING, OFFPEAK_LOG_LEVEL="warning")
    check_equal((code, err), (0, ""), "a tick that loaded")
    check_equal(env.rows_of("east"), 3, "rows loaded by the quiet tick")
    code, err, _ = env.tick("2026-12-01T20:10:00Z", OFFPEAK_LOG_LEVEL="warning")
    check_equal((code, err), (0, ""), "a tick with nothing due")
    code, err, _ = env.tick("2026-12-01T20:20:00Z", "--verbose", OFFPEAK_LOG_LEVEL="warning")
    check(any("status=idle" in l for l in cron_lines(err)), f"--verbose's idle line:\n{err}")
    err = env.tick_ok("2026-12-02T20:00:00Z", "-v", OFFPEAK_LOG_LEVEL="warning")
    check(any(l.startswith("offpeak-scrape: ") for l in err.splitlines()), f"no scrape line:\n{err}")
    check(any("region=east status=ok" in l for l in cron_lines(err)), f"no ok line:\n{err}")

    env.config(region("denied", f"{env.url}/401"), retries=0)
    code, err, _ = env.tick(EVENING, OFFPEAK_LOG_LEVEL="warning")
    check_equal(code, 69, f"a failing region's exit ({err})")
    check(any("region=denied status=failed" in l for l in cron_lines(err)), f"no failure line:\n{err}")
    check(any(l.startswith("offpeak-scrape: ") and "401" in l for l in err.splitlines()),
          f"the scrape's lines of the failure are not shown:\n{err}")
    code, err, _ = env.tick(EVENING, OFFPEAK_LOG_LEVEL="debug")
    check_equal(code, 64, f"exit with a bad OFFPEAK_LOG_LEVEL ({err})")


def case_journald_priorities(env):
    """When $JOURNAL_STREAM is stderr's device and inode, as systemd sets it, each line starts
    with its syslog priority: <3> for errors, <4> warnings, <6> info; otherwise none."""
    env.config(ndjson_region("east", f"{env.url}/ndjson"), region("denied", f"{env.url}/401"),
               retries=0)
    path = os.path.join(env.work, "journal")

    def lines(*settings_and_args, stream=True):
        with open(path, "w") as f:
            st = os.fstat(f.fileno())
            journal = f"{st.st_dev}:{st.st_ino}" if stream else f"{st.st_dev}:{st.st_ino + 1}"
            env.tick(EVENING, stderr=f, JOURNAL_STREAM=journal)
        with open(path) as f:
            return f.read().splitlines()

    got = lines()
    check(got and all(re.match(r"<[346]>", l) for l in got), f"lines without a priority: {got}")
    check(any(l.startswith("<3>offpeak-cron: level=error region=denied status=failed") for l in got),
          f"no <3> failure line: {got}")
    check(any(l.startswith("<6>offpeak-cron: region=east status=ok") for l in got),
          f"no <6> ok line: {got}")
    shutil.rmtree(env.state)
    got = lines(stream=False)
    check(got and not any(l.startswith("<") for l in got), f"priorities without the journal: {got}")


def parse_systemd_env(text):
    """The generator's KEY=VALUE lines, values double-quoted with backslash escapes when
    they need it (systemd's shell_maybe_quote)."""
    result = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        result[key] = value
    return result


ENV_FILE = r"""# a comment line, then settings written every way people write them
DATABASE_URL=postgresql://h/db?sslmode=disable&application_name=offpeak
SPACED = a value with  inner spaces   
HASHED=abc#def # not a comment
EQUALS=a=b=c
SINGLE='single quoted  # kept'
DOUBLE="double \"quoted\" \\ back"
MIXED=pre"quoted part"'and more'
ESCAPED=a\ b\#c
; another comment
EMPTY=
QUOTE_INSIDE=it's=fine
not a valid name=ignored
LAST=no newline at the end"""


def case_env_file_read_as_systemd_reads_it(env):
    """offpeak-cron --env-file reads a file exactly as systemd's EnvironmentFile= does: the
    same file, fed to systemd's own parser (the environment.d generator, which shares it and
    only adds $ expansion, so the file has no $) and to offpeak-cron, gives the same values,
    & ? # = spaces and quotes included; sh's `. FILE` would cut the first at the &."""
    generator = "/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator"
    check(os.access(generator, os.X_OK), f"no {generator} (Debian's systemd package)")
    confdir = os.path.join(env.work, "xdg", "environment.d")
    os.makedirs(confdir)
    with open(os.path.join(confdir, "offpeak.conf"), "w") as f:
        f.write(ENV_FILE)
    result = subprocess.run([generator], capture_output=True, text=True, timeout=TIMEOUT,
                            env={"XDG_CONFIG_HOME": os.path.join(env.work, "xdg")})
    check(result.returncode == 0, f"the generator failed: {result.stderr}")
    systemd = parse_systemd_env(result.stdout)
    keys = [line.split("=")[0].strip() for line in ENV_FILE.splitlines()
            if "=" in line and line[0] not in "#;" and " valid " not in line]
    check_equal(systemd.get("DATABASE_URL"), "postgresql://h/db?sslmode=disable&application_name=offpeak",
                "systemd's DATABASE_URL")

    # Stand-in tools: offpeak-plan records the environment it was given and says nothing is due.
    fake = os.path.join(env.work, "fake-bin")
    os.makedirs(fake)
    dump = os.path.join(env.work, "environment")
    for tool in ("offpeak-plan", "offpeak-scrape", "offpeak-load"):
        with open(os.path.join(fake, tool), "w") as f:
            f.write(f"#!/bin/sh\nenv -0 > {dump}\nexit 1\n")
        os.chmod(os.path.join(fake, tool), 0o755)
    env_file = env.file("offpeak.env", ENV_FILE)
    env.config(ndjson_region("east", f"{env.url}/ndjson"))
    code, err, _ = env.tick(EVENING, "--env-file", env_file, OFFPEAK_BIN_DIR=fake, OFFPEAK_LOG_LEVEL="warning")
    check_equal(code, 0, f"the tick with the env file ({err})")
    check("line=13 reason=invalid_name" in err, f"no warning for the invalid name:\n{err}")
    with open(dump, "rb") as f:
        cron = dict(item.decode().split("=", 1) for item in f.read().split(b"\0") if item)
    # An empty value is the one place the generator parts from EnvironmentFile=: it drops
    # the line ("invalid syntax") where EnvironmentFile= sets the variable to "".
    keys.remove("EMPTY")
    check_equal(cron.get("EMPTY"), "", "EMPTY=")
    check_equal({k: cron.get(k) for k in keys}, {k: systemd.get(k) for k in keys},
                "the values offpeak-cron read, against systemd's")

    code, err, _ = env.tick(EVENING, "--env-file", os.path.join(env.work, "missing.env"))
    check_equal(code, 78, f"exit with a missing env file ({err})")
    check("missing.env" in err, f"the error does not name the file: {err!r}")


def case_config_error_writes_plan_metrics(env):
    """A tick that stops on a configuration error (78) still writes offpeak-plan.prom: the
    time of the tick and offpeak_plan_config_error 1, which the alert fires on at once. The
    next tick with the config fixed sets it back to 0, beside the regions' run state."""
    metrics = os.path.join(env.work, "metrics")
    plan = os.path.join(metrics, "offpeak-plan.prom")
    env.config_path = env.file("regions.toml", '[regions.east]\ntimezone = "UTC"\nsesions = []\n')
    code, err, _ = env.tick(EVENING, OFFPEAK_METRICS_DIR=metrics, OFFPEAK_LOG_LEVEL="warning")
    check_equal(code, 78, f"exit with a bad config ({err})")
    check("sesions" in err, f"offpeak-plan's error is not shown: {err!r}")
    text = check_metrics(plan)
    check("\noffpeak_plan_config_error 1\n" in text, f"no config error gauge in:\n{text}")
    check("\noffpeak_plan_last_run_timestamp_seconds 1796155200\n" in text, f"no tick time in:\n{text}")

    env.config(ndjson_region("east", f"{env.url}/ndjson"))
    env.tick_ok(EVENING, OFFPEAK_METRICS_DIR=metrics)
    text = check_metrics(plan)
    check("\noffpeak_plan_config_error 0\n" in text, f"the gauge is not reset in:\n{text}")
    check('offpeak_plan_window_done{region="east"} 1' in text, f"no run state in:\n{text}")
    check_equal(sorted(os.listdir(metrics)), ["offpeak-load-east.prom", "offpeak-plan.prom",
                                              "offpeak-scrape-east.prom"], "files in the metrics directory")


def case_fresh_install_has_missed_nothing(env):
    """On a fresh install a region never done has missed no window before the first tick:
    the count starts there, not 14 days back, so the alert does not fire at once."""
    metrics = os.path.join(env.work, "metrics")
    plan = os.path.join(metrics, "offpeak-plan.prom")
    env.config(region("east", f"{env.url}/500-forever"), retries=0)
    code, err, _ = env.tick(EVENING, OFFPEAK_METRICS_DIR=metrics)
    check_equal(code, 75, f"the failing first tick ({err})")
    check('offpeak_plan_missed_windows{region="east"} 0' in check_metrics(plan), "missed at the first tick")
    code, err, _ = env.tick("2026-12-03T20:00:00Z", OFFPEAK_METRICS_DIR=metrics)
    check('offpeak_plan_missed_windows{region="east"} 2' in check_metrics(plan),
          "missed two days later: Tuesday's and Wednesday's windows")


def case_dry_run_fetches_and_writes_nothing(env):
    """--dry-run prints each due region, its deadline and its sources' first requests with
    the secrets masked, and touches nothing: no state directory, no metrics, no request."""
    env.config(region("east", f"{env.url}/401?apikey=${{OFFPEAK_TEST_KEY}}"))
    metrics = os.path.join(env.work, "metrics")
    code, err, _ = env.tick(EVENING, "--dry-run", OFFPEAK_METRICS_DIR=metrics,
                            OFFPEAK_TEST_KEY="sekrit-123", OFFPEAK_PING_URL=f"{env.url}/404")
    out = env.stdout
    check_equal(code, 0, f"exit of --dry-run ({err})")
    check("region=east window_end=2026-12-02T09:00:00Z deadline=46800s budget=1800s" in out,
          f"no region line in:\n{out}")
    check(f"{env.url}/401" in out, f"no first request in:\n{out}")
    check("sekrit-123" not in out + err, f"the secret is shown:\n{out}{err}")
    check_equal((os.path.exists(env.state), os.path.exists(metrics)), (False, False),
                "state and metrics directories after --dry-run")
    code, _, _ = env.tick("2026-12-01T12:00:00Z", "-n")
    check_equal((code, env.stdout), (0, "at=2026-12-01T12:00:00Z: nothing due\n"), "a dry run while trading")


class PingServer(http.server.ThreadingHTTPServer):
    """A loopback server that records the paths it is asked for and answers 200."""

    def __init__(self):
        self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):
                self.paths.append(handler.path)
                handler.send_response(200)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def case_dead_man_pings(env):
    """OFFPEAK_PING_URL gets /start and then the bare URL (success) or /fail per tick, or per
    region with {region} in it; a ping server that is down is a warning, not a failure."""
    pings = PingServer()
    try:
        env.config(ndjson_region("east", f"{env.url}/ndjson"))
        env.tick_ok(EVENING, OFFPEAK_PING_URL=f"{pings.url}/hc/abc")
        check_equal(pings.paths, ["/hc/abc/start", "/hc/abc"], "pings of a tick that loaded")

        del pings.paths[:]
        env.config(ndjson_region("east", f"{env.url}/ndjson"), region("denied", f"{env.url}/401"),
                   retries=0)
        code, _, _ = env.tick("2026-12-02T20:00:00Z", OFFPEAK_PING_URL=f"{pings.url}/hc/{{region}}/")
        check_equal(code, 69, "exit of the tick with a failing region")
        check_equal(sorted(pings.paths), ["/hc/denied/fail", "/hc/denied/start", "/hc/east", "/hc/east/start"],
                    "per-region pings")

        del pings.paths[:]
        env.config(ndjson_region("east", f"{env.url}/ndjson"))
        env.tick_ok("2026-12-02T20:10:00Z", OFFPEAK_PING_URL=f"{pings.url}/hc/{{region}}")
        check_equal(pings.paths, [], "per-region pings of a tick that ran no region")
    finally:
        pings.shutdown()
        pings.server_close()
    # Nothing listens on that port any more.
    code, err, _ = env.tick("2026-12-02T20:20:00Z", OFFPEAK_PING_URL=f"{pings.url}/hc/abc",
                            OFFPEAK_LOG_LEVEL="warning")
    check_equal(code, 0, f"exit with the ping server down ({err})")
    check(any("status=ping_failed ping=start" in l for l in cron_lines(err)), f"no ping warning:\n{err}")
    check(pings.url not in err, f"the ping URL is logged: {err!r}")



# ----------------------------------------------------------------------------------------
# Ledger mode (OFFPEAK_LEDGER=1): the run ledger in the database records what is done.


def ledger_tick(env, at, host="a", *args, **settings):
    return env.tick(at, *args, OFFPEAK_LEDGER="1", OFFPEAK_HOST=host, **settings)


def ledger_row(env, region_name, window=None):
    """state, permanent, attempt, host of the region's window (the evening's by default)."""
    window = window or f"{region_name}@{WINDOW}"
    rows = env.rows(f"SELECT state, permanent, attempt, host FROM offpeak.runs "
                    f"WHERE region = '{region_name}' AND window_id = '{window}'")
    return rows[0] if rows else None


def wait_for(env, sql, what, process=None):
    """Polls `sql` until it returns a row with 't' (a condition, not a time, is awaited)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            if env.psql(sql) == "t":
                return
        except Failure as e:  # the ledger's tables are not there yet
            check("does not exist" in str(e), str(e))
        if process is not None and process.poll() is not None:
            raise Failure(f"offpeak-cron ended ({process.returncode}) before {what}: "
                          f"{process.stderr.read()}")
        check(time.monotonic() < deadline, f"timed out waiting for {what}")
        time.sleep(0.05)


def start_tick(env, at, host="a", **settings):
    return subprocess.Popen([SCRIPT, "--at", at], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env.environment(OFFPEAK_LEDGER="1", OFFPEAK_HOST=host,
                                                           **settings), cwd=env.work)


def case_ledger_done_commits_with_the_load(env):
    """In ledger mode the load writes the window's done inside its own transaction, before
    COMMIT: held at that UPDATE, the load has written (it has a transaction id) and the
    window is still running; killed there, neither the records nor the done are in the
    database, and the failure is recorded. The next tick after the backoff loads the window
    and marks it done with the load's id; the load's session is the window id."""
    env.config(ndjson_region("east", f"{env.url}/ndjson?delay=2"))
    tick = start_tick(env, EVENING)
    wait_for(env, "SELECT count(*) = 1 FROM offpeak.runs WHERE state = 'running'", "the claim", tick)
    token = env.psql("SELECT owner FROM offpeak.runs")
    holder = subprocess.Popen(["psql", "-XAtq", "-d", env.db], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    holder.stdin.write("BEGIN;\nSELECT 1 FROM offpeak.runs FOR UPDATE;\n\\echo locked\n")
    holder.stdin.flush()
    check_equal([holder.stdout.readline().strip() for _ in range(2)], ["1", "locked"], "the row lock")
    wait_for(env, "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'offpeak-load' "
                  f"AND datname = '{env.db}' AND wait_event_type = 'Lock' "
                  "AND query LIKE '%UPDATE offpeak.runs%' AND backend_xid IS NOT NULL",
             "the load's finish, inside its transaction", tick)
    check_equal(ledger_row(env, "east")[0], "running", "the window while the load waits")
    killed = 0
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if argv and argv[0].endswith(b"offpeak-load") and f"--ledger-token={token}".encode() in argv:
            os.kill(int(pid), 9)
            killed += 1
    check_equal(killed, 1, "offpeak-load processes of the claim killed")
    # The killed load's COMMIT never comes: its UPDATE, once it has the row, dies with it.
    holder.stdin.write("ROLLBACK;\n")
    holder.stdin.close()
    holder.wait(timeout=TIMEOUT)
    err = tick.communicate(timeout=TIMEOUT)[1]
    check_equal(tick.returncode, 137, f"the tick's exit ({err})")
    check_equal(env.rows_of("east"), 0, "rows after the load was killed")
    check_equal(env.loads(), 0, "committed loads after the load was killed")
    check_equal(ledger_row(env, "east"), ["failed", "f", "1", "a"], "the window after the kill")
    check_equal(env.rows("SELECT scrape_exit, load_exit FROM offpeak.runs"), [["0", "137"]],
                "the exit codes recorded")

    code, err, _ = ledger_tick(env, "2026-12-01T20:05:00Z")
    check(code == 0 and "reason=nothing_claimed" in err, f"a claim before the retry's time:\n{err}")
    code, err, _ = ledger_tick(env, "2026-12-01T20:10:00Z")
    check_equal(code, 0, f"the retry's exit ({err})")
    check_equal(ledger_row(env, "east"), ["done", "f", "2", "a"], "the window after the retry")
    check_equal(env.rows("SELECT r.load_id = l.id, l.session, r.sources->'bars'->>'records' "
                         "FROM offpeak.runs r JOIN offpeak.loads l ON l.id = r.load_id"),
                [["t", f"east@{WINDOW}", "3"]], "the done window's load")
    check_equal(env.rows_of("east"), 3, "rows after the retry")


def case_ledger_second_host_claims_nothing(env):
    """Two hosts run the same tick against one database: the window runs once, on the first;
    the second claims nothing, loads nothing and exits 0. The single-host done file is not
    written in ledger mode."""
    env.config(ndjson_region("east", f"{env.url}/ndjson"))
    code, err, _ = ledger_tick(env, EVENING, "a")
    check_equal(code, 0, f"host a's tick ({err})")
    check(any(f"region=east status=ok" in l and f"window=east@{WINDOW}" in l for l in cron_lines(err)),
          f"no ok line in:\n{err}")
    code, err, _ = ledger_tick(env, "2026-12-01T20:01:00Z", "b")
    check_equal(code, 0, f"host b's tick ({err})")
    check(any("reason=nothing_claimed host=b" in l for l in cron_lines(err)), f"b claimed:\n{err}")
    check_equal(env.loads(), 1, "loads after both hosts' ticks")
    check_equal(env.rows("SELECT host, state FROM offpeak.run_attempts"), [["a", "done"]], "attempts")
    check_equal(env.done("east"), None, "the single-host done file in ledger mode")


def case_ledger_lost_claim_stops_the_pipeline(env):
    """The heartbeat renews the claim every third of its lease; when it finds the claim taken
    over, it stops the scrape and the load at once and the tick says so (75). Without the
    heartbeat's kill, the scrape would run to its end and the load be refused at COMMIT."""
    env.config(ndjson_region("east", f"{env.url}/ndjson?delay=30"))
    tick = start_tick(env, EVENING, OFFPEAK_LEASE="3s")
    wait_for(env, "SELECT count(*) = 1 FROM offpeak.runs WHERE state = 'running'", "the claim", tick)
    env.psql("UPDATE offpeak.runs SET owner = gen_random_uuid(), host = 'b'")
    err = tick.communicate(timeout=TIMEOUT)[1]
    check_equal(tick.returncode, 75, f"the tick's exit ({err})")
    check(any("region=east status=failed reason=claim_lost exit=75" in l for l in cron_lines(err)),
          f"no claim_lost line in:\n{err}")
    check("lease_lost" in err, f"no heartbeat warning in:\n{err}")
    check("offpeak-scrape: region=east source=bars status=ok" not in err,
          f"the scrape ran to its end:\n{err}")
    check_equal(env.rows_of("east"), 0, "rows after the claim was lost")
    check_equal(ledger_row(env, "east")[0:2], ["running", "f"], "the window, now b's")


def case_ledger_permanent_failure_is_not_retried(env):
    """A 401 (exit 69) fails the window for good: later ticks in the window claim nothing,
    the ledger's metrics count the permanent failure, and after the window the sweep marks
    it missed with the 401 as its reason."""
    env.config(region("denied", f"{env.url}/401"), retries=0)
    metrics = os.path.join(env.work, "metrics")
    code, err, _ = ledger_tick(env, EVENING, OFFPEAK_METRICS_DIR=metrics)
    check_equal(code, 69, f"the 401's tick ({err})")
    check_equal(ledger_row(env, "denied", f"denied@{WINDOW}"), ["failed", "t", "1", "a"], "after the 401")
    for at in ("2026-12-01T20:10:00Z", "2026-12-01T22:00:00Z"):
        code, err, _ = ledger_tick(env, at, OFFPEAK_METRICS_DIR=metrics)
        check(code == 0 and "reason=nothing_claimed" in err, f"a later tick at {at} claimed:\n{err}")
    check_equal(ledger_row(env, "denied", f"denied@{WINDOW}")[2], "1", "attempts in the window")
    check("401" in env.psql("SELECT error FROM offpeak.runs"), "the error recorded")
    text = check_metrics(os.path.join(metrics, "offpeak-ledger.prom"))
    check('offpeak_ledger_permanent_failures{region="denied"} 1' in text, f"metrics:\n{text}")
    check('offpeak_ledger_windows{region="denied",state="failed"} 1' in text, f"metrics:\n{text}")
    # The next morning, in trading hours: the window has closed.
    ledger_tick(env, "2026-12-02T10:00:00Z", OFFPEAK_METRICS_DIR=metrics)
    check_equal(ledger_row(env, "denied", f"denied@{WINDOW}")[0], "missed", "after the window")
    text = check_metrics(os.path.join(metrics, "offpeak-ledger.prom"))
    check('offpeak_ledger_missed_windows{region="denied"} 1' in text, f"metrics:\n{text}")


def case_ledger_data_error_is_retried_later(env):
    """A data error (65: an unparsable body, as too few records is) is retried, after the
    backoff (10 minutes, then 20), by any host, while the window has its budget left."""
    env.config(region("garbled", f"{env.url}/invalid-json"), retries=0)
    code, err, _ = ledger_tick(env, EVENING, "a")
    check_equal(code, 65, f"the first attempt ({err})")
    check_equal(ledger_row(env, "garbled"), ["failed", "f", "1", "a"], "after the first attempt")
    code, err, _ = ledger_tick(env, "2026-12-01T20:09:00Z", "b")
    check(code == 0 and "reason=nothing_claimed" in err, f"a claim within the backoff:\n{err}")
    code, err, _ = ledger_tick(env, "2026-12-01T20:10:00Z", "b")
    check_equal(code, 65, f"the retry ({err})")
    check_equal(ledger_row(env, "garbled"), ["failed", "f", "2", "b"], "after the retry")
    check_equal(env.psql("SELECT to_char(retry_at AT TIME ZONE 'UTC', 'HH24:MI') FROM offpeak.runs"),
                "20:30", "the second backoff")


def case_backfill_three_sessions(env):
    """--backfill runs the region's sources for each past session of the range, with the
    session's variables, one after the other, each recorded in the ledger as
    REGION@session:DATE and loaded with that session label; a weekend day has no session.
    A tick's own window is claimed apart from them."""
    env.config(region("east", f"{env.url}/session?date={{session_date}}", key='["date"]'))
    code, err, _ = env.tick(EVENING, "--backfill", "east", "--sessions", "2026-11-26..2026-11-30")
    check_equal(code, 0, f"the backfill's exit ({err})")
    sessions = ["2026-11-26", "2026-11-27", "2026-11-30"]
    check(any("region=east status=backfill sessions=3 done=3 failed=0 exit=0" in l
              for l in cron_lines(err)), f"no summary line in:\n{err}")
    check_equal(env.rows("SELECT window_id, state, backfill FROM offpeak.runs ORDER BY 1"),
                [[f"east@session:{d}", "done", "t"] for d in sessions], "the ledger's rows")
    check_equal(env.rows("SELECT session FROM offpeak.loads ORDER BY id"),
                [[f"east@session:{d}"] for d in sessions], "the loads' sessions")
    check_equal(env.rows("SELECT record->>'date' FROM offpeak.records ORDER BY 1"),
                [[d] for d in sessions], "the records: one per session, with its date")
    code, err, _ = ledger_tick(env, EVENING)
    check_equal(code, 0, f"the evening's tick ({err})")
    check_equal(ledger_row(env, "east")[0], "done", "the evening's own window")


def case_backfill_usage(env):
    """--backfill needs --sessions FROM..TO as dates, and no region arguments."""
    env.config(ndjson_region("east", f"{env.url}/ndjson"))
    for args in (["--backfill", "east"], ["--backfill", "east", "--sessions", "2026-11-26"],
                 ["--backfill", "east", "--sessions", "2026-11-26..2026-11-27", "east"]):
        code, err, _ = env.tick(EVENING, *args)
        check_equal(code, 64, f"offpeak-cron {' '.join(args)} ({err})")
    check_equal(env.psql("SELECT to_regclass('offpeak.runs') IS NULL"), "t", "the ledger after usage errors")


def case_session_label_in_every_mode(env):
    """offpeak-cron passes the window id to offpeak-load --session without the ledger too."""
    env.config(ndjson_region("east", f"{env.url}/ndjson"))
    env.tick_ok(EVENING)
    check_equal(env.psql("SELECT session FROM offpeak.loads"), f"east@{WINDOW}", "the load's session")


def case_typed_view_kept_by_the_tick(env):
    """offpeak-cron passes its config to offpeak-load, so a source's typed fields are checked
    and its view kept by every tick, not only by loads run by hand."""
    env.config(ndjson_region("east", f"{env.url}/ndjson", key_names='["id"]',
                             fields='{ v = "text" }'))
    env.tick_ok(EVENING)
    check_equal(env.psql('SELECT string_agg(id || \'=\' || v, \',\' ORDER BY id) '
                         'FROM offpeak_views."east.bars"'),
                "1=a,2=b,3=c", "the typed view of the source")


# ----------------------------------------------------------------------------------------
# Sources spread over hosts (claim = "sources"): each source of a window claimed on its own.


def spread_region(name, url, delays=(0, 0, 0)):
    """A region whose three sources s1, s2, s3 (ndjson, 3 records each) hosts claim one by one;
    source i answers after delays[i] seconds."""
    text = (f'[regions.{name}]\ntimezone = "UTC"\nsessions = ["09:00-17:00"]\nbudget = "30m"\n'
            f'claim = "sources"\n\n')
    for i, delay in enumerate(delays, 1):
        text += (f'[[regions.{name}.sources]]\nname = "s{i}"\nurl = "{url}/ndjson?delay={delay}"\n'
                 f'format = "ndjson"\nkey = ["id"]\n\n')
    return text


def host_env(env, host, **settings):
    """A simulated host: its own name and state directory (locks) against the one database."""
    return dict(OFFPEAK_HOST=host, OFFPEAK_STATE_DIR=os.path.join(env.work, f"state-{host}"),
                **settings)


def source_rows(env, window=f"wide@{WINDOW}"):
    return env.rows("SELECT source, state, attempt, coalesce(host, '-'), coalesce(records, -1) "
                    f"FROM offpeak.run_sources WHERE window_id = '{window}' ORDER BY source")


def ledger_status(env):
    result = subprocess.run([os.path.join(env.bin_dir, "offpeak-ledger"), "status", "--region", "wide"],
                            capture_output=True, text=True, timeout=TIMEOUT,
                            env=env.environment(PGOPTIONS=f"-c offpeak.now={EVENING}"))
    check_equal(result.returncode, 0, f"offpeak-ledger status ({result.stderr})")
    return result.stdout


def case_ledger_sources_spread_over_hosts(env):
    """A region with claim = "sources": three hosts (own names and state directories) each
    claim one source per tick (OFFPEAK_SOURCE_CLAIMS=1), scrape only it and load it with the
    source's token; each source is loaded by exactly one host, and the window is done only
    when its last source is, with the status showing each source. In the next window three
    hosts start at once, may claim all three sources each, and still load each source once."""
    env.config(spread_region("wide", env.url))
    expected = []
    for i, host in enumerate("abc"):
        code, err, _ = env.tick(EVENING, OFFPEAK_LEDGER="1", **host_env(env, host, OFFPEAK_SOURCE_CLAIMS="1"))
        check_equal(code, 0, f"host {host}'s tick ({err})")
        check(any(f"region=wide source=s{i + 1} status=ok" in l for l in cron_lines(err)),
              f"host {host} did not load s{i + 1}:\n{err}")
        expected.append([f"s{i + 1}", "done", "1", host, "3"])
        rows = source_rows(env)
        check_equal(rows[:i + 1], expected, f"the sources after host {host}'s tick")
        check_equal([r[1] for r in rows[i + 1:]], ["pending"] * (2 - i), "the sources not yet claimed")
        window = ledger_row(env, "wide")[0]
        check_equal(window, "done" if i == 2 else "running", f"the window after host {host}'s tick")
        status = ledger_status(env)
        cells = " ".join(f"s{j}=3" if j <= i + 1 else f"s{j}=pending" for j in (1, 2, 3))
        check(cells in status, f"offpeak-ledger status does not show {cells!r}:\n{status}")
    check_equal(env.rows("SELECT source, count(*), min(host) FROM offpeak.run_attempts "
                         "GROUP BY source ORDER BY source"),
                [["s1", "1", "a"], ["s2", "1", "b"], ["s3", "1", "c"]], "attempts per source")
    check_equal(env.rows("SELECT source, count(*) FROM offpeak.records GROUP BY source ORDER BY 1"),
                [["s1", "3"], ["s2", "3"], ["s3", "3"]], "records per source")
    check_equal(env.loads(), 3, "loads: one per source")
    check_equal(env.rows("SELECT string_agg(source, ',' ORDER BY source) FROM offpeak.load_sources "
                         "GROUP BY load_id ORDER BY load_id"),
                [["s1"], ["s2"], ["s3"]], "the sources of each load: only its claim's")
    check_equal(env.psql("SELECT load_id = (SELECT max(id) FROM offpeak.loads) FROM offpeak.runs"),
                "t", "the window's load id: its last source's")
    code, err, _ = env.tick("2026-12-01T20:05:00Z", OFFPEAK_LEDGER="1", **host_env(env, "a"))
    check(code == 0 and "reason=nothing_claimed" in err, f"a claim after the window was done:\n{err}")

    # The next evening: three hosts at once, each allowed all three sources.
    night = "2026-12-02T20:00:00Z"
    ticks = [subprocess.Popen([SCRIPT, "--at", night], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=env.work,
                              env=env.environment(OFFPEAK_LEDGER="1",
                                                  **host_env(env, h, OFFPEAK_SOURCE_CLAIMS="3")))
             for h in "abc"]
    for host, tick in zip("abc", ticks):
        err = tick.communicate(timeout=TIMEOUT)[1]
        check_equal(tick.returncode, 0, f"host {host}'s concurrent tick ({err})")
    window = "wide@2026-12-02T17:00:00Z"
    check_equal([r[:3] + r[4:] for r in source_rows(env, window)],
                [[f"s{i}", "done", "1", "3"] for i in (1, 2, 3)], "each source of the second window")
    check_equal(env.psql(f"SELECT count(*) FROM offpeak.run_attempts WHERE window_id = '{window}'"),
                "3", "attempts in the second window")
    check_equal(ledger_row(env, "wide", window)[0], "done", "the second window")
    check_equal(env.loads(), 6, "loads after the second window")


def case_ledger_source_taken_over_after_its_host_dies(env):
    """A host that dies (SIGKILL, its whole tick) holding a source's claim: another host takes
    the other sources at once but leaves the dead host's source alone while its lease runs,
    then takes it over once the lease has expired; the window is done only then."""
    env.config(spread_region("wide", env.url, delays=(60, 0, 0)))
    dead = subprocess.Popen([SCRIPT, "--at", EVENING], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=env.work, start_new_session=True,
                            env=env.environment(OFFPEAK_LEDGER="1",
                                                **host_env(env, "a", OFFPEAK_SOURCE_CLAIMS="1")))
    wait_for(env, "SELECT count(*) = 1 FROM offpeak.run_sources WHERE state = 'running' "
                  "AND source = 's1' AND host = 'a'", "host a's claim of s1", dead)
    os.killpg(dead.pid, 9)
    dead.wait(timeout=TIMEOUT)
    # Within a's lease (5m): b runs s2 and s3, not s1.
    code, err, _ = env.tick("2026-12-01T20:02:00Z", OFFPEAK_LEDGER="1", **host_env(env, "b"))
    check_equal(code, 0, f"host b's tick within the lease ({err})")
    check_equal([r[:4] for r in source_rows(env)],
                [["s1", "running", "1", "a"], ["s2", "done", "1", "b"], ["s3", "done", "1", "b"]],
                "the sources while a's lease runs")
    check_equal(ledger_row(env, "wide")[0], "running", "the window while s1 is a's")
    # After the lease: b takes s1 over (its server answers at once now).
    env.config(spread_region("wide", env.url))
    code, err, _ = env.tick("2026-12-01T20:10:00Z", OFFPEAK_LEDGER="1", **host_env(env, "b"))
    check_equal(code, 0, f"host b's tick after the lease ({err})")
    check_equal([r[:4] for r in source_rows(env)],
                [["s1", "done", "2", "b"], ["s2", "done", "1", "b"], ["s3", "done", "1", "b"]],
                "the sources after the takeover")
    check_equal(env.rows("SELECT attempt, host, state, error FROM offpeak.run_attempts "
                         "WHERE source = 's1' ORDER BY attempt"),
                [["1", "a", "failed", "lease expired; taken over by b"], ["2", "b", "done", ""]],
                "s1's attempts")
    check_equal(ledger_row(env, "wide")[0], "done", "the window after the takeover")
    check_equal(env.psql("SELECT count(*) FROM offpeak.records WHERE source = 's1'"), "3", "s1's records")


def dry_run_lines(stdout):
    return [l for l in stdout.splitlines() if l.startswith("ledger (")]


def dry_run_verdicts(stdout):
    """What a dry run by host b says the ledger says, per region."""
    verdicts, name = {}, None
    for line in stdout.splitlines():
        if line.startswith("region="):
            name = line.split()[0][len("region="):]
        elif line.startswith("ledger (b): "):
            verdicts[name] = line[len("ledger (b): "):]
    return verdicts


def case_ledger_dry_run_consults_the_ledger(env):
    """--dry-run in ledger mode says per due window whether this host could claim it now and
    why not, from the ledger, and writes nothing: not even the ledger's tables on a fresh
    database, nor a row once there are some."""
    env.config(ndjson_region("east", f"{env.url}/ndjson"), region("denied", f"{env.url}/401"),
               region("garbled", f"{env.url}/invalid-json"), ndjson_region("west", f"{env.url}/ndjson"),
               retries=0)
    code, err, _ = ledger_tick(env, EVENING, "b", "--dry-run")
    check_equal(code, 0, f"the dry run on a fresh database ({err})")
    check_equal(dry_run_lines(env.stdout), ["ledger (b): claimable"] * 4, f"verdicts:\n{env.stdout}")
    check_equal(env.psql("SELECT to_regclass('offpeak.runs') IS NULL"), "t", "the ledger after a dry run")
    # denied fails for good, garbled waits for its retry, west is done; east is held by a.
    ledger_tick(env, EVENING, "a", "denied", "garbled", "west")
    plan = subprocess.run([os.path.join(env.bin_dir, "offpeak-plan"), "--due", "--json", "--at", EVENING,
                           "--config", env.config_path, "--region", "east"],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env.environment())
    claim = subprocess.run([os.path.join(env.bin_dir, "offpeak-ledger"), "claim", "--host", "a"],
                           input=plan.stdout, capture_output=True, text=True, timeout=TIMEOUT,
                           env=env.environment(PGOPTIONS=f"-c offpeak.now={EVENING}"))
    check_equal(claim.returncode, 0, f"a's claim of east ({claim.stderr})")
    snapshot = "SELECT (SELECT json_agg(r ORDER BY region) FROM offpeak.runs r)::text || " \
               "(SELECT json_agg(a ORDER BY region) FROM offpeak.run_attempts a)::text"
    before = env.psql(snapshot)
    code, err, _ = ledger_tick(env, "2026-12-01T20:01:00Z", "b", "--dry-run")
    check_equal(code, 0, f"the dry run ({err})")
    verdicts = dry_run_verdicts(env.stdout)
    check_equal(verdicts["east"], "held by a until 2026-12-01T20:05:00Z", "east's verdict")
    check(verdicts["denied"].startswith("failed_permanent ") and "401" in verdicts["denied"],
          f"denied's verdict: {verdicts['denied']}")
    check(verdicts["garbled"].startswith("backoff until 2026-12-01T20:10:00Z: "),
          f"garbled's verdict: {verdicts['garbled']}")
    check_equal(verdicts["west"], "done", "west's verdict")
    check_equal(env.psql(snapshot), before, "the ledger's rows after the dry run")


CASES = cases_of(globals())

if __name__ == "__main__":
    sys.exit(run_cases(CASES, Env))
