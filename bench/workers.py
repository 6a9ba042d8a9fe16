"""Workers on one PostgreSQL: tagging throughput with 1, 2 and 4 tag workers (``fast`` and the default model),
leader and poll lease takeover after a SIGKILL, and the latency from a stored mention to the messenger.

Every figure is measured on real ``loyalty-monitor worker`` processes against the PostgreSQL server named by
``LOYALTY_BENCH_POSTGRES_URL`` (``make bench`` starts one), each run in a fresh schema. Short by default, for
a shared 2-core machine; the load average (``/proc/loadavg``) is printed before and after, since on a busy
machine N workers compete for the same cores and the curve says more about the machine than the design.

    LOYALTY_BENCH_POSTGRES_URL=postgresql+psycopg://loyalty@127.0.0.1:54329/loyalty_bench \\
        python bench/workers.py
    python bench/workers.py --workers 1,2 --fast-n 2000 --default-n 200 --skip latency
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from core.mention import Mention
from storage.coordination import LEADER_KEY
from storage.schema import MentionRow
from storage.store import BrandLabel, Store, TaggedMention

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = [
    "Полярбанк опять заблокировал карту без объяснений, поддержка молчит третий день",
    "Оформила кредитку в Полярбанке, всё быстро и удобно, спасибо менеджеру",
    "Полярбанк открыл новое отделение на Тверской, работает с 9 до 21",
    "Ушёл из Полярбанка в Кедр Банк, там хотя бы на звонки отвечают",
    "Обзор карт: Полярбанк против Кедр Банка, сравнили условия и комиссии",
    "Погода в Примерске: без осадков, ветер слабый",
]


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[:3].__str__()


@contextlib.contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    schema = "bw_" + uuid.uuid4().hex[:10]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def config_file(
    folder: Path, db: str, *, model: str, feed_url: str | None = None, hook: bool = False
) -> Path:
    sources = ""
    if feed_url is not None:
        sources = (
            f'[sources.rss]\nbase_url = "{feed_url}"\nfeeds = [{{url = "/slow.rss", channel = "forum"}}]\n'
            "poll_interval_s = 1\ntimeout_s = 60\n"
        )
    alerts = "[alerts]\nenabled = false\n"
    if hook:
        alerts = (
            '[alerts]\nenabled = true\n[[alerts.destinations]]\ntype = "webhook"\nname = "hook"\n'
            'url_env = "BENCH_HOOK_URL"\nmin_severity = "info"\n'
        )
    path = folder / f"bench-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(
        f'[storage]\nurl = "{db}"\n[sentiment]\nmodel = "{model}"\n[pipeline]\ntag_batch_size = 128\n'
        '[[brands]]\nname = "Полярбанк"\naliases = ["Полярбанк"]\nown = true\n'
        '[[brands]]\nname = "Кедр Банк"\naliases = ["Кедр Банк"]\n'
        f"{sources}{alerts}",
        encoding="utf-8",
    )
    return path


def spawn(
    config: Path, roles: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "loyalty_monitor",
        "worker",
        "--config",
        str(config),
        "--roles",
        roles,
        *extra,
    ]
    return subprocess.Popen(
        cmd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_until(cond: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if cond():
                return time.monotonic() - start
        except Exception:  # tables not created yet
            pass
        time.sleep(step)
    raise SystemExit(f"timed out waiting for {what}")


def mentions(n: int, seed: int) -> list[Mention]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    return [
        Mention(
            source="bench",
            external_id=f"{seed}-{i}",
            channel="forum",
            text=f"{rng.choice(TEMPLATES)} ({seed}-{i})",
            published_at=now - timedelta(seconds=i),
            author=f"user{rng.randrange(5000)}",
        )
        for i in range(n)
    ]


def scalar(db: str, sql: str, **params: Any) -> Any:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one_or_none()
    finally:
        engine.dispose()


def tag_throughput(base: str, model: str, workers: int, n: int) -> float:
    """Mentions per second labelled by ``workers`` tag workers (model load time excluded)."""
    with fresh_schema(base) as db, tempfile.TemporaryDirectory() as tmp:
        Store.open(db).close()
        config = config_file(Path(tmp), db, model=model)
        procs = [spawn(config, "tag") for _ in range(workers)]
        try:
            wait_until(lambda: scalar(db, "SELECT count(*) FROM workers") >= workers, 300, "workers to start")
            store = Store.open(db, migrate_schema=False)
            store.upsert_mentions(mentions(n, seed=workers))
            t0 = time.monotonic()
            with store.engine.connect() as conn:

                def done() -> bool:
                    untagged = conn.execute(
                        select(func.count()).select_from(MentionRow).where(MentionRow.tagged_at.is_(None))
                    ).scalar_one()
                    conn.commit()
                    return untagged == 0

                wait_until(done, 1800, "tagging", step=0.1)
            elapsed = time.monotonic() - t0
            store.close()
        finally:
            stop(procs)
    return n / elapsed


def leader_takeover(base: str) -> float:
    """Seconds from SIGKILL of the alert leader until another worker holds the lease."""
    with fresh_schema(base) as db, tempfile.TemporaryDirectory() as tmp:
        Store.open(db).close()
        config = config_file(Path(tmp), db, model="fast", hook=True)
        env = {"BENCH_HOOK_URL": "http://127.0.0.1:9/unused"}
        procs = [spawn(config, "alerts", env=env) for _ in range(2)]
        holder = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND granted"
        try:
            wait_until(lambda: scalar(db, holder, k=LEADER_KEY) is not None, 120, "a leader")
            who = "SELECT pid FROM workers WHERE (leases->>'leader')::boolean ORDER BY beat_at DESC LIMIT 1"
            wait_until(lambda: scalar(db, who) is not None, 60, "the leader's heartbeat")
            victim = next(p for p in procs if p.pid == scalar(db, who))
            victim.send_signal(signal.SIGKILL)
            t0 = time.monotonic()
            victim.wait()
            backend = scalar(db, holder, k=LEADER_KEY)

            def taken() -> bool:
                now = scalar(db, holder, k=LEADER_KEY)
                return now is not None and now != backend

            wait_until(taken, 120, "takeover")
            return time.monotonic() - t0
        finally:
            stop(procs)


class _SlowFeed:
    """A feed that answers after ``delay`` seconds, so a poll is in flight when its worker is killed."""

    def __init__(self, delay: float) -> None:
        self.hits: list[float] = []
        outer = self
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>Полярбанк</title><guid>g1</guid></item></channel></rss>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(time.monotonic())
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # its worker was killed
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def poll_takeover(base: str, lease_s: float) -> float:
    """Seconds from SIGKILL of the worker holding a poll until another worker starts that poll again."""
    feed = _SlowFeed(delay=20.0)  # longer than a heartbeat: the poll is surely in flight at the kill
    with fresh_schema(base) as db, tempfile.TemporaryDirectory() as tmp:
        Store.open(db).close()
        config = config_file(Path(tmp), db, model="fast", feed_url=feed.url)
        procs = [spawn(config, "collect", "--poll-lease-s", str(lease_s)) for _ in range(2)]
        try:
            wait_until(lambda: bool(feed.hits), 120, "a poll")
            holder_pid = None

            def held() -> bool:
                nonlocal holder_pid
                holder_pid = scalar(
                    db, "SELECT pid FROM workers WHERE json_array_length(leases->'polls') > 0 LIMIT 1"
                )
                return holder_pid is not None

            # The heartbeat row says who holds the poll; wait for a fresh poll to be in flight.
            wait_until(held, 60, "the poll holder", step=0.02)
            victim = next(p for p in procs if p.pid == holder_pid)
            seen = len(feed.hits)
            victim.send_signal(signal.SIGKILL)
            t0 = time.monotonic()
            wait_until(lambda: len(feed.hits) > seen, 300, "the poll to be taken over")
            return feed.hits[seen] - t0
        finally:
            stop(procs)
            feed.server.shutdown()


class _Hook:
    """A webhook receiver recording when each alert arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.arrivals.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def latency(base: str, samples: int) -> list[float]:
    """Seconds from a complaint being stored to its alert reaching the webhook, two workers, all roles."""
    hook = _Hook()
    out: list[float] = []
    with fresh_schema(base) as db, tempfile.TemporaryDirectory() as tmp:
        Store.open(db).close()
        config = config_file(Path(tmp), db, model="fast", hook=True)
        procs = [spawn(config, "tag,alerts,deliver", env={"BENCH_HOOK_URL": hook.url}) for _ in range(2)]
        store = Store.open(db, migrate_schema=False)
        try:
            wait_until(lambda: scalar(db, "SELECT count(*) FROM workers") >= 2, 300, "workers to start")
            time.sleep(6)  # a leader is elected (leader_retry_s = 5)
            for i in range(samples):
                seen = len(hook.arrivals)
                m = Mention(
                    source="bench",
                    external_id=f"lat-{i}",
                    channel="forum",
                    text=f"Полярбанк украл деньги с карты {i + 3} раз, пишу жалобу в прокуратуру ({i})",
                    published_at=datetime.now(UTC),
                    author=f"victim{i}",
                )
                t0 = time.monotonic()
                store.upsert_mentions([m])
                wait_until(lambda seen=seen: len(hook.arrivals) > seen, 60, "the alert", step=0.01)
                out.append(hook.arrivals[seen][0] - t0)
                time.sleep(0.5)
        finally:
            stop(procs)
            store.close()
            hook.server.shutdown()
    return out


def bytes_per_mention(base: str, n: int) -> tuple[float, float]:
    """Bytes per stored and tagged mention in PostgreSQL (tables, indexes, TOAST), without and with ``raw``.

    The synthetic texts are about 100 characters; a platform's ``raw`` JSON is modelled as 600 bytes of
    incompressible text (real payloads compress better, so this errs on the large side).
    """
    out = []
    rng = random.Random(3)
    for raw in (False, True):
        with fresh_schema(base) as db:
            store = Store.open(db)
            batch = mentions(n, seed=7 if raw else 8)
            if raw:
                batch = [dataclasses.replace(m, raw={"payload": rng.randbytes(280).hex()}) for m in batch]
            store.upsert_mentions(batch)
            pending = store.untagged(n)
            store.save_tags(
                [TaggedMention(p, [BrandLabel("Полярбанк", "negative", 0.9, "fast@1")]) for p in pending]
            )
            with store.engine.connect() as conn:
                size = conn.execute(
                    text(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                        "JOIN pg_namespace s ON s.oid = c.relnamespace "
                        "WHERE s.nspname = current_schema() AND c.relkind = 'r'"
                    )
                ).scalar_one()
            store.close()
            out.append(float(size) / n)
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("LOYALTY_BENCH_POSTGRES_URL"), help="PostgreSQL URL")
    parser.add_argument("--workers", default="1,2,4", help="tag worker counts to measure")
    parser.add_argument("--fast-n", type=int, default=3000, help="mentions per run with the fast model")
    parser.add_argument("--default-n", type=int, default=300, help="mentions per run with the default model")
    parser.add_argument("--lease-s", type=float, default=10.0, help="--poll-lease-s for the poll takeover")
    parser.add_argument("--samples", type=int, default=5, help="latency samples")
    parser.add_argument("--size-n", type=int, default=20000, help="mentions stored to measure bytes/mention")
    parser.add_argument("--skip", default="", help="comma-separated: fast,default,leader,poll,latency,size")
    args = parser.parse_args()
    if not args.db or not args.db.startswith("postgresql"):
        raise SystemExit("set LOYALTY_BENCH_POSTGRES_URL (or --db) to a PostgreSQL URL")
    skip = set(filter(None, args.skip.split(",")))
    counts = [int(x) for x in args.workers.split(",")]
    print(f"cores: {os.cpu_count()}, load before: {load()}")
    for model, n in (("fast", args.fast_n), ("default", args.default_n)):
        if model in skip:
            continue
        for k in counts:
            rate = tag_throughput(args.db, model, k, n)
            print(f"tag throughput, {model} model, {k} worker(s): {rate:,.0f} mentions/s ({n} mentions)")
    if "leader" not in skip:
        print(f"alert leader takeover after SIGKILL: {leader_takeover(args.db):.2f} s (retry every 5 s)")
    if "poll" not in skip:
        took = poll_takeover(args.db, args.lease_s)
        print(f"poll lease takeover after SIGKILL: {took:.2f} s (--poll-lease-s {args.lease_s:g})")
    if "latency" not in skip:
        lat = latency(args.db, args.samples)
        print(
            f"stored complaint -> webhook, 2 workers: median {statistics.median(lat):.2f} s, "
            f"max {max(lat):.2f} s ({len(lat)} samples)"
        )
    if "size" not in skip:
        plain, with_raw = bytes_per_mention(args.db, args.size_n)
        print(
            f"PostgreSQL size per tagged mention (one brand link, indexes included): {plain:,.0f} bytes, "
            f"{with_raw:,.0f} with 600 bytes of raw JSON"
        )
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
