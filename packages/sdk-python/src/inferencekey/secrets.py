"""Project secrets (``mgmt.secrets``): environment variables such as ``HF_TOKEN`` for the project's backends.

Values are encrypted at rest by the platform and never returned once set.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._transport import AsyncTransport, Operation, Request, SyncTransport, expect_object, path_of
from .errors import InferenceKeyError


@dataclass(frozen=True)
class ProjectSecret:
    """A project secret as listed: its name and times, never its value.

    Example:
        >>> s = ProjectSecret.from_wire({"name": "HF_TOKEN", "created_at": "2026-12-02T10:00:00Z", "updated_at": "2026-12-02T11:00:00Z"})
        >>> (s.name, s.updated_at)
        ('HF_TOKEN', '2026-12-02T11:00:00Z')

    """

    name: str
    created_at: str
    updated_at: str
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ProjectSecret:
        """Build from the wire ``{name, created_at, updated_at}``.

        Example:
            >>> ProjectSecret.from_wire({"name": "WANDB_API_KEY"}).name
            'WANDB_API_KEY'

        """

        def text(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else ""

        return cls(name=text("name"), created_at=text("created_at"), updated_at=text("updated_at"), raw=dict(data))


def _path(project: str, name: str | None = None) -> str:
    if name is None:
        return path_of("/v1/projects/{}/secrets", project)
    return path_of("/v1/projects/{}/secrets/{}", project, name)


def _call(timeout: float | None, max_retries: int | None) -> dict[str, Any]:
    return {"timeout": timeout, "max_retries": max_retries}


def _secret(data: Any) -> ProjectSecret:
    return ProjectSecret.from_wire(expect_object(data, "the API"))


def _secrets(data: Any) -> builtins.list[ProjectSecret]:
    items = expect_object(data, "the API").get("data")
    if not isinstance(items, builtins.list):
        raise InferenceKeyError('expected {"data": [...]} from the API', code="invalid_response")
    return [ProjectSecret.from_wire(i) for i in items if isinstance(i, Mapping)]


def _deleted(data: Any) -> str:
    name = expect_object(data, "the API").get("name")
    return name if isinstance(name, str) else ""


def _set(project: str, name: str, value: str, **call: Any) -> Operation[ProjectSecret]:
    if not isinstance(value, str):
        raise TypeError(f"secrets.set() takes the value as a str, got {type(value).__name__}")
    return Operation(Request("PUT", _path(project, name), body={"value": value}, has_body=True, **call), _secret)


def _list(project: str, **call: Any) -> Operation[builtins.list[ProjectSecret]]:
    return Operation(Request("GET", _path(project), **call), _secrets)


def _delete(project: str, name: str, **call: Any) -> Operation[str]:
    return Operation(Request("DELETE", _path(project, name), **call), _deleted)


class SecretsResource:
    """The project's secrets (``mgmt.secrets``): environment variables of every backend of the project.

    Names are environment variable names (``[A-Z_][A-Z0-9_]{0,127}``), except ``INFERENCEKEY_*``,
    ``LD_*`` and the names the agent sets (``PATH``, ``HOME``, ``PORT``, ``HOST``,
    ``CUDA_VISIBLE_DEVICES``...); values are at most 16 KiB. A replica started before a change keeps
    the old value until it next starts. Needs a token scoped to the project or the organisation admin token.

    Example:
        mgmt.secrets.set("HF_TOKEN", os.environ["HF_TOKEN"])
        print([s.name for s in mgmt.secrets.list()])  # ['HF_TOKEN']
        mgmt.secrets.delete("HF_TOKEN")

    """

    def __init__(self, transport: SyncTransport, project: str) -> None:
        self._http = transport
        self._project = project

    def set(self, name: str, value: str, *, timeout: float | None = None, max_retries: int | None = None) -> ProjectSecret:
        """Create or replace a secret; returns its name and times, never the value. Safe to retry.

        Example:
            mgmt.secrets.set("HF_TOKEN", "hf_...").updated_at

        """
        return self._http.call(_set(self._project, name, value, **_call(timeout, max_retries)))

    def list(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[ProjectSecret]:
        """List the project's secrets: names and times only.

        Example:
            [s.name for s in mgmt.secrets.list()]

        """
        return self._http.call(_list(self._project, **_call(timeout, max_retries)))

    def delete(self, name: str, *, timeout: float | None = None, max_retries: int | None = None) -> str:
        """Delete a secret and return its name (``NotFoundError`` when the project has none of that name).

        Example:
            mgmt.secrets.delete("HF_TOKEN")

        """
        return self._http.call(_delete(self._project, name, **_call(timeout, max_retries)))


class AsyncSecretsResource:
    """Async twin of :class:`SecretsResource` (``amgmt.secrets``).

    Example:
        await amgmt.secrets.set("HF_TOKEN", os.environ["HF_TOKEN"])

    """

    def __init__(self, transport: AsyncTransport, project: str) -> None:
        self._http = transport
        self._project = project

    async def set(
        self, name: str, value: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> ProjectSecret:
        """Create or replace a secret; see :meth:`SecretsResource.set`.

        Example:
            await amgmt.secrets.set("HF_TOKEN", "hf_...")

        """
        return await self._http.call(_set(self._project, name, value, **_call(timeout, max_retries)))

    async def list(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[ProjectSecret]:
        """List the project's secrets; see :meth:`SecretsResource.list`.

        Example:
            names = [s.name for s in await amgmt.secrets.list()]

        """
        return await self._http.call(_list(self._project, **_call(timeout, max_retries)))

    async def delete(self, name: str, *, timeout: float | None = None, max_retries: int | None = None) -> str:
        """Delete a secret; see :meth:`SecretsResource.delete`.

        Example:
            await amgmt.secrets.delete("HF_TOKEN")

        """
        return await self._http.call(_delete(self._project, name, **_call(timeout, max_retries)))
