"""When to retry, and how long to wait: pure functions shared by the sync and async transports."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from .errors import APIConnectionError, InferenceKeyError, WorkloadFailedError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

REFUSED_CODES = frozenset({"workload_scaling_up"})
"""Error codes meaning the server did nothing with the request: safe to retry whatever the method."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts; every duration is in seconds.

    The wait before retry ``n`` (0-based) is ``min(max_delay, initial_delay * 2**n)`` minus up to
    ``jitter`` of it at random, except on 429/503 with a ``Retry-After`` header, whose value is used
    (capped at ``max_retry_after``).

    Example:
        >>> from inferencekey import ManagementClient, RetryPolicy
        >>> mgmt = ManagementClient(token="ik_sdk_x", project="acme", max_retries=5,
        ...                         retry_policy=RetryPolicy(initial_delay=0.2, max_delay=4.0))

    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25


DEFAULT_RETRY_POLICY = RetryPolicy()
DEFAULT_MAX_RETRIES = 2
DEFAULT_TIMEOUT = 60.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return a ``Retry-After`` header in seconds: delta-seconds (``"2"``, ``"1.5"``) or an HTTP date.

    ``None`` when absent or unparseable; never negative.

    Example:
        >>> parse_retry_after("3")
        3.0
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412478.0)
        2.0

    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isnan(seconds):
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if at.tzinfo is None:
        return None
    return max(0.0, at.timestamp() - (time.time() if now is None else now))


def parse_retry_after_ms(value: str | None) -> float | None:
    """Return a ``retry-after-ms`` header in seconds (milliseconds on the wire, as the openai clients read it).

    ``None`` when absent or not a non-negative number.

    Example:
        >>> parse_retry_after_ms("750")
        0.75
        >>> parse_retry_after_ms("soon") is None
        True

    """
    if value is None or not _MILLISECONDS.fullmatch(value.strip()):
        return None
    return float(value.strip()) / 1000


_MILLISECONDS = re.compile(r"\d+(\.\d+)?")

MIN_SCALE_UP_POLL = 0.1
"""A scaling-up poll never comes sooner than this (seconds), whatever ``Retry-After`` says."""


def is_scaling_up(error: InferenceKeyError) -> bool:
    """Return True for the gateway's 503 ``workload_scaling_up``: the workload has no ready replica yet.

    Such answers are polled for the call's scale-up budget without counting against ``max_retries``.

    Example:
        >>> from inferencekey.errors import InternalServerError
        >>> is_scaling_up(InternalServerError("starting", code="workload_scaling_up", status=503))
        True
        >>> is_scaling_up(InternalServerError("busy", code="unavailable", status=503))
        False

    """
    return error.status == 503 and error.code == "workload_scaling_up"


def is_transient(error: InferenceKeyError) -> bool:
    """Return True for failures worth another attempt: no response, a timeout, 408, 429 or any 5xx but ``workload_failed``.

    Example:
        >>> from inferencekey.errors import RateLimitError
        >>> is_transient(RateLimitError("slow down", status=429))
        True

    """
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, WorkloadFailedError):
        # Every replica failed: another attempt cannot succeed before the platform retries the replica.
        return False
    status = error.status
    return status is not None and (status in (408, 429) or status >= 500)


def refused_before_processing(error: InferenceKeyError) -> bool:
    """Return True when the server provably did nothing: 429, the gateway's ``workload_scaling_up``, or no connection.

    Such failures are retried even for a POST without an idempotency key.

    Example:
        >>> from inferencekey.errors import InternalServerError
        >>> refused_before_processing(InternalServerError("scaling", code="workload_scaling_up", status=503))
        True
        >>> refused_before_processing(InternalServerError("boom", code="internal", status=500))
        False

    """
    if isinstance(error, APIConnectionError):
        return not error.request_sent
    return error.status == 429 or (error.status == 503 and error.code in REFUSED_CODES)


def may_retry(method: str, idempotency_key: str | None, error: InferenceKeyError) -> bool:
    """Decide whether a failed attempt may be sent again.

    Idempotent methods (GET, PUT, DELETE) and POSTs carrying an ``Idempotency-Key`` are retried on
    every transient failure; other POSTs only when the server refused before doing anything.

    Example:
        >>> from inferencekey.errors import InternalServerError
        >>> boom = InternalServerError("boom", code="internal", status=500)
        >>> may_retry("PUT", None, boom), may_retry("POST", None, boom), may_retry("POST", "k-1", boom)
        (True, False, True)

    """
    if not is_transient(error):
        return False
    if method.upper() in IDEMPOTENT_METHODS or idempotency_key:
        return True
    return refused_before_processing(error)


def backoff_delay(retry: int, policy: RetryPolicy, random: float) -> float:
    """Return the exponential backoff before retry number ``retry`` (0-based), capped, with jitter.

    ``random`` is a number in [0, 1).

    Example:
        >>> backoff_delay(0, RetryPolicy(), 0.0), backoff_delay(10, RetryPolicy(), 0.0)
        (0.5, 8.0)

    """
    capped = min(policy.max_delay, policy.initial_delay * float(2**retry))
    return capped * (1 - policy.jitter * random)


def retry_delay(error: InferenceKeyError, retry: int, policy: RetryPolicy, random: float) -> float:
    """Return the wait before retry ``retry``: ``Retry-After`` on 429/503 (capped), otherwise :func:`backoff_delay`.

    Example:
        >>> from inferencekey.errors import RateLimitError
        >>> retry_delay(RateLimitError("slow", status=429, retry_after=2.0), 0, RetryPolicy(), 0.5)
        2.0
        >>> retry_delay(RateLimitError("slow", status=429, retry_after=3600.0), 0, RetryPolicy(), 0.5)
        60.0

    """
    if error.status in (429, 503) and error.retry_after is not None:
        return min(policy.max_retry_after, error.retry_after)
    return backoff_delay(retry, policy, random)
