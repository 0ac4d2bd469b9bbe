"""Lambda execution environments' start-up and keep-alive timers, kept by one scheduler thread.

LocalStack arms a `threading.Timer` (a new thread) every time an environment is released after an
invoke, to stop it after LAMBDA_KEEPALIVE_MS idle, and cancels it on the next invoke: one thread
started and torn down per invocation, about a tenth of the server's CPU on the API Gateway ->
Lambda path (2 cores). Here `Timer` in execution_environment.py is a `SharedTimer` with the same
interface (start, cancel, is_alive): one daemon thread sleeps until the earliest pending deadline,
and a timer that fires runs its function in a thread of its own, as threading.Timer does. When
an environment stops, or a start-up times out, is unchanged.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.invocation.execution_environment"
TARGETS = ("localstack.services.lambda_.invocation.execution_environment.Timer",)


class _Scheduler:
    """Pending timers and the one thread that fires them when due."""

    def __init__(self) -> None:
        self._due: dict["SharedTimer", float] = {}  # few entries: one per environment at most
        self._cond = threading.Condition()
        self._wake_at = float("inf")
        self._thread: threading.Thread | None = None

    def add(self, timer: "SharedTimer", due: float) -> None:
        with self._cond:
            self._due[timer] = due
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sagestack-lambda-timers", daemon=True)
                self._thread.start()
            if due < self._wake_at:  # keep-alive deadlines are later than the pending ones: no wake-up
                self._cond.notify()

    def remove(self, timer: "SharedTimer") -> bool:
        """Drop a pending timer; False when it is not pending (fired already, or never started)."""
        with self._cond:
            return self._due.pop(timer, None) is not None

    def pending(self, timer: "SharedTimer") -> bool:
        with self._cond:
            return timer in self._due

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                fired = [t for t, due in self._due.items() if due <= now]
                for timer in fired:
                    del self._due[timer]
                self._wake_at = min(self._due.values(), default=float("inf"))
                if not fired:
                    self._cond.wait(None if self._wake_at == float("inf") else self._wake_at - now)
                    continue
            for timer in fired:
                timer._fire()


SCHEDULER = _Scheduler()


class SharedTimer:
    """`threading.Timer(interval, function, args, kwargs)` without a thread per pending timer."""

    def __init__(self, interval: float, function: Callable[..., Any], args: Any = None, kwargs: Any = None) -> None:
        self.interval = interval
        self.function = function
        self.args = args if args is not None else []
        self.kwargs = kwargs if kwargs is not None else {}
        self._started = False
        self._cancelled = False
        self._running: threading.Thread | None = None

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        if not self._cancelled:
            SCHEDULER.add(self, time.monotonic() + self.interval)

    def cancel(self) -> None:
        """Stop the timer if it has not fired yet (threading.Timer.cancel)."""
        self._cancelled = True
        SCHEDULER.remove(self)

    def is_alive(self) -> bool:
        running = self._running
        return SCHEDULER.pending(self) or (running is not None and running.is_alive())

    def _fire(self) -> None:
        if self._cancelled:
            return
        self._running = threading.Thread(
            target=self.function, args=self.args, kwargs=self.kwargs, name="sagestack-lambda-timer", daemon=True
        )
        self._running.start()


def apply() -> None:
    from localstack.services.lambda_.invocation import execution_environment

    execution_environment.Timer = SharedTimer
