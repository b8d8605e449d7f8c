"""The official ``openai`` client and the SDK's ``DataClient`` through the LOCAL GATEWAY.

Runs against ``gateway_platform`` (a local platform subprocess, see conftest.py): the client's base
URL is ``{base}/endpoint/acme/<slug>/v1`` and its API key an ``ik_live_`` key created for the workload.
The workloads are served by the OpenAI-compatible TEST DOUBLE ``test/replicas/openai-replica.mjs``
(model weights cannot be downloaded here), which echoes the prompt after ``echo(<model>):`` and
returns deterministic 8-dimension embeddings.
"""

from __future__ import annotations

import pytest
from openai import AuthenticationError as OpenAIAuthenticationError
from openai import OpenAI

from _gateway import GatewayPlatform, TestWorkload, processes_with
from inferencekey import AuthenticationError, Backend, DataClient, TaskType

pytestmark = pytest.mark.platform

CHAT = TestWorkload("gw-chat", "org/chat-model", Backend.VLLM, TaskType.TEXT2TEXT)
EMBED = TestWorkload("gw-embed", "org/embed-model", Backend.VLLM, TaskType.EMBEDDING)


@pytest.fixture(scope="module")
def gateway(gateway_platform: GatewayPlatform) -> GatewayPlatform:
    gateway_platform.provision([CHAT, EMBED])
    return gateway_platform


def client_for(gateway: GatewayPlatform, slug: str, key: str | None = None) -> OpenAI:
    return OpenAI(base_url=gateway.endpoint_url(slug), api_key=key or gateway.keys[slug], max_retries=0)


def test_the_sdk_computes_the_gateway_base_url(gateway: GatewayPlatform) -> None:
    endpoint = DataClient(project="acme", base_url=gateway.base_url).endpoint("gw-chat", api_key=gateway.keys["gw-chat"])
    assert endpoint.base_url == gateway.endpoint_url("gw-chat")


def test_chat_completion(gateway: GatewayPlatform) -> None:
    with client_for(gateway, CHAT.slug) as client:
        completion = client.chat.completions.create(
            model=CHAT.model,
            messages=[{"role": "user", "content": "Hola, ¿cuál es mi saldo?"}],
            temperature=0.2,
            max_tokens=300,
        )
    assert completion.choices[0].message.content == f"echo({CHAT.model}): Hola, ¿cuál es mi saldo?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == CHAT.model
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_chat_completion_stream_collects_the_deltas(gateway: GatewayPlatform) -> None:
    deltas: list[str] = []
    finish: list[str] = []
    usage_seen = False
    with client_for(gateway, CHAT.slug) as client:
        stream = client.chat.completions.create(
            model=CHAT.model,
            messages=[{"role": "user", "content": "tell me a story about llamas"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.usage is not None:
                usage_seen = True
            for choice in chunk.choices:
                if choice.delta.content:
                    deltas.append(choice.delta.content)
                if choice.finish_reason:
                    finish.append(choice.finish_reason)
    assert len(deltas) == 7, deltas  # the prefix and 6 words, one delta each: streamed, not in one piece
    assert "".join(deltas) == f"echo({CHAT.model}): tell me a story about llamas"
    assert finish == ["stop"]
    assert usage_seen


def test_embeddings(gateway: GatewayPlatform) -> None:
    with client_for(gateway, EMBED.slug) as client:
        result = client.embeddings.create(model=EMBED.model, input=["invoice #42", "refund policy"])
    assert result.model == EMBED.model
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    assert result.data[0].embedding != result.data[1].embedding
    with client_for(gateway, EMBED.slug) as client:
        again = client.embeddings.create(model=EMBED.model, input="invoice #42")
    assert again.data[0].embedding == result.data[0].embedding, "the test double is deterministic"


def test_a_key_of_another_workload_is_refused(gateway: GatewayPlatform) -> None:
    with client_for(gateway, CHAT.slug, key=gateway.keys[EMBED.slug]) as client, pytest.raises(
        OpenAIAuthenticationError
    ):
        client.chat.completions.create(model=CHAT.model, messages=[{"role": "user", "content": "hi"}])


def test_data_client_stream_text_through_the_gateway(gateway: GatewayPlatform) -> None:
    with DataClient(project="acme", base_url=gateway.base_url) as data:
        endpoint = data.endpoint(CHAT.slug, api_key=gateway.keys[CHAT.slug])
        with endpoint.stream_text(prompt="one two three four", max_tokens=300) as stream:
            deltas = list(stream)
            result = stream.collect()
    assert len(deltas) == 5, deltas
    assert "".join(deltas) == f"echo({CHAT.model}): one two three four"
    assert result.text == "".join(deltas)
    assert result.model == CHAT.model
    assert result.finish_reason == "stop"
    assert result.usage is not None and result.usage.completion_tokens == 5


def test_data_client_refuses_a_wrong_key(gateway: GatewayPlatform) -> None:
    with DataClient(project="acme", base_url=gateway.base_url) as data:
        endpoint = data.endpoint(CHAT.slug, api_key="ik_live_WrongKeyWrongKeyWrongKey000000")
        with pytest.raises(AuthenticationError):
            endpoint.generate_text(prompt="hi")


def test_every_replica_carries_the_session_marker(gateway: GatewayPlatform) -> None:
    """The teardown's orphan scan looks for this marker; it must match the running replicas."""
    # One /bin/sh -c wrapper and/or one node process per workload (the guide's 5 plus this module's 2).
    assert len(processes_with(gateway.marker)) >= len(gateway.keys) >= 7
