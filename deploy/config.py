"""What a deploy builds: the user's choices (`StackConfig`) and the resource names derived from them.

Names are derived, never stored: `deploy`, `status` and `destroy` find the same resources from
the stack name, account and region alone, so a lost `.sagestack/` never orphans anything.
Names that must change when their inputs change (training job, model, endpoint config) carry
a hash of those inputs; names a client depends on (endpoint, function, API) are stable.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_NAME_RE = re.compile(r"^[a-z0-9](-?[a-z0-9])*$")
MAX_STACK_NAME = 20  # keeps every derived name inside AWS's limits (bucket 63, SageMaker 63, role 64)
# SageMaker built-in algorithms a stack can deploy (the first is the default).
ALGORITHMS = ("linear-learner", "xgboost")
TAG_STACK = "sagestack:stack"
TAG_INPUTS = "sagestack:inputs"


class ConfigError(ValueError):
    """A stack option that cannot work; the message says which and why."""


def short_hash(payload: Any, length: int = 12) -> str:
    """A stable hex digest of a JSON-serialisable value."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class StackConfig:
    """Options of one stack; defaults reproduce the original example on current instance types."""

    stack_name: str = "sagestack"
    stage: str = "prod"
    training_instance_type: str = "ml.m5.large"
    endpoint_instance_type: str = "ml.m5.large"
    endpoint_instance_count: int = 1
    lambda_runtime: str = "python3.13"
    lambda_memory_mb: int = 256
    lambda_timeout_s: int = 30
    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    quota_per_day: int = 100_000
    data_seed: int | None = None  # None: training.data's default split seed
    data_source: Path | None = None
    hyperparameters: dict[str, str] = field(default_factory=dict)
    algorithm: str = "linear-learner"  # or "xgboost": SageMaker's built-in algorithm behind the endpoint
    max_training_wait_s: float = 3600.0
    max_endpoint_wait_s: float = 1800.0

    def __post_init__(self) -> None:
        if len(self.stack_name) > MAX_STACK_NAME or not STACK_NAME_RE.match(self.stack_name):
            raise ConfigError(
                f"stack name {self.stack_name!r} must be 1-{MAX_STACK_NAME} lowercase letters, digits and single hyphens "
                "(it prefixes S3 bucket, IAM and SageMaker names)"
            )
        if not re.match(r"^[A-Za-z0-9_]{1,128}$", self.stage):
            raise ConfigError(f"stage {self.stage!r} must be 1-128 letters, digits or underscores (API Gateway's rule)")
        if self.endpoint_instance_count < 1:
            raise ConfigError("endpoint instance count must be at least 1")
        if self.throttle_rate_limit <= 0 or self.throttle_burst_limit < 1:
            raise ConfigError("throttling rate must be > 0 and burst >= 1")
        if not 128 <= self.lambda_memory_mb <= 10240:
            raise ConfigError("Lambda memory must be 128-10240 MB")
        if not 1 <= self.lambda_timeout_s <= 900:
            raise ConfigError("Lambda timeout must be 1-900 s")
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm {self.algorithm!r} is not supported; use 'linear-learner' (default) or 'xgboost'")
        for key, value in self.hyperparameters.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ConfigError(f"hyperparameter {key!r}={value!r}: SageMaker takes string keys and string values")


@dataclass(frozen=True)
class StackNames:
    """Every resource name of one stack in one account and region."""

    stack: str
    account_id: str
    region: str

    @property
    def bucket(self) -> str:
        return f"{self.stack}-{self.account_id}-{self.region}"

    @property
    def data_prefix(self) -> str:
        return f"{self.stack}/data"

    @property
    def output_prefix(self) -> str:
        return f"{self.stack}/output"

    @property
    def sagemaker_role(self) -> str:
        return f"{self.stack}-sagemaker-execution"

    @property
    def lambda_role(self) -> str:
        return f"{self.stack}-lambda"

    @property
    def endpoint(self) -> str:
        return self.stack

    @property
    def function(self) -> str:
        return f"{self.stack}-predict"

    @property
    def function_log_group(self) -> str:
        return f"/aws/lambda/{self.function}"

    @property
    def endpoint_log_group(self) -> str:
        return f"/aws/sagemaker/Endpoints/{self.endpoint}"

    @property
    def rest_api(self) -> str:
        return f"{self.stack}-api"

    @property
    def api_key(self) -> str:
        return f"{self.stack}-key"

    @property
    def usage_plan(self) -> str:
        return f"{self.stack}-plan"

    @property
    def permission_sid(self) -> str:
        return f"{self.stack}-apigateway-invoke"

    @property
    def training_job_prefix(self) -> str:
        return f"{self.stack}-train-"

    @property
    def model_prefix(self) -> str:
        return f"{self.stack}-model-"

    @property
    def endpoint_config_prefix(self) -> str:
        return f"{self.stack}-config-"

    def training_job(self, inputs_hash: str, attempt: int = 1) -> str:
        return f"{self.training_job_prefix}{inputs_hash}" + ("" if attempt == 1 else f"-{attempt}")

    def model(self, inputs_hash: str) -> str:
        return f"{self.model_prefix}{inputs_hash}"

    def endpoint_config(self, inputs_hash: str) -> str:
        return f"{self.endpoint_config_prefix}{inputs_hash}"
