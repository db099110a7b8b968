#!/usr/bin/env python3
"""Serves the demo's sample market data (demo/data) over loopback, as the vendors' APIs would.

Listens on 127.0.0.1 on a port the OS picks, prints its base URL as the first line on
stdout, and serves until stdin closes. A file's text may name the server as @BASE@ (the
next-page links of paginated sources); a path with no file is a 404, as an API says it.
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

DATA = Path(__file__).resolve().parent / "data"
TYPES = {".json": "application/json", ".csv": "text/csv", ".ndjson": "application/x-ndjson"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # quiet: the demo shows the tools' logs
        pass

    def do_GET(self):
        path = (DATA / urlsplit(self.path).path.lstrip("/")).resolve()
        if DATA not in path.parents or not path.is_file():
            body, status, content_type = b'{"error":"not found"}', 404, "application/json"
        else:
            base = f"http://{self.headers.get('Host')}"
            body = path.read_text().replace("@BASE@", base).encode()
            status, content_type = 200, TYPES.get(path.suffix, "application/octet-stream")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the demo closes its end
    server.shutdown()


if __name__ == "__main__":
    main()
