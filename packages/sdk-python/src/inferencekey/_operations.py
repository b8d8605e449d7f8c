"""Every control-API route as an :class:`Operation`: the request and how to read its answer.

Shared by the sync and async clients, so each public method is one line in each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ._transport import Operation, Request, expect_object, path_of
from .enums import OnDrift
from .errors import InferenceKeyError
from .models import (
    CreatedKey,
    DataKey,
    DeletedWorkload,
    EnsureRef,
    Page,
    RegisteredWorker,
    RotatedKey,
    Worker,
    Workload,
)
from .spec import WorkloadSpec, to_json_value


def _object(data: Any) -> Mapping[str, Any]:
    return expect_object(data, "the API")


def _items(data: Any) -> list[Mapping[str, Any]]:
    items = _object(data).get("data")
    if not isinstance(items, list):
        raise InferenceKeyError('expected {"data": [...]} from the API', code="invalid_response")
    return [i for i in items if isinstance(i, Mapping)]


def _body(**fields: Any) -> dict[str, Any]:
    return {k: to_json_value(v) for k, v in fields.items() if v is not None}


def _workloads(project: str) -> str:
    return path_of("/v1/projects/{}/workloads", project)


def _workload(project: str, slug: str) -> str:
    return path_of("/v1/projects/{}/workloads/{}", project, slug)


def wire_spec(spec: WorkloadSpec | Mapping[str, Any]) -> dict[str, Any]:
    """Return the JSON body for a spec given as a :class:`WorkloadSpec` or as a wire-form mapping."""
    if isinstance(spec, WorkloadSpec):
        return spec.to_wire()
    if isinstance(spec, Mapping):
        return {str(k): to_json_value(v) for k, v in spec.items() if v is not None}
    raise TypeError(f"ensure() takes a WorkloadSpec (or its wire-form dict), got {type(spec).__name__}")


def ensure(
    project: str, spec: WorkloadSpec | Mapping[str, Any], on_drift: OnDrift | str, **call: Any
) -> Operation[EnsureRef]:
    body = wire_spec(spec)
    slug = body.get("slug")
    if not isinstance(slug, str) or not slug:
        raise TypeError("ensure() needs spec.slug: the workload's address in the project")
    return Operation(
        Request(
            "PUT",
            _workload(project, slug),
            query={"on_drift": str(to_json_value(on_drift))},
            body=body,
            has_body=True,
            **call,
        ),
        lambda data: EnsureRef.from_wire(_object(data)),
    )


def get(project: str, slug: str, **call: Any) -> Operation[Workload]:
    return Operation(Request("GET", _workload(project, slug), **call), lambda data: Workload.from_wire(_object(data)))


def list_page(project: str, limit: int | None, cursor: str | None, **call: Any) -> Operation[Page[Workload]]:
    def parse(data: Any) -> Page[Workload]:
        cursor = _object(data).get("next_cursor")
        return Page(
            [Workload.from_wire(w) for w in _items(data)], cursor if isinstance(cursor, str) and cursor else None
        )

    return Operation(Request("GET", _workloads(project), query={"limit": limit, "cursor": cursor}, **call), parse)


def delete(project: str, slug: str, **call: Any) -> Operation[DeletedWorkload]:
    return Operation(
        Request("DELETE", _workload(project, slug), **call), lambda data: DeletedWorkload.from_wire(_object(data))
    )


def _expiry(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware, e.g. datetime.now(timezone.utc) + timedelta(days=30)")
    return value.isoformat()


def create_key(
    project: str,
    workload: str,
    name: str,
    rate_limit_per_minute: int | None,
    expires_at: datetime | str | None,
    max_concurrent_requests: int | None = None,
    **call: Any,
) -> Operation[CreatedKey]:
    body = _body(
        name=name,
        rate_limit_per_minute=rate_limit_per_minute,
        max_concurrent_requests=max_concurrent_requests,
        expires_at=_expiry(expires_at),
    )
    return Operation(
        Request(
            "POST", path_of("/v1/projects/{}/workloads/{}/keys", project, workload), body=body, has_body=True, **call
        ),
        lambda data: CreatedKey.from_wire(_object(data)),
    )


def list_keys(project: str, workload: str, **call: Any) -> Operation[list[DataKey]]:
    return Operation(
        Request("GET", path_of("/v1/projects/{}/workloads/{}/keys", project, workload), **call),
        lambda data: [DataKey.from_wire(k) for k in _items(data)],
    )


def revoke_key(project: str, workload: str, key_id: str, **call: Any) -> Operation[DataKey]:
    return Operation(
        Request("DELETE", path_of("/v1/projects/{}/workloads/{}/keys/{}", project, workload, key_id), **call),
        lambda data: DataKey.from_wire(_object(data)),
    )


def rotate_key(
    project: str,
    workload: str,
    key_id: str,
    old_key_expires_in_seconds: int | None,
    name: str | None,
    **call: Any,
) -> Operation[RotatedKey]:
    body = _body(old_key_expires_in_seconds=old_key_expires_in_seconds, name=name)
    return Operation(
        Request(
            "POST",
            path_of("/v1/projects/{}/workloads/{}/keys/{}/rotate", project, workload, key_id),
            body=body,
            has_body=True,
            **call,
        ),
        lambda data: RotatedKey.from_wire(_object(data)),
    )


def register_worker(
    project: str,
    name: str,
    labels: Mapping[str, str] | None,
    addresses: Sequence[str] | None = None,
    **call: Any,
) -> Operation[RegisteredWorker]:
    body = _body(
        name=name,
        labels=None if labels is None else dict(labels),
        addresses=None if addresses is None else list(addresses),
    )
    return Operation(
        Request("POST", path_of("/v1/projects/{}/workers", project), body=body, has_body=True, **call),
        lambda data: RegisteredWorker.from_wire(_object(data)),
    )


def list_workers(project: str, **call: Any) -> Operation[list[Worker]]:
    return Operation(
        Request("GET", path_of("/v1/projects/{}/workers", project), **call),
        lambda data: [Worker.from_wire(w) for w in _items(data)],
    )


def get_worker(project: str, worker_id: str, **call: Any) -> Operation[Worker]:
    return Operation(
        Request("GET", path_of("/v1/projects/{}/workers/{}", project, worker_id), **call),
        lambda data: Worker.from_wire(_object(data)),
    )


def deregister_worker(project: str, worker_id: str, **call: Any) -> Operation[Worker]:
    return Operation(
        Request("DELETE", path_of("/v1/projects/{}/workers/{}", project, worker_id), **call),
        lambda data: Worker.from_wire(_object(data)),
    )
