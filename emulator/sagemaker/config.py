"""Everything the emulator can be told at start, in one validated object.

The CLI (`server.py`), the Dockerfile and `process.EmulatorProcess` all build one of these;
defaults come from `contract.names` so the fixed port, region and account live in one place.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from contract import aws, names

AUTH_MODES = ("off", "access-key", "signature")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Account quotas the emulator enforces, so ResourceLimitExceeded can be exercised locally.

    Defaults are generous (a laptop is not an account with quota tickets); tests lower them.
    """

    max_endpoints: int = 100
    max_instances_per_type: int = 20  # per instance type, summed over endpoints (AWS: per-type quotas)
    max_concurrent_training_jobs: int = 4


@dataclasses.dataclass(frozen=True)
class EmulatorConfig:
    host: str = names.LOOPBACK
    port: int = names.DEFAULT_SAGEMAKER_PORT
    data_dir: Path = dataclasses.field(default_factory=lambda: names.state_dir() / "sagemaker")
    # None: boto3's own configuration (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), else LocalStack.
    s3_endpoint_url: str | None = None
    region: str = dataclasses.field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION") or names.DEFAULT_REGION)
    account_id: str = names.LOCAL_ACCOUNT_ID
    # Minimum seconds an endpoint stays Creating/Updating/Deleting: lets users exercise
    # their waiting code; 0 means "as fast as the model loads".
    transition_delay: float = 0.0
    # "off": any credentials; "access-key": the access key must be one of `access_keys`;
    # "signature": additionally verify the SigV4 signature with the matching secret.
    auth_mode: str = "off"
    access_keys: tuple[tuple[str, str], ...] = ((names.LOCAL_ACCESS_KEY_ID, names.LOCAL_SECRET_ACCESS_KEY),)
    limits: Limits = dataclasses.field(default_factory=Limits)
    # Request log (JSON lines); None: `<data_dir>/requests.log`. "-" means stderr.
    request_log: str | None = None

    def __post_init__(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise ValueError(f"auth mode {self.auth_mode!r} is not one of {', '.join(AUTH_MODES)}")
        if self.transition_delay < 0:
            raise ValueError("transition delay must be >= 0 seconds")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is outside 1..65535")

    @property
    def partition(self) -> str:
        """The ARN partition of `region` (arn:aws-cn:... in China, arn:aws-us-gov:... in GovCloud)."""
        return aws.partition(self.region)

    @property
    def resolved_s3_endpoint_url(self) -> str | None:
        """Explicit option, then the SDK's own variables, then the local LocalStack."""
        if self.s3_endpoint_url:
            return self.s3_endpoint_url
        if os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"):
            return None  # boto3 reads them itself
        return names.localstack_url()

    @property
    def request_log_path(self) -> Path | None:
        if self.request_log == "-":
            return None
        return Path(self.request_log) if self.request_log else self.data_dir / "requests.log"
