"""The one source of truth for the kit's fixed names, ports and paths (docs/ARCHITECTURE.md, "Fixed names").

Every module that needs a port, the profile name or the state directory imports it from
here. Environment variables override the defaults so that tests and parallel sessions
can run their own stack on free ports without touching the fixed defaults users rely on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

LOCAL_PROFILE = "sagestack-local"
LOOPBACK = "127.0.0.1"
DEFAULT_LOCALSTACK_PORT = 4566
DEFAULT_SAGEMAKER_PORT = 4567
DEFAULT_REGION = "us-east-1"
# LocalStack's conventional dummy account/credentials; AWS never sees them.
LOCAL_ACCESS_KEY_ID = "test"
LOCAL_SECRET_ACCESS_KEY = "test"
LOCAL_ACCOUNT_ID = "000000000000"
STATE_DIR_NAME = ".sagestack"
OUTPUTS_FILE_NAME = "outputs.json"
API_RESOURCE_PATH = "ml-model-api"
# Health routes: the emulator answers both of its own; LocalStack's is its gateway's.
SAGEMAKER_HEALTH_PATH = "/_sagestack/health"
SAGEMAKER_HEALTH_PATHS = (SAGEMAKER_HEALTH_PATH, "/health")
LOCALSTACK_HEALTH_PATH = "/_localstack/health"

# The `SAGESTACK_*` variables that point every layer (and child processes) at one stack.
ENV_LOCALSTACK_PORT = "SAGESTACK_LOCALSTACK_PORT"
ENV_SAGEMAKER_PORT = "SAGESTACK_SAGEMAKER_PORT"
ENV_STATE_DIR = "SAGESTACK_STATE_DIR"
ENV_VENVS_DIR = "SAGESTACK_VENVS_DIR"
STACK_ENV_KEYS = (ENV_LOCALSTACK_PORT, ENV_SAGEMAKER_PORT, ENV_STATE_DIR)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a port number; unset it or give an integer") from None
    if not 0 < port < 65536:
        raise SystemExit(f"{name}={port} is outside 1..65535; unset it or give a valid port")
    return port


def localstack_port() -> int:
    """Port of the embedded LocalStack gateway (`SAGESTACK_LOCALSTACK_PORT`, default 4566)."""
    return _int_env(ENV_LOCALSTACK_PORT, DEFAULT_LOCALSTACK_PORT)


def sagemaker_port() -> int:
    """Port of the SageMaker emulator (`SAGESTACK_SAGEMAKER_PORT`, default 4567)."""
    return _int_env(ENV_SAGEMAKER_PORT, DEFAULT_SAGEMAKER_PORT)


def localstack_url() -> str:
    return f"http://{LOOPBACK}:{localstack_port()}"


def sagemaker_url() -> str:
    return f"http://{LOOPBACK}:{sagemaker_port()}"


def state_dir() -> Path:
    """Run-time state (venvs, data, logs, outputs); `SAGESTACK_STATE_DIR` overrides `.sagestack/`."""
    raw = os.environ.get(ENV_STATE_DIR)
    return Path(raw).resolve() if raw else PROJECT_ROOT / STATE_DIR_NAME


def outputs_path() -> Path:
    return state_dir() / OUTPUTS_FILE_NAME


def venvs_dir() -> Path:
    """Tool venvs (e.g. LocalStack's Python 3.13 runtime) built once and shared by every state dir.

    Kept apart from `state_dir()` so a test session with a throw-away state dir does not
    rebuild them; `SAGESTACK_VENVS_DIR` overrides `.sagestack/venvs`.
    """
    raw = os.environ.get(ENV_VENVS_DIR)
    return Path(raw).resolve() if raw else PROJECT_ROOT / STATE_DIR_NAME / "venvs"


def stack_env(localstack_port: int, sagemaker_port: int, state_dir: Path) -> dict[str, str]:
    """The variables under which this module (and so the local profile) point at one stack.

    The writing side of the contract `localstack_port()`, `sagemaker_port()` and `state_dir()`
    read: a parent builds it for a child process, the pytest plugin applies it for a block.
    """
    return {
        ENV_LOCALSTACK_PORT: str(localstack_port),
        ENV_SAGEMAKER_PORT: str(sagemaker_port),
        ENV_STATE_DIR: str(state_dir),
    }


def child_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """Environment for a `python -m <kit module>` child: `base` (default ours) with the kit importable.

    Children run with the project root first on PYTHONPATH so they import this checkout's code
    even when the kit is not installed in their interpreter (e.g. a test's throw-away venv).
    """
    env = dict(os.environ if base is None else base)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env
