#!/usr/bin/env python3
"""The fleet test: three hosts tick through a simulated week against one PostgreSQL, with faults.

    run.py --bin-dir DIR [--cron FILE] [--days N] [--start TIME] [--keep] [--verbose]

Three simulated hosts (separate offpeak-cron processes, each with its own OFFPEAK_HOST, state
and lock directory and TMPDIR) run the ledger's mode (OFFPEAK_LEDGER=1) of the same
regions.toml against one database. Every simulated 10 minutes all three are started for the
same `--at` and waited for, so a week runs in a few minutes. The regions use shipped calendars
(copied beside the test's regions.toml) and fetch from tests/fleet/server.py, with faults:

  - xnys: the first fetch of page 1 of one session stalls; the test finds the process that
    is waiting for it and SIGKILLs its host's whole tick (offpeak-cron, the scrape, the load:
    one process group), so the run dies mid-load and its lease has to run out;
  - xlon: each session's first page answers 503 twice (and the source has no retries of its
    own), so each window fails twice and is retried at later ticks;
  - xtks: 401, all week;
  - xetr: 500, all week: retried, backing off, while each window has its budget left;
  - PostgreSQL (a cluster of the test's own, on a private socket directory and a port the OS
    picked) is stopped for two ticks, as xlon's window opens.

Afterwards the database must show: every window of the week `done` exactly once, except
xtks's (`failed` for good, attempted once per window) and xetr's (retried while the budget
lasted, then `missed`); no region running on two hosts at once;
no attempt started with less than its budget left; the killed run taken over once its lease
had run out; and the records equal to those a single clean offpeak-scrape | offpeak-load of
each window loads into a database of its own (from a server without the faults that pass).
Each of these is a check of its own; all run, and every failure is reported.

Exit status: 0 all checks passed, 1 a check failed, 77 no PostgreSQL server binaries (skipped).
"""

import argparse
import datetime
import json
import os
import pwd
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CRON = os.path.join(ROOT, "cron", "offpeak-cron")
SKIP = 77
TICK = datetime.timedelta(minutes=10)
TICK_TIMEOUT = 120  # real seconds one tick of the three hosts may take
HOSTS = ("host-a", "host-b", "host-c")

START = "2026-11-23T00:00:00Z"  # a Monday; Thanksgiving (XNYS) and Labour Thanksgiving (XTKS)
STALL_SESSION = "2026-11-24"  # xnys's session whose window's first run is killed mid-load
OUTAGE = "2026-11-25T17:30:00Z"  # PostgreSQL is down for this tick and the next: XLON opens

# Region -> (calendar, budget in seconds, URL path of its sources' fault, sources).
REGIONS = {
    "xnys": ("XNYS", 3600, "stall/", ("bars", "quotes")),
    "xlon": ("XLON", 1800, "503-twice/", ("bars",)),
    "xtks": ("XTKS", 900, "401/", ("bars",)),
    "xasx": ("XASX", 1800, "", ("bars",)),
    "xetr": ("XETR", 5400, "500/", ("bars",)),
}
DENIED = "xtks"
FLAKY = "xlon"
BROKEN = "xetr"
KILLED = "xnys"


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


class Failure(Exception):
    pass


def environment(**settings):
    """The test's environment without the database, the tools' settings or the journal that
    the one running it may have set (pg_virtualenv's PG*, say), plus `settings`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "OFFPEAK_")) and k not in ("DATABASE_URL", "JOURNAL_STREAM")}
    env.update(settings)
    return env


# ------------------------------------------------------------------------------------------
# A PostgreSQL cluster of the test's own


def postgres_bin_dir():
    """Where initdb and pg_ctl are: PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return os.path.dirname(shutil.which("pg_ctl"))
    base = "/usr/lib/postgresql"
    versions = sorted((d for d in os.listdir(base) if d.isdigit()), key=int) if os.path.isdir(base) else []
    for version in reversed(versions):
        path = os.path.join(base, version, "bin")
        if os.path.exists(os.path.join(path, "initdb")) and os.path.exists(os.path.join(path, "pg_ctl")):
            return path
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb'd into a folder of its own; listens only on a Unix socket in it. As root the
    server runs as the postgres user (it refuses to run as root)."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self.dir = tempfile.mkdtemp(prefix="offpeak-fleet-pg.")
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "socket")
        self.log = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.run("mkdir", self.socket_dir)
        self.run(os.path.join(bin_dir, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                 "--no-sync", "-E", "UTF8", "--locale=C")
        options = {"listen_addresses": "''", "unix_socket_directories": f"'{self.socket_dir}'",
                   "port": self.port, "fsync": "off", "synchronous_commit": "off",
                   "full_page_writes": "off", "max_connections": 100}
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write("".join(f"{k} = {v}\n" for k, v in options.items()))
        self.start()

    def run(self, *command):
        result = subprocess.run(self.as_user + list(command), capture_output=True, text=True, timeout=120,
                                env=environment())
        if result.returncode != 0:
            raise Failure(f"{' '.join(command)} exited {result.returncode}: {result.stderr}")

    def start(self):
        self.run(os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "start")

    def stop(self, mode="fast"):
        self.run(os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def environment(self, db):
        return {"PGHOST": self.socket_dir, "PGPORT": str(self.port), "PGUSER": "postgres", "PGDATABASE": db}

    def close(self, keep):
        try:
            self.stop("immediate")
        except Failure:
            pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Psql:
    def __init__(self, cluster, db):
        self.env = environment(**cluster.environment(db))

    def __call__(self, sql):
        result = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
                                capture_output=True, text=True, timeout=120, env=self.env)
        if result.returncode != 0:
            raise Failure(f"psql: {result.stderr.strip()} (in {sql.strip()[:200]!r})")
        return result.stdout.rstrip("\n")

    def rows(self, sql):
        out = self(sql)
        return [line.split("\t") for line in out.split("\n")] if out else []

    def table_exists(self, name):
        return self(f"SELECT to_regclass('{name}') IS NOT NULL") == "t"


# ------------------------------------------------------------------------------------------
# The server, the config, the hosts


class Server:
    """tests/fleet/server.py; its events (`stalled PORT PATH`) go to `events`."""

    def __init__(self, events, *args):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise Failure("tests/fleet/server.py did not start")
        threading.Thread(target=self.forward, args=(events,), daemon=True).start()

    def forward(self, events):
        for line in self.proc.stdout:
            events.put(("server",) + tuple(line.split()))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def write_config(work, url):
    """regions.toml naming shipped calendars, copied beside it (calendars/CODE.toml)."""
    os.makedirs(os.path.join(work, "calendars"), exist_ok=True)
    text = '[defaults]\ntimeout = "20s"\nretries = 0\n\n'
    for region, (calendar, budget, fault, sources) in REGIONS.items():
        shutil.copy(os.path.join(ROOT, "calendars", f"{calendar}.toml"), os.path.join(work, "calendars"))
        text += (f'[regions.{region}]\ncalendar = "{calendar}"\noffpeak_after_close = "1h"\n'
                 f'offpeak_before_open = "1h"\nbudget = "{budget}s"\n\n')
        for source in sources:
            text += (f'[[regions.{region}.sources]]\nname = "{source}"\n'
                     f'url = "{url}/fleet/{fault}bars?region={region}&date={{session_date}}"\n'
                     'records = "/results"\nkey = ["T", "d"]\n'
                     'paginate = { type = "json_link", next = "/next_url" }\n\n')
    path = os.path.join(work, "regions.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Host:
    def __init__(self, name, work, bin_dir, config, cluster, cron):
        self.name = name
        self.cron = cron
        self.dir = os.path.join(work, name)
        for sub in ("state", "tmp"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o700, exist_ok=True)
        self.env = environment(OFFPEAK_LEDGER="1", OFFPEAK_HOST=name, OFFPEAK_BIN_DIR=bin_dir,
                               OFFPEAK_CONFIG=config, OFFPEAK_STATE_DIR=os.path.join(self.dir, "state"),
                               TMPDIR=os.path.join(self.dir, "tmp"), OFFPEAK_LOG_LEVEL="info",
                               OFFPEAK_RETRY_BASE_MS="0", **cluster.environment("fleet"))
        self.log = open(os.path.join(self.dir, "offpeak-cron.log"), "a")
        self.proc = None

    def start(self, at, events):
        """One tick, in a process group of its own (the host: killing it kills them all)."""
        self.log.write(f"--- tick {at}\n")
        self.log.flush()
        self.proc = subprocess.Popen([self.cron, "--at", at], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=self.env, cwd=self.dir, start_new_session=True)
        proc = self.proc
        threading.Thread(target=lambda: events.put(("exit", self.name, proc.wait())), daemon=True).start()


def pid_of_local_port(port):
    """The process holding the TCP socket whose local end is 127.0.0.1:PORT (Linux /proc)."""
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}":
                inode = fields[9]
    if inode is None:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
            except OSError:
                pass
    return None


# ------------------------------------------------------------------------------------------
# The week


class Fleet:
    def __init__(self, args):
        self.args = args
        self.bin_dir = os.path.abspath(args.bin_dir)
        self.work = tempfile.mkdtemp(prefix="offpeak-fleet.")
        self.events = queue.Queue()
        self.cluster = None
        self.servers = []
        self.kill = None  # what the kill did: host, tick, window, lease_until
        self.outage_ticks = []
        self.exits = {}  # (tick, host) -> exit status
        self.unexpected = []  # events that came at a wrong time
        self.order = random.Random(12)  # the hosts start in a shuffled order each tick

    def print_logs(self, lines=15):
        """The end of each host's offpeak-cron.log, for a failure's report."""
        for host in getattr(self, "hosts", []):
            host.log.flush()
            with open(host.log.name, errors="replace") as f:
                tail = f.readlines()[-lines:]
            print(f"--- the end of {host.name}/offpeak-cron.log:\n{''.join(tail)}", end="")

    def close(self):
        for host in getattr(self, "hosts", []):
            if host.proc and host.proc.poll() is None:  # a tick that hung: its host goes
                os.killpg(host.proc.pid, signal.SIGKILL)
                host.proc.wait()
            host.log.close()
        for server in self.servers:
            server.close()
        if self.cluster:
            self.cluster.close(self.args.keep)
        if self.args.keep:
            print(f"kept {self.work} and {self.cluster.dir if self.cluster else ''}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def setup(self, pg_bin):
        self.cluster = Cluster(pg_bin)
        self.db = Psql(self.cluster, "fleet")
        admin = Psql(self.cluster, "postgres")
        admin("CREATE DATABASE fleet")
        admin("CREATE DATABASE clean")
        self.servers.append(Server(self.events, "--stall-date", STALL_SESSION))
        self.config = write_config(self.work, self.servers[0].url)
        self.hosts = [Host(name, self.work, self.bin_dir, self.config, self.cluster, self.args.cron)
                      for name in HOSTS]

    def ticks(self):
        start = parse_time(self.args.start)
        return [start + i * TICK for i in range(int(self.args.days * 24 * 6))]

    def run_week(self):
        outage = parse_time(OUTAGE)
        started = time.monotonic()
        for tick in self.ticks():
            if tick == outage:
                self.cluster.stop()
            if tick == outage + 2 * TICK:
                self.cluster.start()
            if outage <= tick < outage + 2 * TICK:
                self.outage_ticks.append(rfc3339(tick))
            self.run_tick(rfc3339(tick))
            if self.args.verbose and tick.hour == 0 and tick.minute == 0:
                print(f"{rfc3339(tick)}: {time.monotonic() - started:.0f} s", flush=True)
        self.seconds = time.monotonic() - started

    def run_tick(self, at):
        """All three hosts started for `at`, then waited for; a stall kills its host."""
        for host in self.order.sample(self.hosts, len(self.hosts)):
            host.start(at, self.events)
        running = {host.name for host in self.hosts}
        while running:
            try:
                kind, *rest = self.events.get(timeout=TICK_TIMEOUT)
            except queue.Empty:
                raise Failure(f"tick {at}: {', '.join(sorted(running))} did not finish in {TICK_TIMEOUT} s")
            if kind == "exit":
                running.discard(rest[0])
                self.exits[(at, rest[0])] = rest[1]
            elif rest[0] == "stalled":
                self.kill_stalled(at, int(rest[1]), rest[2])
            elif rest[0] != "released":
                self.unexpected.append(f"tick {at}: {kind} {rest}")

    def kill_stalled(self, at, port, path):
        """The host whose process waits for the stalled response dies: SIGKILL to its group."""
        pid = pid_of_local_port(port)
        group = os.getpgid(pid) if pid else None
        host = next((h for h in self.hosts if h.proc and h.proc.pid == group), None)
        if host is None:
            self.unexpected.append(f"tick {at}: the stalled client (port {port}, pid {pid}) is no host's")
            return
        # What the ledger says of the run before it dies: it is this host's, and its lease.
        lease = []
        if self.db.table_exists("offpeak.runs"):
            lease = self.db.rows("SELECT window_id, host, attempt, to_char(lease_until AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM offpeak.runs "
                                 f"WHERE region = '{KILLED}' AND state = 'running'")
        os.killpg(group, signal.SIGKILL)
        self.kill = {"tick": at, "host": host.name, "pid": pid, "path": path, "ledger": lease}
        if self.args.verbose:
            print(f"{at}: killed {host.name} (process group {group}), stalled on {path}; ledger: {lease}",
                  flush=True)

    # --------------------------------------------------------------------------------------
    # The clean run and the windows

    def windows(self):
        """The windows the week must have done: those offpeak-plan lists that some tick of the
        week could claim with an hour to spare for retries, with their budgets."""
        ticks = self.ticks()
        first, last = ticks[0], ticks[-1]
        result = subprocess.run([os.path.join(self.bin_dir, "offpeak-plan"), "--config", self.config,
                                 "--windows", "--json", "--from", rfc3339(first), "--to", rfc3339(last)],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise Failure(f"offpeak-plan --windows exited {result.returncode}: {result.stderr}")
        expected = []
        for line in result.stdout.splitlines():
            w = json.loads(line)
            budget = REGIONS[w["region"]][1]
            begin = max(first, parse_time(w["window_start"]))
            if begin + datetime.timedelta(hours=1) <= last and \
                    begin + datetime.timedelta(hours=1, seconds=budget) < parse_time(w["window_end"]):
                w["budget"] = budget
                w["first_tick"] = rfc3339(first + -(-(begin - first) // TICK) * TICK)
                expected.append(w)
        return expected

    def clean_run(self, windows):
        """Each window once, by hand: offpeak-scrape | offpeak-load into the database `clean`,
        from a server without the faults that pass."""
        server = Server(queue.Queue(), "--clean")
        self.servers.append(server)
        clean_dir = os.path.join(self.work, "clean")
        os.makedirs(clean_dir)
        shutil.copytree(os.path.join(self.work, "calendars"), os.path.join(clean_dir, "calendars"))
        config = write_config(clean_dir, server.url)
        env = environment(OFFPEAK_RETRY_BASE_MS="0", **self.cluster.environment("clean"))
        codes = {}
        for w in windows:
            scrape = subprocess.Popen([os.path.join(self.bin_dir, "offpeak-scrape"), "--config", config,
                                       "--at", w["first_tick"], "--", w["region"]],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            load = subprocess.run([os.path.join(self.bin_dir, "offpeak-load")], stdin=scrape.stdout,
                                  capture_output=True, text=True, env=env, timeout=120)
            scrape.stdout.close()
            scrape.wait(timeout=120)
            codes[w["window_id"]] = (scrape.returncode, load.returncode, scrape.stderr.read().decode())
        return codes


# ------------------------------------------------------------------------------------------
# The checks: each one says what it found when it fails


class Checks:
    def __init__(self):
        self.results = []

    def run(self, name, fn, *args):
        try:
            problems = fn(*args)
        except Failure as e:
            problems = [str(e)]
        self.results.append((name, problems or []))
        status = "ok" if not problems else "FAILED"
        print(f"{status}: {name}")
        for p in (problems or [])[:12]:
            print(f"    {p}")
        if problems and len(problems) > 12:
            print(f"    ... and {len(problems) - 12} more")
        sys.stdout.flush()

    def failed(self):
        return [name for name, problems in self.results if problems]


def ledger_tables(db):
    missing = [t for t in ("offpeak.runs", "offpeak.run_attempts") if not db.table_exists(t)]
    if missing:
        raise Failure(f"no {' or '.join(missing)} in the database: the hosts did not run in the "
                      "ledger's mode (OFFPEAK_LEDGER=1)")


def check_ticks(fleet):
    """Each host's tick ended by itself (bar the killed one) with a status the week explains:
    0, 69 (the 401 source), 75 (503, or the database down)."""
    problems = list(fleet.unexpected)
    for (at, host), code in sorted(fleet.exits.items()):
        killed = fleet.kill and fleet.kill["tick"] == at and fleet.kill["host"] == host
        if killed:
            if code != -signal.SIGKILL:
                problems.append(f"tick {at}: the killed {host} exited {code}")
        elif code not in (0, 69, 75):
            problems.append(f"tick {at}: {host} exited {code}" +
                            (" (a signal)" if code < 0 else "") + f"; see {host}/offpeak-cron.log")
    return problems


def check_outage_ticks_failed(fleet):
    """With PostgreSQL down, no host claims anything, and says so: exit 75, try again."""
    if not fleet.outage_ticks:
        return [f"the database was never stopped: {OUTAGE} is not a tick of the simulated span"]
    return [f"tick {at}: {host} exited {fleet.exits.get((at, host))} with the database down, expected 75"
            for at in fleet.outage_ticks for host in HOSTS if fleet.exits.get((at, host)) != 75]


def check_windows_done_once(fleet, windows):
    db = fleet.db
    ledger_tables(db)
    runs = {(r[0], r[1]): r[2:] for r in db.rows(
        "SELECT region, window_id, state, load_id, permanent FROM offpeak.runs")}
    done_attempts = {(r[0], r[1]): int(r[2]) for r in db.rows(
        "SELECT region, window_id, count(*) FROM offpeak.run_attempts WHERE state = 'done' "
        "GROUP BY 1, 2")}
    problems = []
    load_ids = []
    for w in windows:
        if w["region"] in (DENIED, BROKEN):
            continue
        key = (w["region"], w["window_id"])
        if key not in runs:
            problems.append(f"{w['window_id']}: no row in offpeak.runs")
            continue
        state, load_id, _ = runs[key]
        if state != "done":
            problems.append(f"{w['window_id']}: {state}, not done")
        if done_attempts.get(key, 0) != 1:
            problems.append(f"{w['window_id']}: {done_attempts.get(key, 0)} attempts done, not 1")
        if state == "done" and not load_id:
            problems.append(f"{w['window_id']}: done without a load_id")
        load_ids.append(load_id)
    ids = [i for i in load_ids if i]
    if len(ids) != len(set(ids)):
        problems.append(f"two windows name one load: {sorted(ids)}")
    if ids and db.table_exists("offpeak.loads"):
        known = {r[0] for r in db.rows("SELECT id FROM offpeak.loads WHERE finished IS NOT NULL")}
        problems += [f"load {i} of the ledger is no finished load in offpeak.loads" for i in ids if i not in known]
    return problems


def check_denied_region(fleet, windows):
    """xtks's 401: failed for good in each window, after a single attempt."""
    db = fleet.db
    ledger_tables(db)
    runs = {r[0]: r[1:] for r in db.rows(
        f"SELECT window_id, state, permanent, attempt, scrape_exit FROM offpeak.runs WHERE region = '{DENIED}'")}
    attempts = {}
    for window_id, scrape_exit in db.rows(
            f"SELECT window_id, scrape_exit FROM offpeak.run_attempts WHERE region = '{DENIED}'"):
        attempts.setdefault(window_id, []).append(scrape_exit)
    problems = []
    for w in (w for w in windows if w["region"] == DENIED):
        if w["window_id"] not in runs:
            problems.append(f"{w['window_id']}: no row in offpeak.runs")
            continue
        state, permanent, _, scrape_exit = runs[w["window_id"]]
        # A closed window is swept to missed; it keeps its permanent failure.
        if state not in ("failed", "missed") or permanent != "t":
            problems.append(f"{w['window_id']}: {state}, permanent={permanent}; expected failed for good")
        if scrape_exit != "69":
            problems.append(f"{w['window_id']}: scrape_exit {scrape_exit}, expected 69")
        if attempts.get(w["window_id"]) != ["69"]:
            problems.append(f"{w['window_id']}: attempts' scrape exits {attempts.get(w['window_id'])}, "
                            "expected one, 69")
    return problems


def check_retries_back_off(fleet, windows):
    """xlon's 503s: two failed attempts (75) at later and later ticks, then done."""
    db = fleet.db
    ledger_tables(db)
    rows = db.rows(
        "SELECT window_id, attempt, state, scrape_exit, extract(epoch FROM started), "
        f"extract(epoch FROM finished) FROM offpeak.run_attempts WHERE region = '{FLAKY}' ORDER BY 1, 2")
    by_window = {}
    for window_id, attempt, state, scrape_exit, started, finished in rows:
        by_window.setdefault(window_id, []).append((state, scrape_exit, float(started),
                                                    float(finished) if finished else None))
    problems = []
    for w in (w for w in windows if w["region"] == FLAKY):
        a = by_window.get(w["window_id"], [])
        states = [(x[0], x[1] if x[0] == "failed" else "") for x in a]
        if states != [("failed", "75"), ("failed", "75"), ("done", "")]:
            problems.append(f"{w['window_id']}: attempts {states}, expected failed 75 twice, then done")
            continue
        gap1, gap2 = a[1][2] - a[0][3], a[2][2] - a[1][3]
        if not 0 < gap1 < gap2:
            problems.append(f"{w['window_id']}: retries {gap1:.0f} s and {gap2:.0f} s after the "
                            "failures; expected a later tick each, waiting longer the second time")
    return problems


def check_broken_source(fleet, windows):
    """xetr's 500s: each window retried, backing off, until the next retry would have had
    less than the budget left; then missed (or still failed, if it is still open). An attempt
    the killed host held dies with it and is taken over once its lease runs out: it says so,
    and the wait before its successor is the lease's, not a backoff."""
    db = fleet.db
    ledger_tables(db)
    last_tick = fleet.ticks()[-1]
    runs = {r[0]: r[1:] for r in db.rows(
        "SELECT window_id, state, permanent, extract(epoch FROM retry_at), extract(epoch FROM window_end) "
        f"FROM offpeak.runs WHERE region = '{BROKEN}'")}
    attempts = {}
    for window_id, state, scrape_exit, started, killed in db.rows(
            "SELECT window_id, state, scrape_exit, extract(epoch FROM started), "
            "coalesce(host = '{}' AND started = '{}' AND error LIKE 'lease expired%', false) "
            "FROM offpeak.run_attempts WHERE region = '{}' ORDER BY window_id, attempt".format(
                fleet.kill["host"] if fleet.kill else "", fleet.kill["tick"] if fleet.kill else START, BROKEN)):
        if killed == "t":
            state, scrape_exit = "killed", "75"
        attempts.setdefault(window_id, []).append((state, scrape_exit, float(started)))
    budget = REGIONS[BROKEN][1]
    problems = []
    for w in (w for w in windows if w["region"] == BROKEN):
        if w["window_id"] not in runs:
            problems.append(f"{w['window_id']}: no row in offpeak.runs")
            continue
        state, permanent, retry_at, end = runs[w["window_id"]]
        closed = parse_time(w["window_end"]) <= last_tick
        if state != ("missed" if closed else "failed") or permanent != "f":
            problems.append(f"{w['window_id']}: {state}, permanent={permanent}; expected "
                            f"{'missed' if closed else 'failed'}, not permanent")
        a = attempts.get(w["window_id"], [])
        if len(a) < 3 or any(s not in ("failed", "killed") or e != "75" for s, e, _ in a):
            problems.append(f"{w['window_id']}: attempts {[(s, e) for s, e, _ in a]}; expected three or "
                            "more, failed with 75")
            continue
        gaps = [b[2] - a_[2] for a_, b in zip(a, a[1:]) if a_[0] != "killed"]
        if any(later < earlier for earlier, later in zip(gaps, gaps[1:])):
            problems.append(f"{w['window_id']}: retries {gaps} s apart; expected no shorter wait after a longer")
        if closed and retry_at:
            first = fleet.ticks()[0].timestamp()
            tick = first + -(-(float(retry_at) - first) // TICK.total_seconds()) * TICK.total_seconds()
            if tick + budget < float(end):
                problems.append(f"{w['window_id']}: missed although its next retry had its budget left")
    return problems


def check_no_overlap(fleet, budgets):
    """No region ran on two hosts (or twice) at once: in simulated time, an attempt holds its
    region from its start to its finish, and at least through its tick (its start's second)."""
    db = fleet.db
    ledger_tables(db)
    rows = db.rows("""
        WITH a AS (
          SELECT region, window_id, source, attempt, host, started,
                 greatest(coalesce(finished, 'infinity'), started + interval '1 second') AS until
          FROM offpeak.run_attempts)
        SELECT a.region, a.window_id, a.attempt, a.host, a.started, b.window_id, b.attempt, b.host, b.started
        FROM a JOIN a b ON a.region = b.region AND a.source = b.source
          AND (a.window_id, a.attempt) < (b.window_id, b.attempt)
          AND a.started < b.until AND b.started < a.until
        ORDER BY 1, 2, 3""")
    return [f"{r[0]}: {r[1]} attempt {r[2]} on {r[3]} (from {r[4]}) overlaps {r[5]} attempt {r[6]} "
            f"on {r[7]} (from {r[8]})" for r in rows]


def check_budget(fleet, budgets):
    """Every attempt, retries and takeovers included, started with its budget left."""
    db = fleet.db
    ledger_tables(db)
    values = ", ".join(f"('{r}', {b})" for r, b in budgets.items())
    rows = db.rows(f"""
        SELECT a.region, a.window_id, a.attempt, a.host, a.started, r.window_end, b.budget
        FROM offpeak.run_attempts a JOIN offpeak.runs r USING (region, window_id)
        JOIN (VALUES {values}) AS b (region, budget) ON b.region = a.region
        WHERE a.started + make_interval(secs => b.budget) >= r.window_end""")
    count = db("SELECT count(*) FROM offpeak.run_attempts")
    problems = [f"{r[1]} attempt {r[2]} on {r[3]} started {r[4]}, with less than {r[6]} s "
                f"left before {r[5]}" for r in rows]
    if count == "0":
        problems.append("no attempts recorded")
    return problems


def check_takeover(fleet):
    """The killed run: its host's, lease running at the kill; taken over by the first claim
    after the lease ran out, and done."""
    if fleet.kill is None:
        return ["no run was killed: the stalled fetch never came (xnys's session "
                f"{STALL_SESSION}) or its client was no host's"]
    db = fleet.db
    ledger_tables(db)
    kill = fleet.kill
    if len(kill["ledger"]) != 1:
        return [f"at the kill ({kill['tick']}) the ledger had {len(kill['ledger'])} running xnys "
                f"windows ({kill['ledger']}), expected 1"]
    window_id, host, attempt, lease_until = kill["ledger"][0]
    problems = []
    if host != kill["host"]:
        problems.append(f"the killed host was {kill['host']}, the ledger's running attempt {host}'s")
    rows = db.rows(
        "SELECT attempt, host, state, coalesce(error, ''), to_char(started AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM offpeak.run_attempts "
        f"WHERE region = '{KILLED}' AND window_id = '{window_id}' AND source = '' ORDER BY attempt")
    killed = [r for r in rows if r[0] == attempt]
    later = [r for r in rows if int(r[0]) > int(attempt)]
    if not killed or killed[0][2] != "failed" or not killed[0][3].startswith("lease expired"):
        problems.append(f"the killed attempt {attempt} of {window_id}: {killed}; expected failed, "
                        "'lease expired; taken over by ...'")
    if not later:
        problems.append(f"{window_id}: no attempt after the killed one")
    else:
        takeover = later[0]
        if takeover[4] < lease_until:
            problems.append(f"{window_id}: taken over at {takeover[4]}, before the lease ran out at {lease_until}")
        # Claimable once lease_until < now: the first tick after it.
        held = parse_time(lease_until) - parse_time(kill["tick"])
        first_tick_after = rfc3339(parse_time(kill["tick"]) + (held // TICK + 1) * TICK)
        if takeover[4] > first_tick_after:
            problems.append(f"{window_id}: taken over at {takeover[4]}, not at the first tick after the "
                            f"lease ran out ({first_tick_after})")
        if killed and killed[0][3] != f"lease expired; taken over by {takeover[1]}":
            problems.append(f"the killed attempt's error {killed[0][3]!r} does not name {takeover[1]}")
        if later[-1][2] != "done":
            problems.append(f"{window_id}: its last attempt is {later[-1][2]}, not done")
    return problems


def check_hosts_shared(fleet):
    """The week was a fleet's: each host won claims (else nothing was contended)."""
    db = fleet.db
    ledger_tables(db)
    won = dict(db.rows("SELECT host, count(*) FROM offpeak.run_attempts GROUP BY 1"))
    return [f"{host} won no claim (attempts per host: {won})" for host in HOSTS if host not in won]


def check_status_json(fleet, windows):
    """offpeak-ledger status --json tells the same as the tables."""
    db = fleet.db
    ledger_tables(db)
    # The ledger's clock is the week's end, as offpeak-cron --at sets it (offpeak.now).
    end = rfc3339(fleet.ticks()[-1])
    env = environment(PGOPTIONS=f"-c offpeak.now={end}", **fleet.cluster.environment("fleet"))
    days = int(fleet.args.days) + 3
    result = subprocess.run([os.path.join(fleet.bin_dir, "offpeak-ledger"), "status", "--json",
                             "--nights", str(days)], capture_output=True, text=True, env=env, timeout=60)
    if result.returncode != 0:
        return [f"offpeak-ledger status --json exited {result.returncode}: {result.stderr}"]
    status = {(o["region"], o["window_id"]): (o["state"], o["attempts"]) for o in
              map(json.loads, result.stdout.splitlines())}
    problems = []
    for region, window_id, state, attempt in db.rows("SELECT region, window_id, state, attempt FROM offpeak.runs"):
        if status.get((region, window_id)) != (state, int(attempt)):
            problems.append(f"{window_id}: status says {status.get((region, window_id))}, "
                            f"offpeak.runs ({state}, {attempt})")
    return problems


def check_data(fleet, windows, clean_codes):
    """The records the fleet loaded equal those of one clean run of each window."""
    problems = []
    for w in windows:
        scrape_exit, load_exit, err = clean_codes[w["window_id"]]
        expected = {DENIED: (69, 0), BROKEN: (75, 0)}.get(w["region"], (0, 0))
        if (scrape_exit, load_exit) != expected:
            problems.append(f"clean run of {w['window_id']}: scrape {scrape_exit}, load {load_exit}: {err}")
    sql = "SELECT region, source, key, record::text FROM offpeak.records ORDER BY 1, 2, 3"
    clean = Psql(fleet.cluster, "clean")
    want = clean.rows(sql) if clean.table_exists("offpeak.records") else []
    have = fleet.db.rows(sql) if fleet.db.table_exists("offpeak.records") else []
    if not want:
        problems.append("the clean run loaded no records")
    missing = sorted(set(map(tuple, want)) - set(map(tuple, have)))
    extra = sorted(set(map(tuple, have)) - set(map(tuple, want)))
    problems += [f"missing: {r}" for r in missing] + [f"not in the clean run's: {r}" for r in extra]
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", required=True, help="where offpeak-plan, -scrape, -load, -ledger are")
    parser.add_argument("--cron", default=CRON, help="the offpeak-cron to run (default: this tree's)")
    parser.add_argument("--days", type=float, default=7, help="simulated days (default 7)")
    parser.add_argument("--start", default=START, help=f"the first tick (default {START})")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and the cluster")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress and the kill")
    args = parser.parse_args()
    pg_bin = postgres_bin_dir()
    if pg_bin is None or shutil.which("psql") is None:
        print("skipped: no initdb, pg_ctl and psql (Debian's postgresql package)")
        return SKIP
    fleet = Fleet(args)
    checks = Checks()
    try:
        run_checks(fleet, checks, pg_bin)
    except Failure as e:
        checks.results.append(("the week", [str(e)]))
        print(f"FAILED: {e}")
    finally:
        failed = checks.failed()
        if failed:
            fleet.print_logs()
        fleet.close()
    print(f"{len(checks.results) - len(failed)} of {len(checks.results)} checks passed")
    return 1 if failed else 0


def run_checks(fleet, checks, pg_bin):
    budgets = {r: spec[1] for r, spec in REGIONS.items()}
    fleet.setup(pg_bin)
    fleet.run_week()
    print(f"{len(fleet.ticks())} ticks of {len(HOSTS)} hosts in {fleet.seconds:.0f} s", flush=True)
    windows = fleet.windows()
    for region in REGIONS:
        n = sum(1 for w in windows if w["region"] == region)
        checks.run(f"the week has windows of {region}", lambda n=n: [] if n >= 4 else [f"only {n}"])
    clean_codes = fleet.clean_run(windows)
    checks.run("every tick ended by itself, with 0, 69 or 75", check_ticks, fleet)
    checks.run("ticks with the database down exit 75", check_outage_ticks_failed, fleet)
    checks.run("every window done exactly once (bar the 401 and 500 regions')", check_windows_done_once,
               fleet, windows)
    checks.run("the 401 region: failed for good, one attempt per window", check_denied_region,
               fleet, windows)
    checks.run("the 503 source: retried at later ticks with backoff, then done",
               check_retries_back_off, fleet, windows)
    checks.run("the 500 source: retried while the budget lasted, then missed", check_broken_source,
               fleet, windows)
    checks.run("no region ran on two hosts at once", check_no_overlap, fleet, budgets)
    checks.run("no attempt started with less than its budget left", check_budget, fleet, budgets)
    checks.run("the killed run was taken over after its lease ran out", check_takeover, fleet)
    checks.run("every host won claims", check_hosts_shared, fleet)
    checks.run("offpeak-ledger status --json agrees with offpeak.runs", check_status_json, fleet, windows)
    checks.run("the data equals a clean run's", check_data, fleet, windows, clean_codes)


if __name__ == "__main__":
    sys.exit(main())
