#!/usr/bin/env python3
"""Writes the pages bench/scrape serves: Polygon-style bars chained by next_url.

    scrape_pages.py DIR BASE_URL PAGES RECORDS_PER_PAGE

Page i is DIR/pages/i.json; every page but the last links to the next one.
"""

import json
import os
import random
import sys


def main():
    folder, base, pages, per_page = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(os.path.join(folder, "pages"), exist_ok=True)
    rng = random.Random(7)
    tickers = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V"]
    t0 = 1772748000000
    for page in range(pages):
        results = []
        for i in range(per_page):
            n = page * per_page + i
            o = round(rng.uniform(50, 500), 2)
            results.append({
                "T": tickers[n % len(tickers)],
                "v": rng.randint(100, 90000),
                "o": o,
                "c": round(o * rng.uniform(0.99, 1.01), 2),
                "vw": round(o * rng.uniform(0.995, 1.005), 4),
                "t": t0 + n * 60000,
                "n": rng.randint(1, 900),
            })
        body = {"ticker": "*", "status": "OK", "resultsCount": per_page, "results": results}
        if page + 1 < pages:
            body["next_url"] = f"{base}/pages/{page + 1}.json"
        with open(os.path.join(folder, "pages", f"{page}.json"), "w") as f:
            json.dump(body, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
