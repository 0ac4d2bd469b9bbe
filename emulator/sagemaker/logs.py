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


_SERVED = ('{"ts":"%s","request_id":"%s","api":"%s","target":"%s","variant":"%s","status":200,'
           '"ms":%.3f,"bytes_in":%d,"bytes_out":%d}')


def _quote(text: str) -> str:
    """A JSON string; json.dumps only for the rare value that needs escaping."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


class RequestLog:
    """JSON-lines request log; the file rotates to `<name>.1` past `max_bytes` (one backup kept)."""

    def __init__(self, path: Path | None, flush_interval: float = 0.25, max_bytes: int = 64 * 1024 * 1024):
        self.path = path
        self.max_bytes = max_bytes
        self._pending: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=200_000)
        self._interval = flush_interval
        self._stop = threading.Event()
        self._handle: IO[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="request-log", daemon=True)
        self._started = False
        self._second = -1
        self._second_text = ""

    def start(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", buffering=1 << 16)
        self._started = True
        self._thread.start()

    def record(self, request_id: str, api: str, target: str, variant: str | None, status: int,
               error: str | None, started: float, bytes_in: int, bytes_out: int) -> None:
        self.append((time.time(), request_id, api, target, variant, status, error, started, time.perf_counter(), bytes_in, bytes_out))

    @property
    def append(self) -> Any:
        """The raw entry sink for the hot path: `append((time.time(), request_id, api, target, variant,
        status, error, started, finished, bytes_in, bytes_out))` with perf_counter() start/finish."""
        return self._pending.append

    def _timestamp(self, ts: float) -> str:
        second = int(ts)
        if second != self._second:  # strftime once per second, not once per line
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((ts - second) * 1000):03d}Z"

    def _line(self, row: tuple[Any, ...]) -> str:
        ts, request_id, api, target, variant, status, error, started, finished, bytes_in, bytes_out = row
        ms = (finished - started) * 1000
        if status == 200 and variant is not None:
            # A served invocation: endpoint and variant names passed SageMaker's name pattern.
            return _SERVED % (self._timestamp(ts), request_id, api, target, variant, ms, bytes_in, bytes_out)
        line = f'{{"ts":"{self._timestamp(ts)}","request_id":"{request_id}","api":"{api}","target":{_quote(target)}'
        if variant is not None:
            line += f',"variant":{_quote(variant)}'
        line += f',"status":{status}'
        if error is not None:
            line += f',"error":{_quote(error)}'
        return line + f',"ms":{ms:.3f},"bytes_in":{bytes_in},"bytes_out":{bytes_out}}}'

    def _write_pending(self) -> None:
        if not self._pending:
            return
        out = self._handle or sys.stderr
        lines = []
        pending = self._pending
        while pending:
            lines.append(self._line(pending.popleft()))
        out.write("\n".join(lines) + "\n")
        out.flush()
        if self._handle is not None and self.path is not None and self._handle.tell() > self.max_bytes:
            self._handle.close()
            self.path.replace(self.path.with_name(self.path.name + ".1"))
            self._handle = self.path.open("a", buffering=1 << 16)

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
