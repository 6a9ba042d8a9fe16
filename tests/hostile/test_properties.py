"""Property tests: random bytes and random JSON lines as an import never lose a good row and never raise
past the CLI (in-process through click's CliRunner, and once as a real subprocess)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_monitor.cli import main
from storage.store import Store
from tests.hostile.helpers import count, stored

ROOT = Path(__file__).resolve().parents[2]
HEADER = b"external_id,channel,text,published_at,likes\n"

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=6,
)
field_names = st.sampled_from(
    ["external_id", "channel", "text", "published_at", "likes", "views", "url", "author", "x"]
)
hostile_rows = st.dictionaries(field_names, json_values, max_size=6)


_RUN = itertools.count()


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database for every example (ids differ per example), so examples stay fast."""
    url = f"sqlite:///{tmp_path_factory.mktemp('propdb') / 'p.db'}"
    Store.open(url).close()
    return url


def good_line(i: int | str) -> bytes:
    row = {"external_id": f"good-{i}", "channel": "vk", "text": f"Сбер {i}", "published_at": 1800000000}
    return json.dumps(row, ensure_ascii=False).encode()


def good_csv(i: int | str) -> bytes:
    return f"good-{i},vk,Сбер {i},2026-11-01T10:00:00Z,7\n".encode()


def invoke(path: Path, db: str, config_file: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["import", str(path), "--config", str(config_file), "--db", db])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(st.binary(max_size=60) | hostile_rows.map(lambda r: json.dumps(r).encode()), max_size=6))
def test_random_jsonl_never_loses_a_good_row(
    junk: list[bytes],
    tmp_path_factory: pytest.TempPathFactory,
    config_file: Path,
    fake_model: None,
    shared_db: str,
) -> None:
    run = next(_RUN)
    tmp = tmp_path_factory.mktemp("prop")
    lines: list[bytes] = []
    for i, j in enumerate(junk):
        lines.append(good_line(f"{run}-{i}"))
        lines.append(j.replace(b"\n", b" ").replace(b"\r", b" "))
    lines.append(good_line(f"{run}-last"))
    path = tmp / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, output = invoke(path, shared_db, config_file)
    assert code in (0, 1), output
    store = Store.open(shared_db, migrate_schema=False)
    try:
        ids = set(stored(store))
    finally:
        store.close()
    assert {f"good-{run}-{i}" for i in range(len(junk))} | {f"good-{run}-last"} <= ids, output


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(st.binary(max_size=60), max_size=6))
def test_random_bytes_in_csv_never_lose_a_good_row(
    junk: list[bytes],
    tmp_path_factory: pytest.TempPathFactory,
    config_file: Path,
    fake_model: None,
    shared_db: str,
) -> None:
    run = next(_RUN)
    tmp = tmp_path_factory.mktemp("prop")
    # Junk is kept on its own lines and cannot open a quote that would swallow the next good row.
    cleaned = [j.replace(b'"', b"'").replace(b"\n", b" ").replace(b"\r", b" ") for j in junk]
    body = HEADER + b"".join(good_csv(f"{run}-{i}") + j + b"\n" for i, j in enumerate(cleaned))
    body += good_csv(f"{run}-last")
    path = tmp / "in.csv"
    path.write_bytes(body)
    code, output = invoke(path, shared_db, config_file)
    assert code in (0, 1), output
    store = Store.open(shared_db, migrate_schema=False)
    try:
        ids = set(stored(store))
    finally:
        store.close()
    assert {f"good-{run}-{i}" for i in range(len(junk))} | {f"good-{run}-last"} <= ids, output


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_any_bytes_never_raise_past_the_cli(
    data: bytes, tmp_path_factory: pytest.TempPathFactory, config_file: Path, fake_model: None, shared_db: str
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    for name in ("in.csv", "in.jsonl"):
        path = tmp / name
        path.write_bytes(data)
        code, output = invoke(path, shared_db, config_file)
        assert code in (0, 1, 2), output
        assert "Traceback" not in output


@pytest.mark.slow
def test_hostile_file_through_the_installed_command(tmp_path: Path) -> None:
    """Once as a real subprocess (the offline model loads): bad lines reported, good rows kept, exit 1."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        good_line(1)
        + b"\n\xff\xfe\x00garbage\n"
        + b'{"external_id": {"a": 1}}\n'
        + b'{"likes": 1e999}\n'
        + b"[" * 100000
        + b"\n"
        + good_line(2)
        + b"\n"
    )
    db = f"sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "loyalty_monitor", "import", str(path), "--db", db],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "imported 2 new" in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if ":line " in line]
    assert [e.split(":")[1] for e in errors] == ["line 2", "line 3", "line 4", "line 5"], proc.stderr
    store = Store.open(db)
    try:
        assert count(store) == 2
    finally:
        store.close()
