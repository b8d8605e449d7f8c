"""mgmt.secrets and amgmt.secrets against httpx.MockTransport: routes, bodies, answers, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conftest import BASE, TOKEN, Harness, error_body, json_response
from inferencekey import AsyncManagementClient, ManagementClient, ProjectSecret, RetryPolicy, ValidationError

INFO = {"name": "HF_TOKEN", "created_at": "2026-12-02T10:00:00.000Z", "updated_at": "2026-12-02T11:00:00.000Z"}

MgmtWith = Callable[..., tuple[ManagementClient, Harness]]


def test_set_puts_the_value_under_the_name_and_returns_name_and_times(mgmt_with: MgmtWith) -> None:
    mgmt, h = mgmt_with([json_response(201, INFO)])

    secret = mgmt.secrets.set("HF_TOKEN", "hf_value")

    assert h.requests[0].method == "PUT"
    assert str(h.requests[0].url) == f"{BASE}/v1/projects/acme/secrets/HF_TOKEN"
    assert h.script.bodies() == [{"value": "hf_value"}]
    assert secret == ProjectSecret(name="HF_TOKEN", created_at=INFO["created_at"], updated_at=INFO["updated_at"])


def test_set_is_retried_on_a_503_since_setting_the_same_value_twice_is_harmless(mgmt_with: MgmtWith) -> None:
    mgmt, h = mgmt_with([json_response(503, error_body("unavailable")), json_response(200, INFO)])

    assert mgmt.secrets.set("HF_TOKEN", "hf_value").name == "HF_TOKEN"
    assert [r.method for r in h.requests] == ["PUT", "PUT"]


def test_list_and_delete(mgmt_with: MgmtWith) -> None:
    mgmt, h = mgmt_with([json_response(200, {"data": [INFO]}), json_response(200, {"name": "HF_TOKEN", "deleted": True})])

    names = [s.name for s in mgmt.secrets.list()]
    deleted = mgmt.secrets.delete("HF_TOKEN")

    assert [(r.method, str(r.url)) for r in h.requests] == [
        ("GET", f"{BASE}/v1/projects/acme/secrets"),
        ("DELETE", f"{BASE}/v1/projects/acme/secrets/HF_TOKEN"),
    ]
    assert names == ["HF_TOKEN"]
    assert deleted == "HF_TOKEN"


def test_a_refused_name_is_a_validation_error_naming_the_field(mgmt_with: MgmtWith) -> None:
    details = [{"path": "name", "message": "PATH is set by the agent for every backend"}]
    mgmt, _ = mgmt_with([json_response(400, error_body("validation_failed", '"PATH" cannot name a project secret.', details))])

    with pytest.raises(ValidationError) as raised:
        mgmt.secrets.set("PATH", "x")

    assert raised.value.details[0].path == "name"


def test_a_value_that_is_not_a_string_is_refused_before_any_request(mgmt_with: MgmtWith) -> None:
    mgmt, h = mgmt_with([])

    with pytest.raises(TypeError, match="takes the value as a str"):
        mgmt.secrets.set("HF_TOKEN", 5)  # type: ignore[arg-type]

    assert h.requests == []


def test_the_async_client_mirrors_the_sync_one() -> None:
    answers = [json_response(201, INFO), json_response(200, {"data": [INFO]}), json_response(200, {"name": "HF_TOKEN", "deleted": True})]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    async def main() -> tuple[Any, ...]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncManagementClient(
            token=TOKEN, project="acme", base_url=BASE, http_client=client, retry_policy=RetryPolicy(jitter=0.0)
        ) as mgmt:
            result = (
                await mgmt.secrets.set("HF_TOKEN", "hf_value"),
                await mgmt.secrets.list(),
                await mgmt.secrets.delete("HF_TOKEN"),
            )
        await client.aclose()
        return result

    created, listed, deleted = asyncio.run(main())

    assert created.name == "HF_TOKEN"
    assert [s.updated_at for s in listed] == [INFO["updated_at"]]
    assert deleted == "HF_TOKEN"
    assert [r.method for r in seen] == ["PUT", "GET", "DELETE"]
    assert json.loads(seen[0].content) == {"value": "hf_value"}
