"""The endpoint config: one variant of the model on the configured instances (named by its inputs' hash)."""

from __future__ import annotations

from typing import Any

from deploy.config import TAG_INPUTS
from deploy.resources.base import Context, Unit, deleted, gone_or_deleted, or_none, tags_kv
from deploy.resources.model import stack_resources


class EndpointConfig(Unit):
    kind = "endpoint-config"
    service = "sagemaker"

    def name(self, ctx: Context) -> str:
        return ctx.names.endpoint_config(ctx.desired().config_hash)

    def existing(self, ctx: Context) -> Any:
        return or_none(lambda: ctx.client("sagemaker").describe_endpoint_config(EndpointConfigName=self.name(ctx)))

    def create(self, ctx: Context, want: Any) -> Any:
        name = self.name(ctx)
        ctx.client("sagemaker").create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": ctx.refs["model_name"],
                    "InitialInstanceCount": ctx.config.endpoint_instance_count,
                    "InstanceType": ctx.config.endpoint_instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
            Tags=tags_kv({**ctx.tags, TAG_INPUTS: ctx.desired().config_hash}),
        )
        ctx.log(f"  created endpoint config {name}")
        return {}

    def remember(self, ctx: Context, have: Any) -> None:
        ctx.refs["endpoint_config"] = self.name(ctx)

    def _all(self, ctx: Context) -> list[str]:
        return stack_resources(ctx, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", ctx.names.endpoint_config_prefix)

    def prune(self, ctx: Context) -> None:
        """After a swap, the previous config serves nothing."""
        sm = ctx.client("sagemaker")
        for name in self._all(ctx):
            if name != ctx.refs["endpoint_config"]:
                gone_or_deleted(lambda n=name: sm.delete_endpoint_config(EndpointConfigName=n))
                ctx.log(f"  deleted stale endpoint config {name}")

    def delete(self, ctx: Context) -> list[str]:
        sm = ctx.client("sagemaker")
        return [w for name in self._all(ctx) if gone_or_deleted(lambda n=name: sm.delete_endpoint_config(EndpointConfigName=n)) for w in deleted(ctx, f"endpoint config {name}")]
