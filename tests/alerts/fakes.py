"""Fake messengers on 127.0.0.1: real HTTP servers that answer from a script and record every request.

In the style of aiogram's MockedBot: queue the answers (429, 500, then 200 by default), run the code,
inspect ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeMessenger:
    """A Telegram- or Slack-like server. ``kind`` picks the default success body."""

    def __init__(self, kind: str = "telegram") -> None:
        self.kind = kind
        self.script: list[Answer] = []
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.port = 0
        self.message_id = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.script.append(Answer(status, body, headers or {}))

    def rate_limit(self, seconds: int) -> None:
        if self.kind == "telegram":
            self.answer(
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {seconds}",
                    "parameters": {"retry_after": seconds},
                },
            )
        else:
            self.answer(429, "rate_limited", {"Retry-After": str(seconds)})

    def server_error(self) -> None:
        self.answer(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})

    def _next(self) -> Answer:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            self.message_id += 1
            if self.kind == "telegram":
                return Answer(200, {"ok": True, "result": {"message_id": self.message_id}})
            return Answer(200, "ok")

    def start(self, port: int = 0) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                ans = fake._next()
                with fake.lock:
                    fake.requests.append(
                        Recorded(self.path, dict(self.headers), body, time.monotonic(), ans.status)
                    )
                payload = ans.body if isinstance(ans.body, str) else json.dumps(ans.body)
                data = payload.encode()
                self.send_response(ans.status)
                ctype = "text/plain" if isinstance(ans.body, str) else "application/json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in ans.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def successes(self) -> list[Recorded]:
        """Requests that got a 200 (in order): what the team actually saw."""
        return [r for r in self.requests if r.status == 200]


def running(kind: str) -> Iterator[FakeMessenger]:
    fake = FakeMessenger(kind)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
