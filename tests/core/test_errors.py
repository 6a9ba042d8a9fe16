"""One error tree and one status mapper for every HTTP client: collectors and alert senders alike."""

from __future__ import annotations

import httpx
import pytest

import alerts.errors
import collectors.errors
from alerts.senders import check_response
from core import errors
from core.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimited,
    RequestError,
    ServerError,
    ServiceError,
    TransientError,
    error_for_status,
)

STATUSES = [
    (429, RateLimited),
    (401, AuthError),
    (403, AuthError),
    (404, NotFoundError),
    (410, NotFoundError),
    (400, RequestError),
    (422, RequestError),
    (408, ServerError),
    (500, ServerError),
    (503, ServerError),
]


def test_collectors_and_alerts_share_the_core_classes() -> None:
    assert collectors.errors.RateLimited is alerts.errors.RateLimited is RateLimited
    assert collectors.errors.CollectorError is alerts.errors.DeliveryError is ServiceError
    assert alerts.errors.RetryableDelivery is TransientError
    assert alerts.errors.PermanentDelivery is PermanentError


@pytest.mark.parametrize(("status", "cls"), STATUSES)
def test_one_status_mapper_for_collectors_and_senders(status: int, cls: type[ServiceError]) -> None:
    assert type(error_for_status("x", status, "boom")) is cls
    assert type(collectors.errors.error_for("x", status=status, message="boom")) is cls
    resp = httpx.Response(status, json={"ok": False, "description": "boom"})
    with pytest.raises(ServiceError) as caught:
        check_response(resp, service="telegram")
    assert type(caught.value) is cls
    assert caught.value.service == "telegram"


def test_retry_after_and_retry_classes() -> None:
    limited = error_for_status("vk", 429, "slow down", retry_after=7.0)
    assert isinstance(limited, RateLimited) and isinstance(limited, TransientError)
    assert limited.retry_after == 7.0
    assert str(limited) == "vk: HTTP 429: slow down"
    assert isinstance(error_for_status("vk", 403), PermanentError)
    assert not isinstance(error_for_status("vk", 500), PermanentError)


def test_messages_go_through_the_installed_redactor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "_redact", lambda text: text.replace("s3cret", "***"))
    err = error_for_status("rss", 500, "GET /feed?key=s3cret failed")
    assert "s3cret" not in str(err) and "***" in err.message
