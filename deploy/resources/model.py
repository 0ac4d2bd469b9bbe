"""The SageMaker model: the training job's artifact behind the algorithm's image (immutable: replaced, not updated)."""

from __future__ import annotations

from typing import Any

from deploy.config import TAG_INPUTS
from deploy.resources.base import Context, Unit, deleted, gone_or_deleted, or_none, tags_kv
from deploy.resources.training_job import await_artifact


def stack_resources(ctx: Context, list_call: str, key: str, name_key: str, prefix: str) -> list[str]:
    """Names of the stack's SageMaker resources of one kind (by the stack's name prefix)."""
    found: list[str] = []
    for page in ctx.client("sagemaker").get_paginator(list_call).paginate(NameContains=prefix):
        found += [item[name_key] for item in page.get(key, []) if item[name_key].startswith(prefix)]
    return found


class Model(Unit):
    kind = "model"
    service = "sagemaker"

    def name(self, ctx: Context) -> str:
        return ctx.names.model(ctx.desired().model_hash)

    def desired(self, ctx: Context) -> dict[str, Any]:
        # The artifact is known once the job completed (status may run before that: then only the image counts).
        return {"Image": ctx.desired().image_uri, "ModelDataUrl": ctx.refs.get("model_data")}

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        model = or_none(lambda: ctx.client("sagemaker").describe_model(ModelName=self.name(ctx)))
        return None if model is None else dict(model.get("PrimaryContainer", {}))

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        return [key for key in ("Image", "ModelDataUrl") if want[key] is not None and have.get(key) != want[key]]

    def apply(self, ctx: Context) -> None:
        await_artifact(ctx)  # the model needs the job's artifact
        super().apply(ctx)

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        name = self.name(ctx)
        ctx.retry_while_role_propagates(
            lambda: ctx.client("sagemaker").create_model(
                ModelName=name,
                PrimaryContainer={"Image": want["Image"], "ModelDataUrl": want["ModelDataUrl"]},
                ExecutionRoleArn=ctx.refs["sagemaker_role"],
                Tags=tags_kv({**ctx.tags, TAG_INPUTS: ctx.desired().model_hash}),
            ),
            "creating the model",
        )
        ctx.log(f"  created model {name}")
        return want

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        ctx.client("sagemaker").delete_model(ModelName=self.name(ctx))  # models are immutable: replace a mismatched one
        return self.create(ctx, want)

    def remember(self, ctx: Context, have: Any) -> None:
        ctx.refs["model_name"] = self.name(ctx)

    def _all(self, ctx: Context) -> list[str]:
        return stack_resources(ctx, "list_models", "Models", "ModelName", ctx.names.model_prefix)

    def prune(self, ctx: Context) -> None:
        sm = ctx.client("sagemaker")
        for name in self._all(ctx):
            if name != ctx.refs["model_name"]:
                gone_or_deleted(lambda n=name: sm.delete_model(ModelName=n))
                ctx.log(f"  deleted stale model {name}")

    def delete(self, ctx: Context) -> list[str]:
        sm = ctx.client("sagemaker")
        return [w for name in self._all(ctx) if gone_or_deleted(lambda n=name: sm.delete_model(ModelName=n)) for w in deleted(ctx, f"model {name}")]
