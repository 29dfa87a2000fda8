"""A tiny HTTP server on 127.0.0.1 for download tests: never the internet.

Usage::

    with LocalServer({"/a.bin": b"..."}) as server:
        download(server.url("/a.bin"), dest)
        assert server.requests == ["/a.bin"]

It can ignore ``Range``, cut a transfer short (``truncate``: announce the full Content-Length, send fewer
bytes, close; ``fail_first``: only for the first requests), send slowly (``slow``: the whole body over a given
time) or drip (``drip``: one byte per interval, forever), send no Content-Length (``no_length``: the body ends
when the connection closes) or a bogus one (``content_length``), and logs every request path and ``Range`` header.
"""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalServer:
    """Serve ``files`` (URL path -> bytes) on a random free port of 127.0.0.1.

    Parameters
    ----------
    files : dict of str to bytes
        URL paths (starting with ``/``) and their contents; other paths answer 404.
    range_support : bool
        Honour ``Range: bytes=N-`` with 206; when False the whole file is sent with 200.
    truncate : dict of str to int, optional
        For these paths, send only this many bytes of the body (Content-Length still announces all of it)
        and close the connection.
    fail_first : dict of str to int, optional
        For these paths, cut the first N answers short (to half the body), then answer normally.
    slow : dict of str to float, optional
        For these paths, spread the body over this many seconds (in 16 chunks).
    drip : dict of str to float, optional
        For these paths, announce the whole body but send one byte per this many seconds, until the client
        goes away: a per-read timeout never fires.
    status : dict of str to int, optional
        For these paths, answer this HTTP error status (e.g. 503) instead of the file.
    no_length : set of str, optional
        For these paths, send no Content-Length header: only the closed connection ends the body.
    content_length : dict of str to str, optional
        For these paths, send this Content-Length header value instead of the real one (e.g. ``"abc"``).
    """

    def __init__(self, files: dict[str, bytes], *, range_support: bool = True,
                 truncate: dict[str, int] | None = None, fail_first: dict[str, int] | None = None,
                 slow: dict[str, float] | None = None, drip: dict[str, float] | None = None,
                 status: dict[str, int] | None = None, no_length: set[str] | None = None,
                 content_length: dict[str, str] | None = None) -> None:
        self.files = dict(files)
        self.range_support = range_support
        self.truncate = dict(truncate or {})
        self.fail_first = dict(fail_first or {})
        self.slow = dict(slow or {})
        self.drip = dict(drip or {})
        self.status = dict(status or {})
        self.no_length = set(no_length or ())
        self.content_length = dict(content_length or {})
        self.requests: list[str] = []
        self.ranges: list[str | None] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _handler(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                owner.ranges.append(self.headers.get("Range"))
                body = owner.files.get(self.path)
                if body is None or self.path in owner.status:
                    self.send_error(owner.status.get(self.path, 404))
                    return
                start, status = 0, 200
                rng = self.headers.get("Range")
                if rng and owner.range_support and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[len("bytes="):-1])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                payload = body[start:]
                self.send_response(status)
                if self.path not in owner.no_length:
                    self.send_header("Content-Length", owner.content_length.get(self.path, str(len(payload))))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Accept-Ranges", "bytes" if owner.range_support else "none")
                self.end_headers()
                cut = owner.truncate.get(self.path)
                if owner.fail_first.get(self.path, 0) > 0:
                    owner.fail_first[self.path] -= 1
                    cut = len(payload) // 2
                try:
                    if self.path in owner.drip:
                        for i in range(len(payload)):
                            self.wfile.write(payload[i:i + 1])
                            self.wfile.flush()
                            time.sleep(owner.drip[self.path])
                    elif self.path in owner.slow:
                        step = -(-len(payload) // 16)
                        for i in range(0, len(payload), step):
                            self.wfile.write(payload[i:i + step])
                            self.wfile.flush()
                            time.sleep(owner.slow[self.path] / 16)
                    else:
                        self.wfile.write(payload if cut is None else payload[:cut])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is what we test
                    self.close_connection = True
                    return
                if cut is not None:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

        return Handler

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        """Full URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused), for offline tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The port was free a moment ago and nobody listens on it now; a race with another process is unlikely.
    return f"http://127.0.0.1:{port}{path}"
