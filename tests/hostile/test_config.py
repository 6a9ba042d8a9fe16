"""Rows 8-11: config and command-line mistakes end in one line naming the place, never a traceback, and
never echo a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from loyalty_monitor import service
from loyalty_monitor.cli import main
from loyalty_monitor.config import Config

SECRET = "vk1.a.Zx9fQ2secretTOKENvalue0123456789"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    """Row 8."""
    path = tmp_path / "loyalty.toml"
    path.write_bytes(b'[display]\ntimezone = "UTC"\n# \xcf\xf0\xe8\xe2\xe5\xf2 in cp1251\n')
    line = one_error_line(run("status", "--config", str(path)))
    assert str(path) in line and "line 3, column 3: not UTF-8 (byte 0xCF)" in line


def test_unset_destination_token_fails_before_the_model_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 9: one line naming the key and the variable, and the model never loaded."""
    path = tmp_path / "loyalty.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "t.db"}"\n'
        '[[alerts.destinations]]\ntype = "telegram"\ntoken_env = "HOSTILE_UNSET_TG_TOKEN"\nchat_id = "-1"\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("HOSTILE_UNSET_TG_TOKEN", raising=False)

    def no_model(config: Config) -> None:
        raise AssertionError("the model loaded before the configuration was checked")

    monkeypatch.setattr(service, "load_sentiment", no_model)
    line = one_error_line(run("run", "--once", "--config", str(path)))
    assert "alerts.destinations[0].token_env" in line and "HOSTILE_UNSET_TG_TOKEN is not set" in line


@pytest.mark.parametrize(
    ("url", "expected", "hidden"),
    [
        ("garbage", "'garbage' is not a database URL", None),
        ("mysql://x", "mysql is not supported", None),
        ("postgres://me:hunter2pass@db/x", "postgres is not supported", "hunter2pass"),
    ],
)
def test_bad_db_url(tmp_path: Path, url: str, expected: str, hidden: str | None) -> None:
    """Row 10: --db and storage.url are checked at load, with the password of a URL hidden."""
    line = one_error_line(run("status", "--db", url))
    assert line.startswith("Error: --db: ") and expected in line and "sqlite:///FILE" in line
    if hidden:
        assert hidden not in line
    path = tmp_path / "loyalty.toml"
    path.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    line = one_error_line(run("status", "--config", str(path)))
    assert "storage.url: " in line and expected in line
    if hidden:
        assert hidden not in line


@pytest.mark.parametrize(
    "table",
    [
        '[sources.vk]\nbase_url = "https://api.vk.com"\ntoken_env = "{secret}"\n',
        '[[alerts.destinations]]\ntype = "slack"\nurl_env = "https://hooks.slack.com/services/{secret}"\n',
        '[dashboard]\npassword_env = "{secret}"\n',
    ],
)
def test_a_secret_pasted_into_an_env_key_is_refused_unseen(tmp_path: Path, table: str) -> None:
    """Row 11: a token in token_env (or url_env, password_env) fails at load without echoing it."""
    path = tmp_path / "loyalty.toml"
    path.write_text(table.format(secret=SECRET), encoding="utf-8")
    line = one_error_line(run("status", "--config", str(path)))
    assert "must name an environment variable" in line and "not shown" in line
    assert SECRET not in line and "Zx9fQ2" not in line


def test_a_lowercase_name_gets_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "loyalty.toml"
    path.write_text(
        '[sources.vk]\nbase_url = "https://api.vk.com"\ntoken_env = "vk_token"\n', encoding="utf-8"
    )
    line = one_error_line(run("status", "--config", str(path)))
    assert "sources.vk.token_env" in line and "'VK_TOKEN'" in line
