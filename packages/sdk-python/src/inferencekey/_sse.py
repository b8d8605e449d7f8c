"""A small Server-Sent Events decoder (the subset OpenAI-compatible servers use)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its ``event`` name (``None`` for the default) and joined ``data`` lines."""

    data: str
    event: str | None = None


class SSEDecoder:
    """Feed lines (without their line ending); get an event back at each blank line.

    Example:
        >>> d = SSEDecoder()
        >>> d.feed('data: {"a": 1}') is None
        True
        >>> d.feed("").data
        '{"a": 1}'

    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line; return the event it completes, if any.

        Example:
            >>> SSEDecoder().feed(": keep-alive") is None
            True

        """
        if line == "":
            return self.flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def flush(self) -> ServerSentEvent | None:
        """Dispatch what is pending (at a blank line or the end of the stream).

        Example:
            >>> d = SSEDecoder(); _ = d.feed("data: tail"); d.flush().data
            'tail'

        """
        if not self._data:
            self._event = None
            return None
        event = ServerSentEvent(data="\n".join(self._data), event=self._event)
        self._data = []
        self._event = None
        return event
