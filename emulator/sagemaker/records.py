"""Typed domain records: what the emulator knows about each resource, public and private apart.

Each record is a frozen dataclass. Fields the Describe* answer shows are kept apart from the
emulator's own bookkeeping (an endpoint's generation, the variants it serves, a pending
update), and nothing private can reach the wire: `describe()` builds the public answer, the
control plane serialises it through botocore's output shape (`shapes.serialize_output`).

Frozen on purpose: a record changes only by building a new one (`dataclasses.replace`) and
handing it to `tables.Tables.commit`, which makes it visible once it is durable.

`to_doc()` / `from_doc()` are the disk edge: the document stored in SQLite is the Describe
shape plus private keys starting with "_" — the format earlier versions wrote, so an old
state file still loads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

TRAINING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT, TAGS = "training-job", "model", "endpoint-config", "endpoint", "tags"
KINDS = (TRAINING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT, TAGS)

Doc = dict[str, Any]


def _drop_none(doc: Doc) -> Doc:
    return {key: value for key, value in doc.items() if value is not None}


# --- models and endpoint configs -------------------------------------------------------------


@dataclass(frozen=True)
class ModelRecord:
    """A CreateModel request as SageMaker keeps it (defaults applied, Tags apart)."""

    KIND: ClassVar[str] = MODEL
    name: str
    arn: str
    created: float
    # The other CreateModel members DescribeModel echoes (PrimaryContainer, ExecutionRoleArn, ...).
    spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name

    @property
    def containers(self) -> list[dict[str, Any]]:
        if self.spec.get("PrimaryContainer"):
            return [dict(self.spec["PrimaryContainer"])]
        return [dict(c) for c in self.spec.get("Containers") or []]

    def describe(self) -> Doc:
        return {**self.spec, "ModelName": self.name, "ModelArn": self.arn, "CreationTime": self.created}

    def summary(self) -> Doc:
        return {"ModelName": self.name, "ModelArn": self.arn, "CreationTime": self.created}

    def to_doc(self) -> Doc:
        return self.describe()

    @classmethod
    def from_doc(cls, doc: Doc) -> ModelRecord:
        spec = {k: v for k, v in doc.items() if k not in ("ModelName", "ModelArn", "CreationTime") and not k.startswith("_")}
        return cls(doc["ModelName"], doc["ModelArn"], float(doc["CreationTime"]), spec)


@dataclass(frozen=True)
class EndpointConfigRecord:
    KIND: ClassVar[str] = ENDPOINT_CONFIG
    name: str
    arn: str
    created: float
    # ProductionVariants (default weights applied), DataCaptureConfig, KmsKeyId, ...
    spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name

    @property
    def variants(self) -> list[dict[str, Any]]:
        return [dict(v) for v in self.spec.get("ProductionVariants") or []]

    def describe(self) -> Doc:
        return {**self.spec, "EndpointConfigName": self.name, "EndpointConfigArn": self.arn, "CreationTime": self.created}

    def summary(self) -> Doc:
        return {"EndpointConfigName": self.name, "EndpointConfigArn": self.arn, "CreationTime": self.created}

    def to_doc(self) -> Doc:
        return self.describe()

    @classmethod
    def from_doc(cls, doc: Doc) -> EndpointConfigRecord:
        skip = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
        spec = {k: v for k, v in doc.items() if k not in skip and not k.startswith("_")}
        return cls(doc["EndpointConfigName"], doc["EndpointConfigArn"], float(doc["CreationTime"]), spec)


# --- endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSpec:
    """What one production variant serves, snapshotted when the endpoint is created or updated,
    so deleting the model or the config afterwards does not change a running endpoint."""

    name: str
    model_name: str
    containers: tuple[Mapping[str, Any], ...]
    weight: float
    instance_count: int | None = None
    instance_type: str | None = None
    serverless: Mapping[str, Any] | None = None
    artifact_sha256: str | None = None  # set once loaded: a restart serves the cached bytes

    @property
    def image(self) -> str | None:
        return self.containers[0].get("Image") if self.containers else None

    def to_doc(self) -> Doc:
        doc = {
            "VariantName": self.name,
            "ModelName": self.model_name,
            "Containers": [dict(c) for c in self.containers],
            "InitialVariantWeight": self.weight,
            "InitialInstanceCount": self.instance_count,
            "InstanceType": self.instance_type,
            "ServerlessConfig": dict(self.serverless) if self.serverless else None,
        }
        if self.artifact_sha256:
            doc["_artifact_sha256"] = self.artifact_sha256
        return doc

    @classmethod
    def from_doc(cls, doc: Doc) -> VariantSpec:
        count = doc.get("InitialInstanceCount")
        return cls(
            name=doc["VariantName"],
            model_name=doc["ModelName"],
            containers=tuple(dict(c) for c in doc.get("Containers") or []),
            weight=float(doc.get("InitialVariantWeight", 1.0)),
            instance_count=int(count) if count is not None else None,
            instance_type=doc.get("InstanceType"),
            serverless=doc.get("ServerlessConfig"),
            artifact_sha256=doc.get("_artifact_sha256"),
        )


@dataclass(frozen=True)
class PendingDeployment:
    """An update in progress: the config and variants that will serve once they have loaded."""

    config_name: str
    variants: tuple[VariantSpec, ...]
    start_time: float | None = None

    def to_doc(self) -> Doc:
        return _drop_none({"EndpointConfigName": self.config_name, "Variants": [v.to_doc() for v in self.variants],
                           "StartTime": self.start_time})

    @classmethod
    def from_doc(cls, doc: Doc) -> PendingDeployment:
        return cls(doc["EndpointConfigName"], tuple(VariantSpec.from_doc(v) for v in doc.get("Variants") or []), doc.get("StartTime"))


@dataclass(frozen=True)
class EndpointRecord:
    KIND: ClassVar[str] = ENDPOINT
    # --- public (DescribeEndpoint) ---
    name: str
    arn: str
    config_name: str
    status: str
    created: float
    modified: float
    failure: str | None = None
    production_variants: tuple[Mapping[str, Any], ...] = ()  # ProductionVariantSummary, once InService
    pending_summary: Mapping[str, Any] | None = None  # PendingDeploymentSummary, during UpdateEndpoint
    deployment_config: Mapping[str, Any] | None = None  # LastDeploymentConfig
    # --- private (never on the wire) ---
    variants: tuple[VariantSpec, ...] = ()  # what serves (or will serve, while Creating)
    generation: int = 0  # bumped by every request that starts work; a worker with an older one drops its result
    pending: PendingDeployment | None = None

    @property
    def key(self) -> str:
        return self.name

    def describe(self) -> Doc:
        return _drop_none({
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "EndpointConfigName": self.config_name,
            "EndpointStatus": self.status,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "FailureReason": self.failure,
            "ProductionVariants": [dict(v) for v in self.production_variants] or None,
            "PendingDeploymentSummary": dict(self.pending_summary) if self.pending_summary else None,
            "LastDeploymentConfig": dict(self.deployment_config) if self.deployment_config else None,
        })

    def summary(self) -> Doc:
        return {"EndpointName": self.name, "EndpointArn": self.arn, "CreationTime": self.created,
                "LastModifiedTime": self.modified, "EndpointStatus": self.status}

    def to_doc(self) -> Doc:
        doc = self.describe()
        doc["_variants"] = [v.to_doc() for v in self.variants]
        doc["_generation"] = self.generation
        if self.pending is not None:
            doc["_pending"] = self.pending.to_doc()
        return doc

    @classmethod
    def from_doc(cls, doc: Doc) -> EndpointRecord:
        pending = doc.get("_pending")
        return cls(
            name=doc["EndpointName"],
            arn=doc["EndpointArn"],
            config_name=doc["EndpointConfigName"],
            status=doc["EndpointStatus"],
            created=float(doc["CreationTime"]),
            modified=float(doc.get("LastModifiedTime", doc["CreationTime"])),
            failure=doc.get("FailureReason"),
            production_variants=tuple(doc.get("ProductionVariants") or ()),
            pending_summary=doc.get("PendingDeploymentSummary"),
            deployment_config=doc.get("LastDeploymentConfig"),
            variants=tuple(VariantSpec.from_doc(v) for v in doc.get("_variants") or []),
            generation=int(doc.get("_generation", 0)),
            pending=PendingDeployment.from_doc(pending) if pending else None,
        )


# --- training jobs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingJobRecord:
    KIND: ClassVar[str] = TRAINING_JOB
    name: str
    arn: str
    status: str
    secondary_status: str
    created: float
    modified: float
    # The CreateTrainingJob members DescribeTrainingJob echoes (defaults applied, Tags apart),
    # including ModelArtifacts and StoppingCondition.
    spec: Mapping[str, Any] = field(default_factory=dict)
    transitions: tuple[Mapping[str, Any], ...] = ()  # SecondaryStatusTransitions
    started: float | None = None  # TrainingStartTime
    ended: float | None = None  # TrainingEndTime
    seconds: int | None = None  # TrainingTimeInSeconds = BillableTimeInSeconds
    failure: str | None = None
    final_metrics: tuple[Mapping[str, Any], ...] = ()

    PUBLIC_FIELDS: ClassVar[tuple[str, ...]] = (
        "TrainingJobName", "TrainingJobArn", "TrainingJobStatus", "SecondaryStatus", "CreationTime", "LastModifiedTime",
        "SecondaryStatusTransitions", "TrainingStartTime", "TrainingEndTime", "TrainingTimeInSeconds",
        "BillableTimeInSeconds", "FailureReason", "FinalMetricDataList",
    )

    @property
    def key(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.status in ("InProgress", "Stopping")

    @property
    def resource_config(self) -> Mapping[str, Any]:
        return self.spec.get("ResourceConfig") or {}

    def describe(self) -> Doc:
        return {**self.spec, **_drop_none({
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "TrainingJobStatus": self.status,
            "SecondaryStatus": self.secondary_status,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
            "TrainingStartTime": self.started,
            "TrainingEndTime": self.ended,
            "TrainingTimeInSeconds": self.seconds,
            "BillableTimeInSeconds": self.seconds,
            "FailureReason": self.failure,
            "FinalMetricDataList": [dict(m) for m in self.final_metrics] or None,
        })}

    def summary(self) -> Doc:
        return _drop_none({"TrainingJobName": self.name, "TrainingJobArn": self.arn, "CreationTime": self.created,
                           "TrainingEndTime": self.ended, "LastModifiedTime": self.modified,
                           "TrainingJobStatus": self.status, "SecondaryStatus": self.secondary_status})

    def to_doc(self) -> Doc:
        return self.describe()

    @classmethod
    def from_doc(cls, doc: Doc) -> TrainingJobRecord:
        spec = {k: v for k, v in doc.items() if k not in cls.PUBLIC_FIELDS and not k.startswith("_")}
        seconds = doc.get("TrainingTimeInSeconds")
        return cls(
            name=doc["TrainingJobName"],
            arn=doc["TrainingJobArn"],
            status=doc["TrainingJobStatus"],
            secondary_status=doc.get("SecondaryStatus", doc["TrainingJobStatus"]),
            created=float(doc["CreationTime"]),
            modified=float(doc.get("LastModifiedTime", doc["CreationTime"])),
            spec=spec,
            transitions=tuple(doc.get("SecondaryStatusTransitions") or ()),
            started=doc.get("TrainingStartTime"),
            ended=doc.get("TrainingEndTime"),
            seconds=int(seconds) if seconds is not None else None,
            failure=doc.get("FailureReason"),
            final_metrics=tuple(doc.get("FinalMetricDataList") or ()),
        )


# --- tags ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagSet:
    """The tags of one resource, keyed by its ARN (insertion order kept, as ListTags shows it)."""

    KIND: ClassVar[str] = TAGS
    arn: str
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return self.arn

    def as_list(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags]

    def to_doc(self) -> Doc:
        return {"Tags": self.as_list()}

    @classmethod
    def from_doc(cls, arn: str, doc: Doc) -> TagSet:
        return cls(arn, tuple((t["Key"], t.get("Value", "")) for t in doc.get("Tags") or []))


Record = ModelRecord | EndpointConfigRecord | EndpointRecord | TrainingJobRecord | TagSet

_LOADERS: dict[str, Any] = {
    MODEL: ModelRecord.from_doc,
    ENDPOINT_CONFIG: EndpointConfigRecord.from_doc,
    ENDPOINT: EndpointRecord.from_doc,
    TRAINING_JOB: TrainingJobRecord.from_doc,
}


def from_doc(kind: str, key: str, doc: Doc) -> Record:
    """The record a stored document describes (KeyError/TypeError/ValueError if it is not one)."""
    if kind == TAGS:
        return TagSet.from_doc(key, doc)
    return _LOADERS[kind](doc)


replace = dataclasses.replace
