"""ManagementClient and AsyncManagementClient against httpx.MockTransport: routes, bodies, answers."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from conftest import BASE, TOKEN, error_body, json_response
from inferencekey import (
    AsyncManagementClient,
    Backend,
    ConfigurationError,
    DriftError,
    ExecutionPolicy,
    ManagementClient,
    OnDrift,
    RetryPolicy,
    ValidationError,
    WorkloadSpec,
)

SPEC = WorkloadSpec(
    name="Support bot",
    slug="support-bot",
    model="meta-llama/Llama-3.1-8B-Instruct",
    backend=Backend.VLLM,
    execution_policy=ExecutionPolicy.FIXED,
    execution_policy_config={"replicas": 1},
)


def workload(slug: str) -> dict[str, Any]:
    return {
        "id": f"wl_{slug}",
        "project_slug": "acme",
        "slug": slug,
        "name": slug,
        "spec": {"name": slug, "slug": slug, "model": "m", "backend": "vllm"},
        "generation": 1,
        "status": {
            "desired_replicas": 1,
            "ready_replicas": 1,
            "decision": "fixed at 1 replica",
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReplicasReady", "message": "1/1"}],
        },
    }


def ensured(changed: bool = True, created: bool = True, differences: list[Any] | None = None) -> dict[str, Any]:
    return {
        "project_slug": "acme",
        "workload_slug": "support-bot",
        "generation": 2,
        "changed": changed,
        "created": created,
        "differences": differences or [],
        "workload": workload("support-bot"),
    }


@pytest.mark.parametrize(
    ("on_drift", "wire"),
    [(OnDrift.RECONCILE, "reconcile"), (OnDrift.FAIL, "fail"), (OnDrift.IGNORE, "ignore"), ("ignore", "ignore")],
)
def test_ensure_sends_on_drift(on_drift: Any, wire: str, mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(200, ensured())])
    mgmt.ensure(SPEC, on_drift)
    assert h.requests[0].url.params["on_drift"] == wire


def test_ensure_returns_the_ref(mgmt_with: Any) -> None:
    diff = [{"path": "execution_policy_config.replicas", "from": 1, "to": 2}]
    mgmt, _ = mgmt_with([json_response(200, ensured(changed=True, created=False, differences=diff))])
    ref = mgmt.ensure(SPEC, on_drift=OnDrift.RECONCILE)
    assert (ref.project_slug, ref.workload_slug, ref.generation, ref.changed, ref.created) == (
        "acme",
        "support-bot",
        2,
        True,
        False,
    )
    assert [(d.path, d.from_, d.to) for d in ref.differences] == [("execution_policy_config.replicas", 1, 2)]
    assert ref.workload.status.ready
    assert ref.workload.spec.backend is Backend.VLLM


def test_ensure_accepts_a_wire_dict(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(201, ensured())])
    mgmt.ensure({"name": "Bot", "slug": "bot", "model": "m", "backend": Backend.SGLANG, "worker_id": None})
    assert json.loads(h.requests[0].content) == {"name": "Bot", "slug": "bot", "model": "m", "backend": "sglang"}


def test_ensure_rejects_what_is_not_a_spec(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([])
    with pytest.raises(TypeError):
        mgmt.ensure("support-bot")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="slug"):
        mgmt.ensure({"name": "Bot"})
    assert h.requests == []


def test_validation_error_carries_every_field_error(mgmt_with: Any) -> None:
    details = [
        {
            "path": "execution_policy_config.min_replicas",
            "message": "not an autoscaling field",
            "received": 0,
            "expected": "one of the fields min_workers, max_workers",
            "suggestion": "min_workers",
        },
        {
            "path": "execution_policy_config.max_hourly_cost_usd",
            "message": "required for cloud workers",
            "expected": "a number > 0",
        },
    ]
    mgmt, _ = mgmt_with(
        [
            json_response(
                400,
                error_body("validation_failed", "The workload spec has 2 problems", details),
                {"x-request-id": "req_abc"},
            )
        ]
    )
    with pytest.raises(ValidationError) as caught:
        mgmt.ensure(SPEC)
    error = caught.value
    assert error.status == 400
    assert error.request_id == "req_abc"
    assert [(d.path, d.received, d.has_received, d.expected, d.suggestion) for d in error.details] == [
        ("execution_policy_config.min_replicas", 0, True, "one of the fields min_workers, max_workers", "min_workers"),
        ("execution_policy_config.max_hourly_cost_usd", None, False, "a number > 0", None),
    ]
    text = str(error)
    assert "did you mean 'min_workers'?" in text
    assert "max_hourly_cost_usd: required for cloud workers" in text


def test_drift_error_on_fail(mgmt_with: Any) -> None:
    details = [
        {"path": "execution_policy_config.replicas", "message": "stored 1, requested 2", "received": 2, "expected": "1"}
    ]
    mgmt, _ = mgmt_with([json_response(409, error_body("drift_detected", "differs", details))])
    with pytest.raises(DriftError) as caught:
        mgmt.ensure(SPEC, on_drift=OnDrift.FAIL)
    assert caught.value.details[0].received == 2


def test_drift_error_shows_the_stored_and_requested_values_alike(mgmt_with: Any) -> None:
    # Prepare: a drift detail as the control API writes it for a string field.
    details = [{"path": "model", "message": 'stored "a/b", requested "c/d"', "received": "c/d", "expected": "a/b"}]
    mgmt, _ = mgmt_with([json_response(409, error_body("drift_detected", "differs", details))])

    # Act
    with pytest.raises(DriftError) as caught:
        mgmt.ensure(SPEC, on_drift=OnDrift.FAIL)

    # Assess
    assert (caught.value.details[0].received, caught.value.details[0].expected) == ("c/d", "a/b")
    assert str(caught.value).splitlines()[1] == '  - model: stored "a/b", requested "c/d"'


def test_get_and_delete(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with(
        [
            json_response(200, workload("bot")),
            json_response(200, {"project_slug": "acme", "workload_slug": "bot", "deleted": True}),
        ]
    )
    assert mgmt.get("bot").status.decision == "fixed at 1 replica"
    deleted = mgmt.delete("bot")
    assert (deleted.project_slug, deleted.workload_slug, deleted.deleted) == ("acme", "bot", True)
    assert [(r.method, r.url.path) for r in h.requests] == [
        ("GET", "/v1/projects/acme/workloads/bot"),
        ("DELETE", "/v1/projects/acme/workloads/bot"),
    ]


def test_list_walks_every_page_lazily(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with(
        [
            json_response(200, {"data": [workload("a"), workload("b")], "next_cursor": "c2"}),
            json_response(200, {"data": [workload("c")]}),
        ]
    )
    iterator = mgmt.list(limit=2)
    assert h.requests == []
    assert next(iterator).slug == "a"
    assert len(h.requests) == 1
    assert [w.slug for w in iterator] == ["b", "c"]
    assert [dict(r.url.params) for r in h.requests] == [{"limit": "2"}, {"limit": "2", "cursor": "c2"}]


def test_list_page(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(200, {"data": [workload("a")], "next_cursor": "c2"})])
    page = mgmt.list_page(cursor="c1")
    assert page.has_more and page.next_cursor == "c2" and [w.slug for w in page] == ["a"] and len(page) == 1
    assert dict(h.requests[0].url.params) == {"cursor": "c1"}


def test_keys_routes_and_bodies(mgmt_with: Any) -> None:
    record = {
        "kind": "live",
        "id": "key_1",
        "name": "backend",
        "project": "acme",
        "workload": "bot",
        "prefix": "ik_live_",
        "last4": "abcd",
        "created_at": "2026-01-01T00:00:00.000Z",
    }
    mgmt, h = mgmt_with(
        [
            json_response(201, {**record, "max_concurrent_requests": 4, "key": "ik_live_secret"}),
            json_response(200, {"data": [record]}),
            json_response(200, {**record, "revoked_at": "2026-01-02T00:00:00.000Z"}),
            json_response(
                201, {**record, "id": "key_2", "key": "ik_live_new", "previous": {**record, "rotated_to": "key_2"}}
            ),
            json_response(201, {**record, "id": "key_3", "key": "ik_live_new3", "previous": record}),
        ]
    )
    expiry = datetime(2030, 1, 1, tzinfo=timezone.utc)
    created = mgmt.keys.create(
        "bot", name="backend", rate_limit_per_minute=600, max_concurrent_requests=4, expires_at=expiry
    )
    assert created.key == "ik_live_secret" and "ik_live_secret" not in repr(created)
    assert created.max_concurrent_requests == 4
    assert [k.last4 for k in mgmt.keys.list("bot")] == ["abcd"]
    assert not mgmt.keys.revoke("bot", "key_1").active
    rotated = mgmt.keys.rotate("bot", "key_1", old_key_expires_in_seconds=3600, name="backend-2")
    assert rotated.previous is not None and rotated.previous.rotated_to == "key_2"
    mgmt.keys.rotate("bot", "key_1")
    assert [(r.method, r.url.path) for r in h.requests] == [
        ("POST", "/v1/projects/acme/workloads/bot/keys"),
        ("GET", "/v1/projects/acme/workloads/bot/keys"),
        ("DELETE", "/v1/projects/acme/workloads/bot/keys/key_1"),
        ("POST", "/v1/projects/acme/workloads/bot/keys/key_1/rotate"),
        ("POST", "/v1/projects/acme/workloads/bot/keys/key_1/rotate"),
    ]
    assert h.script.bodies() == [
        {
            "name": "backend",
            "rate_limit_per_minute": 600,
            "max_concurrent_requests": 4,
            "expires_at": "2030-01-01T00:00:00+00:00",
        },
        None,
        None,
        {"old_key_expires_in_seconds": 3600, "name": "backend-2"},
        {},
    ]


def test_key_expiry_must_be_timezone_aware(mgmt_with: Any) -> None:
    mgmt, h = mgmt_with([])
    with pytest.raises(ValueError, match="timezone-aware"):
        mgmt.keys.create("bot", name="x", expires_at=datetime(2030, 1, 1))
    assert h.requests == []
    with pytest.raises(ValueError, match="idempotency_key"):
        mgmt.keys.create("bot", name="x", idempotency_key="  ")


def test_workers_routes_and_bodies(mgmt_with: Any) -> None:
    view = {
        "id": "wrk_1",
        "project": "acme",
        "name": "gpu-box",
        "labels": {},
        "state": "registered",
        "status": "online",
        "gpus": [{"name": "A100"}],
        "replicas": [],
    }
    mgmt, h = mgmt_with(
        [
            json_response(201, {**view, "token": "ik_wrk_secret"}),
            json_response(200, {"data": [view]}),
            json_response(200, view),
            json_response(200, {**view, "state": "draining"}),
        ]
    )
    registered = mgmt.workers.register(name="gpu-box")
    assert registered.token == "ik_wrk_secret" and "ik_wrk_secret" not in repr(registered)
    assert [w.online for w in mgmt.workers.list()] == [True]
    assert mgmt.workers.get("wrk_1").gpus == [{"name": "A100"}]
    assert mgmt.workers.deregister("wrk_1").state == "draining"
    assert [(r.method, r.url.path) for r in h.requests] == [
        ("POST", "/v1/projects/acme/workers"),
        ("GET", "/v1/projects/acme/workers"),
        ("GET", "/v1/projects/acme/workers/wrk_1"),
        ("DELETE", "/v1/projects/acme/workers/wrk_1"),
    ]
    assert h.script.bodies()[0] == {"name": "gpu-box"}


def test_register_sends_the_addresses_the_gateway_may_dial(mgmt_with: Any) -> None:
    view = {"id": "wrk_1", "name": "gpu-box", "state": "registered", "addresses": ["10.0.0.0/24"]}
    mgmt, h = mgmt_with([json_response(201, {**view, "token": "ik_wrk_secret"})])
    registered = mgmt.workers.register(name="gpu-box", addresses=["10.0.0.0/24"])
    assert registered.addresses == ["10.0.0.0/24"]
    assert h.script.bodies()[0] == {"name": "gpu-box", "addresses": ["10.0.0.0/24"]}


def test_non_json_success_is_an_invalid_response(mgmt_with: Any) -> None:
    mgmt, _ = mgmt_with([httpx.Response(200, content=b"<html>ok</html>")])
    with pytest.raises(Exception, match="not JSON") as caught:
        mgmt.get("bot")
    assert getattr(caught.value, "code", None) == "invalid_response"


# --- configuration ------------------------------------------------------------------------------


def test_from_env_reads_token_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCEKEY_SDK_TOKEN", TOKEN)
    monkeypatch.setenv("INFERENCEKEY_BASE_URL", "http://127.0.0.1:8787/")
    mgmt = ManagementClient.from_env(project="acme")
    assert (mgmt.base_url, mgmt.project) == ("http://127.0.0.1:8787", "acme")
    assert mgmt._http.token == TOKEN


def test_from_env_defaults_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCEKEY_SDK_TOKEN", TOKEN)
    monkeypatch.setenv("INFERENCEKEY_BASE_URL", "  ")
    assert ManagementClient.from_env(project="acme").base_url == "https://api.inferencekey.com"


def test_from_env_without_a_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERENCEKEY_SDK_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="INFERENCEKEY_SDK_TOKEN") as caught:
        ManagementClient.from_env(project="acme")
    # It points at what exists (dev.env under npm start, the tokens route), not at a dashboard.
    assert "source .inferencekey/dev.env" in caught.value.message
    assert "POST /v1/tokens" in caught.value.message
    assert "dashboard" not in caught.value.message


def test_from_env_with_a_bad_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCEKEY_SDK_TOKEN", TOKEN)
    monkeypatch.setenv("INFERENCEKEY_BASE_URL", "api.inferencekey.com")
    with pytest.raises(ConfigurationError, match="INFERENCEKEY_BASE_URL"):
        ManagementClient.from_env(project="acme")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"token": "", "project": "acme"}, "ik_sdk_ control token"),
        ({"token": "ik_live_abc", "project": "acme"}, "ik_live_ data key"),
        ({"token": TOKEN, "project": " "}, "needs a project"),
        ({"token": TOKEN, "project": "acme", "base_url": "ftp://x"}, "http"),
        ({"token": TOKEN, "project": "acme", "max_retries": -1}, "max_retries"),
        ({"token": TOKEN, "project": "acme", "timeout": 0}, "timeout"),
    ],
)
def test_constructor_rejects_bad_settings(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ManagementClient(**options)


def test_context_manager_closes_its_own_client() -> None:
    with ManagementClient(token=TOKEN, project="acme") as mgmt:
        inner = mgmt._http.client
    assert inner.is_closed


def test_a_client_passed_in_is_not_closed() -> None:
    client = httpx.Client()
    with ManagementClient(token=TOKEN, project="acme", http_client=client):
        pass
    assert not client.is_closed
    client.close()


# --- async ----------------------------------------------------------------------------------------


def test_async_client_mirrors_the_sync_one() -> None:
    answers = [
        json_response(503, error_body("unavailable"), {"retry-after": "1"}),
        json_response(201, ensured()),
        json_response(200, {"data": [workload("a")], "next_cursor": "c2"}),
        json_response(200, {"data": [workload("b")]}),
        json_response(201, {"id": "key_1", "key": "ik_live_k"}),
        json_response(201, {"id": "wrk_1", "token": "ik_wrk_t"}),
        json_response(200, {"data": []}),
        json_response(200, {"project_slug": "acme", "workload_slug": "a", "deleted": True}),
    ]
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncManagementClient(
            token=TOKEN,
            project="acme",
            base_url=BASE,
            http_client=client,
            sleep=fake_sleep,
            retry_policy=RetryPolicy(jitter=0.0),
        ) as mgmt:
            ref = await mgmt.ensure(SPEC)
            assert ref.created
            assert [w.slug async for w in mgmt.list()] == ["a", "b"]
            assert (await mgmt.keys.create("a", name="k")).key == "ik_live_k"
            assert (await mgmt.workers.register(name="box")).token == "ik_wrk_t"
            assert await mgmt.keys.list("a") == []
            assert (await mgmt.delete("a")).deleted
        await client.aclose()

    asyncio.run(main())
    assert sleeps == [1.0]
    assert [r.method for r in seen] == ["PUT", "PUT", "GET", "GET", "POST", "POST", "GET", "DELETE"]
