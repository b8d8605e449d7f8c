"""The one place the SDK reads the process environment.

Everything else takes explicit arguments, so a client built with ``ManagementClient(token=...)``
never depends on ambient state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ENV_SDK_TOKEN = "INFERENCEKEY_SDK_TOKEN"
"""The variable holding the ``ik_sdk_`` control token read by ``ManagementClient.from_env``."""

ENV_BASE_URL = "INFERENCEKEY_BASE_URL"
"""The variable holding the API origin read by ``from_env`` (default :data:`DEFAULT_BASE_URL`)."""

ENV_PROJECT = "INFERENCEKEY_PROJECT"
"""The variable holding the default project of ``ManagementClient.from_env`` and ``DataClient.from_env``."""

ENV_API_KEY = "INFERENCEKEY_API_KEY"
"""The variable holding the default ``ik_live_`` key of ``DataClient.from_env(...).endpoint(slug)``."""

DEFAULT_BASE_URL = "https://api.inferencekey.com"
"""The hosted API, used when ``INFERENCEKEY_BASE_URL`` is unset or blank."""


@dataclass(frozen=True)
class SdkEnvironment:
    """What the environment says, after defaults; ``token`` is ``None`` when unset or blank.

    Example:
        >>> env = read_environment({"INFERENCEKEY_SDK_TOKEN": "ik_sdk_abc"})
        >>> env.base_url
        'https://api.inferencekey.com'

    """

    token: str | None
    base_url: str
    project: str | None = None
    api_key: str | None = None


def _non_blank(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def read_environment(environ: Mapping[str, str] | None = None) -> SdkEnvironment:
    """Read ``INFERENCEKEY_SDK_TOKEN``, ``INFERENCEKEY_BASE_URL``, ``INFERENCEKEY_PROJECT``, ``INFERENCEKEY_API_KEY``.

    Blank values count as unset.

    Example:
        >>> read_environment({"INFERENCEKEY_BASE_URL": "http://127.0.0.1:8787"}).base_url
        'http://127.0.0.1:8787'

    """
    source: Mapping[str, str] = os.environ if environ is None else environ
    return SdkEnvironment(
        token=_non_blank(source.get(ENV_SDK_TOKEN)),
        base_url=_non_blank(source.get(ENV_BASE_URL)) or DEFAULT_BASE_URL,
        project=_non_blank(source.get(ENV_PROJECT)),
        api_key=_non_blank(source.get(ENV_API_KEY)),
    )
