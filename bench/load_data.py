#!/usr/bin/env python3
"""Writes benchmark data for offpeak-load: daily bars in offpeak-scrape's output format.

    load_data.py N NDJSON_FILE COPY_FILE [BACKFILL_FILE CHANGED_FILE [VANISHED_FILE]]

NDJSON_FILE gets N lines as offpeak-scrape prints them, and the end line of a complete run
(so that every load of it marks vanished records); COPY_FILE the same rows already
extracted for COPY (text format) into offpeak-load's table: region, source, key, record
(minified), record_hash (SHA-256 of the minified record), fetched_at, first_seen, changed_at,
load_id. BACKFILL_FILE gets the same keys with other records fetched a month earlier (every
line stale after NDJSON_FILE); CHANGED_FILE the lines of NDJSON_FILE fetched a day later, one
in a hundred with another close price, as a complete run again. VANISHED_FILE gets the run
after CHANGED_FILE of a complete source, fetched a day later again: one key in a hundred
missing, one record in a hundred changed, and the end line of a complete run.
"""

import hashlib
import json
import random
import sys


def rows(n, seed):
    rng = random.Random(seed)
    symbols = max(1, n // 250)
    for i in range(n):
        symbol = f"S{i % symbols:05d}"
        day = i // symbols
        date = f"{2020 + day // 250}-{1 + day % 250 // 21:02d}-{1 + day % 21:02d}"
        price = round(rng.uniform(5, 500), 2)
        record = {
            "t": date,
            "o": price,
            "h": round(price * 1.02, 2),
            "l": round(price * 0.98, 2),
            "c": round(price * rng.uniform(0.98, 1.02), 2),
            "v": rng.randrange(1000, 10_000_000),
        }
        yield "xnys", "bars", [symbol, date], record


def ndjson_line(region, source, key_text, fetched_at, record):
    record_text = json.dumps(record, separators=(",", ":"))
    return (f'{{"region":"{region}","source":"{source}","key":{key_text},'
            f'"fetched_at":"{fetched_at}","record":{record_text}}}\n')


def end_line(records):
    return ('{"offpeak":"end","region":"xnys","source":"bars","complete":"source",'
            f'"records":{records}}}\n')


def main():
    n, ndjson_path, copy_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    extra = sys.argv[4:7] if len(sys.argv) >= 6 else None
    with open(ndjson_path, "w") as ndjson, open(copy_path, "w") as copy:
        for region, source, key, record in rows(n, 1):
            key_text = json.dumps(key, separators=(",", ":"))
            record_text = json.dumps(record, separators=(",", ":"))
            ndjson.write(ndjson_line(region, source, key_text, "2026-01-03T02:00:00Z", record))
            digest = hashlib.sha256(record_text.encode()).hexdigest()
            copy.write(f"{region}\t{source}\t{key_text}\t{record_text}\t\\\\x{digest}\t"
                       "2026-01-03 02:00:00+00\t2026-01-03 02:00:00+00\t2026-01-03 02:00:00+00\t0\n")
        ndjson.write(end_line(n))
    if extra is None:
        return
    vanished = open(extra[2], "w") if len(extra) > 2 else None
    kept = 0
    with open(extra[0], "w") as backfill, open(extra[1], "w") as changed:
        for i, (region, source, key, record) in enumerate(rows(n, 1)):
            key_text = json.dumps(key, separators=(",", ":"))
            backfill.write(ndjson_line(region, source, key_text, "2025-12-03T02:00:00Z",
                                       {**record, "c": record["c"] + 1}))
            if i % 100 == 0:
                record = {**record, "c": round(record["c"] * 1.01, 2)}
            changed.write(ndjson_line(region, source, key_text, "2026-01-04T02:00:00Z", record))
            if vanished is None or i % 100 == 50:
                continue
            if i % 100 == 25:
                record = {**record, "v": record["v"] + 1}
            vanished.write(ndjson_line(region, source, key_text, "2026-01-05T02:00:00Z", record))
            kept += 1
        changed.write(end_line(n))
    if vanished is not None:
        vanished.write(end_line(kept))
        vanished.close()


if __name__ == "__main__":
    main()
