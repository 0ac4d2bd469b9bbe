"""The stack's services load in the background once the first AWS request arrives.

LocalStack loads a service when its first request arrives (a first CreateFunction paid about 7 s
for Lambda's load on 2 cores under load). The kit loads all the stack's services at once instead,
in a background thread, so that a deploy's later requests find theirs loaded: SAGESTACK_WARM_SERVICES
names them, in the order a deploy first calls them.

It starts on the first request that is not one of LocalStack's internal routes (`/_localstack/...`:
health polls, info, init), not at ready: a LocalStack nobody has used yet holds only what answering
its health route needs (about 100 MB instead of about 140 MB after the warm-up: memory, not time,
is what an unused server costs), while a deploy, which starts right after ready in `sagestack up`
and compose, gets the same head start as before. SageMaker requests (answered by the forwarder
before this handler runs) need no LocalStack service and start nothing.

`WarmUp.done` is what `gc_paused_during_boot` waits for: the collector, paused since boot, runs
again when the warm-up ends, or after IDLE_GC_RESUME_S of an unused server, whichever comes first
(so health polls of a server nobody uses never accumulate uncollected cycles).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

LOG = logging.getLogger(__name__)
INTERNAL_PREFIX = "/_localstack/"
IDLE_GC_RESUME_S = 3.0


class WarmUp:
    """Loads `services` in a background thread once `start()` is first called; later calls do nothing."""

    def __init__(self, services: Sequence[str], require: Callable[[str], object], when_done: Callable[[], None]) -> None:
        self.services = tuple(services)
        self._require = require
        self._when_done = when_done
        self._lock = threading.Lock()
        self.started = False
        self.done = threading.Event()

    def start(self) -> bool:
        """Start the warm-up unless it has started already; whether this call started it."""
        if self.started:  # the per-request fast path: one attribute read
            return False
        with self._lock:
            if self.started:
                return False
            self.started = True
        threading.Thread(target=self._run, name="sagestack-warm-services", daemon=True).start()
        return True

    def _run(self) -> None:
        try:
            for api in self.services:
                try:
                    self._require(api)
                except Exception as exc:  # a service that fails to load fails again, visibly, on use
                    LOG.warning("could not pre-load service %s: %s", api, exc)
        finally:
            self.done.set()
            self._when_done()

    def request_handler(self, chain, context, response) -> None:
        """A `preprocess_request` handler: the first AWS request starts the warm-up."""
        if not self.started and not context.request.path.startswith(INTERNAL_PREFIX):
            self.start()

    def resume_gc_if_unused(self, resume: Callable[[], None], after_s: float = IDLE_GC_RESUME_S) -> threading.Timer:
        """Call `resume` after `after_s` unless the warm-up has started by then (its end calls it)."""

        def check() -> None:
            if not self.started:
                resume()

        timer = threading.Timer(after_s, check)
        timer.daemon = True
        timer.start()
        return timer
