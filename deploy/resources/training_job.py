"""The SageMaker training job: one per set of inputs (data, image, hyperparameters, instance type).

Jobs are named by the hash of their inputs; a job is reused while it runs or while its
completed artifact is still in S3, else the next attempt (`<name>-2`, ...) is started.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from deploy.config import TAG_INPUTS
from deploy.resources.base import Context, DeployError, Unit, error_code, gone_or_deleted, is_not_found, or_none, tags_kv
from deploy.waiting import WaitFailed, wait_for

RUNNING = {"InProgress", "Stopping"}


def _describe(ctx: Context, name: str) -> dict[str, Any] | None:
    return or_none(lambda: ctx.client("sagemaker").describe_training_job(TrainingJobName=name))


def _artifact_exists(ctx: Context, job: dict[str, Any]) -> bool:
    """A completed job is reusable only while its model.tar.gz is still in S3 (destroy deletes the bucket)."""
    uri = job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        return False
    try:
        ctx.client("s3").head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if is_not_found(exc) or error_code(exc) in {"403", "AccessDenied"}:
            return False
        raise


def find(ctx: Context) -> tuple[int, dict[str, Any] | None]:
    """The usable job for these inputs (completed with its artifact, or running) and the next free attempt."""
    training_hash = ctx.desired().training_hash
    attempt, found = 1, None
    while True:
        job = _describe(ctx, ctx.names.training_job(training_hash, attempt))
        if job is None:
            return attempt, found
        if job["TrainingJobStatus"] in RUNNING or (job["TrainingJobStatus"] == "Completed" and _artifact_exists(ctx, job)):
            found = job
        attempt += 1


def await_artifact(ctx: Context) -> str:
    """Wait for the job `apply` started to complete; returns (and records) its model artifact's S3 URI."""
    if "model_data" in ctx.refs:
        return str(ctx.refs["model_data"])
    sm = ctx.client("sagemaker")
    name = ctx.refs["training_job"]

    def describe() -> tuple[str, str]:
        current = sm.describe_training_job(TrainingJobName=name)
        return current["TrainingJobStatus"], current.get("FailureReason") or current.get("SecondaryStatus", "")

    try:
        wait_for(describe, what=f"training job {name}", done={"Completed"}, failed={"Failed", "Stopped"}, timeout_s=ctx.config.max_training_wait_s, log=ctx.log)
    except WaitFailed as exc:
        raise DeployError(f"{exc}; fix the cause and re-run deploy (a new job is started for the same inputs)") from None
    artifact = sm.describe_training_job(TrainingJobName=name).get("ModelArtifacts", {}).get("S3ModelArtifacts")
    ctx.refs["model_data"] = str(artifact or f"s3://{ctx.names.bucket}/{ctx.names.output_prefix}/{name}/output/model.tar.gz")
    return str(ctx.refs["model_data"])


class TrainingJob(Unit):
    kind = "training-job"
    service = "sagemaker"
    billable = True

    def name(self, ctx: Context) -> str:
        return str(ctx.refs.get("training_job") or ctx.names.training_job(ctx.desired().training_hash))

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        return find(ctx)[1]

    def difference(self, ctx: Context, want: Any, have: dict[str, Any]) -> list[str]:
        return [] if have["TrainingJobStatus"] == "Completed" else [f"not Completed yet ({have['TrainingJobStatus']})"]

    def detail(self, ctx: Context, have: dict[str, Any]) -> str:
        return str(have["TrainingJobStatus"])

    def remember(self, ctx: Context, have: dict[str, Any]) -> None:
        ctx.refs["training_job"] = str(have["TrainingJobName"])
        artifact = have.get("ModelArtifacts", {}).get("S3ModelArtifacts")
        if have["TrainingJobStatus"] == "Completed" and artifact:
            ctx.refs["model_data"] = str(artifact)

    def apply(self, ctx: Context) -> None:
        """Reuse the job for these inputs or start one; does not wait (the model unit does)."""
        next_attempt, job = find(ctx)
        if job is not None:
            ctx.refs["training_job"] = str(job["TrainingJobName"])
            return
        desired = ctx.desired()
        name = ctx.names.training_job(desired.training_hash, next_attempt)
        request = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": desired.image_uri, "TrainingInputMode": "File"},
            "RoleArn": ctx.refs["sagemaker_role"],
            "HyperParameters": desired.hyperparameters,
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
                    "ContentType": "text/csv",
                    "CompressionType": "None",
                }
                for channel, uri in ctx.refs["data_uris"].items()
                # XGBoost's container accepts train and validation only ("Extraneous channel found: test").
                if ctx.config.algorithm != "xgboost" or channel in ("train", "validation")
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{ctx.names.bucket}/{ctx.names.output_prefix}"},
            "ResourceConfig": {"InstanceType": ctx.config.training_instance_type, "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": int(ctx.config.max_training_wait_s)},
            "Tags": tags_kv({**ctx.tags, TAG_INPUTS: desired.training_hash}),
        }
        ctx.retry_while_role_propagates(lambda: ctx.client("sagemaker").create_training_job(**request), "training")
        ctx.log(f"  started training job {name} ({desired.image_uri}, {ctx.config.training_instance_type})")
        ctx.refs["training_job"] = name

    def delete(self, ctx: Context) -> list[str]:
        """Stop running jobs, then delete every job of the stack (where this SageMaker implements it)."""
        sm = ctx.client("sagemaker")
        prefix = ctx.names.training_job_prefix
        jobs = [
            j
            for page in sm.get_paginator("list_training_jobs").paginate(NameContains=prefix)
            for j in page.get("TrainingJobSummaries", [])
            if j["TrainingJobName"].startswith(prefix)
        ]
        removed = []
        for job in jobs:
            name = job["TrainingJobName"]
            if job["TrainingJobStatus"] in RUNNING:
                sm.stop_training_job(TrainingJobName=name)
                wait_for(lambda n=name: (sm.describe_training_job(TrainingJobName=n)["TrainingJobStatus"], ""), what=f"training job {name}", done={"Stopped", "Completed", "Failed"}, failed=set(), timeout_s=600, log=ctx.log)
            try:
                if gone_or_deleted(lambda n=name: sm.delete_training_job(TrainingJobName=n)):
                    removed.append(f"training job {name}")
                    ctx.log(f"  deleted training job {name}")
            except (NotImplementedError, ClientError) as exc:
                if isinstance(exc, ClientError) and error_code(exc) not in {"InvalidAction", "UnknownOperationException", "NotImplemented"}:
                    raise
                ctx.log(f"  kept training job record {name}: this SageMaker does not implement DeleteTrainingJob (a finished job costs nothing)")
        return removed
