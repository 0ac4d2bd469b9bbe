"""The SageMaker endpoint: the billed resource. Created once, then swapped in place with UpdateEndpoint
(the old config serves until the new one is InService); deleted first by destroy."""

from __future__ import annotations

from typing import Any

from deploy.resources.base import ENDPOINT_TRANSIENT, Context, DeployError, Unit, deleted, gone_or_deleted, or_none, tags_kv
from deploy.waiting import WaitFailed, wait_for


def describe(ctx: Context) -> dict[str, Any] | None:
    return or_none(lambda: ctx.client("sagemaker").describe_endpoint(EndpointName=ctx.names.endpoint))


def _progress(ctx: Context) -> tuple[str, str]:
    endpoint = describe(ctx)
    return ("Absent", "") if endpoint is None else (endpoint["EndpointStatus"], endpoint.get("FailureReason", ""))


class Endpoint(Unit):
    kind = "endpoint"
    service = "sagemaker"
    billable = True

    def name(self, ctx: Context) -> str:
        return ctx.names.endpoint

    def desired(self, ctx: Context) -> dict[str, str]:
        return {"EndpointStatus": "InService", "EndpointConfigName": ctx.names.endpoint_config(ctx.desired().config_hash)}

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        return describe(ctx)

    def difference(self, ctx: Context, want: dict[str, str], have: dict[str, Any]) -> list[str]:
        return [f"{key} {have.get(key)}" for key in ("EndpointStatus", "EndpointConfigName") if have.get(key) != want[key]]

    def detail(self, ctx: Context, have: dict[str, Any]) -> str:
        return f"{have['EndpointStatus']} on {have['EndpointConfigName']}"

    def _wait(self, ctx: Context, what: str, done: set[str], failed: set[str]) -> None:
        wait_for(lambda: _progress(ctx), what=what, done=done, failed=failed, timeout_s=ctx.config.max_endpoint_wait_s, log=ctx.log)

    def apply(self, ctx: Context) -> None:
        """Create, or point at the new config; then wait until it serves that config."""
        sm = ctx.client("sagemaker")
        name = ctx.names.endpoint
        config_name = ctx.refs["endpoint_config"]
        endpoint = describe(ctx)
        if endpoint and endpoint["EndpointStatus"] in ENDPOINT_TRANSIENT | {"Deleting"}:
            done = {"Absent"} if endpoint["EndpointStatus"] == "Deleting" else {"InService", "Failed", "OutOfService"}
            self._wait(ctx, f"endpoint {name} (in progress before this deploy)", done, set())
            endpoint = describe(ctx)
        if endpoint and endpoint["EndpointStatus"] == "Failed":
            ctx.log(f"  endpoint {name} had failed ({endpoint.get('FailureReason', '')}); recreating it")
            sm.delete_endpoint(EndpointName=name)
            self._wait(ctx, f"endpoint {name}", {"Absent"}, set())
            endpoint = None
        if endpoint is None:
            sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tags_kv(ctx.tags))
            ctx.log(f"  creating endpoint {name} ({ctx.config.endpoint_instance_type} x{ctx.config.endpoint_instance_count})")
        elif endpoint["EndpointConfigName"] != config_name:
            sm.update_endpoint(EndpointName=name, EndpointConfigName=config_name)
            ctx.log(f"  updating endpoint {name}: {endpoint['EndpointConfigName']} -> {config_name}")
        try:
            self._wait(ctx, f"endpoint {name}", {"InService"}, {"Failed", "OutOfService", "Absent"})
        except WaitFailed as exc:
            raise DeployError(f"{exc}; see the endpoint's logs, fix the cause and re-run deploy") from None
        current = describe(ctx) or {}
        if current.get("EndpointConfigName") != config_name:
            raise DeployError(
                f"endpoint {name} is InService on {current.get('EndpointConfigName')} instead of {config_name}: "
                "the update was rolled back; see the endpoint's FailureReason and re-run deploy"
            )

    def delete(self, ctx: Context) -> list[str]:
        endpoint = describe(ctx)
        if endpoint is None:
            return []
        name = ctx.names.endpoint
        if endpoint["EndpointStatus"] in ENDPOINT_TRANSIENT:
            self._wait(ctx, f"endpoint {name} (before deleting)", {"InService", "Failed", "OutOfService", "Absent"}, set())
        removed = deleted(ctx, f"endpoint {name}") if gone_or_deleted(lambda: ctx.client("sagemaker").delete_endpoint(EndpointName=name)) else []
        self._wait(ctx, f"endpoint {name}", {"Absent"}, {"Failed"})
        return removed
