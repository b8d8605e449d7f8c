"""The Python SDK's jobs, rerank and wait_until_ready against the local platform (a subprocess).

Reranker, classification and reward workloads served by the TEST DOUBLE (test/replicas/openai-replica.mjs,
vLLM's shapes, deterministic scores) in project ``sdk-jobs``: ``wait_until_ready`` follows the
readiness stream, ``rerank`` is answered synchronously, and ``jobs.rerank``, ``classify``,
``reward``, ``submit_job``/``wait_for_job``/``cancel_job``/``list_jobs`` go through the jobs API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from _gateway import new_marker, processes_with, replica_command, wait_for
from _platform import LocalPlatform
from inferencekey import (
    AsyncDataClient,
    Backend,
    DataClient,
    ExecutionPolicy,
    IdempotencyKeyReusedError,
    JobNotCancellableError,
    JobNotFoundError,
    ManagementClient,
    ReadinessEvent,
    WorkloadSpec,
)

pytestmark = pytest.mark.platform

PROJECT = "sdk-jobs"
DOCUMENTS = ["Shipping is free over 50 EUR.", "Refunds are accepted within 30 days.", "We ship to 40 countries."]
WORKLOADS = {"search-reranker": "reranker", "sentiment": "classification", "reward-model": "reward"}


@pytest.fixture(scope="module")
def ready(local_platform: LocalPlatform) -> Iterator[tuple[dict[str, str], dict[str, list[ReadinessEvent]]]]:
    """Each workload ensured, keyed and followed to ready; stopped (replicas gone) afterwards."""
    marker = new_marker("jobs")
    keys: dict[str, str] = {}
    seen: dict[str, list[ReadinessEvent]] = {}
    with ManagementClient.from_env(project=PROJECT) as mgmt:
        for slug, task_type in WORKLOADS.items():
            model = f"{marker}/{slug}"
            mgmt.ensure(
                WorkloadSpec(
                    name=slug,
                    slug=slug,
                    model=model,
                    backend=Backend.VLLM,
                    task_type=task_type,
                    command=replica_command(model, marker),
                    execution_policy=ExecutionPolicy.FIXED,
                    execution_policy_config={"replicas": 1},
                )
            )
            keys[slug] = mgmt.keys.create(slug, name="pytest").key
        for slug in WORKLOADS:
            seen[slug] = []
            mgmt.wait_until_ready(slug, timeout=90, on_progress=seen[slug].append)
        yield keys, seen
        for slug in WORKLOADS:
            mgmt.delete(slug)
    wait_for("no replica left", lambda: not processes_with(marker) or None, 60, 0.2)


def test_wait_until_ready_followed_each_workload_to_ready(
    ready: tuple[dict[str, str], dict[str, list[ReadinessEvent]]],
) -> None:
    _, seen = ready
    for slug, events in seen.items():
        phases = [e.phase for e in events]
        assert phases[-1] == "ready", slug
        assert "error" not in phases, slug


def test_sync_rerank_and_the_rerank_job_agree_in_score_order(
    ready: tuple[dict[str, str], dict[str, list[ReadinessEvent]]],
) -> None:
    # Prepare
    keys, _ = ready
    ep = DataClient.from_env(project=PROJECT).endpoint("search-reranker", api_key=keys["search-reranker"])

    # Act
    sync = ep.rerank("how do refunds work?", DOCUMENTS)
    job = ep.jobs.rerank("how do refunds work?", DOCUMENTS, timeout=60)

    # Assess
    scores = [r.relevance_score for r in sync.results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r.index for r in sync.results) == [0, 1, 2]
    assert [(r.index, r.relevance_score) for r in job.results] == [(r.index, r.relevance_score) for r in sync.results]


def test_classify_and_reward_sync_and_async(ready: tuple[dict[str, str], dict[str, list[ReadinessEvent]]]) -> None:
    # Prepare
    keys, _ = ready
    data = DataClient.from_env(project=PROJECT)

    async def async_reward() -> list[int]:
        async with AsyncDataClient.from_env(project=PROJECT) as adata:
            out = await adata.endpoint("reward-model", api_key=keys["reward-model"]).reward(
                messages=[{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
                timeout=60,
            )
            return [r.index for r in out.data]

    # Act
    classes = data.endpoint("sentiment", api_key=keys["sentiment"]).classify(
        ["great product", "never again"], timeout=60
    )
    rewards = data.endpoint("reward-model", api_key=keys["reward-model"]).reward(["The answer is 4.", "5."], timeout=60)
    conversation = asyncio.run(async_reward())

    # Assess
    assert [c.index for c in classes.data] == [0, 1]
    assert all(c.label and len(c.probs) == c.num_classes for c in classes.data)
    assert [r.index for r in rewards.data] == [0, 1]
    assert conversation == [0]


def test_submit_is_idempotent_by_key_and_the_job_reads_back(
    ready: tuple[dict[str, str], dict[str, list[ReadinessEvent]]],
) -> None:
    # Prepare
    keys, _ = ready
    ep = DataClient.from_env(project=PROJECT).endpoint("sentiment", api_key=keys["sentiment"])
    key = f"{new_marker('idem')}-order-42"

    # Act
    first = ep.submit_job({"input": "great product"}, idempotency_key=key)
    again = ep.submit_job({"input": "great product"}, idempotency_key=key)
    with pytest.raises(IdempotencyKeyReusedError):
        ep.submit_job({"input": "awful"}, idempotency_key=key)
    done = ep.wait_for_job(first, timeout=60)
    with pytest.raises(JobNotCancellableError):
        ep.cancel_job(first.id)
    with pytest.raises(JobNotFoundError):
        ep.get_job("job_0000000000000000")
    listed = [j.id for j in ep.list_jobs(limit=1)]

    # Assess
    assert again.id == first.id
    assert first.idempotency_key == key
    assert done.status == "succeeded"
    assert "running" in [h.status for h in done.history]
    assert first.id in listed
