"""The two IAM roles: SageMaker's execution role and the function's role, each with one inline policy."""

from __future__ import annotations

import json
from typing import Any, Callable

from botocore.exceptions import ClientError

from deploy.config import StackNames
from deploy.policies import lambda_policy, sagemaker_policy, trust_policy
from deploy.resources.base import Context, Unit, deleted, gone_or_deleted, is_not_found, or_none, tags_kv

LAMBDA_POLICY_NAME = "invoke-endpoint-and-own-logs"
SAGEMAKER_POLICY_NAME = "training-data-artifacts-logs"


class Role(Unit):
    """A role trusted by one service with one least-privilege inline policy; its ARN goes to `refs[ref]`."""

    kind = "iam-role"
    service = "iam"

    def __init__(self, ref: str, role_name: Callable[[StackNames], str], principal: str, policy_name: str, policy: Callable[[Context], dict[str, Any]]) -> None:
        self.ref = ref
        self._role_name = role_name
        self.principal = principal
        self.policy_name = policy_name
        self._policy = policy

    def name(self, ctx: Context) -> str:
        return self._role_name(ctx.names)

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"trust": trust_policy(self.principal), "policy": self._policy(ctx)}

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        iam = ctx.client("iam")
        role = or_none(lambda: iam.get_role(RoleName=self.name(ctx)))
        if role is None:
            return None
        policy = or_none(lambda: iam.get_role_policy(RoleName=self.name(ctx), PolicyName=self.policy_name)) or {}
        return {"role": role["Role"], "policy": policy.get("PolicyDocument")}

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        diffs = []
        if have["role"].get("AssumeRolePolicyDocument") != want["trust"]:
            diffs.append("trust policy")
        if have["policy"] != want["policy"]:
            diffs.append("inline policy")
        return diffs

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        role = ctx.client("iam").create_role(
            RoleName=self.name(ctx),
            AssumeRolePolicyDocument=json.dumps(want["trust"]),
            Description=f"sagestack {ctx.names.stack}: least-privilege role for {self.principal}",
            Tags=tags_kv(ctx.tags),
        )["Role"]
        ctx.log(f"  created role {self.name(ctx)}")
        return self.update(ctx, want, {"role": role, "policy": None}, ["inline policy"])

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        iam = ctx.client("iam")
        if "trust policy" in diffs:
            iam.update_assume_role_policy(RoleName=self.name(ctx), PolicyDocument=json.dumps(want["trust"]))
            ctx.log(f"  updated trust policy of role {self.name(ctx)}")
        if "inline policy" in diffs:
            iam.put_role_policy(RoleName=self.name(ctx), PolicyName=self.policy_name, PolicyDocument=json.dumps(want["policy"]))
        return have

    def remember(self, ctx: Context, have: dict[str, Any]) -> None:
        ctx.refs[self.ref] = str(have["role"]["Arn"])

    def delete(self, ctx: Context) -> list[str]:
        iam = ctx.client("iam")
        role = self.name(ctx)
        try:
            for name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
                iam.delete_role_policy(RoleName=role, PolicyName=name)
            for attached in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
                iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        return deleted(ctx, f"role {role}") if gone_or_deleted(lambda: iam.delete_role(RoleName=role)) else []


def sagemaker_role() -> Role:
    return Role(
        "sagemaker_role",
        lambda n: n.sagemaker_role,
        "sagemaker.amazonaws.com",
        SAGEMAKER_POLICY_NAME,
        lambda ctx: sagemaker_policy(ctx.names, ctx.target.partition, ctx.desired().image_uri),
    )


def lambda_role() -> Role:
    return Role("lambda_role", lambda n: n.lambda_role, "lambda.amazonaws.com", LAMBDA_POLICY_NAME, lambda ctx: lambda_policy(ctx.names, ctx.target.partition))
