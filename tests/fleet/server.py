#!/usr/bin/env python3
"""The fleet test's HTTP server: tests/http/server.py with a market's nightly bars and faults.

    server.py [--clean] [--stall-date DATE]

Listens on 127.0.0.1 on a port the OS picks and prints its base URL as the first line on
stdout, as tests/http/server.py does (whose paths it also serves), then one line per event:
`stalled PORT PATH` when it starts holding a response back from the client on the local port
PORT, `released PORT PATH` when that client has gone. It serves until stdin closes.

  /fleet/bars?region=R&date=D[&page=N]
      the region's bars of the session D: three pages of three records (`results`, with
      `next_url` to the next page), each record a function of (R, D, page, i) alone, so that
      any run, on any host, at any attempt gets the same data
  /fleet/503-twice/bars?...   503 for the first two requests of each session's first page,
                              then the bars
  /fleet/401/bars?...         always 401
  /fleet/500/bars?...         always 500
  /fleet/stall/bars?...       the bars; but with --stall-date D, the first request of page 1
                              of the session D sends its headers and a part of the body, says
                              `stalled`, and holds on until the client hangs up (is killed)

--clean turns the faults that pass (503-twice, stall) off, for the clean run the fleet's data
is compared with; 401 and 500 stay, since a clean run gets them as well.
"""

import argparse
import os
import select
import sys
import threading
from urllib.parse import parse_qs, urlsplit

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "http"))
import server as base  # noqa: E402  tests/http/server.py

PAGES = 3
EVENTS_LOCK = threading.Lock()


def event(text):
    with EVENTS_LOCK:
        print(text, flush=True)


def bars(base_url, fault, region, date, page):
    seed = sum(map(ord, f"{region}{date}"))
    results = [{"T": f"{region.upper()}{page}{i}", "d": date, "c": round(100 + (seed * (page + 3) + i) % 997 / 10, 1),
                "v": seed * 10 + page * 3 + i} for i in range(3)]
    body = {"status": "OK", "results": results}
    if page + 1 < PAGES:
        body["next_url"] = f"{base_url}/fleet/{fault}bars?region={region}&date={date}&page={page + 1}"
    return body


class Handler(base.Handler):
    clean = False
    stall_date = None
    stalled = set()

    def do_GET(self):
        url = urlsplit(self.path)
        if not url.path.startswith("/fleet/"):
            return super().do_GET()
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        region, date, page = query.get("region", ""), query.get("date", ""), int(query.get("page", "0"))
        fault = url.path[len("/fleet/"):-len("bars")]
        if not url.path.endswith("/bars") or fault not in ("", "503-twice/", "401/", "500/", "stall/"):
            return self.send(404, {"error": "not found"})
        if fault == "401/":
            return self.send(401, {"status": "ERROR", "error": "Unknown API Key"})
        if fault == "500/":
            return self.send(500, {"status": "ERROR", "error": "internal"})
        if fault == "503-twice/" and not self.clean and page == 0 and base.bump(self.path) <= 2:
            return self.send(503, {"error": "unavailable"})
        if fault == "stall/" and not self.clean and date == self.stall_date and page == 1:
            with base.COUNTS_LOCK:
                first = self.path not in self.stalled
                self.stalled.add(self.path)
            if first:
                return self.stall()
        return self.send(200, bars(self.base(), fault, region, date, page))

    def stall(self):
        """Headers and the start of a body, then nothing until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b'{"status": "OK", "results": [')
        self.wfile.flush()
        event(f"stalled {self.client_address[1]} {self.path}")
        # The client sends nothing more: readable means it has closed its end.
        select.select([self.connection], [], [])
        event(f"released {self.client_address[1]} {self.path}")
        self.close_connection = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clean", action="store_true", help="no faults that pass")
    parser.add_argument("--stall-date", help="the session whose page 1 stalls once")
    args = parser.parse_args()
    Handler.clean, Handler.stall_date = args.clean, args.stall_date
    server = base.Server(("127.0.0.1", 0), Handler)
    event(f"http://127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
