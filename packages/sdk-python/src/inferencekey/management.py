"""The control plane of one project: ``ManagementClient`` (blocking) and ``AsyncManagementClient`` (asyncio)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from . import _operations as ops
from ._env import DEFAULT_BASE_URL, ENV_BASE_URL, ENV_PROJECT, ENV_SDK_TOKEN, read_environment
from ._retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUT, RetryPolicy
from ._transport import AsyncTransport, SyncTransport, TransportOptions, normalise_base_url
from .enums import OnDrift
from .errors import ConfigurationError
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
from .readiness import (
    DEFAULT_READY_TIMEOUT,
    ReadinessEvent,
    progress_mode,
    wait_until_ready_async,
    wait_until_ready_sync,
)
from .secrets import AsyncSecretsResource, SecretsResource
from .spec import WorkloadSpec


def _call(timeout: float | None, max_retries: int | None, idempotency_key: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"timeout": timeout, "max_retries": max_retries}
    if idempotency_key is not None:
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise ValueError("idempotency_key must be a non-empty string")
        call["idempotency_key"] = idempotency_key
    return call


def _checked_options(
    token: str, project: str, base_url: str, timeout: float, max_retries: int, retry_policy: RetryPolicy | None
) -> tuple[str, TransportOptions]:
    token = token.strip() if isinstance(token, str) else ""
    if not token:
        raise ConfigurationError(
            f"ManagementClient needs an ik_sdk_ control token: pass token=... or set {ENV_SDK_TOKEN} "
            "and use ManagementClient.from_env()."
        )
    if token.startswith("ik_live_"):
        raise ConfigurationError(
            "ManagementClient was given an ik_live_ data key; it needs an ik_sdk_ control token. "
            "Data keys call endpoints (DataClient or an OpenAI client)."
        )
    project = project.strip() if isinstance(project, str) else ""
    if not project:
        raise ConfigurationError('ManagementClient needs a project, e.g. project="acme".')
    options = TransportOptions(
        base_url=base_url,
        token=token,
        max_retries=max_retries,
        timeout=timeout,
        retry_policy=retry_policy or DEFAULT_RETRY_POLICY,
    )
    return project, options


def _env_settings(project: str | None) -> tuple[str, str, str]:
    """Return the token, base URL and project of ``from_env``: a passed project wins over ``INFERENCEKEY_PROJECT``."""
    env = read_environment()
    chosen = project if project is not None else env.project
    if chosen is None or not chosen.strip():
        raise ConfigurationError(
            f'ManagementClient.from_env() needs a project: pass project="acme" or set {ENV_PROJECT}.'
        )
    if env.token is None:
        raise ConfigurationError(
            f"{ENV_SDK_TOKEN} is not set: export your ik_sdk_ control token, or pass token=... to ManagementClient(). "
            "Under `npm start`, `source .inferencekey/dev.env` sets it (the organisation admin token); "
            "other tokens are made with POST /v1/tokens (docs/api.md)."
        )
    return env.token, normalise_base_url(env.base_url, ENV_BASE_URL), chosen


class KeysResource:
    """The ``ik_live_`` data keys of a project's workloads (``mgmt.keys``).

    Example:
        created = mgmt.keys.create("support-bot", name="backend", rate_limit_per_minute=600)
        print(created.key)  # ik_live_..., shown once

    """

    def __init__(self, transport: SyncTransport, project: str) -> None:
        self._http = transport
        self._project = project

    def create(
        self,
        workload: str,
        *,
        name: str,
        rate_limit_per_minute: int | None = None,
        max_concurrent_requests: int | None = None,
        expires_at: datetime | str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> CreatedKey:
        """Create a data key for ``workload``; the answer's ``key`` is the plaintext secret, shown only once.

        ``rate_limit_per_minute`` and ``max_concurrent_requests`` (requests in flight at once) are
        enforced by the gateway for this key. Not retried unless ``idempotency_key`` is given (then sent as ``Idempotency-Key``), since a
        lost answer could otherwise mint two keys.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> created = mgmt.keys.create(  # doctest: +SKIP
            ...     "support-bot", name="backend", expires_at=datetime.now(timezone.utc) + timedelta(days=90)
            ... )

        """
        return self._http.call(
            ops.create_key(
                self._project,
                workload,
                name,
                rate_limit_per_minute,
                expires_at,
                max_concurrent_requests=max_concurrent_requests,
                **_call(timeout, max_retries, idempotency_key),
            )
        )

    def list(
        self, workload: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> builtins.list[DataKey]:
        """List the workload's keys (records only: prefix and last 4 characters, never the secret).

        Example:
            for k in mgmt.keys.list("support-bot"):
                print(k.id, k.name, k.last4, k.active)

        """
        return self._http.call(ops.list_keys(self._project, workload, **_call(timeout, max_retries)))

    def revoke(
        self, workload: str, key_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> DataKey:
        """Revoke a key at once; answers the revoked record (revoking twice is harmless).

        Example:
            mgmt.keys.revoke("support-bot", "key_123").revoked_at

        """
        return self._http.call(ops.revoke_key(self._project, workload, key_id, **_call(timeout, max_retries)))

    def rotate(
        self,
        workload: str,
        key_id: str,
        *,
        old_key_expires_in_seconds: int | None = None,
        name: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> RotatedKey:
        """Replace a key: a new key (same name and limits) plus the old one kept working for a grace period.

        ``old_key_expires_in_seconds`` defaults on the server to 86400 (24 h); 0 revokes the old key at once.

        Example:
            rotated = mgmt.keys.rotate("support-bot", "key_123", old_key_expires_in_seconds=3600)
            print(rotated.key, rotated.previous.expires_at)

        """
        return self._http.call(
            ops.rotate_key(
                self._project,
                workload,
                key_id,
                old_key_expires_in_seconds,
                name,
                **_call(timeout, max_retries, idempotency_key),
            )
        )


class WorkersResource:
    """The project's private workers (``mgmt.workers``): your own GPU boxes running the agent.

    Example:
        worker = mgmt.workers.register(name="gpu-box-1", labels={"gpu": "a100"})
        spec = WorkloadSpec(name="Bot", slug="bot", model="org/m", backend=Backend.VLLM, worker_id=worker.id)

    """

    def __init__(self, transport: SyncTransport, project: str) -> None:
        self._http = transport
        self._project = project

    def register(
        self,
        *,
        name: str,
        labels: Mapping[str, str] | None = None,
        addresses: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> RegisteredWorker:
        """Register a worker; the answer's ``token`` (``ik_wrk_...``, shown once) is what its agent runs with.

        ``addresses`` (IP addresses or CIDR ranges) are the only ones the gateway will dial for this
        worker; without them, any ordinary unicast IP except loopback and link-local. Not retried
        unless ``idempotency_key`` is given.

        Example:
            worker = mgmt.workers.register(name="gpu-box-1")
            print(worker.id, worker.token)

        """
        return self._http.call(
            ops.register_worker(self._project, name, labels, addresses, **_call(timeout, max_retries, idempotency_key))
        )

    def list(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[Worker]:
        """List the project's workers with their online status, GPUs and replicas.

        Example:
            [(w.id, w.status) for w in mgmt.workers.list()]

        """
        return self._http.call(ops.list_workers(self._project, **_call(timeout, max_retries)))

    def get(self, worker_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Worker:
        """Read one worker.

        Example:
            mgmt.workers.get("wrk_7Yc2abcd").online

        """
        return self._http.call(ops.get_worker(self._project, worker_id, **_call(timeout, max_retries)))

    def deregister(self, worker_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Worker:
        """Deregister a worker: its token stops working and its replicas move elsewhere.

        Example:
            mgmt.workers.deregister("wrk_7Yc2abcd").state
            # -> 'draining'

        """
        return self._http.call(ops.deregister_worker(self._project, worker_id, **_call(timeout, max_retries)))


class ManagementClient:
    """The control plane of one project: workloads (``ensure``, ``get``, ``list``, ``delete``), ``keys`` and ``workers``.

    Authenticates with an ``ik_sdk_`` control token. Idempotent calls (``ensure``, ``get``, ``list``,
    ``delete``, ``keys.list``, ``keys.revoke``, ``workers.list/get/deregister``) are retried on
    connection errors, timeouts, 429 and 5xx with capped, jittered exponential backoff honouring
    ``Retry-After``; creates (``keys.create``, ``keys.rotate``, ``workers.register``) only with an
    ``idempotency_key`` (or when the server provably did nothing: 429, no connection).

    Example:
        >>> from inferencekey import ManagementClient, WorkloadSpec, Backend, ExecutionPolicy
        >>> mgmt = ManagementClient.from_env(project="acme")  # doctest: +SKIP
        >>> ref = mgmt.ensure(WorkloadSpec(  # doctest: +SKIP
        ...     name="Support bot", slug="support-bot", model="meta-llama/Llama-3.1-8B-Instruct",
        ...     backend=Backend.VLLM, execution_policy=ExecutionPolicy.FIXED, execution_policy_config={"replicas": 1},
        ... ))
        >>> print(ref.project_slug, ref.workload_slug)  # doctest: +SKIP
        acme support-bot

    """

    def __init__(
        self,
        *,
        token: str,
        project: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Build a client from explicit settings; reads no environment variable.

        ``timeout`` is per attempt, in seconds; ``http_client`` lets you bring your own
        ``httpx.Client`` (proxies, instrumentation; you close it); ``sleep`` replaces ``time.sleep``
        between retries (a test seam).

        Example:
            >>> mgmt = ManagementClient(token="ik_sdk_example", project="acme", base_url="http://127.0.0.1:8787")
            >>> mgmt.base_url
            'http://127.0.0.1:8787'

        """
        self.project, options = _checked_options(token, project, base_url, timeout, max_retries, retry_policy)
        self._http = SyncTransport(options, http_client=http_client, sleep=sleep)
        self.base_url = self._http.base_url
        self.keys = KeysResource(self._http, self.project)
        self.workers = WorkersResource(self._http, self.project)
        self.secrets = SecretsResource(self._http, self.project)

    @classmethod
    def from_env(
        cls,
        *,
        project: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> ManagementClient:
        """Build a client from ``INFERENCEKEY_SDK_TOKEN`` and ``INFERENCEKEY_BASE_URL`` (default https://api.inferencekey.com).

        ``project`` defaults to ``INFERENCEKEY_PROJECT``. Raises :class:`ConfigurationError` naming
        the variable when the token (or any project) is missing.

        Example:
            mgmt = ManagementClient.from_env(project="acme")  # reads INFERENCEKEY_SDK_TOKEN

        """
        token, base_url, project = _env_settings(project)
        return cls(
            token=token,
            project=project,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            sleep=sleep,
        )

    def ensure(
        self,
        spec: WorkloadSpec | Mapping[str, Any],
        on_drift: OnDrift | str = OnDrift.RECONCILE,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> EnsureRef:
        """Make the workload ``spec.slug`` match ``spec``, idempotent by slug.

        Creates it, changes it in place (``OnDrift.RECONCILE``, the default), raises
        :class:`DriftError` and changes nothing (``OnDrift.FAIL``) or keeps the stored spec
        (``OnDrift.IGNORE``). A rejected spec raises :class:`ValidationError` with every problem in
        ``details``. Safe to retry, so transient failures are retried.

        Example:
            ref = mgmt.ensure(WorkloadSpec(
                name="Billing embeddings", slug="billing", model="BAAI/bge-large-en-v1.5",
                backend=Backend.VLLM, task_type="embedding",
                execution_policy=ExecutionPolicy.SCHEDULED, execution_policy_config={"cron": "0 2 * * *"},
            ))
            print("created" if ref.created else "updated" if ref.changed else "unchanged", ref.generation)

        """
        return self._http.call(ops.ensure(self.project, spec, on_drift, **_call(timeout, max_retries)))

    def get(self, slug: str, *, timeout: float | None = None, max_retries: int | None = None) -> Workload:
        """Read one workload with its status; raises :class:`NotFoundError` when it does not exist.

        Example:
            w = mgmt.get("support-bot")
            print(w.status.ready_replicas, w.spec.model)

        """
        return self._http.call(ops.get(self.project, slug, **_call(timeout, max_retries)))

    def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Workload]:
        """Read one page of the project's workloads (``limit`` 1-200, server default 50).

        Pass ``next_cursor`` back as ``cursor`` for the next page, or iterate :meth:`list`.

        Example:
            page = mgmt.list_page(limit=20)
            more = mgmt.list_page(limit=20, cursor=page.next_cursor) if page.has_more else None

        """
        return self._http.call(ops.list_page(self.project, limit, cursor, **_call(timeout, max_retries)))

    def list(
        self, *, limit: int | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> Iterator[Workload]:
        """Iterate every workload of the project, fetching pages of ``limit`` lazily.

        Example:
            for w in mgmt.list():
                print(w.slug, w.status.decision)

        """
        cursor: str | None = None
        while True:
            page = self.list_page(limit=limit, cursor=cursor, timeout=timeout, max_retries=max_retries)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def wait_until_ready(
        self,
        slug: str,
        *,
        timeout: float = DEFAULT_READY_TIMEOUT,
        on_progress: Callable[[ReadinessEvent], None] | None = None,
        silent: bool = False,
    ) -> ReadinessEvent:
        """Wait until the workload serves, following its readiness events; return the ``ready`` event.

        Phases: scheduling, placing, launching, pulling, starting, ready. By default progress is
        drawn on stderr: one line redrawn in place when stderr is a terminal, plain lines otherwise.
        ``on_progress`` receives every :class:`ReadinessEvent` instead; ``silent=True`` shows
        nothing (the vendor SDK's keywords). An ``error`` event raises
        :class:`WorkloadNotReadyError` with the server's reason; ``timeout`` (seconds, default 900)
        running out raises :class:`WaitTimeoutError`. A dropped stream is reconnected.

        Example:
            ref = mgmt.ensure(spec)
            mgmt.wait_until_ready(ref.workload_slug, timeout=600)
            mgmt.wait_until_ready("support-bot", on_progress=lambda e: print(e.step, e.phase, e.message))

        """
        return wait_until_ready_sync(self._http, self.project, slug, timeout, progress_mode(on_progress, silent))

    def delete(self, slug: str, *, timeout: float | None = None, max_retries: int | None = None) -> DeletedWorkload:
        """Delete a workload: its replicas stop and the slug can be ensured again later.

        Example:
            mgmt.delete("support-bot").deleted
            # -> True

        """
        return self._http.call(ops.delete(self.project, slug, **_call(timeout, max_retries)))

    def close(self) -> None:
        """Close the connection pool (not an ``http_client`` you passed in).

        Example:
            >>> ManagementClient(token="ik_sdk_example", project="acme").close()

        """
        self._http.close()

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ManagementClient(project={self.project!r}, base_url={self.base_url!r})"


class AsyncKeysResource:
    """Async twin of :class:`KeysResource` (``amgmt.keys``).

    Example:
        created = await amgmt.keys.create("support-bot", name="backend")

    """

    def __init__(self, transport: AsyncTransport, project: str) -> None:
        self._http = transport
        self._project = project

    async def create(
        self,
        workload: str,
        *,
        name: str,
        rate_limit_per_minute: int | None = None,
        max_concurrent_requests: int | None = None,
        expires_at: datetime | str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> CreatedKey:
        """Create a data key; see :meth:`KeysResource.create`.

        Example:
            created = await amgmt.keys.create("support-bot", name="backend", idempotency_key="bot-backend-1")

        """
        return await self._http.call(
            ops.create_key(
                self._project,
                workload,
                name,
                rate_limit_per_minute,
                expires_at,
                max_concurrent_requests=max_concurrent_requests,
                **_call(timeout, max_retries, idempotency_key),
            )
        )

    async def list(
        self, workload: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> builtins.list[DataKey]:
        """List the workload's keys; see :meth:`KeysResource.list`.

        Example:
            keys = await amgmt.keys.list("support-bot")

        """
        return await self._http.call(ops.list_keys(self._project, workload, **_call(timeout, max_retries)))

    async def revoke(
        self, workload: str, key_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> DataKey:
        """Revoke a key; see :meth:`KeysResource.revoke`.

        Example:
            await amgmt.keys.revoke("support-bot", "key_123")

        """
        return await self._http.call(ops.revoke_key(self._project, workload, key_id, **_call(timeout, max_retries)))

    async def rotate(
        self,
        workload: str,
        key_id: str,
        *,
        old_key_expires_in_seconds: int | None = None,
        name: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> RotatedKey:
        """Rotate a key; see :meth:`KeysResource.rotate`.

        Example:
            rotated = await amgmt.keys.rotate("support-bot", "key_123", old_key_expires_in_seconds=0)

        """
        return await self._http.call(
            ops.rotate_key(
                self._project,
                workload,
                key_id,
                old_key_expires_in_seconds,
                name,
                **_call(timeout, max_retries, idempotency_key),
            )
        )


class AsyncWorkersResource:
    """Async twin of :class:`WorkersResource` (``amgmt.workers``).

    Example:
        worker = await amgmt.workers.register(name="gpu-box-1")

    """

    def __init__(self, transport: AsyncTransport, project: str) -> None:
        self._http = transport
        self._project = project

    async def register(
        self,
        *,
        name: str,
        labels: Mapping[str, str] | None = None,
        addresses: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> RegisteredWorker:
        """Register a worker; see :meth:`WorkersResource.register`.

        Example:
            worker = await amgmt.workers.register(name="gpu-box-1", labels={"rack": "a"})

        """
        return await self._http.call(
            ops.register_worker(self._project, name, labels, addresses, **_call(timeout, max_retries, idempotency_key))
        )

    async def list(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[Worker]:
        """List the project's workers; see :meth:`WorkersResource.list`.

        Example:
            workers = await amgmt.workers.list()

        """
        return await self._http.call(ops.list_workers(self._project, **_call(timeout, max_retries)))

    async def get(self, worker_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Worker:
        """Read one worker; see :meth:`WorkersResource.get`.

        Example:
            worker = await amgmt.workers.get("wrk_7Yc2abcd")

        """
        return await self._http.call(ops.get_worker(self._project, worker_id, **_call(timeout, max_retries)))

    async def deregister(
        self, worker_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Worker:
        """Deregister a worker; see :meth:`WorkersResource.deregister`.

        Example:
            await amgmt.workers.deregister("wrk_7Yc2abcd")

        """
        return await self._http.call(ops.deregister_worker(self._project, worker_id, **_call(timeout, max_retries)))


class AsyncManagementClient:
    """Asyncio twin of :class:`ManagementClient`: the same methods, awaited; ``list()`` is an async iterator.

    Example:
        >>> import asyncio
        >>> from inferencekey import AsyncManagementClient, WorkloadSpec, Backend
        >>> async def main() -> None:
        ...     async with AsyncManagementClient.from_env(project="acme") as mgmt:
        ...         ref = await mgmt.ensure(WorkloadSpec(name="Bot", slug="bot", model="org/m", backend=Backend.VLLM))
        ...         async for w in mgmt.list():
        ...             print(w.slug)
        >>> asyncio.run(main())  # doctest: +SKIP

    """

    def __init__(
        self,
        *,
        token: str,
        project: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Build a client from explicit settings; see :class:`ManagementClient`.

        Example:
            >>> amgmt = AsyncManagementClient(token="ik_sdk_example", project="acme")
            >>> amgmt.project
            'acme'

        """
        self.project, options = _checked_options(token, project, base_url, timeout, max_retries, retry_policy)
        self._http = AsyncTransport(options, http_client=http_client, sleep=sleep)
        self.base_url = self._http.base_url
        self.keys = AsyncKeysResource(self._http, self.project)
        self.workers = AsyncWorkersResource(self._http, self.project)
        self.secrets = AsyncSecretsResource(self._http, self.project)

    @classmethod
    def from_env(
        cls,
        *,
        project: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> AsyncManagementClient:
        """Build a client from ``INFERENCEKEY_SDK_TOKEN`` and ``INFERENCEKEY_BASE_URL``; see :meth:`ManagementClient.from_env`.

        Example:
            amgmt = AsyncManagementClient.from_env(project="acme")

        """
        token, base_url, project = _env_settings(project)
        return cls(
            token=token,
            project=project,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            sleep=sleep,
        )

    async def ensure(
        self,
        spec: WorkloadSpec | Mapping[str, Any],
        on_drift: OnDrift | str = OnDrift.RECONCILE,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> EnsureRef:
        """Make the workload match ``spec``; see :meth:`ManagementClient.ensure`.

        Example:
            ref = await amgmt.ensure(spec, on_drift=OnDrift.FAIL)

        """
        return await self._http.call(ops.ensure(self.project, spec, on_drift, **_call(timeout, max_retries)))

    async def get(self, slug: str, *, timeout: float | None = None, max_retries: int | None = None) -> Workload:
        """Read one workload; see :meth:`ManagementClient.get`.

        Example:
            w = await amgmt.get("support-bot")

        """
        return await self._http.call(ops.get(self.project, slug, **_call(timeout, max_retries)))

    async def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Workload]:
        """Read one page of workloads; see :meth:`ManagementClient.list_page`.

        Example:
            page = await amgmt.list_page(limit=20)

        """
        return await self._http.call(ops.list_page(self.project, limit, cursor, **_call(timeout, max_retries)))

    async def list(
        self, *, limit: int | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> AsyncIterator[Workload]:
        """Iterate every workload of the project, fetching pages lazily.

        Example:
            async for w in amgmt.list(limit=50):
                print(w.slug)

        """
        cursor: str | None = None
        while True:
            page = await self.list_page(limit=limit, cursor=cursor, timeout=timeout, max_retries=max_retries)
            for workload in page.data:
                yield workload
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def wait_until_ready(
        self,
        slug: str,
        *,
        timeout: float = DEFAULT_READY_TIMEOUT,
        on_progress: Callable[[ReadinessEvent], None] | None = None,
        silent: bool = False,
    ) -> ReadinessEvent:
        """Wait until the workload serves; see :meth:`ManagementClient.wait_until_ready`.

        Example:
            await amgmt.wait_until_ready("support-bot", silent=True)

        """
        return await wait_until_ready_async(self._http, self.project, slug, timeout, progress_mode(on_progress, silent))

    async def delete(
        self, slug: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> DeletedWorkload:
        """Delete a workload; see :meth:`ManagementClient.delete`.

        Example:
            await amgmt.delete("support-bot")

        """
        return await self._http.call(ops.delete(self.project, slug, **_call(timeout, max_retries)))

    async def close(self) -> None:
        """Close the connection pool (not an ``http_client`` you passed in).

        Example:
            await amgmt.close()

        """
        await self._http.close()

    async def __aenter__(self) -> AsyncManagementClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncManagementClient(project={self.project!r}, base_url={self.base_url!r})"
