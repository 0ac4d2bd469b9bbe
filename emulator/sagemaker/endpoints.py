"""Endpoints: the requests (create, update, delete, describe, list) and the work each one starts.

Statuses move only through `endpoint_states.next_status` (the lifecycle table lives there).
Loading models runs on a worker thread: fetch the artifact, load it, then — in one commit —
record the new status and publish the route, so a client that sees InService can invoke.
A generation counter on each endpoint makes a late worker for a superseded request drop its
result instead of racing.

Durability: every change is committed (SQLite first, then memory) through `Tables`; a request
whose write fails answers InternalFailure with nothing changed. A worker whose final write
fails retries until the disk takes it (`Tables.commit_eventually`); if the emulator stops
first, the persisted in-progress status is resumed by `recover()` at the next start.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable

from emulator.sagemaker import endpoint_states as states
from emulator.sagemaker import listing
from emulator.sagemaker.artifacts import ArtifactFetchError, ArtifactStore
from emulator.sagemaker.context import Context, quota_message
from emulator.sagemaker.errors import InternalFailure, ResourceLimitExceeded, ValidationException
from emulator.sagemaker.images import (
    LINEAR_LEARNER,
    XGBOOST,
    algorithm_for_image,
    is_supported_image,
    resolved_image,
    unsupported_image_reason,
)
from emulator.sagemaker.models import ModelService
from emulator.sagemaker.records import ENDPOINT, MODEL, EndpointConfigRecord, EndpointRecord, PendingDeployment, VariantSpec
from emulator.sagemaker.serving import EndpointRoute, Router, ServingVariant
from emulator.sagemaker.tags import TagService
from training.xgboost.artifact import XGBoostModel

log = logging.getLogger("sagestack.sagemaker")

MIN_FAILING_SECONDS = 1.0  # a deployment that fails (an image that cannot run, a bad artifact) is Creating a while on AWS too


def _algorithm_mismatch(image: str | None, model: object) -> str | None:
    """Why the image's container cannot serve this model (None when it can): an XGBoost image given a Linear
    Learner artifact, or the other way round."""
    algorithm = algorithm_for_image(image)
    if algorithm is None:
        return None
    if algorithm.name == XGBOOST and not isinstance(model, XGBoostModel):
        return ("the sagemaker-xgboost container found no XGBoost model in model.tar.gz: it holds a Linear Learner "
                "model (model_algo-1); serve it with the linear-learner image, or use the artifact of an XGBoost training job")
    if algorithm.name == LINEAR_LEARNER and isinstance(model, XGBoostModel):
        return ("the linear-learner container found no model_algo-1 in model.tar.gz: it holds an XGBoost model "
                "(xgboost-model); serve it with the sagemaker-xgboost image, or use the artifact of a Linear Learner training job")
    return None


class EndpointService:
    def __init__(self, ctx: Context, tags: TagService, models: ModelService, router: Router, artifacts: ArtifactStore):
        self.ctx = ctx
        self.tables = ctx.tables
        self.tags = tags
        self.models = models
        self.router = router
        self.artifacts = artifacts
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sagemaker-endpoint")
        self._closed = False

    # --- worker plumbing -----------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _pause(self, seconds: float) -> bool:
        """Wait out a transition delay; False if the emulator is shutting down meanwhile."""
        if seconds > 0:
            self.tables.closing.wait(seconds)
        return not self._closed and not self.tables.closing.is_set()

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if not self._closed:
            self._workers.submit(_guarded, fn, *args)

    # --- requests ------------------------------------------------------------------------------

    def get(self, name: str) -> EndpointRecord:
        record = self.tables.endpoints.get(name)
        if record is None:
            raise self.ctx.not_found(ENDPOINT, name)
        return record

    def _variant_specs(self, config: EndpointConfigRecord) -> list[VariantSpec]:
        """Snapshot what each variant serves, so later model/config deletes don't affect the endpoint."""
        specs = []
        for variant in config.variants:
            model = self.tables.models.get(variant["ModelName"])
            if model is None:
                raise self.ctx.not_found(MODEL, variant["ModelName"])
            count = variant.get("InitialInstanceCount")
            specs.append(
                VariantSpec(
                    name=variant["VariantName"],
                    model_name=variant["ModelName"],
                    containers=tuple(model.containers),
                    weight=float(variant.get("InitialVariantWeight", 1.0)),
                    instance_count=int(count) if count is not None else None,
                    instance_type=variant.get("InstanceType"),
                    serverless=variant.get("ServerlessConfig"),
                )
            )
        return specs

    def _check_instance_quota(self, specs: list[VariantSpec], exclude: str | None) -> None:
        limit = self.ctx.config.limits.max_instances_per_type
        requested: dict[str, int] = {}
        for spec in specs:
            if spec.instance_type:
                requested[spec.instance_type] = requested.get(spec.instance_type, 0) + (spec.instance_count or 0)
        for instance_type, delta in requested.items():
            used = sum(
                spec.instance_count or 0
                for name, endpoint in self.tables.endpoints.items()
                if name != exclude and endpoint.status in states.HOLDS_INSTANCES
                for spec in endpoint.variants
                if spec.instance_type == instance_type
            )
            if used + delta > limit:
                raise ResourceLimitExceeded(quota_message(f"{instance_type} for endpoint usage", limit, used, delta, "Instances"))

    def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        limit = self.ctx.config.limits.max_endpoints
        with self.tables.lock:
            if self.tables.taken(ENDPOINT, name):
                raise self.ctx.already_exists(ENDPOINT, name)
            specs = self._variant_specs(self.models.get_endpoint_config(config_name))
            live = sum(1 for e in self.tables.endpoints.values() if e.status != states.DELETING)
            if live + 1 > limit:
                raise ResourceLimitExceeded(quota_message("Number of endpoints", limit, live, 1, "Endpoints"))
            self._check_instance_quota(specs, exclude=None)
            now = self.ctx.clock()
            record = EndpointRecord(
                name=name,
                arn=self.ctx.arn(ENDPOINT, name),
                config_name=config_name,
                status=states.next_status(states.CREATE, None),  # type: ignore[arg-type]
                created=now,
                modified=now,
                deployment_config=params.get("DeploymentConfig"),
                variants=tuple(specs),
                generation=1,
            )
            tags = self.tags.merged(record.arn, params.get("Tags"))
            self.tables.commit(put=[record, *([tags] if tags else [])])
        self._submit(self._deploy, name, record.generation, "create")
        return {"EndpointArn": record.arn}

    def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            return self.get(params["EndpointName"]).describe()

    def list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            docs = [r.summary() for r in self.tables.endpoints.values()]
        page, token = listing.page(listing.select(docs, "EndpointName", params, status_key="EndpointStatus", operation="ListEndpoints"), params)
        return {"Endpoints": page, "NextToken": token}

    def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name, config_name = params["EndpointName"], params["EndpointConfigName"]
        with self.tables.lock:
            endpoint = self.get(name)
            status = states.next_status(states.UPDATE, endpoint.status, endpoint.arn)
            specs = self._variant_specs(self.models.get_endpoint_config(config_name))
            if params.get("RetainAllVariantProperties"):
                excluded = {p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties") or []}
                current = {s.name: s for s in endpoint.variants}
                for index, spec in enumerate(specs):
                    old = current.get(spec.name)
                    if old and "DesiredWeight" not in excluded:
                        spec = replace(spec, weight=old.weight)
                    if old and "DesiredInstanceCount" not in excluded and old.instance_count:
                        spec = replace(spec, instance_count=old.instance_count)
                    specs[index] = spec
            self._check_instance_quota(specs, exclude=name)
            now = self.ctx.clock()
            updated = replace(
                endpoint,
                status=status,
                modified=now,
                failure=None,
                generation=endpoint.generation + 1,
                pending=PendingDeployment(config_name, tuple(specs), now),
                pending_summary=_pending_summary(config_name, specs, now),
                deployment_config=params.get("DeploymentConfig") or endpoint.deployment_config,
            )
            self.tables.commit(put=[updated])
        self._submit(self._deploy, name, updated.generation, "update")
        return {"EndpointArn": updated.arn}

    def update_endpoint_weights_and_capacities(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.tables.lock:
            endpoint = self.get(name)
            status = states.next_status(states.UPDATE_WEIGHTS, endpoint.status, endpoint.arn)
            by_name = {s.name: s for s in endpoint.variants}
            for desired in params["DesiredWeightsAndCapacities"]:
                spec = by_name.get(desired["VariantName"])
                if spec is None:
                    raise ValidationException(
                        f'The variant name(s) [{desired["VariantName"]}] is/are not present in endpoint "{endpoint.arn}".'
                    )
                if desired.get("DesiredWeight") is not None:
                    spec = replace(spec, weight=float(desired["DesiredWeight"]))
                if desired.get("DesiredInstanceCount") is not None:
                    spec = replace(spec, instance_count=int(desired["DesiredInstanceCount"]))
                by_name[spec.name] = spec
            specs = [by_name[s.name] for s in endpoint.variants]
            self._check_instance_quota(specs, exclude=name)
            now = self.ctx.clock()
            updated = replace(
                endpoint,
                status=status,
                modified=now,
                generation=endpoint.generation + 1,
                pending=PendingDeployment(endpoint.config_name, tuple(specs), now),
            )
            self.tables.commit(put=[updated])
        self._submit(self._deploy, name, updated.generation, "update")
        return {"EndpointArn": updated.arn}

    def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.tables.lock:
            endpoint = self.get(name)
            status = states.next_status(states.DELETE, endpoint.status, endpoint.arn)
            if status == endpoint.status:
                return {}  # already Deleting
            if self.ctx.config.transition_delay <= 0:
                # Deleting and gone in one step: nothing to wait for.
                self.tables.commit(delete=[endpoint, *self.tags.of(endpoint.arn)])
                self.router.withdraw(name)
                return {}
            deleting = replace(endpoint, status=status, modified=self.ctx.clock(), generation=endpoint.generation + 1)
            self.tables.commit(put=[deleting])
            self.router.withdraw(name)
        self._submit(self._finish_delete, name, deleting.generation)
        return {}

    # --- the work behind the transitions ---------------------------------------------------------

    def _finish_delete(self, name: str, generation: int) -> None:
        if not self._pause(self.ctx.config.transition_delay):
            return  # Deleting is persisted: recover() finishes it at the next start
        self._remove(name, generation)

    def _remove(self, name: str, generation: int | None) -> bool:
        def change() -> tuple[list[Any], list[Any]] | None:
            endpoint = self.tables.endpoints.get(name)
            if endpoint is None or (generation is not None and endpoint.generation != generation):
                return None
            states.next_status(states.DELETED, endpoint.status, endpoint.arn)
            return [], [endpoint, *self.tags.of(endpoint.arn)]

        return self.tables.commit_eventually(change, f"deleting endpoint {name}", on_commit=lambda: self.router.withdraw(name))

    def _load_variants(self, specs: tuple[VariantSpec, ...]) -> tuple[list[ServingVariant], tuple[VariantSpec, ...]]:
        """Fetch and load every variant's model; raises ArtifactFetchError with a FailureReason.
        Returns the loaded variants and the specs with their artifacts' hashes recorded."""
        loaded, recorded = [], []
        for spec in specs:
            if len(spec.containers) != 1:
                raise ArtifactFetchError(
                    f"Model {spec.model_name} has {len(spec.containers)} containers; the SageMaker emulator serves "
                    "single-container Linear Learner models only."
                )
            container = spec.containers[0]
            image = container.get("Image")
            if not is_supported_image(image):
                raise ArtifactFetchError(
                    f"The image '{image}' of model {spec.model_name} cannot be served: {unsupported_image_reason(image)}"
                )
            url = container.get("ModelDataUrl")
            source = (container.get("ModelDataSource") or {}).get("S3DataSource")
            if not url and source:
                if source.get("S3DataType") != "S3Object" or source.get("CompressionType") != "Gzip":
                    raise ArtifactFetchError(
                        f"Model {spec.model_name}: ModelDataSource must point at a Gzip-compressed model.tar.gz "
                        "S3Object for the emulator; or use ModelDataUrl."
                    )
                url = source.get("S3Uri")
            if not url:
                raise ArtifactFetchError(
                    f"Model {spec.model_name} has no ModelDataUrl; Linear Learner needs the model.tar.gz its training job wrote."
                )
            sha256, model = self.artifacts.model_for(url, spec.artifact_sha256)
            mismatch = _algorithm_mismatch(image, model)
            if mismatch:
                # AWS starts the image's container on the artifact; it cannot load the other algorithm's
                # model, never answers /ping, and the endpoint fails with this reason
                raise ArtifactFetchError(
                    f"The primary container for production variant {spec.name} did not pass the ping health check. "
                    f"Please check CloudWatch logs for this endpoint. ({mismatch})"
                )
            recorded.append(replace(spec, artifact_sha256=sha256))
            loaded.append(ServingVariant(spec.name, model, spec.weight))
        return loaded, tuple(recorded)

    def _deploy(self, name: str, generation: int, kind: str) -> None:
        """Creating/Updating -> InService: load models, then commit the status and swap the route together."""
        started = time.monotonic()
        with self.tables.lock:
            endpoint = self.tables.endpoints.get(name)
            if endpoint is None or endpoint.generation != generation:
                return
            specs = endpoint.pending.variants if kind == "update" and endpoint.pending else endpoint.variants
        failure = None
        loaded: list[ServingVariant] = []
        try:
            loaded, specs = self._load_variants(specs)
        except ArtifactFetchError as exc:
            failure = str(exc)
        except Exception as exc:  # never leave an endpoint stuck in Creating
            log.exception("loading models for endpoint %s failed", name)
            failure = f"Failed to load the model for the endpoint: {type(exc).__name__}: {exc}"
        delay = max(self.ctx.config.transition_delay, MIN_FAILING_SECONDS if failure is not None else 0.0)
        if not self._pause(delay - (time.monotonic() - started)):
            return  # Creating/Updating is persisted: recover() resumes it at the next start

        def change() -> tuple[list[Any], list[Any]] | None:
            endpoint = self.tables.endpoints.get(name)
            if endpoint is None or endpoint.generation != generation:
                return None  # superseded (deleted or updated again) while we were loading
            event = states.DEPLOYED if failure is None else states.DEPLOY_FAILED
            if not states.allowed(event, endpoint.status):
                return None
            now = self.ctx.clock()
            done = replace(endpoint, status=states.next_status(event, endpoint.status), modified=now,
                           pending=None, pending_summary=None)
            if failure is None:
                config_name = endpoint.pending.config_name if kind == "update" and endpoint.pending else endpoint.config_name
                done = replace(done, variants=specs, production_variants=tuple(_variant_summaries(specs, now)),
                               failure=None, config_name=config_name)
            else:
                # A failed create is Failed; a failed update rolls back: the old models keep serving.
                done = replace(done, failure=failure)
            return [done], []

        def publish() -> None:
            if failure is None:
                self.router.publish(EndpointRoute(name, tuple(loaded)))

        self.tables.commit_eventually(change, f"endpoint {name}", on_commit=publish)

    def _serve_current(self, name: str, generation: int) -> None:
        """After a restart: load what the endpoint served and publish it (Failed if it cannot be loaded)."""
        with self.tables.lock:
            endpoint = self.tables.endpoints.get(name)
            if endpoint is None:
                return
            specs = endpoint.variants
        try:
            loaded, _ = self._load_variants(specs)
        except ArtifactFetchError as exc:
            reason = f"The endpoint could not be restored after the emulator restarted: {exc}"

            def change() -> tuple[list[Any], list[Any]] | None:
                current = self.tables.endpoints.get(name)
                if current is None or current.generation != generation or not states.allowed(states.RESTORE_FAILED, current.status):
                    return None
                failed = replace(current, status=states.next_status(states.RESTORE_FAILED, current.status),
                                 failure=reason, modified=self.ctx.clock())
                return [failed], []

            self.tables.commit_eventually(change, f"endpoint {name}")
            return
        with self.tables.lock:
            current = self.tables.endpoints.get(name)
            if current is not None and current.generation == generation:
                self.router.publish(EndpointRoute(name, tuple(loaded)))

    def _restore(self, name: str, generation: int) -> None:
        """After a restart: resume an interrupted Creating or Updating."""
        with self.tables.lock:
            endpoint = self.tables.endpoints.get(name)
            if endpoint is None:
                return
            status = endpoint.status
        if status == states.CREATING:
            self._deploy(name, generation, "create")
            return
        self._serve_current(name, generation)
        self._deploy(name, generation, "update")

    def recover(self) -> None:
        """After the tables are loaded: finish deletes, serve InService endpoints, resume transitions."""
        with self.tables.lock:
            endpoints = list(self.tables.endpoints.values())
        for endpoint in endpoints:
            if endpoint.status == states.DELETING:
                with self.tables.lock:
                    try:
                        self.tables.commit(delete=[endpoint, *self.tags.of(endpoint.arn)])
                    except InternalFailure as failure:
                        log.error("endpoint %s stays Deleting until the next start: %s", endpoint.name, failure.message)
            elif endpoint.status == states.IN_SERVICE:
                # Synchronously, before the server accepts requests: "serving again" means at once.
                self._serve_current(endpoint.name, endpoint.generation)
            elif endpoint.status in states.IN_PROGRESS:
                self._submit(self._restore, endpoint.name, endpoint.generation)


def _guarded(fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # a worker must never die silently: log it, the record says what happened
        log.exception("background task %s failed", getattr(fn, "__name__", fn))


def _variant_summaries(specs: tuple[VariantSpec, ...], now: float) -> list[dict[str, Any]]:
    """DescribeEndpoint's ProductionVariants once the variants serve."""
    summaries = []
    for spec in specs:
        summary: dict[str, Any] = {"VariantName": spec.name, "CurrentWeight": spec.weight, "DesiredWeight": spec.weight}
        if spec.image:
            summary["DeployedImages"] = [{"SpecifiedImage": spec.image, "ResolvedImage": resolved_image(spec.image), "ResolutionTime": now}]
        if spec.serverless:
            summary["CurrentServerlessConfig"] = dict(spec.serverless)
            summary["DesiredServerlessConfig"] = dict(spec.serverless)
        else:
            summary["CurrentInstanceCount"] = spec.instance_count
            summary["DesiredInstanceCount"] = spec.instance_count
        summaries.append(summary)
    return summaries


def _pending_summary(config_name: str, specs: list[VariantSpec], now: float) -> dict[str, Any]:
    """DescribeEndpoint's PendingDeploymentSummary while an UpdateEndpoint loads."""
    variants = []
    for spec in specs:
        variant: dict[str, Any] = {
            "VariantName": spec.name,
            "DesiredWeight": spec.weight,
            "VariantStatus": [{"Status": "Creating", "StartTime": now}],
        }
        if spec.instance_type:
            variant["InstanceType"] = spec.instance_type
            variant["DesiredInstanceCount"] = spec.instance_count
        variants.append(variant)
    return {"EndpointConfigName": config_name, "ProductionVariants": variants, "StartTime": now}
