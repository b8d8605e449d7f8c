"""The HTTP transport shared by every client: auth, JSON, timeouts, retries, error mapping.

It knows no routes. The sync and async transports share every decision (what to send, whether and
how long to wait, which error to raise); only the loop that awaits differs.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from ._retry import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_POLICY,
    DEFAULT_TIMEOUT,
    MIN_SCALE_UP_POLL,
    RetryPolicy,
    is_scaling_up,
    may_retry,
    parse_retry_after,
    parse_retry_after_ms,
    retry_delay,
)
from ._version import USER_AGENT
from .errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    InferenceKeyError,
    error_for_status,
    parse_error_body,
)

T = TypeVar("T")


def path_of(template: str, *segments: str) -> str:
    """Fill ``{}`` placeholders of a path with percent-encoded segments.

    Example:
        >>> path_of("/v1/projects/{}/workloads/{}", "acme", "a/b")
        '/v1/projects/acme/workloads/a%2Fb'

    """
    return template.format(*(quote(str(s), safe="") for s in segments))


def normalise_base_url(base_url: str, source: str = "base_url") -> str:
    """Return the base URL without trailing slashes, or raise a :class:`ConfigurationError` naming ``source``.

    Example:
        >>> normalise_base_url("http://127.0.0.1:8787/")
        'http://127.0.0.1:8787'

    """
    parts = urlsplit(base_url.strip()) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{source} must be an http(s) URL such as https://api.inferencekey.com; got {base_url!r}."
        )
    return base_url.strip().rstrip("/")


def check_count(name: str, value: int) -> int:
    """Return ``value`` if it is a whole number >= 0, else raise :class:`ConfigurationError`.

    Example:
        >>> check_count("max_retries", 2)
        2

    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a whole number >= 0, got {value!r}.")
    return value


def check_timeout(value: float) -> float:
    """Return ``value`` if it is a positive number of seconds, else raise :class:`ConfigurationError`.

    Example:
        >>> check_timeout(30)
        30.0

    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {value!r}.")
    return float(value)


def expect_object(data: Any, source: str) -> Mapping[str, Any]:
    """Return ``data`` if it is a JSON object, else raise ``InferenceKeyError`` naming ``source``."""
    if not isinstance(data, Mapping):
        raise InferenceKeyError(
            f"expected a JSON object from {source}, got {type(data).__name__}", code="invalid_response"
        )
    return data


@dataclass(frozen=True)
class Request:
    """One HTTP call as a resource describes it."""

    method: str
    path: str
    query: Mapping[str, str | int | None] | None = None
    body: Any = None
    has_body: bool = False
    token: str | None = None
    idempotency_key: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stream: bool = False
    headers: Mapping[str, str] | None = None
    scale_up_budget: float | None = None
    """Data plane: seconds (from the call's start) for which ``workload_scaling_up`` answers are polled."""


@dataclass(frozen=True)
class Operation(Generic[T]):
    """A request plus how to read its JSON answer: what the sync and async clients share."""

    request: Request
    parse: Callable[[Any], T]


@dataclass
class TransportOptions:
    """Settings common to both transports."""

    base_url: str
    token: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    retry_policy: RetryPolicy = field(default_factory=lambda: DEFAULT_RETRY_POLICY)
    default_headers: Mapping[str, str] = field(default_factory=dict)


class _Base:
    def __init__(self, options: TransportOptions, random_source: Callable[[], float] | None) -> None:
        self.base_url = normalise_base_url(options.base_url)
        self.token = options.token
        self.max_retries = check_count("max_retries", options.max_retries)
        self.timeout = check_timeout(options.timeout)
        self.policy = options.retry_policy
        self.default_headers = dict(options.default_headers)
        self.random = random_source or random.random
        self.clock: Callable[[], float] = time.monotonic
        """Seconds of a monotonic clock: what the waits of jobs and readiness measure (a test seam)."""

    def _retries_for(self, request: Request) -> int:
        return check_count("max_retries", self.max_retries if request.max_retries is None else request.max_retries)

    def _timeout_for(self, request: Request) -> float:
        return check_timeout(self.timeout if request.timeout is None else request.timeout)

    def _url(self, request: Request) -> str:
        return f"{self.base_url}{request.path}"

    def _headers(self, request: Request) -> dict[str, str]:
        headers = {
            "accept": "text/event-stream" if request.stream else "application/json",
            "user-agent": USER_AGENT,
            **self.default_headers,
        }
        token = request.token or self.token
        if token:
            headers["authorization"] = f"Bearer {token}"
        if request.has_body:
            headers["content-type"] = "application/json"
        if request.idempotency_key:
            headers["idempotency-key"] = request.idempotency_key
        headers.update(request.headers or {})
        return headers

    def _build(self, client: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
        params = {k: str(v) for k, v in (request.query or {}).items() if v is not None}
        content = (
            json.dumps(request.body, ensure_ascii=False, separators=(",", ":")).encode() if request.has_body else None
        )
        return client.build_request(
            request.method,
            self._url(request),
            params=params or None,
            content=content,
            headers=self._headers(request),
            timeout=httpx.Timeout(self._timeout_for(request)),
        )

    def _failure(self, request: Request, error: Exception) -> InferenceKeyError:
        what = f"{request.method} {request.path}"
        sent = not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))
        if isinstance(error, httpx.TimeoutException):
            failure: InferenceKeyError = APITimeoutError(
                f"{what} timed out after {self._timeout_for(request):g} s.", request_sent=sent
            )
        else:
            failure = APIConnectionError(f"{what}: could not reach {self.base_url}: {error}", request_sent=sent)
        failure.__cause__ = error
        return failure

    @staticmethod
    def _error_from(response: httpx.Response) -> InferenceKeyError:
        text = response.text
        try:
            body: Any = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
        wire = parse_error_body(response.status_code, body, raw_text=text, reason=response.reason_phrase)
        return error_for_status(
            response.status_code,
            wire,
            request_id=response.headers.get("x-request-id"),
            # retry-after-ms first: it keeps the sub-second waits the gateway asks for while a replica starts.
            retry_after=_first_known(
                parse_retry_after_ms(response.headers.get("retry-after-ms")),
                parse_retry_after(response.headers.get("retry-after")),
            ),
            body=body,
        )

    @staticmethod
    def _json(request: Request, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            text = " ".join(response.text.split())[:200]
            raise InferenceKeyError(
                f"{request.method} {request.path} answered {response.status_code} with a body that is not JSON: {text}",
                code="invalid_response",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from error

    def _next_wait(
        self, request: Request, error: InferenceKeyError, retry: int, retries: int, started: float
    ) -> tuple[float | None, bool]:
        """Return the wait before the next attempt (``None``: raise) and whether it spends a retry.

        A cold workload's ``workload_scaling_up`` is polled within the call's scale-up budget, as
        often as the gateway suggests, without spending ``max_retries``.
        """
        if request.scale_up_budget is not None and is_scaling_up(error):
            wait = max(MIN_SCALE_UP_POLL, retry_delay(error, 0, self.policy, self.random()))
            if time.monotonic() - started + wait >= request.scale_up_budget:
                return None, False
            return wait, False
        if retry >= retries or not may_retry(request.method, request.idempotency_key, error):
            return None, True
        return retry_delay(error, retry, self.policy, self.random()), True


class SyncTransport(_Base):
    """Blocking transport over an ``httpx.Client``."""

    def __init__(
        self,
        options: TransportOptions,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
        random_source: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(options, random_source)
        self._owns_client = http_client is None
        self.client = http_client if http_client is not None else httpx.Client()
        self.sleep = sleep or time.sleep

    def close(self) -> None:
        """Close the underlying client if this transport created it."""
        if self._owns_client:
            self.client.close()

    def send(self, request: Request) -> httpx.Response:
        """Send with retries; return the successful response (its body unread when streaming)."""
        retries = self._retries_for(request)
        retry = 0
        started = time.monotonic()
        while True:
            try:
                response = self.client.send(self._build(self.client, request), stream=request.stream)
            except httpx.TransportError as exc:
                error = self._failure(request, exc)
            else:
                if response.is_success:
                    return response
                if request.stream:
                    response.read()
                    response.close()
                error = self._error_from(response)
            wait, spends_retry = self._next_wait(request, error, retry, retries, started)
            if wait is None:
                raise error
            self.sleep(wait)
            if spends_retry:
                retry += 1

    def call(self, operation: Operation[T]) -> T:
        """Send an operation and parse its JSON answer."""
        response = self.send(operation.request)
        return operation.parse(self._json(operation.request, response))


class AsyncTransport(_Base):
    """Asyncio transport over an ``httpx.AsyncClient``."""

    def __init__(
        self,
        options: TransportOptions,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        random_source: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(options, random_source)
        self._owns_client = http_client is None
        self.client = http_client if http_client is not None else httpx.AsyncClient()
        self.sleep = sleep or asyncio.sleep

    async def close(self) -> None:
        """Close the underlying client if this transport created it."""
        if self._owns_client:
            await self.client.aclose()

    async def send(self, request: Request) -> httpx.Response:
        """Send with retries; return the successful response (its body unread when streaming)."""
        retries = self._retries_for(request)
        retry = 0
        started = time.monotonic()
        while True:
            try:
                response = await self.client.send(self._build(self.client, request), stream=request.stream)
            except httpx.TransportError as exc:
                error = self._failure(request, exc)
            else:
                if response.is_success:
                    return response
                if request.stream:
                    await response.aread()
                    await response.aclose()
                error = self._error_from(response)
            wait, spends_retry = self._next_wait(request, error, retry, retries, started)
            if wait is None:
                raise error
            await self.sleep(wait)
            if spends_retry:
                retry += 1

    async def call(self, operation: Operation[T]) -> T:
        """Send an operation and parse its JSON answer."""
        response = await self.send(operation.request)
        return operation.parse(self._json(operation.request, response))


def _first_known(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def stream_failure(error: Exception) -> InferenceKeyError:
    """Map an ``httpx`` failure while reading a streamed body to the SDK's connection errors."""
    failure: InferenceKeyError
    if isinstance(error, httpx.TimeoutException):
        failure = APITimeoutError(f"the stream stalled: {error}")
    else:
        failure = APIConnectionError(f"the stream broke off: {error}")
    failure.__cause__ = error
    return failure
