"""The first data-plane call to a workload scaled to zero, on the local platform (a subprocess).

The backend is the test double ``test/replicas/openai-replica.mjs`` run by the platform's agent. The
SDK polls the gateway's ``workload_scaling_up`` answers (``retry-after-ms``, at most 2 s) until the
replica answers; the measured time is printed (``pytest -s``).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator

import pytest

from _guide import REPO_ROOT
from _platform import LocalPlatform
from inferencekey import Backend, DataClient, ExecutionPolicy, ManagementClient, WorkloadSpec

pytestmark = pytest.mark.platform

NODE = REPO_ROOT / ".tools" / "node22" / "bin" / "node"
REPLICA = REPO_ROOT / "test" / "replicas" / "openai-replica.mjs"
COLD_CALL_BAR = 2.0


@pytest.fixture
def mgmt(local_platform: LocalPlatform) -> Iterator[ManagementClient]:
    with ManagementClient.from_env(project="sdk-cold") as client:
        yield client
        client.delete("cold-py")


def test_a_cold_generate_text_answers_within_two_seconds(mgmt: ManagementClient) -> None:
    # Prepare: an autoscaling workload at zero workers, with a key.
    if not NODE.exists():
        pytest.skip(f"Node 22 is not installed at {NODE} (scripts/node22.sh installs it)")
    model = f"sdk-cold-{time.time_ns()}/chat"
    mgmt.ensure(
        WorkloadSpec(
            name="Cold",
            slug="cold-py",
            model=model,
            backend=Backend.VLLM,
            command=f"{shlex.quote(str(NODE))} {shlex.quote(str(REPLICA))} serve {model}",
            execution_policy=ExecutionPolicy.AUTOSCALING,
            execution_policy_config={
                "min_workers": 0,
                "max_workers": 1,
                "max_hourly_cost_usd": 5,
                "workers": {"source": "cloud", "cloud_pool": {"gpu_pool": ["NVIDIA L4"]}},
            },
        )
    )
    key = mgmt.keys.create("cold-py", name="cold").key
    deadline = time.monotonic() + 30
    while mgmt.get("cold-py").status.decision == "" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mgmt.get("cold-py").status.desired_replicas == 0

    # Act
    with DataClient.from_env(project="sdk-cold") as data:
        started = time.monotonic()
        out = data.endpoint("cold-py", api_key=key).generate_text(prompt="wake up")
        elapsed = time.monotonic() - started

    # Assess
    print(f"cold generate_text (Python SDK, default options): {elapsed * 1000:.0f} ms", file=sys.stderr)
    assert "wake up" in out.text
    assert elapsed < COLD_CALL_BAR
