#!/usr/bin/env python3
"""Checks deploy/kubernetes/: every manifest parses as YAML, and the CronJob ticks as
docs/offpeak-ledger.md says it must: every 10 minutes in UTC, one job at a time, a starting deadline,
no retries of its own (the next tick is the retry), and the database's credentials from a
Secret as libpq's PG* variables. Also checks that deploy/Containerfile installs the tools the
CronJob runs (the Debian package's, in /usr/bin) and makes the user it runs as.

    check_manifests.py SOURCE_DIR
"""

import os
import sys

import yaml

PG_VARIABLES = {"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"}


def fail(message):
    print(f"check_manifests: {message}", file=sys.stderr)
    sys.exit(1)


def expect(actual, expected, what):
    if actual != expected:
        fail(f"{what}: expected {expected!r}, found {actual!r}")


def documents(directory):
    """(file, document) for every YAML document of the folder."""
    found = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(directory, name)) as f:
            try:
                found += [(name, d) for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                fail(f"{name}: {e}")
    return found


def check_cronjob(name, job):
    spec = job["spec"]
    expect(spec.get("schedule"), "*/10 * * * *", f"{name}: schedule")
    expect(spec.get("timeZone"), "Etc/UTC", f"{name}: timeZone")
    expect(spec.get("concurrencyPolicy"), "Forbid", f"{name}: concurrencyPolicy")
    deadline = spec.get("startingDeadlineSeconds")
    if not isinstance(deadline, int) or not 60 <= deadline < 600:
        fail(f"{name}: startingDeadlineSeconds must be a few minutes, under one tick; "
             f"found {deadline!r}")
    job_spec = spec["jobTemplate"]["spec"]
    expect(job_spec.get("backoffLimit"), 0, f"{name}: backoffLimit")
    pod = job_spec["template"]["spec"]
    expect(pod.get("restartPolicy"), "Never", f"{name}: restartPolicy")
    containers = pod["containers"]
    expect(len(containers), 1, f"{name}: containers")
    env = {e["name"]: e for e in containers[0].get("env", [])}
    for variable in sorted(PG_VARIABLES):
        if variable not in env:
            fail(f"{name}: no {variable} in the container's env")
        ref = env[variable].get("valueFrom", {}).get("secretKeyRef")
        if not ref or ref.get("key") != variable or ref.get("optional"):
            fail(f"{name}: {variable} must come from a Secret's key {variable}")
        if "value" in env[variable]:
            fail(f"{name}: {variable} has a literal value")
    command = containers[0].get("command", [])
    if not command or not command[0].endswith("/offpeak-cron"):
        fail(f"{name}: the container must run offpeak-cron; it runs {command!r}")
    return command[0]


def main():
    source = sys.argv[1]
    found = documents(os.path.join(source, "deploy", "kubernetes"))
    jobs = [(n, d) for n, d in found if d.get("kind") == "CronJob"]
    expect(len(jobs), 1, "CronJobs in deploy/kubernetes")
    program = check_cronjob(*jobs[0])
    secrets = [d for _, d in found if d.get("kind") == "Secret"]
    if not any(PG_VARIABLES <= set(d.get("stringData", {})) for d in secrets):
        fail("no example Secret with the PG* keys the CronJob reads")
    with open(os.path.join(source, "deploy", "Containerfile")) as f:
        containerfile = f.read()
    if "/tmp/offpeak.deb" not in containerfile or program != "/usr/bin/offpeak-cron":
        fail("deploy/Containerfile must install the Debian package, whose tools are in "
             "/usr/bin, where the CronJob runs them")
    context = jobs[0][1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["securityContext"]
    if f"--uid {context.get('runAsUser')} " not in containerfile:
        fail(f"deploy/Containerfile must make the user the CronJob runs as "
             f"(uid {context.get('runAsUser')})")
    print(f"ok: {len(found)} manifests; the CronJob ticks every 10 minutes in UTC")


if __name__ == "__main__":
    main()
