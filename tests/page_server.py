"""A local web server for the tests that fetch pages: saved pages and hostile ones, on 127.0.0.1.

Nothing in the tests reaches the internet: the bot's `/add` fetches from here.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAGES = Path(__file__).resolve().parent / "data" / "pages"
# The saved page layouts (tests/data/pages/NAME.html), served at /NAME.
LAYOUTS = ("berita-navigasi", "dateline-subjudul", "tanpa-artikel")
BIG = 10 * 1024 * 1024
ENDLESS_LIMIT = 64 * 1024 * 1024
CHUNK = 64 * 1024
# The longest a hanging page holds its connection (the server's stop ends it sooner).
HANG_LIMIT = 30.0


@dataclass
class PageServer:
    """Serves, on 127.0.0.1:

    - `/berita-navigasi`, `/dateline-subjudul`, `/tanpa-artikel`: the saved layouts;
    - `/hang`: accepts and never answers; `/loop`: redirects to itself;
    - `/redirect?to=URL`: redirects there; `/big`: 10 MB of HTML with its length announced;
    - `/endless`: HTML without a length that goes on until the client stops reading;
    - `/pdf`: not HTML; anything else: 404.

    Attributes:
        requests: Each request's path and Host header, in order.
        endless_sent: Bytes `/endless` wrote before the client hung up.
    """

    requests: list[tuple[str, str]] = field(default_factory=list)
    endless_sent: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Serve in a thread on a free port; return the base URL (`http://127.0.0.1:PORT`)."""
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # bodies end when the connection closes

            def do_GET(self) -> None:
                state._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = self._server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        if self._server is None:
            raise RuntimeError("the server has not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        """Stop serving; a hanging request ends now."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        self.requests.append((parts.path, request.headers.get("Host", "")))
        name = parts.path.strip("/")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if name in LAYOUTS:
                self._send(
                    request, 200, "text/html; charset=utf-8", (PAGES / f"{name}.html").read_bytes()
                )
            elif name == "hang":
                self._stopping.wait(HANG_LIMIT)
            elif name == "loop":
                self._redirect(request, "/loop")
            elif name == "redirect":
                self._redirect(request, parse_qs(parts.query)["to"][0])
            elif name == "big":
                body = b"<html><body><p>" + b"a" * BIG + b"</p></body></html>"
                self._send(request, 200, "text/html", body)
            elif name == "endless":
                self._endless(request)
            elif name == "pdf":
                self._send(request, 200, "application/pdf", b"%PDF-1.4 not a page")
            else:
                self._send(request, 404, "text/html", b"<h1>Not found</h1>")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, kind: str, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _redirect(request: BaseHTTPRequestHandler, location: str) -> None:
        request.send_response(302)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _endless(self, request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        request.wfile.write(b"<html><body><p>")
        chunk = b"b" * CHUNK
        while self.endless_sent < ENDLESS_LIMIT and not self._stopping.is_set():
            request.wfile.write(chunk)
            self.endless_sent += len(chunk)
