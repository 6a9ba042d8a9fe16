"""A fake Telegram Bot API on 127.0.0.1 that keeps state: messages it holds, updates to hand out, members.

Like the real one it answers ``getUpdates`` with the updates whose id is at least ``offset`` (and forgets
the older ones), keeps each message's latest text for ``editMessageText``, and knows who is in the chat.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    payload: dict[str, Any]


class FakeBotAPI:
    """``/bot<token>/<method>`` for sendMessage, editMessageText, getUpdates, answerCallbackQuery and
    getChatMember."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[int, str] = {}
        self.markups: dict[int, Any] = {}
        self.updates: list[dict[str, Any]] = []
        self.members: dict[int, str] = {}
        self.fail: dict[str, int] = {}
        """method -> how many next calls answer 500."""
        self.lock = threading.Lock()
        self.next_id = 0
        self.next_update = 100
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.payload for c in self.calls if c.method == method]

    def press(
        self, data: str, chat_id: str | int, message_id: int, user_id: int = 7, name: str = "Ира"
    ) -> str:
        """Queue a button press; returns its callback id."""
        with self.lock:
            self.next_update += 1
            cid = f"cb{self.next_update}"
            self.updates.append(
                {
                    "update_id": self.next_update,
                    "callback_query": {
                        "id": cid,
                        "from": {"id": user_id, "first_name": name, "username": f"user{user_id}"},
                        "message": {"message_id": message_id, "chat": {"id": int(chat_id)}},
                        "data": data,
                    },
                }
            )
        return cid

    def _call(self, method: str, payload: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            self.calls.append(Call(method, payload))
            if self.fail.get(method, 0) > 0:
                self.fail[method] -= 1
                return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            if method == "sendMessage":
                self.next_id += 1
                self.messages[self.next_id] = payload["text"]
                self.markups[self.next_id] = payload.get("reply_markup")
                return 200, {"ok": True, "result": {"message_id": self.next_id}}
            if method == "editMessageText":
                mid = int(payload["message_id"])
                if mid not in self.messages:
                    return 400, {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: message to edit not found",
                    }
                if self.messages[mid] == payload["text"] and self.markups[mid] == payload.get("reply_markup"):
                    return 400, {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: message is not modified",
                    }
                self.messages[mid] = payload["text"]
                self.markups[mid] = payload.get("reply_markup")
                return 200, {"ok": True, "result": True}
            if method == "getUpdates":
                offset = int(payload.get("offset") or 0)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                return 200, {"ok": True, "result": list(self.updates)}
            if method == "answerCallbackQuery":
                return 200, {"ok": True, "result": True}
            if method == "getChatMember":
                status = self.members.get(int(payload["user_id"]), "left")
                return 200, {"ok": True, "result": {"status": status, "user": {"id": payload["user_id"]}}}
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                else:
                    status, body = fake._call(self.path[len(prefix) :], payload)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def running_bot(token: str) -> Iterator[FakeBotAPI]:
    fake = FakeBotAPI(token)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
