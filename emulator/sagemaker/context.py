"""What every part of the SageMaker domain shares: configuration, the tables, the clock, ARNs.

One `Context` is built by the backend facade and handed to each service module (models,
endpoints, training jobs, tags), so none of them reaches into another's state except
through the tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.errors import ValidationException
from emulator.sagemaker.records import ENDPOINT, ENDPOINT_CONFIG, MODEL
from emulator.sagemaker.tables import Tables

_LABELS = {MODEL: "model", ENDPOINT_CONFIG: "endpoint configuration", ENDPOINT: "endpoint"}


def arn_for(config: EmulatorConfig, kind: str, name: str) -> str:
    return f"arn:{config.partition}:sagemaker:{config.region}:{config.account_id}:{kind}/{name.lower()}"


@dataclass
class Context:
    config: EmulatorConfig
    tables: Tables
    raw_clock: Callable[[], float] = field(default=time.time)

    def clock(self) -> float:
        """SageMaker keeps times to the millisecond (what the wire carries), so a time read back from a
        Describe* answer and passed to CreationTimeAfter/Before compares the way it does on AWS."""
        return round(self.raw_clock(), 3)

    def arn(self, kind: str, name: str) -> str:
        return arn_for(self.config, kind, name)

    def not_found(self, kind: str, name: str) -> ValidationException:
        return ValidationException(f'Could not find {_LABELS[kind]} "{self.arn(kind, name)}".')

    def already_exists(self, kind: str, name: str) -> ValidationException:
        return ValidationException(f'Cannot create already existing {_LABELS[kind]} "{self.arn(kind, name)}".')


def quota_message(quota: str, limit: int, used: int, delta: int, unit: str) -> str:
    return (
        f"The account-level service limit '{quota}' is {limit} {unit}, with current utilization of {used} {unit} "
        f"and a request delta of {delta} {unit}. Please use AWS Service Quotas to request an increase for this "
        "quota. If AWS Service Quotas is not available, contact AWS support to request an increase for this quota. "
        "(sagestack: raise it with `sagestack emulator --max-instances-per-type/--max-endpoints`.)"
    )
