"""Reads the product guide (``workloads-guide.md``): its ```python blocks and the WorkloadSpecs they build.

The guide lives beside the repository at ``../shared/seed/workloads-guide.md`` (relative to the repo
root); ``INFERENCEKEY_GUIDE`` overrides the path.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import inferencekey

REPO_ROOT = Path(__file__).resolve().parents[3]
VECTORS_DIR = REPO_ROOT / "test" / "vectors"
WORKER_PLACEHOLDER = "wrk_7Yc2..."
VECTOR_WORKER_ID = "wrk_7Yc2abcd"


GUIDE_PATH = (REPO_ROOT / (os.environ.get("INFERENCEKEY_GUIDE") or "../shared/seed/workloads-guide.md")).resolve()
"""Where the guide is looked for; it lives outside the repository, so a plain clone has none."""

GUIDE_PRESENT = GUIDE_PATH.is_file()

requires_guide = pytest.mark.skipif(
    not GUIDE_PRESENT,
    reason=f"the product guide is not at {GUIDE_PATH} (it lives outside the repository; set INFERENCEKEY_GUIDE)",
)
"""Marks a test driven by the guide: run where the guide is present, reported as skipped with the reason elsewhere."""


def guide_path() -> Path:
    if not GUIDE_PRESENT:
        raise FileNotFoundError(f"the product guide is not at {GUIDE_PATH}; set INFERENCEKEY_GUIDE")
    return GUIDE_PATH


@dataclass(frozen=True)
class GuideBlock:
    """One fenced code block: the ``## section`` it is under and the bold label above it."""

    language: str
    section: str
    label: str
    line: int
    code: str

    @property
    def title(self) -> str:
        return f"{self.section} / {self.label}"

    @property
    def kind(self) -> str:
        """``provision``, ``policy``, ``call`` or ``other`` (from the label)."""
        label = self.label.lower()
        for kind in ("provision", "policy", "call"):
            if label.startswith(kind):
                return kind
        return "other"


def guide_blocks(language: str = "python", text: str | None = None) -> list[GuideBlock]:
    text = guide_path().read_text(encoding="utf-8") if text is None else text
    blocks: list[GuideBlock] = []
    section = label = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section, label = line[3:].strip(), ""
        bold = re.fullmatch(r"\*\*(.+)\*\*", line.strip())
        if bold:
            label = bold.group(1)
        fence = re.match(r"^```(\w+)\s*$", line)
        if fence:
            start = i + 1
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if fence.group(1) == language:
                blocks.append(GuideBlock(language, section, label, start, "\n".join(body)))
        i += 1
    return blocks


@dataclass(frozen=True)
class GuideSpec:
    """One ``WorkloadSpec(...)`` construction of the guide, evaluated."""

    block: GuideBlock
    source: str
    base_source: str | None
    spec: inferencekey.WorkloadSpec


def _is_workload_spec_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "WorkloadSpec"


def guide_specs(worker_id: str = VECTOR_WORKER_ID) -> list[GuideSpec]:
    """Every WorkloadSpec the guide's Python blocks build, in order, without running any call.

    Imports and ``base = dict(...)`` assignments of a block are executed; each ``WorkloadSpec(...)``
    expression is evaluated on its own, so nothing talks to a server.
    """
    found: list[GuideSpec] = []
    for block in guide_blocks("python"):
        code = block.code.replace(WORKER_PLACEHOLDER, worker_id)
        tree = ast.parse(code)
        # Fragments such as "Cloud vs. private" use the SDK's names without importing them.
        namespace: dict[str, Any] = {name: getattr(inferencekey, name) for name in inferencekey.__all__}
        base_source: str | None = None
        for statement in tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([statement], []), block.title, "exec"), namespace)
                continue
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "base" for t in statement.targets
            ):
                exec(compile(ast.Module([statement], []), block.title, "exec"), namespace)
                base_source = ast.get_source_segment(code, statement.value)
                continue
            calls = sorted(
                (n for n in ast.walk(statement) if _is_workload_spec_call(n)), key=lambda n: (n.lineno, n.col_offset)
            )
            for call in calls:
                source = ast.get_source_segment(code, call)
                assert source is not None
                spec = eval(compile(ast.Expression(call), block.title, "eval"), namespace)
                uses_base = any(
                    isinstance(k.value, ast.Name) and k.value.id == "base" for k in call.keywords if k.arg is None
                )
                found.append(GuideSpec(block, source, base_source if uses_base else None, spec))
    return found
