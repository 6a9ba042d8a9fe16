"""A collector process killed with SIGKILL mid-collection loses nothing and duplicates nothing on restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.schema import MentionRow
from storage.store import Store
from tests.collectors.server import FixtureServer, Reply

ROOT = Path(__file__).resolve().parents[2]
BASE_TS = 1725350400


def _page(page: int, next_from: str | None) -> Reply:
    # 5 posts per page, newest first across pages; the last post of a page repeats as the first of the next
    # one (VK does this at page edges), so overlap is exercised too.
    items = []
    for i in range(5):
        n = page * 4 + i
        items.append(
            {"id": 1000 - n, "owner_id": 42, "from_id": 42, "date": BASE_TS - n * 60, "text": f"Ромашка #{n}"}
        )
    body = {"response": {"items": items, "profiles": [], "groups": []}}
    if next_from:
        body["response"]["next_from"] = next_from
    return Reply(body=body)


def _worker(server: FixtureServer, db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VK_KILL_TOKEN": "kill-test-token"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.collectors.kill_worker", server.url, f"sqlite:///{db}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_mid_collection_then_restart(server: FixtureServer, tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    Store.open(f"sqlite:///{db}").close()  # migrate once, up front
    path = "/method/newsfeed.search"
    server.route(path, _page(0, "p1"))
    server.route(path, _page(1, "p2"), start_from="p1")
    slow = server.route(path, Reply(body={}, delay=10), _page(2, "p3"), start_from="p2")
    server.route(path, _page(3, None), start_from="p3")

    proc = _worker(server, db)
    try:
        assert slow.event.wait(60), proc.stderr.read().decode() if proc.poll() is not None else "no request"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    store = Store.open(f"sqlite:///{db}")
    try:
        assert store.counts()["mentions"] == 9  # pages 1 and 2 committed, with their cursor
        assert '"next":"p2"' in (store.get_cursor("vk", "Ромашка") or "")
    finally:
        store.close()

    proc = _worker(server, db)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]

    requested = [r.params.get("start_from") for r in server.hits(path)]
    assert requested == [None, "p1", "p2", "p2", "p3"]  # resumed at p2, never re-read p0/p1
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(MentionRow.external_id, func.count()).group_by(MentionRow.external_id)
            ).all()
        assert len(rows) == 17 and all(count == 1 for _, count in rows)
        assert {e for e, _ in rows} == {f"42_{1000 - n}" for n in range(17)}
        assert '"next":null' in (store.get_cursor("vk", "Ромашка") or "")
    finally:
        store.close()
