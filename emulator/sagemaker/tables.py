"""Where the records live: one in-memory table per kind, changed only after the disk has the change.

Every change goes through `Tables.commit(put=..., delete=...)`: the new records are written to
SQLite in one transaction first, and only then swapped into memory. A write the disk refuses
raises `InternalFailure` before memory is touched, so no request can leave a resource that
exists in memory but not on disk (a "ghost"), and a crash at any point leaves memory and disk
as the last committed change.

Background work (endpoint workers, training progress) that must not lose a transition uses
`commit_eventually`, which retries while the disk is full and gives up only at shutdown; the
state on disk is then still the previous one and `recover()` resumes from it at the next start.

The one lock (`Tables.lock`, re-entrant) guards reads and commits of every table, so a check
("the name is free", "the quota has room") and the commit that depends on it are atomic.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable, Sequence

from emulator.sagemaker.errors import InternalFailure
from emulator.sagemaker.records import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    KINDS,
    MODEL,
    TAGS,
    TRAINING_JOB,
    EndpointConfigRecord,
    EndpointRecord,
    ModelRecord,
    Record,
    TagSet,
    TrainingJobRecord,
    from_doc,
)
from emulator.sagemaker.store import StateStore

log = logging.getLogger("sagestack.sagemaker")

RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)  # seconds between attempts of a background write


class Tables:
    def __init__(self, store: StateStore):
        self.store = store
        self.lock = threading.RLock()
        self.models: dict[str, ModelRecord] = {}
        self.endpoint_configs: dict[str, EndpointConfigRecord] = {}
        self.endpoints: dict[str, EndpointRecord] = {}
        self.training_jobs: dict[str, TrainingJobRecord] = {}
        self.tags: dict[str, TagSet] = {}
        self._closing = threading.Event()

    def table(self, kind: str) -> dict[str, Record]:
        return {  # type: ignore[return-value]
            MODEL: self.models,
            ENDPOINT_CONFIG: self.endpoint_configs,
            ENDPOINT: self.endpoints,
            TRAINING_JOB: self.training_jobs,
            TAGS: self.tags,
        }[kind]

    def load(self) -> None:
        """Fill memory from disk (at start); a stored document that is not a record is skipped and logged."""
        with self.lock:
            for kind in KINDS:
                table = self.table(kind)
                table.clear()
                for key, doc in self.store.load(kind):
                    try:
                        table[key] = from_doc(kind, key, doc)
                    except (KeyError, TypeError, ValueError) as exc:
                        log.error("skipping unreadable %s record %r: %s", kind, key, exc)

    def taken(self, kind: str, name: str) -> bool:
        """Names are unique case-insensitively (the ARN, which lower-cases them, is the identity):
        "The name is case-insensitive in CreateEndpoint, but the case is preserved"."""
        table = self.table(kind)
        if name in table:
            return True
        lowered = name.lower()
        return any(existing.lower() == lowered for existing in table)

    def commit(self, put: Sequence[Record] = (), delete: Sequence[Record] = ()) -> None:
        """Make a change durable, then visible. Raises `InternalFailure` with nothing changed."""
        with self.lock:
            self.store.commit(
                [(record.KIND, record.key, record.to_doc()) for record in put],
                [(record.KIND, record.key) for record in delete],
            )
            for record in delete:
                self.table(record.KIND).pop(record.key, None)
            for record in put:
                self.table(record.KIND)[record.key] = record

    def commit_eventually(
        self,
        change: Callable[[], tuple[Iterable[Record], Iterable[Record]] | None],
        what: str,
        on_commit: Callable[[], None] | None = None,
    ) -> bool:
        """Commit `change()` (put, delete), retrying while the disk refuses; `change` runs under the lock
        on every attempt and returns None when the change no longer applies (superseded). `on_commit`
        runs under the same lock right after the commit (e.g. publish the route the change announces).
        True once committed, False if superseded or the emulator is shutting down."""
        attempt = 0
        while True:
            with self.lock:
                planned = change()
                if planned is None:
                    return False
                put, delete = planned
                try:
                    self.commit(list(put), list(delete))
                except InternalFailure as failure:
                    delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                    log.error("%s: %s; retrying in %.2g s", what, failure.message, delay)
                else:
                    if on_commit is not None:
                        on_commit()
                    return True
            attempt += 1
            if self._closing.wait(delay):
                return False

    def close(self) -> None:
        self._closing.set()

    @property
    def closing(self) -> threading.Event:
        return self._closing
