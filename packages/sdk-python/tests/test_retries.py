"""Retries, backoff, Retry-After, timeouts and the POST rule, on httpx.MockTransport with recorded sleeps."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from conftest import TOKEN, error_body, json_response
from inferencekey import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    ManagementClient,
    RateLimitError,
    RetryPolicy,
    __version__,
)
from inferencekey._retry import backoff_delay, may_retry, parse_retry_after, retry_delay

WORKLOAD = {
    "id": "wl_1",
    "project_slug": "acme",
    "slug": "support-bot",
    "name": "Support bot",
    "spec": {},
    "status": {},
}
KEY = {"id": "key_1", "name": "backend", "key": "ik_live_x"}


def test_requests_carry_auth_user_agent_and_json(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(200, WORKLOAD)])
    mgmt.get("support-bot")
    (request,) = h.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == f"inferencekey-sdk-python/{__version__}"
    assert request.headers["accept"] == "application/json"
    assert "idempotency-key" not in request.headers
    assert str(request.url) == "https://api.test/v1/projects/acme/workloads/support-bot"


def test_path_segments_are_percent_encoded(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(200, WORKLOAD)])
    mgmt.get("a/b c")
    assert h.requests[0].url.raw_path == b"/v1/projects/acme/workloads/a%2Fb%20c"


def test_default_max_retries_is_two_with_exponential_backoff(mgmt_with: Any) -> None:
    # Prepare: three 500s in a row
    mgmt, h = mgmt_with([json_response(500, error_body("internal"))] * 3)

    # Act
    with pytest.raises(InternalServerError):
        mgmt.get("support-bot")

    # Assess: 1 attempt + 2 retries, waits 0.5 s then 1 s (no jitter)
    assert len(h.requests) == 3
    assert h.sleeps == [0.5, 1.0]


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25)
    assert [backoff_delay(n, policy, 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delay(3, policy, 0.999) == pytest.approx(4.0 * (1 - 0.25 * 0.999))
    assert all(3.0 <= backoff_delay(3, policy, r / 10) <= 4.0 for r in range(10))


def test_jitter_comes_from_the_random_source(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with(
        [json_response(503, error_body("unavailable"))] * 2, retry_policy=RetryPolicy(jitter=0.5), max_retries=1
    )
    mgmt._http.random = lambda: 1.0
    with pytest.raises(InternalServerError):
        mgmt.get("support-bot")
    assert h.sleeps == [0.25]


def test_retry_after_seconds_is_honoured_on_429(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with(
        [json_response(429, error_body("rate_limited"), {"retry-after": "7"}), json_response(200, WORKLOAD)]
    )
    assert mgmt.get("support-bot").slug == "support-bot"
    assert h.sleeps == [7.0]


def test_retry_after_http_date_is_honoured_on_503(mgmt_with: Any) -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    mgmt, h = mgmt_with(
        [json_response(503, error_body("unavailable"), {"retry-after": when}), json_response(200, WORKLOAD)]
    )
    mgmt.get("support-bot")
    assert len(h.sleeps) == 1
    assert 27.0 <= h.sleeps[0] <= 30.0


def test_retry_after_is_capped(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with(
        [json_response(429, error_body("rate_limited"), {"retry-after": "86400"}), json_response(200, WORKLOAD)],
        retry_policy=RetryPolicy(jitter=0.0, max_retry_after=20.0),
    )
    mgmt.get("support-bot")
    assert h.sleeps == [20.0]


def test_retry_after_is_ignored_on_other_statuses(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with(
        [json_response(500, error_body("internal"), {"retry-after": "30"}), json_response(200, WORKLOAD)]
    )
    mgmt.get("support-bot")
    assert h.sleeps == [0.5]


def test_rate_limit_error_after_retries_are_exhausted_carries_retry_after(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(429, error_body("rate_limited"), {"retry-after": "2"})] * 3)
    with pytest.raises(RateLimitError) as caught:
        mgmt.get("support-bot")
    assert caught.value.retry_after == 2.0
    assert h.sleeps == [2.0, 2.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("1.5", 1.5), (" 0 ", 0.0), ("-4", 0.0), ("soon", None), ("", None), (None, None), ("inf", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412478.0) == 2.0


def test_put_and_delete_are_retried(mgmt_with: Any) -> None:
    ensure_body = {
        "project_slug": "acme",
        "workload_slug": "bot",
        "generation": 1,
        "changed": False,
        "created": False,
        "differences": [],
        "workload": WORKLOAD,
    }
    mgmt, h = mgmt_with(
        [
            json_response(502, error_body("internal")),
            json_response(200, ensure_body),
            httpx.ConnectError("refused"),
            json_response(200, {"project_slug": "acme", "workload_slug": "bot", "deleted": True}),
        ]
    )
    mgmt.ensure({"name": "Bot", "slug": "bot", "model": "m", "backend": "vllm"})
    assert mgmt.delete("bot").deleted
    assert [r.method for r in h.requests] == ["PUT", "PUT", "DELETE", "DELETE"]


def test_post_is_not_retried_without_an_idempotency_key(mgmt_with: Any) -> None:
    # Prepare: a 500 and a 503 could each have created the key already.
    for failure in (
        json_response(500, error_body("internal")),
        json_response(503, error_body("unavailable"), {"retry-after": "1"}),
    ):
        mgmt, h = mgmt_with([failure, json_response(201, KEY)])

        # Act
        with pytest.raises(InternalServerError):
            mgmt.keys.create("support-bot", name="backend")

        # Assess
        assert len(h.requests) == 1
        assert h.sleeps == []


def test_post_is_not_retried_after_a_read_timeout_without_an_idempotency_key(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([httpx.ReadTimeout("slow"), json_response(201, KEY)])
    with pytest.raises(APITimeoutError):
        mgmt.workers.register(name="gpu-box")
    assert len(h.requests) == 1


def test_post_with_an_idempotency_key_is_retried_with_the_same_key(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(500, error_body("internal")), httpx.ReadError("reset"), json_response(201, KEY)])
    created = mgmt.keys.create("support-bot", name="backend", idempotency_key="bot-backend-1")
    assert created.key == "ik_live_x"
    assert [r.headers["idempotency-key"] for r in h.requests] == ["bot-backend-1"] * 3
    assert h.sleeps == [0.5, 1.0]


def test_rotate_and_register_accept_idempotency_keys(mgmt_with: Any) -> None:
    worker = {"id": "wrk_1", "token": "ik_wrk_x"}
    mgmt, h = mgmt_with(
        [
            json_response(503, error_body("unavailable")),
            json_response(201, {**KEY, "previous": {"id": "key_0"}}),
            json_response(500, error_body("internal")),
            json_response(201, worker),
        ]
    )
    assert (
        mgmt.keys.rotate("support-bot", "key_0", old_key_expires_in_seconds=0, idempotency_key="rot-1").previous
        is not None
    )
    assert mgmt.workers.register(name="gpu-box", idempotency_key="reg-1").token == "ik_wrk_x"
    assert len(h.requests) == 4


def test_post_is_retried_when_the_connection_never_opened(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([httpx.ConnectError("connection refused"), json_response(201, KEY)])
    mgmt.keys.create("support-bot", name="backend")
    assert len(h.requests) == 2


def test_post_is_retried_on_429(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(429, error_body("rate_limited"), {"retry-after": "1"}), json_response(201, KEY)])
    mgmt.keys.create("support-bot", name="backend")
    assert h.sleeps == [1.0]


def test_client_errors_are_not_retried(mgmt_with: Any) -> None:
    for status, code in ((400, "validation_failed"), (401, "unauthorized"), (404, "not_found"), (409, "conflict")):
        mgmt, h = mgmt_with([json_response(status, error_body(code))])
        with pytest.raises(Exception) as caught:
            mgmt.get("x")
        assert getattr(caught.value, "status", None) == status
        assert len(h.requests) == 1


def test_connection_errors_become_api_connection_error(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([httpx.ConnectError("connection refused")] * 3)
    with pytest.raises(APIConnectionError) as caught:
        mgmt.get("x")
    assert caught.value.code == "connection_error"
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert not isinstance(caught.value, APITimeoutError)
    assert len(h.requests) == 3


def test_timeouts_become_api_timeout_error_and_are_retried_for_get(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), json_response(200, WORKLOAD)])
    assert mgmt.get("support-bot").slug == "support-bot"
    assert len(h.requests) == 3


def test_timeout_is_per_attempt_and_overridable(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(200, WORKLOAD), json_response(200, WORKLOAD)], timeout=12.5)
    mgmt.get("a")
    mgmt.get("b", timeout=3.0)
    assert [r.extensions["timeout"]["read"] for r in h.requests] == [12.5, 3.0]


def test_timeout_error_names_the_timeout(mgmt_with: Any) -> None:
    mgmt, _ = mgmt_with([httpx.ReadTimeout("slow")], max_retries=0, timeout=4)
    with pytest.raises(APITimeoutError, match="timed out after 4 s"):
        mgmt.get("x")


def test_max_retries_per_call_overrides_the_client(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(500, error_body("internal"))] * 6, max_retries=5)
    with pytest.raises(InternalServerError):
        mgmt.get("x", max_retries=0)
    assert len(h.requests) == 1


def test_may_retry_rules() -> None:
    boom = InternalServerError("boom", code="internal", status=500)
    scaling = InternalServerError("scaling", code="workload_scaling_up", status=503)
    assert may_retry("GET", None, boom) and may_retry("PUT", None, boom) and may_retry("DELETE", None, boom)
    assert not may_retry("POST", None, boom)
    assert may_retry("POST", "k", boom)
    assert may_retry("POST", None, scaling)
    assert not may_retry("POST", None, APIConnectionError("reset", request_sent=True))
    assert may_retry("POST", None, APIConnectionError("refused", request_sent=False))


def test_retry_delay_uses_retry_after_only_on_429_and_503() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert retry_delay(InternalServerError("x", status=503, retry_after=4.0), 0, policy, 0.0) == 4.0
    assert retry_delay(InternalServerError("x", status=502, retry_after=4.0), 0, policy, 0.0) == 0.5


def test_the_real_sleep_is_used_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    answers = iter([json_response(500, error_body("internal")), json_response(200, WORKLOAD)])
    client = httpx.Client(transport=httpx.MockTransport(lambda r: next(answers)))
    mgmt = ManagementClient(token=TOKEN, project="acme", http_client=client, retry_policy=RetryPolicy(jitter=0.0))
    mgmt.get("x")
    assert slept == [0.5]
