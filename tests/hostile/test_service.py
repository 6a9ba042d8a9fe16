"""Extras: a failing periodic alert task is logged, retried with back-off and shown in ``status``; the
service's shutdown logs the exceptions it gathers instead of dropping them."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from loyalty_monitor import service
from loyalty_monitor.config import Config, StorageSettings
from storage.store import Store
from tests.hostile.helpers import db_url


async def test_failing_periodic_task_is_logged_retried_and_shown(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def step() -> None:
        calls.append(loop.time())
        if len(calls) <= 3:
            raise OperationalError("SELECT ...", {}, Exception("database is locked"))
        if len(calls) == 5:
            stop.set()

    config = Config(storage=StorageSettings(url=db_url(store)))
    caplog.set_level(logging.WARNING)
    task = asyncio.create_task(
        service.run_periodic("alert-rules", step, 0.01, stop, store, base_backoff_s=0.05, max_backoff_s=1.0)
    )
    while len(calls) < 3:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    status = service.status_report(config)
    assert (
        "task alert-rules" in status and "failing (3 in a row)" in status and "database is locked" in status
    )
    await asyncio.wait_for(task, 10)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2, gaps  # exponential back-off
    failures = [r for r in caplog.records if "alert-rules failed" in r.getMessage()]
    assert len(failures) == 3 and "retrying in" in failures[0].getMessage()
    assert "task alert-rules" in service.status_report(config)
    assert "failing" not in service.status_report(config).split("task alert-rules")[1].splitlines()[0]


async def test_periodic_alert_rules_keep_running_in_the_service(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The live loop: evaluate_periodic raising once does not silence it; stop ends the run cleanly."""
    from alerts.engine import AlertEngine
    from tests.fakes import FakeSentimentModel

    calls: list[int] = []
    stop_event: list[asyncio.Event] = []

    def flaky(self: AlertEngine, now: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(AlertEngine, "evaluate_periodic", flaky)
    monkeypatch.setattr(service, "load_sentiment", lambda config: FakeSentimentModel())
    real_periodic = getattr(service, "run_periodic", None)  # (absent before the fix: the test still runs)

    async def quick(name, step, interval_s, stop, store_, **kw):  # type: ignore[no-untyped-def]
        stop_event.append(stop)
        assert real_periodic is not None
        return await real_periodic(name, step, 0.01, stop, store_, base_backoff_s=0.01, max_backoff_s=0.02)

    monkeypatch.setattr(service, "run_periodic", quick, raising=False)
    config = Config(storage=StorageSettings(url=db_url(store)))
    config.pipeline.refresh_window_h = 0
    caplog.set_level(logging.ERROR)
    run = asyncio.create_task(service.run_monitor(config))
    for _ in range(500):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.01)
    if stop_event:
        stop_event[0].set()
    else:  # no stop event to reach: end the run the way SIGTERM would
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(run, 10)
    assert len(calls) >= 3
    assert any("alert-rules failed (1 in a row)" in r.getMessage() for r in caplog.records)


def test_shutdown_logs_exceptions_it_gathers(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async def broken() -> None:
            raise ValueError("outbox exploded")

        async def waits() -> None:
            await asyncio.sleep(10)

        async def fails_to_stop() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                raise RuntimeError("flush on stop failed") from None

        tasks = [
            asyncio.create_task(broken(), name="outbox"),
            asyncio.create_task(waits(), name="poll:vk"),
            asyncio.create_task(fails_to_stop(), name="engagement-refresh"),
        ]
        for t in tasks:
            t.add_done_callback(service._report_crash)
        await asyncio.sleep(0.01)
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        service._log_task_errors(tasks, results)

    caplog.set_level(logging.ERROR)
    asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    # each failure once: when it happened, or when the stop made it fail
    assert [m for m in messages if "outbox" in m] == ["task outbox stopped: ValueError: outbox exploded"]
    assert [m for m in messages if "engagement-refresh" in m] == [
        "task engagement-refresh stopped: RuntimeError: flush on stop failed"
    ]
    assert not any("poll:vk" in m for m in messages)
