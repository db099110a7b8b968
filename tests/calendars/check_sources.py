#!/usr/bin/env python3
"""Checks that every explicit date of a calendar file says where it comes from.

An explicit date is an element of a rule's `dates = [...]` or a special session's `date` or
`dates`: a day no rule describes (a lunar holiday, an ad-hoc closure, a Muhurat session), so
the file is the only record of why it is there. Its source is a comment, either

- on the date's own line:           "2026-11-09",  # NSE 2026 list: Diwali Balipratipada
- or, inside a `dates` array, on a comment line above it, which then covers the dates below
  it (a paragraph citing one notice for several days);
- for `date = ...`, on its line or on the comment line right above it.

The lines are read as text (tomllib drops comments); to make sure none is missed, the dates
found that way are counted against those tomllib reads from the same file.

Usage: check_sources.py [FILE.toml...]   (default: every calendars/*.toml; exit 0 when every
date has a source, 1 otherwise, naming each file:line)
"""

import glob
import os
import re
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATE = re.compile(r'"?\b\d{4}-\d{2}-\d{2}\b"?')
SECTIONS = ("holidays", "early_closes", "late_opens", "special_sessions")


def strip_strings(line):
    """The line with its quoted strings blanked, so a '#' inside a string is no comment."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', line)


def comment_of(line):
    at = strip_strings(line).find("#")
    return line[at + 1:].strip() if at >= 0 else ""


def code_of(line):
    at = strip_strings(line).find("#")
    return line[:at] if at >= 0 else line


def toml_dates(path):
    """How many explicit dates tomllib reads from the file."""
    with open(path, "rb") as f:
        root = tomllib.load(f)
    count = 0
    for section in SECTIONS:
        for rule in root.get(section, []):
            count += len(rule.get("dates", []))
            count += 1 if "date" in rule else 0
    return count


def check(path):
    """Problems of one file, as 'file:line: message' strings."""
    problems, found = [], 0
    in_array = False  # inside a `dates = [` array
    covered = False   # a comment line seen in it so far
    previous = ""     # the line before, for `date = ...`
    name = os.path.relpath(path, ROOT) if path.startswith(ROOT) else path
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        code = strip_strings(code_of(line))
        stripped = line.strip()
        if not in_array and re.match(r"\s*dates\s*=\s*\[", code):
            in_array, covered = True, False
            code = code.split("[", 1)[1]
            line_rest = line.split("[", 1)[1]
        else:
            line_rest = line
        if in_array:
            if stripped.startswith("#"):
                covered = covered or bool(comment_of(line))
            else:
                dates = DATE.findall(code_of(line_rest))
                found += len(dates)
                if dates and not comment_of(line_rest) and not covered:
                    problems.append(f"{name}:{number}: {dates[0].strip(chr(34))}: no comment "
                                    "saying where the date comes from")
            if "]" in code:
                in_array = False
        else:
            m = re.match(r"\s*date\s*=\s*(\S+)", code_of(line))
            if m and DATE.match(m.group(1)):
                found += 1
                if not comment_of(line) and not previous.strip().startswith("#"):
                    problems.append(f"{name}:{number}: {m.group(1).strip(chr(34))}: no comment "
                                    "saying where the date comes from")
        previous = line
    expected = toml_dates(path)
    if found != expected:
        problems.append(f"{name}: read {found} explicit dates as text but TOML has {expected}; "
                        "write one date a line")
    return problems


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    paths = argv or sorted(glob.glob(os.path.join(ROOT, "calendars", "*.toml")))
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print(f"check_sources: {len(paths)} calendar files, every explicit date has a source")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
