"""Every public class, function and method documents itself with an example."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import inferencekey

README = Path(__file__).resolve().parents[1] / "README.md"


def public_objects() -> Iterator[tuple[str, object]]:
    for name in inferencekey.__all__:
        obj = getattr(inferencekey, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        yield name, obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(member, (classmethod, staticmethod)):
                    member = member.__func__
                if isinstance(member, property):
                    member = member.fget
                if inspect.isfunction(member) and (attr != "__init__" or member.__doc__):
                    yield f"{name}.{attr}", member


OBJECTS = list(public_objects())


@pytest.mark.parametrize(("name", "obj"), OBJECTS, ids=[n for n, _ in OBJECTS])
def test_public_api_has_a_docstring_with_an_example(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert "Example:" in doc, f"{name}'s docstring has no example"
    example = doc.split("Example:", 1)[1].strip()
    assert example, f"{name}'s example is empty"


def test_there_is_a_lot_to_document() -> None:
    assert len(OBJECTS) > 80


def test_readme_has_a_quickstart() -> None:
    text = README.read_text(encoding="utf-8")
    assert "## Quickstart" in text
    assert 'ManagementClient.from_env(project="acme")' in text
