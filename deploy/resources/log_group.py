"""The function's CloudWatch Logs group, created by deploy with a retention (so the role needs no CreateLogGroup)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from deploy.resources.base import Context, Unit, deleted, error_code, gone_or_deleted

LOG_RETENTION_DAYS = 14


class LogGroup(Unit):
    kind = "log-group"
    service = "logs"

    def name(self, ctx: Context) -> str:
        return ctx.names.function_log_group

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"retentionInDays": LOG_RETENTION_DAYS}

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        group = self.name(ctx)
        found = [g for g in ctx.client("logs").describe_log_groups(logGroupNamePrefix=group).get("logGroups", []) if g["logGroupName"] == group]
        return found[0] if found else None

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        return [] if have.get("retentionInDays") == want["retentionInDays"] else [f"retention {have.get('retentionInDays')}"]

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        try:
            ctx.client("logs").create_log_group(logGroupName=self.name(ctx), tags=ctx.tags)
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        return self.update(ctx, want, {}, ["retention"])

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        ctx.client("logs").put_retention_policy(logGroupName=self.name(ctx), retentionInDays=want["retentionInDays"])
        return {**have, **want}

    def delete(self, ctx: Context) -> list[str]:
        """The function's group and the endpoint's (SageMaker writes that one)."""
        logs = ctx.client("logs")
        return [
            w
            for group in (ctx.names.function_log_group, ctx.names.endpoint_log_group)
            if gone_or_deleted(lambda g=group: logs.delete_log_group(logGroupName=g))
            for w in deleted(ctx, f"log group {group}")
        ]
