"""The stack's resource graph: create/update idempotently, inspect, destroy (issue 5).

One code path for every profile. `Stack` takes a boto3 session (deploy.profiles) and a
StackConfig (deploy.config); each resource has an `_ensure_*` step that looks before it
writes (re-running changes nothing; a changed input updates in place) and a matching
inspection used by `status` and the billable-resource plan. Only two facts differ between
the platforms and both come from the profile's configured endpoints (docs/ARCHITECTURE.md, "The profile
switch"): the Lambda's view of the SageMaker runtime and the invoke URL form.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.exceptions import ClientError

from contract import aws
from contract import names as fixed
from contract.dataset import CHANNELS
from deploy.config import TAG_INPUTS, TAG_STACK, StackConfig, StackNames, short_hash
from deploy.images import linear_learner_image_uri
from deploy.packaging import HANDLER, LambdaPackage, build_package
from deploy.policies import lambda_policy, sagemaker_policy, trust_policy
from deploy.profiles import Target, describe_target
from deploy.waiting import WaitFailed, wait_for

# Linear Learner reads all three; the test channel gives test:* metrics in FinalMetricDataList (docs/ARCHITECTURE.md, "Data flow").
LAMBDA_POLICY_NAME = "invoke-endpoint-and-own-logs"
SAGEMAKER_POLICY_NAME = "training-data-artifacts-logs"
LOG_RETENTION_DAYS = 14
NOT_FOUND_CODES = {"NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "NoSuchBucket", "404", "ResourceNotFound"}
IAM_PROPAGATION_S = 60.0


class DeployError(RuntimeError):
    """A deploy step that cannot succeed; the message says which resource and what to do."""


def channels_dir(seed: int | None = None) -> Path:
    """Where the data channels of a split seed are prepared (None: training.data's default seed)."""
    return fixed.state_dir() / "data" / f"seed-{'default' if seed is None else seed}"


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_not_found(exc: ClientError) -> bool:
    code = error_code(exc)
    if code in NOT_FOUND_CODES:
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    # SageMaker says ValidationError "Could not find endpoint ..." / "... does not exist".
    return code in {"ValidationError", "ValidationException"} and ("could not find" in message or "does not exist" in message or "not found" in message)


def or_none(call: Callable[[], Any]) -> Any:
    """`call()`'s answer, or None when what it names does not exist; every other error propagates."""
    try:
        return call()
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


@dataclass
class ResourceState:
    """One line of `sagestack status`: does the resource exist and match what deploy would make?"""

    kind: str
    name: str
    exists: bool
    matches: bool
    detail: str = ""
    billable: bool = False

    @property
    def action(self) -> str:
        return "keep" if self.exists and self.matches else ("update" if self.exists else "create")


@dataclass
class Desired:
    """Everything deploy would make, computed from inputs alone (no writes)."""

    channels: dict[str, Path]
    data_hash: str
    image_uri: str
    hyperparameters: dict[str, str]
    training_hash: str
    model_hash: str
    config_hash: str
    package: LambdaPackage


@dataclass
class Outputs:
    """What a client needs; printed by deploy and written to `.sagestack/outputs.json`."""

    profile: str | None
    region: str
    account_id: str
    stack_name: str
    invoke_url: str
    api_key: str
    api_id: str
    stage: str
    endpoint_name: str
    function_name: str
    bucket: str
    training_job: str
    model_name: str
    endpoint_config: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


def _tags_kv(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class Stack:
    """Deploy, inspect or destroy one stack through one boto3 session."""

    def __init__(self, session: boto3.Session, config: StackConfig | None = None, log: Callable[[str], None] = print) -> None:
        self.session = session
        self.config = config or StackConfig()
        self.log = log
        self.target: Target = describe_target(session)
        self.names = StackNames(self.config.stack_name, self.target.account_id, self.target.region)
        self._clients: dict[str, Any] = {}
        self._desired: Desired | None = None

    # ------------------------------------------------------------------ plumbing

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    @property
    def tags(self) -> dict[str, str]:
        return {TAG_STACK: self.names.stack}

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:{self.target.partition}:{service}:{self.target.region if region else ''}:{self.target.account_id if account else ''}:{resource}"

    @property
    def endpoint_arn(self) -> str:
        return self.arn("sagemaker", f"endpoint/{self.names.endpoint}")

    def source_arn(self, api_id: str) -> str:
        """What API Gateway may invoke the function from: this API, any stage, POST on the resource only."""
        return self.arn("execute-api", f"{api_id}/*/POST/{fixed.API_RESOURCE_PATH}")

    def invoke_url(self, api_id: str) -> str:
        """Where clients POST: AWS's execute-api host, or the emulated gateway's path form."""
        if self.target.apigateway_endpoint:
            base = self.target.apigateway_endpoint.rstrip("/")
            return f"{base}/_aws/execute-api/{api_id}/{self.config.stage}/{fixed.API_RESOURCE_PATH}"
        suffix = aws.dns_suffix(self.target.region)
        return f"https://{api_id}.execute-api.{self.target.region}.{suffix}/{self.config.stage}/{fixed.API_RESOURCE_PATH}"

    # ------------------------------------------------------------------ inputs

    def desired(self) -> Desired:
        """Prepare the data channels and hash every input that decides a resource's identity."""
        if self._desired is None:
            from training.data import prepare_channels
            from training.hyperparameters import DEFAULT_HYPERPARAMETERS

            kwargs: dict[str, Any] = {}
            if self.config.data_seed is not None:
                kwargs["seed"] = self.config.data_seed
            out_dir = channels_dir(self.config.data_seed)
            if self.config.data_source is not None:
                kwargs["source"] = self.config.data_source
            channels = {k: Path(v) for k, v in prepare_channels(out_dir, **kwargs).items()}
            data_hash = short_hash({c: hashlib.sha256(channels[c].read_bytes()).hexdigest() for c in CHANNELS})
            image_uri = linear_learner_image_uri(self.target.region)
            hyperparameters = {**DEFAULT_HYPERPARAMETERS, **self.config.hyperparameters}
            training_hash = short_hash(
                {"data": data_hash, "image": image_uri, "hp": hyperparameters, "instance": self.config.training_instance_type}
            )
            model_hash = short_hash({"training": training_hash, "image": image_uri})
            config_hash = short_hash(
                {"model": model_hash, "instance": self.config.endpoint_instance_type, "count": self.config.endpoint_instance_count}
            )
            self._desired = Desired(channels, data_hash, image_uri, hyperparameters, training_hash, model_hash, config_hash, build_package())
        return self._desired

    def lambda_environment(self) -> dict[str, str]:
        env = {"ENDPOINT_NAME": self.names.endpoint}
        if self.target.sagemaker_runtime_endpoint:
            # The profile redirects sagemaker-runtime; the function must see the same endpoint.
            env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.target.sagemaker_runtime_endpoint
        return env

    # ------------------------------------------------------------------ deploy

    def deploy(self) -> Outputs:
        """Create or update everything; returns the outputs. Safe to re-run."""
        started = time.monotonic()
        desired = self.desired()
        self.log(f"deploying stack {self.names.stack!r} to account {self.target.account_id} in {self.target.region} (profile {self.target.profile})")
        self._ensure_bucket()
        data_uris = self._ensure_channels(desired)
        sagemaker_role = self._ensure_role(self.names.sagemaker_role, "sagemaker.amazonaws.com", SAGEMAKER_POLICY_NAME, sagemaker_policy(self.names, self.target.partition, desired.image_uri))
        lambda_role = self._ensure_role(self.names.lambda_role, "lambda.amazonaws.com", LAMBDA_POLICY_NAME, lambda_policy(self.names, self.target.partition))
        job_name = self._start_training_job(desired, sagemaker_role, data_uris)
        # The function and the API do not depend on the model: build them while the job trains
        # (minutes on AWS, about a second on the emulator).
        self._ensure_log_group()
        function_arn = self._ensure_function(desired, lambda_role)
        api_id = self._ensure_rest_api(function_arn)
        key_id, key_value = self._ensure_usage_plan_and_key(api_id)
        model_data = self._await_training_job(job_name)
        model_name = self._ensure_model(desired, sagemaker_role, model_data)
        config_name = self._ensure_endpoint_config(desired, model_name)
        self._start_endpoint(config_name)
        self._wait_endpoint(config_name)
        self._remove_stale_endpoint_configs_and_models(config_name, model_name)
        outputs = Outputs(
            profile=self.target.profile,
            region=self.target.region,
            account_id=self.target.account_id,
            stack_name=self.names.stack,
            invoke_url=self.invoke_url(api_id),
            api_key=key_value,
            api_id=api_id,
            stage=self.config.stage,
            endpoint_name=self.names.endpoint,
            function_name=self.names.function,
            bucket=self.names.bucket,
            training_job=job_name,
            model_name=model_name,
            endpoint_config=config_name,
            extra={"api_key_id": key_id, "model_data": model_data, "image_uri": desired.image_uri},
        )
        self.log(f"stack {self.names.stack!r} ready in {time.monotonic() - started:.1f} s")
        return outputs

    # S3 ---------------------------------------------------------------

    def _bucket_exists(self) -> bool:
        return self._exists(lambda: self.client("s3").head_bucket(Bucket=self.names.bucket))

    def _ensure_bucket(self) -> None:
        s3 = self.client("s3")
        if self._bucket_exists():
            return
        params: dict[str, Any] = {"Bucket": self.names.bucket}
        if self.target.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.target.region}
        s3.create_bucket(**params)
        s3.put_public_access_block(
            Bucket=self.names.bucket,
            PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
        )
        s3.put_bucket_tagging(Bucket=self.names.bucket, Tagging={"TagSet": _tags_kv(self.tags)})
        self.log(f"  created bucket s3://{self.names.bucket}")

    def _channel_key(self, desired: Desired, channel: str) -> str:
        return f"{self.names.data_prefix}/{desired.data_hash}/{channel}/{desired.channels[channel].name}"

    def _ensure_channels(self, desired: Desired) -> dict[str, str]:
        """Upload train/validation/test under a content-addressed prefix: an existing key is the same data."""
        s3 = self.client("s3")
        uris = {}
        for channel in CHANNELS:
            key = self._channel_key(desired, channel)
            try:
                s3.head_object(Bucket=self.names.bucket, Key=key)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                s3.upload_file(str(desired.channels[channel]), self.names.bucket, key)
                self.log(f"  uploaded {channel} channel to s3://{self.names.bucket}/{key}")
            uris[channel] = f"s3://{self.names.bucket}/{self.names.data_prefix}/{desired.data_hash}/{channel}/"
        return uris

    # IAM ---------------------------------------------------------------

    def _ensure_role(self, role_name: str, service: str, policy_name: str, policy: dict[str, Any]) -> str:
        iam = self.client("iam")
        trust = trust_policy(service)
        try:
            role = iam.get_role(RoleName=role_name)["Role"]
            if role.get("AssumeRolePolicyDocument") != trust:
                iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust))
                self.log(f"  updated trust policy of role {role_name}")
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            role = iam.create_role(
                RoleName=role_name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description=f"sagestack {self.names.stack}: least-privilege role for {service}",
                Tags=_tags_kv(self.tags),
            )["Role"]
            self.log(f"  created role {role_name}")
        current = (or_none(lambda: iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)) or {}).get("PolicyDocument")
        if current != policy:
            iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
        return str(role["Arn"])

    def _retry_while_role_propagates(self, call: Callable[[], Any], what: str) -> Any:
        """IAM is eventually consistent on AWS: a new role may be refused for some seconds."""
        deadline = time.monotonic() + IAM_PROPAGATION_S
        delay = 1.0
        while True:
            try:
                return call()
            except ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", "")).lower()
                role_not_ready = error_code(exc) in {"InvalidParameterValueException", "ValidationException", "ValidationError"} and (
                    "assume" in message or "role" in message and "not authorized" in message
                )
                if not role_not_ready or time.monotonic() > deadline:
                    raise
                self.log(f"  waiting for the new IAM role to propagate before {what} ...")
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    # SageMaker ---------------------------------------------------------

    def _describe_training_job(self, name: str) -> dict[str, Any] | None:
        return or_none(lambda: self.client("sagemaker").describe_training_job(TrainingJobName=name))

    def _find_training_job(self, desired: Desired) -> tuple[int, dict[str, Any] | None]:
        """The usable job for these inputs (completed or running) and the next free attempt number."""
        attempt = 1
        found = None
        while True:
            job = self._describe_training_job(self.names.training_job(desired.training_hash, attempt))
            if job is None:
                return attempt, found
            if job["TrainingJobStatus"] in {"InProgress", "Stopping"} or (job["TrainingJobStatus"] == "Completed" and self._artifact_exists(job)):
                found = job
            attempt += 1

    def _artifact_exists(self, job: dict[str, Any]) -> bool:
        """A completed job is reusable only while its model.tar.gz is still in S3 (destroy deletes the bucket)."""
        uri = job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not bucket or not key:
            return False
        try:
            self.client("s3").head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if is_not_found(exc) or error_code(exc) in {"403", "AccessDenied"}:
                return False
            raise

    def _start_training_job(self, desired: Desired, role_arn: str, data_uris: dict[str, str]) -> str:
        """Reuse the job for these inputs (completed with its artifact, or running) or start one; returns its name."""
        sm = self.client("sagemaker")
        next_attempt, job = self._find_training_job(desired)
        if job is None:
            name = self.names.training_job(desired.training_hash, next_attempt)
            request = {
                "TrainingJobName": name,
                "AlgorithmSpecification": {"TrainingImage": desired.image_uri, "TrainingInputMode": "File"},
                "RoleArn": role_arn,
                "HyperParameters": desired.hyperparameters,
                "InputDataConfig": [
                    {
                        "ChannelName": channel,
                        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
                        "ContentType": "text/csv",
                        "CompressionType": "None",
                    }
                    for channel, uri in data_uris.items()
                ],
                "OutputDataConfig": {"S3OutputPath": f"s3://{self.names.bucket}/{self.names.output_prefix}"},
                "ResourceConfig": {"InstanceType": self.config.training_instance_type, "InstanceCount": 1, "VolumeSizeInGB": 10},
                "StoppingCondition": {"MaxRuntimeInSeconds": int(self.config.max_training_wait_s)},
                "Tags": _tags_kv({**self.tags, TAG_INPUTS: desired.training_hash}),
            }
            self._retry_while_role_propagates(lambda: sm.create_training_job(**request), "training")
            self.log(f"  started training job {name} ({desired.image_uri}, {self.config.training_instance_type})")
        else:
            name = job["TrainingJobName"]
        return str(name)

    def _await_training_job(self, name: str) -> str:
        """Wait for the job to complete; returns its model artifact's S3 URI."""
        sm = self.client("sagemaker")

        def describe() -> tuple[str, str]:
            current = sm.describe_training_job(TrainingJobName=name)
            return current["TrainingJobStatus"], current.get("FailureReason") or current.get("SecondaryStatus", "")

        try:
            wait_for(describe, what=f"training job {name}", done={"Completed"}, failed={"Failed", "Stopped"}, timeout_s=self.config.max_training_wait_s, log=self.log)
        except WaitFailed as exc:
            raise DeployError(f"{exc}; fix the cause and re-run deploy (a new job is started for the same inputs)") from None
        artifact = sm.describe_training_job(TrainingJobName=name).get("ModelArtifacts", {}).get("S3ModelArtifacts")
        if not artifact:
            artifact = f"s3://{self.names.bucket}/{self.names.output_prefix}/{name}/output/model.tar.gz"
        return str(artifact)

    def _ensure_model(self, desired: Desired, role_arn: str, model_data: str) -> str:
        sm = self.client("sagemaker")
        name = self.names.model(desired.model_hash)
        try:
            model = sm.describe_model(ModelName=name)
            container = model.get("PrimaryContainer", {})
            if container.get("Image") == desired.image_uri and container.get("ModelDataUrl") == model_data:
                return name
            sm.delete_model(ModelName=name)  # models are immutable: replace a mismatched one
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        self._retry_while_role_propagates(
            lambda: sm.create_model(
                ModelName=name,
                PrimaryContainer={"Image": desired.image_uri, "ModelDataUrl": model_data},
                ExecutionRoleArn=role_arn,
                Tags=_tags_kv({**self.tags, TAG_INPUTS: desired.model_hash}),
            ),
            "creating the model",
        )
        self.log(f"  created model {name}")
        return name

    def _ensure_endpoint_config(self, desired: Desired, model_name: str) -> str:
        sm = self.client("sagemaker")
        name = self.names.endpoint_config(desired.config_hash)
        try:
            sm.describe_endpoint_config(EndpointConfigName=name)
            return name
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name,
                    "InitialInstanceCount": self.config.endpoint_instance_count,
                    "InstanceType": self.config.endpoint_instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
            Tags=_tags_kv({**self.tags, TAG_INPUTS: desired.config_hash}),
        )
        self.log(f"  created endpoint config {name}")
        return name

    def _describe_endpoint(self) -> dict[str, Any] | None:
        return or_none(lambda: self.client("sagemaker").describe_endpoint(EndpointName=self.names.endpoint))

    def _endpoint_progress(self) -> tuple[str, str]:
        endpoint = self._describe_endpoint()
        if endpoint is None:
            return "Absent", ""
        return endpoint["EndpointStatus"], endpoint.get("FailureReason", "")

    def _start_endpoint(self, config_name: str) -> None:
        """Create the endpoint, or point it at a new config with UpdateEndpoint (no downtime: the old
        config serves until the new one is InService)."""
        sm = self.client("sagemaker")
        endpoint = self._describe_endpoint()
        if endpoint and endpoint["EndpointStatus"] in {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}:
            done = {"Absent"} if endpoint["EndpointStatus"] == "Deleting" else {"InService", "Failed", "OutOfService"}
            wait_for(self._endpoint_progress, what=f"endpoint {self.names.endpoint} (in progress before this deploy)", done=done, failed=set(), timeout_s=self.config.max_endpoint_wait_s, log=self.log)
            endpoint = self._describe_endpoint()
        if endpoint and endpoint["EndpointStatus"] == "Failed":
            self.log(f"  endpoint {self.names.endpoint} had failed ({endpoint.get('FailureReason', '')}); recreating it")
            sm.delete_endpoint(EndpointName=self.names.endpoint)
            wait_for(self._endpoint_progress, what=f"endpoint {self.names.endpoint}", done={"Absent"}, failed=set(), timeout_s=self.config.max_endpoint_wait_s, log=self.log)
            endpoint = None
        if endpoint is None:
            sm.create_endpoint(EndpointName=self.names.endpoint, EndpointConfigName=config_name, Tags=_tags_kv(self.tags))
            self.log(f"  creating endpoint {self.names.endpoint} ({self.config.endpoint_instance_type} x{self.config.endpoint_instance_count})")
        elif endpoint["EndpointConfigName"] != config_name:
            sm.update_endpoint(EndpointName=self.names.endpoint, EndpointConfigName=config_name)
            self.log(f"  updating endpoint {self.names.endpoint}: {endpoint['EndpointConfigName']} -> {config_name}")

    def _wait_endpoint(self, config_name: str) -> None:
        try:
            wait_for(
                self._endpoint_progress,
                what=f"endpoint {self.names.endpoint}",
                done={"InService"},
                failed={"Failed", "OutOfService", "Absent"},
                timeout_s=self.config.max_endpoint_wait_s,
                log=self.log,
            )
        except WaitFailed as exc:
            raise DeployError(f"{exc}; see the endpoint's logs, fix the cause and re-run deploy") from None
        current = self._describe_endpoint() or {}
        if current.get("EndpointConfigName") != config_name:
            raise DeployError(
                f"endpoint {self.names.endpoint} is InService on {current.get('EndpointConfigName')} instead of {config_name}: "
                "the update was rolled back; see the endpoint's FailureReason and re-run deploy"
            )

    def _stack_resources(self, list_call: str, key: str, name_key: str, prefix: str) -> list[str]:
        sm = self.client("sagemaker")
        found: list[str] = []
        paginator = sm.get_paginator(list_call)
        for page in paginator.paginate(NameContains=prefix):
            found += [item[name_key] for item in page.get(key, []) if item[name_key].startswith(prefix)]
        return found

    def _remove_stale_endpoint_configs_and_models(self, keep_config: str, keep_model: str) -> None:
        """After a swap, the previous config and model serve nothing: delete them."""
        sm = self.client("sagemaker")
        for name in self._stack_resources("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", self.names.endpoint_config_prefix):
            if name != keep_config:
                self._ignore_not_found(lambda n=name: sm.delete_endpoint_config(EndpointConfigName=n))
                self.log(f"  deleted stale endpoint config {name}")
        for name in self._stack_resources("list_models", "Models", "ModelName", self.names.model_prefix):
            if name != keep_model:
                self._ignore_not_found(lambda n=name: sm.delete_model(ModelName=n))
                self.log(f"  deleted stale model {name}")

    # Lambda ------------------------------------------------------------

    def _ensure_log_group(self) -> None:
        """Create the function's log group ourselves (with retention), so the role needs no CreateLogGroup."""
        logs = self.client("logs")
        group = self.names.function_log_group
        found = [g for g in logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", []) if g["logGroupName"] == group]
        if not found:
            try:
                logs.create_log_group(logGroupName=group, tags=self.tags)
            except ClientError as exc:
                if error_code(exc) != "ResourceAlreadyExistsException":
                    raise
        if not found or found[0].get("retentionInDays") != LOG_RETENTION_DAYS:
            logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)

    def _wait_function(self, field: str, wanted: str) -> None:
        """Wait for the function's State/LastUpdateStatus (botocore's waiters poll once a second at best)."""

        def describe() -> tuple[str, str]:
            config = self.client("lambda").get_function_configuration(FunctionName=self.names.function)
            return str(config.get(field) or wanted), str(config.get("StateReason") or config.get("LastUpdateStatusReason") or "")

        try:
            wait_for(describe, what=f"function {self.names.function}", done={wanted}, failed={"Failed", "Inactive"}, timeout_s=300, log=lambda line: None, first_interval_s=0.05, max_interval_s=5.0)
        except WaitFailed as exc:
            raise DeployError(f"{exc}; fix the cause and re-run deploy") from None

    def _function_settings(self, role_arn: str) -> dict[str, Any]:
        return {
            "Runtime": self.config.lambda_runtime,
            "Role": role_arn,
            "Handler": HANDLER,
            "Timeout": self.config.lambda_timeout_s,
            "MemorySize": self.config.lambda_memory_mb,
            "Environment": {"Variables": self.lambda_environment()},
            "Description": f"sagestack {self.names.stack}: API Gateway -> SageMaker endpoint {self.names.endpoint}",
        }

    def _function_mismatches(self, current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
        diffs = [key for key in ("Runtime", "Role", "Handler", "Timeout", "MemorySize", "Description") if current.get(key) != wanted[key]]
        if (current.get("Environment") or {}).get("Variables", {}) != wanted["Environment"]["Variables"]:
            diffs.append("Environment")
        return diffs

    def _get_function(self) -> dict[str, Any] | None:
        return or_none(lambda: self.client("lambda").get_function(FunctionName=self.names.function))

    def _ensure_function(self, desired: Desired, role_arn: str) -> str:
        lam = self.client("lambda")
        wanted = self._function_settings(role_arn)
        existing = self._get_function()
        if existing is None:
            created = self._retry_while_role_propagates(
                lambda: lam.create_function(FunctionName=self.names.function, Code={"ZipFile": desired.package.zip_bytes}, Tags=self.tags, Publish=False, **wanted),
                "creating the function",
            )
            self.log(f"  created function {self.names.function} ({self.config.lambda_runtime})")
            self._wait_function("State", "Active")
            return str(created["FunctionArn"])
        current = existing["Configuration"]
        if current.get("CodeSha256") != desired.package.code_sha256:
            lam.update_function_code(FunctionName=self.names.function, ZipFile=desired.package.zip_bytes)
            self._wait_function("LastUpdateStatus", "Successful")
            self.log(f"  updated code of function {self.names.function}")
        diffs = self._function_mismatches(current, wanted)
        if diffs:
            self._retry_while_role_propagates(lambda: lam.update_function_configuration(FunctionName=self.names.function, **wanted), "updating the function")
            self._wait_function("LastUpdateStatus", "Successful")
            self.log(f"  updated function {self.names.function}: {', '.join(diffs)}")
        return str(current["FunctionArn"])

    def _permission_source_arn(self) -> str | None:
        answer = or_none(lambda: self.client("lambda").get_policy(FunctionName=self.names.function))
        if answer is None:
            return None
        for statement in json.loads(answer["Policy"]).get("Statement", []):
            if statement.get("Sid") == self.names.permission_sid:
                return str(statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", ""))
        return None

    def _ensure_permission(self, api_id: str) -> None:
        lam = self.client("lambda")
        wanted = self.source_arn(api_id)
        current = self._permission_source_arn()
        if current == wanted:
            return
        if current is not None:
            lam.remove_permission(FunctionName=self.names.function, StatementId=self.names.permission_sid)
        lam.add_permission(
            FunctionName=self.names.function,
            StatementId=self.names.permission_sid,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=wanted,
        )
        self.log(f"  allowed API Gateway to invoke {self.names.function} from {wanted}")

    # API Gateway -------------------------------------------------------

    def _find_rest_api(self) -> dict[str, Any] | None:
        for page in self.client("apigateway").get_paginator("get_rest_apis").paginate():
            for api in page.get("items", []):
                if api.get("name") == self.names.rest_api and (api.get("tags") or {}).get(TAG_STACK, self.names.stack) == self.names.stack:
                    return api
        return None

    def _find_resource(self, api_id: str) -> tuple[str, dict[str, Any] | None]:
        root_id = ""
        for page in self.client("apigateway").get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"]):
            for resource in page.get("items", []):
                if resource.get("path") == "/":
                    root_id = resource["id"]
                if resource.get("path") == f"/{fixed.API_RESOURCE_PATH}":
                    return root_id, resource
        return root_id, None

    def _integration_uri(self, function_arn: str) -> str:
        return f"arn:{self.target.partition}:apigateway:{self.target.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"

    def _api_fingerprint(self, function_arn: str) -> str:
        """Hash of what the stage serves; stored as the deployment's description to detect drift."""
        return "sagestack " + short_hash({"uri": self._integration_uri(function_arn), "key": True, "path": fixed.API_RESOURCE_PATH})

    def _ensure_rest_api(self, function_arn: str) -> str:
        apigw = self.client("apigateway")
        api = self._find_rest_api()
        if api is None:
            api = apigw.create_rest_api(
                name=self.names.rest_api,
                description=f"sagestack {self.names.stack}: POST /{fixed.API_RESOURCE_PATH} -> Lambda -> SageMaker",
                endpointConfiguration={"types": ["REGIONAL"]},
                apiKeySource="HEADER",
                tags=self.tags,
            )
            self.log(f"  created REST API {self.names.rest_api} ({api['id']})")
        api_id = str(api["id"])
        root_id, resource = self._find_resource(api_id)
        if resource is None:
            resource = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart=fixed.API_RESOURCE_PATH)
        resource_id = resource["id"]
        method = (resource.get("resourceMethods") or {}).get("POST")
        if method is None:
            method = or_none(lambda: apigw.get_method(restApiId=api_id, resourceId=resource_id, httpMethod="POST"))
        if method is None:
            apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="POST", authorizationType="NONE", apiKeyRequired=True)
        elif not method.get("apiKeyRequired"):
            apigw.update_method(
                restApiId=api_id, resourceId=resource_id, httpMethod="POST", patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}]
            )
        uri = self._integration_uri(function_arn)
        integration = or_none(lambda: apigw.get_integration(restApiId=api_id, resourceId=resource_id, httpMethod="POST")) or {}
        if integration.get("type") != "AWS_PROXY" or integration.get("uri") != uri or integration.get("httpMethod") != "POST":
            apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="POST", type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
        self._ensure_permission(api_id)
        fingerprint = self._api_fingerprint(function_arn)
        if self._deployed_fingerprint(api_id) != fingerprint:
            apigw.create_deployment(restApiId=api_id, stageName=self.config.stage, description=fingerprint, stageDescription=f"sagestack {self.names.stack}")
            self.log(f"  deployed stage {self.config.stage} of {self.names.rest_api}")
        return api_id

    def _deployed_fingerprint(self, api_id: str) -> str | None:
        apigw = self.client("apigateway")
        try:
            stage = apigw.get_stage(restApiId=api_id, stageName=self.config.stage)
            return str(apigw.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"]).get("description"))
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise

    def _find_usage_plan(self) -> dict[str, Any] | None:
        for page in self.client("apigateway").get_paginator("get_usage_plans").paginate():
            for plan in page.get("items", []):
                if plan.get("name") == self.names.usage_plan:
                    return plan
        return None

    def _find_api_key(self) -> dict[str, Any] | None:
        for page in self.client("apigateway").get_paginator("get_api_keys").paginate(nameQuery=self.names.api_key, includeValues=True):
            for key in page.get("items", []):
                if key.get("name") == self.names.api_key:
                    return key
        return None

    def _plan_settings(self) -> tuple[dict[str, Any], dict[str, Any]]:
        throttle = {"rateLimit": float(self.config.throttle_rate_limit), "burstLimit": int(self.config.throttle_burst_limit)}
        quota = {"limit": int(self.config.quota_per_day), "offset": 0, "period": "DAY"}
        return throttle, quota

    def _ensure_usage_plan_and_key(self, api_id: str) -> tuple[str, str]:
        apigw = self.client("apigateway")
        throttle, quota = self._plan_settings()
        stage_ref = {"apiId": api_id, "stage": self.config.stage}
        plan = self._find_usage_plan()
        if plan is None:
            plan = apigw.create_usage_plan(
                name=self.names.usage_plan,
                description=f"sagestack {self.names.stack}: throttling and quota for the prediction API",
                apiStages=[stage_ref],
                throttle=throttle,
                quota=quota,
                tags=self.tags,
            )
            self.log(f"  created usage plan {self.names.usage_plan} (rate {throttle['rateLimit']:g}/s, burst {throttle['burstLimit']})")
        else:
            ops = []
            current_throttle = plan.get("throttle") or {}
            if float(current_throttle.get("rateLimit", -1)) != throttle["rateLimit"]:
                ops.append({"op": "replace", "path": "/throttle/rateLimit", "value": f"{throttle['rateLimit']:g}"})
            if int(current_throttle.get("burstLimit", -1)) != throttle["burstLimit"]:
                ops.append({"op": "replace", "path": "/throttle/burstLimit", "value": str(throttle["burstLimit"])})
            current_quota = plan.get("quota") or {}
            if int(current_quota.get("limit", -1)) != quota["limit"]:
                ops.append({"op": "replace", "path": "/quota/limit", "value": str(quota["limit"])})
            if current_quota.get("period") != quota["period"]:
                ops.append({"op": "replace", "path": "/quota/period", "value": quota["period"]})
            stages = [(s.get("apiId"), s.get("stage")) for s in plan.get("apiStages") or []]
            for stale_api, stale_stage in stages:
                if (stale_api, stale_stage) != (api_id, self.config.stage):
                    ops.append({"op": "remove", "path": "/apiStages", "value": f"{stale_api}:{stale_stage}"})
            if (api_id, self.config.stage) not in stages:
                ops.append({"op": "add", "path": "/apiStages", "value": f"{api_id}:{self.config.stage}"})
            if ops:
                plan = apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=ops)
                self.log(f"  updated usage plan {self.names.usage_plan}: {', '.join(op['path'] for op in ops)}")
        key = self._find_api_key()
        if key is None:
            key = apigw.create_api_key(name=self.names.api_key, description=f"sagestack {self.names.stack} client key", enabled=True, tags=self.tags)
            self.log(f"  created API key {self.names.api_key}")
        elif not key.get("enabled", True):
            apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
        plan_key_ids = {k["id"] for page in apigw.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan["id"]) for k in page.get("items", [])}
        if key["id"] not in plan_key_ids:
            apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        value = key.get("value") or apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"]
        return str(key["id"]), str(value)

    # ------------------------------------------------------------------ status

    def status(self) -> list[ResourceState]:
        """Each resource, whether it exists and whether it matches what deploy would make now."""
        desired = self.desired()
        states: list[ResourceState] = []
        sm = self.client("sagemaker")

        bucket_exists = self._bucket_exists()
        states.append(ResourceState("s3-bucket", self.names.bucket, bucket_exists, bucket_exists))
        for kind, role, service, policy_name, policy in (
            ("iam-role", self.names.sagemaker_role, "sagemaker.amazonaws.com", SAGEMAKER_POLICY_NAME, sagemaker_policy(self.names, self.target.partition, desired.image_uri)),
            ("iam-role", self.names.lambda_role, "lambda.amazonaws.com", LAMBDA_POLICY_NAME, lambda_policy(self.names, self.target.partition)),
        ):
            states.append(self._role_state(kind, role, service, policy_name, policy))

        _, job = self._find_training_job(desired)
        job_name = job["TrainingJobName"] if job else self.names.training_job(desired.training_hash)
        states.append(ResourceState("training-job", job_name, job is not None, bool(job and job["TrainingJobStatus"] == "Completed"), job["TrainingJobStatus"] if job else "", billable=True))
        model_name = self.names.model(desired.model_hash)
        model_exists = self._exists(lambda: sm.describe_model(ModelName=model_name))
        states.append(ResourceState("model", model_name, model_exists, model_exists))
        config_name = self.names.endpoint_config(desired.config_hash)
        config_exists = self._exists(lambda: sm.describe_endpoint_config(EndpointConfigName=config_name))
        states.append(ResourceState("endpoint-config", config_name, config_exists, config_exists))
        endpoint = self._describe_endpoint()
        if endpoint is None:
            states.append(ResourceState("endpoint", self.names.endpoint, False, False, billable=True))
        else:
            ok = endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == config_name
            states.append(ResourceState("endpoint", self.names.endpoint, True, ok, f"{endpoint['EndpointStatus']} on {endpoint['EndpointConfigName']}", billable=True))

        function = self._get_function()
        if function is None:
            states.append(ResourceState("lambda-function", self.names.function, False, False))
        else:
            role_arn = function["Configuration"].get("Role", "")
            diffs = self._function_mismatches(function["Configuration"], self._function_settings(role_arn))
            if function["Configuration"].get("CodeSha256") != desired.package.code_sha256:
                diffs.append("code")
            states.append(ResourceState("lambda-function", self.names.function, True, not diffs, ("differs: " + ", ".join(diffs)) if diffs else ""))

        api = self._find_rest_api()
        if api is None:
            states.append(ResourceState("rest-api", self.names.rest_api, False, False))
        else:
            fingerprint = self._api_fingerprint(function["Configuration"]["FunctionArn"]) if function else None
            deployed = self._deployed_fingerprint(api["id"])
            permission_ok = self._permission_source_arn() == self.source_arn(api["id"]) if function else False
            detail = f"{api['id']} stage {self.config.stage}: " + ("deployed" if deployed else "no stage")
            states.append(ResourceState("rest-api", self.names.rest_api, True, deployed == fingerprint and permission_ok, detail))

        plan = self._find_usage_plan()
        throttle, quota = self._plan_settings()
        if plan is None:
            states.append(ResourceState("usage-plan", self.names.usage_plan, False, False))
        else:
            current = plan.get("throttle") or {}
            ok = float(current.get("rateLimit", -1)) == throttle["rateLimit"] and int(current.get("burstLimit", -1)) == throttle["burstLimit"]
            ok = ok and bool(api) and any(s.get("apiId") == api["id"] and s.get("stage") == self.config.stage for s in plan.get("apiStages") or [])
            states.append(ResourceState("usage-plan", self.names.usage_plan, True, ok, f"rate {current.get('rateLimit')}/s burst {current.get('burstLimit')}"))
        key = self._find_api_key()
        states.append(ResourceState("api-key", self.names.api_key, key is not None, bool(key and key.get("enabled"))))
        return states

    def _role_state(self, kind: str, role: str, service: str, policy_name: str, policy: dict[str, Any]) -> ResourceState:
        iam = self.client("iam")
        try:
            current = iam.get_role(RoleName=role)["Role"]
        except ClientError as exc:
            if is_not_found(exc):
                return ResourceState(kind, role, False, False)
            raise
        try:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            document = None
        ok = current.get("AssumeRolePolicyDocument") == trust_policy(service) and document == policy
        return ResourceState(kind, role, True, ok, "" if ok else "policy differs")

    def _exists(self, call: Callable[[], Any]) -> bool:
        """Run a describe/head call; True if it found its resource (boto3 calls never answer None)."""
        return or_none(call) is not None

    def _ignore_not_found(self, call: Callable[[], Any]) -> bool:
        """Run a delete; True if it deleted something, False if it was already gone."""
        return or_none(call) is not None

    # ------------------------------------------------------------------ destroy

    def destroy(self) -> list[str]:
        """Delete everything deploy created, the billed endpoint first; safe to re-run. Returns what was deleted."""
        deleted: list[str] = []
        sm = self.client("sagemaker")

        def note(what: str) -> None:
            deleted.append(what)
            self.log(f"  deleted {what}")

        endpoint = self._describe_endpoint()
        if endpoint is not None:
            if endpoint["EndpointStatus"] in {"Creating", "Updating", "SystemUpdating", "RollingBack"}:
                wait_for(self._endpoint_progress, what=f"endpoint {self.names.endpoint} (before deleting)", done={"InService", "Failed", "OutOfService", "Absent"}, failed=set(), timeout_s=self.config.max_endpoint_wait_s, log=self.log)
            if self._ignore_not_found(lambda: sm.delete_endpoint(EndpointName=self.names.endpoint)):
                note(f"endpoint {self.names.endpoint}")
            wait_for(self._endpoint_progress, what=f"endpoint {self.names.endpoint}", done={"Absent"}, failed={"Failed"}, timeout_s=self.config.max_endpoint_wait_s, log=self.log)
        for name in self._stack_resources("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", self.names.endpoint_config_prefix):
            if self._ignore_not_found(lambda n=name: sm.delete_endpoint_config(EndpointConfigName=n)):
                note(f"endpoint config {name}")
        for name in self._stack_resources("list_models", "Models", "ModelName", self.names.model_prefix):
            if self._ignore_not_found(lambda n=name: sm.delete_model(ModelName=n)):
                note(f"model {name}")

        apigw = self.client("apigateway")
        plan = self._find_usage_plan()
        if plan is not None:
            # A usage plan must drop its stages before the plan (and then the API) can go.
            stages = [f"{s['apiId']}:{s['stage']}" for s in plan.get("apiStages") or []]
            if stages:
                apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[{"op": "remove", "path": "/apiStages", "value": s} for s in stages])
            if self._ignore_not_found(lambda: apigw.delete_usage_plan(usagePlanId=plan["id"])):
                note(f"usage plan {self.names.usage_plan}")
        key = self._find_api_key()
        if key is not None and self._ignore_not_found(lambda: apigw.delete_api_key(apiKey=key["id"])):
            note(f"API key {self.names.api_key}")
        api = self._find_rest_api()
        if api is not None and self._ignore_not_found(lambda: apigw.delete_rest_api(restApiId=api["id"])):
            note(f"REST API {self.names.rest_api} ({api['id']})")

        lam = self.client("lambda")
        if self._ignore_not_found(lambda: lam.delete_function(FunctionName=self.names.function)):
            note(f"function {self.names.function}")
        logs = self.client("logs")
        for group in (self.names.function_log_group, self.names.endpoint_log_group):
            if self._ignore_not_found(lambda g=group: logs.delete_log_group(logGroupName=g)):
                note(f"log group {group}")

        iam = self.client("iam")
        for role, policy_name in ((self.names.lambda_role, LAMBDA_POLICY_NAME), (self.names.sagemaker_role, SAGEMAKER_POLICY_NAME)):
            try:
                for name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
                    iam.delete_role_policy(RoleName=role, PolicyName=name)
                for attached in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
                    iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
            if self._ignore_not_found(lambda r=role: iam.delete_role(RoleName=r)):
                note(f"role {role}")

        deleted += self._delete_training_jobs()
        deleted += self._delete_bucket()
        return deleted

    def _delete_training_jobs(self) -> list[str]:
        sm = self.client("sagemaker")
        deleted = []
        jobs = []
        for page in sm.get_paginator("list_training_jobs").paginate(NameContains=self.names.training_job_prefix):
            jobs += [j for j in page.get("TrainingJobSummaries", []) if j["TrainingJobName"].startswith(self.names.training_job_prefix)]
        for job in jobs:
            name = job["TrainingJobName"]
            if job["TrainingJobStatus"] in {"InProgress", "Stopping"}:
                sm.stop_training_job(TrainingJobName=name)
                wait_for(lambda n=name: (sm.describe_training_job(TrainingJobName=n)["TrainingJobStatus"], ""), what=f"training job {name}", done={"Stopped", "Completed", "Failed"}, failed=set(), timeout_s=600, log=self.log)
            try:
                if self._ignore_not_found(lambda n=name: sm.delete_training_job(TrainingJobName=n)):
                    deleted.append(f"training job {name}")
                    self.log(f"  deleted training job {name}")
            except (NotImplementedError, ClientError) as exc:
                if isinstance(exc, ClientError) and error_code(exc) not in {"InvalidAction", "UnknownOperationException", "NotImplemented"}:
                    raise
                self.log(f"  kept training job record {name}: this SageMaker does not implement DeleteTrainingJob (a finished job costs nothing)")
        return deleted

    def _delete_bucket(self) -> list[str]:
        s3 = self.client("s3")
        if not self._bucket_exists():
            return []
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.names.bucket):
            objects = [{"Key": o["Key"], "VersionId": o["VersionId"]} for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=self.names.bucket, Delete={"Objects": objects, "Quiet": True})
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.names.bucket):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                s3.delete_objects(Bucket=self.names.bucket, Delete={"Objects": objects, "Quiet": True})
        self._ignore_not_found(lambda: s3.delete_bucket(Bucket=self.names.bucket))
        self.log(f"  deleted bucket s3://{self.names.bucket} and its objects")
        return [f"bucket {self.names.bucket}"]
