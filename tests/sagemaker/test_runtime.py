"""InvokeEndpoint through real clients nobody here wrote — boto3, the AWS CLI and sagemaker-core's
`Endpoint.invoke` — against the emulator serving the real trained model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from emulator.sagemaker import recordio
from tests.fixtures.sagemaker import clients_for, create_endpoint, start_emulator
from training.artifact import load_model_tar
from training.data import read_channel_csv
from training.inference import predict

pytestmark = pytest.mark.integration

ROW = (
    "13.49,22.3,86.91,561.0,0.08752,0.07698,0.04751,0.03384,0.1809,0.05718,0.2338,1.353,1.735,20.2,"
    "0.004455,0.01382,0.02095,0.01184,0.01641,0.001956,15.15,31.82,99.0,698.8,0.1162,0.1711,0.2282,"
    "0.1282,0.2871,0.06917"
)
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def test_rows(training_channels) -> np.ndarray:
    X, _ = read_channel_csv(Path(training_channels["test"]))
    return X


@pytest.fixture(scope="module")
def expected(trained_model_tar, test_rows) -> list[dict]:
    """What the training pipeline's own inference says for the test rows."""
    return predict(load_model_tar(trained_model_tar), test_rows)


def _invoke(runtime, endpoint: str, body, content_type: str, **kwargs) -> tuple[dict, bytes]:
    response = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, **kwargs)
    return response, response["Body"].read()


def _model_error(info: pytest.ExceptionInfo[ClientError]) -> dict:
    response = info.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["Error"]["Message"].startswith(f"Received client error ({response['OriginalStatusCode']}) from primary with message")
    assert response["LogStreamArn"].startswith("arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/")
    return response


def test_csv_single_and_batch_match_the_training_pipeline(sagemaker_clients, deployed_endpoint, test_rows, expected):
    rt = sagemaker_clients.runtime
    response, body = _invoke(rt, deployed_endpoint, ",".join(repr(float(v)) for v in test_rows[0]), "text/csv")
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    single = json.loads(body)["predictions"][0]
    assert single["predicted_label"] == expected[0]["predicted_label"]
    assert single["score"] == pytest.approx(expected[0]["score"], rel=1e-9)

    csv = "\n".join(",".join(repr(float(v)) for v in row) for row in test_rows) + "\n"
    _, body = _invoke(rt, deployed_endpoint, csv, "text/csv; charset=utf-8")
    predictions = json.loads(body)["predictions"]
    assert [p["predicted_label"] for p in predictions] == [e["predicted_label"] for e in expected]
    np.testing.assert_allclose([p["score"] for p in predictions], [e["score"] for e in expected], rtol=1e-9)


def test_json_jsonlines_and_protobuf_requests_and_responses(sagemaker_clients, deployed_endpoint, test_rows, expected):
    rt = sagemaker_clients.runtime
    rows = test_rows[:5].tolist()
    want = [e["predicted_label"] for e in expected[:5]]
    _, body = _invoke(rt, deployed_endpoint, json.dumps({"instances": [{"features": r} for r in rows]}), "application/json")
    assert [p["predicted_label"] for p in json.loads(body)["predictions"]] == want
    _, body = _invoke(rt, deployed_endpoint, json.dumps({"instances": [{"data": {"features": {"values": r}}} for r in rows]}),
                      "application/json")
    assert [p["predicted_label"] for p in json.loads(body)["predictions"]] == want
    response, body = _invoke(rt, deployed_endpoint, "\n".join(json.dumps({"features": r}) for r in rows), "application/jsonlines",
                             Accept="application/jsonlines")
    assert response["ContentType"] == "application/jsonlines"
    assert [json.loads(line)["predicted_label"] for line in body.decode().splitlines()] == want
    response, body = _invoke(rt, deployed_endpoint, recordio.encode_dense_matrix(np.array(rows)), "application/x-recordio-protobuf",
                             Accept="application/x-recordio-protobuf")
    assert response["ContentType"] == "application/x-recordio-protobuf"
    records = recordio.decode_records(body)
    assert [int(r.label["predicted_label"].values[0]) for r in records] == want
    np.testing.assert_allclose([r.label["score"].values[0] for r in records], [e["score"] for e in expected[:5]], rtol=1e-6)


def test_custom_attributes_are_echoed(sagemaker_clients, deployed_endpoint):
    response, _ = _invoke(sagemaker_clients.runtime, deployed_endpoint, ROW, "text/csv", CustomAttributes="trace-id=abc123",
                          InferenceId="req-1")
    assert response["CustomAttributes"] == "trace-id=abc123"


@pytest.mark.parametrize(
    "body, content_type, status, fragment",
    [
        ("1,2,3", "text/csv", 400, "The feature dimension of the input: 3 does not match the feature dimension of the model: 30"),
        (ROW.replace("13.49", "abc"), "text/csv", 400, "could not convert string 'abc'"),
        (ROW.replace("13.49", "nan"), "text/csv", 400, "features must be finite numbers"),
        (ROW.replace("13.49", "inf"), "text/csv", 400, "features must be finite numbers"),
        (ROW.replace("13.49", "1e999"), "text/csv", 400, "features must be finite numbers"),
        ("", "text/csv", 400, "the CSV payload is empty"),
        (ROW + "\n1,2", "text/csv", 400, "number of columns changed"),
        ('{"instances": [{"features": [1, 2', "application/json", 400, "not valid JSON"),
        ('{"instances": [{"features": ["x"]}]}', "application/json", 400, "not a number"),
        ("\x0a\xd7\x23\xce" * 3, "application/x-recordio-protobuf", 400, "RecordIO"),
        (ROW, "text/plain", 415, "Content type text/plain is not supported"),
    ],
)
def test_payloads_the_container_rejects_are_model_errors(sagemaker_clients, deployed_endpoint, body, content_type, status, fragment):
    with pytest.raises(ClientError) as info:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName=deployed_endpoint, Body=body, ContentType=content_type)
    response = _model_error(info)
    assert response["OriginalStatusCode"] == status
    assert fragment in response["OriginalMessage"]
    assert fragment in response["Error"]["Message"]


def test_unsupported_accept_is_a_model_error(sagemaker_clients, deployed_endpoint):
    with pytest.raises(ClientError) as info:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName=deployed_endpoint, Body=ROW, ContentType="text/csv", Accept="text/csv")
    assert _model_error(info)["OriginalStatusCode"] == 406


def test_request_errors_are_validation_errors(sagemaker_clients, deployed_endpoint):
    rt = sagemaker_clients.runtime
    cases = [
        (dict(EndpointName="no-such-endpoint", Body=ROW, ContentType="text/csv"),
         "Endpoint no-such-endpoint of account 000000000000 not found."),
        (dict(EndpointName=deployed_endpoint, Body=b"1" * 6291457, ContentType="text/csv"),
         "Member must have length less than or equal to 6291456"),
        (dict(EndpointName=deployed_endpoint, Body=ROW, ContentType="text/csv", CustomAttributes="x" * 1025),
         "at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024"),
        (dict(EndpointName=deployed_endpoint, Body=ROW, ContentType="text/csv", TargetVariant="NoSuchVariant"),
         "NoSuchVariant"),
        (dict(EndpointName="bad_name", Body=ROW, ContentType="text/csv"),
         "Value 'bad_name' at 'endpointName' failed to satisfy constraint"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ClientError) as info:
            rt.invoke_endpoint(**kwargs)
        response = info.value.response
        assert response["Error"]["Code"] == "ValidationError", kwargs
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert message in response["Error"]["Message"]


@pytest.mark.parametrize("operation, kwargs", [
    ("InvokeEndpointAsync", {"InputLocation": "s3://bucket/input.csv"}),
    ("InvokeEndpointWithResponseStream", {"Body": ROW, "ContentType": "text/csv"}),
])
def test_runtime_operations_the_emulator_does_not_serve_are_named(sagemaker_clients, deployed_endpoint, operation, kwargs):
    """A real SageMaker Runtime operation is named as such, never called "not part of the SageMaker API"."""
    call = getattr(sagemaker_clients.runtime, xform_name(operation))
    with pytest.raises(ClientError) as info:
        call(EndpointName=deployed_endpoint, **kwargs)
    error = info.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    assert f"SageMakerRuntime.{operation} " in error["Message"] and "does not implement" in error["Message"]
    assert "not part of the SageMaker API" not in error["Message"]


def test_endpoint_not_in_service_answers_like_sagemaker(tmp_path, localstack, sagemaker_model_url):
    proc = start_emulator(tmp_path / "slow", localstack.url, "--transition-delay", "30")
    try:
        clients = clients_for(proc.url, localstack.url)
        name = create_endpoint(clients.sagemaker, sagemaker_model_url, wait=False)
        assert clients.sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
        with pytest.raises(ClientError) as info:
            clients.runtime.invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv")
        assert info.value.response["Error"] == {"Code": "ValidationError", "Message": f"Endpoint {name} of account 000000000000 not found."}
    finally:
        proc.stop()


def test_variants_share_traffic_by_weight_and_target_variant_routes(sagemaker_clients, sagemaker_model_url):
    rt = sagemaker_clients.runtime
    name = create_endpoint(sagemaker_clients.sagemaker, {"Blue": sagemaker_model_url, "Green": sagemaker_model_url},
                           weights={"Blue": 3.0, "Green": 1.0})
    variants = [rt.invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv")["InvokedProductionVariant"] for _ in range(400)]
    counts = Counter(variants)
    assert set(counts) == {"Blue", "Green"}
    assert 0.6 < counts["Blue"] / 400 < 0.9
    for variant in ("Blue", "Green"):
        response = rt.invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv", TargetVariant=variant)
        assert response["InvokedProductionVariant"] == variant
    described = sagemaker_clients.sagemaker.describe_endpoint(EndpointName=name)
    assert {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]} == {"Blue": 3.0, "Green": 1.0}
    sagemaker_clients.sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "Blue", "DesiredWeight": 0.0}])
    sagemaker_clients.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.1})
    assert {rt.invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv")["InvokedProductionVariant"] for _ in range(30)} == {"Green"}


def _client_env(emulator_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL_SAGEMAKER=emulator_url, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=emulator_url,
    )
    return env


def test_aws_cli_invoke_endpoint(sagemaker_emulator, deployed_endpoint, tmp_path, expected):
    payload = tmp_path / "row.csv"
    payload.write_text(ROW)
    out = tmp_path / "out.json"
    command = [str(VENV_BIN / "aws"), "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", deployed_endpoint,
               "--content-type", "text/csv", "--body", f"fileb://{payload}", "--custom-attributes", "cli-test", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=_client_env(sagemaker_emulator.url), timeout=60)
    assert done.returncode == 0, done.stderr
    metadata = json.loads(done.stdout)
    assert metadata["ContentType"] == "application/json"
    assert metadata["InvokedProductionVariant"] == "AllTraffic"
    assert metadata["CustomAttributes"] == "cli-test"
    assert json.loads(out.read_text())["predictions"][0]["predicted_label"] in (0, 1)

    payload.write_text("1,2,3")
    done = subprocess.run(command, capture_output=True, text=True, env=_client_env(sagemaker_emulator.url), timeout=60)
    assert done.returncode != 0
    assert "An error occurred (ModelError) when calling the InvokeEndpoint operation: Received client error (400)" in done.stderr

    described = subprocess.run([str(VENV_BIN / "aws"), "sagemaker", "describe-endpoint", "--endpoint-name", deployed_endpoint],
                                capture_output=True, text=True, env=_client_env(sagemaker_emulator.url), timeout=60)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["EndpointStatus"] == "InService"
    missing = subprocess.run([str(VENV_BIN / "aws"), "sagemaker", "describe-endpoint", "--endpoint-name", "nope"],
                             capture_output=True, text=True, env=_client_env(sagemaker_emulator.url), timeout=60)
    assert missing.returncode != 0 and "(ValidationException) when calling the DescribeEndpoint operation: Could not find endpoint" in missing.stderr


SDK_SCRIPT = """
import json, sys
from sagemaker.core.resources import Endpoint
endpoint = Endpoint.get(endpoint_name=sys.argv[1], region="us-east-1")
result = endpoint.invoke(body=sys.argv[2], content_type="text/csv", accept="application/json")
body = result.body.read() if hasattr(result.body, "read") else result.body
print(json.dumps({"status": endpoint.endpoint_status, "variant": result.invoked_production_variant,
                  "content_type": result.content_type, "body": json.loads(body)}))
try:
    endpoint.invoke(body="1,2", content_type="text/csv")
except Exception as error:
    print(json.dumps({"error": type(error).__name__, "code": error.response["Error"]["Code"]}))
"""


@pytest.mark.slow
def test_sagemaker_core_endpoint_invoke(sagemaker_emulator, deployed_endpoint):
    done = subprocess.run([sys.executable, "-c", SDK_SCRIPT, deployed_endpoint, ROW], capture_output=True, text=True,
                          env=_client_env(sagemaker_emulator.url), timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.strip().splitlines() if line.startswith("{")]
    assert lines[0]["status"] == "InService"
    assert lines[0]["variant"] == "AllTraffic" and lines[0]["content_type"] == "application/json"
    assert lines[0]["body"]["predictions"][0]["predicted_label"] in (0, 1)
    assert lines[1] == {"error": "ModelError", "code": "ModelError"}
