"""DataClient / Endpoint against a local fake OpenAI-compatible server (a test double, see _fake_openai.py).

The gateway that serves ``/endpoint/{project}/{workload}/v1`` is built in a later issue; these tests
run the SDK's data half over real HTTP against ``FakeOpenAIServer``, a stand-in on 127.0.0.1:0 that
checks the bearer key and serves chat/completions (including ``stream=true`` SSE) and embeddings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _fake_openai import CHAT_MODEL, EMBEDDING_MODEL, FakeOpenAIServer
from conftest import harness, json_response
from inferencekey import (
    APIConnectionError,
    AsyncDataClient,
    AuthenticationError,
    BadRequestError,
    ChatMessage,
    ConfigurationError,
    DataClient,
    InferenceKeyError,
    InternalServerError,
    NotFoundError,
    RetryPolicy,
)

KEY = "ik_live_FakeServerKeyFakeServerKey00"


@pytest.fixture(scope="module")
def running_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def server(running_server: FakeOpenAIServer) -> FakeOpenAIServer:
    running_server.reset()
    return running_server


@pytest.fixture
def data(server: FakeOpenAIServer) -> Iterator[DataClient]:
    sleeps: list[float] = []
    with DataClient(
        project="acme", base_url=server.base_url, sleep=sleeps.append, retry_policy=RetryPolicy(jitter=0.0)
    ) as client:
        client.sleeps = sleeps  # type: ignore[attr-defined]
        yield client


def test_endpoint_base_url(data: DataClient, server: FakeOpenAIServer) -> None:
    assert data.endpoint("support-bot", api_key=KEY).base_url == server.endpoint_url("support-bot")


def test_generate_text_sends_one_user_message_to_chat_completions(data: DataClient, server: FakeOpenAIServer) -> None:
    # Act
    out = data.endpoint("support-bot", api_key=KEY).generate_text(
        prompt="Hola, ¿cuál es mi saldo?", temperature=0.2, max_tokens=300
    )

    # Assess
    assert out.text == "echo: Hola, ¿cuál es mi saldo?"
    assert out.model == CHAT_MODEL
    assert out.finish_reason == "stop"
    assert out.usage is not None and out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/endpoint/acme/support-bot/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {
        "messages": [{"role": "user", "content": "Hola, ¿cuál es mi saldo?"}],
        "temperature": 0.2,
        "max_tokens": 300,
    }


def test_generate_text_reports_length_finish(data: DataClient) -> None:
    out = data.endpoint("support-bot", api_key=KEY).generate_text(prompt="one two three four", max_tokens=2)
    assert (out.text, out.finish_reason) == ("echo: one", "length")


def test_stream_text_yields_deltas(data: DataClient, server: FakeOpenAIServer) -> None:
    # Act
    with data.endpoint("support-bot", api_key=KEY).stream_text(prompt="tell me a story", max_tokens=10) as stream:
        deltas = list(stream)

    # Assess
    assert deltas == ["echo:", " tell", " me", " a", " story"]
    assert stream.text == "echo: tell me a story"
    assert (stream.model, stream.finish_reason) == (CHAT_MODEL, "stop")
    assert stream.usage is not None and stream.usage.completion_tokens == 5
    assert server.requests[0].body["stream"] is True
    assert server.requests[0].body["stream_options"] == {"include_usage": True}
    assert server.requests[0].headers["accept"] == "text/event-stream"


def test_stream_collect_and_early_close(data: DataClient) -> None:
    ep = data.endpoint("support-bot", api_key=KEY)
    assert ep.stream_text(prompt="a b", include_usage=False).collect().text == "echo: a b"
    stream = ep.stream_text(prompt="a b c d e f")
    assert next(stream) == "echo:"
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)


def test_chat_and_stream_chat(data: DataClient, server: FakeOpenAIServer) -> None:
    ep = data.endpoint("support-bot", api_key=KEY)
    messages: list[Any] = [ChatMessage("system", "Be brief."), {"role": "user", "content": "What is my balance?"}]
    reply = ep.chat(messages=messages, max_tokens=50, stop=["\n"], extra_body={"top_k": 5})
    assert reply.message.role == "assistant"
    assert reply.text == reply.message.content == "echo: What is my balance?"
    assert server.requests[0].body == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is my balance?"}],
        "max_tokens": 50,
        "stop": ["\n"],
        "top_k": 5,
    }
    assert "".join(ep.stream_chat(messages=[{"role": "user", "content": "hi there"}])) == "echo: hi there"


def test_chat_rejects_a_string_for_messages(data: DataClient) -> None:
    with pytest.raises(TypeError, match="messages"):
        data.endpoint("support-bot", api_key=KEY).chat(messages="hi")  # type: ignore[arg-type]


def test_embed(data: DataClient, server: FakeOpenAIServer) -> None:
    emb = data.endpoint("billing", api_key=KEY).embed(input=["invoice #42", "refund policy"])
    assert len(emb.embeddings) == 2 and all(len(v) == 8 for v in emb.embeddings)
    assert emb.embeddings[0] != emb.embeddings[1]
    assert emb.model == EMBEDDING_MODEL
    assert emb.usage is not None and emb.usage.prompt_tokens == 4
    assert server.requests[0].path == "/endpoint/acme/billing/v1/embeddings"
    assert server.requests[0].body == {"input": ["invoice #42", "refund policy"]}
    single = data.endpoint("billing", api_key=KEY).embed(input="invoice #42")
    assert single.embeddings == [emb.embeddings[0]]
    assert server.requests[1].body == {"input": "invoice #42"}


def test_wrong_key_is_an_authentication_error(data: DataClient) -> None:
    with pytest.raises(AuthenticationError) as caught:
        data.endpoint("support-bot", api_key="ik_live_wrong").generate_text(prompt="hi")
    assert caught.value.code == "invalid_api_key"
    assert caught.value.error_type == "authentication_error"
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_fake")


def test_wrong_model_is_vllm_style_not_found(data: DataClient) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        data.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi", model="other/model")


def test_bad_request_with_null_code(data: DataClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        data.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi", max_tokens=0)
    assert caught.value.code == "invalid_request_error"


def test_workload_scaling_up_is_retried_honouring_retry_after(data: DataClient, server: FakeOpenAIServer) -> None:
    # Prepare: the gateway says the workload is scaling up from zero, twice.
    body = {
        "error": {
            "message": "Workload is scaling up; retry after 4 s.",
            "type": "service_unavailable",
            "code": "workload_scaling_up",
        }
    }
    server.fail_next(503, body, {"retry-after": "4"})
    server.fail_next(503, body, {"retry-after": "2"})

    # Act
    out = data.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi")

    # Assess
    assert out.text == "echo: hi"
    assert len(server.requests) == 3
    assert data.sleeps == [4.0, 2.0]  # type: ignore[attr-defined]


SCALING_UP = {"error": {"message": "starting", "type": "service_unavailable", "code": "workload_scaling_up"}}


def test_a_cold_workload_is_polled_past_max_retries_after_each_retry_after_ms(data_with: Any) -> None:
    # Prepare: four "scaling up" answers asking to come back in 300 ms, then the replica answers.
    cold = [json_response(503, SCALING_UP, {"retry-after": "1", "retry-after-ms": "300"}) for _ in range(4)]
    reply = {"model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "awake"}}]}
    client, h = data_with([*cold, json_response(200, reply)], max_retries=0)

    # Act
    out = client.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi")

    # Assess
    assert out.text == "awake"
    assert len(h.requests) == 5
    assert h.sleeps == [0.3, 0.3, 0.3, 0.3]


def test_polling_stops_when_the_next_poll_would_pass_scale_up_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: a clock that the waits move; answers asking to come back in 2 s.
    now = [1000.0]
    monkeypatch.setattr("inferencekey._transport.time.monotonic", lambda: now[0])
    h = harness([json_response(503, SCALING_UP, {"retry-after": "2"}) for _ in range(4)])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = DataClient(project="acme", base_url="http://gw.test", http_client=h.client, sleep=sleep, max_retries=0)

    # Act
    with pytest.raises(InternalServerError) as caught:
        client.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi", scale_up_timeout=3)

    # Assess: polled at 0 and 2 s; the next, at 4 s, is past the 3 s budget.
    assert caught.value.code == "workload_scaling_up"
    assert len(h.requests) == 2
    assert h.requests[0].headers["x-scale-up-timeout"] == "3"


def test_the_async_client_polls_a_cold_workload_too() -> None:
    # Prepare
    answers = iter(
        [json_response(503, SCALING_UP, {"retry-after-ms": "250"}) for _ in range(3)]
        + [json_response(200, {"model": "m", "choices": [{"index": 0, "message": {"content": "awake"}}]})]
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> str:
        client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: next(answers)))
        async with AsyncDataClient(
            project="acme", base_url="http://gw.test", http_client=client, sleep=sleep, max_retries=0
        ) as adata:
            return (await adata.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi")).text

    # Act
    text = asyncio.run(run())

    # Assess
    assert text == "awake"
    assert slept == [0.25, 0.25, 0.25]


def test_streaming_is_retried_while_scaling_up(data: DataClient, server: FakeOpenAIServer) -> None:
    server.fail_next(
        503,
        {"error": {"message": "scaling", "type": "service_unavailable", "code": "workload_scaling_up"}},
        {"retry-after": "1"},
    )
    assert "".join(data.endpoint("support-bot", api_key=KEY).stream_text(prompt="hi")) == "echo: hi"
    assert len(server.requests) == 2


def test_a_plain_500_on_a_data_call_is_not_retried(data: DataClient, server: FakeOpenAIServer) -> None:
    server.fail_next(500, {"error": {"message": "replica crashed", "type": "internal_error", "code": "replica_failed"}})
    with pytest.raises(InternalServerError) as caught:
        data.endpoint("support-bot", api_key=KEY).generate_text(prompt="hi")
    assert caught.value.code == "replica_failed"
    assert len(server.requests) == 1


def test_an_error_event_mid_stream_is_raised(data_with: Any) -> None:
    sse = (
        'data: {"model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
        'data: {"error": {"object": "error", "message": "replica lost", "type": "InternalServerError", "code": 500}}\n\n'
    )
    client, _ = data_with([httpx.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})])
    stream = client.endpoint("support-bot", api_key=KEY).stream_text(prompt="hi")
    assert next(stream) == "Hi"
    with pytest.raises(InternalServerError, match="replica lost"):
        next(stream)


def test_a_stream_without_done_ends_at_eof(data_with: Any) -> None:
    sse = 'data: {"model": "m", "choices": [{"index": 0, "text": "a"}]}\n\ndata: {"model": "m", "choices": [{"index": 0, "text": "b", "finish_reason": "stop"}]}'
    client, _ = data_with([httpx.Response(200, content=sse.encode())])
    stream = client.endpoint("support-bot", api_key=KEY).stream_text(prompt="hi")
    assert list(stream) == ["a", "b"]
    assert stream.finish_reason == "stop"


def test_a_non_json_event_is_an_invalid_response(data_with: Any) -> None:
    client, _ = data_with([httpx.Response(200, content=b"data: <html>\n\n")])
    with pytest.raises(InferenceKeyError) as caught:
        list(client.endpoint("support-bot", api_key=KEY).stream_text(prompt="hi"))
    assert caught.value.code == "invalid_response"


@pytest.mark.parametrize(
    ("slug", "key", "message"),
    [("", KEY, "slug"), ("bot", "", "ik_live_"), ("bot", "ik_sdk_abc", "control token")],
)
def test_endpoint_rejects_bad_settings(slug: str, key: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        DataClient(project="acme").endpoint(slug, api_key=key)


def test_data_client_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERENCEKEY_SDK_TOKEN", raising=False)
    monkeypatch.setenv("INFERENCEKEY_BASE_URL", "http://127.0.0.1:8787")
    assert (
        DataClient.from_env(project="acme").endpoint("bot", api_key=KEY).base_url
        == "http://127.0.0.1:8787/endpoint/acme/bot/v1"
    )
    with pytest.raises(ConfigurationError, match="project"):
        DataClient(project="")


def test_mock_transport_sees_the_data_request(data_with: Any) -> None:
    client, h = data_with([json_response(200, {"model": "m", "choices": [{"message": {"content": "ok"}}]})])
    client.endpoint("support bot", api_key=KEY).generate_text(prompt="x")
    assert h.requests[0].url.raw_path == b"/endpoint/acme/support%20bot/v1/chat/completions"
    assert json.loads(h.requests[0].content) == {"messages": [{"role": "user", "content": "x"}]}


def test_async_data_client(server: FakeOpenAIServer) -> None:
    async def main() -> None:
        async with AsyncDataClient(project="acme", base_url=server.base_url) as adata:
            ep = adata.endpoint("support-bot", api_key=KEY)
            assert (await ep.generate_text(prompt="hola", max_tokens=5)).text == "echo: hola"
            assert (await ep.chat(messages=[{"role": "user", "content": "x"}])).message.content == "echo: x"
            stream = await ep.stream_text(prompt="a b c")
            assert [d async for d in stream] == ["echo:", " a", " b", " c"]
            async with await ep.stream_chat(messages=[{"role": "user", "content": "y"}]) as chat_stream:
                assert (await chat_stream.collect()).text == "echo: y"
            emb = await adata.endpoint("billing", api_key=KEY).embed(input=["q"])
            assert len(emb.embeddings) == 1

    asyncio.run(main())


def test_scale_up_timeout_is_sent_as_a_header(data_with: Any) -> None:
    ok = {"model": "m", "choices": [{"message": {"content": "ok"}}]}
    client, h = data_with([json_response(200, ok), json_response(200, ok), json_response(200, ok)], timeout=120)
    ep = client.endpoint("support-bot", api_key=KEY, scale_up_timeout=60)
    ep.generate_text(prompt="x")
    ep.generate_text(prompt="x", scale_up_timeout=2.5)
    client.endpoint("support-bot", api_key=KEY).generate_text(prompt="x")
    assert [r.headers.get("x-scale-up-timeout") for r in h.requests] == ["60", "2.5", None]


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), 60, "5"])
def test_scale_up_timeout_must_be_a_wait_below_the_timeout(value: Any) -> None:
    client = DataClient(project="acme", timeout=60)
    with pytest.raises(ConfigurationError, match="scale_up_timeout"):
        client.endpoint("support-bot", api_key=KEY, scale_up_timeout=value)
    with pytest.raises(ConfigurationError, match="scale_up_timeout"):
        client.endpoint("support-bot", api_key=KEY).generate_text(prompt="x", scale_up_timeout=value)


class _BrokenStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'data: {"model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
        raise httpx.ReadError("connection reset by peer")


def test_a_stream_that_breaks_off_is_a_connection_error(data_with: Any) -> None:
    client, h = data_with([httpx.Response(200, stream=_BrokenStream(), headers={"content-type": "text/event-stream"})])
    stream = client.endpoint("support-bot", api_key=KEY).stream_text(prompt="hi")
    assert next(stream) == "Hi"
    with pytest.raises(APIConnectionError, match="broke off") as caught:
        next(stream)
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert stream.text == "Hi"
    assert len(h.requests) == 1, "a stream that already produced output is never replayed"
