"""The data plane: call a workload's OpenAI-compatible endpoint with its ``ik_live_`` data key.

Each workload answers at ``{base}/endpoint/{project}/{workload}/v1`` (``chat/completions``,
``completions``, ``embeddings``, ...). ``DataClient.endpoint()`` gives typed helpers for chat and
embeddings; for any other route, point an OpenAI client at :attr:`Endpoint.base_url`.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._env import DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_PROJECT, read_environment
from ._retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUT, RetryPolicy, backoff_delay
from ._sse import ServerSentEvent, SSEDecoder
from ._transport import (
    AsyncTransport,
    Operation,
    Request,
    SyncTransport,
    TransportOptions,
    expect_object,
    normalise_base_url,
    path_of,
    stream_failure,
)
from .errors import (
    ConfigurationError,
    InferenceKeyError,
    JobFailedError,
    WaitTimeoutError,
    error_for_status,
    parse_error_body,
)
from .jobs import ClassificationResult, Job, Rerank, RerankResult, RewardResult, job_page, texts
from .models import ChatCompletion, ChatMessage, Embeddings, Page, TextGeneration, Usage

R = TypeVar("R")

DEFAULT_JOB_WAIT = 600.0
"""Seconds ``wait_for_job`` and the helpers that submit and wait allow by default (10 minutes)."""

MAX_LONG_POLL = 20
"""The server's cap on ``?wait=`` (seconds)."""

_LONG_POLL_MARGIN = 10.0
_POLL_BACKOFF = RetryPolicy(initial_delay=0.5, max_delay=5.0, max_retry_after=5.0, jitter=0.25)
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")

Message = Mapping[str, Any] | ChatMessage
"""A chat message: ``{"role": "user", "content": "..."}`` or a :class:`ChatMessage`."""


def _messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    given: object = messages
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        raise TypeError('messages must be a list such as [{"role": "user", "content": "Hi"}]')
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, ChatMessage):
            out.append(message.to_wire())
        elif isinstance(message, Mapping):
            out.append(dict(message))
        else:
            raise TypeError(f"each message must be a dict with role and content, got {type(message).__name__}")
    return out


def _chat_body(
    messages: list[dict[str, Any]],
    *,
    model: str | None,
    temperature: float | None,
    max_tokens: int | None,
    top_p: float | None,
    stop: str | Sequence[str] | None,
    extra_body: Mapping[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": messages}
    if model is not None:
        body["model"] = model
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if top_p is not None:
        body["top_p"] = top_p
    if stop is not None:
        body["stop"] = stop if isinstance(stop, str) else list(stop)
    body.update(extra_body or {})
    return body


def _object(data: Any) -> Mapping[str, Any]:
    return expect_object(data, "the endpoint")


class _StreamState:
    """What a stream has told so far; shared by :class:`TextStream` and :class:`AsyncTextStream`."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.model: str = ""
        self.id: str = ""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.done = False

    @property
    def text(self) -> str:
        """All text received so far."""
        return "".join(self._parts)

    def _consume(self, event: ServerSentEvent) -> str | None:
        if event.data.strip() == "[DONE]":
            self.done = True
            return None
        try:
            chunk = json.loads(event.data)
        except ValueError as error:
            raise InferenceKeyError(
                f"the stream sent an event that is not JSON: {event.data[:200]}", code="invalid_response"
            ) from error
        if not isinstance(chunk, Mapping):
            return None
        if "error" in chunk:
            inner = chunk["error"]
            code = inner.get("code") if isinstance(inner, Mapping) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            raise error_for_status(status, parse_error_body(status, chunk), body=chunk)
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("id"), str):
            self.id = chunk["id"]
        usage = Usage.from_wire(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            return None
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        piece = delta.get("content") if isinstance(delta, Mapping) else choice.get("text")
        if isinstance(piece, str) and piece:
            self._parts.append(piece)
            return piece
        return None

    def _result(self) -> TextGeneration:
        return TextGeneration(
            text=self.text, model=self.model, usage=self.usage, finish_reason=self.finish_reason, id=self.id
        )


class TextStream(_StreamState):
    """Text deltas of a streamed completion, as they arrive (Server-Sent Events).

    Iterate it for the deltas; afterwards ``text``, ``model``, ``finish_reason`` and ``usage`` hold
    the totals. Use it as a context manager (or call ``close()``) to stop early.

    Example:
        with ep.stream_text(prompt="Tell me a story", max_tokens=200) as stream:
            for delta in stream:
                print(delta, end="", flush=True)
        print(stream.finish_reason, stream.usage)

    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self._response = response
        self._iterator = self._deltas()

    def _deltas(self) -> Generator[str, None, None]:
        decoder = SSEDecoder()
        try:
            for line in self._response.iter_lines():
                event = decoder.feed(line)
                if event is not None:
                    piece = self._consume(event)
                    if piece is not None:
                        yield piece
                    if self.done:
                        return
            tail = decoder.flush()
            if tail is not None:
                piece = self._consume(tail)
                if piece is not None:
                    yield piece
        except httpx.TransportError as error:
            raise stream_failure(error) from error
        finally:
            self._response.close()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._iterator)

    def collect(self) -> TextGeneration:
        """Read the rest of the stream and return the whole answer.

        Example:
            out = ep.stream_text(prompt="Hi").collect()
            print(out.text)

        """
        for _ in self:
            pass
        return self._result()

    def close(self) -> None:
        """Stop reading and release the connection.

        Example:
            stream = ep.stream_text(prompt="Hi"); first = next(stream); stream.close()

        """
        self._iterator.close()
        self._response.close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncTextStream(_StreamState):
    """Async twin of :class:`TextStream`: ``async for delta in stream``.

    Example:
        async with await aep.stream_text(prompt="Hi") as stream:
            async for delta in stream:
                print(delta, end="")

    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self._response = response
        self._iterator = self._deltas()

    async def _deltas(self) -> AsyncGenerator[str, None]:
        decoder = SSEDecoder()
        try:
            async for line in self._response.aiter_lines():
                event = decoder.feed(line)
                if event is not None:
                    piece = self._consume(event)
                    if piece is not None:
                        yield piece
                    if self.done:
                        return
            tail = decoder.flush()
            if tail is not None:
                piece = self._consume(tail)
                if piece is not None:
                    yield piece
        except httpx.TransportError as error:
            raise stream_failure(error) from error
        finally:
            await self._response.aclose()

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        return await self._iterator.__anext__()

    async def collect(self) -> TextGeneration:
        """Read the rest of the stream and return the whole answer.

        Example:
            out = await (await aep.stream_text(prompt="Hi")).collect()

        """
        async for _ in self:
            pass
        return self._result()

    async def close(self) -> None:
        """Stop reading and release the connection.

        Example:
            await stream.close()

        """
        await self._iterator.aclose()
        await self._response.aclose()

    async def __aenter__(self) -> AsyncTextStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _scale_up_header(value: float | None, timeout: float) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ConfigurationError(f"scale_up_timeout must be a number of seconds >= 0, got {value!r}.")
    seconds = round(float(value), 3)
    if seconds >= timeout:
        raise ConfigurationError(
            f"scale_up_timeout ({seconds:g} s) must be below the call's timeout ({timeout:g} s), or the call would "
            "time out while the gateway waits for a replica: raise timeout."
        )
    return {"x-scale-up-timeout": f"{seconds:.3f}".rstrip("0").rstrip(".")}


@dataclass(frozen=True)
class _Call:
    timeout: float | None
    max_retries: int | None
    scale_up_timeout: float | None


class _EndpointBase:
    def __init__(
        self, base_url: str, project: str, slug: str, api_key: str, scale_up_timeout: float | None, timeout: float
    ) -> None:
        if not isinstance(slug, str) or not slug.strip():
            raise ConfigurationError(
                'endpoint() needs the workload slug, e.g. data.endpoint("support-bot", api_key=...)'
            )
        key = api_key.strip() if isinstance(api_key, str) else ""
        if not key:
            raise ConfigurationError(
                "endpoint() needs the workload's ik_live_ data key: api_key=..., or a client default "
                f"(DataClient(api_key=...), or {ENV_API_KEY} read by DataClient.from_env); create one with mgmt.keys.create."
            )
        if key.startswith("ik_sdk_"):
            raise ConfigurationError(
                "endpoint() was given an ik_sdk_ control token; endpoints take a per-workload ik_live_ data key "
                "(create one with mgmt.keys.create)."
            )
        _scale_up_header(scale_up_timeout, timeout)
        self.project = project
        self.slug = slug
        self.scale_up_timeout = scale_up_timeout
        """Default seconds the gateway may hold a call while a replica starts (``X-Scale-Up-Timeout``)."""
        self._timeout = timeout
        self._api_key = key
        self._prefix = path_of("/endpoint/{}/{}/v1/", project, slug)
        self.base_url = f"{base_url}{self._prefix.rstrip('/')}"
        """The OpenAI-compatible base URL of this workload: ``{base}/endpoint/{project}/{slug}/v1``."""

    def _request(self, route: str, body: Mapping[str, Any], call: _Call, *, stream: bool = False) -> Request:
        timeout = self._timeout if call.timeout is None else call.timeout
        scale_up = self.scale_up_timeout if call.scale_up_timeout is None else call.scale_up_timeout
        return Request(
            "POST",
            f"{self._prefix}{route}",
            body=dict(body),
            has_body=True,
            token=self._api_key,
            timeout=call.timeout,
            max_retries=call.max_retries,
            stream=stream,
            headers=_scale_up_header(scale_up, timeout),
            # A cold workload is polled for scale_up_timeout when given, else for the call's timeout.
            scale_up_budget=timeout if scale_up is None else scale_up,
        )

    def _text_op(self, body: Mapping[str, Any], call: _Call) -> Operation[TextGeneration]:
        return Operation(
            self._request("chat/completions", body, call), lambda data: TextGeneration.from_wire(_object(data))
        )

    def _chat_op(self, body: Mapping[str, Any], call: _Call) -> Operation[ChatCompletion]:
        return Operation(
            self._request("chat/completions", body, call), lambda data: ChatCompletion.from_wire(_object(data))
        )

    def _embed_op(
        self,
        input: str | Sequence[str],
        model: str | None,
        dimensions: int | None,
        extra_body: Mapping[str, Any] | None,
        call: _Call,
    ) -> Operation[Embeddings]:
        given: object = input
        if not isinstance(given, str) and not isinstance(given, Sequence):
            raise TypeError('input must be a str or a list of str, e.g. input=["invoice #42", "refund policy"]')
        body: dict[str, Any] = {"input": input if isinstance(input, str) else list(input)}
        if model is not None:
            body["model"] = model
        if dimensions is not None:
            body["dimensions"] = dimensions
        body.update(extra_body or {})
        return Operation(self._request("embeddings", body, call), lambda data: Embeddings.from_wire(_object(data)))

    def _rerank_op(
        self,
        query: str,
        documents: Sequence[str],
        top_n: int | None,
        model: str | None,
        extra_body: Mapping[str, Any] | None,
        call: _Call,
    ) -> Operation[Rerank]:
        body = _rerank_input(query, documents, top_n)
        if model is not None:
            body["model"] = model
        body.update(extra_body or {})
        return Operation(self._request("rerank", body, call), Rerank.from_wire)

    def _job_request(
        self,
        method: str,
        route: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str | int | None] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Request:
        return Request(
            method,
            f"{self._prefix}{route}",
            query=query,
            body=dict(body) if body is not None else None,
            has_body=body is not None,
            token=self._api_key,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
        )

    def _submit_op(
        self,
        input: Mapping[str, Any],
        idempotency_key: str | None,
        webhook: str | Mapping[str, Any] | None,
        max_queue_seconds: int | None,
        timeout: float | None,
        max_retries: int | None,
    ) -> Operation[Job]:
        if not isinstance(input, Mapping):
            raise TypeError(
                'submit_job() takes the task\'s input as a dict, e.g. {"input": ["great product"]} for classification; '
                f"got {type(input).__name__}"
            )
        key = str(uuid.uuid4()) if idempotency_key is None else idempotency_key
        if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
            raise ValueError(f"idempotency_key must be 1 to 255 printable ASCII characters, got {key!r}")
        body = dict(input)
        if webhook is not None:
            body["webhook"] = {"url": webhook} if isinstance(webhook, str) else {"url": webhook["url"]}
        if max_queue_seconds is not None:
            body["max_queue_seconds"] = max_queue_seconds
        request = self._job_request(
            "POST", "jobs", body=body, idempotency_key=key, timeout=timeout, max_retries=max_retries
        )
        return Operation(request, Job.from_wire)

    def _get_op(self, job_id: str, wait: int | None, timeout: float | None, max_retries: int | None) -> Operation[Job]:
        _check_job_id(job_id)
        if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int) or not 1 <= wait <= MAX_LONG_POLL):
            raise ConfigurationError(f"wait must be a whole number of seconds from 1 to {MAX_LONG_POLL}, got {wait!r}.")
        # A held request needs more time than the wait itself, whatever the client's timeout.
        floor = 0.0 if wait is None else wait + _LONG_POLL_MARGIN
        request = self._job_request(
            "GET",
            path_of("jobs/{}", job_id),
            query={"wait": wait},
            timeout=max(self._timeout if timeout is None else timeout, floor),
            max_retries=max_retries,
        )
        return Operation(request, Job.from_wire)

    def _cancel_op(self, job_id: str, timeout: float | None, max_retries: int | None) -> Operation[Job]:
        _check_job_id(job_id)
        request = self._job_request("DELETE", path_of("jobs/{}", job_id), timeout=timeout, max_retries=max_retries)
        return Operation(request, Job.from_wire)

    def _list_op(
        self, status: str | None, limit: int | None, cursor: str | None, timeout: float | None, max_retries: int | None
    ) -> Operation[Page[Job]]:
        request = self._job_request(
            "GET",
            "jobs",
            query={"status": status, "limit": limit, "cursor": cursor},
            timeout=timeout,
            max_retries=max_retries,
        )
        return Operation(request, job_page)

    def _stream_request(self, body: dict[str, Any], include_usage: bool, call: _Call) -> Request:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        return self._request("chat/completions", body, call, stream=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def _check_job_id(job_id: Any) -> None:
    if not isinstance(job_id, str) or not job_id.strip():
        raise TypeError(f'job_id must be the id submit_job() returned, e.g. "job_..."; got {job_id!r}')


def _rerank_input(query: Any, documents: Any, top_n: Any) -> dict[str, Any]:
    if not isinstance(query, str):
        raise TypeError(f'query must be a str, e.g. query="refund policy"; got {type(query).__name__}')
    docs = texts(documents, "documents")
    if isinstance(docs, str):
        raise TypeError('documents must be a list of str, e.g. documents=["Refunds within 30 days."]')
    body: dict[str, Any] = {"query": query, "documents": docs}
    if top_n is not None:
        if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
            raise ValueError(f"top_n must be a whole number >= 1, got {top_n!r}")
        body["top_n"] = top_n
    return body


def _reward_input(input: Any, messages: Any) -> dict[str, Any]:
    if (input is None) == (messages is None):
        raise TypeError('reward() takes either input="..." (or a list) or messages=[{"role": ..., "content": ...}]')
    if messages is not None:
        return {"messages": _messages(messages)}
    return {"input": texts(input)}


class _JobWait:
    """The schedule of one wait for a job: each poll's ``?wait=``, the backoff after an early answer, the deadline.

    Shared by the sync and async endpoints so both poll alike.
    """

    def __init__(
        self, job_id: str, timeout: float, long_poll: int, clock: Callable[[], float], rand: Callable[[], float]
    ) -> None:
        _check_job_id(job_id)
        if isinstance(long_poll, bool) or not isinstance(long_poll, int) or not 1 <= long_poll <= MAX_LONG_POLL:
            raise ConfigurationError(
                f"long_poll must be a whole number of seconds from 1 to {MAX_LONG_POLL}, got {long_poll!r}."
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}.")
        self.job_id = job_id
        self.timeout = float(timeout)
        self.long_poll = long_poll
        self.clock = clock
        self.rand = rand
        self.deadline = clock() + self.timeout
        self.early = 0
        self.started = 0.0
        self.wait: int | None = None

    def next_poll(self) -> int | None:
        """Return the ``?wait=`` of the next poll (``None``: less than a second is left, a plain read)."""
        remaining = math.floor(self.deadline - self.clock())
        self.wait = min(self.long_poll, remaining) if remaining >= 1 else None
        self.started = self.clock()
        return self.wait

    def after(self, job: Job) -> float | None:
        """Return the pause before the next poll (``None``: poll at once), or raise when time is up."""
        now = self.clock()
        if now >= self.deadline:
            raise WaitTimeoutError(
                f"job {self.job_id} was still {job.status} after {self.timeout:g} s; it keeps running "
                "(wait_for_job again, or cancel_job).",
                last=job,
            )
        # A poll the server held for its whole wait may follow at once; one that came back early may not.
        if self.wait is not None and now - self.started >= self.wait - 1:
            self.early = 0
            return None
        delay = min(backoff_delay(self.early, _POLL_BACKOFF, self.rand()), self.deadline - now)
        self.early += 1
        return delay


def _job_result(job: Job, read: Callable[[Any], R]) -> R:
    """Return the succeeded job's result read by ``read``, or raise :class:`JobFailedError`."""
    result = job.raw.get("result")
    if job.status != "succeeded" or result is None:
        expired = ": no replica was ready within its max_queue_seconds" if job.status == "expired" else ""
        raise JobFailedError(
            (job.error.message if job.error and job.error.message else f"job {job.id} ended {job.status}{expired}."),
            code=job.error.code if job.error and job.error.code else f"job_{job.status}",
            job=job,
        )
    return read(result)


class Endpoint(_EndpointBase):
    """One workload's OpenAI-compatible endpoint, called with its ``ik_live_`` data key.

    ``generate_text`` and ``stream_text`` send the prompt to ``chat/completions`` as a single user
    message: every chat model serves that route with its chat template applied, while the legacy
    ``completions`` route would feed the raw prompt without it. ``model`` may be omitted: the
    endpoint serves one model. Data-plane calls are POSTs, so they are retried only when the
    server did nothing with them: 429 (honouring ``Retry-After``) and failures to connect, up to
    ``max_retries``. A cold workload's 503 ``workload_scaling_up`` is polled instead, after each
    answer's ``retry-after-ms``/``Retry-After`` (at most 2 s under ``npm start``), until a replica
    answers or ``scale_up_timeout`` (default: the call's ``timeout``) runs out; these polls do not
    count against ``max_retries``.

    ``scale_up_timeout`` (seconds, on the endpoint or per call) also asks the gateway to hold a
    call while a replica of a scaled-to-zero workload starts (``X-Scale-Up-Timeout``) instead of
    answering ``workload_scaling_up`` at once; it must be below the call's ``timeout``.

    Example:
        >>> from inferencekey import DataClient
        >>> data = DataClient.from_env(project="acme")  # doctest: +SKIP
        >>> ep = data.endpoint("support-bot", api_key="ik_live_...")  # doctest: +SKIP
        >>> out = ep.generate_text(prompt="Hola, ¿cuál es mi saldo?", temperature=0.2, max_tokens=300)  # doctest: +SKIP
        >>> print(out.text, out.model)  # doctest: +SKIP

    """

    def __init__(
        self, transport: SyncTransport, project: str, slug: str, api_key: str, scale_up_timeout: float | None = None
    ) -> None:
        super().__init__(transport.base_url, project, slug, api_key, scale_up_timeout, transport.timeout)
        self._http = transport
        self.jobs = EndpointJobs(self)
        """Helpers that submit one job and wait for it: ``rerank``, ``classify``, ``reward``."""

    def generate_text(
        self,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> TextGeneration:
        """Generate text for ``prompt`` (sent to ``chat/completions`` as one user message).

        ``extra_body`` adds backend-specific fields (e.g. vLLM's ``top_k``).

        Example:
            out = ep.generate_text(prompt="Summarise: ...", temperature=0.2, max_tokens=300)
            print(out.text, out.usage.total_tokens if out.usage else "?")

        """
        body = _chat_body(
            [{"role": "user", "content": prompt}],
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        return self._http.call(self._text_op(body, _Call(timeout, max_retries, scale_up_timeout)))

    def stream_text(
        self,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> TextStream:
        """Stream the answer to ``prompt`` as text deltas (``stream=true``, Server-Sent Events).

        ``include_usage`` asks for the final token counts (``stream_options.include_usage``).

        Example:
            for delta in ep.stream_text(prompt="Write a haiku", max_tokens=60):
                print(delta, end="", flush=True)

        """
        body = _chat_body(
            [{"role": "user", "content": prompt}],
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        request = self._stream_request(body, include_usage, _Call(timeout, max_retries, scale_up_timeout))
        return TextStream(self._http.send(request))

    def chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> ChatCompletion:
        """Answer a conversation (``chat/completions``).

        Example:
            reply = ep.chat(messages=[
                {"role": "system", "content": "You are a concise banking assistant."},
                {"role": "user", "content": "What is my balance?"},
            ], max_tokens=200)
            print(reply.text)

        """
        body = _chat_body(
            _messages(messages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        return self._http.call(self._chat_op(body, _Call(timeout, max_retries, scale_up_timeout)))

    def stream_chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> TextStream:
        """Stream the answer to a conversation as text deltas.

        Example:
            with ep.stream_chat(messages=[{"role": "user", "content": "Hi"}]) as stream:
                text = "".join(stream)

        """
        body = _chat_body(
            _messages(messages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        request = self._stream_request(body, include_usage, _Call(timeout, max_retries, scale_up_timeout))
        return TextStream(self._http.send(request))

    def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> Embeddings:
        """Embed one text or a list of texts (``embeddings``); one vector per input, in order.

        Example:
            emb = data.endpoint("billing", api_key="ik_live_...").embed(input=["invoice #42", "refund policy"])
            print(len(emb.embeddings), "vectors", emb.model)

        """
        return self._http.call(
            self._embed_op(input, model, dimensions, extra_body, _Call(timeout, max_retries, scale_up_timeout))
        )

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> Rerank:
        """Rerank ``documents`` against ``query`` synchronously (``POST .../v1/rerank``, reranker workloads).

        ``results`` come back sorted by ``relevance_score``, highest first, each with the document's
        ``index`` in your list. Retried like the other data-plane calls.

        Example:
            docs = ["Refunds within 30 days.", "Shipping is free.", "Returns need a receipt."]
            out = ep.rerank(query="how do refunds work?", documents=docs, top_n=2)
            for r in out.results:
                print(round(r.relevance_score, 3), docs[r.index])

        """
        return self._http.call(
            self._rerank_op(query, documents, top_n, model, extra_body, _Call(timeout, max_retries, scale_up_timeout))
        )

    def submit_job(
        self,
        input: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Job:
        """Submit an async job (``POST .../v1/jobs``) and return it, usually ``queued``.

        ``input`` is the task's body as the backend's native route takes it, without ``model``:
        reranker ``{"query", "documents", "top_n"?}``, classification ``{"input"}``, reward
        ``{"input"}`` or ``{"messages"}``. ``webhook`` (an ``https://`` URL) is called when the job
        ends; ``max_queue_seconds`` bounds its wait for a replica. An ``Idempotency-Key`` is always
        sent (``idempotency_key``, or one generated for this call), so the submit is retried on any
        transient failure without ever creating a second job.

        Example:
            job = ep.submit_job({"query": "refund policy", "documents": ["Refunds within 30 days.", "Shipping is free."]},
                                webhook="https://example.com/hooks/inferencekey")
            print(job.id, job.status)  # job_... queued

        """
        return self._http.call(
            self._submit_op(input, idempotency_key, webhook, max_queue_seconds, timeout, max_retries)
        )

    def get_job(
        self, job_id: str, *, wait: int | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> Job:
        """Read a job; with ``wait`` (1-20 s) the server holds the request until it is terminal or the wait ends.

        Raises :class:`JobNotFoundError` for an unknown (or expired and dropped) id.

        Example:
            job = ep.get_job("job_123")
            print(job.status, [h.status for h in job.history])

        """
        return self._http.call(self._get_op(job_id, wait, timeout, max_retries))

    def wait_for_job(
        self,
        job: str | Job,
        *,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> Job:
        """Wait until a job is terminal and return it, whatever the outcome.

        Long-polls (``?wait=``, up to ``long_poll`` = 20 s per request, so a finished job is seen at
        once); a poll that comes back early is followed by a backoff (0.5 s doubling to 5 s).
        ``timeout`` bounds the whole wait (default 600 s); then :class:`WaitTimeoutError` is raised
        with the last job in ``last``. The job itself keeps going.

        Example:
            job = ep.wait_for_job(ep.submit_job({"input": "great product"}), timeout=120)
            if job.status == "succeeded":
                print(job.result)
            else:
                print(job.status, job.error)

        """
        if isinstance(job, Job) and job.terminal:
            return job
        plan = _JobWait(
            job.id if isinstance(job, Job) else job, timeout, long_poll, self._http.clock, self._http.random
        )
        while True:
            current = self.get_job(plan.job_id, wait=plan.next_poll(), max_retries=max_retries)
            if current.terminal:
                return current
            pause = plan.after(current)
            if pause is not None:
                self._http.sleep(pause)

    def cancel_job(self, job_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Job:
        """Cancel a job still ``queued`` or ``waiting`` and return it (``cancelled``).

        A running or finished job raises :class:`JobNotCancellableError`.

        Example:
            print(ep.cancel_job("job_123").status)  # cancelled

        """
        return self._http.call(self._cancel_op(job_id, timeout, max_retries))

    def list_jobs_page(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Job]:
        """Read one page of the workload's jobs, newest first, optionally only those in ``status``.

        Pass ``next_cursor`` back as ``cursor``, or iterate :meth:`list_jobs`.

        Example:
            page = ep.list_jobs_page(status="failed", limit=20)
            print([j.id for j in page], page.next_cursor)

        """
        return self._http.call(self._list_op(status, limit, cursor, timeout, max_retries))

    def list_jobs(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[Job]:
        """Iterate every job of the workload (optionally of one ``status``), fetching pages lazily.

        Example:
            for job in ep.list_jobs(status="succeeded"):
                print(job.id, job.finished_at)

        """
        cursor: str | None = None
        while True:
            page = self.list_jobs_page(
                status=status, limit=limit, cursor=cursor, timeout=timeout, max_retries=max_retries
            )
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def classify(
        self,
        input: str | Sequence[str],
        *,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> ClassificationResult:
        """Classify one text or a list: submit a classification job and wait for it (no synchronous route exists).

        Entries come back in input order. Raises :class:`JobFailedError` when the job fails, is
        cancelled or expires, :class:`WaitTimeoutError` after ``timeout`` (default 600 s, submit and wait).

        Example:
            out = ep.classify(["great product", "never again"])
            for c in out.data:
                print(c.index, c.label, c.probs)

        """
        return self.jobs.classify(
            input,
            idempotency_key=idempotency_key,
            webhook=webhook,
            max_queue_seconds=max_queue_seconds,
            timeout=timeout,
            long_poll=long_poll,
            max_retries=max_retries,
        )

    def reward(
        self,
        input: str | Sequence[str] | None = None,
        *,
        messages: Sequence[Message] | None = None,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> RewardResult:
        """Score texts (``input``) or a conversation (``messages``) with a reward model, through a job.

        ``reward`` of each entry is a number (sequence reward) or a list (per-token rewards). Raises
        like :meth:`classify`.

        Example:
            out = ep.reward(messages=[{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}])
            print(out.data[0].reward)

        """
        return self.jobs.reward(
            input,
            messages=messages,
            idempotency_key=idempotency_key,
            webhook=webhook,
            max_queue_seconds=max_queue_seconds,
            timeout=timeout,
            long_poll=long_poll,
            max_retries=max_retries,
        )

    def _run(
        self,
        input: Mapping[str, Any],
        read: Callable[[Any], R],
        idempotency_key: str | None,
        webhook: str | Mapping[str, Any] | None,
        max_queue_seconds: int | None,
        timeout: float,
        long_poll: int,
        max_retries: int | None,
    ) -> R:
        """Submit ``input``, wait within one deadline, and return the succeeded job's result."""
        started = self._http.clock()
        submitted = self.submit_job(
            input,
            idempotency_key=idempotency_key,
            webhook=webhook,
            max_queue_seconds=max_queue_seconds,
            timeout=min(self._timeout, timeout) if timeout > 0 else None,
            max_retries=max_retries,
        )
        left = max(0.001, timeout - (self._http.clock() - started))
        return _job_result(
            self.wait_for_job(submitted, timeout=left, long_poll=long_poll, max_retries=max_retries), read
        )


class EndpointJobs:
    """``endpoint.jobs``: helpers that submit one job and wait for its typed result.

    ``rerank()`` is the job-based twin of the synchronous :meth:`Endpoint.rerank`; ``classify()``
    and ``reward()`` are the same as the endpoint's.

    Example:
        docs = ["Refunds within 30 days.", "Shipping is free."]
        ranked = ep.jobs.rerank("how do refunds work?", docs)
        print(docs[ranked.results[0].index])

    """

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> RerankResult:
        """Rerank ``documents`` against ``query`` through a reranker job; results sorted by score, highest first.

        Example:
            ranked = ep.jobs.rerank("refund policy", docs, top_n=3, timeout=300)

        """
        body = _rerank_input(query, documents, top_n)
        return self._endpoint._run(
            body, RerankResult.from_wire, idempotency_key, webhook, max_queue_seconds, timeout, long_poll, max_retries
        )

    def classify(
        self,
        input: str | Sequence[str],
        *,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> ClassificationResult:
        """Classify one text or a list through a classification job; see :meth:`Endpoint.classify`.

        Example:
            out = ep.jobs.classify("great product")

        """
        return self._endpoint._run(
            {"input": texts(input)},
            ClassificationResult.from_wire,
            idempotency_key,
            webhook,
            max_queue_seconds,
            timeout,
            long_poll,
            max_retries,
        )

    def reward(
        self,
        input: str | Sequence[str] | None = None,
        *,
        messages: Sequence[Message] | None = None,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> RewardResult:
        """Score texts or a conversation through a reward job; see :meth:`Endpoint.reward`.

        Example:
            out = ep.jobs.reward(["The answer is 4.", "The answer is 5."])

        """
        return self._endpoint._run(
            _reward_input(input, messages),
            RewardResult.from_wire,
            idempotency_key,
            webhook,
            max_queue_seconds,
            timeout,
            long_poll,
            max_retries,
        )


class AsyncEndpoint(_EndpointBase):
    """Async twin of :class:`Endpoint`.

    Example:
        aep = AsyncDataClient.from_env(project="acme").endpoint("support-bot", api_key="ik_live_...")
        out = await aep.generate_text(prompt="Hola", max_tokens=50)

    """

    def __init__(
        self, transport: AsyncTransport, project: str, slug: str, api_key: str, scale_up_timeout: float | None = None
    ) -> None:
        super().__init__(transport.base_url, project, slug, api_key, scale_up_timeout, transport.timeout)
        self._http = transport
        self.jobs = AsyncEndpointJobs(self)
        """Helpers that submit one job and wait for it: ``rerank``, ``classify``, ``reward``."""

    async def generate_text(
        self,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> TextGeneration:
        """Generate text; see :meth:`Endpoint.generate_text`.

        Example:
            out = await aep.generate_text(prompt="Hola", temperature=0.2, max_tokens=300)

        """
        body = _chat_body(
            [{"role": "user", "content": prompt}],
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        return await self._http.call(self._text_op(body, _Call(timeout, max_retries, scale_up_timeout)))

    async def stream_text(
        self,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> AsyncTextStream:
        """Stream text deltas; see :meth:`Endpoint.stream_text`.

        Example:
            stream = await aep.stream_text(prompt="Write a haiku")
            async for delta in stream:
                print(delta, end="")

        """
        body = _chat_body(
            [{"role": "user", "content": prompt}],
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        request = self._stream_request(body, include_usage, _Call(timeout, max_retries, scale_up_timeout))
        return AsyncTextStream(await self._http.send(request))

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> ChatCompletion:
        """Answer a conversation; see :meth:`Endpoint.chat`.

        Example:
            reply = await aep.chat(messages=[{"role": "user", "content": "Hi"}])

        """
        body = _chat_body(
            _messages(messages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        return await self._http.call(self._chat_op(body, _Call(timeout, max_retries, scale_up_timeout)))

    async def stream_chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        model: str | None = None,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> AsyncTextStream:
        """Stream a conversation's answer; see :meth:`Endpoint.stream_chat`.

        Example:
            stream = await aep.stream_chat(messages=[{"role": "user", "content": "Hi"}])

        """
        body = _chat_body(
            _messages(messages),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            extra_body=extra_body,
        )
        request = self._stream_request(body, include_usage, _Call(timeout, max_retries, scale_up_timeout))
        return AsyncTextStream(await self._http.send(request))

    async def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> Embeddings:
        """Embed texts; see :meth:`Endpoint.embed`.

        Example:
            emb = await aep.embed(input=["invoice #42", "refund policy"])

        """
        return await self._http.call(
            self._embed_op(input, model, dimensions, extra_body, _Call(timeout, max_retries, scale_up_timeout))
        )

    async def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        scale_up_timeout: float | None = None,
    ) -> Rerank:
        """Rerank documents synchronously; see :meth:`Endpoint.rerank`.

        Example:
            out = await aep.rerank("how do refunds work?", ["Refunds within 30 days.", "Shipping is free."], top_n=1)

        """
        return await self._http.call(
            self._rerank_op(query, documents, top_n, model, extra_body, _Call(timeout, max_retries, scale_up_timeout))
        )

    async def submit_job(
        self,
        input: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Job:
        """Submit an async job; see :meth:`Endpoint.submit_job`.

        Example:
            job = await aep.submit_job({"input": "great product"})

        """
        return await self._http.call(
            self._submit_op(input, idempotency_key, webhook, max_queue_seconds, timeout, max_retries)
        )

    async def get_job(
        self, job_id: str, *, wait: int | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> Job:
        """Read a job, optionally long-polling; see :meth:`Endpoint.get_job`.

        Example:
            job = await aep.get_job("job_123", wait=10)

        """
        return await self._http.call(self._get_op(job_id, wait, timeout, max_retries))

    async def wait_for_job(
        self,
        job: str | Job,
        *,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> Job:
        """Wait until a job is terminal; see :meth:`Endpoint.wait_for_job`.

        Example:
            job = await aep.wait_for_job("job_123", timeout=120)

        """
        if isinstance(job, Job) and job.terminal:
            return job
        plan = _JobWait(
            job.id if isinstance(job, Job) else job, timeout, long_poll, self._http.clock, self._http.random
        )
        while True:
            current = await self.get_job(plan.job_id, wait=plan.next_poll(), max_retries=max_retries)
            if current.terminal:
                return current
            pause = plan.after(current)
            if pause is not None:
                await self._http.sleep(pause)

    async def cancel_job(self, job_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Job:
        """Cancel a queued or waiting job; see :meth:`Endpoint.cancel_job`.

        Example:
            job = await aep.cancel_job("job_123")

        """
        return await self._http.call(self._cancel_op(job_id, timeout, max_retries))

    async def list_jobs_page(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Job]:
        """Read one page of jobs; see :meth:`Endpoint.list_jobs_page`.

        Example:
            page = await aep.list_jobs_page(status="failed", limit=20)

        """
        return await self._http.call(self._list_op(status, limit, cursor, timeout, max_retries))

    async def list_jobs(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncIterator[Job]:
        """Iterate every job, fetching pages lazily; see :meth:`Endpoint.list_jobs`.

        Example:
            ids = [job.id async for job in aep.list_jobs(status="succeeded")]

        """
        cursor: str | None = None
        while True:
            page = await self.list_jobs_page(
                status=status, limit=limit, cursor=cursor, timeout=timeout, max_retries=max_retries
            )
            for job in page.data:
                yield job
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def classify(
        self,
        input: str | Sequence[str],
        *,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> ClassificationResult:
        """Classify texts through a job and wait; see :meth:`Endpoint.classify`.

        Example:
            out = await aep.classify(["great product", "never again"])

        """
        return await self.jobs.classify(
            input,
            idempotency_key=idempotency_key,
            webhook=webhook,
            max_queue_seconds=max_queue_seconds,
            timeout=timeout,
            long_poll=long_poll,
            max_retries=max_retries,
        )

    async def reward(
        self,
        input: str | Sequence[str] | None = None,
        *,
        messages: Sequence[Message] | None = None,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> RewardResult:
        """Score texts or a conversation through a job and wait; see :meth:`Endpoint.reward`.

        Example:
            out = await aep.reward(messages=[{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}])

        """
        return await self.jobs.reward(
            input,
            messages=messages,
            idempotency_key=idempotency_key,
            webhook=webhook,
            max_queue_seconds=max_queue_seconds,
            timeout=timeout,
            long_poll=long_poll,
            max_retries=max_retries,
        )

    async def _run(
        self,
        input: Mapping[str, Any],
        read: Callable[[Any], R],
        idempotency_key: str | None,
        webhook: str | Mapping[str, Any] | None,
        max_queue_seconds: int | None,
        timeout: float,
        long_poll: int,
        max_retries: int | None,
    ) -> R:
        """Submit ``input``, wait within one deadline, and return the succeeded job's result."""
        started = self._http.clock()
        submitted = await self.submit_job(
            input,
            idempotency_key=idempotency_key,
            webhook=webhook,
            max_queue_seconds=max_queue_seconds,
            timeout=min(self._timeout, timeout) if timeout > 0 else None,
            max_retries=max_retries,
        )
        left = max(0.001, timeout - (self._http.clock() - started))
        return _job_result(
            await self.wait_for_job(submitted, timeout=left, long_poll=long_poll, max_retries=max_retries), read
        )


class AsyncEndpointJobs:
    """Async twin of :class:`EndpointJobs` (``aep.jobs``).

    Example:
        ranked = await aep.jobs.rerank("how do refunds work?", ["Refunds within 30 days.", "Shipping is free."])

    """

    def __init__(self, endpoint: AsyncEndpoint) -> None:
        self._endpoint = endpoint

    async def rerank(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> RerankResult:
        """Rerank ``documents`` against ``query`` through a reranker job; results sorted by score, highest first.

        Example:
            ranked = await aep.jobs.rerank("refund policy", docs, top_n=3, timeout=300)

        """
        body = _rerank_input(query, documents, top_n)
        return await self._endpoint._run(
            body, RerankResult.from_wire, idempotency_key, webhook, max_queue_seconds, timeout, long_poll, max_retries
        )

    async def classify(
        self,
        input: str | Sequence[str],
        *,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> ClassificationResult:
        """Classify one text or a list through a classification job; see :meth:`Endpoint.classify`.

        Example:
            out = await aep.jobs.classify("great product")

        """
        return await self._endpoint._run(
            {"input": texts(input)},
            ClassificationResult.from_wire,
            idempotency_key,
            webhook,
            max_queue_seconds,
            timeout,
            long_poll,
            max_retries,
        )

    async def reward(
        self,
        input: str | Sequence[str] | None = None,
        *,
        messages: Sequence[Message] | None = None,
        idempotency_key: str | None = None,
        webhook: str | Mapping[str, Any] | None = None,
        max_queue_seconds: int | None = None,
        timeout: float = DEFAULT_JOB_WAIT,
        long_poll: int = MAX_LONG_POLL,
        max_retries: int | None = None,
    ) -> RewardResult:
        """Score texts or a conversation through a reward job; see :meth:`Endpoint.reward`.

        Example:
            out = await aep.jobs.reward(["The answer is 4.", "The answer is 5."])

        """
        return await self._endpoint._run(
            _reward_input(input, messages),
            RewardResult.from_wire,
            idempotency_key,
            webhook,
            max_queue_seconds,
            timeout,
            long_poll,
            max_retries,
        )


def _data_options(
    project: str, base_url: str, timeout: float, max_retries: int, retry_policy: RetryPolicy | None
) -> tuple[str, TransportOptions]:
    project = project.strip() if isinstance(project, str) else ""
    if not project:
        raise ConfigurationError(
            f'DataClient needs a project, e.g. project="acme" (from_env also reads {ENV_PROJECT}).'
        )
    return project, TransportOptions(
        base_url=base_url, max_retries=max_retries, timeout=timeout, retry_policy=retry_policy or DEFAULT_RETRY_POLICY
    )


def _env_settings(project: str | None, api_key: str | None) -> tuple[str, str, str | None]:
    """Return the base URL, project and default data key of ``from_env``: what is passed wins over the environment."""
    env = read_environment()
    chosen = project if project is not None else env.project
    if chosen is None or not chosen.strip():
        raise ConfigurationError(f'DataClient.from_env() needs a project: pass project="acme" or set {ENV_PROJECT}.')
    return normalise_base_url(env.base_url, ENV_BASE_URL), chosen, api_key if api_key is not None else env.api_key


_UNSET: Any = object()
"""``api_key`` not passed to ``endpoint()`` at all (``None`` passed explicitly is an error, never a fallback)."""


def _endpoint_key(given: Any, default: str | None) -> str:
    if given is _UNSET:
        return default if default is not None else ""
    return given if isinstance(given, str) else ""


class DataClient:
    """The data plane of one project: ``endpoint(slug, api_key=...)`` gives a workload's endpoint.

    Needs no control token: each endpoint authenticates with its own ``ik_live_`` data key.

    Example:
        >>> from inferencekey import DataClient
        >>> data = DataClient(project="acme", base_url="http://127.0.0.1:8787")
        >>> data.endpoint("support-bot", api_key="ik_live_example").base_url
        'http://127.0.0.1:8787/endpoint/acme/support-bot/v1'

    """

    def __init__(
        self,
        *,
        project: str,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Build a client from explicit settings; reads no environment variable.

        Example:
            >>> DataClient(project="acme").base_url
            'https://api.inferencekey.com'

        """
        self.project, options = _data_options(project, base_url, timeout, max_retries, retry_policy)
        self._api_key = api_key
        self._http = SyncTransport(options, http_client=http_client, sleep=sleep)
        self.base_url = self._http.base_url

    @classmethod
    def from_env(
        cls,
        *,
        project: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> DataClient:
        """Build a client from the environment: ``INFERENCEKEY_BASE_URL`` (default https://api.inferencekey.com).

        ``project`` defaults to ``INFERENCEKEY_PROJECT`` and ``api_key`` (the default data key of
        :meth:`endpoint`) to ``INFERENCEKEY_API_KEY``; what you pass wins.

        Example:
            >>> data = DataClient.from_env(project="acme")
            >>> data.project
            'acme'

        """
        base_url, project, api_key = _env_settings(project, api_key)
        return cls(
            project=project,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            sleep=sleep,
        )

    def endpoint(self, slug: str, *, api_key: str | None = _UNSET, scale_up_timeout: float | None = None) -> Endpoint:
        """Return the endpoint of workload ``slug``, authenticated with its ``ik_live_`` data key.

        Without ``api_key`` the client's default is used (``api_key=`` of the constructor, or
        ``INFERENCEKEY_API_KEY`` read by :meth:`from_env`); an explicit ``None`` (an unset variable
        you read) is an error, never a fallback. ``scale_up_timeout`` is the default wait for a
        replica of a scaled-to-zero workload (see :class:`Endpoint`).

        Example:
            >>> ep = DataClient(project="acme").endpoint("billing", api_key="ik_live_example")
            >>> ep.base_url
            'https://api.inferencekey.com/endpoint/acme/billing/v1'

        """
        return Endpoint(self._http, self.project, slug, _endpoint_key(api_key, self._api_key), scale_up_timeout)

    def close(self) -> None:
        """Close the connection pool (not an ``http_client`` you passed in).

        Example:
            >>> DataClient(project="acme").close()

        """
        self._http.close()

    def __enter__(self) -> DataClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DataClient(project={self.project!r}, base_url={self.base_url!r})"


class AsyncDataClient:
    """Asyncio twin of :class:`DataClient`.

    Example:
        >>> from inferencekey import AsyncDataClient
        >>> adata = AsyncDataClient(project="acme")
        >>> adata.endpoint("support-bot", api_key="ik_live_example").slug
        'support-bot'

    """

    def __init__(
        self,
        *,
        project: str,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Build a client from explicit settings; see :class:`DataClient`.

        Example:
            >>> AsyncDataClient(project="acme", base_url="http://127.0.0.1:8787").base_url
            'http://127.0.0.1:8787'

        """
        self.project, options = _data_options(project, base_url, timeout, max_retries, retry_policy)
        self._api_key = api_key
        self._http = AsyncTransport(options, http_client=http_client, sleep=sleep)
        self.base_url = self._http.base_url

    @classmethod
    def from_env(
        cls,
        *,
        project: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> AsyncDataClient:
        """Build a client from the environment; see :meth:`DataClient.from_env`.

        Example:
            >>> AsyncDataClient.from_env(project="acme").project
            'acme'

        """
        base_url, project, api_key = _env_settings(project, api_key)
        return cls(
            project=project,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            sleep=sleep,
        )

    def endpoint(
        self, slug: str, *, api_key: str | None = _UNSET, scale_up_timeout: float | None = None
    ) -> AsyncEndpoint:
        """Return the async endpoint of workload ``slug`` (``api_key`` defaults as in :meth:`DataClient.endpoint`).

        Example:
            >>> AsyncDataClient(project="acme").endpoint("billing", api_key="ik_live_example").base_url
            'https://api.inferencekey.com/endpoint/acme/billing/v1'

        """
        return AsyncEndpoint(self._http, self.project, slug, _endpoint_key(api_key, self._api_key), scale_up_timeout)

    async def close(self) -> None:
        """Close the connection pool (not an ``http_client`` you passed in).

        Example:
            await adata.close()

        """
        await self._http.close()

    async def __aenter__(self) -> AsyncDataClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncDataClient(project={self.project!r}, base_url={self.base_url!r})"
