"""The SageMaker domain: training jobs, models, endpoint configs, endpoints and their lifecycles.

Records are plain dicts shaped like the Describe* responses (so the wire layer can emit them
through the service model unchanged), plus private keys starting with "_" that never leave
the emulator. Every change is written through to `StateStore` before the call returns.

Endpoint work (fetch the artifact, load it, publish the route) runs on a worker thread and
moves the endpoint Creating -> InService | Failed, Updating -> InService (rolling back to the
serving models on failure, as SageMaker does), Deleting -> gone. A generation counter on each
endpoint makes a late worker for a superseded request drop its result instead of racing.

Error codes and messages follow what SageMaker answers (see docs/ARCHITECTURE.md and the moto /
real-world references in the tests): missing endpoint/model/config -> ValidationException
`Could not find ... "arn"`; duplicate -> `Cannot create already existing ... "arn"`;
missing training job -> ValidationException `Requested resource not found.`
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from emulator.sagemaker.artifacts import ArtifactFetchError, ArtifactStore
from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.errors import ResourceInUse, ResourceLimitExceeded, ValidationException
from emulator.sagemaker.images import is_linear_learner_image, resolved_image, unsupported_image_reason
from emulator.sagemaker.serving import EndpointRoute, Router, ServingVariant
from emulator.sagemaker.shapes import documented_default, parse_timestamp
from emulator.sagemaker.store import StateStore

log = logging.getLogger("sagestack.sagemaker")

TRAINING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT, TAGS = "training-job", "model", "endpoint-config", "endpoint", "tags"
# ProductionVariantServerlessConfig.MemorySizeInMB: "Valid values are in 1 GB increments" (service model docs).
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
MIN_FAILING_SECONDS = 1.0
LIST_OPERATIONS = {MODEL: "ListModels", ENDPOINT_CONFIG: "ListEndpointConfigs", ENDPOINT: "ListEndpoints", TRAINING_JOB: "ListTrainingJobs"}

IN_PROGRESS_ENDPOINT = ("Creating", "Updating", "SystemUpdating", "RollingBack")
DEFAULT_MAX_RESULTS = 10


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _quota_message(quota: str, limit: int, used: int, delta: int, unit: str) -> str:
    return (
        f"The account-level service limit '{quota}' is {limit} {unit}, with current utilization of {used} {unit} "
        f"and a request delta of {delta} {unit}. Please use AWS Service Quotas to request an increase for this "
        "quota. If AWS Service Quotas is not available, contact AWS support to request an increase for this quota. "
        "(sagestack: raise it with `sagestack emulator --max-instances-per-type/--max-endpoints`.)"
    )


class SageMakerBackend:
    def __init__(
        self,
        config: EmulatorConfig,
        store: StateStore,
        router: Router,
        artifacts: ArtifactStore,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.store = store
        self.router = router
        self.artifacts = artifacts
        self.channel_check: Callable[[dict[str, Any]], str | None] | None = None
        # SageMaker keeps times to the millisecond (what the wire carries), so a time read back from
        # a Describe* answer and passed to CreationTimeAfter/Before compares the way it does on AWS.
        self.clock = lambda: round(clock(), 3)
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            TRAINING_JOB: {}, MODEL: {}, ENDPOINT_CONFIG: {}, ENDPOINT: {}, TAGS: {}
        }
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sagemaker-endpoint")
        self.trainer: Any = None  # set by the app: training_runner.TrainingSupervisor
        self._closed = False
        self._closing = threading.Event()  # wakes workers waiting out a transition delay

    # --- persistence -------------------------------------------------------------------------

    def _save(self, kind: str, name: str) -> None:
        self.store.put(kind, name, self.records[kind][name])

    def _drop(self, kind: str, name: str) -> None:
        self.records[kind].pop(name, None)
        self.store.delete(kind, name)

    def recover(self) -> None:
        """Reload state after a start: finish interrupted transitions, bring endpoints back."""
        with self.lock:
            for kind in self.records:
                self.records[kind] = dict(self.store.load(kind))
            for name, job in self.records[TRAINING_JOB].items():
                if job.get("TrainingJobStatus") in ("InProgress", "Stopping"):
                    self._finish_training_locked(
                        name,
                        "Failed",
                        failure="InternalServerError: the SageMaker emulator stopped while this job was running; "
                        "create a new training job",
                    )
            endpoints = list(self.records[ENDPOINT].items())
        for name, endpoint in endpoints:
            status = endpoint.get("EndpointStatus")
            generation = endpoint.get("_generation", 0)
            if status == "Deleting":
                with self.lock:
                    self._remove_endpoint_locked(name)
            elif status == "InService":
                # Synchronously, before the server accepts requests: "serving again" means at once.
                self._serve_current(name, generation)
            elif status in IN_PROGRESS_ENDPOINT:
                self._submit(self._restore_endpoint, name, generation)

    def close(self) -> None:
        self._closed = True
        self._closing.set()
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _pause(self, seconds: float) -> bool:
        """Wait out a transition delay; False if the emulator is shutting down meanwhile."""
        if seconds > 0:
            self._closing.wait(seconds)
        return not self._closed

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if not self._closed:
            self._workers.submit(self._guarded, fn, *args)

    @staticmethod
    def _guarded(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a worker must never die silently: log it, the record says what happened
            log.exception("background task %s failed", getattr(fn, "__name__", fn))

    # --- names and ARNs ------------------------------------------------------------------------

    def arn(self, kind: str, name: str) -> str:
        return f"arn:{self.config.partition}:sagemaker:{self.config.region}:{self.config.account_id}:{kind}/{name.lower()}"

    def _not_found(self, kind: str, name: str) -> ValidationException:
        label = {MODEL: "model", ENDPOINT_CONFIG: "endpoint configuration", ENDPOINT: "endpoint"}[kind]
        return ValidationException(f'Could not find {label} "{self.arn(kind, name)}".')

    def _already_exists(self, kind: str, name: str) -> ValidationException:
        label = {MODEL: "model", ENDPOINT_CONFIG: "endpoint configuration", ENDPOINT: "endpoint"}[kind]
        return ValidationException(f'Cannot create already existing {label} "{self.arn(kind, name)}".')

    def _taken_locked(self, kind: str, name: str) -> bool:
        """Names are unique case-insensitively (the ARN, which lower-cases them, is the identity):
        "The name is case-insensitive in CreateEndpoint, but the case is preserved"."""
        if name in self.records[kind]:
            return True
        lowered = name.lower()
        return any(existing.lower() == lowered for existing in self.records[kind])

    def _get(self, kind: str, name: str) -> dict[str, Any]:
        record = self.records[kind].get(name)
        if record is None:
            if kind == TRAINING_JOB:
                raise ValidationException("Requested resource not found.")
            raise self._not_found(kind, name)
        return record

    # --- tags ------------------------------------------------------------------------------------

    def _set_tags_locked(self, arn: str, tags: list[dict[str, str]] | None) -> None:
        if not tags:
            return
        current = {t["Key"]: t["Value"] for t in self.records[TAGS].get(arn, {}).get("Tags", [])}
        for tag in tags:
            current[tag["Key"]] = tag.get("Value", "")
        if len(current) > 50:
            raise ValidationException(f"Resource {arn} would have {len(current)} tags; the limit is 50.")
        self.records[TAGS][arn] = {"Tags": [{"Key": k, "Value": v} for k, v in current.items()]}
        self._save(TAGS, arn)

    def _resource_for_arn(self, arn: str) -> None:
        prefix = f"arn:{self.config.partition}:sagemaker:{self.config.region}:{self.config.account_id}:"
        kind, _, name = arn[len(prefix):].partition("/") if arn.startswith(prefix) else ("", "", "")
        if kind in (TRAINING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT):
            if any(n.lower() == name for n in self.records[kind]):
                return
        raise ValidationException(f"Could not find resource with ARN {arn}; check the ARN (region {self.config.region}, account {self.config.account_id}).")

    def add_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._resource_for_arn(params["ResourceArn"])
            self._set_tags_locked(params["ResourceArn"], params["Tags"])
            return {"Tags": params["Tags"]}

    def delete_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._resource_for_arn(params["ResourceArn"])
            arn = params["ResourceArn"]
            keys = set(params["TagKeys"])
            tags = [t for t in self.records[TAGS].get(arn, {}).get("Tags", []) if t["Key"] not in keys]
            self.records[TAGS][arn] = {"Tags": tags}
            self._save(TAGS, arn)
            return {}

    def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._resource_for_arn(params["ResourceArn"])
            tags = list(self.records[TAGS].get(params["ResourceArn"], {}).get("Tags", []))
        page, token = _paginate(tags, params.get("NextToken"), params.get("MaxResults") or 50)
        return {"Tags": page, "NextToken": token}

    def _drop_tags_locked(self, arn: str) -> None:
        if arn in self.records[TAGS]:
            self._drop(TAGS, arn)

    # --- models ------------------------------------------------------------------------------------

    def create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        if not params.get("PrimaryContainer") and not params.get("Containers"):
            raise ValidationException("Either PrimaryContainer or Containers must be specified for a model.")
        if params.get("PrimaryContainer") and params.get("Containers"):
            raise ValidationException("Specify either PrimaryContainer or Containers for a model, not both.")
        with self.lock:
            if self._taken_locked(MODEL, name):
                raise self._already_exists(MODEL, name)
            record = {key: value for key, value in params.items() if key != "Tags"}
            # DescribeModel reports the defaults SageMaker applied.
            if record.get("PrimaryContainer"):
                record["PrimaryContainer"] = {"Mode": "SingleModel", "Environment": {}, **record["PrimaryContainer"]}
            if record.get("Containers"):
                record["Containers"] = [{"Mode": "SingleModel", "Environment": {}, **c} for c in record["Containers"]]
            record.setdefault("EnableNetworkIsolation", False)
            record["ModelArn"] = self.arn(MODEL, name)
            record["CreationTime"] = self.clock()
            self.records[MODEL][name] = record
            self._save(MODEL, name)
            self._set_tags_locked(record["ModelArn"], params.get("Tags"))
            return {"ModelArn": record["ModelArn"]}

    def describe_model(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return _public(self._get(MODEL, params["ModelName"]))

    def delete_model(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self._get(MODEL, params["ModelName"])
            self._drop(MODEL, params["ModelName"])
            self._drop_tags_locked(record["ModelArn"])
            return {}

    def list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        items = self._list(MODEL, "ModelName", params)
        page, token = _paginate(items, params.get("NextToken"), params.get("MaxResults") or DEFAULT_MAX_RESULTS)
        return {
            "Models": [{"ModelName": r["ModelName"], "ModelArn": r["ModelArn"], "CreationTime": r["CreationTime"]} for r in page],
            "NextToken": token,
        }

    # --- endpoint configs ------------------------------------------------------------------------

    def create_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        variants = params["ProductionVariants"]
        seen: set[str] = set()
        for variant in variants:
            variant_name = variant["VariantName"]
            if variant_name in seen:
                raise ValidationException(
                    f"The variant name(s) [{variant_name}] are duplicated in the endpoint configuration; "
                    "give every production variant a unique VariantName."
                )
            seen.add(variant_name)
            serverless = variant.get("ServerlessConfig")
            if not serverless and not (variant.get("InstanceType") and variant.get("InitialInstanceCount")):
                raise ValidationException(
                    f"Production variant {variant_name} needs InstanceType and InitialInstanceCount, or a ServerlessConfig."
                )
            memory = (serverless or {}).get("MemorySizeInMB")
            if memory is not None and memory not in SERVERLESS_MEMORY_SIZES:
                raise ValidationException(
                    f"Value '{memory}' at 'MemorySizeInMB' failed to satisfy constraint: Member must satisfy enum value "
                    f"set: {list(SERVERLESS_MEMORY_SIZES)}"
                )
            if serverless and variant.get("InstanceType"):
                raise ValidationException(
                    f"Production variant {variant_name} cannot have both InstanceType and ServerlessConfig."
                )
            if not variant.get("ModelName"):
                raise ValidationException(
                    f"Production variant {variant_name} has no ModelName; the emulator serves model-based variants only."
                )
        with self.lock:
            if self._taken_locked(ENDPOINT_CONFIG, name):
                raise self._already_exists(ENDPOINT_CONFIG, name)
            for variant in variants:
                if variant["ModelName"] not in self.records[MODEL]:
                    raise self._not_found(MODEL, variant["ModelName"])
            record = {key: value for key, value in params.items() if key != "Tags"}
            # SageMaker reports the default weight it applied.
            record["ProductionVariants"] = [{"InitialVariantWeight": 1.0, **v} for v in variants]
            record["EndpointConfigArn"] = self.arn(ENDPOINT_CONFIG, name)
            record["CreationTime"] = self.clock()
            self.records[ENDPOINT_CONFIG][name] = record
            self._save(ENDPOINT_CONFIG, name)
            self._set_tags_locked(record["EndpointConfigArn"], params.get("Tags"))
            return {"EndpointConfigArn": record["EndpointConfigArn"]}

    def describe_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return _public(self._get(ENDPOINT_CONFIG, params["EndpointConfigName"]))

    def delete_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self._get(ENDPOINT_CONFIG, params["EndpointConfigName"])
            self._drop(ENDPOINT_CONFIG, params["EndpointConfigName"])
            self._drop_tags_locked(record["EndpointConfigArn"])
            return {}

    def list_endpoint_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        items = self._list(ENDPOINT_CONFIG, "EndpointConfigName", params)
        page, token = _paginate(items, params.get("NextToken"), params.get("MaxResults") or DEFAULT_MAX_RESULTS)
        return {
            "EndpointConfigs": [
                {"EndpointConfigName": r["EndpointConfigName"], "EndpointConfigArn": r["EndpointConfigArn"], "CreationTime": r["CreationTime"]}
                for r in page
            ],
            "NextToken": token,
        }

    # --- endpoints ----------------------------------------------------------------------------------

    def _variant_specs_locked(self, config: dict[str, Any]) -> list[dict[str, Any]]:
        """Snapshot what each variant serves, so later model/config deletes don't affect the endpoint."""
        specs = []
        for variant in config["ProductionVariants"]:
            model = self.records[MODEL].get(variant["ModelName"])
            if model is None:
                raise self._not_found(MODEL, variant["ModelName"])
            containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else list(model.get("Containers") or [])
            specs.append(
                {
                    "VariantName": variant["VariantName"],
                    "ModelName": variant["ModelName"],
                    "Containers": containers,
                    "InitialVariantWeight": float(variant.get("InitialVariantWeight", 1.0)),
                    "InitialInstanceCount": variant.get("InitialInstanceCount"),
                    "InstanceType": variant.get("InstanceType"),
                    "ServerlessConfig": variant.get("ServerlessConfig"),
                }
            )
        return specs

    def _check_instance_quota_locked(self, specs: list[dict[str, Any]], exclude: str | None) -> None:
        limit = self.config.limits.max_instances_per_type
        requested: dict[str, int] = {}
        for spec in specs:
            if spec.get("InstanceType"):
                requested[spec["InstanceType"]] = requested.get(spec["InstanceType"], 0) + int(spec["InitialInstanceCount"] or 0)
        for instance_type, delta in requested.items():
            used = 0
            for name, endpoint in self.records[ENDPOINT].items():
                if name == exclude or endpoint.get("EndpointStatus") in ("Failed", "Deleting"):
                    continue
                for spec in endpoint.get("_variants", []):
                    if spec.get("InstanceType") == instance_type:
                        used += int(spec.get("InitialInstanceCount") or 0)
            if used + delta > limit:
                raise ResourceLimitExceeded(_quota_message(f"{instance_type} for endpoint usage", limit, used, delta, "Instances"))

    def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        with self.lock:
            if self._taken_locked(ENDPOINT, name):
                raise self._already_exists(ENDPOINT, name)
            config = self._get(ENDPOINT_CONFIG, config_name)
            specs = self._variant_specs_locked(config)
            live = sum(1 for e in self.records[ENDPOINT].values() if e.get("EndpointStatus") != "Deleting")
            if live + 1 > self.config.limits.max_endpoints:
                raise ResourceLimitExceeded(
                    _quota_message("Number of endpoints", self.config.limits.max_endpoints, live, 1, "Endpoints")
                )
            self._check_instance_quota_locked(specs, exclude=None)
            now = self.clock()
            record = {
                "EndpointName": name,
                "EndpointArn": self.arn(ENDPOINT, name),
                "EndpointConfigName": config_name,
                "EndpointStatus": "Creating",
                "CreationTime": now,
                "LastModifiedTime": now,
                "_variants": specs,
                "_generation": 1,
            }
            if params.get("DeploymentConfig"):
                record["LastDeploymentConfig"] = params["DeploymentConfig"]
            self.records[ENDPOINT][name] = record
            self._save(ENDPOINT, name)
            self._set_tags_locked(record["EndpointArn"], params.get("Tags"))
        self._submit(self._deploy, name, 1, "create")
        return {"EndpointArn": record["EndpointArn"]}

    def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return _public(self._get(ENDPOINT, params["EndpointName"]))

    def list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        items = self._list(ENDPOINT, "EndpointName", params, status_key="EndpointStatus")
        page, token = _paginate(items, params.get("NextToken"), params.get("MaxResults") or DEFAULT_MAX_RESULTS)
        return {
            "Endpoints": [
                {key: r.get(key) for key in ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")}
                for r in page
            ],
            "NextToken": token,
        }

    def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        with self.lock:
            endpoint = self._get(ENDPOINT, name)
            status = endpoint["EndpointStatus"]
            if status in IN_PROGRESS_ENDPOINT or status == "Deleting":
                raise ValidationException(f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".')
            if status == "Failed":
                raise ValidationException(
                    f'Cannot update failed endpoint "{endpoint["EndpointArn"]}". Delete it and create it again.'
                )
            config = self._get(ENDPOINT_CONFIG, config_name)
            specs = self._variant_specs_locked(config)
            if params.get("RetainAllVariantProperties"):
                excluded = {p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties") or []}
                current = {s["VariantName"]: s for s in endpoint.get("_variants", [])}
                for spec in specs:
                    old = current.get(spec["VariantName"])
                    if old and "DesiredWeight" not in excluded:
                        spec["InitialVariantWeight"] = old["InitialVariantWeight"]
                    if old and "DesiredInstanceCount" not in excluded and old.get("InitialInstanceCount"):
                        spec["InitialInstanceCount"] = old["InitialInstanceCount"]
            self._check_instance_quota_locked(specs, exclude=name)
            now = self.clock()
            endpoint["EndpointStatus"] = "Updating"
            endpoint["LastModifiedTime"] = now
            endpoint.pop("FailureReason", None)
            endpoint["_generation"] = endpoint.get("_generation", 0) + 1
            endpoint["_pending"] = {"EndpointConfigName": config_name, "Variants": specs, "StartTime": now}
            endpoint["PendingDeploymentSummary"] = _pending_summary(config_name, specs, now)
            if params.get("DeploymentConfig"):
                endpoint["LastDeploymentConfig"] = params["DeploymentConfig"]
            generation = endpoint["_generation"]
            self._save(ENDPOINT, name)
        self._submit(self._deploy, name, generation, "update")
        return {"EndpointArn": endpoint["EndpointArn"]}

    def update_endpoint_weights_and_capacities(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.lock:
            endpoint = self._get(ENDPOINT, name)
            if endpoint["EndpointStatus"] == "Failed":
                raise ValidationException(f'Cannot update failed endpoint "{endpoint["EndpointArn"]}".')
            if endpoint["EndpointStatus"] != "InService":
                raise ValidationException(f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".')
            specs = [dict(s) for s in endpoint.get("_variants", [])]
            by_name = {s["VariantName"]: s for s in specs}
            for desired in params["DesiredWeightsAndCapacities"]:
                spec = by_name.get(desired["VariantName"])
                if spec is None:
                    raise ValidationException(
                        f'The variant name(s) [{desired["VariantName"]}] is/are not present in endpoint '
                        f'"{endpoint["EndpointArn"]}".'
                    )
                if desired.get("DesiredWeight") is not None:
                    spec["InitialVariantWeight"] = float(desired["DesiredWeight"])
                if desired.get("DesiredInstanceCount") is not None:
                    spec["InitialInstanceCount"] = desired["DesiredInstanceCount"]
            self._check_instance_quota_locked(specs, exclude=name)
            now = self.clock()
            endpoint["EndpointStatus"] = "Updating"
            endpoint["LastModifiedTime"] = now
            endpoint["_generation"] = endpoint.get("_generation", 0) + 1
            endpoint["_pending"] = {"EndpointConfigName": endpoint["EndpointConfigName"], "Variants": specs, "StartTime": now}
            generation = endpoint["_generation"]
            self._save(ENDPOINT, name)
        self._submit(self._deploy, name, generation, "update")
        return {"EndpointArn": endpoint["EndpointArn"]}

    def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.lock:
            endpoint = self._get(ENDPOINT, name)
            status = endpoint["EndpointStatus"]
            if status in IN_PROGRESS_ENDPOINT:
                raise ValidationException(f'Cannot update in-progress endpoint "{endpoint["EndpointArn"]}".')
            if status == "Deleting":
                return {}
            self.router.withdraw(name)
            if self.config.transition_delay <= 0:
                self._remove_endpoint_locked(name)
                return {}
            endpoint["EndpointStatus"] = "Deleting"
            endpoint["LastModifiedTime"] = self.clock()
            endpoint["_generation"] = endpoint.get("_generation", 0) + 1
            generation = endpoint["_generation"]
            self._save(ENDPOINT, name)
        self._submit(self._finish_delete, name, generation)
        return {}

    def _remove_endpoint_locked(self, name: str) -> None:
        endpoint = self.records[ENDPOINT].get(name)
        self.router.withdraw(name)
        if endpoint is not None:
            self._drop(ENDPOINT, name)
            self._drop_tags_locked(endpoint["EndpointArn"])

    def _finish_delete(self, name: str, generation: int) -> None:
        if not self._pause(self.config.transition_delay):
            return  # Deleting is persisted: recover() finishes it at the next start
        with self.lock:
            endpoint = self.records[ENDPOINT].get(name)
            if endpoint is not None and endpoint.get("_generation") == generation:
                self._remove_endpoint_locked(name)

    # --- endpoint workers ----------------------------------------------------------------------------

    def _load_variants(self, specs: list[dict[str, Any]]) -> list[ServingVariant]:
        """Fetch and load every variant's model; raises ArtifactFetchError with a FailureReason."""
        loaded = []
        for spec in specs:
            containers = spec["Containers"]
            if len(containers) != 1:
                raise ArtifactFetchError(
                    f"Model {spec['ModelName']} has {len(containers)} containers; the SageMaker emulator serves "
                    "single-container Linear Learner models only."
                )
            container = containers[0]
            image = container.get("Image")
            if not is_linear_learner_image(image):
                raise ArtifactFetchError(
                    f"The image '{image}' of model {spec['ModelName']} cannot be served: {unsupported_image_reason(image)}"
                )
            url = container.get("ModelDataUrl")
            source = (container.get("ModelDataSource") or {}).get("S3DataSource")
            if not url and source:
                if source.get("S3DataType") != "S3Object" or source.get("CompressionType") != "Gzip":
                    raise ArtifactFetchError(
                        f"Model {spec['ModelName']}: ModelDataSource must point at a Gzip-compressed model.tar.gz "
                        "S3Object for the emulator; or use ModelDataUrl."
                    )
                url = source.get("S3Uri")
            if not url:
                raise ArtifactFetchError(
                    f"Model {spec['ModelName']} has no ModelDataUrl; Linear Learner needs the model.tar.gz its training job wrote."
                )
            sha256, model = self.artifacts.model_for(url, spec.get("_artifact_sha256"))
            spec["_artifact_sha256"] = sha256
            loaded.append(ServingVariant(spec["VariantName"], model, spec["InitialVariantWeight"]))
        return loaded

    def _variant_summaries(self, specs: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        summaries = []
        for spec in specs:
            image = spec["Containers"][0].get("Image") if spec["Containers"] else None
            summary: dict[str, Any] = {
                "VariantName": spec["VariantName"],
                "CurrentWeight": spec["InitialVariantWeight"],
                "DesiredWeight": spec["InitialVariantWeight"],
            }
            if image:
                summary["DeployedImages"] = [{"SpecifiedImage": image, "ResolvedImage": resolved_image(image), "ResolutionTime": now}]
            if spec.get("ServerlessConfig"):
                summary["CurrentServerlessConfig"] = spec["ServerlessConfig"]
                summary["DesiredServerlessConfig"] = spec["ServerlessConfig"]
            else:
                summary["CurrentInstanceCount"] = spec["InitialInstanceCount"]
                summary["DesiredInstanceCount"] = spec["InitialInstanceCount"]
            summaries.append(summary)
        return summaries

    def _deploy(self, name: str, generation: int, kind: str) -> None:
        """Creating/Updating -> InService: load models, then swap the route in one assignment."""
        started = time.monotonic()
        with self.lock:
            endpoint = self.records[ENDPOINT].get(name)
            if endpoint is None or endpoint.get("_generation") != generation:
                return
            specs = [dict(s) for s in (endpoint["_pending"]["Variants"] if kind == "update" else endpoint["_variants"])]
        failure = None
        try:
            loaded = self._load_variants(specs)
        except ArtifactFetchError as exc:
            failure = str(exc)
        except Exception as exc:  # never leave an endpoint stuck in Creating
            log.exception("loading models for endpoint %s failed", name)
            failure = f"Failed to load the model for the endpoint: {type(exc).__name__}: {exc}"
        # A deployment that fails (an image that cannot run, a bad artifact) is Creating for a while on AWS too.
        delay = max(self.config.transition_delay, MIN_FAILING_SECONDS if failure is not None else 0.0)
        if not self._pause(delay - (time.monotonic() - started)):
            return  # Creating/Updating is persisted: recover() resumes it at the next start
        with self.lock:
            endpoint = self.records[ENDPOINT].get(name)
            if endpoint is None or endpoint.get("_generation") != generation:
                return  # superseded (deleted or updated again) while we were loading
            now = self.clock()
            endpoint["LastModifiedTime"] = now
            if failure is None:
                self.router.publish(EndpointRoute(name, tuple(loaded)))
                endpoint["_variants"] = specs
                endpoint["EndpointStatus"] = "InService"
                endpoint["ProductionVariants"] = self._variant_summaries(specs, now)
                endpoint.pop("FailureReason", None)
                if kind == "update":
                    endpoint["EndpointConfigName"] = endpoint["_pending"]["EndpointConfigName"]
            elif kind == "update":
                # SageMaker rolls a failed update back: the old models keep serving.
                endpoint["EndpointStatus"] = "InService"
                endpoint["FailureReason"] = failure
            else:
                endpoint["EndpointStatus"] = "Failed"
                endpoint["FailureReason"] = failure
            endpoint.pop("_pending", None)
            endpoint.pop("PendingDeploymentSummary", None)
            self._save(ENDPOINT, name)

    def _restore_endpoint(self, name: str, generation: int) -> None:
        """After a restart: serve InService endpoints again; resume interrupted transitions."""
        with self.lock:
            endpoint = self.records[ENDPOINT].get(name)
            if endpoint is None:
                return
            status = endpoint["EndpointStatus"]
        if status == "Creating":
            self._deploy(name, generation, "create")
            return
        if status in IN_PROGRESS_ENDPOINT:
            with self.lock:
                if "_pending" not in endpoint:
                    endpoint["_pending"] = {"EndpointConfigName": endpoint["EndpointConfigName"], "Variants": endpoint["_variants"]}
            self._serve_current(name, generation)
            self._deploy(name, generation, "update")
            return
        self._serve_current(name, generation)

    def _serve_current(self, name: str, generation: int) -> None:
        with self.lock:
            endpoint = self.records[ENDPOINT].get(name)
            if endpoint is None:
                return
            specs = [dict(s) for s in endpoint.get("_variants", [])]
        try:
            loaded = self._load_variants(specs)
        except ArtifactFetchError as exc:
            with self.lock:
                endpoint = self.records[ENDPOINT].get(name)
                if endpoint is not None and endpoint.get("_generation") == generation:
                    endpoint["EndpointStatus"] = "Failed"
                    endpoint["FailureReason"] = f"The endpoint could not be restored after the emulator restarted: {exc}"
                    endpoint["LastModifiedTime"] = self.clock()
                    self._save(ENDPOINT, name)
            return
        with self.lock:
            endpoint = self.records[ENDPOINT].get(name)
            if endpoint is not None and endpoint.get("_generation") == generation:
                self.router.publish(EndpointRoute(name, tuple(loaded)))

    # --- training jobs -------------------------------------------------------------------------------

    def create_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        algorithm = params.get("AlgorithmSpecification")
        if not algorithm or not (algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")):
            raise ValidationException(
                "AlgorithmSpecification with a TrainingImage is required; for Linear Learner use "
                "'<account>.dkr.ecr.<region>.amazonaws.com/linear-learner:1'."
            )
        # Channel problems AWS refuses at the call (e.g. an empty S3 prefix in File mode): emulator.sagemaker.channels.
        problem = self.channel_check(params) if self.channel_check is not None else None
        if problem:
            raise ValidationException(problem)
        resources = params.get("ResourceConfig") or {}
        with self.lock:
            if self._taken_locked(TRAINING_JOB, name):
                raise ResourceInUse(
                    "Training job names must be unique within an AWS account and region, and a training job with "
                    f"this name already exists ({self.arn(TRAINING_JOB, name)})"
                )
            instance_type, count = resources.get("InstanceType"), int(resources.get("InstanceCount") or 0)
            if instance_type and count:
                limit = self.config.limits.max_instances_per_type
                used = sum(
                    int(j.get("ResourceConfig", {}).get("InstanceCount") or 0)
                    for j in self.records[TRAINING_JOB].values()
                    if j.get("TrainingJobStatus") in ("InProgress", "Stopping")
                    and j.get("ResourceConfig", {}).get("InstanceType") == instance_type
                )
                if used + count > limit:
                    raise ResourceLimitExceeded(
                        _quota_message(f"{instance_type} for training job usage", limit, used, count, "Instances")
                    )
            now = self.clock()
            output_path = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            record = {key: value for key, value in params.items() if key != "Tags"}
            # DescribeTrainingJob reports the defaults SageMaker applied.
            for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
                record.setdefault(flag, False)
            record.update(
                {
                    "TrainingJobArn": self.arn(TRAINING_JOB, name),
                    "TrainingJobStatus": "InProgress",
                    "SecondaryStatus": "Starting",
                    "CreationTime": now,
                    "LastModifiedTime": now,
                    "ModelArtifacts": {"S3ModelArtifacts": f"{output_path}/{name}/output/model.tar.gz"},
                    "SecondaryStatusTransitions": [
                        {"Status": "Starting", "StartTime": now, "StatusMessage": "Preparing the instances for training"}
                    ],
                    "StoppingCondition": params.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
                }
            )
            self.records[TRAINING_JOB][name] = record
            self._save(TRAINING_JOB, name)
            self._set_tags_locked(record["TrainingJobArn"], params.get("Tags"))
        image = algorithm.get("TrainingImage")
        if not is_linear_learner_image(image):
            with self.lock:
                self._finish_training_locked(name, "Failed", failure=unsupported_image_reason(image or algorithm.get("AlgorithmName")))
        elif self.trainer is not None:
            self.trainer.start(name, dict(record))
        return {"TrainingJobArn": record["TrainingJobArn"]}

    def describe_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return _public(self._get(TRAINING_JOB, params["TrainingJobName"]))

    def list_training_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("StatusEquals")
        if status and params.get("MaxResults"):
            # Documented quirk: with both set, SageMaker takes MaxResults jobs ignoring StatusEquals,
            # then filters that page by status (NextToken continues over all jobs).
            # The note documents this selection "from the most current to the oldest".
            order = params.get("SortOrder") or "Descending"
            items = self._list(TRAINING_JOB, "TrainingJobName", {**params, "StatusEquals": None, "SortOrder": order},
                               status_key="TrainingJobStatus")
            page, token = _paginate(items, params.get("NextToken"), params["MaxResults"])
            page = [r for r in page if r.get("TrainingJobStatus") == status]
        else:
            items = self._list(TRAINING_JOB, "TrainingJobName", params, status_key="TrainingJobStatus")
            page, token = _paginate(items, params.get("NextToken"), params.get("MaxResults") or DEFAULT_MAX_RESULTS)
        keys = ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus")
        return {"TrainingJobSummaries": [{k: r.get(k) for k in keys} for r in page], "NextToken": token}

    def stop_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        with self.lock:
            job = self._get(TRAINING_JOB, name)
            status = job["TrainingJobStatus"]
            if status in ("Completed", "Failed", "Stopped"):
                # SageMaker's words (only InProgress jobs can be stopped).
                raise ValidationException(f"The request was rejected because the training job is in status {status}.")
            if status == "Stopping":
                return {}
            self.training_progress(name, {"status": "Stopping", "secondary": "Stopping", "message": "Stopping the training job"})
        if self.trainer is not None:
            self.trainer.stop(name)
        return {}

    def training_progress(self, name: str, event: dict[str, Any]) -> None:
        """Apply a progress event from the training supervisor (secondary status, final result)."""
        with self.lock:
            job = self.records[TRAINING_JOB].get(name)
            if job is None or job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                return
            if event.get("final"):
                self._finish_training_locked(
                    name,
                    event["status"],
                    failure=event.get("failure"),
                    metrics=event.get("metrics"),
                    secondary=event.get("secondary"),
                )
                return
            now = self.clock()
            if event.get("status"):
                job["TrainingJobStatus"] = event["status"]
            if event.get("started") and "TrainingStartTime" not in job:
                job["TrainingStartTime"] = now
            secondary = event.get("secondary")
            if secondary and secondary != job["SecondaryStatus"]:
                _transition(job, secondary, event.get("message", ""), now)
            job["LastModifiedTime"] = now
            self._save(TRAINING_JOB, name)

    def _finish_training_locked(
        self,
        name: str,
        status: str,
        *,
        failure: str | None = None,
        metrics: dict[str, float] | None = None,
        secondary: str | None = None,
    ) -> None:
        job = self.records[TRAINING_JOB][name]
        now = self.clock()
        secondary = secondary or status
        message = {
            "Completed": "Training job completed",
            "Failed": f"Training job failed. {failure or ''}".strip(),
            "Stopped": "The job was stopped." if secondary == "Stopped" else "The job exceeded its MaxRuntimeInSeconds and was stopped.",
        }.get(status, status)
        job["TrainingJobStatus"] = status
        _transition(job, secondary, message, now)
        job["LastModifiedTime"] = now
        job["TrainingEndTime"] = now
        job.setdefault("TrainingStartTime", job["CreationTime"])
        seconds = max(1, int(round(now - job["TrainingStartTime"])))
        job["TrainingTimeInSeconds"] = seconds
        job["BillableTimeInSeconds"] = seconds
        if failure:
            job["FailureReason"] = failure[:1024]
        if metrics:
            job["FinalMetricDataList"] = [
                {"MetricName": metric, "Value": float(value), "Timestamp": now}
                for metric, value in sorted(metrics.items())
                if isinstance(value, (int, float)) and value == value and abs(value) != float("inf")
            ]
        self._save(TRAINING_JOB, name)

    # --- listing helpers ------------------------------------------------------------------------------

    def _list(self, kind: str, name_key: str, params: dict[str, Any], status_key: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = [dict(r) for r in self.records[kind].values()]
        contains = (params.get("NameContains") or "").lower()
        if contains:
            items = [r for r in items if contains in r[name_key].lower()]
        if status_key and params.get("StatusEquals"):
            items = [r for r in items if r.get(status_key) == params["StatusEquals"]]
        # The reference: CreationTimeAfter is "greater than or equal to" for endpoints, models and
        # endpoint configs, but "created after" for training jobs.
        inclusive_after = kind != TRAINING_JOB
        for field, key, after in (
            ("CreationTimeAfter", "CreationTime", True),
            ("CreationTimeBefore", "CreationTime", False),
            ("LastModifiedTimeAfter", "LastModifiedTime", True),
            ("LastModifiedTimeBefore", "LastModifiedTime", False),
        ):
            if params.get(field) is not None:
                bound = parse_timestamp(params[field])
                if after and inclusive_after and key == "CreationTime":
                    items = [r for r in items if key in r and r[key] >= bound]
                else:
                    items = [r for r in items if key in r and ((r[key] > bound) if after else (r[key] < bound))]
        sort_by = params.get("SortBy") or "CreationTime"
        sort_key = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key or name_key}[sort_by]
        order = params.get("SortOrder") or documented_default(LIST_OPERATIONS[kind], "SortOrder") or "Descending"
        items.sort(key=lambda r: (r.get(sort_key) or "", r[name_key]), reverse=order == "Descending")
        return items


def _transition(job: dict[str, Any], status: str, message: str, now: float) -> None:
    transitions = job.setdefault("SecondaryStatusTransitions", [])
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    entry = {"Status": status, "StartTime": now, "StatusMessage": message}
    if status in ("Completed", "Failed", "Stopped", "MaxRuntimeExceeded"):
        entry["EndTime"] = now
    transitions.append(entry)
    job["SecondaryStatus"] = status


def _pending_summary(config_name: str, specs: list[dict[str, Any]], now: float) -> dict[str, Any]:
    variants = []
    for spec in specs:
        variant: dict[str, Any] = {
            "VariantName": spec["VariantName"],
            "DesiredWeight": spec["InitialVariantWeight"],
            "VariantStatus": [{"Status": "Creating", "StartTime": now}],
        }
        if spec.get("InstanceType"):
            variant["InstanceType"] = spec["InstanceType"]
            variant["DesiredInstanceCount"] = spec["InitialInstanceCount"]
        variants.append(variant)
    return {"EndpointConfigName": config_name, "ProductionVariants": variants, "StartTime": now}


def _paginate(items: list[Any], token: str | None, max_results: int) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
            if start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
            raise ValidationException(f"Invalid pagination token {token!r}; pass the NextToken of a previous response.") from None
    end = start + max_results
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], next_token
