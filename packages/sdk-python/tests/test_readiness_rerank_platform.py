"""The Python SDK's wait_until_ready and synchronous rerank against the local platform (a subprocess).

A reranker served by the TEST DOUBLE (test/replicas/openai-replica.mjs, vLLM's shapes, deterministic
scores) in project ``sdk-ready``: ``wait_until_ready`` follows the readiness stream to ``ready`` (sync
and async), ``rerank`` answers in score order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from _gateway import new_marker, processes_with, replica_command, wait_for
from _platform import LocalPlatform
from inferencekey import (
    AsyncManagementClient,
    Backend,
    DataClient,
    ExecutionPolicy,
    ManagementClient,
    ReadinessEvent,
    WorkloadSpec,
)

pytestmark = pytest.mark.platform

PROJECT = "sdk-ready"
DOCUMENTS = ["Shipping is free over 50 EUR.", "Refunds are accepted within 30 days.", "We ship to 40 countries."]


@pytest.fixture(scope="module")
def reranker(local_platform: LocalPlatform) -> Iterator[tuple[str, list[ReadinessEvent]]]:
    """The reranker ensured, keyed and followed to ready; deleted (replica gone) afterwards."""
    marker = new_marker("ready")
    model = f"{marker}/reranker"
    seen: list[ReadinessEvent] = []
    with ManagementClient.from_env(project=PROJECT) as mgmt:
        mgmt.ensure(
            WorkloadSpec(
                name="Search reranker",
                slug="search-reranker",
                model=model,
                backend=Backend.VLLM,
                task_type="reranker",
                command=replica_command(model, marker),
                execution_policy=ExecutionPolicy.FIXED,
                execution_policy_config={"replicas": 1},
            )
        )
        key = mgmt.keys.create("search-reranker", name="pytest").key
        mgmt.wait_until_ready("search-reranker", timeout=90, on_progress=seen.append)
        yield key, seen
        mgmt.delete("search-reranker")
    wait_for("no replica left", lambda: not processes_with(marker) or None, 60, 0.2)


def test_wait_until_ready_ends_at_ready_sync_and_async(reranker: tuple[str, list[ReadinessEvent]]) -> None:
    # Prepare
    _, seen = reranker

    async def again() -> ReadinessEvent:
        async with AsyncManagementClient.from_env(project=PROJECT) as amgmt:
            return await amgmt.wait_until_ready("search-reranker", timeout=30, silent=True)

    # Act
    ready_again = asyncio.run(again())

    # Assess
    assert seen[-1].phase == "ready"
    assert "error" not in [e.phase for e in seen]
    assert ready_again.phase == "ready"


def test_rerank_answers_in_score_order(reranker: tuple[str, list[ReadinessEvent]]) -> None:
    # Prepare
    key, _ = reranker
    ep = DataClient.from_env(project=PROJECT).endpoint("search-reranker", api_key=key)

    # Act
    out = ep.rerank("how do refunds work?", DOCUMENTS)
    top = ep.rerank("how do refunds work?", DOCUMENTS, top_n=1)

    # Assess
    scores = [r.relevance_score for r in out.results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r.index for r in out.results) == [0, 1, 2]
    assert out.results[0].index == 1
    assert [r.index for r in top.results] == [1]
