"""Lambda's CloudWatch Logs writes, batched per log stream.

LocalStack sends one PutLogEvents per invocation through HTTP to itself. Here the log handler
gathers for 1 s after the first queued item (one call per environment per second at most: each call is a full
serialize-parse-dispatch round through the in-memory client and moto, 2-3 ms of CPU) and then sends every queued invocation's lines
for a stream in as few PutLogEvents calls as the API's limits allow (on AWS, logs also reach
CloudWatch Logs after a short delay). The events stored are the same.

Once a stream exists, its batches skip the API round as well: a PutLogEvents through the in-memory
client validates, serialises, parses and dispatches every event (START, END, REPORT and the handler's
lines: about 0.5 ms of the server's CPU per invocation under load, on the thread that holds the GIL
every request needs). They go straight to the store PutLogEvents ends in: moto's
`LogsBackend.put_log_events` as LocalStack patches it (subscription filters forwarded, retention
bounds kept). Everything the API round adds is kept by falling back to it: the first batch of a stream
(creates the group and stream, loads the logs service), any group with metric filters (LocalStack's
provider turns matches into CloudWatch metrics before storing).
"""

from __future__ import annotations

import collections
import logging
import queue
import sys
import time

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.lambda_.invocation.logs"
TARGETS = (
    "localstack.services.lambda_.invocation.logs.LogHandler.run_log_loop",
    "localstack.services.logs.provider.LogsProvider.put_log_events (bypassed for existing streams, see above)",
)
LOG = logging.getLogger(__name__)
# after the first queued log item, gather for this long before sending (fewer, larger calls)
LOG_GATHER_SECONDS = 1.0
# PutLogEvents limits: 10,000 events and 1,048,576 bytes (26 bytes overhead per event) per call
MAX_EVENTS_PER_CALL = 5000
MAX_BYTES_PER_CALL = 800_000


def _drain(log_queue: "queue.Queue", first: object) -> list[object]:
    items = [first]
    while True:
        try:
            items.append(log_queue.get_nowait())
        except queue.Empty:
            return items


def batched_run_log_loop(self, *args, **kwargs) -> None:
    """LogHandler.run_log_loop, sending each stream's queued lines in as few calls as allowed."""
    from localstack.aws.connect import connect_to
    from localstack.services.lambda_.invocation.logs import QUEUE_SHUTDOWN
    from localstack.utils.aws.client_types import ServicePrincipal

    logs_client = connect_to.with_assumed_role(
        region_name=self.region, role_arn=self.role_arn, service_principal=ServicePrincipal.lambda_
    ).logs
    while not self._shutdown_event.is_set():
        first = self.log_queue.get()
        if first is not QUEUE_SHUTDOWN:
            self._shutdown_event.wait(LOG_GATHER_SECONDS)
        items = _drain(self.log_queue, first)
        by_stream: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
        shutdown = False
        for item in items:
            if item is QUEUE_SHUTDOWN:
                shutdown = True
                continue
            now = int(time.time() * 1000)
            by_stream[(item.log_group, item.log_stream)] += [
                {"timestamp": now, "message": line + "\n"} for line in item.logs.split("\n") if line
            ]
        account_id = _account_of(self.role_arn)
        for (group, stream), events in by_stream.items():
            for batch in _batches(events):
                if not store_directly(account_id, self.region, group, stream, batch):
                    _put(logs_client, group, stream, batch)
        if shutdown:
            return


def _batches(events: list[dict]):
    batch: list[dict] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode()) + 26
        if batch and (len(batch) >= MAX_EVENTS_PER_CALL or size + event_size > MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def _account_of(role_arn: str) -> str | None:
    """The account the function's role (whose credentials the API round uses) belongs to."""
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def store_directly(account_id: str | None, region: str, group: str, stream: str, events: list[dict]) -> bool:
    """Store `events` as PutLogEvents would, without the API round; False when only the API round can.

    That is when the logs service has not stored anything for this stream yet, or the group's
    account has metric filters (the provider applies them, calling CloudWatch, before storing).
    """
    if account_id is None or "localstack.services.logs.provider" not in sys.modules:
        return False  # the provider's patches of moto's store are not in place before the service loads
    from localstack.services.logs.models import get_moto_logs_backend
    from localstack.utils.bootstrap import is_api_enabled

    backend = get_moto_logs_backend(account_id, region)
    log_group = backend.groups.get(group)
    if log_group is None or stream not in log_group.streams:
        return False
    if backend.filters.metric_filters and is_api_enabled("cloudwatch"):
        return False
    try:
        backend.put_log_events(group, stream, events)
    except Exception as exc:  # as the API round below: a lost log batch must not kill the loop
        LOG.warning("Error saving logs to group %s: %s", group, exc)
    return True


def _put(logs_client, group: str, stream: str, events: list[dict]) -> None:
    try:
        try:
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        except logs_client.exceptions.ResourceNotFoundException:
            try:
                logs_client.create_log_group(logGroupName=group)
            except logs_client.exceptions.ResourceAlreadyExistsException:
                pass
            try:
                logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
            except logs_client.exceptions.ResourceAlreadyExistsException:
                pass
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    except Exception as exc:  # as LocalStack's own loop: a lost log batch must not kill the loop
        LOG.warning("Error saving logs to group %s: %s", group, exc)


def apply() -> None:
    from localstack.services.lambda_.invocation import logs as logs_module

    logs_module.LogHandler.run_log_loop = batched_run_log_loop
