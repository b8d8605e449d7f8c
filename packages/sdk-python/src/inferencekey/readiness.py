"""Waiting for a workload to serve: its readiness events (Server-Sent Events) with a progress view.

``GET /v1/projects/{project}/workloads/{slug}/readiness-events`` streams
``{"phase", "message", "elapsed_ms", "step"}`` through scheduling, placing, launching, pulling,
starting and ``ready`` (or ``error``); ``ManagementClient.wait_until_ready`` follows it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from ._retry import RetryPolicy, backoff_delay, is_transient
from ._sse import SSEDecoder
from ._transport import AsyncTransport, Request, SyncTransport, path_of
from .errors import APIConnectionError, ConfigurationError, InferenceKeyError, WaitTimeoutError, WorkloadNotReadyError

DEFAULT_READY_TIMEOUT = 900.0
"""Seconds ``wait_until_ready`` allows by default (15 minutes)."""

_RECONNECT = RetryPolicy(initial_delay=0.5, max_delay=5.0, max_retry_after=5.0, jitter=0.25)
_READ_TIMEOUT = 45.0
"""Seconds without a byte (keep-alives come every 15 s) after which a stream counts as dropped."""


@dataclass(frozen=True)
class ReadinessEvent:
    """One readiness event: the ``phase``, a ``message``, ``elapsed_ms`` since the generation was accepted, its ``step``.

    Example:
        >>> ReadinessEvent.from_data('{"phase": "pulling", "message": "weights", "elapsed_ms": 1500, "step": 4}').phase
        'pulling'

    """

    phase: str
    message: str
    elapsed_ms: int
    step: int

    @classmethod
    def from_data(cls, data: str) -> ReadinessEvent | None:
        """Read one SSE ``data:`` payload; ``None`` when it is not a readiness event.

        Example:
            >>> ReadinessEvent.from_data("not json") is None
            True

        """
        try:
            parsed = json.loads(data)
        except ValueError:
            return None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("phase"), str):
            return None

        def number(value: Any) -> int:
            # The vendor surface (/api) writes ``step`` as a string; /v1 as a number: read both.
            if isinstance(value, str) and value.isdigit():
                return int(value)
            return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

        message = parsed.get("message")
        return cls(
            parsed["phase"],
            message if isinstance(message, str) else "",
            number(parsed.get("elapsed_ms")),
            number(parsed.get("step")),
        )


Progress = Literal["auto", "silent"] | Callable[[ReadinessEvent], None]
"""``"auto"`` (a view on stderr), ``"silent"``, or a function called with every event."""


def progress_mode(on_progress: Callable[[ReadinessEvent], None] | None, silent: bool) -> Progress:
    """Return what ``wait_until_ready(on_progress=..., silent=...)`` asks for: a callback, ``"silent"`` or ``"auto"``.

    Example:
        >>> progress_mode(None, True), progress_mode(None, False)
        ('silent', 'auto')

    """
    if on_progress is not None:
        if not callable(on_progress):
            raise ConfigurationError(f"on_progress must be a function of each ReadinessEvent, got {on_progress!r}.")
        return on_progress
    return "silent" if silent else "auto"


class _Sink(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...

    def isatty(self) -> bool: ...


class ProgressReporter:
    r"""Shows readiness events: one line redrawn in place on a terminal, plain lines otherwise, or a callback.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> r = ProgressReporter("bot", "auto", out)
        >>> r.report(ReadinessEvent("ready", "1/1 ready", 9000, 6)); r.end()
        >>> out.getvalue()
        'bot: ready - 1/1 ready (step 6, 9.0 s)\n'

    """

    def __init__(self, slug: str, progress: Progress, sink: _Sink | None = None) -> None:
        if not (callable(progress) or progress in ("auto", "silent")):
            raise ConfigurationError(
                f'progress must be "auto", "silent" or a function of each event, got {progress!r}.'
            )
        self._slug = slug
        self._progress = progress
        self._sink: _Sink = sink if sink is not None else sys.stderr
        self._tty = progress == "auto" and _isatty(self._sink)
        self._drawn = False

    def _line(self, event: ReadinessEvent) -> str:
        message = f" - {event.message}" if event.message else ""
        return f"{self._slug}: {event.phase}{message} (step {event.step}, {event.elapsed_ms / 1000:.1f} s)"

    def report(self, event: ReadinessEvent) -> None:
        """Show one event.

        Example:
            reporter.report(ReadinessEvent("starting", "vllm serve", 800, 5))

        """
        if callable(self._progress):
            self._progress(event)
        elif self._progress == "auto":
            # Carriage return and erase-line redraw one line in place on a terminal.
            self._sink.write(f"\r\x1b[2K{self._line(event)}" if self._tty else f"{self._line(event)}\n")
            self._sink.flush()
            self._drawn = True

    def end(self) -> None:
        """Finish the view (ends the redrawn line).

        Example:
            reporter.end()

        """
        if self._tty and self._drawn:
            self._sink.write("\n")
            self._sink.flush()


def _isatty(sink: _Sink) -> bool:
    try:
        return bool(sink.isatty())
    except (AttributeError, ValueError):
        return False


def _request(project: str, slug: str, read_timeout: float) -> Request:
    return Request(
        "GET",
        path_of("/v1/projects/{}/workloads/{}/readiness-events", project, slug),
        stream=True,
        timeout=read_timeout,
    )


class _Follow:
    """What one wait has seen: the deadline, the last event, the reconnect count; shared by sync and async."""

    def __init__(
        self, slug: str, timeout: float, progress: Progress, clock: Callable[[], float], rand: Callable[[], float]
    ) -> None:
        if not isinstance(slug, str) or not slug:
            raise ConfigurationError(
                'wait_until_ready() needs the workload slug, e.g. mgmt.wait_until_ready("support-bot").'
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}.")
        self.slug = slug
        self.timeout = float(timeout)
        self.clock = clock
        self.rand = rand
        self.deadline = clock() + self.timeout
        self.reporter = ProgressReporter(slug, progress)
        self.last: ReadinessEvent | None = None
        self.reconnects = 0
        self.saw_event = False

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def read_timeout(self) -> float:
        return max(0.5, min(_READ_TIMEOUT, self.remaining()))

    def line(self, decoder: SSEDecoder, line: str | None) -> ReadinessEvent | None:
        """Feed a line (``None`` at the end of the stream); return ``ready`` when it arrives, raise on ``error``."""
        raw = decoder.flush() if line is None else decoder.feed(line)
        event = ReadinessEvent.from_data(raw.data) if raw is not None else None
        if event is None:
            return None
        self.saw_event = True
        self.last = event
        self.reporter.report(event)
        if event.phase == "error":
            raise WorkloadNotReadyError(
                event.message or f"workload {self.slug} reported an error before it was ready",
                phase=event.phase,
                step=event.step,
                elapsed_ms=event.elapsed_ms,
            )
        return event if event.phase == "ready" else None

    def dropped(self, error: Exception) -> float:
        """Return the pause before reconnecting after ``error`` (or the end of the stream), or raise."""
        if isinstance(error, InferenceKeyError) and not is_transient(error):
            raise error
        if self.saw_event:
            self.reconnects = 0
        self.saw_event = False
        pause = backoff_delay(self.reconnects, _RECONNECT, self.rand())
        self.reconnects += 1
        if self.remaining() <= 0:
            raise self.timed_out()
        return min(pause, max(0.0, self.remaining()))

    def timed_out(self) -> WaitTimeoutError:
        last = f" (last phase: {self.last.phase}: {self.last.message})" if self.last else ""
        return WaitTimeoutError(
            f"workload {self.slug} was not ready after {self.timeout:g} s{last}; it keeps starting.", last=self.last
        )


class _StreamEndedError(Exception):
    """The stream closed before ready: reconnect."""


def wait_until_ready_sync(
    transport: SyncTransport, project: str, slug: str, timeout: float, progress: Progress
) -> ReadinessEvent:
    """Follow the readiness events until ``ready`` (returned) or ``error`` (raised), reconnecting on drops."""
    follow = _Follow(slug, timeout, progress, transport.clock, transport.random)
    try:
        while True:
            try:
                response = transport.send(_request(project, slug, follow.read_timeout()))
                try:
                    decoder = SSEDecoder()
                    for line in response.iter_lines():
                        ready = follow.line(decoder, line)
                        if ready is not None:
                            return ready
                        if follow.remaining() <= 0:
                            raise follow.timed_out()
                    ready = follow.line(decoder, None)
                    if ready is not None:
                        return ready
                finally:
                    response.close()
                pause = follow.dropped(_StreamEndedError())
            except (httpx.TransportError, APIConnectionError, InferenceKeyError) as error:
                if isinstance(error, (WaitTimeoutError, WorkloadNotReadyError)):
                    raise
                pause = follow.dropped(
                    error if isinstance(error, InferenceKeyError) else APIConnectionError(str(error))
                )
            transport.sleep(pause)
    finally:
        follow.reporter.end()


async def wait_until_ready_async(
    transport: AsyncTransport, project: str, slug: str, timeout: float, progress: Progress
) -> ReadinessEvent:
    """Async twin of :func:`wait_until_ready_sync`."""
    follow = _Follow(slug, timeout, progress, transport.clock, transport.random)
    try:
        while True:
            try:
                response = await transport.send(_request(project, slug, follow.read_timeout()))
                try:
                    decoder = SSEDecoder()
                    async for line in response.aiter_lines():
                        ready = follow.line(decoder, line)
                        if ready is not None:
                            return ready
                        if follow.remaining() <= 0:
                            raise follow.timed_out()
                    ready = follow.line(decoder, None)
                    if ready is not None:
                        return ready
                finally:
                    await response.aclose()
                pause = follow.dropped(_StreamEndedError())
            except (httpx.TransportError, APIConnectionError, InferenceKeyError) as error:
                if isinstance(error, (WaitTimeoutError, WorkloadNotReadyError)):
                    raise
                pause = follow.dropped(
                    error if isinstance(error, InferenceKeyError) else APIConnectionError(str(error))
                )
            await transport.sleep(pause)
    finally:
        follow.reporter.end()
