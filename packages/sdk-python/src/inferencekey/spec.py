"""``WorkloadSpec``: the declared intent ``ensure()`` sends, in the wire's snake_case names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .enums import Backend, ExecutionPolicy, TaskType, coerce_enum

_OPTIONAL_FIELDS = ("task_type", "command", "vllm_version", "worker_id", "execution_policy", "execution_policy_config")


def to_json_value(value: Any) -> Any:
    """Return ``value`` as plain JSON data: enums become their wire value, mappings dicts, tuples lists.

    Example:
        >>> to_json_value({"workers": {"source": "cloud", "gpu_pool": ("A100",)}, "backend": Backend.VLLM})
        {'workers': {'source': 'cloud', 'gpu_pool': ['A100']}, 'backend': 'vllm'}

    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k.value if isinstance(k, Enum) else k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec:
    """One workload's declared intent: a model, on a backend, scheduled by a policy, optionally on a worker.

    Fields are the wire's, in snake_case; omitted (``None``) optional fields are left out of the
    request and defaulted by the server (``task_type`` ``text2text``, ``command`` the backend's
    standard command, ``execution_policy`` ``fixed`` with one replica). Client-side checks are
    light (types only): the server validates everything and answers a :class:`ValidationError`
    listing every problem.

    Example:
        >>> from inferencekey import WorkloadSpec, Backend, ExecutionPolicy
        >>> spec = WorkloadSpec(
        ...     name="Support bot",
        ...     slug="support-bot",
        ...     model="meta-llama/Llama-3.1-8B-Instruct",
        ...     backend=Backend.VLLM,
        ...     execution_policy=ExecutionPolicy.FIXED,
        ...     execution_policy_config={"replicas": 1},
        ... )
        >>> spec.to_wire()["execution_policy"]
        'fixed'

    """

    name: str
    """Display name (1-120 characters)."""
    slug: str
    """URL-safe identifier, unique in the project: lower-case letters, digits and ``-``."""
    model: str
    """The model the backend serves, e.g. a Hugging Face id."""
    backend: Backend | str
    """The serving runtime: ``vllm``, ``sglang``, ``ollama`` or ``vllm-omni``."""
    task_type: TaskType | str | None = None
    """The modality; the server default is ``text2text``."""
    command: str | None = None
    """The serve command; default: the backend's standard command for the model."""
    vllm_version: str | None = None
    """Pins the vLLM / vLLM-Omni runtime version."""
    worker_id: str | None = None
    """Pins the workload to a registered private worker (``wrk_...``); omit for cloud capacity."""
    execution_policy: ExecutionPolicy | str | None = None
    """``fixed``, ``scheduled`` or ``autoscaling``; server default ``fixed``."""
    execution_policy_config: Mapping[str, Any] | None = field(default=None)
    """The policy's settings, e.g. ``{"replicas": 1}`` or ``{"cron": "0 2 * * *"}``."""

    def __post_init__(self) -> None:
        for name in ("name", "slug", "model"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"WorkloadSpec.{name} must be a str, got {type(value).__name__}")
        if not isinstance(self.backend, str):
            raise TypeError(f"WorkloadSpec.backend must be a Backend or str, got {type(self.backend).__name__}")
        for name in ("task_type", "command", "vllm_version", "worker_id", "execution_policy"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"WorkloadSpec.{name} must be a str or None, got {type(value).__name__}")
        config = self.execution_policy_config
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(
                f"WorkloadSpec.execution_policy_config must be a mapping such as {{'replicas': 1}}, "
                f"got {type(config).__name__}"
            )

    def to_wire(self) -> dict[str, Any]:
        """Return the exact JSON body ``ensure()`` sends: snake_case, enums as wire values, ``None`` fields omitted.

        Example:
            >>> WorkloadSpec(name="Bot", slug="bot", model="org/model", backend=Backend.VLLM).to_wire()
            {'name': 'Bot', 'slug': 'bot', 'model': 'org/model', 'backend': 'vllm'}

        """
        wire: dict[str, Any] = {
            "name": self.name,
            "slug": self.slug,
            "model": self.model,
            "backend": to_json_value(self.backend),
        }
        for name in _OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                wire[name] = to_json_value(value)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> WorkloadSpec:
        """Build a spec from its wire form (e.g. the normalised ``spec`` of a workload the API returns).

        Unknown fields are ignored; known enum values become enum members.

        Example:
            >>> spec = WorkloadSpec.from_wire({"name": "Bot", "slug": "bot", "model": "m", "backend": "vllm"})
            >>> spec.backend is Backend.VLLM
            True

        """
        task_type = data.get("task_type")
        policy = data.get("execution_policy")
        config = data.get("execution_policy_config")
        return cls(
            name=str(data.get("name", "")),
            slug=str(data.get("slug", "")),
            model=str(data.get("model", "")),
            backend=coerce_enum(Backend, data.get("backend", "")),
            task_type=None if task_type is None else coerce_enum(TaskType, task_type),
            command=data.get("command"),
            vllm_version=data.get("vllm_version"),
            worker_id=data.get("worker_id"),
            execution_policy=None if policy is None else coerce_enum(ExecutionPolicy, policy),
            execution_policy_config=dict(config) if isinstance(config, Mapping) else None,
        )
