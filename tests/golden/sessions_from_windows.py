#!/usr/bin/env python3
"""Sessions as `offpeak-plan --sessions --json` prints them, worked out from the off-peak
windows an older offpeak-plan (without --sessions) printed for a config with no margins.

With no margins, the time between two consecutive windows of a region is exactly one trading
day, from its first open to its last close; its breaks are the region's regular breaks that lie
inside it. This is how tests/golden/plan/shipped-calendars-2026-2027-as-before.case got its
expected output from offpeak 2e836d4 (before calendar files), so that the calendars rewritten
with rules are checked against the inline lists they replaced:

    offpeak-plan --config NOMARGINS.toml --windows --json --from 2026-01-01T00:00:00Z \\
        --to 2028-01-01T00:00:00Z | sessions_from_windows.py --breaks xtks=Asia/Tokyo=11:30-12:30 \\
        --breaks xhkg=Asia/Hong_Kong=12:00-13:00 --from 2026-01-01T00:00:00Z --to 2028-01-01T00:00:00Z
"""

import argparse
import datetime
import json
import sys
import zoneinfo


def utc(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def text(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--breaks", action="append", default=[],
                        help="REGION=ZONE=HH:MM-HH:MM, a regular break")
    parser.add_argument("--zone", action="append", default=[], help="REGION=ZONE")
    parser.add_argument("--from", dest="start", required=True)
    parser.add_argument("--to", dest="end", required=True)
    args = parser.parse_args()
    zones, breaks = {}, {}
    for item in args.zone:
        region, zone = item.split("=")
        zones[region] = zoneinfo.ZoneInfo(zone)
    for item in args.breaks:
        region, zone, span = item.split("=")
        zones[region] = zoneinfo.ZoneInfo(zone)
        breaks.setdefault(region, []).append(span.split("-"))
    start, end = utc(args.start), utc(args.end)

    windows = {}
    order = []
    for line in sys.stdin:
        w = json.loads(line)
        if w["region"] not in windows:
            order.append(w["region"])
        windows.setdefault(w["region"], []).append((utc(w["window_start"]), utc(w["window_end"])))
    for region in order:
        zone = zones.get(region, datetime.timezone.utc)
        spans = windows[region]
        for (_, open_), (close, _) in zip(spans, spans[1:]):
            if not (close > start and open_ < end):
                continue
            local_open = open_.astimezone(zone)
            day = local_open.date()
            found = []
            for b_start, b_end in breaks.get(region, []):
                bs = datetime.datetime.combine(day, datetime.time.fromisoformat(b_start), zone)
                be = datetime.datetime.combine(day, datetime.time.fromisoformat(b_end), zone)
                if open_ < bs and be < close:
                    found.append(f'{{"start":"{text(bs)}","end":"{text(be)}"}}')
            print(f'{{"region":"{region}","date":"{day.isoformat()}","open":"{text(open_)}",'
                  f'"close":"{text(close)}","breaks":[{",".join(found)}]}}')


if __name__ == "__main__":
    main()
