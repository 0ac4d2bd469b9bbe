"""Durable state: one SQLite file holding every resource as a JSON document.

SQLite's write-ahead log makes each put/delete atomic, so a kill -9 in the middle of a write
leaves the previous committed state, never a half-written one. A file that is damaged
anyway (disk full, someone truncated it) is moved aside with a loud warning and the
emulator starts empty instead of crashing at every start.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger("sagestack.sagemaker.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
"""


class StateStore:
    """Write-through persistence for the backend's in-memory records (`kind` + `name` -> dict)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = self._open()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row and row[0] == "ok":
                return conn
            conn.close()
            problem = row[0] if row else "no answer from quick_check"
        except sqlite3.DatabaseError as exc:
            problem = str(exc)
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        log.error("state file %s is damaged (%s); moved it to %s and starting with empty state", self.path, problem, aside)
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                part.replace(Path(str(aside) + suffix))
        return self._connect()

    def put(self, kind: str, name: str, record: dict[str, Any]) -> None:
        body = json.dumps(record, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._conn.execute(
                "INSERT INTO resources (kind, name, body) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body",
                (kind, name, body),
            )

    def delete(self, kind: str, name: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM resources WHERE kind = ? AND name = ?", (kind, name))

    def load(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored record of a kind; a record that is not valid JSON is skipped and logged."""
        with self._lock:
            rows = self._conn.execute("SELECT name, body FROM resources WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        for name, body in rows:
            try:
                record = json.loads(body)
            except ValueError:
                log.error("skipping unreadable %s record %r in %s", kind, name, self.path)
                continue
            if isinstance(record, dict):
                yield name, record

    def close(self) -> None:
        with self._lock:
            self._conn.close()
