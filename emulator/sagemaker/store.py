"""Durable state: one SQLite file holding every resource as a JSON document.

`commit` writes every document of one change in a single transaction (SQLite's write-ahead
log, synchronous=FULL), so a kill -9 in the middle of a write leaves the previous committed
state, never a half-written one. A write that fails (disk full, read-only file system, I/O
error) is rolled back and raised as `InternalFailure`: the caller has not touched memory yet
(see `tables.Tables.commit`), so nothing half-made stays anywhere. A file that is damaged
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
from typing import Any, Iterable, Iterator

from emulator.sagemaker.errors import InternalFailure

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

    def commit(self, puts: Iterable[tuple[str, str, dict[str, Any]]] = (), deletes: Iterable[tuple[str, str]] = ()) -> None:
        """Write `puts` and `deletes` in one transaction: all of them are durable, or none is.

        Raises `InternalFailure` (and leaves the file as it was) when the disk refuses the write."""
        try:
            bodies = [(kind, name, json.dumps(doc, separators=(",", ":"), allow_nan=False)) for kind, name, doc in puts]
        except (TypeError, ValueError) as exc:  # a bug upstream: validation should have refused the value
            raise InternalFailure(f"The SageMaker emulator could not encode the resource for saving ({exc}); nothing was changed.") from None
        removals = list(deletes)
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for kind, name, body in bodies:
                        self._conn.execute(
                            "INSERT INTO resources (kind, name, body) VALUES (?, ?, ?) "
                            "ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body",
                            (kind, name, body),
                        )
                    self._conn.executemany("DELETE FROM resources WHERE kind = ? AND name = ?", removals)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                log.error("could not write state to %s: %s", self.path, exc)
                raise InternalFailure(
                    f"The SageMaker emulator could not save its state ({exc}); nothing was changed. "
                    "Free disk space or make the emulator's data directory writable, then retry."
                ) from None

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
