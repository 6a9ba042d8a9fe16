"""A scriptable HTTP server on 127.0.0.1 for collector tests: real sockets, real httpx, no mocks.

Routes map a path (plus optional query/form parameters that must match) to replies; several replies are
served in order and the last one repeats, so "429 then 200" or "500, 500, 200" is one line. Every request is
recorded (method, path, parameters, headers) for assertions. Runs in a daemon thread so sync and async
tests, and subprocesses, can all talk to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

__all__ = ["FIXTURES", "FixtureServer", "Reply", "Request", "fetch_all"]


async def fetch_all(c: Any, query: str, cursor: str | None = None, since: Any = None) -> list[Any]:
    """Every page a collector's ``fetch`` yields for ``query``."""
    return [p async for p in c.fetch(query, cursor, since)]


@dataclass
class Reply:
    """One scripted answer. ``fixture`` is a path under tests/fixtures; ``body`` wins over it."""

    status: int = 200
    fixture: str | None = None
    body: bytes | str | Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str | None = None

    def render(self) -> tuple[bytes, str]:
        if self.body is not None:
            if isinstance(self.body, bytes):
                return self.body, self.content_type or "application/octet-stream"
            if isinstance(self.body, str):
                return self.body.encode(), self.content_type or "text/plain; charset=utf-8"
            return json.dumps(self.body, ensure_ascii=False).encode(), "application/json"
        if self.fixture is not None:
            path = FIXTURES / self.fixture
            kind = {
                ".json": "application/json",
                ".html": "text/html; charset=utf-8",
                ".xml": "application/xml",
                ".rss": "application/rss+xml",
                ".atom": "application/atom+xml",
            }.get(path.suffix, "application/octet-stream")
            return path.read_bytes(), self.content_type or kind
        return b"", self.content_type or "text/plain"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    #: The raw query string, for parameters that repeat (``actors=a&actors=b``).
    query: str = ""


@dataclass
class _Route:
    path: str
    match: dict[str, str]
    replies: list[Reply]
    hits: int = 0
    event: threading.Event = field(default_factory=threading.Event)


class FixtureServer:
    """Start with :meth:`start` (or use as a context manager); ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.routes: list[_Route] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                params = dict(parse_qsl(split.query, keep_blank_values=True))
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    params.update(parse_qsl(body.decode(), keep_blank_values=True))
                req = Request(
                    self.command,
                    split.path,
                    params,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    split.query,
                )
                reply = server._dispatch(req)
                if reply.delay:
                    time.sleep(reply.delay)
                payload, ctype = reply.render()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (killed, timed out): expected

            do_GET = _serve
            do_POST = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, path: str, *replies: Reply | str, **match: str) -> _Route:
        """Answer ``path`` (when its parameters include ``match``) with ``replies`` in order.

        A str reply is a fixture path."""
        items = [Reply(fixture=r) if isinstance(r, str) else r for r in replies]
        route = _Route(path, {k: str(v) for k, v in match.items()}, items)
        with self._lock:
            # Newer, more specific routes win: the most match keys first, then the latest added.
            self.routes.insert(0, route)
            self.routes.sort(key=lambda r: -len(r.match))
        return route

    def _dispatch(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            for route in self.routes:
                if route.path == req.path and all(req.params.get(k) == v for k, v in route.match.items()):
                    reply = route.replies[min(route.hits, len(route.replies) - 1)]
                    route.hits += 1
                    route.event.set()
                    return reply
        return Reply(404, body={"error": "no route", "path": req.path})

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


def serve() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server
