"""Wire enums: ``str`` subclasses, so each member *is* its wire value (``Backend.VLLM == "vllm"``)."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar


class _WireEnum(str, Enum):
    """A str enum whose ``str()`` and ``format()`` are the wire value (Python 3.10 has no StrEnum)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


class Backend(_WireEnum):
    """The serving runtime of a workload.

    Example:
        >>> Backend.VLLM_OMNI.value
        'vllm-omni'
        >>> Backend("sglang") is Backend.SGLANG
        True

    """

    VLLM = "vllm"
    SGLANG = "sglang"
    OLLAMA = "ollama"
    VLLM_OMNI = "vllm-omni"


class TaskType(_WireEnum):
    """The modality a workload serves (``task_type``); the server default is ``text2text``.

    Example:
        >>> TaskType.EMBEDDING == "embedding"
        True

    """

    TEXT2TEXT = "text2text"
    EMBEDDING = "embedding"
    TEXT2IMAGE = "text2image"
    TEXT2AUDIO = "text2audio"
    AUDIO2TEXT = "audio2text"
    RERANKER = "reranker"
    CLASSIFICATION = "classification"
    REWARD = "reward"
    IMAGE2TEXT = "image2text"
    IMAGE2IMAGE = "image2image"
    TEXT2VIDEO = "text2video"
    IMAGE2VIDEO = "image2video"


class ExecutionPolicy(_WireEnum):
    """When a workload runs: ``fixed`` replicas, on a ``scheduled`` window/cron, or ``autoscaling`` with load.

    Example:
        >>> f"{ExecutionPolicy.AUTOSCALING}"
        'autoscaling'

    """

    FIXED = "fixed"
    SCHEDULED = "scheduled"
    AUTOSCALING = "autoscaling"


class OnDrift(_WireEnum):
    """What ``ensure()`` does when the stored spec differs from the requested one.

    ``RECONCILE`` (default) applies the requested spec, ``FAIL`` raises :class:`DriftError` and changes
    nothing, ``IGNORE`` keeps the stored spec and reports the differences.

    Example:
        >>> OnDrift.FAIL.value
        'fail'

    """

    RECONCILE = "reconcile"
    FAIL = "fail"
    IGNORE = "ignore"


E = TypeVar("E", bound=_WireEnum)


def coerce_enum(enum: type[E], value: object) -> E | str:
    """Return the member for a known wire value, else the string itself (newer servers may add values).

    Example:
        >>> coerce_enum(Backend, "vllm")
        <Backend.VLLM: 'vllm'>
        >>> coerce_enum(Backend, "tgi")
        'tgi'

    """
    text = str(value.value) if isinstance(value, Enum) else str(value)
    try:
        return enum(text)
    except ValueError:
        return text
