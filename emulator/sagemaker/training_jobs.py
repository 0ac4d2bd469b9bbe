"""Training jobs: CreateTrainingJob, Describe, List, Stop, and the progress a running job reports.

    InProgress --(worker reports the end)--> Completed | Failed | Stopped
    InProgress --StopTrainingJob--> Stopping --(worker ends)--> Stopped (or Completed if it finished first)
    InProgress --StopTrainingJob, no worker runs it--> Stopped
    InProgress | Stopping --(emulator restarted meanwhile)--> Failed

SecondaryStatus follows SageMaker's (Starting, Downloading, Training, Uploading, then the final
one, MaxRuntimeExceeded for a job that ran out of time), each step in SecondaryStatusTransitions.

The work runs in `training_runner.TrainingSupervisor`, which reports through `apply_progress`.
Every change is durable before it is visible (`tables.Tables`): a job whose create cannot be
written does not exist, a Stop that cannot be written changes nothing (InternalFailure), and
a final status is retried until the disk takes it. Only jobs the supervisor is really running
count against the instance quota, so a job left InProgress on disk by a failed write cannot
hold it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Any, Callable

from emulator.sagemaker import listing
from emulator.sagemaker.context import Context, quota_message
from emulator.sagemaker.errors import InternalFailure, ResourceInUse, ResourceLimitExceeded, ValidationException
from emulator.sagemaker.images import is_supported_image, unsupported_image_reason
from emulator.sagemaker.records import TRAINING_JOB, TrainingJobRecord
from emulator.sagemaker.tags import TagService
from emulator.sagemaker.training_runner import TrainingProgress, TrainingSupervisor

log = logging.getLogger("sagestack.sagemaker")

FINAL = ("Completed", "Failed", "Stopped")
_SUMMARY_FIELDS = ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime",
                   "TrainingJobStatus", "SecondaryStatus")
# Channel problems AWS refuses at the call (e.g. an empty S3 prefix in File mode): a message, or None.
ChannelCheck = Callable[[dict[str, Any]], "str | None"]
INTERRUPTED = ("InternalServerError: the SageMaker emulator stopped while this job was running; create a new training job")


class TrainingJobService:
    def __init__(self, ctx: Context, tags: TagService, channel_check: ChannelCheck | None = None):
        self.ctx = ctx
        self.tables = ctx.tables
        self.tags = tags
        self.channel_check = channel_check  # emulator.sagemaker.channels.validate_input, bound to an S3 client
        self.trainer = TrainingSupervisor(ctx.config, on_progress=self.apply_progress)

    def get(self, name: str) -> TrainingJobRecord:
        record = self.tables.training_jobs.get(name)
        if record is None:
            raise ValidationException("Requested resource not found.")
        return record

    def _instances_in_use(self, instance_type: str) -> int:
        return sum(
            int(job.resource_config.get("InstanceCount") or 0)
            for job in self.tables.training_jobs.values()
            if job.is_running and job.resource_config.get("InstanceType") == instance_type and self.trainer.supervising(job.name)
        )

    def create_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        algorithm = params.get("AlgorithmSpecification")
        if not algorithm or not (algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")):
            raise ValidationException(
                "AlgorithmSpecification with a TrainingImage is required; for Linear Learner use "
                "'<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1'."
            )
        problem = self.channel_check(params) if self.channel_check is not None else None
        if problem:
            raise ValidationException(problem)
        resources = params.get("ResourceConfig") or {}
        spec = {key: value for key, value in params.items() if key not in ("Tags", "TrainingJobName")}
        # DescribeTrainingJob reports the defaults SageMaker applied.
        for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
            spec.setdefault(flag, False)
        output_path = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        spec["ModelArtifacts"] = {"S3ModelArtifacts": f"{output_path}/{name}/output/model.tar.gz"}
        spec["StoppingCondition"] = params.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400}
        image = algorithm.get("TrainingImage")
        with self.tables.lock:
            if self.tables.taken(TRAINING_JOB, name):
                raise ResourceInUse(
                    "Training job names must be unique within an AWS account and region, and a training job with "
                    f"this name already exists ({self.ctx.arn(TRAINING_JOB, name)})"
                )
            instance_type, count = resources.get("InstanceType"), int(resources.get("InstanceCount") or 0)
            if instance_type and count:
                limit = self.ctx.config.limits.max_instances_per_type
                used = self._instances_in_use(instance_type)
                if used + count > limit:
                    raise ResourceLimitExceeded(
                        quota_message(f"{instance_type} for training job usage", limit, used, count, "Instances")
                    )
            now = self.ctx.clock()
            record = TrainingJobRecord(
                name=name,
                arn=self.ctx.arn(TRAINING_JOB, name),
                status="InProgress",
                secondary_status="Starting",
                created=now,
                modified=now,
                spec=spec,
                transitions=({"Status": "Starting", "StartTime": now, "StatusMessage": "Preparing the instances for training"},),
            )
            runnable = is_supported_image(image)
            if not runnable:
                # Decided before anything is written: the job is stored already Failed, never a runner-less InProgress.
                record = _finish(record, "Failed", now, failure=unsupported_image_reason(image or algorithm.get("AlgorithmName")))
            tags = self.tags.merged(record.arn, params.get("Tags"))
            self.tables.commit(put=[record, *([tags] if tags else [])])
            if runnable:
                self.trainer.start(name, record.describe())
        return {"TrainingJobArn": record.arn}

    def describe_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            return self.get(params["TrainingJobName"]).describe()

    def list_training_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            docs = [r.summary() for r in self.tables.training_jobs.values()]
        status = params.get("StatusEquals")
        select = dict(status_key="TrainingJobStatus", inclusive_creation_after=False, operation="ListTrainingJobs")
        if status and params.get("MaxResults"):
            # Documented quirk: with both set, SageMaker takes MaxResults jobs ignoring StatusEquals,
            # then filters that page by status (NextToken continues over all jobs).
            # The note documents this selection "from the most current to the oldest".
            order = params.get("SortOrder") or "Descending"
            items = listing.select(docs, "TrainingJobName", {**params, "StatusEquals": None, "SortOrder": order}, **select)  # type: ignore[arg-type]
            page, token = listing.paginate(items, params.get("NextToken"), params["MaxResults"])
            page = [r for r in page if r.get("TrainingJobStatus") == status]
        else:
            items = listing.select(docs, "TrainingJobName", params, **select)  # type: ignore[arg-type]
            page, token = listing.page(items, params)
        return {"TrainingJobSummaries": [{k: r.get(k) for k in _SUMMARY_FIELDS} for r in page], "NextToken": token}

    def stop_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        with self.tables.lock:
            job = self.get(name)
            if job.status in FINAL:
                # SageMaker's words (only InProgress jobs can be stopped).
                raise ValidationException(f"The request was rejected because the training job is in status {job.status}.")
            if job.status == "Stopping":
                return {}
            now = self.ctx.clock()
            stopping = _step(replace(job, status="Stopping", modified=now), "Stopping", "Stopping the training job", now)
            if not self.trainer.supervising(name):
                # Nothing runs it (its failure could not be recorded at start): no worker will report
                # the end, so Stopping and Stopped are one step, never a "Stopping" that lasts forever.
                self.tables.commit(put=[_finish(stopping, "Stopped", now)])
                return {}
            self.tables.commit(put=[stopping])  # InternalFailure here: nothing changed, the job keeps running
        self.trainer.stop(name)
        return {}

    def apply_progress(self, name: str, event: TrainingProgress) -> None:
        """Record a progress event from the supervisor; a final one is retried until it is durable."""
        if event.final:
            def change() -> tuple[list[Any], list[Any]] | None:
                job = self.tables.training_jobs.get(name)
                if job is None or job.status in FINAL:
                    return None
                final = _finish(job, event.status or "Failed", self.ctx.clock(), failure=event.failure,
                                metrics=event.metrics, secondary=event.secondary)
                return [final], []

            self.tables.commit_eventually(change, f"training job {name}")
            return
        with self.tables.lock:
            job = self.tables.training_jobs.get(name)
            if job is None or job.status in FINAL:
                return
            now = self.ctx.clock()
            updated = replace(job, modified=now, status=event.status or job.status)
            if event.started and updated.started is None:
                updated = replace(updated, started=now)
            if event.secondary and event.secondary != job.secondary_status:
                updated = _step(updated, event.secondary, event.message, now)
            try:
                self.tables.commit(put=[updated])
            except InternalFailure as failure:  # a step is advisory; the final status is what must land
                log.error("training job %s: progress %s not recorded: %s", name, event.secondary, failure.message)

    def recover(self) -> None:
        """After the tables are loaded: a job that was running when the emulator stopped has failed."""
        with self.tables.lock:
            for job in list(self.tables.training_jobs.values()):
                if job.is_running:
                    try:
                        self.tables.commit(put=[_finish(job, "Failed", self.ctx.clock(), failure=INTERRUPTED)])
                    except InternalFailure as failure:
                        log.error("training job %s stays %s until the next start: %s", job.name, job.status, failure.message)

    def close(self) -> None:
        self.trainer.shutdown()


def _step(job: TrainingJobRecord, status: str, message: str, now: float) -> TrainingJobRecord:
    """`job` with SecondaryStatus `status`, the previous step closed and this one recorded."""
    transitions = [dict(t) for t in job.transitions]
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    entry: dict[str, Any] = {"Status": status, "StartTime": now, "StatusMessage": message}
    if status in ("Completed", "Failed", "Stopped", "MaxRuntimeExceeded"):
        entry["EndTime"] = now
    transitions.append(entry)
    return replace(job, secondary_status=status, transitions=tuple(transitions))


def _finish(
    job: TrainingJobRecord,
    status: str,
    now: float,
    *,
    failure: str | None = None,
    metrics: Any = None,
    secondary: str | None = None,
) -> TrainingJobRecord:
    secondary = secondary or status
    message = {
        "Completed": "Training job completed",
        "Failed": f"Training job failed. {failure or ''}".strip(),
        "Stopped": "The job was stopped." if secondary == "Stopped" else "The job exceeded its MaxRuntimeInSeconds and was stopped.",
    }.get(status, status)
    started = job.started if job.started is not None else job.created
    seconds = max(1, int(round(now - started)))
    done = replace(_step(job, secondary, message, now), status=status, modified=now, ended=now, started=started, seconds=seconds)
    if failure:
        done = replace(done, failure=failure[:1024])
    if metrics:
        done = replace(done, final_metrics=tuple(
            {"MetricName": metric, "Value": float(value), "Timestamp": now}
            for metric, value in sorted(metrics.items())
            if isinstance(value, (int, float)) and _finite(value)
        ))
    return done


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
