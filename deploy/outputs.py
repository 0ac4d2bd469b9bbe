"""outputs.json: what a client needs (invoke URL, API key, names), one reader and one writer.

It holds the API key, so it is written 0600 in a 0700 directory (contract.supervision.write_private).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contract import names
from contract.supervision import write_private


def write_outputs(outputs: dict[str, Any], path: Path | None = None) -> Path:
    path = path or names.outputs_path()
    write_private(path, json.dumps(outputs, indent=2) + "\n")
    return path


def read_outputs(path: Path | None = None) -> dict[str, Any]:
    path = path or names.outputs_path()
    try:
        outputs = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: deploy the stack first (sagestack deploy, or make up)") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); re-run sagestack deploy to rewrite it") from None
    if not isinstance(outputs, dict) or not all(isinstance(outputs.get(key), str) for key in ("invoke_url", "api_key")):
        raise ValueError(f"{path} is not the outputs.json of sagestack deploy (no invoke_url and api_key); re-run sagestack deploy to rewrite it")
    return outputs


def local_outputs() -> dict[str, Any] | None:
    """The outputs of a deploy to the embedded stack of this state dir, or None (none, or another profile's)."""
    try:
        outputs = read_outputs()
    except (FileNotFoundError, ValueError):
        return None
    return outputs if outputs.get("profile") == names.LOCAL_PROFILE else None
