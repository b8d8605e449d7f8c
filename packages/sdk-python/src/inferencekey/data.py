"""The data plane: call a workload's OpenAI-compatible endpoint with its ``ik_live_`` data key.

Each workload answers at ``{base}/endpoint/{project}/{workload}/v1`` (``chat/completions``,
``completions``, ``embeddings``, ...). ``DataClient.endpoint()`` gives typed helpers for chat and
embeddings; for any other route, point an OpenAI client at :attr:`Endpoint.base_url`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from ._env import DEFAULT_BASE_URL, ENV_BASE_URL, read_environment
from ._retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUT, RetryPolicy
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
from .errors import ConfigurationError, InferenceKeyError, error_for_status, parse_error_body
from .models import ChatCompletion, ChatMessage, Embeddings, TextGeneration, Usage

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
                "endpoint() needs the workload's ik_live_ data key: api_key=... (create one with mgmt.keys.create)."
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

    def _stream_request(self, body: dict[str, Any], include_usage: bool, call: _Call) -> Request:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        return self._request("chat/completions", body, call, stream=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


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


def _data_options(
    project: str, base_url: str, timeout: float, max_retries: int, retry_policy: RetryPolicy | None
) -> tuple[str, TransportOptions]:
    project = project.strip() if isinstance(project, str) else ""
    if not project:
        raise ConfigurationError('DataClient needs a project, e.g. project="acme".')
    return project, TransportOptions(
        base_url=base_url, max_retries=max_retries, timeout=timeout, retry_policy=retry_policy or DEFAULT_RETRY_POLICY
    )


def _env_base_url() -> str:
    return normalise_base_url(read_environment().base_url, ENV_BASE_URL)


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
        self._http = SyncTransport(options, http_client=http_client, sleep=sleep)
        self.base_url = self._http.base_url

    @classmethod
    def from_env(
        cls,
        *,
        project: str,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> DataClient:
        """Build a client whose base URL is ``INFERENCEKEY_BASE_URL`` (default https://api.inferencekey.com).

        Example:
            >>> data = DataClient.from_env(project="acme")
            >>> data.project
            'acme'

        """
        return cls(
            project=project,
            base_url=_env_base_url(),
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            sleep=sleep,
        )

    def endpoint(self, slug: str, *, api_key: str, scale_up_timeout: float | None = None) -> Endpoint:
        """Return the endpoint of workload ``slug``, authenticated with its ``ik_live_`` data key.

        ``scale_up_timeout`` is the default wait for a replica of a scaled-to-zero workload (see :class:`Endpoint`).

        Example:
            >>> ep = DataClient(project="acme").endpoint("billing", api_key="ik_live_example")
            >>> ep.base_url
            'https://api.inferencekey.com/endpoint/acme/billing/v1'

        """
        return Endpoint(self._http, self.project, slug, api_key, scale_up_timeout)

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
        self._http = AsyncTransport(options, http_client=http_client, sleep=sleep)
        self.base_url = self._http.base_url

    @classmethod
    def from_env(
        cls,
        *,
        project: str,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> AsyncDataClient:
        """Build a client from ``INFERENCEKEY_BASE_URL``; see :meth:`DataClient.from_env`.

        Example:
            >>> AsyncDataClient.from_env(project="acme").project
            'acme'

        """
        return cls(
            project=project,
            base_url=_env_base_url(),
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            sleep=sleep,
        )

    def endpoint(self, slug: str, *, api_key: str, scale_up_timeout: float | None = None) -> AsyncEndpoint:
        """Return the async endpoint of workload ``slug``.

        Example:
            >>> AsyncDataClient(project="acme").endpoint("billing", api_key="ik_live_example").base_url
            'https://api.inferencekey.com/endpoint/acme/billing/v1'

        """
        return AsyncEndpoint(self._http, self.project, slug, api_key, scale_up_timeout)

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
