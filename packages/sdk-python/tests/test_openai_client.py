"""The official ``openai`` client pointed at a workload's endpoint base URL, as the guide tells users to do.

Runs against ``FakeOpenAIServer``, a test double for the gateway (see _fake_openai.py), with the
base URL the SDK computes (``Endpoint.base_url``) and an ``ik_live_`` key as the API key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import AuthenticationError as OpenAIAuthenticationError
from openai import OpenAI

from _fake_openai import CHAT_MODEL, EMBEDDING_MODEL, FakeOpenAIServer
from inferencekey import DataClient

KEY = "ik_live_OpenAIClientKeyOpenAIClient0"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake


def client_for(server: FakeOpenAIServer, slug: str, key: str = KEY) -> OpenAI:
    base_url = DataClient(project="acme", base_url=server.base_url).endpoint(slug, api_key=key).base_url
    return OpenAI(base_url=base_url, api_key=key, max_retries=0)


def test_chat_completion(server: FakeOpenAIServer) -> None:
    completion = client_for(server, "support-bot").chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Hola, ¿cuál es mi saldo?"}],
        temperature=0.2,
        max_tokens=300,
    )
    assert completion.choices[0].message.content == "echo: Hola, ¿cuál es mi saldo?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == CHAT_MODEL
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_chat_completion_stream(server: FakeOpenAIServer) -> None:
    stream = client_for(server, "support-bot").chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "tell me a story"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas: list[str] = []
    finish: list[str] = []
    usage_seen = False
    for chunk in stream:
        if chunk.usage is not None:
            usage_seen = True
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert "".join(deltas) == "echo: tell me a story"
    assert finish == ["stop"]
    assert usage_seen


def test_embeddings(server: FakeOpenAIServer) -> None:
    result = client_for(server, "billing").embeddings.create(
        model=EMBEDDING_MODEL, input=["invoice #42", "refund policy"]
    )
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    # The same vectors the SDK's embed() returns (the openai client asks for base64 floats by default).
    sdk = (
        DataClient(project="acme", base_url=server.base_url)
        .endpoint("billing", api_key=KEY)
        .embed(input=["invoice #42", "refund policy"])
    )
    assert [[round(x, 5) for x in d.embedding] for d in result.data] == [
        [round(x, 5) for x in v] for v in sdk.embeddings
    ]


def test_wrong_key_is_refused(server: FakeOpenAIServer) -> None:
    with pytest.raises(OpenAIAuthenticationError):
        client_for(server, "support-bot", key="ik_live_wrong").chat.completions.create(
            model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}]
        )
