"""Typed views of the async jobs API and of rerank answers.

A job is submitted to ``POST /endpoint/{project}/{workload}/v1/jobs`` and read back until it is
terminal; its ``result`` is typed by the workload's task type (:class:`RerankResult`,
:class:`ClassificationResult`, :class:`RewardResult`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InferenceKeyError
from .models import Page, Usage

TERMINAL_JOB_STATUSES = frozenset({"succeeded", "failed", "cancelled", "expired"})
"""The statuses a job never leaves."""


def is_terminal_job_status(status: str) -> bool:
    """Return True when a job in ``status`` changes no more.

    Example:
        >>> is_terminal_job_status("running"), is_terminal_job_status("expired")
        (False, True)

    """
    return status in TERMINAL_JOB_STATUSES


def _invalid(message: str) -> InferenceKeyError:
    return InferenceKeyError(message, code="invalid_response")


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _opt_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _records(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _by_index(items: list[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    indexed = [(_int(item.get("index")), position, item) for position, item in enumerate(items)]
    return sorted(
        ((index if index is not None else position, item) for index, position, item in indexed), key=lambda p: p[0]
    )


def _usage(data: Mapping[str, Any]) -> Usage | None:
    raw = data.get("usage")
    if not isinstance(raw, Mapping):
        return None
    usage = Usage.from_wire(raw)
    if usage is not None and usage.total_tokens == 0:
        usage = Usage(usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens + usage.completion_tokens)
    return usage


@dataclass(frozen=True)
class RerankItem:
    """One reranked document: its ``index`` in your list, its ``relevance_score``, and its text when returned.

    Example:
        >>> RerankItem(index=1, relevance_score=0.98).index
        1

    """

    index: int
    relevance_score: float
    document: str | None = None


@dataclass(frozen=True)
class RerankResult:
    """A reranker job's result: ``results`` sorted by ``relevance_score``, highest first, and ``usage``.

    Example:
        >>> r = RerankResult.from_wire({"results": [{"index": 0, "relevance_score": 0.1}, {"index": 1, "relevance_score": 0.9}]})
        >>> [item.index for item in r.results]
        [1, 0]

    """

    results: list[RerankItem]
    usage: Usage | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> RerankResult:
        """Read a rerank result in any order; sorted by score here (sglang's ``score`` is read too).

        Example:
            >>> RerankResult.from_wire({"results": [{"index": 0, "score": 0.5}]}).results[0].relevance_score
            0.5

        """
        if not isinstance(data, Mapping):
            raise _invalid("a rerank result must be a JSON object with results[]")
        items = []
        for position, item in enumerate(_records(data.get("results"))):
            document = item.get("document")
            text = document.get("text") if isinstance(document, Mapping) else None
            score = _num(item.get("relevance_score"))
            index = _int(item.get("index"))
            items.append(
                RerankItem(
                    index=index if index is not None else position,
                    relevance_score=score if score is not None else (_num(item.get("score")) or 0.0),
                    document=text if isinstance(text, str) else None,
                )
            )
        items.sort(key=lambda item: (-item.relevance_score, item.index))
        return cls(results=items, usage=_usage(data), raw=dict(data))


@dataclass(frozen=True)
class Rerank(RerankResult):
    """What the synchronous ``rerank()`` answers: a :class:`RerankResult` plus ``id`` and ``model``.

    Example:
        >>> Rerank.from_wire({"id": "r1", "model": "m", "results": []}).model
        'm'

    """

    id: str = ""
    model: str = ""

    @classmethod
    def from_wire(cls, data: Any) -> Rerank:
        """Read a ``/v1/rerank`` answer.

        Example:
            >>> Rerank.from_wire({"id": "r1", "results": [{"index": 0, "relevance_score": 1}]}).results[0].index
            0

        """
        base = RerankResult.from_wire(data)
        return cls(
            results=base.results, usage=base.usage, raw=base.raw, id=_str(base.raw, "id"), model=_str(base.raw, "model")
        )


@dataclass(frozen=True)
class ClassificationItem:
    """One classified input: ``index``, the winning ``label``, class probabilities ``probs``, ``num_classes``.

    Example:
        >>> ClassificationItem(0, "positive", [0.1, 0.9], 2).label
        'positive'

    """

    index: int
    label: str
    probs: list[float]
    num_classes: int


@dataclass(frozen=True)
class ClassificationResult:
    """A classification job's result: one entry per input, in input order, and ``usage``.

    Example:
        >>> ClassificationResult.from_wire({"data": [{"index": 0, "label": "ok", "probs": [1.0], "num_classes": 1}]}).data[0].label
        'ok'

    """

    data: list[ClassificationItem]
    usage: Usage | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> ClassificationResult:
        """Read a classification result, entries ordered by ``index``.

        Example:
            >>> ClassificationResult.from_wire({"data": []}).data
            []

        """
        if not isinstance(data, Mapping):
            raise _invalid("a classification result must be a JSON object with data[]")
        items = []
        for index, item in _by_index(_records(data.get("data"))):
            probs_raw = item.get("probs")
            probs = [float(p) for p in probs_raw if _num(p) is not None] if isinstance(probs_raw, list) else []
            num_classes = _int(item.get("num_classes"))
            items.append(
                ClassificationItem(
                    index, _str(item, "label"), probs, num_classes if num_classes is not None else len(probs)
                )
            )
        return cls(data=items, usage=_usage(data), raw=dict(data))


@dataclass(frozen=True)
class RewardItem:
    """One scored input: ``reward`` is a number (sequence reward) or a list (per-token rewards).

    Example:
        >>> RewardItem(0, 0.73).reward
        0.73

    """

    index: int
    reward: float | list[float]


@dataclass(frozen=True)
class RewardResult:
    """A reward job's result: one entry per input, in input order, and ``usage``.

    Example:
        >>> RewardResult.from_wire({"data": [{"index": 0, "reward": [0.1, 0.2]}]}).data[0].reward
        [0.1, 0.2]

    """

    data: list[RewardItem]
    usage: Usage | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Any) -> RewardResult:
        """Read a reward result, entries ordered by ``index``.

        Example:
            >>> RewardResult.from_wire({"data": [{"index": 0, "reward": 1}]}).data[0].reward
            1.0

        """
        if not isinstance(data, Mapping):
            raise _invalid("a reward result must be a JSON object with data[]")
        items = []
        for index, item in _by_index(_records(data.get("data"))):
            raw = item.get("reward")
            reward: float | list[float]
            if isinstance(raw, list):
                reward = [float(r) for r in raw if _num(r) is not None]
            else:
                number = _num(raw)
                reward = number if number is not None else float("nan")
            items.append(RewardItem(index, reward))
        return cls(data=items, usage=_usage(data), raw=dict(data))


JobResult = RerankResult | ClassificationResult | RewardResult | dict[str, Any]
"""A job's ``result``, typed by its task type (a plain dict for another task type)."""


@dataclass(frozen=True)
class JobHistoryEntry:
    """A status the job reached and when (ISO 8601).

    Example:
        >>> JobHistoryEntry("queued", "2025-07-01T12:00:00.000Z").status
        'queued'

    """

    status: str
    at: str


@dataclass(frozen=True)
class JobError:
    """Why a job failed: ``code`` and ``message``.

    Example:
        >>> JobError("upstream_bad_response", "boom").code
        'upstream_bad_response'

    """

    code: str
    message: str


@dataclass(frozen=True)
class WebhookDelivery:
    """How a job's webhook delivery went: ``status`` (pending, delivered, failed), attempts, last answer.

    Example:
        >>> WebhookDelivery("delivered", 1, 204, None, "2025-07-01T12:01:31Z").last_status
        204

    """

    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    delivered_at: str | None


@dataclass(frozen=True)
class JobWebhook:
    """A job's webhook: the ``url`` called when it ends, and its ``delivery`` state.

    Example:
        >>> JobWebhook("https://example.com/hook", None).url
        'https://example.com/hook'

    """

    url: str
    delivery: WebhookDelivery | None


def _result(task_type: str, data: Any) -> JobResult | None:
    if data is None:
        return None
    if task_type == "reranker":
        return RerankResult.from_wire(data)
    if task_type == "classification":
        return ClassificationResult.from_wire(data)
    if task_type == "reward":
        return RewardResult.from_wire(data)
    return dict(data) if isinstance(data, Mapping) else {"value": data}


def _webhook(data: Any) -> JobWebhook | None:
    if not isinstance(data, Mapping):
        return None
    d = data.get("delivery")
    delivery = (
        WebhookDelivery(
            status=_str(d, "status"),
            attempts=_int(d.get("attempts")) or 0,
            last_status=_int(d.get("last_status")),
            last_error=_opt_str(d, "last_error"),
            delivered_at=_opt_str(d, "delivered_at"),
        )
        if isinstance(d, Mapping)
        else None
    )
    return JobWebhook(url=_str(data, "url"), delivery=delivery)


@dataclass(frozen=True)
class Job:
    """An async job as the API answers it.

    ``status`` is ``queued``, ``waiting`` (no ready replica yet), ``running``, or terminal:
    ``succeeded`` (with ``result``), ``failed`` (with ``error``), ``cancelled``, ``expired``.
    Times are ISO 8601 strings; ``expires_at`` is when the record and result are dropped.

    Example:
        job = ep.submit_job({"input": ["great product", "never again"]})
        print(job.id, job.status, job.expires_at)

    """

    id: str
    project: str
    workload: str
    task_type: str
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str
    history: list[JobHistoryEntry]
    attempts: int
    max_queue_seconds: int | None
    idempotency_key: str | None
    result: JobResult | None
    error: JobError | None
    webhook: JobWebhook | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def terminal(self) -> bool:
        """Whether the job changes no more.

        Example:
            >>> Job.from_wire({"id": "job_1", "status": "running"}).terminal
            False

        """
        return is_terminal_job_status(self.status)

    @classmethod
    def from_wire(cls, data: Any) -> Job:
        """Read a job object; an answer without ``id`` and ``status`` is not one.

        Example:
            >>> Job.from_wire({"id": "job_1", "status": "queued", "task_type": "reward"}).task_type
            'reward'

        """
        if (
            not isinstance(data, Mapping)
            or not isinstance(data.get("id"), str)
            or not isinstance(data.get("status"), str)
        ):
            raise _invalid(
                f'expected a job object ({{"id": "job_...", "status": ...}}), got {json.dumps(data, default=str)[:200]}'
            )
        task_type = _str(data, "task_type")
        error = data.get("error")
        return cls(
            id=data["id"],
            project=_str(data, "project"),
            workload=_str(data, "workload"),
            task_type=task_type,
            status=data["status"],
            created_at=_str(data, "created_at"),
            started_at=_opt_str(data, "started_at"),
            finished_at=_opt_str(data, "finished_at"),
            expires_at=_str(data, "expires_at"),
            history=[JobHistoryEntry(_str(h, "status"), _str(h, "at")) for h in _records(data.get("history"))],
            attempts=_int(data.get("attempts")) or 0,
            max_queue_seconds=_int(data.get("max_queue_seconds")),
            idempotency_key=_opt_str(data, "idempotency_key"),
            result=_result(task_type, data.get("result")),
            error=JobError(_str(error, "code"), _str(error, "message")) if isinstance(error, Mapping) else None,
            webhook=_webhook(data.get("webhook")),
            raw=dict(data),
        )


def job_page(data: Any) -> Page[Job]:
    """Read a ``{"object": "list", "data": [job...], "next_cursor"}`` page.

    Example:
        >>> job_page({"object": "list", "data": [], "next_cursor": None}).has_more
        False

    """
    if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
        raise _invalid('expected a list of jobs ({"object": "list", "data": [...]})')
    cursor = data.get("next_cursor")
    return Page([Job.from_wire(j) for j in data["data"]], cursor if isinstance(cursor, str) and cursor else None)


def texts(value: Any, name: str = "input") -> str | list[str]:
    """Return ``value`` as the wire takes it (a str, or a list of str), or raise ``TypeError`` naming ``name``.

    Example:
        >>> texts(("a", "b"))
        ['a', 'b']

    """
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and not isinstance(value, bytes) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f'{name} must be a str or a list of str, e.g. {name}=["great product"]; got {type(value).__name__}')
