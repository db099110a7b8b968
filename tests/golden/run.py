#!/usr/bin/env python3
"""Runs golden cases: each .case file says how to run a tool and what it must print.

A case file is a header, then sections:

    # What the case shows, in a sentence or two.
    args: --config regions.toml --json --at 2026-03-08T06:30:00Z
    exit: 0
    --- file regions.toml
    [regions.x]
    ...
    --- stdin
    ...
    --- stdout
    ...
    --- stderr
    ...

Header keys: `args` (shell words; %ROOT% is the source tree), `tool` (default
offpeak-plan), `exit` (the expected exit code), `env` (NAME=VALUE words to set), `runs`
(run the tool that many times in the same directory, against the same server: their
stdout and stderr one after the other, the exit code the last run's),
`stdout-to` (a file to send stdout to instead, such as /dev/full, or `closed-pipe`: a pipe
nobody reads), `server` (`yes`: start tests/http/server.py for the case; %URL% in args, env and files is its base URL, and the
URL in the output reads %URL% again), `vary` (a regular expression for output that changes
from run to run, such as timings: each match reads %VARIES%). `--- file NAME` sections are written
into a fresh working directory the tool runs in; `stdin` is fed to it; `stdout` and
`stderr` are what it must print, exactly; `--- file-out NAME` is what file NAME of the
working directory must hold afterwards (vary applies; `(missing)` when there is none; a
NAME written beforehand by a `--- file` section is the file as it was before the run). A file-out whose name ends in
.prom must also be valid Prometheus text format: `promtool check metrics` says so, or
without promtool, a small checker here. A section whose text does not end in a newline
is marked `--- stdout (no newline at end)`. Missing stdout or stderr sections mean the
tool must print nothing there.

The tool runs with TZ set to a zone far from UTC, OFFPEAK_CONFIG unset and LC_ALL=C,
so a case passes only when the output does not depend on the machine.

With --update (or OFFPEAK_GOLDEN_UPDATE=1 in the environment) a failing case is
rewritten with what the tool printed, and the diff is shown for review.
"""

import argparse
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NO_NEWLINE = " (no newline at end)"
TIMEOUT_SECONDS = 20


class Case:
    def __init__(self, path):
        self.path = path
        self.header = []  # comment and key lines, kept as written
        self.keys = {}
        self.sections = []  # (name, text) in file order
        self._parse(open(path, encoding="utf-8").read())

    def _parse(self, text):
        lines = text.splitlines(keepends=True)
        name, body = None, []
        for line in lines:
            if line.startswith("--- "):
                if name is not None:
                    self._add_section(name, body)
                name, body = line[4:].rstrip("\n"), []
            elif name is None:
                self.header.append(line)
                match = re.match(r"^([a-z-]+):\s?(.*)$", line.rstrip("\n"))
                if match:
                    self.keys[match.group(1)] = match.group(2)
                elif line.strip() and not line.startswith("#"):
                    sys.exit(f"{self.path}: cannot read header line: {line.rstrip()}")
            else:
                body.append(line)
        if name is not None:
            self._add_section(name, body)

    def _add_section(self, name, body):
        text = "".join(body)
        if name.endswith(NO_NEWLINE):
            name = name[: -len(NO_NEWLINE)]
            text = text[:-1] if text.endswith("\n") else text
        self.sections.append((name, text))

    def section(self, name):
        for section_name, text in self.sections:
            if section_name == name:
                return text
        return None

    def render(self, stdout, stderr, exit_code, files_out=None):
        """The case file with these results as its expectations."""
        files_out = files_out or {}
        header = []
        for line in self.header:
            if line.startswith("exit:"):
                line = f"exit: {exit_code}\n"
            header.append(line)
        if "exit" not in self.keys:
            header.append(f"exit: {exit_code}\n")
        out = "".join(header)
        results = {"stdout": stdout, "stderr": stderr}
        for name, text in self.sections:
            if name in results:
                continue
            if name.startswith("file-out "):
                text = files_out.get(name[9:], text)
            out += section_text(name, text)
        for name in ("stdout", "stderr"):
            if results[name]:
                out += section_text(name, results[name])
        return out


def section_text(name, text):
    if text.endswith("\n") or text == "":
        return f"--- {name}\n{text}"
    return f"--- {name}{NO_NEWLINE}\n{text}\n"


class TestServer:
    """tests/http/server.py, running for one case: it prints its URL, and stops when its
    stdin closes."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "http", "server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.url = self.process.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            self.stop()
            sys.exit("tests/http/server.py did not start")

    def stop(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_case(case, bin_dir):
    server = TestServer() if case.keys.get("server") == "yes" else None
    try:
        return run_tool(case, bin_dir, server.url if server else None)
    finally:
        if server:
            server.stop()


METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({METRIC_NAME})(\{{(?:{LABEL}(?:,{LABEL})*,?)?\}})? "
                    r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))( -?[0-9]+)?$")


def check_metrics(text):
    """Problems of a Prometheus text-format file: promtool's, or where it is missing, those a
    small checker finds (HELP and TYPE before each metric's samples, names, labels, values)."""
    promtool = shutil.which("promtool")
    if promtool:
        result = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                capture_output=True, timeout=TIMEOUT_SECONDS)
        return [] if result.returncode == 0 else [result.stdout.decode() + result.stderr.decode()]
    problems, helped, typed = [], set(), set()
    if text and not text.endswith("\n"):
        problems.append("no newline at the end")
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(METRIC_NAME, parts[2]):
                problems.append(f"line {n}: bad {parts[1]} line: {line}")
                continue
            if parts[1] == "TYPE" and parts[3] not in ("gauge", "counter", "untyped",
                                                       "histogram", "summary"):
                problems.append(f"line {n}: unknown type: {line}")
            (helped if parts[1] == "HELP" else typed).add(parts[2])
        elif line.startswith("#"):
            continue
        else:
            match = SAMPLE.match(line)
            if not match:
                problems.append(f"line {n}: not a sample: {line!r}")
            elif match.group(1) not in helped or match.group(1) not in typed:
                problems.append(f"line {n}: no HELP and TYPE before: {line}")
    return problems


def run_tool(case, bin_dir, url):
    def fill(text):
        text = text.replace("%ROOT%", ROOT)
        return text.replace("%URL%", url) if url else text

    with tempfile.TemporaryDirectory(prefix="offpeak-golden-") as work:
        for name, text in case.sections:
            if name.startswith("file "):
                file_path = os.path.join(work, name[5:])
                os.makedirs(os.path.dirname(file_path), exist_ok=True)
                with open(file_path, "w", encoding="utf-8") as f:
                    f.write(fill(text))
        tool = os.path.join(os.path.abspath(bin_dir), case.keys.get("tool", "offpeak-plan"))
        args = shlex.split(fill(case.keys.get("args", "")))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFPEAK_")}
        env.update({"TZ": "Pacific/Chatham", "LC_ALL": "C"})
        for word in shlex.split(case.keys.get("env", "")):
            name, _, value = word.partition("=")
            env[name] = fill(value)
        stdin = case.section("stdin")
        stdout_to = case.keys.get("stdout-to")
        if stdout_to == "closed-pipe":
            # A pipe whose reader has gone, as when `| head` has read enough.
            reader, redirect = os.pipe()
            os.close(reader)
        else:
            redirect = os.open(stdout_to or os.devnull, os.O_WRONLY)
        try:
            # `runs: N` runs the tool N times in the same directory, against the same server:
            # their outputs one after the other, the exit code the last run's.
            results = [subprocess.run(
                [tool] + args,
                cwd=work,
                env=env,
                input=(stdin or "").encode(),
                stdout=redirect if stdout_to else subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=TIMEOUT_SECONDS,
            ) for _ in range(int(case.keys.get("runs", "1")))]
        except subprocess.TimeoutExpired:
            return None, None, f"timed out after {TIMEOUT_SECONDS} s", None
        finally:
            os.close(redirect)
        result = subprocess.CompletedProcess(
            results[-1].args, results[-1].returncode,
            None if stdout_to else b"".join(r.stdout for r in results),
            b"".join(r.stderr for r in results))
        files_out = {}
        for name, _ in case.sections:
            if name.startswith("file-out "):
                try:
                    with open(os.path.join(work, name[9:]), encoding="utf-8") as f:
                        files_out[name[9:]] = f.read()
                except FileNotFoundError:
                    files_out[name[9:]] = "(missing)\n"
                problems = check_metrics(files_out[name[9:]]) if name.endswith(".prom") else []
                if problems:
                    return None, None, f"{name[9:]} is not valid: " + "; ".join(problems), None
    vary = case.keys.get("vary")

    def decode(b):
        text = (b or b"").decode("utf-8", errors="replace").replace(ROOT, "%ROOT%")
        if url:
            text = text.replace(url, "%URL%")
        return re.sub(vary, "%VARIES%", text, flags=re.M) if vary else text

    return decode(result.stdout), decode(result.stderr), result.returncode, \
        {name: decode(text.encode()) for name, text in files_out.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="folder with the built tools")
    parser.add_argument("--update", action="store_true", help="rewrite failing cases")
    parser.add_argument("cases", nargs="+")
    options = parser.parse_args()
    update = options.update or os.environ.get("OFFPEAK_GOLDEN_UPDATE") == "1"

    failed = 0
    for path in options.cases:
        case = Case(path)
        stdout, stderr, exit_code, files_out = run_case(case, options.bin_dir)
        if stdout is None:
            print(f"FAIL {path}: {exit_code}")
            failed += 1
            continue
        expected = open(path, encoding="utf-8").read()
        actual = case.render(stdout, stderr, exit_code, files_out)
        if "exit" not in case.keys and not update:
            print(f"FAIL {path}: the case has no `exit:` line")
            failed += 1
            continue
        if actual == expected:
            print(f"ok   {path}")
            continue
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{path} (expected)",
                tofile=f"{path} (actual)",
            )
        )
        if update:
            with open(path, "w", encoding="utf-8") as f:
                f.write(actual)
            print(f"UPDATED {path}\n{diff}")
        else:
            print(f"FAIL {path}\n{diff}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
