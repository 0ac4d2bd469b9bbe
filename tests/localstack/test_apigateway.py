"""API Gateway (REST API v1) → Lambda on the embedded LocalStack, through both integration types.

AWS_PROXY passes the whole request as the event and expects {statusCode, headers, body} back;
the non-proxy AWS integration (what the original 2018 blog used) maps the request with a
mapping template and passes the Lambda's return value through an integration response.
"""

from __future__ import annotations

import json

import httpx
import pytest

from contract import names
from tests.localstack.helpers import create_function, unique

pytestmark = pytest.mark.integration

PROXY_HANDLER = """
import json
def handler(event, context):
    body = json.loads(event["body"] or "{}")
    if body.get("shape") == "not-proxy":
        return "B"
    if body.get("raise"):
        raise RuntimeError("boom")
    return {"statusCode": 200, "headers": {"Content-Type": "application/json", "X-Handler": "proxy"},
            "body": json.dumps({"method": event["httpMethod"], "path": event["path"],
                                "resource": event["resource"], "stage": event["requestContext"]["stage"],
                                "data": body.get("data"), "query": event["queryStringParameters"],
                                "request_id": context.aws_request_id})}
"""

# The blog's contract: event["data"] is a CSV row, the answer is "M" or "B".
BLOG_HANDLER = """
def handler(event, context):
    first = float(event["data"].split(",")[0])
    return {"label": "M" if first > 15 else "B", "source": event.get("source")}
"""

ROW_B = "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718"


def _function_arn(lam, name: str) -> str:
    return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def _rest_api_with_post(apigw, lam, function_name: str, integration: dict, *, responses: bool) -> str:
    api_id = apigw.create_rest_api(name=unique("api"))["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=names.API_RESOURCE_PATH)["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    uri = (
        f"arn:aws:apigateway:{names.DEFAULT_REGION}:lambda:path/2015-03-31/functions/"
        f"{_function_arn(lam, function_name)}/invocations"
    )
    apigw.put_integration(
        restApiId=api_id, resourceId=resource, httpMethod="POST", integrationHttpMethod="POST", uri=uri, **integration
    )
    if responses:
        apigw.put_method_response(
            restApiId=api_id, resourceId=resource, httpMethod="POST", statusCode="200",
            responseModels={"application/json": "Empty"},
        )
        apigw.put_integration_response(
            restApiId=api_id, resourceId=resource, httpMethod="POST", statusCode="200", selectionPattern="",
            responseTemplates={"application/json": "$input.json('$.label')"},
        )
    lam.add_permission(
        FunctionName=function_name, StatementId=unique("apigw"), Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def _invoke_url(localstack, api_id: str) -> str:
    return f"{localstack.url}/_aws/execute-api/{api_id}/prod/{names.API_RESOURCE_PATH}"


@pytest.fixture(scope="module")
def proxy_api(lam, iam, apigw):
    name = create_function(lam, iam, PROXY_HANDLER)
    return _rest_api_with_post(apigw, lam, name, {"type": "AWS_PROXY"}, responses=False)


def test_aws_proxy_post_reaches_the_lambda(localstack, proxy_api):
    response = httpx.post(_invoke_url(localstack, proxy_api) + "?verbose=1", json={"data": ROW_B}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["x-handler"] == "proxy"
    body = response.json()
    assert body["method"] == "POST"
    assert body["path"] == f"/{names.API_RESOURCE_PATH}"
    assert body["resource"] == f"/{names.API_RESOURCE_PATH}"
    assert body["stage"] == "prod"
    assert body["data"] == ROW_B
    assert body["query"] == {"verbose": "1"}


def test_aws_proxy_form_encoded_body_arrives_raw(localstack, proxy_api):
    """`curl -d '{...}'` sends application/x-www-form-urlencoded; AWS hands the body over byte for byte."""
    body = json.dumps({"data": ROW_B})
    response = httpx.post(
        _invoke_url(localstack, proxy_api), content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == ROW_B


def test_aws_proxy_other_invoke_url_form(localstack, proxy_api):
    url = f"{localstack.url}/restapis/{proxy_api}/prod/_user_request_/{names.API_RESOURCE_PATH}"
    response = httpx.post(url, json={"data": ROW_B}, timeout=60)
    assert response.status_code == 200
    assert response.json()["data"] == ROW_B


def test_aws_proxy_bad_lambda_answer_is_502(localstack, proxy_api):
    """A proxy Lambda that returns no statusCode/body, or raises, gives 502 as on AWS."""
    for payload in ({"shape": "not-proxy"}, {"raise": True}):
        response = httpx.post(_invoke_url(localstack, proxy_api), json=payload, timeout=60)
        assert response.status_code == 502, response.text
        assert response.json() == {"message": "Internal server error"}


def test_aws_integration_with_mapping_templates(localstack, lam, iam, apigw):
    name = create_function(lam, iam, BLOG_HANDLER)
    template = '{"data": $input.json(\'$.data\'), "source": "mapping-template"}'
    api_id = _rest_api_with_post(
        apigw, lam, name,
        {"type": "AWS", "requestTemplates": {"application/json": template}, "passthroughBehavior": "WHEN_NO_TEMPLATES"},
        responses=True,
    )
    response = httpx.post(_invoke_url(localstack, api_id), json={"data": ROW_B}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == "B"
    malignant = "20.57,17.77,132.9,1326.0,0.08474,0.07864,0.0869,0.07017,0.1812,0.05667"
    assert httpx.post(_invoke_url(localstack, api_id), json={"data": malignant}, timeout=60).json() == "M"


def test_aws_integration_passthrough_like_the_blog(localstack, lam, iam, apigw):
    """No request template: the JSON body is the event (passthrough), as in the 2018 blog."""
    name = create_function(
        lam, iam, "def handler(event, context):\n    return {'label': 'B' if event['data'].startswith('13') else 'M', 'keys': sorted(event)}\n"
    )
    api_id = _rest_api_with_post(apigw, lam, name, {"type": "AWS"}, responses=True)
    response = httpx.post(_invoke_url(localstack, api_id), content=json.dumps({"data": ROW_B}),
                          headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == "B"
