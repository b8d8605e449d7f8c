"""Every Python example of the workloads guide, run UNCHANGED: provision, policy variations and calls.

The ```python blocks are extracted from the guide at test time (``../shared/seed/workloads-guide.md``
beside the repository, or ``INFERENCEKEY_GUIDE``) and executed against the local platform, which
the session fixture starts as a subprocess (``sh scripts/node22.sh --import tsx
packages/local/src/main.ts`` with ``PORT=0``), with its ``dev.env`` loaded into ``os.environ`` so
``ManagementClient.from_env`` finds it. The only substitution is ``wrk_7Yc2...`` -> a worker
registered through the SDK. Policy-variation blocks use the ``mgmt`` their section's provision
block creates; run alone, each gets that same ``mgmt = ManagementClient.from_env(project="acme")``
bound beforehand (the block's code is not touched).

The five "Call (Python)" blocks run through the gateway of a second local platform
(``gateway_platform``), each as its own Python process in a temporary working directory holding a
small ``call.mp3``, with that platform's ``dev.env`` in its environment. Allowed substitutions only:
``https://api.inferencekey.com`` -> the local platform's URL and ``"ik_live_..."`` -> a key created
with ``mgmt.keys.create`` for the block's workload. The workloads have the guide's slugs, models,
backends and task types, but their command is the OpenAI-compatible TEST DOUBLE
``test/replicas/openai-replica.mjs`` (model weights cannot be downloaded here). ``billing`` is
scheduled on the cron "* * * * *" with 5-minute runs instead of the guide's "0 2 * * *": the
platform runs as a subprocess and ``main.ts`` has no fake-clock switch (the TypeScript twin,
test/e2e/guide-call-examples.test.ts, runs the platform in-process with a fake clock at 02:10).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _gateway import GatewayPlatform
from _guide import GUIDE_PRESENT, WORKER_PLACEHOLDER, GuideBlock, guide_blocks, requires_guide
from _platform import LocalPlatform
from inferencekey import EnsureRef, ManagementClient, WorkloadSpec

pytestmark = [pytest.mark.platform, requires_guide]

BLOCKS = guide_blocks("python") if GUIDE_PRESENT else []
RUNNABLE = [b for b in BLOCKS if b.kind in ("provision", "policy")]
CALLS = [b for b in BLOCKS if b.kind == "call"]
HOSTED_URL = "https://api.inferencekey.com"
KEY_PLACEHOLDER = '"ik_live_..."'
CALL_MP3 = b"ID3 not really an mp3, but bytes to upload"


def test_the_guide_has_the_python_examples_this_suite_expects() -> None:
    kinds = [b.kind for b in BLOCKS]
    assert kinds.count("provision") == 6
    assert kinds.count("policy") == 5
    assert kinds.count("call") == 5
    assert sum(b.code.count("mgmt.ensure(") for b in BLOCKS) == 17


def _contains(stored: Any, sent: Any) -> bool:
    """True when everything sent is in the stored (normalised, defaults filled in) value."""
    if isinstance(sent, Mapping):
        return isinstance(stored, Mapping) and all(k in stored and _contains(stored[k], v) for k, v in sent.items())
    return bool(stored == sent)


def _promised_output(code: str) -> list[str]:
    """The ``# ...`` comments after ``print(...)`` calls: what the guide says the line prints."""
    return [m.group(1).strip() for m in re.finditer(r"^\s*print\(.*\)\s*#\s*(.+)$", code, re.MULTILINE)]


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"{b.title} (line {b.line})" for b in RUNNABLE])
def test_guide_example_runs_unchanged(
    block: GuideBlock,
    local_platform: LocalPlatform,
    acme_worker_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Prepare: the block as written, with only the worker substitution; record each ensure().
    code = block.code.replace(WORKER_PLACEHOLDER, acme_worker_id)
    ensured: list[tuple[WorkloadSpec, EnsureRef]] = []
    real_ensure = ManagementClient.ensure

    def recording_ensure(self: ManagementClient, spec: WorkloadSpec, *args: Any, **kwargs: Any) -> EnsureRef:
        ref = real_ensure(self, spec, *args, **kwargs)
        ensured.append((spec, ref))
        return ref

    monkeypatch.setattr(ManagementClient, "ensure", recording_ensure)
    namespace: dict[str, Any] = {"__name__": "__guide__"}
    if "mgmt" in code and not re.search(r"^mgmt\s*=", code, re.MULTILINE):
        namespace["mgmt"] = ManagementClient.from_env(project="acme")

    # Act
    exec(compile(code, f"<guide {block.title}, line {block.line}>", "exec"), namespace)

    # Assess: every ensure reached the platform and the stored spec holds what was sent.
    out = capsys.readouterr().out
    assert len(ensured) == block.code.count("mgmt.ensure(")
    for spec, ref in ensured:
        assert (ref.project_slug, ref.workload_slug) == ("acme", spec.slug)
        assert ref.generation >= 1
        assert _contains(ref.workload.spec.to_wire(), spec.to_wire()), (spec.to_wire(), ref.workload.spec.to_wire())
    last_spec, last_ref = ensured[-1]
    with ManagementClient.from_env(project="acme") as mgmt:
        stored = mgmt.get(last_spec.slug)
    assert stored.generation == last_ref.generation
    assert _contains(stored.spec.to_wire(), last_spec.to_wire())
    if block.kind == "policy":
        assert all(ref.workload.spec.execution_policy == spec.execution_policy for spec, ref in ensured)
    for promised in _promised_output(block.code):
        assert promised in out.splitlines(), f"the guide promises {promised!r}; printed {out!r}"


def test_text2text_provision_prints_acme_support_bot(
    local_platform: LocalPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    block = next(b for b in BLOCKS if b.section == "text2text" and b.kind == "provision")
    assert "print(ref.project_slug, ref.workload_slug)  # acme support-bot" in block.code
    exec(compile(block.code, "<guide text2text provision>", "exec"), {"__name__": "__guide__"})
    assert capsys.readouterr().out == "acme support-bot\n"


# --- the "Call (Python)" blocks, through the local gateway ---------------------------------------


def test_the_guide_has_the_five_python_call_examples() -> None:
    assert [b.title for b in CALLS] == [
        "text2text / Call (Python)",
        "embedding / Call (Python)",
        "text2image / Call (Python)",
        "text2audio / Call (Python)",
        "audio2text / Call (Python)",
    ]
    for block in CALLS:
        assert KEY_PLACEHOLDER in block.code, block.title


@dataclass
class CallRun:
    stdout: str
    stderr: str
    returncode: int
    cwd: Path


def _slug_of(code: str) -> str:
    found = re.search(r'endpoint\(\s*"([^"]+)"', code) or re.search(r"/endpoint/acme/([^/]+)/v1", code)
    assert found is not None, code
    return found.group(1)


def run_call(index: int, gateway: GatewayPlatform, tmp_path: Path) -> CallRun:
    """Run call block ``index`` as its own Python process, with only the allowed substitutions."""
    block = CALLS[index]
    code = block.code.replace(HOSTED_URL, gateway.base_url).replace(
        KEY_PLACEHOLDER, json.dumps(gateway.keys[_slug_of(block.code)])
    )
    script = tmp_path / f"call_{index}.py"
    script.write_text(code + "\n", encoding="utf-8")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "call.mp3").write_bytes(CALL_MP3)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env={**os.environ, **gateway.platform.env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    return CallRun(done.stdout, done.stderr, done.returncode, cwd)


def test_text2text_call_prints_the_text_and_the_model(gateway_platform: GatewayPlatform, tmp_path: Path) -> None:
    run = run_call(0, gateway_platform, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Hola, ¿cuál es mi saldo?" in run.stdout
    assert run.stdout.strip().endswith("meta-llama/Llama-3.1-8B-Instruct")


def test_embedding_call_on_the_scheduled_billing_workload(gateway_platform: GatewayPlatform, tmp_path: Path) -> None:
    with gateway_platform.management() as mgmt:
        status = mgmt.get("billing").status
    assert status.decision.startswith("cron runs overlap"), status.decision  # inside a cron run
    run = run_call(1, gateway_platform, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "2 vectors BAAI/bge-large-en-v1.5"


def test_text2image_call_prints_a_url_that_serves_the_png(gateway_platform: GatewayPlatform, tmp_path: Path) -> None:
    run = run_call(2, gateway_platform, tmp_path)
    assert run.returncode == 0, run.stderr
    url = run.stdout.strip()
    assert url.startswith(f"{gateway_platform.endpoint_url('poster-maker')}/files/"), url
    image = httpx.get(url, timeout=30)
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/png"
    assert image.content[1:4] == b"PNG"


def test_text2audio_call_writes_the_replicas_audio_byte_for_byte(
    gateway_platform: GatewayPlatform, tmp_path: Path
) -> None:
    run = run_call(3, gateway_platform, tmp_path)
    assert run.returncode == 0, run.stderr
    spoken = "Hola, su pedido va en camino."
    assert f'input="{spoken}"' in CALLS[3].code
    expected = bytes((i * 7 + len(spoken)) % 256 for i in range(4096))
    assert (run.cwd / "out.mp3").read_bytes() == expected


def test_audio2text_call_uploads_call_mp3_and_prints_the_text(
    gateway_platform: GatewayPlatform, tmp_path: Path
) -> None:
    run = run_call(4, gateway_platform, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"transcribed {len(CALL_MP3)} bytes of call.mp3"
