"""A local platform whose workloads are served by the OpenAI-compatible TEST DOUBLE, for gateway tests.

``test/replicas/openai-replica.mjs`` stands in for vllm / vllm-omni because model weights cannot be
downloaded here; the workloads keep the guide's slugs, models, backends and task types, only their
``command`` is the test double (plain JavaScript, so any Node >= 18 runs it). Every replica command
carries ``--marker <id>`` (the replica ignores unknown flags) so the teardown can prove no replica
outlived the platform.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from _guide import REPO_ROOT
from _platform import LocalPlatform
from inferencekey import Backend, ExecutionPolicy, ManagementClient, TaskType, WorkloadSpec

T = TypeVar("T")

REPLICA = REPO_ROOT / "test" / "replicas" / "openai-replica.mjs"
READY_TIMEOUT = 60.0
ORPHAN_TIMEOUT = 20.0


def node_binary() -> str:
    """The Node that runs the replica: ``.tools/node22/bin/node`` when scripts/node22.sh fetched it, else PATH's."""
    fetched = REPO_ROOT / ".tools" / "node22" / "bin" / "node"
    if os.access(fetched, os.X_OK):
        return str(fetched)
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("no Node to run the test replica: neither .tools/node22/bin/node nor node on PATH")
    return found


def new_marker(purpose: str) -> str:
    """A per-session marker put on every replica command line."""
    return f"pytest-{purpose}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def replica_command(model: str, marker: str) -> str:
    """The workload ``command``: the test double serving ``model`` (run by the agent through ``/bin/sh -c``)."""
    return " ".join(
        shlex.quote(part) for part in (node_binary(), str(REPLICA), "serve", model, "--marker", marker)
    )


@dataclass(frozen=True)
class TestWorkload:
    """One workload served by the test double; ``policy`` defaults to one fixed replica."""

    __test__ = False  # not a pytest test class

    slug: str
    model: str
    backend: Backend
    task_type: TaskType
    policy: ExecutionPolicy = ExecutionPolicy.FIXED
    policy_config: dict[str, Any] = field(default_factory=lambda: {"replicas": 1})

    def spec(self, marker: str) -> WorkloadSpec:
        return WorkloadSpec(
            name=self.slug,
            slug=self.slug,
            model=self.model,
            backend=self.backend,
            task_type=self.task_type,
            command=replica_command(self.model, marker),
            execution_policy=self.policy,
            execution_policy_config=self.policy_config,
        )


# The guide's five "Call" workloads: its slugs, models, backends and task types. `billing` is
# scheduled in the guide with cron "0 2 * * *"; the local platform runs here as a subprocess and
# main.ts has no fake-clock switch (the TypeScript twin passes `now` in-process), so billing is
# provisioned with a cron run that is open whenever the test runs: every minute, each run lasting
# 5 minutes (runs overlap: "running continuously"). Still the scheduled policy, on a cron.
GUIDE_CALL_WORKLOADS = (
    TestWorkload("support-bot", "meta-llama/Llama-3.1-8B-Instruct", Backend.VLLM, TaskType.TEXT2TEXT),
    TestWorkload(
        "billing",
        "BAAI/bge-large-en-v1.5",
        Backend.VLLM,
        TaskType.EMBEDDING,
        ExecutionPolicy.SCHEDULED,
        {"cron": "* * * * *", "run_duration_minutes": 5},
    ),
    TestWorkload("poster-maker", "stabilityai/stable-diffusion-3.5-large", Backend.VLLM_OMNI, TaskType.TEXT2IMAGE),
    TestWorkload("voice-over", "hexgrad/Kokoro-82M", Backend.VLLM_OMNI, TaskType.TEXT2AUDIO),
    TestWorkload("transcriber", "openai/whisper-large-v3", Backend.VLLM_OMNI, TaskType.AUDIO2TEXT),
)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``; raise after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except Exception as error:  # the probe may fail while things start
            last = error
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}" + (f": {last!r}" if last else ""))
        time.sleep(interval)


def processes_with(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains ``marker`` (Linux /proc)."""
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue  # it ended while we looked
        if marker in cmdline and state != "Z":
            pids.append(int(entry))
    return pids


@dataclass
class GatewayPlatform:
    """The local platform plus the ``ik_live_`` keys created for its test-double workloads."""

    platform: LocalPlatform
    marker: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.platform.base_url

    def endpoint_url(self, slug: str, project: str = "acme") -> str:
        return f"{self.base_url}/endpoint/{project}/{slug}/v1"

    def management(self, project: str = "acme") -> ManagementClient:
        return ManagementClient(token=self.platform.sdk_token, project=project, base_url=self.base_url)

    def provision(self, workloads: Iterable[TestWorkload], project: str = "acme") -> None:
        """Ensure each workload, create a key for it, and wait until every one has 1 ready replica."""
        workloads = list(workloads)
        with self.management(project) as mgmt:
            for w in workloads:
                mgmt.ensure(w.spec(self.marker))
                self.keys[w.slug] = mgmt.keys.create(w.slug, name="pytest").key

            def all_ready() -> bool:
                ready = {w.slug: mgmt.get(w.slug).status.ready_replicas for w in workloads}
                return all(n == 1 for n in ready.values())

            try:
                wait_for("every workload to have 1 ready replica", all_ready, READY_TIMEOUT, 0.2)
            except TimeoutError as error:
                status = {w.slug: mgmt.get(w.slug).status for w in workloads}
                raise TimeoutError(f"{error}\n{status}\n{self.platform.output()[-4000:]}") from error

    def stop_and_check_no_orphans(self) -> None:
        """SIGTERM the platform, then require every marked replica gone within 20 s (killed if not)."""
        self.platform.stop()
        try:
            wait_for("no replica left", lambda: not processes_with(self.marker) or None, ORPHAN_TIMEOUT, 0.2)
        except TimeoutError:
            left = processes_with(self.marker)
            for pid in left:  # do not leave them running for the next test session
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"replicas outlived the platform (pids {left}, marker {self.marker})") from None
