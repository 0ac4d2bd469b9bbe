"""The function's resource policy statement that lets API Gateway invoke it (this API, POST on the resource only)."""

from __future__ import annotations

import json
from typing import Any

from deploy.resources.base import Context, Unit, or_none


class Permission(Unit):
    kind = "lambda-permission"
    service = "lambda"

    def name(self, ctx: Context) -> str:
        return ctx.names.permission_sid

    def desired(self, ctx: Context) -> str:
        return ctx.source_arn(ctx.refs.get("api_id", ""))

    def existing(self, ctx: Context) -> str | None:
        """The statement's source ARN, None when there is no such statement."""
        answer = or_none(lambda: ctx.client("lambda").get_policy(FunctionName=ctx.names.function))
        if answer is None:
            return None
        for statement in json.loads(answer["Policy"]).get("Statement", []):
            if statement.get("Sid") == ctx.names.permission_sid:
                return str(statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", ""))
        return None

    def difference(self, ctx: Context, want: str, have: str) -> list[str]:
        return [] if have == want else [f"source {have}"]

    def create(self, ctx: Context, want: str) -> str:
        ctx.client("lambda").add_permission(
            FunctionName=ctx.names.function,
            StatementId=ctx.names.permission_sid,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=want,
        )
        ctx.log(f"  allowed API Gateway to invoke {ctx.names.function} from {want}")
        return want

    def update(self, ctx: Context, want: str, have: Any, diffs: list[str]) -> str:
        ctx.client("lambda").remove_permission(FunctionName=ctx.names.function, StatementId=ctx.names.permission_sid)
        return self.create(ctx, want)

    def delete(self, ctx: Context) -> list[str]:
        return []  # it goes with the function
