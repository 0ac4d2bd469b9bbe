"""What every deploy unit shares: the context it works in and the five verbs it answers.

A unit is one deployed resource (docs/ARCHITECTURE.md, "Deploy"). `deploy`, `status` and
`destroy` in deploy/stack.py only iterate over units; what a resource should look like and how
to tell whether it does lives in the unit, once:

* `desired(ctx)`   what deploy would make now, from the inputs alone (no writes)
* `existing(ctx)`  what is there (None: absent)
* `difference(ctx, want, have)`  what differs, as short words; [] means it matches
* `apply(ctx)`     make it so (create, or update what `difference` names) and record its refs
* `delete(ctx)`    remove it; returns what was deleted (empty when it was already gone)

`status` is `existing` + `difference` (the same diff `apply` acts on), so the two cannot drift.
Units hand values to the units after them (a role's ARN, the API's id) through `ctx.refs`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.exceptions import ClientError

from contract import aws
from contract import names as fixed
from deploy.config import TAG_STACK, StackConfig, StackNames
from deploy.packaging import LambdaPackage
from deploy.profiles import Target

NOT_FOUND_CODES = {"NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "NoSuchBucket", "404", "ResourceNotFound"}
IAM_PROPAGATION_S = 60.0
# Endpoint states that resolve by themselves: wait them out before changing or deleting.
ENDPOINT_TRANSIENT = {"Creating", "Updating", "SystemUpdating", "RollingBack"}


class DeployError(RuntimeError):
    """A deploy step that cannot succeed; the message says which resource and what to do."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_not_found(exc: ClientError) -> bool:
    code = error_code(exc)
    if code in NOT_FOUND_CODES:
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    # SageMaker says ValidationError "Could not find endpoint ..." / "... does not exist".
    return code in {"ValidationError", "ValidationException"} and ("could not find" in message or "does not exist" in message or "not found" in message)


def or_none(call: Callable[[], Any]) -> Any:
    """`call()`'s answer, or None when what it names does not exist; every other error propagates."""
    try:
        return call()
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def gone_or_deleted(call: Callable[[], Any]) -> bool:
    """Run a delete; True if it deleted something, False if it was already gone."""
    return or_none(call) is not None


def tags_kv(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@dataclass
class ResourceState:
    """One line of `sagestack status`: does the resource exist and match what deploy would make?"""

    kind: str
    name: str
    exists: bool
    matches: bool
    detail: str = ""
    billable: bool = False

    @property
    def action(self) -> str:
        return "keep" if self.exists and self.matches else ("update" if self.exists else "create")


@dataclass
class Desired:
    """Every input that decides a resource's identity, computed once per run (no writes)."""

    channels: dict[str, Path]
    data_hash: str
    image_uri: str
    hyperparameters: dict[str, str]
    training_hash: str
    model_hash: str
    config_hash: str
    package: LambdaPackage


@dataclass
class Context:
    """What a unit works with: one boto3 session, the target it points at, the names and the inputs.

    `refs` carries what one unit made for the next (role ARNs, job name, model data, function
    ARN, API id, key id/value); `pinned` holds ids a re-create must reuse (the REST API id and
    the API key value of a previous deploy on an emulated gateway, so saved URLs and keys work).
    """

    session: boto3.Session
    target: Target
    config: StackConfig
    names: StackNames
    log: Callable[[str], None] = print
    refs: dict[str, Any] = field(default_factory=dict)
    pinned: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def desired(self) -> Desired:  # the orchestrator (deploy.stack.Stack) computes the inputs
        raise NotImplementedError

    @property
    def tags(self) -> dict[str, str]:
        return {TAG_STACK: self.names.stack}

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:{self.target.partition}:{service}:{self.target.region if region else ''}:{self.target.account_id if account else ''}:{resource}"

    def source_arn(self, api_id: str) -> str:
        """What API Gateway may invoke the function from: this API, any stage, POST on the resource only."""
        return self.arn("execute-api", f"{api_id}/*/POST/{fixed.API_RESOURCE_PATH}")

    def invoke_url(self, api_id: str) -> str:
        """Where clients POST: AWS's execute-api host, or the emulated gateway's path form."""
        if self.target.apigateway_endpoint:
            base = self.target.apigateway_endpoint.rstrip("/")
            return f"{base}/_aws/execute-api/{api_id}/{self.config.stage}/{fixed.API_RESOURCE_PATH}"
        suffix = aws.dns_suffix(self.target.region)
        return f"https://{api_id}.execute-api.{self.target.region}.{suffix}/{self.config.stage}/{fixed.API_RESOURCE_PATH}"

    def lambda_environment(self) -> dict[str, str]:
        # Only what the 2018 blog's function reads. Locally the function reaches SageMaker with no
        # variable of its own: the LocalStack executor points its SageMaker clients at the emulator
        # (and LocalStack forwards SageMaker requests sent to AWS_ENDPOINT_URL, itself).
        return {"ENDPOINT_NAME": self.names.endpoint}

    def retry_while_role_propagates(self, call: Callable[[], Any], what: str) -> Any:
        """IAM is eventually consistent on AWS: a new role may be refused for some seconds."""
        deadline = time.monotonic() + IAM_PROPAGATION_S
        delay = 1.0
        while True:
            try:
                return call()
            except ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", "")).lower()
                role_not_ready = error_code(exc) in {"InvalidParameterValueException", "ValidationException", "ValidationError"} and (
                    "assume" in message or "role" in message and "not authorized" in message
                )
                if not role_not_ready or time.monotonic() > deadline:
                    raise
                self.log(f"  waiting for the new IAM role to propagate before {what} ...")
                time.sleep(delay)
                delay = min(delay * 2, 10.0)


class Unit:
    """One deployed resource. Subclasses set `kind` and `service` and fill in the verbs.

    The default `apply` is create-if-absent, else update what `difference` names; units whose
    life is a process (a training job, an endpoint) override it.
    """

    kind = ""
    service = ""  # the AWS service that holds it (deploy.stack uses it to re-create LocalStack's side)
    billable = False

    def name(self, ctx: Context) -> str:
        raise NotImplementedError

    def desired(self, ctx: Context) -> Any:
        return {}

    def existing(self, ctx: Context) -> Any:
        raise NotImplementedError

    def difference(self, ctx: Context, want: Any, have: Any) -> list[str]:
        return []

    def create(self, ctx: Context, want: Any) -> Any:
        raise NotImplementedError

    def update(self, ctx: Context, want: Any, have: Any, diffs: list[str]) -> Any:
        return have

    def remember(self, ctx: Context, have: Any) -> None:
        """Record what later units need from this resource (its ARN, id, ...) in `ctx.refs`."""

    def detail(self, ctx: Context, have: Any) -> str:
        return ""

    def apply(self, ctx: Context) -> None:
        want = self.desired(ctx)
        have = self.existing(ctx)
        if have is None:
            have = self.create(ctx, want)
        else:
            diffs = self.difference(ctx, want, have)
            if diffs:
                have = self.update(ctx, want, have, diffs)
        self.remember(ctx, have)

    def prune(self, ctx: Context) -> None:
        """After a deploy: delete what an earlier deploy of this kind left and nothing uses now."""

    def delete(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def state(self, ctx: Context) -> ResourceState:
        """One status line from the same `existing` and `difference` that `apply` uses."""
        have = self.existing(ctx)
        if have is None:
            return ResourceState(self.kind, self.name(ctx), False, False, billable=self.billable)
        self.remember(ctx, have)
        diffs = self.difference(ctx, self.desired(ctx), have)
        detail = self.detail(ctx, have)
        if diffs:
            detail = (f"{detail}; " if detail else "") + "differs: " + ", ".join(diffs)
        return ResourceState(self.kind, self.name(ctx), True, not diffs, detail, billable=self.billable)


def deleted(ctx: Context, what: str) -> list[str]:
    ctx.log(f"  deleted {what}")
    return [what]
