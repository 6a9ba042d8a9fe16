"""The queue in a real browser: take a case, answer it, see it leave the open list (headless Chromium)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.cases import get_case
from storage.store import Store
from tests.dashboard.fixtures import EVIL_TEXT, build_db, setup
from tests.dashboard.test_browser import ROOT, _free_port, _wait, _wait_healthy, driver, pytestmark
from tests.dashboard.test_queue import open_evil_case

__all__ = ["driver", "pytestmark"]  # the Chromium fixture and the browser markers, shared


@pytest.fixture
def queue_server(tmp_path: Path) -> Iterator[tuple[str, Store, int]]:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    store = build_db(url)
    case_id = open_evil_case(store)
    port = _free_port()
    env = setup(url, port=port).environment()
    from dashboard.launch import command
    from dashboard.settings import DashboardSettings

    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        command(DashboardSettings(port=port)), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield f"http://127.0.0.1:{port}/", store, case_id
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        store.close()


def test_take_a_case_answer_it_and_it_leaves_the_open_list(
    queue_server: tuple[str, Store, int], driver: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, store, case_id = queue_server
    drv: object = driver
    drv.get(url)  # type: ignore[attr-defined]

    def body(d: object) -> str:
        return str(d.find_element(By.TAG_NAME, "body").text)  # type: ignore[attr-defined]

    def button(d: object, label: str) -> list[object]:
        return list(d.find_elements(By.XPATH, f"//button[.//p[text()='{label}']]"))  # type: ignore[attr-defined]

    queue = "//label[.//p[text()='Очередь']]"
    _wait(drv, lambda d: "Индекс лояльности" in body(d) and d.find_elements(By.XPATH, queue))  # type: ignore[attr-defined]
    drv.find_elements(By.XPATH, queue)[0].click()  # type: ignore[attr-defined]
    _wait(drv, lambda d: "Очередь обращений" in body(d) and EVIL_TEXT in body(d))
    me = "//div[@data-testid='stTextInput'][.//p[text()='Ваше имя (для истории изменений)']]//input"
    _wait(drv, lambda d: d.find_elements(By.XPATH, me))  # type: ignore[attr-defined]
    name = drv.find_element(By.XPATH, me)  # type: ignore[attr-defined]
    name.send_keys("Анна", Keys.ENTER)
    _wait(drv, lambda d: bool(button(d, "Взять")))
    button(drv, "Взять")[0].click()  # type: ignore[attr-defined]
    _wait(drv, lambda d: get_case(store, case_id).status == "in_progress" and bool(button(d, "Отвечено")))
    assert get_case(store, case_id).assignee == "Анна"
    _wait(drv, lambda d: "в работе" in body(d))
    button(drv, "Отвечено")[0].click()  # type: ignore[attr-defined]
    _wait(drv, lambda d: "Открытых обращений нет" in body(d))
    assert get_case(store, case_id).status == "answered"
    assert not drv.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")  # type: ignore[attr-defined]
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):  # the mention's <script> never ran
        drv.switch_to.alert.text  # type: ignore[attr-defined]  # noqa: B018
