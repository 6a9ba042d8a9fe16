"""The messengers: Telegram Bot API, Slack incoming webhooks and a signed generic webhook.

Each sender is a small class behind the :class:`Sender` protocol, built from its
:class:`~alerts.settings.DestinationSettings` plus secrets from the environment, and registered in
:data:`SENDERS` the way an outside plugin would be. The HTTP client is passed in (tests hand in one that
talks to fake servers on 127.0.0.1). :func:`check_response` is the one place that turns an HTTP answer into
the error tree of :mod:`alerts.errors`.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import httpx

from alerts.errors import PermanentDelivery, scrub
from alerts.message import AlertMessage, format_number
from alerts.render import all_channels, copies_label, more_label, reach_label, unknown_author, update_label
from alerts.settings import AlertsSettings, DestinationSettings, destination_names
from core.errors import NetworkError, error_for_status
from core.scrub import register_secret

__all__ = [
    "SENDERS",
    "TELEGRAM_LIMIT",
    "Sender",
    "SlackSender",
    "TelegramSender",
    "WebhookSender",
    "build_senders",
    "check_response",
    "slack_payload",
    "telegram_html",
    "telegram_keyboard",
    "webhook_body",
]

TELEGRAM_LIMIT = 4096
"""Telegram's limit on one message's text, in characters, after entity parsing."""

_EMOJI = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
_EXCERPT = 280


class Sender(Protocol):
    """Delivers one rendered alert; raises :class:`~alerts.errors.DeliveryError` (already scrubbed).

    Returns the messenger's id of the message when it has one; an update of the same alert is then sent
    with ``reply_to`` set to the first message's id, so it lands in the same thread.
    """

    name: str
    secrets: tuple[str, ...]

    async def send(
        self,
        client: httpx.AsyncClient,
        message: AlertMessage,
        idempotency_key: str,
        reply_to: str | None = None,
    ) -> str | None: ...


def _retry_after(resp: httpx.Response, body: Any) -> float:
    if isinstance(body, dict):
        params = body.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("retry_after"), int | float):
            return float(params["retry_after"])
    header = resp.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    return 30.0


def check_response(resp: httpx.Response, secrets: tuple[str, ...] = (), service: str = "messenger") -> Any:
    """The parsed body of a successful answer; otherwise the matching error of :mod:`core.errors` (through
    :func:`core.errors.error_for_status`, the one status mapper), scrubbed."""
    try:
        body: Any = resp.json()
    except ValueError:
        body = resp.text
    if resp.status_code == 429:
        wait = _retry_after(resp, body)
        raise error_for_status(service, 429, f"retry after {wait:g} s", wait)
    desc = body.get("description") if isinstance(body, dict) else str(body)[:200]
    if resp.status_code >= 400:
        raise error_for_status(service, resp.status_code, scrub(str(desc), secrets))
    if isinstance(body, dict) and body.get("ok") is False:
        raise PermanentDelivery(service, scrub(f"refused: {desc}", secrets))
    return body


async def _post(
    client: httpx.AsyncClient, url: str, secrets: tuple[str, ...], service: str, **kwargs: Any
) -> httpx.Response:
    try:
        return await client.post(url, **kwargs)
    except httpx.TransportError as exc:
        # httpx puts the request URL (with the bot token) in some messages: never let it out.
        raise NetworkError(service, scrub(f"{type(exc).__name__}: {exc}", secrets)) from None


# -- Telegram ---------------------------------------------------------------------------------------------


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def telegram_html(message: AlertMessage, limit: int = TELEGRAM_LIMIT) -> str:
    """The alert as Telegram HTML, every untrusted string escaped, within ``limit`` characters.

    Mentions are added while they fit; the ones that do not are counted in a last line instead of being
    cut mid-tag, which would make Telegram reject the whole message. Words are in ``message.language``.
    """
    esc = html.escape
    lang = message.language
    head = [
        f"{_EMOJI.get(message.severity, '')} <b>{esc(message.severity.upper())}</b> · "
        f"{esc(message.brand)} · {esc(message.channel or all_channels(lang))}",
        f"<b>{esc(_excerpt(message.title, 300))}</b>",
    ]
    if message.is_update:
        head.append(f"<i>{update_label(message.version - 1, lang)}</i>")
    # One plain sentence, not the rule's numbers (those are in the dashboard and the webhook's JSON).
    if message.why or message.summary:
        head.append(esc(_excerpt(message.why or message.summary, 600)))
    if message.status:
        head.append(f"<i>{esc(_excerpt(message.status, 300))}</i>")
    text = "\n".join(head)
    lines: list[str] = []
    for i, m in enumerate(message.top, 1):
        who = esc(m.author or unknown_author(lang))
        label = f'<a href="{esc(m.url, quote=True)}">{who}</a>' if m.url else who
        extra = []
        if m.reach:
            extra.append(reach_label(format_number(m.reach), lang))
        if m.copies:
            extra.append(copies_label(m.copies, lang))
        suffix = f" ({', '.join(extra)})" if extra else ""
        line = f"{i}. {label}{suffix}: {esc(_excerpt(m.text))}"
        more = "\n" + more_label(len(message.top) - i + 1, lang)
        if len(text) + 2 + len("\n".join([*lines, line])) + len(more) > limit:
            lines.append(more.strip())
            break
        lines.append(line)
    if lines:
        text += "\n\n" + "\n".join(lines)
    return text[:limit]


def telegram_keyboard(message: AlertMessage) -> dict[str, Any] | None:
    """The inline buttons under an alert: take it, mute it for 4 h, open the dashboard (when linked).

    Callback data is ``ack:<alert_id>`` and ``mute:<alert_id>:4`` (Telegram allows 64 bytes); once taken,
    the take button goes. A digest (a message written in full) gets none.
    """
    if message.body or message.body_html or message.alert_id <= 0:
        return None
    ru = message.language == "ru"
    row: list[dict[str, str]] = []
    if message.state != "acknowledged":
        row.append({"text": "✋ Беру" if ru else "✋ Take it", "callback_data": f"ack:{message.alert_id}"})
    row.append({"text": "🔕 4 ч" if ru else "🔕 Mute 4 h", "callback_data": f"mute:{message.alert_id}:4"})
    rows = [row]
    if message.link:
        rows.append([{"text": "Открыть в дашборде" if ru else "Open in dashboard", "url": message.link}])
    return {"inline_keyboard": rows}


class TelegramSender:
    """``POST {base}/bot<token>/sendMessage`` in HTML mode; the token lives only in the URL, scrubbed.

    :meth:`edit` rewrites a message already sent (``editMessageText``): a group of alerts updates its one
    message instead of pinging the chat again. :meth:`call` is any other Bot API method, for the bot that
    reads the buttons' presses (:mod:`alerts.telegram_bot`).
    """

    kind: ClassVar[str] = "telegram"

    def __init__(
        self, name: str, token: str, chat_id: str, base_url: str = "https://api.telegram.org"
    ) -> None:
        self.name = name
        self.chat_id = chat_id
        self._base = f"{base_url.rstrip('/')}/bot{token}"
        self._url = f"{self._base}/sendMessage"
        self.secrets: tuple[str, ...] = (token, self._base, self._url)

    async def call(
        self, client: httpx.AsyncClient, method: str, payload: dict[str, Any], timeout: float | None = None
    ) -> Any:
        """One Bot API call; its ``result``, or the error of :func:`check_response` (scrubbed)."""
        kwargs: dict[str, Any] = {"json": payload}
        if timeout is not None:
            kwargs["timeout"] = timeout
        resp = await _post(client, f"{self._base}/{method}", self.secrets, self.name, **kwargs)
        body = check_response(resp, self.secrets, self.name)
        return body.get("result") if isinstance(body, dict) else None

    async def edit(self, client: httpx.AsyncClient, message: AlertMessage, remote_id: str) -> None:
        """Rewrite the message ``remote_id`` with ``message``; "not modified" counts as done."""
        payload: dict[str, Any] = {
            "chat_id": self.chat_id,
            "message_id": int(remote_id),
            "text": message.body_html or telegram_html(message),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        keyboard = telegram_keyboard(message)
        if keyboard is not None:
            payload["reply_markup"] = keyboard
        try:
            await self.call(client, "editMessageText", payload)
        except PermanentDelivery as exc:
            if "message is not modified" not in str(exc):
                raise

    async def send(
        self,
        client: httpx.AsyncClient,
        message: AlertMessage,
        idempotency_key: str,
        reply_to: str | None = None,
    ) -> str | None:
        payload: dict[str, Any] = {
            "chat_id": self.chat_id,
            "text": message.body_html or telegram_html(message),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        if reply_to is not None and reply_to.isdigit():
            # An update answers the first message; if that was deleted, it is sent on its own.
            payload["reply_parameters"] = {"message_id": int(reply_to), "allow_sending_without_reply": True}
        keyboard = telegram_keyboard(message)
        if keyboard is not None:
            payload["reply_markup"] = keyboard
        resp = await _post(client, self._url, self.secrets, self.name, json=payload)
        body = check_response(resp, self.secrets, self.name)
        result = body.get("result") if isinstance(body, dict) else None
        if isinstance(result, dict) and result.get("message_id") is not None:
            return str(result["message_id"])
        return None


# -- Slack ------------------------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn needs only &, < and > escaped; quotes stay as written.
    return html.escape(text, quote=False)


def slack_payload(message: AlertMessage) -> dict[str, Any]:
    """``{text, blocks}`` for an incoming webhook; ``text`` is the notification fallback."""
    esc = _slack_escape
    if message.body:  # the digest: its own words, escaped, no alert layout
        return {"text": esc(_excerpt(message.body, 3000))}
    lang = message.language
    title = f"{_EMOJI.get(message.severity, '')} [{message.severity.upper()}] {message.brand} · " + (
        message.channel or all_channels(lang)
    )
    body = [f"*{esc(_excerpt(message.title, 300))}*"]
    if message.is_update:
        body.append(f"_{update_label(message.version - 1, lang)}_")
    if message.why or message.summary:
        body.append(esc(_excerpt(message.why or message.summary, 600)))
    if message.status:
        body.append(f"_{esc(_excerpt(message.status, 300))}_")
    lines = []
    for i, m in enumerate(message.top, 1):
        who = esc((m.author or unknown_author(lang, short=True)).replace("|", "/"))
        link = f"<{m.url}|{who}>" if m.url and "|" not in m.url and ">" not in m.url else who
        lines.append(f"{i}. {link}: {esc(_excerpt(m.text, 200))}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _excerpt(title, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _excerpt("\n".join(body), 2900)}},
    ]
    if lines:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _excerpt("\n".join(lines), 2900)}}
        )
    return {"text": esc(_excerpt(f"{title}: {message.title}", 300)), "blocks": blocks}


class SlackSender:
    """An incoming webhook; the URL itself is the secret (from ``url_env``)."""

    kind: ClassVar[str] = "slack"

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self._url = url
        self.secrets: tuple[str, ...] = (url,)

    async def send(
        self,
        client: httpx.AsyncClient,
        message: AlertMessage,
        idempotency_key: str,
        reply_to: str | None = None,
    ) -> str | None:
        # Incoming webhooks cannot thread (that needs chat.postMessage and a bot token): updates say so.
        resp = await _post(client, self._url, self.secrets, self.name, json=slack_payload(message))
        check_response(resp, self.secrets, self.name)
        return None


# -- generic webhook --------------------------------------------------------------------------------------


def webhook_body(message: AlertMessage, idempotency_key: str) -> bytes:
    """The JSON body (UTF-8, keys sorted) that is signed and sent."""
    data = {
        "idempotency_key": idempotency_key,
        "alert": {
            "id": message.alert_id,
            "version": message.version,
            "rule": message.rule,
            "brand": message.brand,
            "channel": message.channel,
            "severity": message.severity,
            "state": message.state,
            "title": message.title,
            "summary": message.summary,
            "body": message.body,
            "numbers": message.numbers,
            "triggered_at": message.triggered_at,
            "top_mentions": [
                {
                    "id": m.id,
                    "url": m.url,
                    "author": m.author,
                    "reach": m.reach,
                    "channel": m.channel,
                    "published_at": m.published_at,
                    "copies": m.copies,
                    "text": m.text,
                }
                for m in message.top
            ],
        },
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")


def webhook_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, as sent in ``X-Loyalty-Signature``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """POSTs the alert as JSON with an HMAC-SHA256 signature and an ``Idempotency-Key`` header.

    Receivers should verify the signature with a constant-time comparison and drop repeated keys: after a
    crash between a successful POST and recording it, the outbox sends again rather than lose the alert.
    """

    kind: ClassVar[str] = "webhook"

    def __init__(self, name: str, url: str, secret: str | None) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self.secrets: tuple[str, ...] = tuple(s for s in (url, secret) if s)

    async def send(
        self,
        client: httpx.AsyncClient,
        message: AlertMessage,
        idempotency_key: str,
        reply_to: str | None = None,
    ) -> str | None:
        body = webhook_body(message, idempotency_key)
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        if self._secret:
            headers["X-Loyalty-Signature"] = webhook_signature(self._secret, body)
        resp = await _post(client, self._url, self.secrets, self.name, content=body, headers=headers)
        check_response(resp, self.secrets, self.name)
        return None


# -- registry ---------------------------------------------------------------------------------------------


def _env(env: Mapping[str, str], var: str | None, path: str) -> str:
    value = env.get(var or "")
    if not value:
        raise ValueError(f"{path}: environment variable {var} is not set")
    return value


def _telegram(name: str, d: DestinationSettings, env: Mapping[str, str], path: str) -> Sender:
    base = d.base_url or "https://api.telegram.org"
    return TelegramSender(name, _env(env, d.token_env, f"{path}.token_env"), d.chat_id or "", base)


def _slack(name: str, d: DestinationSettings, env: Mapping[str, str], path: str) -> Sender:
    return SlackSender(name, _env(env, d.url_env, f"{path}.url_env"))


def _webhook(name: str, d: DestinationSettings, env: Mapping[str, str], path: str) -> Sender:
    secret = _env(env, d.secret_env, f"{path}.secret_env") if d.secret_env else None
    return WebhookSender(name, _env(env, d.url_env, f"{path}.url_env"), secret)


SenderFactory = Callable[[str, DestinationSettings, Mapping[str, str], str], Sender]

SENDERS: dict[str, SenderFactory] = {"telegram": _telegram, "slack": _slack, "webhook": _webhook}
"""Built-in senders by destination ``type``; a plugin adds its own factory here."""


def build_senders(settings: AlertsSettings, env: Mapping[str, str] | None = None) -> dict[str, Sender]:
    """One sender per configured destination, by delivery name; a missing secret fails with its key path."""
    env = os.environ if env is None else env
    out: dict[str, Sender] = {}
    for i, (name, d) in enumerate(
        zip(destination_names(settings.destinations), settings.destinations, strict=True)
    ):
        out[name] = SENDERS[d.type](name, d, env, f"alerts.destinations[{i}]")
        for secret in out[name].secrets:
            register_secret(secret)  # every log line, error and status is scrubbed of it from now on
    return out
