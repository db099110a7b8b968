#!/usr/bin/env python3
"""A loopback HTTP server for offpeak-scrape's tests: API-shaped fixtures and misbehaviour.

Listens on 127.0.0.1 on a port the OS picks, prints its base URL (`http://127.0.0.1:PORT`)
as the first line on stdout, and serves until stdin closes or it is killed. Every response
is computed from the request alone, except where a path misbehaves a number of times
before it answers: that count is kept per path and query, so cases that use different
query strings (say `?case=NAME`) never share it.

Fixtures, shaped like the APIs they are named for:
  /polygon              results + next_url, three pages (gzip when the client accepts it)
  /binance/klines       an array of arrays
  /alphavantage         a date-keyed object under "Time Series (Daily)"
  /cursor?cursor=C      data + meta.next_cursor, three pages
  /page?page=N          items; pages 1 to 3 have records, later ones are empty
  /offset?offset=O&limit=L  seven records in all, L at a time
  /link?page=N          a JSON array, with Link: <...>; rel="next" for pages 1 and 2
  /csv                  a CSV download
  /csv-semicolon        a spreadsheet export: two comment lines, ';' fields, decimal commas
  /csv-bare             '|'-separated rows, no header, "'" quotes
  /ndjson               one object per line
  /auth                 /polygon's first page for `Authorization: Bearer s3cr3t-t0ken`, else 401
  /session?date=D       one record carrying the date it was asked for
Any path takes ?delay=SECONDS to answer that much later.
Misbehaviour:
  /429                  429 with Retry-After: 1 once, then /polygon's last page
  /429-date             the same with Retry-After as an HTTP date
  /429-forever          always 429 with Retry-After: 3600
  /503-twice            503 twice, then /polygon's last page
  /500-forever          always 500
  /stall                headers and part of the body, then nothing
  /truncated            Content-Length larger than the body sent
  /invalid-json         a body that is not JSON
  /no-records           JSON without the configured records
  /html-page            200 with an HTML page (a login or maintenance page), not data
  /big?bytes=N          a valid JSON body of N bytes
  /gzip-bomb            Content-Encoding: gzip, 20 KB that inflate to 20 MB
  /redirect-file        302 to file:///etc/passwd
  /redirect-loop?n=N    302 to itself with n+1, without end
  /redirect-to?host=H&path=P  302 to http://H:PORT/P, this server under another name
  /headers              one record with the X-Api-Key and Authorization headers it was sent
                        (null when none)
  /link-repeat?page=N   a JSON array whose Link rel="next" goes 1, 2, back to 1
  /deep?depth=N         a body of {"results": [...]} nested N arrays deep
  /401, /404            those statuses
Request bodies and conditional requests (POST routes read a JSON body):
  POST /post-page       body {"page": N, ...}: items of pages 1 to 3, each with the body's
                        "date" and the request's Content-Type; later pages are empty
  POST /post-cursor     body {"cursor": C, ...}: /cursor's pages, the cursor from the body
  POST /post-echo       one record holding the body it was sent, as text, and its Content-Type
  POST /post-503-once   503 once (per query string), then as /post-echo
  POST /post-redirect?status=S&host=H  S (303, 307, ...) to http://H:PORT/post-echo
  GET /post-echo        one record saying it was a GET
  /etag                 one page with ETag "v1"; 304 and no body to If-None-Match: "v1"
  /last-modified        one page with Last-Modified; 304 to a matching If-Modified-Since
Dependent sources (a list, then a request per entry of it):
  /deps/instruments?symbols=A,B&per=N&meta=1  data: one {"symbol", "name"} per symbol, N a
                        page (all on one by default), with "next" linking the next page;
                        meta=1 adds "meta": {"id": its position from 1, "listed": true} to
                        each but those whose symbol starts with "nometa"
  /deps/bars/SYM?date=D two pages of one bar each for SYM (as it arrived, and decoded),
                        the first with "next"; SYM "missing..." is 404, "flaky..." answers 500
                        once, then as any other
  /deps/bare/SYM        one page of two bars {"t", "c"}, without the symbol; SYM
                        "clash..." gives the second a field "_instruments_symbol"
  /deps/gate/SYM?case=C&want=W  answers only once W requests of case C have been in
                        flight at once (500 after 5 s without), then 500 to any that finds
                        more than W in flight; else no records and the most seen at once
"""

import email.utils
import gzip
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

COUNTS = {}
COUNTS_LOCK = threading.Lock()


def bump(key):
    with COUNTS_LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


def bar(ticker, i):
    return {"T": ticker, "v": 1000 + i, "o": 10.5 + i, "c": 11.25 + i, "t": 1772748000000 + i * 60000}


def polygon_page(base, page):
    body = {"ticker": "AAPL", "status": "OK", "results": [bar("AAPL", page * 2 + i) for i in range(2)]}
    if page < 2:
        body["next_url"] = f"{base}/polygon?cursor=p{page + 1}"
    return body


GATES = {}  # case: [in flight, most at once]
GATES_LOCK = threading.Condition()


def gate(case, want):
    """Holds a request of `case` until `want` are in flight at once: the status and body."""
    with GATES_LOCK:
        state = GATES.setdefault(case, [0, 0])
        state[0] += 1
        state[1] = max(state[1], state[0])
        GATES_LOCK.notify_all()
        reached = GATES_LOCK.wait_for(lambda: state[1] >= want, timeout=5)
    # Held a moment, so that a client starting more than `want` is seen doing it.
    time.sleep(0.1)
    with GATES_LOCK:
        most = state[1]
        state[0] -= 1
    if not reached:
        return 500, {"error": f"never {want} requests at once"}
    if most > want:
        return 500, {"error": f"{most} requests at once, more than {want}"}
    return 200, {"results": [], "most_at_once": most}


def dependent_route(handler, path, query, key):
    """The /deps/ fixtures: a list of instruments, and a request per instrument."""
    parts = path.split("/")  # "", "deps", what, [symbol]
    symbol = unquote(parts[3]) if len(parts) > 3 else ""
    if parts[2] == "instruments":
        symbols = query.get("symbols", "").split(",")
        per = int(query.get("per", len(symbols)))
        page = int(query.get("page", "1"))
        body = {"data": [{"symbol": s, "name": f"{s} Inc"} for s in symbols[(page - 1) * per:page * per]]}
        if query.get("meta"):
            for i, record in enumerate(body["data"]):
                if not record["symbol"].startswith("nometa"):
                    record["meta"] = {"id": (page - 1) * per + i + 1, "listed": True}
        if page * per < len(symbols):
            body["next"] = f"/deps/instruments?symbols={quote(query['symbols'], safe=',')}&per={per}&page={page + 1}"
        return handler.send(200, body)
    if parts[2] == "bars" and symbol:
        if symbol.startswith("missing"):
            return handler.send(404, {"error": f"no instrument {symbol}"})
        if symbol.startswith("flaky") and bump(key) == 1:
            return handler.send(500, {"error": "internal"})
        page = int(query.get("page", "1"))
        body = {"results": [{"sym": symbol, "asked": parts[3], "date": query.get("date", ""),
                             "t": page, "c": 10 + page}]}
        if page == 1:
            body["next"] = f"/deps/bars/{parts[3]}?date={query.get('date', '')}&page=2"
        return handler.send(200, body)
    if parts[2] == "bare" and symbol:
        bars = [{"t": 1, "c": 11}, {"t": 2, "c": 12}]
        if symbol.startswith("clash"):
            bars[1]["_instruments_symbol"] = "theirs"
        return handler.send(200, {"results": bars})
    if parts[2] == "gate" and symbol:
        status, body = gate(query.get("case", ""), int(query.get("want", "2")))
        return handler.send(status, body)
    return handler.send(404, {"error": "not found"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the tests read the tool's stderr
        pass

    def base(self):
        return f"http://{self.headers.get('Host')}"

    def send(self, status, body, content_type="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "gzip" in self.headers.get("Accept-Encoding", "") and not headers:
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        key = self.path
        path = url.path
        # ?delay=SECONDS holds the answer back, so cases with several sources print in a
        # fixed order.
        time.sleep(float(query.get("delay", "0")))
        if path == "/polygon":
            page = int(query.get("cursor", "p0")[1:])
            return self.send(200, polygon_page(self.base(), page))
        if path == "/auth":
            if self.headers.get("Authorization") != "Bearer s3cr3t-t0ken":
                return self.send(401, {"status": "ERROR", "error": "Unknown API Key"})
            return self.send(200, polygon_page(self.base(), 2))
        if path == "/session":
            return self.send(200, {"results": [{"date": query.get("date", ""), "n": 1}]})
        if path == "/binance/klines":
            rows = [[1772748000000 + i * 60000, "89.10", "89.50", "88.90", "89.20", "12.5", 1772748059999 + i * 60000]
                    for i in range(3)]
            return self.send(200, rows)
        if path == "/alphavantage":
            series = {
                "2026-03-06": {"1. open": "227.10", "4. close": "229.00", "5. volume": "41000000"},
                "2026-03-05": {"1. open": "225.00", "4. close": "227.05", "5. volume": "39000000"},
            }
            return self.send(200, {"Meta Data": {"2. Symbol": "IBM"}, "Time Series (Daily)": series})
        if path == "/cursor":
            order = ["", "c1", "c2"]
            at = order.index(query.get("cursor", "")) if query.get("cursor", "") in order else 0
            nxt = order[at + 1] if at + 1 < len(order) else None
            data = [{"id": at * 10 + i, "px": f"{100 + at}.{i}"} for i in range(2)]
            return self.send(200, {"data": data, "meta": {"next_cursor": nxt}})
        if path == "/page":
            page = int(query.get("page", "1"))
            items = [{"id": page * 100 + i} for i in range(2)] if 1 <= page <= 3 else []
            # Pages come back in reverse order of asking, so the tool must reorder them.
            time.sleep(0.05 * max(0, 4 - page))
            return self.send(200, {"items": items})
        if path == "/offset":
            offset, limit = int(query.get("offset", "0")), int(query.get("limit", "3"))
            items = [{"id": i} for i in range(offset, min(offset + limit, 7))]
            return self.send(200, {"items": items})
        if path == "/link":
            page = int(query.get("page", "1"))
            headers = {}
            if page < 3:
                headers["Link"] = f'<{self.base()}/link?page=1>; rel="first", </link?page={page + 1}>; rel="next"'
            return self.send(200, [{"id": page, "name": f"item {page}"}], headers=headers)
        if path == "/csv":
            text = "date,symbol,close\n2026-03-05,IBM,227.05\n2026-03-06,IBM,\"229,00\"\n"
            return self.send(200, text, content_type="text/csv")
        if path == "/csv-semicolon":
            text = ("# closes export\n# generated 2026-03-07\ndate;symbol;close;name\n"
                    "2026-03-05;IBM;227,05;\"International Business Machines; Corp\"\n"
                    "2026-03-06;IBM;1.229,00;IBM\n2026-03-06;SAP;;SAP\n")
            return self.send(200, text, content_type="text/csv; charset=utf-8")
        if path == "/csv-bare":
            text = "2026-03-05|IBM|'227.05'\n2026-03-06|'I|B|M'|229\n"
            return self.send(200, text, content_type="text/plain")
        if path == "/ndjson":
            text = '{"id":1,"v":"a"}\n{"id":2,"v":"b"}\n\n{"id":3,"v":"c"}\n'
            return self.send(200, text, content_type="application/x-ndjson")
        if path == "/429":
            if bump(key) == 1:
                return self.send(429, {"error": "slow down"}, headers={"Retry-After": "1"})
            return self.send(200, polygon_page(self.base(), 2))
        if path == "/429-date":
            if bump(key) == 1:
                when = email.utils.formatdate(time.time() + 1, usegmt=True)
                return self.send(429, {"error": "slow down"}, headers={"Retry-After": when})
            return self.send(200, polygon_page(self.base(), 2))
        if path == "/429-forever":
            return self.send(429, {"error": "slow down"}, headers={"Retry-After": "3600"})
        if path == "/503-twice":
            if bump(key) <= 2:
                return self.send(503, {"error": "unavailable"})
            return self.send(200, polygon_page(self.base(), 2))
        if path == "/500-forever":
            return self.send(500, {"error": "internal"})
        if path == "/stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"results": [')
            self.wfile.flush()
            time.sleep(30)
            return None
        if path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"results": [{"T": "AAPL", "t": 1}')
            self.wfile.flush()
            self.close_connection = True
            return None
        if path == "/invalid-json":
            return self.send(200, '{"results": [{"T": "AAPL", "t": 1}, {"T": ')
        if path == "/html-page":
            page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Down for maintenance</title></head>\n<body>Back soon.</body></html>\n"
            return self.send(200, page, content_type="text/html; charset=utf-8")
        if path == "/no-records":
            return self.send(200, {"status": "OK", "resultsCount": 0})
        if path == "/big":
            size = int(query.get("bytes", "1000"))
            return self.send(200, '{"results": [], "pad": "' + "x" * max(0, size - 27) + '"}')
        if path == "/gzip-bomb":
            body = gzip.compress(b'{"results": [], "pad": "' + b" " * (20 << 20) + b'"}', 9)
            return self.send(200, body, headers={"Content-Encoding": "gzip"})
        if path == "/redirect-file":
            return self.send(302, "", headers={"Location": "file:///etc/passwd"})
        if path == "/redirect-loop":
            n = int(query.get("n", "0"))
            return self.send(302, "", headers={"Location": f"/redirect-loop?n={n + 1}"})
        if path == "/redirect-to":
            where = f"http://{query.get('host', 'localhost')}:{self.server.server_address[1]}"
            return self.send(302, "", headers={"Location": where + query.get("path", "/headers")})
        if path == "/headers":
            return self.send(200, {"results": [{"T": "h", "t": 1, "api_key": self.headers.get("X-Api-Key"),
                                                "authorization": self.headers.get("Authorization")}]})
        if path == "/link-repeat":
            page = int(query.get("page", "1"))
            link = f'</link-repeat?page={page % 2 + 1}>; rel="next"'
            return self.send(200, [{"id": page}], headers={"Link": link})
        if path == "/deep":
            depth = int(query.get("depth", "2000"))
            return self.send(200, '{"results": ' + "[" * depth + "]" * depth + "}")
        if path.startswith("/deps/"):
            return dependent_route(self, path, query, key)
        if path == "/401":
            return self.send(401, {"error": "unauthorized"})
        if path in ("/etag", "/last-modified"):
            return self.conditional(path)
        if path == "/post-echo":
            return self.send(200, {"results": [{"id": 1, "method": "GET"}]})
        return self.send(404, {"error": "not found"})

    # Request bodies and conditional requests.

    LAST_MODIFIED = "Fri, 06 Mar 2026 21:00:00 GMT"

    def conditional(self, path):
        body = {"results": [{"T": "IBM", "t": 1, "c": 229.0}, {"T": "IBM", "t": 2, "c": 230.5}]}
        if path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                return self.not_modified()
            return self.send(200, body, headers={"ETag": '"v1"'})
        if self.headers.get("If-Modified-Since") == self.LAST_MODIFIED:
            return self.not_modified()
        return self.send(200, body, headers={"Last-Modified": self.LAST_MODIFIED})

    def not_modified(self):
        self.send_response(304)
        self.end_headers()

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        text = self.rfile.read(length).decode()
        content_type = self.headers.get("Content-Type")
        if url.path == "/post-echo" or (url.path == "/post-503-once" and bump(self.path) > 1):
            return self.send(200, {"results": [{"id": 1, "body": text, "content_type": content_type}]})
        if url.path == "/post-503-once":
            return self.send(503, {"error": "unavailable"})
        if url.path == "/post-redirect":
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            where = f"http://{query.get('host', '127.0.0.1')}:{self.server.server_address[1]}/post-echo"
            return self.send(int(query.get("status", "307")), "", headers={"Location": where})
        try:
            body = json.loads(text)
        except ValueError:
            return self.send(400, {"error": "the body is not JSON"})
        if url.path == "/post-page":
            page = int(body.get("page", 1))
            items = [{"id": page * 100 + i, "date": body.get("date"), "content_type": content_type}
                     for i in range(2)] if 1 <= page <= 3 else []
            return self.send(200, {"items": items})
        if url.path == "/post-cursor":
            order = ["", "c1", "c2"]
            cursor = body.get("cursor") or ""
            at = order.index(cursor) if cursor in order else 0
            nxt = order[at + 1] if at + 1 < len(order) else None
            data = [{"id": at * 10 + i} for i in range(2)]
            return self.send(200, {"data": data, "meta": {"next_cursor": nxt}})
        return self.send(404, {"error": "not found"})


class Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a tool connecting many times
    # at once, which then waits a second to retry: a slow test for no reason.
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up early (a cancelled page, a stall) is what tests do


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Serve until whoever started the server closes our stdin (or kills us).
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
