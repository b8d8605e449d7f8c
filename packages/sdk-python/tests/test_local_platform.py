"""The management half of the SDK against the real control API (the local platform, as a subprocess).

Uses project ``sdk-it`` so it does not disturb the guide examples' ``acme``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from _platform import LocalPlatform
from inferencekey import (
    AsyncManagementClient,
    AuthenticationError,
    Backend,
    DriftError,
    ExecutionPolicy,
    InferenceKeyError,
    ManagementClient,
    NotFoundError,
    OnDrift,
    ValidationError,
    WorkloadSpec,
)

pytestmark = pytest.mark.platform

SPEC = WorkloadSpec(
    name="IT bot",
    slug="it-bot",
    model="org/model",
    backend=Backend.VLLM,
    execution_policy=ExecutionPolicy.FIXED,
    execution_policy_config={"replicas": 0},
)


@pytest.fixture
def mgmt(local_platform: LocalPlatform) -> Iterator[ManagementClient]:
    with ManagementClient.from_env(project="sdk-it") as client:
        client.ensure(SPEC)
        yield client


def test_ensure_is_idempotent_and_reconciles(mgmt: ManagementClient) -> None:
    again = mgmt.ensure(SPEC)
    assert (again.changed, again.created, again.differences) == (False, False, [])
    renamed = mgmt.ensure(WorkloadSpec(**{**SPEC.to_wire(), "name": "IT bot 2"}))
    assert renamed.changed and renamed.generation == again.generation + 1
    assert [(d.path, d.from_, d.to) for d in renamed.differences] == [("name", "IT bot", "IT bot 2")]
    assert renamed.workload.spec.command == "vllm serve org/model", "the server fills in the default command"


def test_on_drift_fail_and_ignore(mgmt: ManagementClient) -> None:
    changed = WorkloadSpec(**{**SPEC.to_wire(), "execution_policy_config": {"replicas": 1}})
    with pytest.raises(DriftError) as caught:
        mgmt.ensure(changed, on_drift=OnDrift.FAIL)
    assert [(d.path, d.received) for d in caught.value.details] == [("execution_policy_config.replicas", 1)]
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")
    ignored = mgmt.ensure(changed, on_drift=OnDrift.IGNORE)
    assert not ignored.changed and [d.path for d in ignored.differences] == ["execution_policy_config.replicas"]
    assert mgmt.get("it-bot").spec.execution_policy_config == {"replicas": 0}


def test_validation_error_lists_every_problem_with_suggestions(mgmt: ManagementClient) -> None:
    bad = WorkloadSpec(
        name="Bad",
        slug="bad",
        model="org/model",
        backend=Backend.VLLM,
        execution_policy=ExecutionPolicy.AUTOSCALING,
        execution_policy_config={
            "min_replicas": 0,
            "max_workers": 2,
            "workers": {"source": "cloud", "cloud_pool": {"gpu_pool": ["NVIDIA A100-SXM4-80GB"]}},
        },
    )
    with pytest.raises(ValidationError) as caught:
        mgmt.ensure(bad)
    by_path = {d.path: d for d in caught.value.details}
    assert by_path["execution_policy_config.min_replicas"].suggestion == "min_workers"
    assert by_path["execution_policy_config.min_replicas"].received == 0
    assert len(caught.value.details) >= 2, "the cost ceiling is missing too"


def test_list_pages_and_delete(mgmt: ManagementClient) -> None:
    for i in range(3):
        mgmt.ensure(
            WorkloadSpec(
                name=f"Page {i}",
                slug=f"page-{i}",
                model="org/model",
                backend=Backend.VLLM,
                execution_policy_config={"replicas": 0},
            )
        )
    page = mgmt.list_page(limit=2)
    assert len(page) == 2 and page.has_more
    slugs = [w.slug for w in mgmt.list(limit=2)]
    assert {"it-bot", "page-0", "page-1", "page-2"} <= set(slugs)
    assert len(slugs) == len(set(slugs))
    assert mgmt.delete("page-2").deleted
    with pytest.raises(NotFoundError):
        mgmt.get("page-2")


def test_key_lifecycle(mgmt: ManagementClient) -> None:
    created = mgmt.keys.create("it-bot", name="backend", rate_limit_per_minute=60)
    assert created.key.startswith("ik_live_") and created.key.endswith(created.last4)
    assert created.id in [k.id for k in mgmt.keys.list("it-bot")]
    rotated = mgmt.keys.rotate("it-bot", created.id, old_key_expires_in_seconds=0)
    assert rotated.key != created.key and rotated.previous is not None and rotated.previous.revoked_at is not None
    assert rotated.rate_limit_per_minute == 60
    revoked = mgmt.keys.revoke("it-bot", rotated.id)
    assert not revoked.active
    with pytest.raises(ValidationError):
        mgmt.keys.rotate("it-bot", rotated.id)


def test_worker_lifecycle(mgmt: ManagementClient) -> None:
    worker = mgmt.workers.register(name="it-box", labels={"gpu": "none"}, idempotency_key="it-box-1")
    assert worker.id.startswith("wrk_") and worker.token.startswith("ik_wrk_")
    assert worker.id in [w.id for w in mgmt.workers.list()]
    assert mgmt.workers.get(worker.id).status == "offline"
    pinned = mgmt.ensure(WorkloadSpec(**{**SPEC.to_wire(), "slug": "it-pinned", "worker_id": worker.id}))
    assert pinned.workload.spec.worker_id == worker.id
    mgmt.delete("it-pinned")
    assert mgmt.workers.deregister(worker.id).id == worker.id
    with pytest.raises(NotFoundError):
        mgmt.workers.get(worker.id)


def test_an_unknown_worker_is_a_validation_error(mgmt: ManagementClient) -> None:
    with pytest.raises(ValidationError) as caught:
        mgmt.ensure(WorkloadSpec(**{**SPEC.to_wire(), "worker_id": "wrk_7Yc2abcd"}))
    assert caught.value.details[0].path == "worker_id"


def test_a_bad_token_is_an_authentication_error(local_platform: LocalPlatform) -> None:
    with (
        ManagementClient(token="ik_sdk_" + "x" * 30, project="sdk-it", base_url=local_platform.base_url) as mgmt,
        pytest.raises(AuthenticationError),
    ):
        mgmt.get("it-bot")


def test_nothing_listening_is_a_connection_error() -> None:
    with (
        ManagementClient(
            token="ik_sdk_x", project="p", base_url="http://127.0.0.1:9", max_retries=1, sleep=lambda s: None
        ) as mgmt,
        pytest.raises(InferenceKeyError) as caught,
    ):
        mgmt.get("x")
    assert caught.value.code == "connection_error"


def test_async_client_against_the_platform(local_platform: LocalPlatform) -> None:
    async def main() -> None:
        async with AsyncManagementClient.from_env(project="sdk-it") as mgmt:
            ref = await mgmt.ensure(WorkloadSpec(**{**SPEC.to_wire(), "slug": "it-async"}))
            assert ref.workload_slug == "it-async"
            assert "it-async" in [w.slug async for w in mgmt.list()]
            assert (await mgmt.delete("it-async")).deleted

    assert os.environ["INFERENCEKEY_BASE_URL"] == local_platform.base_url
    asyncio.run(main())
