"""Async jobs on the endpoint: long polling, backoff, timeouts, idempotency, helpers' errors, env defaults."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx
import pytest

from conftest import BASE, NO_JITTER, TOKEN, Script, json_response
from inferencekey import (
    AsyncDataClient,
    ConfigurationError,
    DataClient,
    InferenceKeyError,
    JobFailedError,
    JobNotCancellableError,
    ManagementClient,
    NotFoundError,
    ProgressReporter,
    ReadinessEvent,
    WaitTimeoutError,
)

KEY = "ik_live_testkey000000000000000000000"


class Clock:
    """A monotonic clock the test moves: sleeps and held polls advance it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def job(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "job_1",
        "object": "job",
        "project": "acme",
        "workload": "sentiment",
        "task_type": "classification",
        "status": status,
        "created_at": "2025-07-01T12:00:00.000Z",
        "started_at": None,
        "finished_at": None,
        "expires_at": "2025-07-08T12:00:00.000Z",
        "history": [{"status": "queued", "at": "2025-07-01T12:00:00.000Z"}],
        "attempts": 0,
        "max_queue_seconds": 3600,
        "idempotency_key": None,
        "result": None,
        "error": None,
        "webhook": None,
        **extra,
    }


def held(clock: Clock, seconds: float, body: dict[str, Any]) -> Any:
    """A responder that answers after holding the request ``seconds`` (of the test's clock)."""

    def respond(request: httpx.Request) -> httpx.Response:
        clock.now += seconds
        return json_response(200, body)

    return respond


def endpoint(steps: list[Any], clock: Clock | None = None, **options: Any) -> tuple[Any, Script, list[float]]:
    script, sleeps = Script(list(steps)), []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if clock is not None:
            clock.sleep(seconds)

    client = DataClient(
        project="acme",
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=sleep,
        retry_policy=NO_JITTER,
        **options,
    )
    if clock is not None:
        client._http.clock = clock
    client._http.random = lambda: 0.0
    return client.endpoint("sentiment", api_key=KEY), script, sleeps


def test_wait_for_job_polls_again_at_once_after_a_held_poll_and_sends_wait() -> None:
    # Prepare
    clock = Clock()
    ep, script, sleeps = endpoint(
        [held(clock, 20, job("running")), held(clock, 3, job("succeeded", result={"data": []}))], clock
    )

    # Act
    done = ep.wait_for_job("job_1")

    # Assess
    assert done.status == "succeeded"
    assert [r.url.params.get("wait") for r in script.requests] == ["20", "20"]
    assert [r.url.path for r in script.requests] == ["/endpoint/acme/sentiment/v1/jobs/job_1"] * 2
    assert sleeps == []


def test_wait_for_job_backs_off_after_polls_that_come_back_early() -> None:
    # Prepare
    clock = Clock()
    ep, _, sleeps = endpoint(
        [json_response(200, job("queued")), json_response(200, job("waiting")), json_response(200, job("expired"))],
        clock,
    )

    # Act
    done = ep.wait_for_job("job_1")

    # Assess
    assert done.status == "expired"
    assert sleeps == [0.5, 1.0]


def test_wait_for_job_raises_wait_timeout_with_the_last_job_and_shortens_the_last_poll() -> None:
    # Prepare
    clock = Clock()
    ep, script, _ = endpoint([held(clock, 20, job("running")), held(clock, 5, job("running"))], clock)

    # Act
    with pytest.raises(WaitTimeoutError) as caught:
        ep.wait_for_job("job_1", timeout=25)

    # Assess
    assert caught.value.code == "wait_timeout"
    assert caught.value.last.status == "running"
    assert [r.url.params.get("wait") for r in script.requests] == ["20", "5"]


def test_the_timeout_of_a_held_poll_covers_its_wait_whatever_the_client_timeout() -> None:
    # Prepare
    ep, script, _ = endpoint([json_response(200, job("running"))], timeout=5)

    # Act
    ep.get_job("job_1", wait=20)

    # Assess
    assert script.requests[0].extensions["timeout"]["read"] == 30


def test_submit_job_generates_a_new_key_per_call_and_validates_what_the_server_would_refuse() -> None:
    # Prepare
    ep, script, _ = endpoint([json_response(202, job("queued")), json_response(202, job("queued"))])

    # Act
    ep.submit_job({"input": "a"})
    ep.submit_job({"input": "a"})

    # Assess
    first, second = (r.headers["idempotency-key"] for r in script.requests)
    assert first != second
    with pytest.raises(ValueError, match="idempotency_key"):
        ep.submit_job({"input": "a"}, idempotency_key="k" * 256)
    with pytest.raises(TypeError, match="dict"):
        ep.submit_job(["a"])  # type: ignore[arg-type]
    assert len(script.requests) == 2


def test_submit_job_is_retried_with_its_key_after_a_reset_connection() -> None:
    # Prepare
    ep, script, _ = endpoint([httpx.ReadError("reset"), json_response(202, job("queued"))])

    # Act
    ep.submit_job({"input": "a"})

    # Assess
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1]


def test_classify_raises_job_failed_with_the_jobs_error() -> None:
    # Prepare
    failed = job("failed", error={"code": "upstream_bad_response", "message": "CUDA out of memory"})
    ep, _, _ = endpoint([json_response(202, job("queued")), json_response(200, failed)])

    # Act
    with pytest.raises(JobFailedError) as caught:
        ep.classify("great product")

    # Assess
    assert (caught.value.code, caught.value.message, caught.value.job.status) == (
        "upstream_bad_response",
        "CUDA out of memory",
        "failed",
    )


def test_helpers_validate_their_input_before_any_request() -> None:
    # Prepare
    ep, script, _ = endpoint([])

    # Act / Assess
    with pytest.raises(TypeError, match="input"):
        ep.classify(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="either input"):
        ep.reward()
    with pytest.raises(TypeError, match="documents"):
        ep.jobs.rerank("q", "not a list")
    with pytest.raises(ValueError, match="top_n"):
        ep.rerank("q", ["a"], top_n=0)
    assert script.requests == []


def test_cancel_job_sends_delete_and_maps_job_not_cancellable() -> None:
    # Prepare
    refused = {
        "error": {"message": "running", "type": "invalid_request_error", "param": None, "code": "job_not_cancellable"}
    }
    ep, script, _ = endpoint([json_response(200, job("cancelled")), json_response(409, refused)])

    # Act
    cancelled = ep.cancel_job("job_1")
    with pytest.raises(JobNotCancellableError):
        ep.cancel_job("job_2")

    # Assess
    assert cancelled.status == "cancelled"
    assert script.requests[0].method == "DELETE"


def test_async_wait_for_job_long_polls_like_the_sync_one() -> None:
    # Prepare
    clock = Clock()
    script, sleeps = (
        Script([held(clock, 20, job("running")), json_response(200, job("succeeded", result={"data": []}))]),
        [],
    )

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    client = AsyncDataClient(
        project="acme", base_url=BASE, http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)), sleep=sleep
    )
    client._http.clock = clock

    # Act
    done = asyncio.run(client.endpoint("sentiment", api_key=KEY).wait_for_job("job_1"))

    # Assess
    assert done.status == "succeeded"
    assert [r.url.params.get("wait") for r in script.requests] == ["20", "20"]
    assert sleeps == []


# --- environment defaults -------------------------------------------------------------------------


def test_data_client_from_env_reads_project_and_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    monkeypatch.setenv("INFERENCEKEY_PROJECT", "from-env")
    monkeypatch.setenv("INFERENCEKEY_API_KEY", KEY)
    monkeypatch.setenv("INFERENCEKEY_BASE_URL", BASE)
    script = Script([json_response(200, {"choices": [{"message": {"content": "hi"}}]})])

    # Act
    data = DataClient.from_env(http_client=httpx.Client(transport=httpx.MockTransport(script)))
    data.endpoint("bot").generate_text(prompt="Hi")

    # Assess
    assert data.project == "from-env"
    assert DataClient.from_env(project="acme").project == "acme"
    assert script.requests[0].url.path == "/endpoint/from-env/bot/v1/chat/completions"
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_an_explicit_none_key_is_an_error_never_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    data = DataClient(project="acme", api_key=KEY)
    bare = DataClient(project="acme")

    # Act / Assess
    assert data.endpoint("bot").slug == "bot"
    with pytest.raises(ConfigurationError, match="ik_live_"):
        data.endpoint("bot", api_key=None)
    with pytest.raises(ConfigurationError, match="INFERENCEKEY_API_KEY"):
        bare.endpoint("bot")


def test_from_env_names_inferencekey_project_when_no_project_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    monkeypatch.delenv("INFERENCEKEY_PROJECT", raising=False)
    monkeypatch.setenv("INFERENCEKEY_SDK_TOKEN", TOKEN)

    # Act / Assess
    with pytest.raises(ConfigurationError, match="INFERENCEKEY_PROJECT"):
        DataClient.from_env()
    with pytest.raises(ConfigurationError, match="INFERENCEKEY_PROJECT"):
        ManagementClient.from_env()
    monkeypatch.setenv("INFERENCEKEY_PROJECT", "from-env")
    assert ManagementClient.from_env().project == "from-env"
    assert ManagementClient.from_env(project="acme").project == "acme"


# --- readiness ------------------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_prints_lines_otherwise() -> None:
    # Prepare
    tty, plain, silent = Tty(), io.StringIO(), Tty()
    events = [ReadinessEvent("pulling", "weights", 1500, 4), ReadinessEvent("ready", "1/1 ready", 9000, 6)]

    # Act
    for sink, mode in ((tty, "auto"), (plain, "auto"), (silent, "silent")):
        reporter = ProgressReporter("support-bot", mode, sink)  # type: ignore[arg-type]
        for e in events:
            reporter.report(e)
        reporter.end()

    # Assess
    assert tty.getvalue() == (
        "\r\x1b[2Ksupport-bot: pulling - weights (step 4, 1.5 s)"
        "\r\x1b[2Ksupport-bot: ready - 1/1 ready (step 6, 9.0 s)\n"
    )
    assert plain.getvalue().splitlines() == [
        "support-bot: pulling - weights (step 4, 1.5 s)",
        "support-bot: ready - 1/1 ready (step 6, 9.0 s)",
    ]
    assert silent.getvalue() == ""


def _mgmt(steps: list[Any], clock: Clock | None = None) -> tuple[ManagementClient, Script, list[float]]:
    script, sleeps = Script(list(steps)), []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if clock is not None:
            clock.sleep(seconds)

    mgmt = ManagementClient(
        token=TOKEN,
        project="acme",
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=sleep,
    )
    if clock is not None:
        mgmt._http.clock = clock
    return mgmt, script, sleeps


def _sse(*events: dict[str, Any]) -> httpx.Response:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return httpx.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})


def test_wait_until_ready_writes_plain_lines_to_stderr_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    # Prepare
    mgmt, _, _ = _mgmt(
        [
            _sse(
                {"phase": "starting", "message": "", "elapsed_ms": 800, "step": 5},
                {"phase": "ready", "message": "ok", "elapsed_ms": 900, "step": 6},
            )
        ]
    )

    # Act
    ready = mgmt.wait_until_ready("bot")

    # Assess
    assert ready.phase == "ready"
    assert capsys.readouterr().err.splitlines() == ["bot: starting (step 5, 0.8 s)", "bot: ready - ok (step 6, 0.9 s)"]


def test_wait_until_ready_silent_prints_nothing_and_on_progress_replaces_the_view(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Prepare
    ready = {"phase": "ready", "message": "ok", "elapsed_ms": 900, "step": 6}
    mgmt, _, _ = _mgmt([_sse(ready), _sse(ready)])
    seen: list[str] = []

    # Act
    mgmt.wait_until_ready("bot", silent=True)
    mgmt.wait_until_ready("bot", on_progress=lambda e: seen.append(e.phase))

    # Assess
    assert capsys.readouterr().err == ""
    assert seen == ["ready"]
    with pytest.raises(ConfigurationError, match="on_progress"):
        mgmt.wait_until_ready("bot", on_progress="loud")  # type: ignore[arg-type]


def test_wait_until_ready_reconnects_after_a_dropped_connection_and_times_out_naming_the_last_phase() -> None:
    # Prepare: a stream that only ever says "pulling", dropped and reopened until time runs out.
    clock = Clock()
    pulling = {"phase": "pulling", "message": "downloading", "elapsed_ms": 2000, "step": 4}

    def stalled(request: httpx.Request) -> httpx.Response:
        clock.now += 50
        return _sse(pulling)

    mgmt, script, sleeps = _mgmt(
        [
            stalled,
            httpx.ReadError("reset"),
            httpx.ReadError("reset"),
            httpx.ReadError("reset"),
            stalled,
            stalled,
            stalled,
        ],
        clock,
    )

    # Act
    with pytest.raises(WaitTimeoutError) as caught:
        mgmt.wait_until_ready("bot", timeout=120, silent=True)

    # Assess
    assert "last phase: pulling" in caught.value.message
    assert caught.value.last == ReadinessEvent("pulling", "downloading", 2000, 4)
    assert len(script.requests) >= 4
    assert sleeps, "reconnects wait a backoff"


def test_wait_until_ready_raises_a_404_at_once() -> None:
    # Prepare
    body = {"error": {"code": "not_found", "message": "no workload bot", "request_id": "req_1", "details": []}}
    mgmt, script, _ = _mgmt([json_response(404, body)])

    # Act / Assess
    with pytest.raises(NotFoundError):
        mgmt.wait_until_ready("bot", silent=True)
    assert len(script.requests) == 1
    assert script.requests[0].url.path == "/v1/projects/acme/workloads/bot/readiness-events"


def test_a_readiness_step_written_as_a_string_is_read_as_a_number() -> None:
    # Prepare
    vendor = '{"phase": "pulling", "message": "weights", "elapsed_ms": 1500, "step": "4"}'

    # Act
    event = ReadinessEvent.from_data(vendor)

    # Assess
    assert event == ReadinessEvent("pulling", "weights", 1500, 4)
    assert ReadinessEvent.from_data('{"message": "no phase"}') is None


def test_an_answer_that_is_not_a_job_is_an_invalid_response() -> None:
    # Prepare
    ep, _, _ = endpoint([json_response(200, {"object": "list", "data": []}), json_response(200, {"data": "nope"})])

    # Act / Assess
    with pytest.raises(InferenceKeyError, match="job object") as caught:
        ep.get_job("job_1")
    assert caught.value.code == "invalid_response"
    with pytest.raises(InferenceKeyError) as listed:
        ep.list_jobs_page()
    assert listed.value.code == "invalid_response"
