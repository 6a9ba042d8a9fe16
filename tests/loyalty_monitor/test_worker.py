"""`loyalty-monitor worker` as processes on one real PostgreSQL: three of them share a 2,000-post feed set,
one is SIGKILLed mid-run and replaced, and every post is stored and labelled once; SIGTERM ends the rest
with exit code 0. Two workers running the alert and delivery roles at once deliver every alert once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from core.mention import Mention
from loyalty_monitor.cli import main
from loyalty_monitor.worker import workers_report
from storage.schema import AlertDelivery, MentionBrand, MentionRow
from storage.store import Store
from tests.alerts.fakes import running
from tests.collectors.server import FixtureServer, Reply

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL")

FEEDS = 10
PER_FEED = 200


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema of the test server for the worker processes to migrate and share."""
    if not PG_URL:
        pytest.skip("LOYALTY_TEST_POSTGRES_URL is not set (make test starts a server)")
    schema = "w_" + uuid.uuid4().hex[:12]
    # Pre-ping: one test restarts the server, and the schema is dropped over a fresh connection after it.
    admin = create_engine(PG_URL, pool_pre_ping=True)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def feed(items: list[tuple[str, str]]) -> str:
    now = datetime.now(UTC)
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example.org/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(seconds=i))}</pubDate></item>"
        for i, (guid, title) in enumerate(items)
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>"


def write_config(path: Path, db: str, server: str, feeds: int, *, alerts: str = "enabled = false") -> Path:
    urls = ", ".join(f'{{url = "/f{i}.rss", channel = "forum"}}' for i in range(feeds))
    path.write_text(
        f"""
[storage]
url = "{db}"
[sentiment]
model = "fast"
[pipeline]
tag_batch_size = 64
[[brands]]
name = "Полярбанк"
aliases = ["Полярбанк"]
own = true
[sources.rss]
base_url = "{server}"
feeds = [{urls}]
poll_interval_s = 3
requests_per_s = 20
[alerts]
{alerts}
""",
        encoding="utf-8",
    )
    return path


def start(
    config: Path, cwd: Path, roles: str = "collect,tag,alerts,deliver", **env: str
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "loyalty_monitor", "worker", "--config", str(config), "--roles", roles]
    cmd += ["--poll-lease-s", "4"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(MentionRow)).scalar_one()
        untagged = conn.execute(
            select(func.count()).select_from(MentionRow).where(MentionRow.tagged_at.is_(None))
        ).scalar_one()
    return int(total), int(untagged)


def wait_for(condition: Callable[[], bool], timeout: float, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(
                    f"worker exited early: {p.returncode} {p.communicate()[1].decode()[-3000:]}"
                )
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def stop_all(procs: list[subprocess.Popen[bytes]]) -> list[tuple[int, str]]:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    out = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        out.append((p.returncode, err.decode()))
    return out


def test_worker_on_sqlite_says_workers_need_postgresql(tmp_path: Path) -> None:
    config = tmp_path / "lite.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "x.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["worker", "--config", str(config)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "workers need PostgreSQL" in lines[0] and "`loyalty-monitor run`" in lines[0]


def test_unknown_role_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "pg.toml"
    config.write_text('[storage]\nurl = "postgresql+psycopg://u@127.0.0.1:1/x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["worker", "--config", str(config), "--roles", "collect,bake"])
    assert result.exit_code == 2
    assert "--roles: unknown role 'bake'" in result.output


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_one_killed_every_post_stored_and_labelled_once(tmp_path: Path, pg_url: str) -> None:
    expected_links = 0
    with FixtureServer() as server:
        for f in range(FEEDS):
            items = []
            for i in range(PER_FEED):
                n = f * PER_FEED + i
                if n % 3 == 0:
                    items.append((f"p{n}", f"Сводка погоды номер {n}: без осадков"))
                else:
                    expected_links += 1
                    mood = "доволен обслуживанием" if n % 2 else "снова заблокировал карту"
                    items.append((f"p{n}", f"Полярбанк {mood}, случай {n}"))
            server.route(f"/f{f}.rss", Reply(body=feed(items), content_type="application/rss+xml"))
        config = write_config(tmp_path / "loyalty.toml", pg_url, server.url, FEEDS)
        procs = [start(config, tmp_path) for _ in range(3)]
        store = Store.open(pg_url, migrate_schema=False)
        try:
            # Kill one while the work is spread over all three: some stored, some still untagged.
            wait_for(lambda: _tables_ready(store) and _mid_run(store), 240, procs)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].communicate(timeout=30)  # also closes its pipes
            assert procs[0].returncode == -signal.SIGKILL
            procs.append(start(config, tmp_path))
            live = procs[1:]
            wait_for(lambda: counts(store) == (FEEDS * PER_FEED, 0), 300, live)

            status = CliRunner().invoke(main, ["status", "--config", str(config)])
            assert status.exit_code == 0, status.output
            assert "workers:" in status.output and "roles collect,tag,alerts,deliver" in status.output
            assert "lag: 0 untagged" in status.output
        finally:
            results = stop_all(procs[1:])
            if procs[0].poll() is None:
                procs[0].kill()
                procs[0].communicate()
        for code, err in results:
            assert code == 0, err[-3000:]
            assert "tagged by someone else" not in err
        with store.engine.connect() as conn:
            assert (
                conn.execute(select(func.count(func.distinct(MentionRow.external_id)))).scalar_one() == 2000
            )
            links = conn.execute(select(MentionBrand.mention_id, MentionBrand.model_version)).all()
            weather = conn.execute(
                select(func.count())
                .select_from(MentionBrand)
                .join(MentionRow, MentionRow.id == MentionBrand.mention_id)
                .where(MentionRow.text.like("Сводка погоды%"))
            ).scalar_one()
            pids_left = set(conn.execute(text("SELECT pid FROM workers")).scalars().all())
        assert len(links) == expected_links
        assert max(Counter(m for m, _ in links).values()) == 1
        assert weather == 0
        assert {v.split("@")[0] for _, v in links} == {"loyalty-monitor/fast"}  # the model column
        # The killed worker's row (if it got as far as registering) stays until it goes stale; the three
        # that stopped cleanly removed theirs.
        assert pids_left <= {procs[0].pid}
        store.close()


def _mid_run(store: Store) -> bool:
    total, untagged = counts(store)
    return total - untagged > 0 and (untagged > 0 or total < FEEDS * PER_FEED)


def _tables_ready(store: Store) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT to_regclass('alert_pending')")).scalar_one() is not None


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_with_alert_and_deliver_roles_deliver_every_alert_once(
    tmp_path: Path, pg_url: str
) -> None:
    complaints = [
        (
            f"c{i}",
            f"Полярбанк заблокировал карту и не возвращает деньги уже {i + 2} дней, "
            f"пишу жалобу в прокуратуру и в ЦБ, история {i}",
        )
        for i in range(30)
    ]
    with FixtureServer() as server, contextlib.contextmanager(running)("slack") as fake:
        server.route("/f0.rss", Reply(body=feed(complaints), content_type="application/rss+xml"))
        alerts = (
            'enabled = true\n[[alerts.destinations]]\ntype = "webhook"\nname = "hook"\n'
            'url_env = "W_HOOK_URL"\nmin_severity = "info"\n'
        )
        config = write_config(tmp_path / "loyalty.toml", pg_url, server.url, 1, alerts=alerts)
        env = {"W_HOOK_URL": f"{fake.url}/hook"}
        procs = [start(config, tmp_path, **env) for _ in range(2)]
        store = Store.open(pg_url, migrate_schema=False)
        try:

            def settled() -> bool:
                if not _tables_ready(store) or counts(store) != (30, 0):
                    return False
                with store.engine.connect() as conn:
                    waiting = conn.execute(text("SELECT count(*) FROM alert_pending")).scalar_one()
                    rows = conn.execute(select(AlertDelivery.state)).scalars().all()
                return waiting == 0 and bool(rows) and all(s == "sent" for s in rows)

            wait_for(settled, 240, procs)
        finally:
            results = stop_all(procs)
        for code, err in results:
            assert code == 0, err[-3000:]
            assert "failed" not in err, err[-3000:]  # no role stumbled (the leader's housekeeping included)
        with store.engine.connect() as conn:
            keys = conn.execute(select(AlertDelivery.idempotency_key)).scalars().all()
        store.close()
        received = Counter(r.headers.get("Idempotency-Key") for r in fake.successes())
        assert keys and sorted(received) == sorted(keys)
        assert set(received.values()) == {1}


@pytest.mark.postgres
def test_status_lists_live_workers_and_scrubs_their_leases(pg_store: Store) -> None:
    from storage.coordination import beat, register_worker

    register_worker(pg_store.engine, "box:1:aa", "box", 1, "collect,tag", "fast")
    beat(pg_store.engine, "box:1:aa", {"leader": True, "polls": ["rss:https://x.example/f?apikey=S3CRET"]})
    register_worker(pg_store.engine, "box:2:bb", "box", 2, "deliver", None)
    with pg_store.engine.begin() as conn:  # a worker that died an hour ago is not listed
        conn.execute(text("UPDATE workers SET beat_at = now() - interval '1 hour' WHERE id = 'box:2:bb'"))
    pg_store.upsert_mentions([Mention("t", "1", "vk", "Полярбанк", published_at=datetime.now(UTC))])
    report = "\n".join(workers_report(pg_store))
    assert "box:1:aa" in report and "roles collect,tag" in report and "model fast" in report
    assert "alert leader" in report and "poll rss:https://x.example/f?apikey=***" in report
    assert "S3CRET" not in report and "box:2:bb" not in report
    assert "lag: 1 untagged" in report and "0 in the outbox" in report


def _restart_server(store: Store) -> None:
    """Restart the test server in place (fast shutdown: every session is cut, as in a crash or failover)."""
    import glob

    with store.engine.connect() as conn:
        data = conn.execute(text("SHOW data_directory")).scalar_one()
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        pytest.skip("pg_ctl not found")
    cmd = [bins[-1], "-D", data, "-l", f"{data}/server.log", "restart", "-m", "fast", "-w"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    # No pipes: the restarted server would inherit them and keep them open.
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"cannot restart the test server ({' '.join(cmd)} failed)")


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_waits_out_a_database_restart(tmp_path: Path, pg_url: str) -> None:
    config = tmp_path / "loyalty.toml"
    config.write_text(
        f'[storage]\nurl = "{pg_url}"\n[sentiment]\nmodel = "fast"\n'
        '[[brands]]\nname = "Полярбанк"\naliases = ["Полярбанк"]\nown = true\n',
        encoding="utf-8",
    )
    proc = start(config, tmp_path, roles="tag")
    store = Store.open(pg_url, migrate_schema=False)
    now = datetime.now(UTC)
    try:
        wait_for(lambda: _tables_ready(store), 240, [proc])
        store.upsert_mentions(
            [Mention("t", f"a{i}", "vk", f"Полярбанк {i}", published_at=now) for i in range(20)]
        )
        wait_for(lambda: counts(store) == (20, 0), 240, [proc])
        _restart_server(store)
        store.upsert_mentions(
            [Mention("t", f"b{i}", "vk", f"Полярбанк {i}", published_at=now) for i in range(20)]
        )
        wait_for(lambda: counts(store) == (40, 0), 240, [proc])
    finally:
        ((code, err),) = stop_all([proc])
        store.close()
    assert code == 0, err[-3000:]
    # Whether the restart caught it mid-batch ("tagging failed ... works again") or idle (the pool's
    # pre-ping reconnects), the mentions stored after the restart were tagged above, by the same process.
    assert "stopped" not in err
