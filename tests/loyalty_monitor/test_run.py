"""`loyalty-monitor run` as a process: collects from a local feed, tags with the shipped model, stops
cleanly on SIGTERM, and a restart neither loses nor duplicates a mention."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from storage.schema import MentionBrand, MentionRow
from storage.store import Store
from tests.collectors.server import FixtureServer, Reply

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def feed(items: list[tuple[str, str]]) -> str:
    now = datetime.now(UTC)
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example.org/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate></item>"
        for i, (guid, title) in enumerate(items)
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>"


def counts(url: str) -> tuple[int, int, int]:
    # Read only: migrating here would race the run process migrating the same new file.
    store = Store.open(url, migrate_schema=False)
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(MentionRow)).scalar_one()
        untagged = conn.execute(
            select(func.count()).select_from(MentionRow).where(MentionRow.tagged_at.is_(None))
        ).scalar_one()
        links = conn.execute(select(func.count()).select_from(MentionBrand)).scalar_one()
    store.close()
    return total, untagged, links


def test_run_stops_cleanly_on_sigterm_and_resumes(tmp_path: Path) -> None:
    items = [
        ("n1", "Полярбанк снова заблокировал карту, поддержка молчит"),
        ("n2", "Полярбанк открыл новое отделение на Ленина"),
        ("n3", "Перешёл из Полярбанка в Кедр Банк, очень доволен"),
        ("n4", "Погода в Примерске: без осадков"),
    ]
    with FixtureServer() as server:
        server.route("/feed.rss", Reply(body=feed(items), content_type="application/rss+xml"))
        db = f"sqlite:///{tmp_path / 'run.db'}"
        config = tmp_path / "loyalty.toml"
        config.write_text(
            f"""
[storage]
url = "{db}"
[[brands]]
name = "Полярбанк"
aliases = ["Полярбанк"]
own = true
[[brands]]
name = "Кедр Банк"
aliases = ["Кедр Банк"]
[sources.rss]
base_url = "{server.url}"
feeds = [{{url = "/feed.rss", channel = "news"}}]
poll_interval_s = 0.5
[alerts]
enabled = false
""",
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "loyalty_monitor", "run", "--config", str(config)]
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                try:
                    if (tmp_path / "run.db").exists() and counts(db)[:2] == (4, 0):
                        break
                except OperationalError:  # the run process has not created the tables yet
                    pass
                time.sleep(0.5)
            assert proc.poll() is None, proc.communicate()
            assert len(server.hits("/feed.rss")) >= 1
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err.decode()
        total, untagged, links = counts(db)
        assert (total, untagged) == (4, 0)
        assert links == 4  # two for the switch from one bank to the other, none for the weather

        again = subprocess.run(
            [sys.executable, "-m", "loyalty_monitor", "collect", "--once", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stderr.decode()
        assert counts(db) == (4, 0, 4)
