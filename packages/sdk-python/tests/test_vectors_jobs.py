"""The jobs vectors (test/vectors/jobs.json), shared with the TypeScript suite: sync and async clients agree with each."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

import inferencekey
from _vectors import load_vectors
from conftest import BASE, NO_JITTER, TOKEN, Script, json_response
from inferencekey import (
    AsyncDataClient,
    AsyncManagementClient,
    DataClient,
    InferenceKeyError,
    Job,
    ManagementClient,
    ReadinessEvent,
    WorkloadNotReadyError,
)

VECTORS = load_vectors("jobs")
KEY = "ik_live_testkey000000000000000000000"
PRINTABLE_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [v for v in VECTORS if v["kind"] == kind]


def answer(a: dict[str, Any]) -> httpx.Response:
    return json_response(a["status"], a["body"], a.get("headers"))


def sync_data(steps: list[Any]) -> tuple[DataClient, Script, list[float]]:
    script, sleeps = Script(list(steps)), []
    client = DataClient(
        project="acme",
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=sleeps.append,
        retry_policy=NO_JITTER,
    )
    return client, script, sleeps


def async_data(steps: list[Any]) -> tuple[AsyncDataClient, Script, list[float]]:
    script, sleeps = Script(list(steps)), []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = AsyncDataClient(
        project="acme",
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
        sleep=sleep,
        retry_policy=NO_JITTER,
    )
    return client, script, sleeps


def neutral(result: Any) -> dict[str, Any]:
    """A typed result in the vectors' neutral form."""
    out: dict[str, Any] = {}
    if hasattr(result, "results"):
        out["results"] = [
            {"index": r.index, "relevance_score": r.relevance_score, **({"document": r.document} if r.document else {})}
            for r in result.results
        ]
    if hasattr(result, "data"):
        out["data"] = [
            {"index": c.index, "label": c.label, "probs": c.probs, "num_classes": c.num_classes}
            if hasattr(c, "label")
            else {"index": c.index, "reward": c.reward}
            for c in result.data
        ]
    out["total_tokens"] = result.usage.total_tokens if result.usage else None
    return out


def neutral_job(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "terminal": job.terminal,
        "history": [h.status for h in job.history],
        "result": None if job.result is None else neutral(job.result),
        "error": None if job.error is None else {"code": job.error.code, "message": job.error.message},
        "attempts": job.attempts,
        "started_at": job.started_at,
        "idempotency_key": job.idempotency_key,
        "webhook_url": job.webhook.url if job.webhook else None,
        "webhook_delivery_status": job.webhook.delivery.status if job.webhook and job.webhook.delivery else None,
    }


def helper_call(ep: Any, helper: str, args: dict[str, Any]) -> Any:
    if helper == "jobs.rerank":
        return ep.jobs.rerank(args["query"], args["documents"], top_n=args.get("top_n"))
    target = ep.jobs if helper.startswith("jobs.") else ep
    name = helper.removeprefix("jobs.")
    if name == "classify":
        return target.classify(args["input"])
    return target.reward(args.get("input"), messages=args.get("messages"))


def test_the_file_holds_every_kind() -> None:
    assert {v["kind"] for v in VECTORS} == {"run", "submit", "job", "list", "error", "rerank", "readiness"}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("vector", of_kind("run"), ids=lambda v: v["name"])
def test_run_helper_sends_the_body_and_reads_the_result(vector: dict[str, Any], mode: str) -> None:
    # Prepare
    steps = [answer(a) for a in vector["answers"]]
    if mode == "sync":
        client, script, _ = sync_data(steps)
        result = helper_call(client.endpoint(vector["workload"], api_key=KEY), vector["helper"], vector["args"])
    else:
        aclient, script, _ = async_data(steps)
        result = asyncio.run(
            helper_call(aclient.endpoint(vector["workload"], api_key=KEY), vector["helper"], vector["args"])
        )

    # Assess
    first, *polls = script.requests
    assert first.method == vector["request"]["method"]
    assert first.url.path == vector["request"]["path"]
    assert json.loads(first.content) == vector["request"]["body"]
    assert PRINTABLE_KEY.fullmatch(first.headers["idempotency-key"])
    assert [(r.method, r.url.params.get("wait")) for r in polls] == [("GET", "20"), ("GET", "20")]
    assert neutral(result) == vector["expected"]


@pytest.mark.parametrize("vector", of_kind("submit"), ids=lambda v: v["name"])
def test_submit_job_sends_the_reserved_fields_and_one_idempotency_key(vector: dict[str, Any]) -> None:
    # Prepare
    client, script, sleeps = sync_data([answer(a) for a in vector["answers"]])
    args = vector["args"]
    expected = vector["expected"]

    # Act
    job = client.endpoint(vector["workload"], api_key=KEY).submit_job(
        args["input"],
        idempotency_key=args.get("idempotency_key"),
        webhook=args.get("webhook"),
        max_queue_seconds=args.get("max_queue_seconds"),
    )

    # Assess
    assert script.requests[0].url.path == vector["request"]["path"]
    assert all(json.loads(r.content) == vector["request"]["body"] for r in script.requests)
    keys = [r.headers["idempotency-key"] for r in script.requests]
    if vector["request"]["idempotency_key"] is not None:
        assert keys == [vector["request"]["idempotency_key"]]
    if "requests" in expected:
        assert len(script.requests) == expected["requests"]
        assert sleeps == [1.0], "the 503's Retry-After"
    if expected.get("same_generated_key"):
        assert PRINTABLE_KEY.fullmatch(keys[0])
        assert len(set(keys)) == 1
    read = neutral_job(job)
    for name in ("id", "status", "terminal", "idempotency_key", "webhook_url", "webhook_delivery_status"):
        if name in expected:
            assert read[name] == expected[name], name


@pytest.mark.parametrize("vector", of_kind("job"), ids=lambda v: v["name"])
def test_job_object_reads_into_the_typed_job(vector: dict[str, Any]) -> None:
    # Prepare
    client, _, _ = sync_data([answer(vector["answer"])])

    # Act
    job = client.endpoint("w", api_key=KEY).get_job("job_01JZ8Q7R2M3N4P5Q6R7S8T9V0W")

    # Assess
    read = neutral_job(job)
    for name, want in vector["expected"].items():
        assert read[name] == want, name


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("vector", of_kind("list"), ids=lambda v: v["name"])
def test_list_jobs_follows_the_cursor(vector: dict[str, Any], mode: str) -> None:
    # Prepare
    steps = [answer(a) for a in vector["answers"]]
    args = vector["args"]

    # Act
    if mode == "sync":
        client, script, _ = sync_data(steps)
        ids = [j.id for j in client.endpoint(vector["workload"], api_key=KEY).list_jobs(**args)]
    else:
        aclient, script, _ = async_data(steps)

        async def collect() -> list[str]:
            return [j.id async for j in aclient.endpoint(vector["workload"], api_key=KEY).list_jobs(**args)]

        ids = asyncio.run(collect())

    # Assess
    assert ids == vector["expected"]["ids"]
    assert [dict(r.url.params) for r in script.requests] == vector["expected"]["queries"]


@pytest.mark.parametrize("vector", of_kind("error"), ids=lambda v: v["name"])
def test_jobs_error_maps_to_its_class_and_is_not_retried(vector: dict[str, Any]) -> None:
    # Prepare
    response = httpx.Response(vector["status"], content=json.dumps(vector["body"]).encode(), headers=vector["headers"])
    client, script, _ = sync_data([response, response])
    ep = client.endpoint("sentiment", api_key=KEY)
    expected = vector["expected"]
    calls = {
        "get_job": lambda: ep.get_job("job_missing"),
        "cancel_job": lambda: ep.cancel_job("job_01"),
        "submit_job": lambda: ep.submit_job({"input": "great product"}, idempotency_key="order-42"),
    }

    # Act
    with pytest.raises(InferenceKeyError) as caught:
        calls[vector["call"]]()

    # Assess
    error = caught.value
    assert type(error) is getattr(inferencekey, expected["class"]["python"])
    assert (error.status, error.code, error.message, error.request_id) == (
        vector["status"],
        expected["code"],
        expected["message"],
        expected["request_id"],
    )
    assert len(script.requests) == 1


@pytest.mark.parametrize("vector", of_kind("rerank"), ids=lambda v: v["name"])
def test_sync_rerank_sends_the_body_and_reads_results_in_score_order(vector: dict[str, Any]) -> None:
    # Prepare
    client, script, _ = sync_data([answer(a) for a in vector["answers"]])
    args = vector["args"]

    # Act
    out = client.endpoint(vector["workload"], api_key=KEY).rerank(args["query"], args["documents"], top_n=args["top_n"])

    # Assess
    assert script.requests[0].url.path == vector["request"]["path"]
    assert json.loads(script.requests[0].content) == vector["request"]["body"]
    assert {"id": out.id, "model": out.model, **neutral(out)} == vector["expected"]


def sse_response(text: str) -> httpx.Response:
    return httpx.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("vector", of_kind("readiness"), ids=lambda v: v["name"])
def test_wait_until_ready_follows_the_stream(vector: dict[str, Any], mode: str) -> None:
    # Prepare
    script = Script([sse_response(text) for text in vector["streams"]])
    seen: list[ReadinessEvent] = []
    expected = vector["expected"]
    outcome: Any

    # Act
    try:
        if mode == "sync":
            mgmt = ManagementClient(
                token=TOKEN,
                project="acme",
                base_url=BASE,
                http_client=httpx.Client(transport=httpx.MockTransport(script)),
                sleep=lambda s: None,
            )
            outcome = mgmt.wait_until_ready(vector["workload"], on_progress=seen.append)
        else:

            async def nap(seconds: float) -> None:
                return None

            amgmt = AsyncManagementClient(
                token=TOKEN,
                project="acme",
                base_url=BASE,
                http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
                sleep=nap,
            )
            outcome = asyncio.run(amgmt.wait_until_ready(vector["workload"], on_progress=seen.append))
    except WorkloadNotReadyError as error:
        outcome = error

    # Assess
    assert len(script.requests) == len(vector["streams"])
    for request in script.requests:
        assert request.url.path == vector["request"]["path"]
        assert request.headers["accept"] == vector["request"]["accept"]
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert [e.phase for e in seen] == expected["phases"]
    if expected["outcome"] == "ready":
        assert isinstance(outcome, ReadinessEvent)
        assert {
            "phase": outcome.phase,
            "message": outcome.message,
            "elapsed_ms": outcome.elapsed_ms,
            "step": outcome.step,
        } == expected["last"]
    else:
        assert isinstance(outcome, WorkloadNotReadyError)
        assert outcome.message == expected["message"]
