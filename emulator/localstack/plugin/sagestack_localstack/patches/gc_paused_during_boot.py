"""Python's cyclic garbage collector is paused while LocalStack starts and warms up its services.

Start-up before the gateway answers is almost all module imports (about 1,300 modules), and the
background warm-up after it is more of the same: every function, class and dict they create is a
container object the collector tracks, so it runs a young-generation pass every couple of
thousand allocations and an older one now and then, each walking objects that all stay alive
(module contents). Reference counting still frees everything that is not in a cycle; only the
cycles made meanwhile wait.

Switching the collector back on as soon as the gateway is up does not help: LocalStack's ready
monitor runs at once (the port is already bound), and the first pass after a pause walks every
object made during it (about 60 ms), right when the first health request is served. So the
collector is handed back by `resume()` at the end of the background warm-up (plugins.py, warm_up.py),
in the warm-up thread: one full collection, then the usual thresholds; a server that gets no AWS
request (so no warm-up) within a few seconds of ready has it back then. With no warm-up configured
(eager service loading), `resume()` runs from the on_infra_ready hook instead. Measured (2 cores,
alternated starts, median): CPU until `/_localstack/health` first answers about -9%; the
warm-up's CPU drops as well. If the collector was already disabled when the patch was applied
(someone else's choice), it stays as it was. AWS-facing behaviour is unchanged: only the moment
cycles are freed moves. Early stage: before anything of LocalStack is imported.
"""

from __future__ import annotations

import gc
import threading

CHECKED_AGAINST = "2026.3.0"
TARGETS = ("gc (the interpreter's collector: disabled from boot until the warm-up ends)",)
_lock = threading.Lock()
_paused = False  # True while the collector is off because of this patch


def paused() -> bool:
    return _paused


def resume() -> None:
    """Collect once and switch the collector back on, if this patch paused it (later calls do nothing)."""
    global _paused
    with _lock:
        if not _paused:
            return
        _paused = False
    gc.collect()
    gc.enable()


def apply() -> None:
    global _paused
    with _lock:
        if gc.isenabled():  # paused by whoever runs us: not ours to switch back on
            gc.disable()
            _paused = True
