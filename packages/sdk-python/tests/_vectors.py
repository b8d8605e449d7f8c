"""Loads the shared wire-contract vectors (``test/vectors/*.json`` at the repository root)."""

from __future__ import annotations

import json
from typing import Any

from _guide import VECTORS_DIR


def load_vectors(name: str) -> list[dict[str, Any]]:
    """Return the vectors of ``<name>.json``, after checking the file's declared ``count``."""
    doc = json.loads((VECTORS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    vectors = doc["vectors"]
    assert isinstance(vectors, list)
    assert len(vectors) == doc["count"], f"{name}.json declares {doc['count']} vectors but holds {len(vectors)}"
    names = [v["name"] for v in vectors]
    assert len(set(names)) == len(names), f"{name}.json has duplicate vector names"
    return vectors


def declared_count(name: str) -> int:
    return int(json.loads((VECTORS_DIR / f"{name}.json").read_text(encoding="utf-8"))["count"])
