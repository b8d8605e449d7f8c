"""WorkloadSpec and the wire enums."""

from __future__ import annotations

import dataclasses
import json

import pytest

from inferencekey import Backend, ExecutionPolicy, OnDrift, TaskType, WorkloadSpec
from inferencekey.enums import coerce_enum


def test_enums_are_their_wire_values() -> None:
    assert [b.value for b in Backend] == ["vllm", "sglang", "ollama", "vllm-omni"]
    assert [p.value for p in ExecutionPolicy] == ["fixed", "scheduled", "autoscaling"]
    assert [d.value for d in OnDrift] == ["reconcile", "fail", "ignore"]
    assert len(TaskType) == 12 and TaskType.TEXT2TEXT == "text2text"
    assert Backend.VLLM_OMNI == "vllm-omni"
    assert str(Backend.VLLM_OMNI) == f"{Backend.VLLM_OMNI}" == "vllm-omni"
    assert (
        json.dumps({"backend": Backend.VLLM_OMNI, "policy": ExecutionPolicy.FIXED})
        == '{"backend": "vllm-omni", "policy": "fixed"}'
    )


def test_coerce_enum_keeps_unknown_values_as_strings() -> None:
    assert coerce_enum(TaskType, "embedding") is TaskType.EMBEDDING
    assert coerce_enum(TaskType, "text2hologram") == "text2hologram"
    assert coerce_enum(Backend, Backend.OLLAMA) is Backend.OLLAMA


def test_keyword_construction_as_in_the_guide() -> None:
    spec = WorkloadSpec(
        name="Poster maker",
        slug="poster-maker",
        model="stabilityai/stable-diffusion-3.5-large",
        backend=Backend.VLLM_OMNI,
        task_type="text2image",
        command="vllm-omni serve stabilityai/stable-diffusion-3.5-large",
        vllm_version="0.6.3",
        worker_id="wrk_7Yc2abcd",
        execution_policy=ExecutionPolicy.FIXED,
        execution_policy_config={"replicas": 1},
    )
    assert spec.to_wire() == {
        "name": "Poster maker",
        "slug": "poster-maker",
        "model": "stabilityai/stable-diffusion-3.5-large",
        "backend": "vllm-omni",
        "task_type": "text2image",
        "command": "vllm-omni serve stabilityai/stable-diffusion-3.5-large",
        "vllm_version": "0.6.3",
        "worker_id": "wrk_7Yc2abcd",
        "execution_policy": "fixed",
        "execution_policy_config": {"replicas": 1},
    }


def test_construction_from_a_base_dict() -> None:
    base = dict(name="Voice over", slug="voice-over", model="hexgrad/Kokoro-82M", backend=Backend.VLLM_OMNI)
    spec = WorkloadSpec(
        **base, execution_policy=ExecutionPolicy.SCHEDULED, execution_policy_config={"cron": "0 6 * * *"}
    )
    assert spec.to_wire()["execution_policy_config"] == {"cron": "0 6 * * *"}


def test_omitted_fields_are_left_to_the_server() -> None:
    assert WorkloadSpec(name="Bot", slug="bot", model="m", backend="sglang").to_wire() == {
        "name": "Bot",
        "slug": "bot",
        "model": "m",
        "backend": "sglang",
    }


def test_enums_nested_in_the_config_serialise() -> None:
    spec = WorkloadSpec(
        name="B",
        slug="b",
        model="m",
        backend=Backend.VLLM,
        execution_policy_config={"gpu_pool": ("A", "B"), "x": Backend.OLLAMA},
    )
    assert spec.to_wire()["execution_policy_config"] == {"gpu_pool": ["A", "B"], "x": "ollama"}


def test_spec_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        WorkloadSpec("Bot", "bot", "m", Backend.VLLM)  # type: ignore[misc]
    spec = WorkloadSpec(name="Bot", slug="bot", model="m", backend=Backend.VLLM)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.slug = "other"  # type: ignore[misc]
    assert dataclasses.replace(spec, slug="other").slug == "other"


def test_camel_case_names_are_rejected_by_python() -> None:
    with pytest.raises(TypeError, match="executionPolicy"):
        WorkloadSpec(name="Bot", slug="bot", model="m", backend=Backend.VLLM, executionPolicy="fixed")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 1),
        ("slug", None),
        ("backend", 3),
        ("task_type", 7),
        ("worker_id", ["wrk_1"]),
        ("execution_policy_config", [("replicas", 1)]),
    ],
)
def test_light_type_checks(field: str, value: object) -> None:
    options: dict[str, object] = {"name": "Bot", "slug": "bot", "model": "m", "backend": Backend.VLLM, field: value}
    with pytest.raises(TypeError, match=field):
        WorkloadSpec(**options)  # type: ignore[arg-type]


def test_values_are_not_validated_client_side() -> None:
    # The server is the authority (it answers a ValidationError listing every problem).
    spec = WorkloadSpec(
        name="",
        slug="Not A Slug",
        model="m",
        backend="tgi",
        execution_policy="sometimes",
        execution_policy_config={"min_replicas": 0},
    )
    assert spec.to_wire()["backend"] == "tgi"


def test_from_wire_reads_a_normalised_spec() -> None:
    spec = WorkloadSpec.from_wire(
        {
            "name": "Bot",
            "slug": "bot",
            "model": "m",
            "backend": "vllm",
            "task_type": "text2text",
            "command": "vllm serve m",
            "execution_policy": "fixed",
            "execution_policy_config": {"replicas": 1},
            "future_field": 1,
        }
    )
    assert (
        spec.backend is Backend.VLLM
        and spec.task_type is TaskType.TEXT2TEXT
        and spec.execution_policy is ExecutionPolicy.FIXED
    )
    assert spec.worker_id is None
