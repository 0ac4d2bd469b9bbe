"""Models and endpoint configurations: validated, stored, described, listed, deleted.

Neither has a lifecycle (they exist or not), so this module is only the checks SageMaker
makes at creation and the defaults DescribeModel / DescribeEndpointConfig report.
An endpoint snapshots what it serves from them (`endpoints.py`), so deleting either later
does not change a running endpoint.
"""

from __future__ import annotations

from typing import Any

from emulator.sagemaker import listing
from emulator.sagemaker.context import Context
from emulator.sagemaker.errors import ValidationException
from emulator.sagemaker.records import ENDPOINT_CONFIG, MODEL, EndpointConfigRecord, ModelRecord
from emulator.sagemaker.tags import TagService

_NOT_SPEC = ("Tags",)
# ProductionVariantServerlessConfig.MemorySizeInMB: "Valid values are in 1 GB increments" (service model docs).
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


class ModelService:
    def __init__(self, ctx: Context, tags: TagService):
        self.ctx = ctx
        self.tables = ctx.tables
        self.tags = tags

    # --- models ------------------------------------------------------------------------------

    def create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        if not params.get("PrimaryContainer") and not params.get("Containers"):
            raise ValidationException("Either PrimaryContainer or Containers must be specified for a model.")
        if params.get("PrimaryContainer") and params.get("Containers"):
            raise ValidationException("Specify either PrimaryContainer or Containers for a model, not both.")
        spec = {key: value for key, value in params.items() if key not in _NOT_SPEC and key != "ModelName"}
        # DescribeModel reports the defaults SageMaker applied.
        if spec.get("PrimaryContainer"):
            spec["PrimaryContainer"] = {"Mode": "SingleModel", "Environment": {}, **spec["PrimaryContainer"]}
        if spec.get("Containers"):
            spec["Containers"] = [{"Mode": "SingleModel", "Environment": {}, **c} for c in spec["Containers"]]
        spec.setdefault("EnableNetworkIsolation", False)
        with self.tables.lock:
            if self.tables.taken(MODEL, name):
                raise self.ctx.already_exists(MODEL, name)
            record = ModelRecord(name, self.ctx.arn(MODEL, name), self.ctx.clock(), spec)
            tags = self.tags.merged(record.arn, params.get("Tags"))
            self.tables.commit(put=[record, *([tags] if tags else [])])
        return {"ModelArn": record.arn}

    def get_model(self, name: str) -> ModelRecord:
        record = self.tables.models.get(name)
        if record is None:
            raise self.ctx.not_found(MODEL, name)
        return record

    def describe_model(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            return self.get_model(params["ModelName"]).describe()

    def delete_model(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            record = self.get_model(params["ModelName"])
            self.tables.commit(delete=[record, *self.tags.of(record.arn)])
        return {}

    def list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            docs = [r.summary() for r in self.tables.models.values()]
        page, token = listing.page(listing.select(docs, "ModelName", params, operation="ListModels"), params)
        return {"Models": page, "NextToken": token}

    # --- endpoint configs ----------------------------------------------------------------------

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
        spec = {key: value for key, value in params.items() if key not in _NOT_SPEC and key != "EndpointConfigName"}
        # SageMaker reports the default weight it applied.
        spec["ProductionVariants"] = [{"InitialVariantWeight": 1.0, **v} for v in variants]
        with self.tables.lock:
            if self.tables.taken(ENDPOINT_CONFIG, name):
                raise self.ctx.already_exists(ENDPOINT_CONFIG, name)
            for variant in variants:
                if variant["ModelName"] not in self.tables.models:
                    raise self.ctx.not_found(MODEL, variant["ModelName"])
            record = EndpointConfigRecord(name, self.ctx.arn(ENDPOINT_CONFIG, name), self.ctx.clock(), spec)
            tags = self.tags.merged(record.arn, params.get("Tags"))
            self.tables.commit(put=[record, *([tags] if tags else [])])
        return {"EndpointConfigArn": record.arn}

    def get_endpoint_config(self, name: str) -> EndpointConfigRecord:
        record = self.tables.endpoint_configs.get(name)
        if record is None:
            raise self.ctx.not_found(ENDPOINT_CONFIG, name)
        return record

    def describe_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            return self.get_endpoint_config(params["EndpointConfigName"]).describe()

    def delete_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            record = self.get_endpoint_config(params["EndpointConfigName"])
            self.tables.commit(delete=[record, *self.tags.of(record.arn)])
        return {}

    def list_endpoint_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            docs = [r.summary() for r in self.tables.endpoint_configs.values()]
        page, token = listing.page(listing.select(docs, "EndpointConfigName", params, operation="ListEndpointConfigs"), params)
        return {"EndpointConfigs": page, "NextToken": token}
