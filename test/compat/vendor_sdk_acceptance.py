"""The vendor's official Python SDK (PyPI ``inferencekey``, pinned by scripts/vendor-sdk.sh) against
the local platform, unchanged: run by test/compat/vendor-sdk.test.ts, which asserts on the report.

Every SDK call goes through a loopback recorder in front of the platform, so the report says which
requests each step sent. Workloads run the test double test/replicas/openai-replica.mjs. Prints one
JSON report on the last line of stdout.

Environment: IK_PLATFORM_URL, IK_ADMIN_TOKEN, IK_NODE (a node binary), IK_REPLICA (the replica script).
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import threading
import traceback
import urllib.error
import urllib.request
from typing import Any, Callable
from urllib.parse import urlsplit

from inferencekey import ApiError, DataClient, ManagementClient, PermissionDenied, WorkloadSpec

PLATFORM = os.environ["IK_PLATFORM_URL"]
ADMIN = os.environ["IK_ADMIN_TOKEN"]
NODE = os.environ["IK_NODE"]
REPLICA = os.environ["IK_REPLICA"]
PROJECT = "acme"

RECORDED: list[str] = []
RECORD_LOCK = threading.Lock()


class Recorder(http.server.BaseHTTPRequestHandler):
    """Forwards each request to the platform, streaming the answer back, and records its line."""

    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        with RECORD_LOCK:
            RECORDED.append(f"{self.command} {self.path}")
        target = urlsplit(PLATFORM)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(name, value)
        self.send_header("transfer-encoding", "chunked")
        # One request per connection: a client never reuses one this recorder may have closed.
        self.send_header("connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (e.g. a stream it had finished with)
        finally:
            upstream.close()

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _forward

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def platform_call(method: str, path: str, body: Any = None, token: str = ADMIN) -> tuple[int, Any]:
    """A direct call to the platform's own /v1 API (not recorded: the SDK has no such call)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{PLATFORM}{path}", data=data, method=method)
    request.add_header("authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, (json.loads(raw) if raw else None)


def generation(slug: str) -> dict[str, Any]:
    status, body = platform_call("GET", f"/v1/projects/{PROJECT}/workloads/{slug}")
    assert status == 200, (status, body)
    return {"generation": body["generation"], "updated_at": body["updated_at"], "spec": body["spec"]}


def recorded(step: Callable[[], Any]) -> tuple[list[str], Any, str | None]:
    """Runs one SDK step; returns the requests it sent, its value, and its error (type: message)."""
    with RECORD_LOCK:
        RECORDED.clear()
    value: Any = None
    error: str | None = None
    try:
        value = step()
    except Exception as caught:  # noqa: BLE001 - the report says what was raised
        error = f"{type(caught).__name__}: {caught}"
    with RECORD_LOCK:
        sent = list(RECORDED)
    return sent, value, error


def replica_command(model: str, *extra: str) -> str:
    return " ".join([NODE, REPLICA, "serve", model, *extra])


def main() -> dict[str, Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    report: dict[str, Any] = {}

    mgmt = ManagementClient(base_url=base, sdk_token=ADMIN, project=PROJECT)
    chat = WorkloadSpec(
        name="Support bot",
        slug="vendor-chat",
        model="test/chat-model",
        backend="vllm",
        command=replica_command("test/chat-model"),
        task_type="text2text",
        execution_policy="fixed",
        execution_policy_config={"replicas": 1},
        description="the vendor SDK's acceptance workload",
        gpu_resource_id="NVIDIA L4",
    )

    sent, value, error = recorded(lambda: mgmt.ensure(chat))
    report["ensure_created"] = {"sent": sent, "ref": value and [value.project_slug, value.workload_slug], "error": error}
    first = generation("vendor-chat")
    status, listed = platform_call("GET", f"/api/projects/{PROJECT}/workloads")
    report["api_object"] = listed[0] if status == 200 and listed else {"status": status, "body": listed}

    sent, _, error = recorded(lambda: mgmt.ensure(chat))
    again = generation("vendor-chat")
    report["ensure_again"] = {"sent": sent, "error": error, "before": first, "after": again}

    changed = WorkloadSpec(**{**chat.__dict__, "execution_policy_config": {"replicas": 2}})
    sent, _, error = recorded(lambda: mgmt.ensure(changed))
    after_patch = generation("vendor-chat")
    report["ensure_changed"] = {"sent": sent, "error": error, "before": again, "after": after_patch}

    drifted = WorkloadSpec(**{**chat.__dict__, "execution_policy_config": {"replicas": 3}})
    sent, _, error = recorded(lambda: mgmt.ensure(drifted, on_drift="fail"))
    report["on_drift_fail"] = {"sent": sent, "error": error, "before": after_patch, "after": generation("vendor-chat")}

    events: list[dict[str, Any]] = []

    def wait_chat() -> None:
        mgmt.wait_until_ready(
            "vendor-chat",
            timeout=120,
            on_progress=lambda e: events.append({"phase": e.phase, "message": e.message, "elapsed_ms": e.elapsed_ms, "step": e.step}),
        )

    sent, _, error = recorded(wait_chat)
    report["wait_until_ready"] = {"sent": sent, "error": error, "events": events}

    embed = WorkloadSpec(
        name="Embedder", slug="vendor-embed", model="test/embed-model", backend="vllm",
        command=replica_command("test/embed-model"), task_type="embedding",
    )
    ranker = WorkloadSpec(
        name="Ranker", slug="vendor-rerank", model="test/rerank-model", backend="vllm",
        command=replica_command("test/rerank-model"), task_type="reranker",
    )
    for spec in (embed, ranker):
        mgmt.ensure(spec)
    for slug in ("vendor-embed", "vendor-rerank"):
        mgmt.wait_until_ready(slug, timeout=120, silent=True)

    keys: dict[str, str] = {}
    for slug in ("vendor-chat", "vendor-embed", "vendor-rerank"):
        status, body = platform_call("POST", f"/v1/projects/{PROJECT}/workloads/{slug}/keys", {"name": "vendor sdk"})
        assert status == 201, (status, body)
        keys[slug] = body["key"]
    data = DataClient(base_url=base, project=PROJECT)

    sent, value, error = recorded(lambda: data.endpoint("vendor-chat", api_key=keys["vendor-chat"]).generate_text(prompt="hello vendor sdk"))
    report["generate_text"] = {"sent": sent, "error": error, "text": value and value.text, "model": value and value.model}

    def stream() -> list[dict[str, Any]]:
        chunks = data.endpoint("vendor-chat", api_key=keys["vendor-chat"]).generate_text_stream(prompt="stream to me")
        return [{"text": c.text, "finish_reason": c.finish_reason, "choices": len(c.raw.get("choices", []))} for c in chunks]

    sent, value, error = recorded(stream)
    report["generate_text_stream"] = {"sent": sent, "error": error, "chunks": value}

    sent, value, error = recorded(lambda: data.endpoint("vendor-embed", api_key=keys["vendor-embed"]).embed(input=["one two", "three"]))
    report["embed"] = {"sent": sent, "error": error, "dims": value and [len(v) for v in value.embeddings]}

    documents = ["a green pear", "red apple pie with red apples", "an apple", "nothing relevant"]

    def rerank(top_n: int | None) -> list[list[Any]]:
        result = data.endpoint("vendor-rerank", api_key=keys["vendor-rerank"]).rerank(query="red apple", documents=documents, top_n=top_n)
        return [[item.index, item.relevance_score] for item in result.results]

    sent, value, error = recorded(lambda: rerank(None))
    report["rerank"] = {"sent": sent, "error": error, "results": value}
    sent, value, error = recorded(lambda: rerank(2))
    report["rerank_top_n"] = {"sent": sent, "error": error, "results": value}

    # A token scoped to another project: refused on this project's workload id, which stays.
    platform_call("POST", "/v1/projects", {"slug": "other"})
    status, token = platform_call("POST", "/v1/tokens", {"name": "other only", "project": "other"})
    assert status == 201, (status, token)
    chat_id = report["api_object"].get("id")
    scoped = ManagementClient(base_url=base, sdk_token=token["token"], project="other")
    sent, value, error = recorded(lambda: scoped.delete("vendor-chat", project=PROJECT))
    raw_status, raw_body = platform_call("DELETE", f"/api/workloads/{chat_id}", token=token["token"])
    patch_status, patch_body = platform_call("PATCH", f"/api/workloads/{chat_id}", {"description": "taken over"}, token=token["token"])
    still = generation("vendor-chat")
    report["scoped_token"] = {
        "sdk": {"sent": sent, "error": error},
        "delete_by_id": {"status": raw_status, "body": raw_body},
        "patch_by_id": {"status": patch_status, "body": patch_body},
        "workload_after": still,
    }
    live_key = ManagementClient(base_url=base, sdk_token=keys["vendor-chat"], project=PROJECT)
    sent, value, error = recorded(lambda: live_key.delete("vendor-chat"))
    report["wrong_credential"] = {"sent": sent, "error": error}

    deletes = []
    for _ in range(2):
        sent, value, error = recorded(lambda: mgmt.delete("vendor-chat"))
        deletes.append({"sent": sent, "value": value, "error": error})
    report["delete"] = deletes
    for slug in ("vendor-embed", "vendor-rerank"):
        mgmt.delete(slug)
    server.shutdown()
    return report


if __name__ == "__main__":
    try:
        print(json.dumps({"ok": True, "report": main()}))
    except Exception:  # noqa: BLE001 - the vitest side shows the trace
        print(json.dumps({"ok": False, "trace": traceback.format_exc()}))
