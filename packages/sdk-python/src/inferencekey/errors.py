"""The one error hierarchy of the SDK.

Every error is an :class:`InferenceKeyError` carrying ``code``, ``message``, ``status``,
``request_id`` and ``details``. HTTP error answers become the status-mapped subclass in one place,
:func:`error_for_status`; both wire shapes are read: the control API's
``{"error": {"code", "message", "request_id", "details"}}`` and the data plane's OpenAI-style
``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with an input, as in the wire's ``error.details[]``.

    ``path`` is in wire (snake_case) names, e.g. ``execution_policy_config.min_workers``;
    ``received`` is the value sent (``has_received`` is False when the field was missing),
    ``expected`` says what would be accepted and ``suggestion`` names a near miss's fix.

    Example:
        >>> d = ErrorDetail(path="execution_policy_config.min_replicas", message="unknown field", suggestion="min_workers")
        >>> f"{d.path}: did you mean {d.suggestion}?"
        'execution_policy_config.min_replicas: did you mean min_workers?'

    """

    path: str
    message: str
    received: Any = None
    expected: str | None = None
    suggestion: str | None = None
    has_received: bool = False

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> ErrorDetail:
        """Build a detail from one wire ``details[]`` entry, tolerating missing fields.

        Example:
            >>> ErrorDetail.from_wire({"path": "slug", "message": "bad", "received": "A"}).received
            'A'

        """
        expected = raw.get("expected")
        suggestion = raw.get("suggestion")
        return cls(
            path=str(raw.get("path", "")),
            message=str(raw.get("message", "")),
            received=raw.get("received"),
            expected=expected if isinstance(expected, str) or expected is None else json.dumps(expected),
            suggestion=suggestion if isinstance(suggestion, str) else None,
            has_received="received" in raw,
        )

    def __str__(self) -> str:
        parts = [f"{self.path or '(body)'}: {self.message}"]
        if self.has_received:
            parts.append(f"received {json.dumps(self.received, default=str)}")
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        if self.suggestion is not None:
            parts.append(f"did you mean {self.suggestion!r}?")
        return "; ".join(parts)


class InferenceKeyError(Exception):
    """The base of every error the SDK raises.

    Attributes mirror the wire error body plus the HTTP ``status`` (``None`` when no response
    arrived), ``retry_after`` (seconds, from ``Retry-After``), ``error_type`` (the OpenAI-style
    ``type`` of data-plane errors) and ``body`` (the parsed error body, for anything else).

    Example:
        >>> from inferencekey import ManagementClient, InferenceKeyError
        >>> mgmt = ManagementClient(token="ik_sdk_x", project="acme", base_url="http://127.0.0.1:9")
        >>> try:
        ...     mgmt.get("support-bot", max_retries=0)
        ... except InferenceKeyError as error:
        ...     print(error.code, error.status)
        connection_error None

    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int | None = None,
        request_id: str | None = None,
        details: Sequence[ErrorDetail] = (),
        retry_after: float | None = None,
        error_type: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.details: list[ErrorDetail] = list(details)
        self.retry_after = retry_after
        self.error_type = error_type
        self.body = body

    def __str__(self) -> str:
        head = f"[{self.code}] {self.message}"
        extra = [f"status {self.status}"] if self.status is not None else []
        if self.request_id:
            extra.append(f"request {self.request_id}")
        if extra:
            head += f" ({', '.join(extra)})"
        return "\n".join([head, *(f"  - {d}" for d in self.details)])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class ConfigurationError(InferenceKeyError):
    """The client was built with missing or invalid settings (no token, a malformed base URL).

    Raised by constructors and ``from_env``, before any request.

    Example:
        >>> from inferencekey import ManagementClient, ConfigurationError
        >>> try:
        ...     ManagementClient(token="", project="acme")
        ... except ConfigurationError as error:
        ...     print(error.code)
        invalid_configuration

    """

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_configuration")


class BadRequestError(InferenceKeyError):
    """HTTP 400: the request was malformed.

    Example:
        >>> issubclass(ValidationError, BadRequestError)
        True

    """


class ValidationError(BadRequestError):
    """HTTP 400 ``validation_failed``: every problem is in ``details`` (path, message, received, expected, suggestion).

    Example:
        >>> from inferencekey import ValidationError
        >>> try:
        ...     mgmt.ensure(spec)  # doctest: +SKIP
        ... except ValidationError as error:
        ...     for d in error.details:
        ...         print(d.path, d.message, d.suggestion)

    """


class AuthenticationError(InferenceKeyError):
    """HTTP 401: the token or data key is missing, malformed, unknown, expired or revoked.

    Example:
        >>> issubclass(AuthenticationError, InferenceKeyError)
        True

    """


class PermissionDeniedError(InferenceKeyError):
    """HTTP 403: the token is valid but may not do this (e.g. a project token on an admin route).

    Example:
        >>> PermissionDeniedError("no", code="forbidden", status=403).status
        403

    """


class NotFoundError(InferenceKeyError):
    """HTTP 404: no such project, workload, key or worker (or the token may not see it).

    Example:
        >>> from inferencekey import NotFoundError
        >>> try:
        ...     mgmt.get("nope")  # doctest: +SKIP
        ... except NotFoundError:
        ...     print("not there")

    """


class ConflictError(InferenceKeyError):
    """HTTP 409: the request conflicts with the current state (e.g. creating a project that exists).

    Example:
        >>> issubclass(DriftError, ConflictError)
        True

    """


class DriftError(ConflictError):
    """HTTP 409 ``drift_detected``: ``ensure(spec, on_drift=OnDrift.FAIL)`` found a stored spec that differs.

    ``details`` lists each differing field: ``received`` is what you asked for, ``expected`` what is
    stored. Nothing was changed.

    Example:
        >>> from inferencekey import DriftError, OnDrift
        >>> try:
        ...     mgmt.ensure(spec, on_drift=OnDrift.FAIL)  # doctest: +SKIP
        ... except DriftError as error:
        ...     print([d.path for d in error.details])

    """

    def __str__(self) -> str:
        # Each detail's message already quotes the stored and the requested value alike
        # ('stored "a", requested "b"'); received/expected repeated after it would not be.
        head = super().__str__().split("\n", 1)[0]
        return "\n".join([head, *(f"  - {d.path or '(body)'}: {d.message}" for d in self.details)])


class JobNotFoundError(NotFoundError):
    """HTTP 404 ``job_not_found``: no job with that id in this workload (never created, or dropped after retention).

    Example:
        >>> from inferencekey import JobNotFoundError
        >>> try:
        ...     ep.get_job("job_missing")  # doctest: +SKIP
        ... except JobNotFoundError:
        ...     print("gone")

    """


class IdempotencyKeyReusedError(ConflictError):
    """HTTP 409 ``idempotency_key_reused``: the ``Idempotency-Key`` already names a job with another body.

    The same key with the same body answers the existing job instead; use a new key for a new job.

    Example:
        >>> issubclass(IdempotencyKeyReusedError, ConflictError)
        True

    """


class JobNotCancellableError(ConflictError):
    """HTTP 409 ``job_not_cancellable``: the job is running or finished; only queued or waiting jobs cancel.

    Example:
        >>> from inferencekey import JobNotCancellableError
        >>> try:
        ...     ep.cancel_job("job_123")  # doctest: +SKIP
        ... except JobNotCancellableError:
        ...     print("too late: it already started")

    """


class PayloadTooLargeError(InferenceKeyError):
    """HTTP 413 ``payload_too_large``: the body is over the route's limit (a job's input over 1 MiB).

    Not retried: the same body would be refused again.

    Example:
        >>> PayloadTooLargeError("too big", code="payload_too_large", status=413).status
        413

    """


class RateLimitError(InferenceKeyError):
    """HTTP 429: too many requests; ``retry_after`` says how long the server asked to wait.

    Retried automatically (honouring ``Retry-After``) before it is raised.

    Example:
        >>> RateLimitError("slow down", code="rate_limited", status=429, retry_after=7.0).retry_after
        7.0

    """


class InternalServerError(InferenceKeyError):
    """HTTP 5xx: the server failed or is unavailable (``unavailable``, the gateway's ``workload_stopped``, ...).

    The conditions a caller acts on have their own subclass: :class:`WorkloadScalingUpError`,
    :class:`WorkloadOutsideWindowError` (``next_opening_at``), :class:`WorkloadFailedError` (``reason``).

    Example:
        >>> from inferencekey import InternalServerError
        >>> try:
        ...     mgmt.list_page()  # doctest: +SKIP
        ... except InternalServerError as error:
        ...     print("report request", error.request_id)

    """


class WorkloadScalingUpError(InternalServerError):
    """HTTP 503 ``workload_scaling_up``: no replica is ready yet and one is starting.

    Nothing was forwarded, so the SDK retries it (even a POST), honouring ``Retry-After``; raised once
    its retries are spent. Pass ``scale_up_timeout`` to have the gateway hold the call instead.

    Example:
        >>> from inferencekey import WorkloadScalingUpError
        >>> try:
        ...     ep.generate_text(prompt="Hi")  # doctest: +SKIP
        ... except WorkloadScalingUpError as error:
        ...     print("still starting; retry in", error.retry_after)

    """


class WorkloadOutsideWindowError(InternalServerError):
    """HTTP 503 ``workload_outside_window``: a scheduled workload called outside its window.

    ``next_opening_at`` (ISO time) says when it opens again; ``None`` when the schedule never reopens.

    Example:
        >>> WorkloadOutsideWindowError("closed", code="workload_outside_window", status=503,
        ...                            next_opening_at="2026-12-07T07:00:00.000Z").next_opening_at
        '2026-12-07T07:00:00.000Z'

    """

    def __init__(self, message: str, *, next_opening_at: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.next_opening_at = next_opening_at


class WorkloadFailedError(InternalServerError):
    """HTTP 503 ``workload_failed``: every replica failed and none is starting; the call is not retried.

    ``reason`` says why the replica failed (e.g. ``exited with code 127 (command not found): sh: 1: vllm:
    not found``); ``next_retry_at`` (ISO time) is when the platform starts it again, ``None`` until it
    has scheduled that.

    Example:
        >>> error = WorkloadFailedError("cannot serve", code="workload_failed", status=503,
        ...                             reason="sh: 1: vllm: not found", next_retry_at="2026-12-02T07:00:30.000Z")
        >>> (error.reason, error.next_retry_at)
        ('sh: 1: vllm: not found', '2026-12-02T07:00:30.000Z')

    """

    def __init__(
        self, message: str, *, reason: str | None = None, next_retry_at: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason
        self.next_retry_at = next_retry_at


class APIConnectionError(InferenceKeyError):
    """No HTTP response arrived (DNS failure, refused or reset connection); ``__cause__`` holds the reason.

    Example:
        >>> APIConnectionError("could not reach http://127.0.0.1:9").code
        'connection_error'

    """

    def __init__(self, message: str, *, code: str = "connection_error", request_sent: bool = True) -> None:
        super().__init__(message, code=code)
        self.request_sent = request_sent
        """False when the connection failed before the request was sent (so a retry is always safe)."""


class APITimeoutError(APIConnectionError):
    """The request did not complete within the timeout (default 60 s per attempt).

    Example:
        >>> APITimeoutError("GET /v1/projects timed out after 5 s").code
        'timeout'

    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message, code="timeout", request_sent=request_sent)


class JobFailedError(InferenceKeyError):
    """A job ended without a result: ``failed`` (``code``/``message`` are its ``error``), ``cancelled`` or ``expired``.

    Raised by the helpers that submit and wait (``classify``, ``reward``, ``jobs.rerank``);
    ``wait_for_job`` returns such a job instead. ``job`` is the job as last read.

    Example:
        >>> from inferencekey import JobFailedError
        >>> try:
        ...     ep.classify(input="great product")  # doctest: +SKIP
        ... except JobFailedError as error:
        ...     print(error.job.status, error.code, error.message)

    """

    def __init__(self, message: str, *, job: Any, code: str) -> None:
        super().__init__(message, code=code)
        self.job = job


class WaitTimeoutError(InferenceKeyError):
    """A wait ran out of time: ``wait_for_job`` before the job was terminal, or ``wait_until_ready`` before ready.

    Nothing was cancelled. ``code`` is ``wait_timeout``; ``last`` is the last job or readiness event seen.

    Example:
        >>> WaitTimeoutError("still running", last=None).code
        'wait_timeout'

    """

    def __init__(self, message: str, *, last: Any = None) -> None:
        super().__init__(message, code="wait_timeout")
        self.last = last


class WorkloadNotReadyError(InferenceKeyError):
    """``wait_until_ready`` read an ``error`` readiness event: the workload cannot become ready.

    ``message`` is the server's reason; ``phase``, ``step`` and ``elapsed_ms`` are the event's.
    ``code`` is ``workload_not_ready``.

    Example:
        >>> error = WorkloadNotReadyError("sh: 1: vllm: not found", phase="error", step=6, elapsed_ms=1900)
        >>> (error.code, error.step)
        ('workload_not_ready', 6)

    """

    def __init__(self, message: str, *, phase: str, step: int | None = None, elapsed_ms: int | None = None) -> None:
        super().__init__(message, code="workload_not_ready")
        self.phase = phase
        self.step = step
        self.elapsed_ms = elapsed_ms


def _status_line(status: int, reason: str) -> str:
    return f"HTTP {status}{f' {reason}' if reason else ''}"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else f"{flat[:200]}..."


@dataclass
class WireError:
    """An error answer read from either wire shape, before a class is chosen.

    Example:
        >>> w = parse_error_body(404, {"error": {"code": "not_found", "message": "gone", "request_id": "req_1", "details": []}})
        >>> (w.code, w.request_id)
        ('not_found', 'req_1')

    """

    code: str
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] = field(default_factory=list)
    error_type: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    """The whole error object, for fields beyond these (``next_opening_at``, ``reason``, ``next_retry_at``)."""


def parse_error_body(status: int, body: Any, *, raw_text: str = "", reason: str = "") -> WireError:
    """Read an error body defensively: a proxy in front of the API may answer anything.

    Understands the control API's ``{"error": {code, message, request_id, details}}``, the
    OpenAI-style ``{"error": {message, type, code}}`` (``code`` may be null: then ``type`` is the
    code) and vLLM's top-level ``{"object": "error", "message", "type", "code": 400}``.

    Example:
        >>> parse_error_body(401, {"error": {"message": "bad key", "type": "invalid_request_error", "code": None}}).code
        'invalid_request_error'

    """
    error: Mapping[str, Any] | None = None
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            error = inner
        elif isinstance(inner, str):
            error = {"message": inner}
        elif body.get("object") == "error" or ("message" in body and "type" in body):
            error = body
    if error is None:
        text = raw_text.strip()
        message = _status_line(status, reason) + (f": {_snippet(text)}" if text else "")
        return WireError(code="http_error", message=message)
    raw_code = error.get("code")
    raw_type = error.get("type")
    error_type = raw_type if isinstance(raw_type, str) else None
    code = raw_code if isinstance(raw_code, str) and raw_code else (error_type or "http_error")
    raw_message = error.get("message")
    message = raw_message if isinstance(raw_message, str) and raw_message else _status_line(status, reason)
    request_id = error.get("request_id")
    raw_details = error.get("details")
    details = (
        [ErrorDetail.from_wire(d) for d in raw_details if isinstance(d, Mapping)]
        if isinstance(raw_details, list)
        else []
    )
    return WireError(
        code=code,
        message=message,
        request_id=request_id if isinstance(request_id, str) else None,
        details=details,
        error_type=error_type,
        fields=dict(error),
    )


_CONFLICTS: dict[str, type[InferenceKeyError]] = {
    "drift_detected": DriftError,
    "idempotency_key_reused": IdempotencyKeyReusedError,
    "job_not_cancellable": JobNotCancellableError,
}


def error_for_status(
    status: int,
    wire: WireError,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
) -> InferenceKeyError:
    """Return the status-mapped error for an HTTP error answer: the one place a status becomes a class.

    Example:
        >>> w = WireError(code="drift_detected", message="differs")
        >>> type(error_for_status(409, w)).__name__
        'DriftError'

    """
    cls: type[InferenceKeyError]
    if status == 400:
        cls = ValidationError if wire.code == "validation_failed" else BadRequestError
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = JobNotFoundError if wire.code == "job_not_found" else NotFoundError
    elif status == 409:
        cls = _CONFLICTS.get(wire.code, ConflictError)
    elif status == 413:
        cls = PayloadTooLargeError
    elif status == 429:
        cls = RateLimitError
    elif status >= 500:
        cls = InternalServerError
    else:
        cls = InferenceKeyError
    common: dict[str, Any] = {
        "code": wire.code,
        "status": status,
        "request_id": request_id or wire.request_id,
        "details": wire.details,
        "retry_after": retry_after,
        "error_type": wire.error_type,
        "body": body,
    }
    if status == 503 and wire.code == "workload_scaling_up":
        return WorkloadScalingUpError(wire.message, **common)
    if status == 503 and wire.code == "workload_outside_window":
        return WorkloadOutsideWindowError(wire.message, next_opening_at=_text(wire.fields.get("next_opening_at")), **common)
    if status == 503 and wire.code == "workload_failed":
        return WorkloadFailedError(
            wire.message,
            reason=_text(wire.fields.get("reason")),
            next_retry_at=_text(wire.fields.get("next_retry_at")),
            **common,
        )
    return cls(wire.message, **common)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
