"""The shared wire-contract vectors (test/vectors/*.json): the Python SDK must agree with every one."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import inferencekey
from _guide import guide_specs, requires_guide
from _vectors import declared_count, load_vectors
from conftest import json_response
from inferencekey import InferenceKeyError, WorkloadSpec

SPECS = load_vectors("specs")
ERRORS = load_vectors("errors")
RESPONSES = load_vectors("responses")
ENSURE_BODY = next(v for v in RESPONSES if v["name"] == "ensure")["body"]


def test_every_vector_file_loads_its_full_count() -> None:
    assert len(SPECS) == declared_count("specs") == 19
    assert len(ERRORS) == declared_count("errors") == 47
    assert len(RESPONSES) == declared_count("responses") == 6


def test_error_vectors_cover_every_control_api_error_code() -> None:
    control = {v["expected"]["code"] for v in ERRORS if v["plane"] == "control"}
    assert control == {
        "validation_failed",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "drift_detected",
        "rate_limited",
        "payload_too_large",
        "unavailable",
        "internal",
    }


# --- specs.json ---------------------------------------------------------------------------------


@requires_guide
def test_the_guide_builds_exactly_the_vector_specs_in_order() -> None:
    found = guide_specs()
    assert len(found) == len(SPECS), "a WorkloadSpec was added to or removed from the guide: update specs.json"
    for built, vector in zip(found, SPECS, strict=True):
        assert built.block.section == vector["section"], vector["name"]
        assert built.block.label == vector["block"], vector["name"]
        assert built.block.kind in ("provision", "policy") if vector["ensured"] else built.block.kind == "other"
        assert built.source == vector["python"], vector["name"]
        assert built.base_source == vector["python_base"], vector["name"]
        assert built.spec.to_wire() == vector["wire"], vector["name"]


def _build(vector: dict[str, Any]) -> WorkloadSpec:
    namespace: dict[str, Any] = {name: getattr(inferencekey, name) for name in inferencekey.__all__}
    if vector["python_base"] is not None:
        namespace["base"] = eval(vector["python_base"], namespace)
    spec = eval(vector["python"], namespace)
    assert isinstance(spec, WorkloadSpec)
    return spec


@pytest.mark.parametrize("vector", SPECS, ids=[v["name"] for v in SPECS])
def test_ensure_sends_the_vector_body_exactly(vector: dict[str, Any], mgmt_with: Any) -> None:
    # Prepare
    mgmt, h = mgmt_with([json_response(200, ENSURE_BODY)])

    # Act
    mgmt.ensure(_build(vector))

    # Assess
    (request,) = h.requests
    assert request.method == "PUT"
    assert request.url.path == f"/v1/projects/acme/workloads/{quote(vector['wire']['slug'], safe='')}"
    assert dict(request.url.params) == {"on_drift": "reconcile"}
    assert request.headers["content-type"] == "application/json"
    sent = json.loads(request.content)
    assert sent == vector["wire"]
    assert list(sent) == list(vector["wire"]), "field order follows the spec's declaration order"
    # JSON types, not just equal values: 5.0 stays a float, 1 stays an int.
    assert json.dumps(sent, sort_keys=True) == json.dumps(vector["wire"], sort_keys=True)


@pytest.mark.parametrize("vector", SPECS, ids=[v["name"] for v in SPECS])
def test_spec_round_trips_through_its_wire_form(vector: dict[str, Any]) -> None:
    assert WorkloadSpec.from_wire(vector["wire"]).to_wire() == vector["wire"]
    assert _build(vector) == WorkloadSpec.from_wire(vector["wire"])


# --- errors.json --------------------------------------------------------------------------------


def _answer(vector: dict[str, Any]) -> httpx.Response:
    content = vector["body_text"].encode() if "body_text" in vector else json.dumps(vector["body"]).encode()
    return httpx.Response(vector["status"], content=content, headers=vector["headers"])


def _details(error: InferenceKeyError) -> list[dict[str, Any]]:
    out = []
    for d in error.details:
        item: dict[str, Any] = {"path": d.path, "message": d.message}
        if d.has_received:
            item["received"] = d.received
        if d.expected is not None:
            item["expected"] = d.expected
        if d.suggestion is not None:
            item["suggestion"] = d.suggestion
        out.append(item)
    return out


CHAT_OK = next(v for v in RESPONSES if v["name"] == "chat_completion")["body"]


def _call(
    vector: dict[str, Any],
    mgmt_with: Any,
    data_with: Any,
    steps: list[Any],
    scale_up_timeout: float | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    """A GET workload (control plane) or a generate_text POST (data plane)."""
    if vector["plane"] == "control":
        mgmt, h = mgmt_with(steps, **options)
        return (lambda: mgmt.get("support-bot")), h
    data, h = data_with(steps, **options)
    ep = data.endpoint("support-bot", api_key="ik_live_x")
    return (lambda: ep.generate_text(prompt="Hi", scale_up_timeout=scale_up_timeout)), h


@pytest.mark.parametrize("vector", ERRORS, ids=[v["name"] for v in ERRORS])
def test_error_answer_raises_the_expected_exception(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    # Prepare
    # No scale-up budget: a workload_scaling_up answer is raised, not polled.
    call, _ = _call(vector, mgmt_with, data_with, [_answer(vector)], scale_up_timeout=0, max_retries=0)
    expected = vector["expected"]

    # Act
    with pytest.raises(InferenceKeyError) as caught:
        call()

    # Assess
    error = caught.value
    assert type(error).__name__ == expected["class"]["python"]
    assert isinstance(error, getattr(inferencekey, expected["class"]["python"]))
    assert error.status == vector["status"]
    assert error.code == expected["code"]
    assert error.message == expected["message"]
    assert error.request_id == expected["request_id"]
    assert _details(error) == expected["details"]
    assert error.error_type == expected["error_type"]
    assert error.retry_after == expected["retry_after_seconds"]
    assert expected["code"] in str(error)
    # The fields of the subclasses a caller acts on.
    if "next_opening_at" in expected:
        assert isinstance(error, inferencekey.WorkloadOutsideWindowError)
        assert error.next_opening_at == expected["next_opening_at"]
    if "reason" in expected:
        assert isinstance(error, inferencekey.WorkloadFailedError)
        assert (error.reason, error.next_retry_at) == (expected["reason"], expected["next_retry_at"])


@pytest.mark.parametrize("vector", ERRORS, ids=[v["name"] for v in ERRORS])
def test_error_answer_is_retried_as_the_vector_says(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    # Prepare: the error, then success.
    ok = json_response(200, ENSURE_BODY["workload"] if vector["plane"] == "control" else CHAT_OK)
    call, h = _call(vector, mgmt_with, data_with, [_answer(vector), ok], max_retries=1)
    retried = vector["expected"][
        "retried_for_idempotent_calls" if vector["plane"] == "control" else "retried_without_idempotency_key"
    ]

    # Act / Assess
    if retried:
        call()
        assert len(h.requests) == 2
        assert h.sleeps == [
            vector["expected"]["retry_after_seconds"] if vector["expected"]["retry_after_seconds"] is not None else 0.5
        ]
    else:
        with pytest.raises(InferenceKeyError):
            call()
        assert len(h.requests) == 1
        assert h.sleeps == []


@pytest.mark.parametrize("vector", [v for v in ERRORS if v["plane"] == "control"], ids=lambda v: v["name"])
def test_error_answer_to_a_plain_post_is_retried_only_if_the_server_did_nothing(
    vector: dict[str, Any], mgmt_with: Any
) -> None:
    key = next(v for v in RESPONSES if v["name"] == "key_create")["body"]
    mgmt, h = mgmt_with([_answer(vector), json_response(201, key)], max_retries=1)
    if vector["expected"]["retried_without_idempotency_key"]:
        mgmt.keys.create("support-bot", name="backend")
        assert len(h.requests) == 2
    else:
        with pytest.raises(InferenceKeyError):
            mgmt.keys.create("support-bot", name="backend")
        assert len(h.requests) == 1


# --- responses.json -----------------------------------------------------------------------------


def _check_ensure(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    mgmt, _ = mgmt_with([json_response(vector["status"], vector["body"])])
    ref = mgmt.ensure(_build(SPECS[2]))
    e = vector["expected"]
    assert (ref.project_slug, ref.workload_slug, ref.generation, ref.changed, ref.created) == (
        e["project_slug"],
        e["workload_slug"],
        e["generation"],
        e["changed"],
        e["created"],
    )
    assert ref.differences == e["differences"]
    w = e["workload"]
    assert (ref.workload.id, ref.workload.slug, ref.workload.name) == (w["id"], w["slug"], w["name"])
    assert ref.workload.spec.execution_policy == w["spec_execution_policy"]
    assert ref.workload.spec.execution_policy_config == {"replicas": w["spec_replicas"]}
    assert ref.workload.status.desired_replicas == w["desired_replicas"]
    assert ref.workload.status.decision == w["decision"]
    assert [[c.type, c.status] for c in ref.workload.status.conditions] == w["conditions"]
    assert ref.raw == vector["body"]


def _check_key_create(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(vector["status"], vector["body"])])
    created = mgmt.keys.create("support-bot", name="backend", rate_limit_per_minute=600)
    assert json.loads(h.requests[0].content) == {"name": "backend", "rate_limit_per_minute": 600}
    for name, value in vector["expected"].items():
        assert getattr(created, name) == value, name
    assert vector["expected"]["key"] not in repr(created), "the plaintext key stays out of repr()"


def _check_worker_register(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    mgmt, h = mgmt_with([json_response(vector["status"], vector["body"])])
    worker = mgmt.workers.register(name="gpu-box-1", labels={"gpu": "a100"})
    assert json.loads(h.requests[0].content) == {"name": "gpu-box-1", "labels": {"gpu": "a100"}}
    for name, value in vector["expected"].items():
        assert getattr(worker, name) == value, name
    assert vector["expected"]["token"] not in repr(worker)


def _usage(obj: Any) -> dict[str, int] | None:
    u = obj.usage
    return (
        None
        if u is None
        else {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
        }
    )


def _check_chat_completion(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    data, _ = data_with([json_response(200, vector["body"]), json_response(200, vector["body"])])
    ep = data.endpoint("support-bot", api_key="ik_live_x")
    for out in (ep.generate_text(prompt="Hola"), ep.chat(messages=[{"role": "user", "content": "Hola"}])):
        e = vector["expected"]
        assert (out.text, out.model, out.finish_reason, _usage(out)) == (
            e["text"],
            e["model"],
            e["finish_reason"],
            e["usage"],
        )


def _check_chat_completion_stream(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    answer = httpx.Response(200, content=vector["body_text"].encode(), headers={"content-type": vector["content_type"]})
    data, _ = data_with([answer])
    stream = data.endpoint("support-bot", api_key="ik_live_x").stream_text(prompt="Hola")
    e = vector["expected"]
    assert list(stream) == e["deltas"]
    assert (stream.text, stream.model, stream.finish_reason, _usage(stream)) == (
        e["text"],
        e["model"],
        e["finish_reason"],
        e["usage"],
    )


def _check_embeddings(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    data, _ = data_with([json_response(200, vector["body"])])
    emb = data.endpoint("billing", api_key="ik_live_x").embed(input=["invoice #42", "refund policy"])
    e = vector["expected"]
    assert (emb.embeddings, emb.model, _usage(emb)) == (e["embeddings"], e["model"], e["usage"])


CHECKS = {
    "ensure": _check_ensure,
    "key_create": _check_key_create,
    "worker_register": _check_worker_register,
    "chat_completion": _check_chat_completion,
    "chat_completion_stream": _check_chat_completion_stream,
    "embeddings": _check_embeddings,
}


@pytest.mark.parametrize("vector", RESPONSES, ids=[v["name"] for v in RESPONSES])
def test_response_vector_reads_as_expected(vector: dict[str, Any], mgmt_with: Any, data_with: Any) -> None:
    assert vector["name"] in CHECKS, f"no check for response vector {vector['name']!r}"
    CHECKS[vector["name"]](vector, mgmt_with, data_with)
