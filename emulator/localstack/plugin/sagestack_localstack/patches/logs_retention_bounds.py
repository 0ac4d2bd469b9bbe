"""CloudWatch Logs in LocalStack keep bounded memory: the group's retention applies, and a cap holds the rest.

LocalStack stores log events in memory (moto's LogStream.events) and never drops one: a soak
with 8 clients grew the process by about 1.3 KB per request (+79 MB in 10 minutes), all of it
Lambda's START/END/REPORT lines. On AWS a log group's retention (PutRetentionPolicy,
RetentionInDays) expires events older than that many days; a group without one keeps them.

Here, on every PutLogEvents:
- events whose timestamp is older than the group's RetentionInDays are dropped (AWS deletes them
  in the background "within 72 hours"; here at once), and
- a stream keeps at most SAGESTACK_LOGS_MAX_EVENTS_PER_STREAM events (default 10,000, the
  oldest go first), so a group without retention is bounded too;
and a group keeps at most SAGESTACK_LOGS_MAX_STREAMS_PER_GROUP streams (default 200; the one
written longest ago goes when a new one is created; Lambda makes one per execution environment).
A local stack is for development: recent logs are what a user reads (GetLogEvents, FilterLogEvents,
a Lambda's LogResult tail); the caps only bite in a soak. storedBytes stays consistent.
"""

from __future__ import annotations

import os
import time

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.logs.provider"
TARGETS = (
    "moto.logs.models.LogStream.put_log_events (as patched by localstack.services.logs.provider)",
    "moto.logs.models.LogGroup.create_log_stream (as patched by localstack.services.logs.provider)",
)
DAY_MS = 86_400_000
DEFAULT_MAX_EVENTS_PER_STREAM = 2_000
DEFAULT_MAX_STREAMS_PER_GROUP = 200


def _limit(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def max_events_per_stream() -> int:
    return _limit("SAGESTACK_LOGS_MAX_EVENTS_PER_STREAM", DEFAULT_MAX_EVENTS_PER_STREAM)


def max_streams_per_group() -> int:
    return _limit("SAGESTACK_LOGS_MAX_STREAMS_PER_GROUP", DEFAULT_MAX_STREAMS_PER_GROUP)


def prune_stream(stream, now_ms: int | None = None) -> int:
    """Drop what retention and the cap say must go from one moto LogStream; return how many went."""
    events = stream.events
    if not events:
        return 0
    drop = 0
    retention = stream.log_group.retention_in_days
    if retention:
        cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - int(retention) * DAY_MS
        if events[0].timestamp < cutoff:  # appended in time order: the first is (about) the oldest
            kept = [e for e in events if e.timestamp >= cutoff]
            gone = len(events) - len(kept)
            stream.stored_bytes -= sum(len(e.message) for e in events if e.timestamp < cutoff)
            events[:] = kept
            drop += gone
    excess = len(events) - max_events_per_stream()
    if excess > 0:
        stream.stored_bytes -= sum(len(e.message) for e in events[:excess])
        del events[:excess]
        drop += excess
    stream.stored_bytes = max(0, stream.stored_bytes)
    return drop


def prune_group_streams(group) -> None:
    """Keep at most the cap of streams in a moto LogGroup, dropping those written longest ago."""
    excess = len(group.streams) - max_streams_per_group()
    if excess <= 0:
        return

    def last_written(item):
        stream = item[1]
        return stream.last_ingestion_time or stream.creation_time

    for name, _ in sorted(group.streams.items(), key=last_written)[:excess]:
        del group.streams[name]


def apply() -> None:
    # LocalStack's logs provider patches moto's put_log_events on import; wrap what it installed
    import localstack.services.logs.provider  # noqa: F401
    from moto.logs.models import LogGroup, LogStream

    put_log_events = LogStream.put_log_events

    def bounded_put_log_events(self, log_events):
        token = put_log_events(self, log_events)
        prune_stream(self)
        return token

    LogStream.put_log_events = bounded_put_log_events

    create_log_stream = LogGroup.create_log_stream

    def bounded_create_log_stream(self, log_stream_name):
        result = create_log_stream(self, log_stream_name)
        prune_group_streams(self)
        return result

    LogGroup.create_log_stream = bounded_create_log_stream
