"""TEST DOUBLE: a small OpenAI-compatible server standing in for the InferenceKey gateway.

The real gateway (``/endpoint/{project}/{workload}/v1/...``) lands with the data-plane issue, so
the data half of the SDK is tested against this stand-in. It is strict where the gateway will be:
it refuses requests without the workload's ``Authorization: Bearer ik_live_...`` key (OpenAI-style
401), serves only the routes of the workload's modality, and rejects a ``model`` it does not
serve with vLLM's own error body. Answers are deterministic (chat echoes the last user message)
so tests can check what reached the server. Failures can be queued to test retries.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
EMBEDDING_MODEL = "BAAI/bge-large-en-v1.5"
ROUTES = {
    "support-bot": (CHAT_MODEL, {"chat/completions", "completions", "models"}),
    "billing": (EMBEDDING_MODEL, {"embeddings", "models"}),
}
DIMENSIONS = 8


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _vector(text: str) -> list[float]:
    seed = 0
    for ch in text:
        seed = (seed * 31 + ord(ch)) & 0xFFFFFFFF
    out = []
    for _ in range(DIMENSIONS):
        seed = (seed * 1103515245 + 12345) & 0xFFFFFFFF
        out.append(round(seed / 0xFFFFFFFF * 2 - 1, 6))
    return out


def _content(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else json.dumps(content)


class FakeOpenAIServer:
    """Serves ``/endpoint/{project}/{slug}/v1/...`` on 127.0.0.1:<free port> in a thread."""

    def __init__(self, api_key: str, project: str = "acme") -> None:
        self.api_key = api_key
        self.project = project
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def endpoint_url(self, slug: str) -> str:
        return f"{self.base_url}/endpoint/{self.project}/{slug}/v1"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.failures.clear()

    def fail_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.failures.append(Failure(status, body, headers or {}))

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.send_header("x-request-id", f"req_fake{len(fake.requests):08d}")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _openai_error(self, status: int, message: str, type_: str, code: str | None) -> None:
                self._send(status, {"error": {"message": message, "type": type_, "param": None, "code": code}})

            def do_GET(self) -> None:
                self._handle(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._openai_error(400, "body is not JSON", "invalid_request_error", None)
                    return
                self._handle(body)

            def _handle(self, body: Any) -> None:
                with fake._lock:
                    fake.requests.append(
                        Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    failure = fake.failures.pop(0) if fake.failures else None
                if self.headers.get("authorization") != f"Bearer {fake.api_key}":
                    self._openai_error(
                        401,
                        "Invalid data key: send Authorization: Bearer ik_live_... for this workload.",
                        "authentication_error",
                        "invalid_api_key",
                    )
                    return
                if failure is not None:
                    self._send(failure.status, failure.body, failure.headers)
                    return
                match = re.fullmatch(r"/endpoint/([^/]+)/([^/]+)/v1/([a-z/]+)", self.path.split("?")[0])
                if not match or match.group(1) != fake.project or match.group(2) not in ROUTES:
                    self._openai_error(404, f"no workload at {self.path}", "not_found_error", "workload_not_found")
                    return
                model, routes = ROUTES[match.group(2)]
                route = match.group(3)
                if route not in routes:
                    self._openai_error(
                        404, f"this workload does not serve {route}", "not_found_error", "route_not_served"
                    )
                    return
                if route == "models":
                    self._send(
                        200, {"object": "list", "data": [{"id": model, "object": "model", "owned_by": "inferencekey"}]}
                    )
                    return
                if not isinstance(body, dict):
                    self._openai_error(400, "expected a JSON object", "invalid_request_error", None)
                    return
                if body.get("model") not in (None, model):
                    self._send(
                        404,
                        {
                            "object": "error",
                            "message": f"The model `{body['model']}` does not exist.",
                            "type": "NotFoundError",
                            "param": None,
                            "code": 404,
                        },
                    )
                    return
                if route == "embeddings":
                    self._embeddings(model, body)
                else:
                    self._completion(model, body, chat=route == "chat/completions")

            def _embeddings(self, model: str, body: dict[str, Any]) -> None:
                inputs = body.get("input")
                texts = [inputs] if isinstance(inputs, str) else inputs
                if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
                    self._openai_error(
                        400, "input must be a string or a list of strings", "invalid_request_error", None
                    )
                    return
                data = []
                for index, text in enumerate(texts):
                    vector = _vector(text)
                    embedding: Any = vector
                    if body.get("encoding_format") == "base64":
                        embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                    data.append({"object": "embedding", "index": index, "embedding": embedding})
                tokens = sum(len(t.split()) for t in texts)
                self._send(
                    200,
                    {
                        "object": "list",
                        "model": model,
                        "data": data,
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _completion(self, model: str, body: dict[str, Any], chat: bool) -> None:
                if chat:
                    messages = body.get("messages")
                    if not isinstance(messages, list) or not messages:
                        self._openai_error(400, "messages must be a non-empty list", "invalid_request_error", None)
                        return
                    prompt = _content([m for m in messages if isinstance(m, dict) and m.get("role") == "user"][-1])
                else:
                    prompt = str(body.get("prompt", ""))
                max_tokens = body.get("max_tokens")
                if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
                    self._openai_error(
                        400, f"max_tokens must be at least 1, got {max_tokens}.", "invalid_request_error", None
                    )
                    return
                words = ["echo:", *prompt.split()][: max_tokens or 64]
                finish = "length" if max_tokens is not None and len(words) >= max_tokens else "stop"
                usage = {
                    "prompt_tokens": len(prompt.split()),
                    "completion_tokens": len(words),
                    "total_tokens": len(prompt.split()) + len(words),
                }
                kind = "chat.completion" if chat else "text_completion"
                if not body.get("stream"):
                    text = " ".join(words)
                    choice: dict[str, Any] = (
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                        if chat
                        else {"index": 0, "text": text, "finish_reason": finish}
                    )
                    self._send(
                        200,
                        {
                            "id": "cmpl-fake",
                            "object": kind,
                            "created": 1767225600,
                            "model": model,
                            "choices": [choice],
                            "usage": usage,
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()

                def event(choices: list[Any], **extra: Any) -> None:
                    chunk = {
                        "id": "cmpl-fake",
                        "object": f"{kind}.chunk",
                        "created": 1767225600,
                        "model": model,
                        "choices": choices,
                        **extra,
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                self.wfile.write(b": keep-alive\n\n")
                for i, word in enumerate(words):
                    piece = word if i == 0 else f" {word}"
                    delta = {"role": "assistant", "content": piece} if chat and i == 0 else {"content": piece}
                    event(
                        [
                            {"index": 0, "delta": delta, "finish_reason": None}
                            if chat
                            else {"index": 0, "text": piece, "finish_reason": None}
                        ]
                    )
                event(
                    [
                        {"index": 0, "delta": {}, "finish_reason": finish}
                        if chat
                        else {"index": 0, "text": "", "finish_reason": finish}
                    ]
                )
                if isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage"):
                    event([], usage=usage)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler
