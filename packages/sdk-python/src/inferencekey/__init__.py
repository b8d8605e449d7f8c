"""InferenceKey's Python SDK.

Declare AI inference workloads with :class:`ManagementClient` (``ensure()`` is idempotent by slug)
and call their OpenAI-compatible endpoints with :class:`DataClient`.

Example:
    >>> from inferencekey import ManagementClient, WorkloadSpec, Backend, ExecutionPolicy
    >>> spec = WorkloadSpec(
    ...     name="Support bot",
    ...     slug="support-bot",
    ...     model="meta-llama/Llama-3.1-8B-Instruct",
    ...     backend=Backend.VLLM,
    ...     execution_policy=ExecutionPolicy.FIXED,
    ...     execution_policy_config={"replicas": 1},
    ... )
    >>> mgmt = ManagementClient.from_env(project="acme")  # doctest: +SKIP
    >>> ref = mgmt.ensure(spec)  # doctest: +SKIP

"""

from ._env import DEFAULT_BASE_URL, ENV_BASE_URL, ENV_SDK_TOKEN
from ._retry import RetryPolicy
from ._version import __version__
from .data import AsyncDataClient, AsyncEndpoint, AsyncTextStream, DataClient, Endpoint, TextStream
from .enums import Backend, ExecutionPolicy, OnDrift, TaskType
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DriftError,
    ErrorDetail,
    InferenceKeyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
    WorkloadFailedError,
    WorkloadOutsideWindowError,
    WorkloadScalingUpError,
)
from .management import (
    AsyncKeysResource,
    AsyncManagementClient,
    AsyncWorkersResource,
    KeysResource,
    ManagementClient,
    WorkersResource,
)
from .models import (
    ChatCompletion,
    ChatMessage,
    Condition,
    CreatedKey,
    DataKey,
    DeletedWorkload,
    Embeddings,
    EnsureRef,
    Page,
    RegisteredWorker,
    ReplicaStatus,
    RotatedKey,
    SpecDifference,
    TextGeneration,
    Usage,
    Worker,
    Workload,
    WorkloadStatus,
)
from .spec import WorkloadSpec

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_BASE_URL",
    "ENV_SDK_TOKEN",
    "APIConnectionError",
    "APITimeoutError",
    "AsyncDataClient",
    "AsyncEndpoint",
    "AsyncKeysResource",
    "AsyncManagementClient",
    "AsyncTextStream",
    "AsyncWorkersResource",
    "AuthenticationError",
    "Backend",
    "BadRequestError",
    "ChatCompletion",
    "ChatMessage",
    "Condition",
    "ConfigurationError",
    "ConflictError",
    "CreatedKey",
    "DataClient",
    "DataKey",
    "DeletedWorkload",
    "DriftError",
    "Embeddings",
    "Endpoint",
    "EnsureRef",
    "ErrorDetail",
    "ExecutionPolicy",
    "InferenceKeyError",
    "InternalServerError",
    "KeysResource",
    "ManagementClient",
    "NotFoundError",
    "OnDrift",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RegisteredWorker",
    "ReplicaStatus",
    "RetryPolicy",
    "RotatedKey",
    "SpecDifference",
    "TaskType",
    "TextGeneration",
    "TextStream",
    "Usage",
    "ValidationError",
    "Worker",
    "WorkersResource",
    "Workload",
    "WorkloadFailedError",
    "WorkloadOutsideWindowError",
    "WorkloadScalingUpError",
    "WorkloadSpec",
    "WorkloadStatus",
    "__version__",
]
