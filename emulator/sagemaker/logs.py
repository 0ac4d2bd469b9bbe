"""Structured request logs that cost the request path one deque append.

Each request becomes one JSON line (time, request id, API, operation or endpoint, variant,
status, error code, milliseconds). Requests only append a tuple; a background thread
formats and writes them every quarter second, so logging never sits on the hot path.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

FIELDS = ("ts", "request_id", "api", "target", "variant", "status", "error", "ms", "bytes_in", "bytes_out")


class RequestLog:
    def __init__(self, path: Path | None, flush_interval: float = 0.25):
        self.path = path
        self._pending: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=200_000)
        self._interval = flush_interval
        self._stop = threading.Event()
        self._handle: IO[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="request-log", daemon=True)
        self._started = False

    def start(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", buffering=1 << 16)
        self._started = True
        self._thread.start()

    def record(self, request_id: str, api: str, target: str, variant: str | None, status: int,
               error: str | None, started: float, bytes_in: int, bytes_out: int) -> None:
        self._pending.append(
            (time.time(), request_id, api, target, variant, status, error,
             round((time.perf_counter() - started) * 1000, 3), bytes_in, bytes_out)
        )

    def _write_pending(self) -> None:
        if not self._pending:
            return
        out = self._handle or sys.stderr
        lines = []
        while self._pending:
            row = self._pending.popleft()
            entry = dict(zip(FIELDS, row))
            entry["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row[0])) + f".{int(row[0] % 1 * 1000):03d}Z"
            lines.append(json.dumps({k: v for k, v in entry.items() if v is not None}, separators=(",", ":")))
        out.write("\n".join(lines) + "\n")
        out.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._write_pending()
            except (OSError, ValueError):
                pass  # a full disk must not take the emulator down

    def close(self) -> None:
        self._stop.set()
        if self._started:
            self._thread.join(timeout=2)
        try:
            self._write_pending()
        except (OSError, ValueError):
            pass
        if self._handle is not None:
            self._handle.close()
