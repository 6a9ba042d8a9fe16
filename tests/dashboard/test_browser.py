"""The real thing: a Streamlit server on 127.0.0.1 and headless Chromium drawing the charts.

AppTest checks the script's logic but never runs vega-embed; this test proves the charts actually render in a
browser, that the mention text reaches the page as text, and saves the screenshots the docs show.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.fixtures import EVIL_TEXT, build_db, setup

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
#: Screenshots go here; `LOYALTY_SCREENSHOT_DIR=docs/img pytest -m browser` refreshes the docs' pictures.
SCREENSHOT_DIR = os.environ.get("LOYALTY_SCREENSHOT_DIR")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs /usr/bin/chromium and chromedriver"
    ),
]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1400",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_db(url).close()
    port = _free_port()
    env = setup(url, port=port).environment()
    from dashboard.launch import command
    from dashboard.settings import DashboardSettings

    argv = command(DashboardSettings(port=port))
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


def _wait(drv: object, predicate: object, timeout: float = 60) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, timeout).until(predicate)  # type: ignore[arg-type]


def test_overview_and_feed_render_in_chromium(server: str, driver: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    img = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path

    drv = driver
    drv.get(server)  # type: ignore[attr-defined]
    charts = ".vega-embed canvas, .vega-embed svg"
    _wait(drv, lambda d: len(d.find_elements(By.CSS_SELECTOR, charts)) >= 4)
    _wait(drv, lambda d: "Индекс лояльности" in d.find_element(By.TAG_NAME, "body").text)
    drawn = drv.find_elements(By.CSS_SELECTOR, ".vega-embed")  # type: ignore[attr-defined]
    assert len(drawn) == 4
    for el in drawn:
        size = el.size
        assert size["width"] > 100 and size["height"] > 80, size
    assert not drv.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")  # type: ignore[attr-defined]
    time.sleep(1.0)  # let the last vega transitions settle for the screenshot
    img.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(img / "dashboard-overview.png"))  # type: ignore[attr-defined]

    radios = drv.find_elements(By.XPATH, "//label[.//p[text()='Упоминания']]")  # type: ignore[attr-defined]
    radios[0].click()
    _wait(drv, lambda d: "Разбор упоминания" in d.find_element(By.TAG_NAME, "body").text)
    body = drv.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert EVIL_TEXT in body  # shown literally: the tags and markdown are text, not markup
    assert not drv.find_elements(By.CSS_SELECTOR, "[data-testid='stMain'] strong")  # type: ignore[attr-defined]
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):  # the <script> and onerror= in the text did not run
        drv.switch_to.alert.text  # type: ignore[attr-defined]  # noqa: B018
    time.sleep(1.0)
    drv.save_screenshot(str(img / "dashboard-feed.png"))
    assert (img / "dashboard-feed.png").stat().st_size > 10_000  # type: ignore[attr-defined]
