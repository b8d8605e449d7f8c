"""Starts the local platform (``npm start``'s entry point) as a subprocess for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from _guide import REPO_ROOT

START_TIMEOUT = float(os.environ.get("INFERENCEKEY_TEST_START_TIMEOUT", "180"))
COMMAND = ["sh", "scripts/node22.sh", "--import", "tsx", "packages/local/src/main.ts"]


@dataclass
class LocalPlatform:
    process: subprocess.Popen[bytes]
    home: Path
    log: Path
    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.env["INFERENCEKEY_BASE_URL"]

    @property
    def sdk_token(self) -> str:
        return self.env["INFERENCEKEY_SDK_TOKEN"]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within 15 s; then clear its process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # Replicas the platform started, if any outlived it (the group is the one we created).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


def read_dev_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            env[name.strip()] = value.strip().strip("'\"")
    return env


def start_local_platform(home: Path) -> LocalPlatform:
    """Run ``sh scripts/node22.sh --import tsx packages/local/src/main.ts`` from the repository root
    with ``PORT=0`` and ``INFERENCEKEY_HOME=home``, and wait until it has written ``home/dev.env``.
    """
    log = home / "platform.log"
    dev_env = home / "dev.env"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            COMMAND,
            cwd=REPO_ROOT,
            env={**os.environ, "PORT": "0", "INFERENCEKEY_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform = LocalPlatform(process, home, log, {})
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if dev_env.exists():
            env = read_dev_env(dev_env)
            if {"INFERENCEKEY_BASE_URL", "INFERENCEKEY_SDK_TOKEN"} <= env.keys():
                platform.env = env
                return platform
        if process.poll() is not None:
            raise RuntimeError(f"the local platform exited early ({process.returncode}):\n{platform.output()}")
        if time.monotonic() > deadline:
            platform.stop()
            raise RuntimeError(
                f"the local platform wrote no dev.env within {START_TIMEOUT:.0f} s:\n{platform.output()}"
            )
        time.sleep(0.1)
