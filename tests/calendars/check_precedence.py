#!/usr/bin/env python3
"""Checks where `calendar = "CODE"` finds CODE.toml, with the real directories.

A region's calendar file is the first CODE.toml of: calendars/ beside the config,
/etc/offpeak/calendars, then the shipped directory compiled into offpeak-plan (its
share/offpeak/calendars). Two of those are system paths, so the check runs in a mount
namespace of its own (`unshare --mount`) in which /etc and the shipped directory are
overlays whose changes vanish with the namespace: the machine's own /etc and /usr are
never written. That needs root; without it (or without unshare) the check exits 77, which
ctest reports as skipped.

It takes the shipped directory from offpeak-plan's own error for a missing calendar (which
names every directory it looked in), puts the shipped calendars/XNYS.toml there, an edited
copy in /etc/offpeak/calendars and another beside the config, and checks with
`offpeak-plan --sessions` which one each setup reads: beside over /etc over shipped, each
file whole. It also checks that a config in /etc/offpeak looks in /etc/offpeak/calendars
once.

Usage: check_precedence.py --bin-dir DIR   (exit 0 when every setup reads the right file)
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = 77
ETC = "/etc/offpeak/calendars"
# 2026-12-21 to 2026-12-25: the shipped XNYS trades Monday to Thursday (13:00 close on the
# 24th) and closes Christmas. Each copy closes one more day, which names it.
WEEK = ["--from", "2026-12-21T00:00:00Z", "--to", "2026-12-26T00:00:00Z"]
SHIPPED_DAYS = ["2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24"]


def fail(message):
    print(f"check_precedence: {message}", file=sys.stderr)
    sys.exit(1)


def plan(bin_dir, config, *args):
    return subprocess.run([os.path.join(bin_dir, "offpeak-plan"), "--config", config, *args],
                          capture_output=True, text=True)


def session_days(bin_dir, config):
    result = plan(bin_dir, config, "--sessions", "--json", *WEEK)
    if result.returncode != 0:
        fail(f"--sessions with {config} exited {result.returncode}: {result.stderr.strip()}")
    return [json.loads(line)["date"] for line in result.stdout.splitlines()]


def searched_dirs(bin_dir, config_dir):
    """The directories offpeak-plan looks in, from its error for a calendar that is nowhere."""
    config = os.path.join(config_dir, "regions.toml")
    with open(config, "w") as f:
        f.write('[regions.none]\ncalendar = "NOWHERE"\n')
    result = plan(bin_dir, config, "--check")
    m = re.search(r"no calendar file NOWHERE\.toml in (.*)$", result.stderr, re.M)
    if result.returncode != 78 or not m:
        fail(f"expected exit 78 and 'no calendar file' for a missing calendar, got "
             f"{result.returncode}: {result.stderr.strip()}")
    return m.group(1).split(", ")


def overlay(path, scratch):
    """Makes `path` (made if missing) writable in this namespace only: an overlay on its
    nearest existing ancestor, with the upper layer in `scratch` (a tmpfs)."""
    ancestor = path
    while not os.path.isdir(ancestor):
        ancestor = os.path.dirname(ancestor)
    upper = tempfile.mkdtemp(dir=scratch)
    work = tempfile.mkdtemp(dir=scratch)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={ancestor},upperdir={upper},workdir={work}", ancestor], check=True)
    os.makedirs(path, exist_ok=True)


def write_copy(directory, closed_day):
    """calendars/XNYS.toml as shipped, plus a closure on `closed_day`."""
    os.makedirs(directory, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "calendars", "XNYS.toml"), directory)
    with open(os.path.join(directory, "XNYS.toml"), "a") as f:
        f.write(f'\n[[holidays]]\nname = "Test closure"\ndates = ["{closed_day}"] # test\n')


def inside(bin_dir):
    scratch = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", scratch], check=True)
    config_dir = os.path.join(scratch, "config")
    os.makedirs(config_dir)
    dirs = searched_dirs(bin_dir, config_dir)
    beside = os.path.join(config_dir, "calendars")
    if len(dirs) != 3 or dirs[0] != beside or dirs[1] != ETC:
        fail(f"offpeak-plan looks in {dirs}; expected {beside}, {ETC}, then the shipped one")
    shipped = dirs[2]
    overlay(shipped, scratch)
    overlay(os.path.dirname(ETC), scratch)  # /etc/offpeak: regions.toml goes there too
    os.makedirs(ETC, exist_ok=True)
    for d in (shipped, ETC):
        for name in os.listdir(d):
            os.remove(os.path.join(d, name))  # in the overlay only
    shutil.copy(os.path.join(ROOT, "calendars", "XNYS.toml"), shipped)
    write_copy(ETC, "2026-12-22")
    write_copy(beside, "2026-12-23")

    config = os.path.join(config_dir, "regions.toml")
    with open(config, "w") as f:
        f.write('[regions.xnys]\ncalendar = "XNYS"\n')
    without = lambda day: [d for d in SHIPPED_DAYS if d != day]
    checks = [("beside the config", without("2026-12-23"))]
    got = [session_days(bin_dir, config)]
    shutil.rmtree(beside)
    checks.append(("/etc/offpeak/calendars", without("2026-12-22")))
    got.append(session_days(bin_dir, config))
    os.remove(os.path.join(ETC, "XNYS.toml"))
    checks.append(("the shipped directory", SHIPPED_DAYS))
    got.append(session_days(bin_dir, config))
    for (which, expected), days in zip(checks, got):
        if days != expected:
            fail(f"expected the calendar {which}, trading {expected}; got {days}")

    # A config in /etc/offpeak: its calendars/ is /etc/offpeak/calendars, looked in once.
    etc_dirs = searched_dirs(bin_dir, os.path.dirname(ETC))
    if etc_dirs != [ETC, shipped]:
        fail(f"with /etc/offpeak/regions.toml, offpeak-plan looks in {etc_dirs}")
    print(f"ok: beside the config, then {ETC}, then {shipped}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin_dir)
    if args.inside:
        return inside(bin_dir)
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("check_precedence: skipped: needs root and unshare (a mount namespace)")
        return SKIP
    # --propagation private: nothing mounted inside reaches the machine's namespace.
    return subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                           os.path.abspath(__file__), "--bin-dir", bin_dir, "--inside"]).returncode


if __name__ == "__main__":
    sys.exit(main())
