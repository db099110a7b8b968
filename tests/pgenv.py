"""What the PostgreSQL test scripts share: a fresh database per case, psql, checks, and the
command line that runs cases (tests/load/run.py, tests/cron/run.py).

The server is the one libpq's environment names (PGHOST, PGPORT, PGUSER, PGPASSWORD, as
pg_virtualenv sets them; scripts/test runs ctest under pg_virtualenv). When none is set, a
script runs itself under pg_virtualenv, which starts a throwaway server for the run. Each
case creates a fresh database and drops it at the end, so cases run in parallel.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120  # seconds any one command may take


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_equal(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}:\n  expected {expected!r}\n  actual   {actual!r}")


class Database:
    """A fresh database named for the case, a scratch folder, and psql against them."""

    def __init__(self, name, prefix):
        self.db = f"offpeak_{re.sub('[^a-z0-9]', '_', name)}_{os.getpid()}"
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.admin(f'DROP DATABASE IF EXISTS "{self.db}"')
        self.admin(f'CREATE DATABASE "{self.db}"')
        self.conninfo = f"dbname={self.db}"

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)
        self.admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    def admin(self, sql):
        return self.psql(sql, db="postgres")

    def psql(self, sql, db=None):
        result = subprocess.run(
            ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db or self.db, "-c", sql],
            capture_output=True, text=True, timeout=TIMEOUT)
        if result.returncode != 0:
            raise Failure(f"psql failed on {sql!r}: {result.stderr}")
        return result.stdout.rstrip("\n")

    def rows(self, sql):
        out = self.psql(sql)
        return [r.split("|") for r in out.split("\n")] if out else []

    def file(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        return path

    def tuple_counters(self, table="records", schema="offpeak"):
        """n_tup_ins, n_tup_upd, n_tup_del of the table, once every loader has gone: a
        backend reports its counters as it exits."""
        deadline = time.monotonic() + 30
        while self.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        f"'offpeak-load' AND datname = '{self.db}'") != "0":
            check(time.monotonic() < deadline, "offpeak-load's backends did not exit")
            time.sleep(0.05)
        # A new session reads the shared counters afresh.
        return self.rows("SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                         f"WHERE schemaname = '{schema}' AND relname = '{table}'")[0]


def cases_of(namespace):
    """The case_* functions of a script's globals, by name (case_first_load: first-load)."""
    return {name[len("case_"):].replace("_", "-"): fn
            for name, fn in sorted(namespace.items()) if name.startswith("case_")}


def run_cases(cases, make_env):
    """The command line of a test script: --list, or run the named cases (all by default)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    if args.list:
        print("\n".join(cases))
        return 0
    if not any(os.environ.get(v) for v in ("PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE")):
        # No server named: start a throwaway one for this run.
        os.execvp("pg_virtualenv", ["pg_virtualenv", sys.executable] + sys.argv)
    failed = 0
    for name in args.cases or cases:
        env = make_env(args.bin_dir, name)
        try:
            cases[name](env)
            print(f"ok: {name}")
        except (Failure, subprocess.TimeoutExpired) as e:
            print(f"FAILED: {name}: {e}")
            failed += 1
        finally:
            env.close()
    return 1 if failed else 0
