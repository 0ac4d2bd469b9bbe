"""The Lambda function: the kit's handler zip, its settings, and the endpoint it calls."""

from __future__ import annotations

from typing import Any

from deploy.packaging import HANDLER
from deploy.resources.base import Context, DeployError, Unit, deleted, gone_or_deleted, or_none
from deploy.waiting import WaitFailed, wait_for

SETTINGS = ("Runtime", "Role", "Handler", "Timeout", "MemorySize", "Description")


class Function(Unit):
    kind = "lambda-function"
    service = "lambda"

    def name(self, ctx: Context) -> str:
        return ctx.names.function

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "Runtime": ctx.config.lambda_runtime,
            "Role": ctx.refs.get("lambda_role", ""),
            "Handler": HANDLER,
            "Timeout": ctx.config.lambda_timeout_s,
            "MemorySize": ctx.config.lambda_memory_mb,
            "Environment": {"Variables": ctx.lambda_environment()},
            "Description": f"sagestack {ctx.names.stack}: API Gateway -> SageMaker endpoint {ctx.names.endpoint}",
        }

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        function = or_none(lambda: ctx.client("lambda").get_function(FunctionName=ctx.names.function))
        return None if function is None else dict(function["Configuration"])

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        diffs = [key for key in SETTINGS if have.get(key) != want[key]]
        if (have.get("Environment") or {}).get("Variables", {}) != want["Environment"]["Variables"]:
            diffs.append("Environment")
        if have.get("CodeSha256") != ctx.desired().package.code_sha256:
            diffs.append("code")
        return diffs

    def _wait(self, ctx: Context, field: str, wanted: str) -> None:
        """Wait for the function's State/LastUpdateStatus (botocore's waiters poll once a second at best)."""

        def describe() -> tuple[str, str]:
            config = ctx.client("lambda").get_function_configuration(FunctionName=ctx.names.function)
            return str(config.get(field) or wanted), str(config.get("StateReason") or config.get("LastUpdateStatusReason") or "")

        try:
            wait_for(describe, what=f"function {ctx.names.function}", done={wanted}, failed={"Failed", "Inactive"}, timeout_s=300, log=lambda line: None, first_interval_s=0.05, max_interval_s=5.0)
        except WaitFailed as exc:
            raise DeployError(f"{exc}; fix the cause and re-run deploy") from None

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        lam = ctx.client("lambda")
        created = ctx.retry_while_role_propagates(
            lambda: lam.create_function(FunctionName=ctx.names.function, Code={"ZipFile": ctx.desired().package.zip_bytes}, Tags=ctx.tags, Publish=False, **want),
            "creating the function",
        )
        ctx.log(f"  created function {ctx.names.function} ({ctx.config.lambda_runtime})")
        self._wait(ctx, "State", "Active")
        return dict(created)

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        lam = ctx.client("lambda")
        if "code" in diffs:
            lam.update_function_code(FunctionName=ctx.names.function, ZipFile=ctx.desired().package.zip_bytes)
            self._wait(ctx, "LastUpdateStatus", "Successful")
            ctx.log(f"  updated code of function {ctx.names.function}")
        settings = [d for d in diffs if d != "code"]
        if settings:
            ctx.retry_while_role_propagates(lambda: lam.update_function_configuration(FunctionName=ctx.names.function, **want), "updating the function")
            self._wait(ctx, "LastUpdateStatus", "Successful")
            ctx.log(f"  updated function {ctx.names.function}: {', '.join(settings)}")
        return have

    def remember(self, ctx: Context, have: dict[str, Any]) -> None:
        ctx.refs["function_arn"] = str(have["FunctionArn"])

    def delete(self, ctx: Context) -> list[str]:
        if gone_or_deleted(lambda: ctx.client("lambda").delete_function(FunctionName=ctx.names.function)):
            return deleted(ctx, f"function {ctx.names.function}")
        return []
