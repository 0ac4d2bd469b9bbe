"""One endpoint: SageMaker's control plane and runtime answer on LocalStack's port too.

LocalStack forwards SageMaker requests to the emulator (plugin patches/sagemaker_forwarding.py):
the answers on LocalStack's port are the emulator's, byte for byte, errors included; boto3, the
AWS CLI and a Lambda function written for AWS (the 2018 blog's, with only ENDPOINT_NAME) reach
SageMaker with nothing but LocalStack's endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from contract import names
from tests.localstack.helpers import create_function, unique

pytestmark = pytest.mark.integration

ROW_B = (
    "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718,0.2338,1.353,1.735,20.2,0.004455,"
    "0.01382,0.02095,0.01184,0.01641,0.001956,15.15,31.82,99.0,698.8,0.1162,0.1711,0.2282,0.1282,0.2871,0.06917"
)
# The 2018 AWS ML blog's function, exactly as published ("Call an Amazon SageMaker model endpoint using
# Amazon API Gateway and AWS Lambda"): it reads ENDPOINT_NAME and nothing else.
BLOG_LAMBDA = '''import os
import io
import boto3
import json
import csv

# grab environment variables
ENDPOINT_NAME = os.environ['ENDPOINT_NAME']
runtime= boto3.client('runtime.sagemaker')

def lambda_handler(event, context):
    print("Received event: " + json.dumps(event, indent=2))
    
    data = json.loads(json.dumps(event))
    payload = data['data']
    print(payload)
    
    response = runtime.invoke_endpoint(EndpointName=ENDPOINT_NAME,
                                       ContentType='text/csv',
                                       Body=payload)
    print(response)
    result = json.loads(response['Body'].read().decode())
    print(result)
    pred = int(result['predictions'][0]['score'])
    predicted_label = 'M' if pred == 1 else 'B'
    
    return predicted_label
'''
# differ per request or per server by nature, not by content
VOLATILE_HEADERS = {"date", "server", "x-amzn-requestid", "connection", "content-length", "keep-alive"}


def _signed(url: str, target: str | None, body: bytes, path: str = "/", content_type: str | None = None) -> httpx.Request:
    headers = {"Content-Type": content_type or "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = f"SageMaker.{target}"
    request = AWSRequest(method="POST", url=url.rstrip("/") + path, data=body, headers=headers)
    credentials = Credentials(names.LOCAL_ACCESS_KEY_ID, names.LOCAL_SECRET_ACCESS_KEY)
    SigV4Auth(credentials, "sagemaker", names.DEFAULT_REGION).add_auth(request)
    return httpx.Request("POST", request.url, content=body, headers=dict(request.headers))


def _both(localstack, sagemaker_emulator, **kwargs) -> tuple[httpx.Response, httpx.Response]:
    with httpx.Client(timeout=60) as client:
        direct = client.send(_signed(sagemaker_emulator.url, **kwargs))
        forwarded = client.send(_signed(localstack.url, **kwargs))
    return direct, forwarded


def _stable_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS)


@pytest.mark.parametrize(
    "target, body",
    [
        ("ListEndpoints", b"{}"),
        ("DescribeEndpoint", b'{"EndpointName": "no-such-endpoint"}'),  # ValidationException 400
        ("DescribeEndpoint", b'{"EndpointName": "bad_name!"}'),  # botocore-model validation error
        ("NoSuchOperation", b"{}"),
        ("ListEndpoints", b"{not json"),
    ],
)
def test_control_plane_answers_are_the_emulators_byte_for_byte(localstack, sagemaker_emulator, deployed_endpoint,
                                                               target, body):
    direct, forwarded = _both(localstack, sagemaker_emulator, target=target, body=body)
    assert forwarded.status_code == direct.status_code
    assert forwarded.content == direct.content
    assert _stable_headers(forwarded) == _stable_headers(direct)
    if direct.status_code >= 400:
        assert forwarded.headers.get("x-amzn-errortype") == direct.headers.get("x-amzn-errortype")


@pytest.mark.parametrize(
    "endpoint, body, status",
    [
        (None, ROW_B.encode(), 200),
        (None, b"1,2,3", 424),  # ModelError: wrong feature count
        ("no-such-endpoint", ROW_B.encode(), 400),
    ],
)
def test_runtime_answers_are_the_emulators_byte_for_byte(localstack, sagemaker_emulator, deployed_endpoint,
                                                         endpoint, body, status):
    path = f"/endpoints/{endpoint or deployed_endpoint}/invocations"
    direct, forwarded = _both(localstack, sagemaker_emulator, target=None, body=body, path=path, content_type="text/csv")
    assert direct.status_code == status
    assert forwarded.status_code == direct.status_code
    assert forwarded.content == direct.content
    assert _stable_headers(forwarded) == _stable_headers(direct)
    if status == 200:
        assert forwarded.headers["x-Amzn-Invoked-Production-Variant"] == "AllTraffic"
    else:
        assert forwarded.headers["x-amzn-errortype"] == direct.headers["x-amzn-errortype"]


@pytest.mark.parametrize("suffix", ["async-invocations", "invocations-response-stream"])
def test_runtime_operations_the_emulator_does_not_serve_answer_the_same_on_both_ports(
        localstack, sagemaker_emulator, deployed_endpoint, suffix):
    direct, forwarded = _both(localstack, sagemaker_emulator, target=None, body=ROW_B.encode(),
                              path=f"/endpoints/{deployed_endpoint}/{suffix}", content_type="text/csv")
    assert direct.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert b"does not implement" in direct.content
    assert (forwarded.status_code, forwarded.content) == (direct.status_code, direct.content)
    assert _stable_headers(forwarded) == _stable_headers(direct)


def test_boto3_with_only_localstacks_endpoint_reaches_sagemaker(localstack, localstack_session, deployed_endpoint):
    config = Config(retries={"max_attempts": 1})
    sm = localstack_session.client("sagemaker", endpoint_url=localstack.url, config=config)
    runtime = localstack_session.client("sagemaker-runtime", endpoint_url=localstack.url, config=config)
    assert deployed_endpoint in [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    answer = runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=ROW_B)
    assert json.loads(answer["Body"].read())["predictions"][0]["predicted_label"] == 0
    with pytest.raises(runtime.exceptions.ModelError):
        runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body="1,2")


def _aws_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run([str(aws), *args], env=env, capture_output=True, text=True, timeout=120)


def test_aws_cli_with_only_aws_endpoint_url(localstack, deployed_endpoint, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": localstack.url,
        "AWS_ACCESS_KEY_ID": names.LOCAL_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": names.LOCAL_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": names.DEFAULT_REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    listed = _aws_cli(["sagemaker", "list-endpoints", "--output", "json"], env)
    assert listed.returncode == 0, listed.stderr
    assert deployed_endpoint in [e["EndpointName"] for e in json.loads(listed.stdout)["Endpoints"]]
    row = tmp_path / "row.csv"
    row.write_text(ROW_B)
    out = tmp_path / "out.json"
    invoked = _aws_cli(
        ["sagemaker-runtime", "invoke-endpoint", "--endpoint-name", deployed_endpoint, "--content-type", "text/csv",
         "--body", f"fileb://{row}", str(out)],
        env,
    )
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(out.read_text())["predictions"][0]["predicted_label"] == 0
    # and the same with --endpoint-url instead of the variable
    env.pop("AWS_ENDPOINT_URL")
    listed = _aws_cli(["--endpoint-url", localstack.url, "sagemaker", "list-endpoints", "--output", "json"], env)
    assert listed.returncode == 0, listed.stderr


def test_the_2018_blog_lambda_as_published_answers_b_through_api_gateway(localstack, lam, iam, apigw,
                                                                          deployed_endpoint):
    """ENDPOINT_NAME is the function's only variable: the executor's AWS_ENDPOINT_URL plus forwarding do the rest."""
    name = create_function(
        lam, iam, {"lambda_function.py": BLOG_LAMBDA}, handler="lambda_function.lambda_handler",
        Environment={"Variables": {"ENDPOINT_NAME": deployed_endpoint}}, Timeout=30,
    )
    api_id = apigw.create_rest_api(name=unique("blog"))["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=names.API_RESOURCE_PATH)["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    apigw.put_integration(
        restApiId=api_id, resourceId=resource, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{names.DEFAULT_REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    apigw.put_method_response(restApiId=api_id, resourceId=resource, httpMethod="POST", statusCode="200")
    apigw.put_integration_response(restApiId=api_id, resourceId=resource, httpMethod="POST", statusCode="200",
                                   selectionPattern="")
    lam.add_permission(FunctionName=name, StatementId=unique("apigw"), Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    response = httpx.post(
        f"{localstack.url}/_aws/execute-api/{api_id}/prod/{names.API_RESOURCE_PATH}",
        content=json.dumps({"data": ROW_B}), headers={"Content-Type": "application/json"}, timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json() == "B"
    variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert variables == {"ENDPOINT_NAME": deployed_endpoint}


def test_emulator_not_running_is_service_unavailable_naming_it(tmp_path):
    from contract.net import free_port
    from emulator.localstack.launcher import LocalStackProcess

    nowhere = f"http://{names.LOOPBACK}:{free_port()}"
    with LocalStackProcess(port=free_port(), state_dir=tmp_path, sagemaker_url=nowhere) as ls:
        response = _signed(ls.url, target="ListEndpoints", body=b"{}")
        try:
            answer = httpx.Client(timeout=30).send(response)
        except httpx.TimeoutException:
            pytest.fail(f"no answer in 30 s; LocalStack's log ends:\n{ls.log_path.read_text()[-4000:]}")
    assert answer.status_code == 503
    assert answer.headers["x-amzn-errortype"] == "ServiceUnavailable"
    assert nowhere in answer.json()["message"]


@pytest.mark.slow
def test_sagemaker_sdk_v3_with_only_aws_endpoint_url(localstack, deployed_endpoint):
    """sagemaker-core's Endpoint builds its own clients: AWS_ENDPOINT_URL alone must reach SageMaker."""
    from tests.sagemaker.test_runtime import ROW, SDK_SCRIPT

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=names.LOCAL_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=names.LOCAL_SECRET_ACCESS_KEY,
               AWS_DEFAULT_REGION=names.DEFAULT_REGION, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_ENDPOINT_URL=localstack.url)
    done = subprocess.run([sys.executable, "-c", SDK_SCRIPT, deployed_endpoint, ROW], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.strip().splitlines() if line.startswith("{")]
    assert lines[0]["status"] == "InService" and lines[0]["variant"] == "AllTraffic"
    assert lines[0]["body"]["predictions"][0]["predicted_label"] in (0, 1)
    assert lines[1] == {"error": "ModelError", "code": "ModelError"}


def test_a_function_reaches_sagemaker_directly_and_through_localstack(localstack, lam, iam, sagemaker_emulator,
                                                                      deployed_endpoint):
    """Functions get the emulator for SageMaker (no hop); with only AWS_ENDPOINT_URL, forwarding answers the same."""
    name = create_function(
        lam, iam,
        """
        import os, boto3
        def handler(event, context):
            direct = boto3.client("sagemaker-runtime")
            for key in ("AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
                os.environ.pop(key, None)
            through_localstack = boto3.client("sagemaker")
            return {"direct": direct.meta.endpoint_url, "via": through_localstack.meta.endpoint_url,
                    "endpoints": [e["EndpointName"] for e in through_localstack.list_endpoints()["Endpoints"]]}
        """,
        Timeout=60,
    )
    body = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    assert body["direct"] == sagemaker_emulator.url
    assert body["via"] == localstack.url
    assert deployed_endpoint in body["endpoints"]


# The AWS SDK for JavaScript v3 (exact versions: what `npm install` resolved when the test was written)
JS_SDK_PACKAGES = ("@aws-sdk/client-sagemaker-runtime@3.1164.0", "@aws-sdk/client-sagemaker@3.1142.0")
JS_SDK_SCRIPT = r"""
import { SageMakerRuntimeClient, InvokeEndpointCommand } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerClient, DescribeEndpointCommand } from "@aws-sdk/client-sagemaker";
const [endpoint, row] = process.argv.slice(2);
const body = new TextEncoder().encode(row);
const runtime = new SageMakerRuntimeClient({});
const sagemaker = new SageMakerClient({});
const invoked = await runtime.send(new InvokeEndpointCommand({ EndpointName: endpoint, ContentType: "text/csv", Body: body }));
const described = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint }));
const errors = [];
for (const call of [() => sagemaker.send(new DescribeEndpointCommand({ EndpointName: "no-such-endpoint" })),
                    () => runtime.send(new InvokeEndpointCommand({ EndpointName: "no-such-endpoint", ContentType: "text/csv", Body: body }))]) {
  try { await call(); errors.push(null); } catch (e) { errors.push({ name: e.name, status: e.$metadata.httpStatusCode, message: e.message }); }
}
console.log(JSON.stringify({ body: JSON.parse(new TextDecoder().decode(invoked.Body)), status: described.EndpointStatus, errors }));
"""


@pytest.fixture(scope="module")
def js_sdk_v3(tmp_path_factory) -> Path:
    """A directory with the AWS SDK for JavaScript v3's SageMaker clients installed (npm), or a skip saying why."""
    import shutil

    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for the AWS SDK for JavaScript v3 test (Debian: apt-get install nodejs npm)")
    directory = tmp_path_factory.mktemp("js-sdk-v3")
    done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(directory), *JS_SDK_PACKAGES],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"npm could not install the AWS SDK for JavaScript v3 (no registry?): {done.stderr.strip()[-300:]}")
    (directory / "flow.mjs").write_text(JS_SDK_SCRIPT)
    return directory


@pytest.mark.slow
def test_aws_sdk_for_javascript_v3_with_only_aws_endpoint_url(localstack, deployed_endpoint, js_sdk_v3):
    """The JavaScript SDK v3 signs both SageMaker clients as `sagemaker`: AWS_ENDPOINT_URL alone reaches them."""
    from tests.sagemaker.test_runtime import ROW

    env = {"PATH": os.environ["PATH"], "HOME": str(js_sdk_v3), "AWS_ACCESS_KEY_ID": names.LOCAL_ACCESS_KEY_ID,
           "AWS_SECRET_ACCESS_KEY": names.LOCAL_SECRET_ACCESS_KEY, "AWS_REGION": names.DEFAULT_REGION,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_ENDPOINT_URL": localstack.url}
    done = subprocess.run(["node", "flow.mjs", deployed_endpoint, ROW], capture_output=True, text=True, env=env,
                          cwd=js_sdk_v3, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["body"]["predictions"][0]["predicted_label"] in (0, 1)
    assert answer["status"] == "InService"
    missing_control, missing_runtime = answer["errors"]
    assert (missing_control["name"], missing_control["status"]) == ("ValidationException", 400)
    assert "no-such-endpoint" in missing_control["message"]
    assert (missing_runtime["name"], missing_runtime["status"]) == ("ValidationError", 400)
    assert missing_runtime["message"] == f"Endpoint no-such-endpoint of account {names.LOCAL_ACCOUNT_ID} not found."
