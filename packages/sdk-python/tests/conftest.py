"""Shared test helpers: MockTransport clients whose sleeps are recorded, and the local platform fixture."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from _gateway import GUIDE_CALL_WORKLOADS, GatewayPlatform, new_marker
from _platform import LocalPlatform, start_local_platform
from inferencekey import DataClient, ManagementClient, RetryPolicy

TOKEN = "ik_sdk_TestTokenTestTokenTestToken00"
BASE = "https://api.test"

Responder = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})}
    )


def error_body(code: str, message: str = "nope", details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": "req_test0001", "details": details or []}}


@dataclass
class Script:
    """Answers requests in order from a list (responses, exceptions or callables) and records them."""

    steps: list[httpx.Response | Exception | Responder]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request #{len(self.requests)}: {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@dataclass
class Harness:
    script: Script
    sleeps: list[float]
    client: httpx.Client

    @property
    def requests(self) -> list[httpx.Request]:
        return self.script.requests


NO_JITTER = RetryPolicy(jitter=0.0)


def harness(steps: Iterable[httpx.Response | Exception | Responder]) -> Harness:
    script = Script(list(steps))
    return Harness(script, [], httpx.Client(transport=httpx.MockTransport(script)))


@pytest.fixture
def mgmt_with() -> Callable[..., tuple[ManagementClient, Harness]]:
    """``mgmt_with([responses...], **options)`` -> a ManagementClient on a MockTransport plus its harness."""

    def make(
        steps: Iterable[httpx.Response | Exception | Responder], **options: Any
    ) -> tuple[ManagementClient, Harness]:
        h = harness(steps)
        options.setdefault("retry_policy", NO_JITTER)
        client = ManagementClient(
            token=TOKEN, project="acme", base_url=BASE, http_client=h.client, sleep=h.sleeps.append, **options
        )
        return client, h

    return make


@pytest.fixture
def data_with() -> Callable[..., tuple[DataClient, Harness]]:
    def make(steps: Iterable[httpx.Response | Exception | Responder], **options: Any) -> tuple[DataClient, Harness]:
        h = harness(steps)
        options.setdefault("retry_policy", NO_JITTER)
        client = DataClient(project="acme", base_url=BASE, http_client=h.client, sleep=h.sleeps.append, **options)
        return client, h

    return make


# --- the local platform (integration tests) -----------------------------------------------------


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    """The local platform as a subprocess, its dev.env loaded into ``os.environ`` for the session."""
    platform = start_local_platform(tmp_path_factory.mktemp("inferencekey-home"))
    patch = pytest.MonkeyPatch()
    try:
        for name, value in platform.env.items():
            patch.setenv(name, value)
        yield platform
    finally:
        patch.undo()
        platform.stop()


@pytest.fixture(scope="session")
def acme_worker_id(local_platform: LocalPlatform) -> str:
    """A private worker registered in project ``acme`` through the SDK (the guide's ``wrk_7Yc2...``)."""
    # workers.register needs the project to exist; only ensure() creates projects implicitly, so the
    # fixture creates it through the control API (POST /v1/projects; 409 when it already exists).
    response = httpx.post(
        f"{local_platform.base_url}/v1/projects",
        json={"slug": "acme"},
        headers={"authorization": f"Bearer {local_platform.sdk_token}"},
        timeout=30,
    )
    assert response.status_code in (201, 409), response.text
    with ManagementClient.from_env(project="acme") as mgmt:
        return mgmt.workers.register(name="guide-gpu-box", labels={"purpose": "guide-examples"}).id


@pytest.fixture(scope="session")
def gateway_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayPlatform]:
    """A second local platform whose ``acme`` workloads are served by the TEST DOUBLE replica.

    Its own platform, not ``local_platform``: the guide's provision and policy examples re-ensure the
    same ``acme`` slugs there with their real commands (``vllm serve ...``), which would replace the
    test double. The guide's five call workloads are provisioned (see ``_gateway.GUIDE_CALL_WORKLOADS``)
    and ready before the first test; teardown SIGTERMs the platform and fails if any replica is left.
    """
    platform = start_local_platform(tmp_path_factory.mktemp("inferencekey-gateway-home"))
    gateway = GatewayPlatform(platform, new_marker("gateway"))
    try:
        gateway.provision(GUIDE_CALL_WORKLOADS)
        yield gateway
    finally:
        gateway.stop_and_check_no_orphans()
