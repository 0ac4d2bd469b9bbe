"""The REST API: POST /ml-model-api (API key required) -> AWS_PROXY -> the function, deployed to the stage.

To change the API Gateway resource a deploy makes, this is the file (docs/ARCHITECTURE.md, "Deploy").
What the stage serves is fingerprinted into the deployment's description, so a drifted stage
is redeployed and `status` can tell. On an emulated gateway (LocalStack) a re-created API
reuses its previous id through LocalStack's `_custom_id_` tag (honoured by its CreateRestApi
patch of moto's backend), so invoke URLs saved by users stay valid.
"""

from __future__ import annotations

from typing import Any

from contract import names as fixed
from deploy.config import TAG_STACK, short_hash
from deploy.resources.base import Context, Unit, deleted, gone_or_deleted, or_none

CUSTOM_ID_TAG = "_custom_id_"  # LocalStack only: localstack.constants.TAG_KEY_CUSTOM_ID


def find(ctx: Context) -> dict[str, Any] | None:
    for page in ctx.client("apigateway").get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            if api.get("name") == ctx.names.rest_api and (api.get("tags") or {}).get(TAG_STACK, ctx.names.stack) == ctx.names.stack:
                return dict(api)
    return None


class RestApi(Unit):
    kind = "rest-api"
    service = "apigateway"

    def name(self, ctx: Context) -> str:
        return ctx.names.rest_api

    def _integration_uri(self, ctx: Context) -> str:
        function_arn = ctx.refs.get("function_arn", "")
        return f"arn:{ctx.target.partition}:apigateway:{ctx.target.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"

    def desired(self, ctx: Context) -> dict[str, Any]:
        uri = self._integration_uri(ctx)
        return {
            "integration": {"type": "AWS_PROXY", "uri": uri, "httpMethod": "POST"},
            "apiKeyRequired": True,
            # stored as the deployment's description to detect drift of what the stage serves
            "fingerprint": "sagestack " + short_hash({"uri": uri, "key": True, "path": fixed.API_RESOURCE_PATH}),
        }

    def existing(self, ctx: Context) -> dict[str, Any] | None:
        api = find(ctx)
        if api is None:
            return None
        apigw = ctx.client("apigateway")
        api_id = str(api["id"])
        root_id, resource = "", None
        for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"]):
            for item in page.get("items", []):
                if item.get("path") == "/":
                    root_id = item["id"]
                if item.get("path") == f"/{fixed.API_RESOURCE_PATH}":
                    resource = item
        method = integration = None
        if resource is not None:
            method = (resource.get("resourceMethods") or {}).get("POST")
            if method is None:
                method = or_none(lambda: apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="POST"))
            if method is not None:
                integration = or_none(lambda: apigw.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="POST"))
        return {"id": api_id, "root_id": root_id, "resource": resource, "method": method, "integration": integration or {}, "fingerprint": self._deployed(ctx, api_id)}

    def _deployed(self, ctx: Context, api_id: str) -> str | None:
        apigw = ctx.client("apigateway")
        stage = or_none(lambda: apigw.get_stage(restApiId=api_id, stageName=ctx.config.stage))
        if stage is None:
            return None
        deployment = or_none(lambda: apigw.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"]))
        return None if deployment is None else str(deployment.get("description"))

    def difference(self, ctx: Context, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        diffs = []
        if have["resource"] is None:
            diffs.append("resource")
        if have["method"] is None:
            diffs.append("method")
        elif not have["method"].get("apiKeyRequired"):
            diffs.append("apiKeyRequired")
        if any(have["integration"].get(k) != v for k, v in want["integration"].items()):
            diffs.append("integration")
        if have["fingerprint"] != want["fingerprint"]:
            diffs.append("stage deployment" if have["fingerprint"] else "no stage")
        return diffs

    def detail(self, ctx: Context, have: dict[str, Any]) -> str:
        return f"{have['id']} stage {ctx.config.stage}: " + ("deployed" if have["fingerprint"] else "no stage")

    def create(self, ctx: Context, want: dict[str, Any]) -> dict[str, Any]:
        tags = dict(ctx.tags)
        pinned = ctx.pinned.get("api_id")
        if pinned and ctx.target.apigateway_endpoint:  # an emulated gateway: keep the id users saved
            tags[CUSTOM_ID_TAG] = pinned
        api = ctx.client("apigateway").create_rest_api(
            name=ctx.names.rest_api,
            description=f"sagestack {ctx.names.stack}: POST /{fixed.API_RESOURCE_PATH} -> Lambda -> SageMaker",
            endpointConfiguration={"types": ["REGIONAL"]},
            apiKeySource="HEADER",
            tags=tags,
        )
        ctx.log(f"  created REST API {ctx.names.rest_api} ({api['id']})" + (" with its previous id" if api["id"] == pinned else ""))
        have = self.existing(ctx) or {}
        return self.update(ctx, want, have, self.difference(ctx, want, have))

    def update(self, ctx: Context, want: dict[str, Any], have: dict[str, Any], diffs: list[str]) -> dict[str, Any]:
        apigw = ctx.client("apigateway")
        api_id = have["id"]
        resource = have["resource"] or apigw.create_resource(restApiId=api_id, parentId=have["root_id"], pathPart=fixed.API_RESOURCE_PATH)
        resource_id = resource["id"]
        if have["method"] is None:
            apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="POST", authorizationType="NONE", apiKeyRequired=True)
        elif "apiKeyRequired" in diffs:
            apigw.update_method(restApiId=api_id, resourceId=resource_id, httpMethod="POST", patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
        if have["method"] is None or "integration" in diffs:
            apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod="POST", type="AWS_PROXY", integrationHttpMethod="POST", uri=want["integration"]["uri"])
        if have["fingerprint"] != want["fingerprint"]:
            apigw.create_deployment(restApiId=api_id, stageName=ctx.config.stage, description=want["fingerprint"], stageDescription=f"sagestack {ctx.names.stack}")
            ctx.log(f"  deployed stage {ctx.config.stage} of {ctx.names.rest_api}")
        return {**have, "resource": resource, "fingerprint": want["fingerprint"]}

    def remember(self, ctx: Context, have: dict[str, Any]) -> None:
        ctx.refs["api_id"] = have["id"]

    def delete(self, ctx: Context) -> list[str]:
        api = find(ctx)
        if api is not None and gone_or_deleted(lambda: ctx.client("apigateway").delete_rest_api(restApiId=api["id"])):
            return deleted(ctx, f"REST API {ctx.names.rest_api} ({api['id']})")
        return []
