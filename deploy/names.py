"""The one source of truth for the kit's fixed names, ports and paths (DESIGN.md "Fixed names").

Every module that needs a port, the profile name or the state directory imports it from
here. Environment variables override the defaults so that tests and parallel sessions
can run their own stack on free ports without touching the fixed defaults users rely on.
"""

from __future__ import annotations

import os
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
    return _int_env("SAGESTACK_LOCALSTACK_PORT", DEFAULT_LOCALSTACK_PORT)


def sagemaker_port() -> int:
    """Port of the SageMaker emulator (`SAGESTACK_SAGEMAKER_PORT`, default 4567)."""
    return _int_env("SAGESTACK_SAGEMAKER_PORT", DEFAULT_SAGEMAKER_PORT)


def localstack_url() -> str:
    return f"http://{LOOPBACK}:{localstack_port()}"


def sagemaker_url() -> str:
    return f"http://{LOOPBACK}:{sagemaker_port()}"


def state_dir() -> Path:
    """Run-time state (venvs, data, logs, outputs); `SAGESTACK_STATE_DIR` overrides `.sagestack/`."""
    raw = os.environ.get("SAGESTACK_STATE_DIR")
    return Path(raw).resolve() if raw else PROJECT_ROOT / STATE_DIR_NAME


def outputs_path() -> Path:
    return state_dir() / OUTPUTS_FILE_NAME


def venvs_dir() -> Path:
    """Tool venvs (e.g. LocalStack's Python 3.13 runtime) built once and shared by every state dir.

    Kept apart from `state_dir()` so a test session with a throw-away state dir does not
    rebuild them; `SAGESTACK_VENVS_DIR` overrides `.sagestack/venvs`.
    """
    raw = os.environ.get("SAGESTACK_VENVS_DIR")
    return Path(raw).resolve() if raw else PROJECT_ROOT / STATE_DIR_NAME / "venvs"
