"""Typed views of what the API answers. Every model keeps the full wire body in ``raw``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .spec import WorkloadSpec

T = TypeVar("T")


def _str(data: Mapping[str, Any], name: str, default: str = "") -> str:
    value = data.get(name)
    return value if isinstance(value, str) else default


def _opt_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def _int(data: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _opt_int(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def _records(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = data.get(name)
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


@dataclass(frozen=True)
class SpecDifference:
    """One field that differs between the stored and the requested spec (``from_`` stored, ``to`` requested).

    Example:
        >>> d = SpecDifference.from_wire({"path": "execution_policy_config.replicas", "from": 1, "to": 2})
        >>> (d.path, d.from_, d.to)
        ('execution_policy_config.replicas', 1, 2)

    """

    path: str
    from_: Any
    to: Any

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SpecDifference:
        """Build from a wire ``differences[]`` entry ``{path, from, to}``.

        Example:
            >>> SpecDifference.from_wire({"path": "name", "from": "A", "to": "B"}).to
            'B'

        """
        return cls(path=_str(data, "path"), from_=data.get("from"), to=data.get("to"))


@dataclass(frozen=True)
class Condition:
    """A workload condition (``Accepted``, ``Ready``) with its status, reason and message.

    Example:
        >>> Condition.from_wire({"type": "Ready", "status": "True", "reason": "ReplicasReady", "message": "1/1"}).ok
        True

    """

    type: str
    status: str
    reason: str
    message: str

    @property
    def ok(self) -> bool:
        """Whether the condition holds (``status == "True"``).

        Example:
            >>> Condition("Ready", "False", "AwaitingReplicas", "0/1").ok
            False

        """
        return self.status == "True"

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Condition:
        """Build from a wire ``conditions[]`` entry.

        Example:
            >>> Condition.from_wire({"type": "Accepted", "status": "True"}).type
            'Accepted'

        """
        return cls(_str(data, "type"), _str(data, "status"), _str(data, "reason"), _str(data, "message"))


@dataclass(frozen=True)
class ReplicaStatus:
    """One replica of a workload: where it runs and its phase.

    Example:
        >>> ReplicaStatus.from_wire({"id": "rep_1", "slot": 0, "phase": "ready", "worker_id": "wrk_1"}).phase
        'ready'

    """

    id: str
    slot: int
    generation: int
    worker_id: str
    desired: str
    phase: str
    restarts: int
    reason: str | None = None
    exit_code: int | None = None
    next_retry_at: str | None = None
    """A failed replica: when the platform replaces it with a new attempt."""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ReplicaStatus:
        """Build from a wire ``replicas[]`` entry.

        Example:
            >>> ReplicaStatus.from_wire({"id": "rep_1"}).restarts
            0

        """
        return cls(
            id=_str(data, "id"),
            slot=_int(data, "slot"),
            generation=_int(data, "generation"),
            worker_id=_str(data, "worker_id"),
            desired=_str(data, "desired"),
            phase=_str(data, "phase"),
            restarts=_int(data, "restarts"),
            reason=_opt_str(data, "reason"),
            exit_code=_opt_int(data, "exit_code"),
            next_retry_at=_opt_str(data, "next_retry_at"),
        )


@dataclass(frozen=True)
class WorkloadStatus:
    """What the platform is doing about a workload: replica counts, the policy's decision, conditions, events.

    Example:
        >>> s = WorkloadStatus.from_wire({"desired_replicas": 1, "ready_replicas": 0, "decision": "fixed at 1 replica"})
        >>> s.ready
        False

    """

    desired_replicas: int
    ready_replicas: int
    decision: str
    next_change_at: str | None = None
    next_retry_at: str | None = None
    """Earliest time the platform retries a failed replica (30 s doubling to 30 min per slot)."""
    conditions: list[Condition] = field(default_factory=list)
    replicas: list[ReplicaStatus] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Whether the ``Ready`` condition holds.

        Example:
            >>> WorkloadStatus(1, 1, "x", conditions=[Condition("Ready", "True", "ReplicasReady", "")]).ready
            True

        """
        return any(c.type == "Ready" and c.ok for c in self.conditions)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> WorkloadStatus:
        """Build from a wire ``status`` object.

        Example:
            >>> WorkloadStatus.from_wire({}).desired_replicas
            0

        """
        return cls(
            desired_replicas=_int(data, "desired_replicas"),
            ready_replicas=_int(data, "ready_replicas"),
            decision=_str(data, "decision"),
            next_change_at=_opt_str(data, "next_change_at"),
            next_retry_at=_opt_str(data, "next_retry_at"),
            conditions=[Condition.from_wire(c) for c in _records(data, "conditions")],
            replicas=[ReplicaStatus.from_wire(r) for r in _records(data, "replicas")],
            events=[dict(e) for e in _records(data, "events")],
        )


@dataclass(frozen=True)
class Workload:
    """A workload as the API shows it: its normalised spec (defaults filled in), generation and status.

    Example:
        w = mgmt.get("support-bot")
        print(w.spec.model, w.generation, w.status.decision)

    """

    id: str
    project_slug: str
    slug: str
    name: str
    spec: WorkloadSpec
    generation: int
    created_at: str
    updated_at: str
    status: WorkloadStatus
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Workload:
        """Build from a wire workload view.

        Example:
            >>> Workload.from_wire({"slug": "bot", "spec": {"name": "Bot", "slug": "bot", "model": "m", "backend": "vllm"}}).spec.slug
            'bot'

        """
        return cls(
            id=_str(data, "id"),
            project_slug=_str(data, "project_slug"),
            slug=_str(data, "slug"),
            name=_str(data, "name"),
            spec=WorkloadSpec.from_wire(_mapping(data, "spec")),
            generation=_int(data, "generation"),
            created_at=_str(data, "created_at"),
            updated_at=_str(data, "updated_at"),
            status=WorkloadStatus.from_wire(_mapping(data, "status")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class EnsureRef:
    """What ``ensure()`` answers: the workload's address, its generation and what changed.

    ``created`` is True for a new workload, ``changed`` when the stored spec was written,
    ``differences`` lists the fields that differed (also under ``on_drift=ignore``).

    Example:
        ref = mgmt.ensure(spec)
        print(ref.project_slug, ref.workload_slug, ref.generation, ref.changed)

    """

    project_slug: str
    workload_slug: str
    generation: int
    changed: bool
    created: bool
    differences: list[SpecDifference]
    workload: Workload
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> EnsureRef:
        """Build from the wire ensure result.

        Example:
            >>> EnsureRef.from_wire({"project_slug": "acme", "workload_slug": "bot", "generation": 1}).workload_slug
            'bot'

        """
        return cls(
            project_slug=_str(data, "project_slug"),
            workload_slug=_str(data, "workload_slug"),
            generation=_int(data, "generation"),
            changed=data.get("changed") is True,
            created=data.get("created") is True,
            differences=[SpecDifference.from_wire(d) for d in _records(data, "differences")],
            workload=Workload.from_wire(_mapping(data, "workload")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class DeletedWorkload:
    """What ``delete()`` answers.

    Example:
        >>> DeletedWorkload.from_wire({"project_slug": "acme", "workload_slug": "bot", "deleted": True}).deleted
        True

    """

    project_slug: str
    workload_slug: str
    deleted: bool

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> DeletedWorkload:
        """Build from the wire delete result.

        Example:
            >>> DeletedWorkload.from_wire({}).deleted
            False

        """
        return cls(_str(data, "project_slug"), _str(data, "workload_slug"), data.get("deleted") is True)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: ``data`` and the cursor of the next page (``None`` on the last).

    Example:
        >>> page = Page(data=[1, 2], next_cursor=None)
        >>> list(page), page.has_more
        ([1, 2], False)

    """

    data: list[T]
    next_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        """Whether another page follows.

        Example:
            >>> Page(data=[], next_cursor="c2").has_more
            True

        """
        return self.next_cursor is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class DataKey:
    """An ``ik_live_`` data key of one workload as listed: never the key itself, only ``prefix`` and ``last4``.

    Example:
        >>> k = DataKey.from_wire({"id": "key_1", "name": "backend", "prefix": "ik_live_", "last4": "Zx9Q"})
        >>> f"{k.prefix}...{k.last4}", k.active
        ('ik_live_...Zx9Q', True)

    """

    id: str
    name: str
    project: str
    workload: str
    prefix: str
    last4: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None
    rate_limit_per_minute: int | None = None
    max_concurrent_requests: int | None = None
    rotated_to: str | None = None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether the key is not revoked (expiry is checked by the server at use).

        Example:
            >>> DataKey.from_wire({"revoked_at": "2025-01-01T00:00:00.000Z"}).active
            False

        """
        return self.revoked_at is None

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": _str(data, "id"),
            "name": _str(data, "name"),
            "project": _str(data, "project"),
            "workload": _str(data, "workload"),
            "prefix": _str(data, "prefix"),
            "last4": _str(data, "last4"),
            "created_at": _str(data, "created_at"),
            "expires_at": _opt_str(data, "expires_at"),
            "revoked_at": _opt_str(data, "revoked_at"),
            "last_used_at": _opt_str(data, "last_used_at"),
            "rate_limit_per_minute": _opt_int(data, "rate_limit_per_minute"),
            "max_concurrent_requests": _opt_int(data, "max_concurrent_requests"),
            "rotated_to": _opt_str(data, "rotated_to"),
            "raw": dict(data),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> DataKey:
        """Build from a wire key record.

        Example:
            >>> DataKey.from_wire({"id": "key_1", "rate_limit_per_minute": 600}).rate_limit_per_minute
            600

        """
        return cls(**cls._fields(data))


@dataclass(frozen=True)
class CreatedKey(DataKey):
    """A new data key: the record plus ``key``, the plaintext ``ik_live_...`` secret, shown only once.

    ``key`` is left out of ``repr()`` so it does not end up in logs by accident.

    Example:
        created = mgmt.keys.create("support-bot", name="backend")
        store_secret("SUPPORT_IK_LIVE", created.key)

    """

    key: str = field(default="", repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> CreatedKey:
        """Build from the wire create-key answer.

        Example:
            >>> CreatedKey.from_wire({"id": "key_1", "key": "ik_live_abc"}).key
            'ik_live_abc'

        """
        return cls(**cls._fields(data), key=_str(data, "key"))


@dataclass(frozen=True)
class RotatedKey(CreatedKey):
    """A rotation's answer: the new key (with its plaintext ``key``) and ``previous``, the old record with its new expiry.

    Example:
        rotated = mgmt.keys.rotate("support-bot", "key_123", old_key_expires_in_seconds=3600)
        print(rotated.id, rotated.previous.expires_at)

    """

    previous: DataKey | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RotatedKey:
        """Build from the wire rotate answer.

        Example:
            >>> RotatedKey.from_wire({"id": "key_2", "key": "ik_live_x", "previous": {"id": "key_1"}}).previous.id
            'key_1'

        """
        previous = data.get("previous")
        return cls(
            **cls._fields(data),
            key=_str(data, "key"),
            previous=DataKey.from_wire(previous) if isinstance(previous, Mapping) else None,
        )


@dataclass(frozen=True)
class Worker:
    """A private worker (one of your GPU boxes running the agent).

    ``status`` (``online``/``offline``), ``gpus`` and ``replicas`` are present on ``list()``/``get()``.

    Example:
        >>> w = Worker.from_wire({"id": "wrk_7Yc2abcd", "name": "gpu-box", "state": "registered", "status": "offline"})
        >>> (w.id, w.online)
        ('wrk_7Yc2abcd', False)

    """

    id: str
    project: str
    name: str
    labels: dict[str, str]
    state: str
    created_at: str
    token_prefix: str
    token_last4: str
    last_heartbeat_at: str | None = None
    host: dict[str, Any] | None = None
    addresses: list[str] | None = None
    status: str | None = None
    gpus: list[dict[str, Any]] = field(default_factory=list)
    replicas: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def online(self) -> bool:
        """Whether the agent's heartbeats arrive.

        Example:
            >>> Worker.from_wire({"status": "online"}).online
            True

        """
        return self.status == "online"

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        host = data.get("host")
        addresses = data.get("addresses")
        return {
            "id": _str(data, "id"),
            "project": _str(data, "project"),
            "name": _str(data, "name"),
            "labels": {str(k): str(v) for k, v in _mapping(data, "labels").items()},
            "state": _str(data, "state"),
            "created_at": _str(data, "created_at"),
            "token_prefix": _str(data, "token_prefix"),
            "token_last4": _str(data, "token_last4"),
            "last_heartbeat_at": _opt_str(data, "last_heartbeat_at"),
            "host": dict(host) if isinstance(host, Mapping) else None,
            "addresses": [str(a) for a in addresses] if isinstance(addresses, list) else None,
            "status": _opt_str(data, "status"),
            "gpus": [dict(g) for g in _records(data, "gpus")],
            "replicas": [dict(r) for r in _records(data, "replicas")],
            "raw": dict(data),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Worker:
        """Build from a wire worker record or view.

        Example:
            >>> Worker.from_wire({"labels": {"gpu": "a100"}}).labels
            {'gpu': 'a100'}

        """
        return cls(**cls._fields(data))


@dataclass(frozen=True)
class RegisteredWorker(Worker):
    """A newly registered worker: the record plus ``token`` (``ik_wrk_...``), shown only once; give it to the agent.

    Example:
        worker = mgmt.workers.register(name="gpu-box-1")
        print(worker.id)  # use as WorkloadSpec(worker_id=...)

    """

    token: str = field(default="", repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RegisteredWorker:
        """Build from the wire register answer.

        Example:
            >>> RegisteredWorker.from_wire({"id": "wrk_1", "token": "ik_wrk_x"}).token
            'ik_wrk_x'

        """
        return cls(**cls._fields(data), token=_str(data, "token"))


@dataclass(frozen=True)
class Usage:
    """Token counts of a data-plane call.

    Example:
        >>> Usage.from_wire({"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}).total_tokens
        12

    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> Usage | None:
        """Build from an OpenAI ``usage`` object; ``None`` when absent.

        Example:
            >>> Usage.from_wire(None) is None
            True

        """
        if not isinstance(data, Mapping):
            return None
        return cls(_int(data, "prompt_tokens"), _int(data, "completion_tokens"), _int(data, "total_tokens"))


@dataclass(frozen=True)
class ChatMessage:
    """One chat message (``role``, ``content``).

    Example:
        >>> ChatMessage(role="user", content="Hi").to_wire()
        {'role': 'user', 'content': 'Hi'}

    """

    role: str
    content: str

    def to_wire(self) -> dict[str, Any]:
        """Return the OpenAI wire form.

        Example:
            >>> ChatMessage("system", "Be brief.").to_wire()["role"]
            'system'

        """
        return {"role": self.role, "content": self.content}


def _first_choice(data: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = _records(data, "choices")
    return choices[0] if choices else {}


@dataclass(frozen=True)
class TextGeneration:
    """The answer of ``generate_text()``: the generated ``text``, the ``model`` that answered, ``usage`` and ``finish_reason``.

    Example:
        out = ep.generate_text(prompt="Hola", temperature=0.2, max_tokens=300)
        print(out.text, out.model, out.finish_reason)

    """

    text: str
    model: str
    usage: Usage | None
    finish_reason: str | None
    id: str = ""
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> TextGeneration:
        """Build from an OpenAI chat completion (or text completion) body.

        Example:
            >>> body = {"model": "m", "choices": [{"message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}
            >>> TextGeneration.from_wire(body).text
            'Hi'

        """
        choice = _first_choice(data)
        message = _mapping(choice, "message")
        content = message.get("content")
        text = content if isinstance(content, str) else _str(choice, "text")
        return cls(
            text=text,
            model=_str(data, "model"),
            usage=Usage.from_wire(_mapping(data, "usage") if "usage" in data else None),
            finish_reason=_opt_str(choice, "finish_reason"),
            id=_str(data, "id"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ChatCompletion(TextGeneration):
    """The answer of ``chat()``: like :class:`TextGeneration` plus the assistant ``message``.

    Example:
        reply = ep.chat(messages=[{"role": "user", "content": "Hi"}])
        history.append(reply.message.to_wire())

    """

    message: ChatMessage = field(default_factory=lambda: ChatMessage("assistant", ""))

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ChatCompletion:
        """Build from an OpenAI chat completion body.

        Example:
            >>> body = {"model": "m", "choices": [{"message": {"role": "assistant", "content": "Hi"}}]}
            >>> ChatCompletion.from_wire(body).message.role
            'assistant'

        """
        base = TextGeneration.from_wire(data)
        message = _mapping(_first_choice(data), "message")
        return cls(
            text=base.text,
            model=base.model,
            usage=base.usage,
            finish_reason=base.finish_reason,
            id=base.id,
            raw=base.raw,
            message=ChatMessage(_str(message, "role", "assistant"), base.text),
        )


@dataclass(frozen=True)
class Embeddings:
    """The answer of ``embed()``: one vector per input, in input order.

    Example:
        emb = ep.embed(input=["invoice #42", "refund policy"])
        print(len(emb.embeddings), len(emb.embeddings[0]), emb.model)

    """

    embeddings: list[list[float]]
    model: str
    usage: Usage | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Embeddings:
        """Build from an OpenAI embeddings body (``data[].embedding``, ordered by ``index``).

        Example:
            >>> body = {"model": "m", "data": [{"index": 1, "embedding": [0.2]}, {"index": 0, "embedding": [0.1]}]}
            >>> Embeddings.from_wire(body).embeddings
            [[0.1], [0.2]]

        """
        items = sorted(_records(data, "data"), key=lambda d: _int(d, "index"))
        vectors: list[list[float]] = []
        for item in items:
            vector = item.get("embedding")
            vectors.append(
                [float(x) for x in vector] if isinstance(vector, Sequence) and not isinstance(vector, str) else []
            )
        return cls(
            embeddings=vectors,
            model=_str(data, "model"),
            usage=Usage.from_wire(_mapping(data, "usage") if "usage" in data else None),
            raw=dict(data),
        )
