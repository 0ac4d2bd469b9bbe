"""Every change sagestack makes to LocalStack's (and its server's) internals, one module each.

LocalStack 2026.3.0 is used as shipped except for the patches listed here. Each module is
written the same way, so a reader (or a LocalStack upgrade) can check them one by one:

- its docstring says what LocalStack does, what AWS does, and why the patch exists;
- `CHECKED_AGAINST` names the localstack-core version whose source the patch was read against
  (`apply_all` logs a warning when the running LocalStack is another version);
- `TARGETS` names the LocalStack functions/classes it replaces or wraps;
- `apply()` installs it (called once; `apply_all` guards against a second call).

Three stages: `EARLY` patches run first thing in `boot.py` (before the service catalog is linked,
which imports botocore); `BOOT` patches run in `boot.py` before LocalStack builds its
server (nothing of LocalStack's runtime is imported yet); `INFRA` patches are armed from the on_infra_start hook in `plugins.py`
when `LAMBDA_RUNTIME_EXECUTOR=local`, before any request is served. Each INFRA module names in
`APPLY_ON_IMPORT` the LocalStack module it patches; it is applied the moment that module has been
executed, before the import that loaded it returns (so no caller sees the unpatched code), or at
once when it is already loaded. Importing the Lambda provider to patch it ahead of use cost about
a fifth of start-up; this way it happens when the service loads (in the background warm-up).
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import logging
import sys
import threading
from types import ModuleType
from typing import Callable

LOG = logging.getLogger(__name__)

EARLY = ("gc_paused_during_boot", "pydantic_dispatch_on_demand", "libraries_on_demand", "native_libraries_on_demand")
BOOT = ("listen_loopback", "localhost_subdomains", "twisted_content_type_cache", "twisted_wsgi_buffered_response",
        "twisted_threadpool_simple_queue", "twisted_access_log_unread",
        "openapi_validation_on_demand", "handlers_moto_on_demand", "moto_patches_on_import",
        "response_logger_when_enabled", "internal_resources_prefix_check", "modules_on_demand",
        "presigned_url_on_demand", "service_specs_compact", "service_spec_patches_in_place",
        "service_catalog_shared_identifiers", "dns_server_on_demand", "wsproto_on_demand",
        "lambda_custom_endpoints_on_demand", "service_loads_serialized", "tls_certificate_on_demand")
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
    "apigateway_stage_leading_slashes",
    "apigateway_raw_form_body",
    "sagemaker_forwarding",
    "apigateway_payload_limits",
    "logs_retention_bounds",
    "service_manager_available_cache",
    "iam_managed_policies_on_demand",
    "s3_website_client_on_demand",
    "logs_cloudwatch_client_on_demand",
)
STAGES = {"early": EARLY, "boot": BOOT, "infra": INFRA}
_applied: set[str] = set()
_lock = threading.RLock()  # a service loading in the warm-up thread and a request may import at once
_waiting: dict[str, list[Callable[[], object]]] = {}  # module not imported yet -> what runs after it, in order
_armed: set[str] = set()  # patches waiting for their module


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def apply_all(stage: str) -> list[str]:
    """Apply every patch of `stage` ('boot' or 'infra') once; return the names applied now."""
    return [name for name in STAGES[stage] if _apply(name)]


def _apply(name: str) -> bool:
    with _lock:
        if name in _applied:
            return False
        patch = module(name)
        _warn_if_unchecked(patch)
        patch.apply()
        _applied.add(name)
        return True


def apply_on_import(stage: str) -> list[str]:
    """Apply each patch of `stage` once its APPLY_ON_IMPORT module is imported; return those applied now."""
    now = []
    with _lock:
        for name in STAGES[stage]:
            target = getattr(module(name), "APPLY_ON_IMPORT", None)
            if target is None or target in sys.modules:
                now.append(name)
            elif name not in _armed:
                _armed.add(name)
                when_imported(target, lambda name=name: _apply(name))
    return [name for name in now if _apply(name)]


def when_imported(target: str, action: Callable[[], object]) -> None:
    """Run `action` right after module `target` first executes (before its importer continues), or now."""
    with _lock:
        if target not in sys.modules:
            _waiting.setdefault(target, []).append(action)
            if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
                sys.meta_path.insert(0, _AfterImport())
            return
    action()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of a waited-for module to run its actions after it runs."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _waiting:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                exec_module = spec.loader.exec_module

                def exec_then_act(mod: ModuleType) -> None:
                    exec_module(mod)
                    with _lock:
                        actions = _waiting.pop(fullname, [])
                    for action in actions:
                        action()

                spec.loader.exec_module = exec_then_act
                return spec
            if spec is not None:
                return spec
        return None


@functools.cache
def running_localstack_version() -> str | None:
    """localstack-core's installed version, read once.

    From `localstack.version`, the module its build writes with the distribution's version
    (setuptools-scm): a distribution lookup scans every distribution on sys.path (about 10 ms of
    start-up, before the gateway answers); that lookup is the fallback for a LocalStack without it.
    """
    try:
        from localstack.version import __version__

        return str(__version__)
    except ImportError:
        pass
    try:
        from importlib.metadata import version

        return version("localstack-core")
    except Exception:  # not installed as a distribution (e.g. a source checkout): nothing to compare
        return None


def _warn_if_unchecked(patch: ModuleType) -> None:
    running = running_localstack_version()
    if running is None:
        return
    if running != patch.CHECKED_AGAINST:
        LOG.warning(
            "sagestack patch %s was checked against localstack-core %s, this is %s: re-read its TARGETS",
            patch.__name__, patch.CHECKED_AGAINST, running,
        )
