"""End to end on the embedded stack: REST API (LocalStack) -> Lambda -> SageMaker emulator.

The stack is deployed once per session by the `sagestack_stack` fixture (deploy/pytest_plugin.py,
the same plugin users put in their CI). Tests that change the stack put it back as they found it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.stack import ORIGINAL_ROW

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MUTATING = ("Create", "Put", "Update", "Delete", "Add", "Remove", "Tag", "Upload", "Stop")


def test_original_request_gives_the_original_answer(sagestack_client):
    answer = sagestack_client.post_raw(json.dumps({"data": ORIGINAL_ROW}).encode())
    assert answer.status == 200
    assert answer.body == "B"
    raw = sagestack_client._http.post(sagestack_client.invoke_url, content=json.dumps({"data": ORIGINAL_ROW}), headers=sagestack_client._headers())
    assert raw.content == b'"B"'  # byte for byte, as the 2018 example answered
    assert raw.headers["content-type"].startswith("application/json")


def test_batch_and_verbose_forms(sagestack_client):
    single = [sagestack_client.predict(ORIGINAL_ROW).body for _ in range(1)]
    batch = sagestack_client.predict([ORIGINAL_ROW, ORIGINAL_ROW, [float(v) for v in ORIGINAL_ROW.split(",")]])
    assert batch.status == 200 and batch.body == single * 3
    verbose = sagestack_client.predict(ORIGINAL_ROW, verbose=True)
    assert verbose.status == 200
    assert verbose.body["label"] == "B" and 0.0 <= verbose.body["score"] < 0.5
    by_query = sagestack_client.post_raw(json.dumps({"data": ORIGINAL_ROW}).encode(), params={"verbose": "true"})
    assert by_query.body == verbose.body


def test_test_split_accuracy_through_the_api(sagestack_stack, sagestack_client):
    from training.data import prepare_channels, read_channel_csv

    from deploy.stack import channels_dir

    with sagestack_stack.env():
        channels = prepare_channels(channels_dir())
    features, labels = read_channel_csv(Path(channels["test"]))
    answer = sagestack_client.predict([",".join(repr(v) for v in row) for row in features.tolist()])
    assert answer.status == 200
    expected = ["M" if y == 1 else "B" for y in labels]
    accuracy = sum(a == e for a, e in zip(answer.body, expected)) / len(expected)
    assert accuracy >= 0.9, (accuracy, answer.body)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"rows": "1"}', 'no "data" field'),
        (json.dumps({"data": "1,2,3"}).encode(), "has 3 values; expected 30"),
        (json.dumps({"data": ORIGINAL_ROW.replace("22.3", "abc")}).encode(), "not a number"),
        (json.dumps({"data": ORIGINAL_ROW.replace("22.3", "NaN")}).encode(), "NaN"),
        (json.dumps({"data": [ORIGINAL_ROW] * 1001}).encode(), "at most 1000 rows"),
        (b"", "body is empty"),
    ],
)
def test_bad_input_is_400_with_a_message(sagestack_client, body, needle):
    answer = sagestack_client.post_raw(body)
    assert answer.status == 400, answer
    assert needle in answer.body["message"]


@pytest.mark.parametrize("key", [None, "not-the-key"])
def test_missing_or_wrong_api_key_is_403(sagestack_stack, key):
    with sagestack_stack.client(api_key=key) as client:
        answer = client.predict(ORIGINAL_ROW)
    assert answer.status == 403
    assert answer.body == {"message": "Forbidden"}


def test_usage_plan_settings(sagestack_stack, sagestack_outputs):
    """LocalStack stores the plan but does not throttle: 429 appears only on AWS (see README)."""
    apigw = sagestack_stack.session().client("apigateway")
    (plan,) = [p for p in apigw.get_usage_plans()["items"] if p["name"] == "sagestack-plan"]
    assert plan["throttle"] == {"rateLimit": 50.0, "burstLimit": 100}
    assert plan["quota"]["period"] == "DAY"
    assert {"apiId": sagestack_outputs["api_id"], "stage": "prod"} in [{"apiId": s["apiId"], "stage": s["stage"]} for s in plan["apiStages"]]
    keys = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [k["id"] for k in keys] == [sagestack_outputs["api_key_id"]]
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=sagestack_outputs["api_id"])["items"]}
    method = apigw.get_method(restApiId=sagestack_outputs["api_id"], resourceId=resources["/ml-model-api"]["id"], httpMethod="POST")
    assert method["apiKeyRequired"] is True


def test_direct_lambda_invocation_with_the_same_payload(sagestack_stack, sagestack_outputs):
    lam = sagestack_stack.session().client("lambda")
    response = lam.invoke(FunctionName=sagestack_outputs["function_name"], Payload=json.dumps({"data": ORIGINAL_ROW}))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == "B"
    env = lam.get_function_configuration(FunctionName=sagestack_outputs["function_name"])["Environment"]["Variables"]
    # As on AWS, ENDPOINT_NAME is all it has: LocalStack's AWS_ENDPOINT_URL and its SageMaker forwarding do the rest.
    assert env == {"ENDPOINT_NAME": "sagestack"}


def test_unmodified_aws_cli_talks_to_the_stack_through_the_kit_profile(sagestack_stack, sagestack_outputs):
    from deploy.profiles import local_environment

    with sagestack_stack.env():
        env = local_environment()
    import os
    import sys

    cli = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(cli), "sagemaker", "describe-endpoint", "--endpoint-name", sagestack_outputs["endpoint_name"], "--query", "EndpointStatus", "--output", "text"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "InService"


def test_redeploy_is_a_no_op(sagestack_stack):
    calls: list[str] = []
    stack = sagestack_stack.stack()
    stack.session.events.register("provide-client-params", lambda event_name, **_: calls.append(event_name.split(".", 1)[1]))
    with sagestack_stack.env():
        outputs = stack.deploy().to_json()
    assert calls, "the hook saw no calls"
    assert [c for c in calls if c.split(".", 1)[1].startswith(MUTATING)] == []
    assert {k: outputs[k] for k in ("invoke_url", "api_key", "endpoint_name")} == {k: sagestack_stack.outputs[k] for k in ("invoke_url", "api_key", "endpoint_name")}
    with sagestack_stack.env():
        assert all(s.exists and s.matches for s in sagestack_stack.stack().status())


def test_model_update_swaps_the_endpoint_without_a_failed_request(sagestack_stack):
    """Redeploy with another hyperparameter while clients call the API: every request answers 200."""
    results: list[tuple[int, Any]] = []
    stop = threading.Event()

    def hammer() -> None:
        with sagestack_stack.client() as client:
            while not stop.is_set():
                answer = client.predict(ORIGINAL_ROW)
                results.append((answer.status, answer.body))

    workers = [threading.Thread(target=hammer) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        changed = sagestack_stack.stack(hyperparameters={"epochs": "20"})
        with sagestack_stack.env():
            new = changed.deploy().to_json()
        time.sleep(0.3)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    try:
        assert new["endpoint_config"] != sagestack_stack.outputs["endpoint_config"]
        assert new["invoke_url"] == sagestack_stack.outputs["invoke_url"]
        sm = sagestack_stack.session().client("sagemaker")
        assert sm.describe_endpoint(EndpointName="sagestack")["EndpointConfigName"] == new["endpoint_config"]
        assert len(results) > 5
        failures = [r for r in results if r[0] != 200 or r[1] not in ("B", "M")]
        assert failures == [], failures[:5]
    finally:
        with sagestack_stack.env():
            restored = sagestack_stack.stack().deploy().to_json()  # back to the session's model for later tests
        assert restored["training_job"] == sagestack_stack.outputs["training_job"]


def _implements_delete_training_job(sm: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        sm.delete_training_job(TrainingJobName="e2e-probe-never-created")
    except ClientError as exc:
        return exc.response["Error"]["Code"] != "UnknownOperationException"
    return True


def test_destroy_leaves_nothing(sagestack_stack):
    """A second stack on the same services: deploy, destroy (twice), then nothing of it remains."""
    with sagestack_stack.env():
        from deploy.config import StackConfig
        from deploy.stack import Stack

        other = Stack(sagestack_stack.session(), StackConfig(stack_name="e2e-gone"), log=lambda line: None)
        out = other.deploy()
        deleted = other.destroy()
        assert deleted and deleted[0] == "endpoint e2e-gone"
        assert other.destroy() == []
        states = other.status()
    assert [s for s in states if s.exists and s.kind != "training-job"] == []
    session = sagestack_stack.session()
    sm = session.client("sagemaker")
    assert [e for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"].startswith("e2e-gone")] == []
    assert [c for c in sm.list_endpoint_configs()["EndpointConfigs"] if c["EndpointConfigName"].startswith("e2e-gone")] == []
    assert [m for m in sm.list_models()["Models"] if m["ModelName"].startswith("e2e-gone")] == []
    jobs = [j for j in sm.list_training_jobs()["TrainingJobSummaries"] if j["TrainingJobName"].startswith("e2e-gone")]
    if _implements_delete_training_job(sm):
        assert jobs == []
    else:  # destroy said it kept the records; a finished job holds no compute and costs nothing
        assert all(j["TrainingJobStatus"] in {"Completed", "Failed", "Stopped"} for j in jobs)
    assert [f for f in session.client("lambda").list_functions()["Functions"] if f["FunctionName"].startswith("e2e-gone")] == []
    apigw = session.client("apigateway")
    assert [a for a in apigw.get_rest_apis()["items"] if a["name"].startswith("e2e-gone")] == []
    assert [p for p in apigw.get_usage_plans()["items"] if p["name"].startswith("e2e-gone")] == []
    assert [k for k in apigw.get_api_keys()["items"] if k["name"].startswith("e2e-gone")] == []
    assert [r for r in session.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("e2e-gone")] == []
    assert out.bucket not in [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    assert session.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/e2e-gone")["logGroups"] == []
    # The session's own stack is untouched.
    with sagestack_stack.client() as client:
        assert client.predict(ORIGINAL_ROW).body == "B"
