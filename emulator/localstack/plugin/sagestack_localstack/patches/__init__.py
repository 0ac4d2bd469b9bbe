"""Every change sagestack makes to LocalStack's (and its server's) internals, one module each.

LocalStack 2026.3.0 is used as shipped except for the patches listed here. Each module is
written the same way, so a reader (or a LocalStack upgrade) can check them one by one:

- its docstring says what LocalStack does, what AWS does, and why the patch exists;
- `CHECKED_AGAINST` names the localstack-core version whose source the patch was read against
  (`apply_all` logs a warning when the running LocalStack is another version);
- `TARGETS` names the LocalStack functions/classes it replaces or wraps;
- `apply()` installs it (called once; `apply_all` guards against a second call).

Two stages: `BOOT` patches run in `boot.py` before LocalStack builds its server (nothing of
LocalStack is imported yet); `INFRA` patches run from the on_infra_start hook in `plugins.py`
when `LAMBDA_RUNTIME_EXECUTOR=local`, before any request is served.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

LOG = logging.getLogger(__name__)

BOOT = ("listen_loopback", "localhost_subdomains", "twisted_content_type_cache")
INFRA = (
    "lambda_runtime_validation",
    "lambda_reserved_environment",
    "lambda_invoke_payload",
    "lambda_client_context",
    "lambda_log_stream_utc",
    "lambda_init_logs",
    "lambda_metric_batching",
    "lambda_log_batching",
    "lambda_shared_timers",
    "apigateway_direct_lambda",
    "apigateway_request_time",
    "apigateway_raw_form_body",
    "sagemaker_forwarding",
    "apigateway_payload_limits",
    "logs_retention_bounds",
)
STAGES = {"boot": BOOT, "infra": INFRA}
_applied: set[str] = set()


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def apply_all(stage: str) -> list[str]:
    """Apply every patch of `stage` ('boot' or 'infra') once; return the names applied now."""
    applied = []
    for name in STAGES[stage]:
        if name in _applied:
            continue
        patch = module(name)
        _warn_if_unchecked(patch)
        patch.apply()
        _applied.add(name)
        applied.append(name)
    return applied


def _warn_if_unchecked(patch: ModuleType) -> None:
    try:
        from importlib.metadata import version

        running = version("localstack-core")
    except Exception:  # not installed as a distribution (e.g. a source checkout): nothing to compare
        return
    if running != patch.CHECKED_AGAINST:
        LOG.warning(
            "sagestack patch %s was checked against localstack-core %s, this is %s: re-read its TARGETS",
            patch.__name__, patch.CHECKED_AGAINST, running,
        )
