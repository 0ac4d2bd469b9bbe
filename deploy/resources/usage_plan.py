"""The usage plan (throttling, daily quota, the API's stage) and the API key in it.

The plan's difference is a list of JSON-patch operations: `status` reports their paths and
`apply` sends them, so what status calls a match is exactly what deploy would leave alone.
On re-create the key takes a pinned value (CreateApiKey accepts `value`, 20+ characters) so a
key saved by users stays valid after the emulated gateway lost its state.
"""

from __future__ import annotations

from typing import Any

from deploy.resources.base import Context, Unit, deleted, gone_or_deleted


def find_plan(ctx: Context) -> dict[str, Any] | None:
    for page in ctx.client("apigateway").get_paginator("get_usage_plans").paginate():
        for plan in page.get("items", []):
            if plan.get("name") == ctx.names.usage_plan:
                return dict(plan)
    return None


def find_key(ctx: Context) -> dict[str, Any] | None:
    for page in ctx.client("apigateway").get_paginator("get_api_keys").paginate(nameQuery=ctx.names.api_key, includeValues=True):
        for key in page.get("items", []):
            if key.get("name") == ctx.names.api_key:
                return dict(key)
    return None


def _patch_ops(want: dict[str, Any], have: dict[str, Any]) -> list[dict[str, str]]:
    ops = []
    throttle, quota = have.get("throttle") or {}, have.get("quota") or {}
    if float(throttle.get("rateLimit", -1)) != want["throttle"]["rateLimit"]:
        ops.append({"op": "replace", "path": "/throttle/rateLimit", "value": f"{want['throttle']['rateLimit']:g}"})
    if int(throttle.get("burstLimit", -1)) != want["throttle"]["burstLimit"]:
        ops.append({"op": "replace", "path": "/throttle/burstLimit", "value": str(want["throttle"]["burstLimit"])})
    if int(quota.get("limit", -1)) != want["quota"]["limit"]:
        ops.append({"op": "replace", "path": "/quota/limit", "value": str(want["quota"]["limit"])})
    if quota.get("period") != want["quota"]["period"]:
        ops.append({"op": "replace", "path": "/quota/period", "value": want["quota"]["period"]})
    wanted_stage = (want["stage"]["apiId"], want["stage"]["stage"])
    stages = [(s.get("apiId"), s.get("stage")) for s in have.get("apiStages") or []]
    for stale in stages:
        if stale != wanted_stage:
            ops.append({"op": "remove", "path": "/apiStages", "value": f"{stale[0]}:{stale[1]}"})
    if wanted_stage not in stages:
        ops.append({"op": "add", "path": "/apiStages", "value": f"{wanted_stage[0]}:{wanted_stage[1]}"})
    return ops


class UsagePlan(Unit):
    kind = "usage-plan"
    service = "apigateway"

    def name(self, ctx: Context) -> str:
        return ctx.names.usage_plan

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "throttle": {"rateLimit": float(ctx.config.throttle_rate_limit), "burstLimit": int(ctx.config.throttle_burst_limit)},
            "quota": {"limit": int(ctx.config.quota_per_day), "offset": 0, "period": "DAY"},
            "stage": {"apiId": ctx.refs.get("api_id", ""), "stage": ctx.config.stage},
        }

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        return find_plan(ctx)

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        return [f"{op['op']} {op['path']}" for op in _patch_ops(want, have)]

    def detail(self, ctx: Context, have: dict[str, Any]) -> str:
        throttle, quota = have.get("throttle") or {}, have.get("quota") or {}
        return f"rate {throttle.get('rateLimit')}/s burst {throttle.get('burstLimit')} quota {quota.get('limit')}/{quota.get('period')}"

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        plan = ctx.client("apigateway").create_usage_plan(
            name=ctx.names.usage_plan,
            description=f"sagestack {ctx.names.stack}: throttling and quota for the prediction API",
            apiStages=[want["stage"]],
            throttle=want["throttle"],
            quota=want["quota"],
            tags=ctx.tags,
        )
        ctx.log(f"  created usage plan {ctx.names.usage_plan} (rate {want['throttle']['rateLimit']:g}/s, burst {want['throttle']['burstLimit']})")
        return dict(plan)

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        ops = _patch_ops(want, have)
        plan = ctx.client("apigateway").update_usage_plan(usagePlanId=have["id"], patchOperations=ops)
        ctx.log(f"  updated usage plan {ctx.names.usage_plan}: {', '.join(op['path'] for op in ops)}")
        return dict(plan)

    def remember(self, ctx: Context, have: dict[str, Any]) -> None:
        ctx.refs["usage_plan_id"] = str(have["id"])

    def delete(self, ctx: Context) -> list[str]:
        """A plan must drop its stages before the plan (and then the API) can go."""
        apigw = ctx.client("apigateway")
        plan = find_plan(ctx)
        if plan is None:
            return []
        stages = [f"{s['apiId']}:{s['stage']}" for s in plan.get("apiStages") or []]
        if stages:
            apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[{"op": "remove", "path": "/apiStages", "value": s} for s in stages])
        return deleted(ctx, f"usage plan {ctx.names.usage_plan}") if gone_or_deleted(lambda: apigw.delete_usage_plan(usagePlanId=plan["id"])) else []


class ApiKey(Unit):
    kind = "api-key"
    service = "apigateway"

    def name(self, ctx: Context) -> str:
        return ctx.names.api_key

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"enabled": True, "usage_plan_id": ctx.refs.get("usage_plan_id")}

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        key = find_key(ctx)
        if key is None:
            return None
        plan_id = ctx.refs.get("usage_plan_id")
        in_plan = set()
        if plan_id:
            pages = ctx.client("apigateway").get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id)
            in_plan = {k["id"] for page in pages for k in page.get("items", [])}
        return {**key, "in_plan": key["id"] in in_plan}

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        diffs = [] if have.get("enabled", True) else ["disabled"]
        return diffs + ([] if have["in_plan"] else ["not in the usage plan"])

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"name": ctx.names.api_key, "description": f"sagestack {ctx.names.stack} client key", "enabled": True, "tags": ctx.tags}
        pinned = ctx.pinned.get("api_key")
        if pinned:
            params["value"] = pinned
        key = ctx.client("apigateway").create_api_key(**params)
        ctx.log(f"  created API key {ctx.names.api_key}" + (" with its previous value" if pinned else ""))
        return self.update(ctx, want, {**key, "in_plan": False}, ["not in the usage plan"])

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        apigw = ctx.client("apigateway")
        if "disabled" in diffs:
            apigw.update_api_key(apiKey=have["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
        if not have["in_plan"]:
            apigw.create_usage_plan_key(usagePlanId=want["usage_plan_id"], keyId=have["id"], keyType="API_KEY")
        return {**have, "enabled": True, "in_plan": True}

    def remember(self, ctx: Context, have: dict[str, Any]) -> None:
        ctx.refs["api_key_id"] = str(have["id"])
        value = have.get("value") or ctx.client("apigateway").get_api_key(apiKey=have["id"], includeValue=True)["value"]
        ctx.refs["api_key"] = str(value)

    def detail(self, ctx: Context, have: dict[str, Any]) -> str:
        return "enabled" if have.get("enabled", True) else "disabled"

    def delete(self, ctx: Context) -> list[str]:
        key = find_key(ctx)
        if key is not None and gone_or_deleted(lambda: ctx.client("apigateway").delete_api_key(apiKey=key["id"])):
            return deleted(ctx, f"API key {ctx.names.api_key}")
        return []
