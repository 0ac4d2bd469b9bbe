"""The stack: its deploy units in dependency order, and the three things done with them (issue 5, issue 8).

One code path for every profile. `Stack` takes a boto3 session (deploy.profiles) and a
StackConfig (deploy.config) and runs the units of deploy/resources/ (one per resource, each
answering desired / existing / difference / apply / delete; docs/ARCHITECTURE.md, "Deploy"):

* `deploy`  applies every unit in `DEPLOY_ORDER` (re-running changes nothing; a changed input
  updates in place), then lets each prune what an earlier deploy left;
* `status`  asks every unit in the same order for `existing` + `difference`, the very diff
  `apply` acts on;
* `destroy` deletes in `DESTROY_ORDER`, the billed endpoint first;
* `restore` re-applies only the units LocalStack holds (after it restarted without state),
  reusing the REST API id and API key value of the outputs, so saved URLs and keys still work.

Only two facts differ between the platforms and both come from the profile's configured
endpoints (docs/ARCHITECTURE.md, "The profile switch"): the Lambda's view of the SageMaker
runtime and the invoke URL form.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import boto3

from contract import names as fixed
from contract.dataset import CHANNELS
from deploy.config import StackConfig, StackNames, short_hash
from deploy.images import image_uri as algorithm_image_uri
from deploy.packaging import build_package
from deploy.profiles import describe_target
from deploy.resources import roles
from deploy.resources.base import Context, DeployError, Desired, ResourceState, Unit
from deploy.resources.endpoint import Endpoint
from deploy.resources.endpoint_config import EndpointConfig
from deploy.resources.function import Function
from deploy.resources.log_group import LogGroup
from deploy.resources.model import Model
from deploy.resources.permission import Permission
from deploy.resources.rest_api import RestApi
from deploy.resources.storage import Bucket, Channels
from deploy.resources.training_job import TrainingJob
from deploy.resources.usage_plan import ApiKey, UsagePlan

__all__ = ["DeployError", "Desired", "Outputs", "ResourceState", "Stack", "channels_dir"]

BUCKET, CHANNELS_UNIT = Bucket(), Channels()
SAGEMAKER_ROLE, LAMBDA_ROLE = roles.sagemaker_role(), roles.lambda_role()
TRAINING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT = TrainingJob(), Model(), EndpointConfig(), Endpoint()
LOG_GROUP, FUNCTION, REST_API, PERMISSION = LogGroup(), Function(), RestApi(), Permission()
USAGE_PLAN, API_KEY = UsagePlan(), ApiKey()

# The training job only starts here; the function and the API do not depend on the model and are
# built while it trains (minutes on AWS, about a second on the emulator); the model unit waits for it.
DEPLOY_ORDER: tuple[Unit, ...] = (
    BUCKET, CHANNELS_UNIT, SAGEMAKER_ROLE, LAMBDA_ROLE, TRAINING_JOB,
    LOG_GROUP, FUNCTION, REST_API, PERMISSION, USAGE_PLAN, API_KEY,
    MODEL, ENDPOINT_CONFIG, ENDPOINT,
)  # fmt: skip
# After the endpoint serves the new config, the previous config and then its model serve nothing.
PRUNE_ORDER: tuple[Unit, ...] = (ENDPOINT_CONFIG, MODEL)
# The billed endpoint first; a usage plan before the API it names; roles after what uses them.
DESTROY_ORDER: tuple[Unit, ...] = (
    ENDPOINT, ENDPOINT_CONFIG, MODEL, USAGE_PLAN, API_KEY, REST_API, PERMISSION,
    FUNCTION, LOG_GROUP, LAMBDA_ROLE, SAGEMAKER_ROLE, TRAINING_JOB, CHANNELS_UNIT, BUCKET,
)  # fmt: skip
# What the emulated gateway (LocalStack) holds; SageMaker's units live in the emulator, which keeps state.
LOCALSTACK_SERVICES = frozenset({"s3", "iam", "logs", "lambda", "apigateway"})


def channels_dir(seed: int | None = None) -> Path:
    """Where the data channels of a split seed are prepared (None: training.data's default seed)."""
    return fixed.state_dir() / "data" / f"seed-{'default' if seed is None else seed}"


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


def config_record(config: StackConfig) -> dict[str, Any]:
    """The config as JSON (kept in outputs.json, so `restore` rebuilds exactly what deploy built)."""
    record = asdict(config)
    record["data_source"] = None if config.data_source is None else str(config.data_source)
    return record


def config_from_record(record: dict[str, Any]) -> StackConfig:
    known = {f.name for f in fields(StackConfig)}
    values = {k: v for k, v in record.items() if k in known}
    if values.get("data_source") is not None:
        values["data_source"] = Path(values["data_source"])
    return StackConfig(**values)


class Stack(Context):
    """Deploy, inspect, destroy or restore one stack through one boto3 session."""

    def __init__(self, session: boto3.Session, config: StackConfig | None = None, log: Callable[[str], None] = print) -> None:
        config = config or StackConfig()
        target = describe_target(session)
        super().__init__(session, target, config, StackNames(config.stack_name, target.account_id, target.region), log)
        self._desired: Desired | None = None

    @property
    def endpoint_arn(self) -> str:
        return self.arn("sagemaker", f"endpoint/{self.names.endpoint}")

    def desired(self) -> Desired:
        """Prepare the data channels and hash every input that decides a resource's identity."""
        if self._desired is None:
            from training.data import prepare_channels
            from training.hyperparameters import DEFAULT_HYPERPARAMETERS as LINEAR_LEARNER_DEFAULTS
            from training.xgboost.hyperparameters import DEFAULT_HYPERPARAMETERS as XGBOOST_DEFAULTS

            kwargs: dict[str, Any] = {}
            if self.config.data_seed is not None:
                kwargs["seed"] = self.config.data_seed
            if self.config.data_source is not None:
                kwargs["source"] = self.config.data_source
            channels = {k: Path(v) for k, v in prepare_channels(channels_dir(self.config.data_seed), **kwargs).items()}
            data_hash = short_hash({c: hashlib.sha256(channels[c].read_bytes()).hexdigest() for c in CHANNELS})
            algorithm = self.config.algorithm
            image_uri = algorithm_image_uri(algorithm, self.target.region)
            defaults = XGBOOST_DEFAULTS if algorithm == "xgboost" else LINEAR_LEARNER_DEFAULTS
            hyperparameters = {**defaults, **self.config.hyperparameters}
            training_hash = short_hash(
                {"data": data_hash, "image": image_uri, "hp": hyperparameters, "instance": self.config.training_instance_type}
            )
            model_hash = short_hash({"training": training_hash, "image": image_uri})
            config_hash = short_hash(
                {"model": model_hash, "instance": self.config.endpoint_instance_type, "count": self.config.endpoint_instance_count}
            )
            self._desired = Desired(channels, data_hash, image_uri, hyperparameters, training_hash, model_hash, config_hash, build_package())
        return self._desired

    # ------------------------------------------------------------------ the three verbs

    def deploy(self) -> Outputs:
        """Create or update everything; returns the outputs. Safe to re-run."""
        started = time.monotonic()
        self.desired()
        self.log(f"deploying stack {self.names.stack!r} to account {self.target.account_id} in {self.target.region} (profile {self.target.profile})")
        self.refs.clear()
        for unit in DEPLOY_ORDER:
            unit.apply(self)
        for unit in PRUNE_ORDER:
            unit.prune(self)
        self.log(f"stack {self.names.stack!r} ready in {time.monotonic() - started:.1f} s")
        return self.outputs()

    def status(self) -> list[ResourceState]:
        """Each resource, whether it exists and whether it matches what deploy would make now."""
        self.desired()
        self.refs.clear()
        return [unit.state(self) for unit in DEPLOY_ORDER]

    def destroy(self) -> list[str]:
        """Delete everything deploy created, the billed endpoint first; safe to re-run. Returns what was deleted."""
        return [what for unit in DESTROY_ORDER for what in unit.delete(self)]

    def restore(self, previous: dict[str, Any]) -> list[str]:
        """Re-create what LocalStack held (after it restarted without state) as the outputs `previous` had it.

        The REST API gets its previous id and the API key its previous value, so a client's saved
        invoke URL and key keep working. Returns what was re-created (`kind name`), empty when
        nothing was missing.
        """
        self.pinned = {"api_id": str(previous.get("api_id", "")), "api_key": str(previous.get("api_key", ""))}
        self.refs.clear()
        recreated = []
        for unit in DEPLOY_ORDER:
            if unit.service not in LOCALSTACK_SERVICES:
                continue
            if unit.existing(self) is None:
                recreated.append(f"{unit.kind} {unit.name(self)}")
            unit.apply(self)
        return recreated

    def outputs(self) -> Outputs:
        refs = self.refs
        return Outputs(
            profile=self.target.profile,
            region=self.target.region,
            account_id=self.target.account_id,
            stack_name=self.names.stack,
            invoke_url=self.invoke_url(refs["api_id"]),
            api_key=refs["api_key"],
            api_id=refs["api_id"],
            stage=self.config.stage,
            endpoint_name=self.names.endpoint,
            function_name=self.names.function,
            bucket=self.names.bucket,
            training_job=refs["training_job"],
            model_name=refs["model_name"],
            endpoint_config=refs["endpoint_config"],
            extra={"api_key_id": refs["api_key_id"], "model_data": refs["model_data"], "image_uri": self.desired().image_uri, "algorithm": self.config.algorithm, "config": config_record(self.config)},
        )
