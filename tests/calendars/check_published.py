#!/usr/bin/env python3
"""Checks a shipped calendar against the holidays its exchange published.

tests/calendars/published/<CODE>.txt is the exchange's own list, written down apart from
calendars/<CODE>.toml: a `# source:` line naming the publication, a `# years:` line naming
the years it covers completely, then one closed weekday a line, `YYYY-MM-DD  Name`.

The check asks offpeak-plan for the calendar's sessions over those years (`--sessions
--json`, through a throwaway regions.toml whose one region uses the calendar) and compares
the trading weekdays without a session with the published list, both ways. A session
belongs to its local `date` (for overnight sessions, the date it closes on). Which weekdays
normally trade comes from the calendar file (`weekdays`, and `[[changes]]` from their date).

Usage: check_published.py --bin-dir DIR CODE...   (exit 0 when every list matches, 1 when
one differs, 2 on a malformed list)
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALENDARS = os.path.join(ROOT, "calendars")
PUBLISHED = os.path.join(ROOT, "tests", "calendars", "published")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DEFAULT_WEEKDAYS = WEEKDAYS[:5]
LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})  (\S.*)$")


class Malformed(Exception):
    pass


def read_published(code):
    """The published list: (source, years, {date: name})."""
    path = os.path.join(PUBLISHED, code + ".txt")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].startswith("# source: "):
        raise Malformed(f"{path}:1: the first line must be `# source: ...`")
    years, closed = None, {}
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith("# years:"):
            years = [int(y) for y in line[len("# years:"):].split()]
            continue
        if not line.strip() or line.startswith("#"):
            continue
        match = LINE.match(line)
        if not match:
            raise Malformed(f"{path}:{number}: expected `YYYY-MM-DD  Name`, got {line!r}")
        day = datetime.date.fromisoformat(match.group(1))
        if day in closed:
            raise Malformed(f"{path}:{number}: {day} is listed twice")
        closed[day] = match.group(2)
    if not years:
        raise Malformed(f"{path}: no `# years:` line")
    for day in closed:
        if day.year not in years:
            raise Malformed(f"{path}: {day} is outside the years the list covers {years}")
    return lines[0][len("# source: "):], years, closed


def trading_weekdays(calendar):
    """A function from a date to whether the calendar normally trades that weekday."""
    base = calendar.get("weekdays", DEFAULT_WEEKDAYS)
    changes = sorted((datetime.date.fromisoformat(c["from"]), c["weekdays"])
                     for c in calendar.get("changes", []) if "weekdays" in c)

    def trades(day):
        days = base
        for start, weekdays in changes:
            if day >= start:
                days = weekdays
        return WEEKDAYS[day.weekday()] in days

    return trades


def session_dates(bin_dir, code, years):
    """The local dates on which the calendar has a session, over the years and a margin."""
    start = datetime.date(min(years), 1, 1) - datetime.timedelta(days=3)
    end = datetime.date(max(years) + 1, 1, 1) + datetime.timedelta(days=3)
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "regions.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f'[regions.{code.lower()}]\ncalendar = "{code}"\n'
                    'offpeak_after_close = "0s"\noffpeak_before_open = "0s"\n')
        os.symlink(CALENDARS, os.path.join(work, "calendars"))
        result = subprocess.run(
            [os.path.join(bin_dir, "offpeak-plan"), "--config", config, "--sessions", "--json",
             "--from", f"{start}T00:00:00Z", "--to", f"{end}T00:00:00Z"],
            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{code}: offpeak-plan --sessions exited {result.returncode}:\n{result.stderr}")
    return {datetime.date.fromisoformat(json.loads(line)["date"])
            for line in result.stdout.splitlines() if line.strip()}


def check(bin_dir, code):
    source, years, published = read_published(code)
    with open(os.path.join(CALENDARS, code + ".toml"), "rb") as f:
        calendar = tomllib.load(f)
    trades = trading_weekdays(calendar)
    sessions = session_dates(bin_dir, code, years)
    closed = set()
    for year in years:
        day = datetime.date(year, 1, 1)
        while day.year == year:
            if trades(day) and day not in sessions:
                closed.add(day)
            day += datetime.timedelta(days=1)
    missing = sorted(set(published) - closed)
    extra = sorted(closed - set(published))
    for day in missing:
        print(f"{code}: {day} {published[day]}: published as closed, but the calendar trades")
    for day in extra:
        print(f"{code}: {day}: the calendar does not trade, but the published list has it open")
    if missing or extra:
        print(f"{code}: source: {source}")
        return False
    print(f"{code}: {len(closed)} closed weekdays in {' '.join(map(str, years))} match")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", required=True, help="where offpeak-plan is")
    parser.add_argument("codes", nargs="+", metavar="CODE", help="calendar codes, e.g. XNAS")
    args = parser.parse_args()
    try:
        ok = [check(args.bin_dir, code) for code in args.codes]
    except Malformed as error:
        print(error, file=sys.stderr)
        return 2
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
