"""Polling with progress for the slow SageMaker states (training, endpoint creation/update).

The interval starts short (the emulator settles in well under a second) and grows to a cap
suited to AWS, where an endpoint takes minutes: one code path, no "local?" branch.
"""

from __future__ import annotations

import time
from typing import Callable

Describe = Callable[[], tuple[str, str]]  # -> (status, detail)


class WaitFailed(RuntimeError):
    """The resource reached a failure state or the wait timed out; the message says which and why."""


def wait_for(
    describe: Describe,
    *,
    what: str,
    done: set[str],
    failed: set[str],
    timeout_s: float,
    log: Callable[[str], None],
    first_interval_s: float = 0.1,
    max_interval_s: float = 15.0,
) -> str:
    """Poll `describe` until its status is in `done` (returned) or `failed` (raises WaitFailed)."""
    started = time.monotonic()
    interval = first_interval_s
    last_status = None
    last_print = started
    while True:
        status, detail = describe()
        elapsed = time.monotonic() - started
        if status != last_status or time.monotonic() - last_print > 30:
            suffix = f" ({detail})" if detail else ""
            log(f"  {what}: {status}{suffix} [{elapsed:.0f} s]")
            last_status, last_print = status, time.monotonic()
        if status in done:
            return status
        if status in failed:
            raise WaitFailed(f"{what} is {status}: {detail or 'no reason given'}")
        if elapsed > timeout_s:
            raise WaitFailed(f"{what} still {status} after {timeout_s:.0f} s; check it in the console or with `sagestack status`")
        time.sleep(interval)
        interval = min(interval * 1.5, max_interval_s)
