"""Extra: ``loyalty-monitor dashboard`` stopped by a service manager (SIGTERM) leaves no server running,
and ``--host``/``--port`` reach the server's command line and its setup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboard.settings import DashboardSetup
from loyalty_monitor import cli

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


LAUNCHER = textwrap.dedent(
    """
    import sys
    import dashboard.launch
    from loyalty_monitor.cli import main

    # The "server": prints its pid, then runs until a signal ends it.
    server = [sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(120)"]
    dashboard.launch.command = lambda *args, **kw: server
    main(["dashboard", "--db", "sqlite:///{db}"])
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_to_the_launcher_stops_the_server(tmp_path: Path) -> None:
    script = tmp_path / "launch.py"
    script.write_text(LAUNCHER.format(db=tmp_path / "d.db"), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    server_pid = 0
    try:
        assert proc.stdout is not None
        server_pid = int(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        deadline = time.monotonic() + 10
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server_pid), "the dashboard server outlived its launcher"
    finally:
        proc.kill()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        if server_pid and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_forwarding_runner_passes_sigterm_to_the_child(tmp_path: Path) -> None:
    """Where exec is unavailable the launcher runs the server as a child and forwards the signal."""
    script = tmp_path / "fwd.py"
    script.write_text(
        "import sys\nfrom loyalty_monitor.cli import run_forwarding_signals\n"
        "SERVER = 'import os, time; print(os.getpid(), flush=True); time.sleep(120)'\n"
        "server = [sys.executable, '-c', SERVER]\n"
        "sys.exit(run_forwarding_signals(server))\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    child = 0
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        assert child != proc.pid
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) != 0
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        proc.kill()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_host_and_port_flags_reach_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    envs: list[Mapping[str, str]] = []

    def fake_exec(argv: list[str], env: Mapping[str, str] | None = None) -> None:
        seen.append(argv)
        envs.append(env or {})

    monkeypatch.setattr(cli, "exec_server", fake_exec)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    result = CliRunner().invoke(cli.main, ["dashboard", "--db", db, "--host", "0.0.0.0", "--port", "9999"])
    assert result.exit_code == 0, result.output
    argv = seen[0]
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0"
    assert argv[argv.index("--server.port") + 1] == "9999"
    # The server's setup (in its environment) agrees with its command line and names the database.
    setup = DashboardSetup.from_env(envs[0])
    assert (setup.dashboard.host, setup.dashboard.port, setup.db_url) == ("0.0.0.0", 9999, db)
    result = CliRunner().invoke(cli.main, ["dashboard", "--db", db, "--port", "70000"])
    assert result.exit_code == 2 and "70000" in result.output
