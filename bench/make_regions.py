#!/usr/bin/env python3
"""Writes a regions.toml with N regions, cloned in turn from the regions of a given one.

    make_regions.py regions.toml 100 > regions100.toml
"""

import sys
import tomllib


def toml_value(value):
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)  # dates print as TOML local dates


def main():
    source, count = sys.argv[1], int(sys.argv[2])
    with open(source, "rb") as f:
        regions = list(tomllib.load(f)["regions"].items())
    for i in range(count):
        name, table = regions[i % len(regions)]
        print(f"[regions.{name}_{i:03}]")
        for key, value in table.items():
            print(f"{key} = {toml_value(value)}")
        print()


if __name__ == "__main__":
    main()
