"""twisted's pool threads take their work from a C `queue.SimpleQueue`, not a `queue.Queue`.

LocalStack's server runs every request's gateway in a thread of the reactor's pool: the reactor
thread puts the request on the chosen pool thread's own queue, which wakes it. twisted gives
each pool thread a `queue.Queue`: a put and a get are Python code (a mutex, a `Condition`, its
waiter list), run while holding the GIL that every request needs; in a py-spy profile of the
API Gateway AWS_PROXY -> Lambda path under load, that `Condition.notify` alone was the largest
single line of the reactor thread. Each pool thread only ever calls `put` and a blocking `get` on
its queue (twisted._threads._threadworker.ThreadWorker), which `queue.SimpleQueue` has with the
same semantics (unbounded, FIFO, thread-safe), implemented in C. Boot stage: before LocalStack's
server creates its pool threads (they are created on first use).
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# only with GATEWAY_SERVER=twisted: applied when LocalStack imports its twisted server (patches/__init__.py)
APPLY_ON_IMPORT = "localstack.runtime.server.twisted"
TARGETS = ("twisted._threads._pool.Queue (the queue class twisted.python.threadpool's workers get)",)


def apply() -> None:
    import queue

    from twisted._threads import _pool

    _pool.Queue = queue.SimpleQueue
