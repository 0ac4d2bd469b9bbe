"""The control plane driven by boto3 (awsJson1_1) against the emulator subprocess: resources,
errors with SageMaker's codes/statuses/messages, pagination, tags, waiters, quotas."""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, create_endpoint, start_emulator, unique_name

pytestmark = pytest.mark.integration


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_model_lifecycle_and_errors(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    name = unique_name("model")
    arn = sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN,
                          PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": sagemaker_model_url},
                          Tags=[{"Key": "team", "Value": "ml"}])["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:model/{name}"
    described = sm.describe_model(ModelName=name)
    assert described["PrimaryContainer"]["ModelDataUrl"] == sagemaker_model_url
    assert isinstance(described["CreationTime"], dt.datetime)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    with pytest.raises(ClientError) as info:
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})
    assert _error(info) == ("ValidationException", 400, f'Cannot create already existing model "{arn}".')

    sm.delete_model(ModelName=name)
    for call in (sm.describe_model, sm.delete_model):
        with pytest.raises(ClientError) as info:
            call(ModelName=name)
        assert _error(info) == ("ValidationException", 400, f'Could not find model "{arn}".')


def test_endpoint_config_requires_existing_models(sagemaker_clients):
    sm = sagemaker_clients.sagemaker
    name = unique_name("cfg")
    with pytest.raises(ClientError) as info:
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": "v", "ModelName": "missing-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    assert _error(info) == ("ValidationException", 400,
                            'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/missing-model".')
    with pytest.raises(ClientError) as info:
        sm.describe_endpoint_config(EndpointConfigName=name)
    assert _error(info)[0:2] == ("ValidationException", 400)
    assert "Could not find endpoint configuration" in _error(info)[2]


def test_endpoint_lifecycle_waiters_and_descriptions(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    name = create_endpoint(sm, sagemaker_model_url, wait=False)
    first = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
    assert first in ("Creating", "InService")
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    endpoint = sm.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == f"{name}-config"
    variant = endpoint["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 1
    assert variant["DeployedImages"][0]["SpecifiedImage"] == LINEAR_LEARNER_IMAGE
    assert endpoint["LastModifiedTime"] >= endpoint["CreationTime"]
    assert name in [e["EndpointName"] for e in sm.list_endpoints(NameContains=name)["Endpoints"]]

    with pytest.raises(ClientError) as info:
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    assert _error(info) == ("ValidationException", 400,
                            f'Cannot create already existing endpoint "{endpoint["EndpointArn"]}".')

    sm.delete_endpoint(EndpointName=name)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    with pytest.raises(ClientError) as info:
        sm.describe_endpoint(EndpointName=name)
    assert _error(info) == ("ValidationException", 400, f'Could not find endpoint "{endpoint["EndpointArn"]}".')
    with pytest.raises(ClientError) as info:
        sm.delete_endpoint(EndpointName=name)
    assert _error(info)[0] == "ValidationException"


def test_endpoint_with_unloadable_artifact_fails_with_reason(sagemaker_clients, sagemaker_artifact_bucket):
    sm, s3 = sagemaker_clients.sagemaker, sagemaker_clients.s3
    missing = create_endpoint(sm, f"s3://{sagemaker_artifact_bucket}/no/such/model.tar.gz", wait=False)
    s3.put_object(Bucket=sagemaker_artifact_bucket, Key="garbage/model.tar.gz", Body=b"not a tarball")
    garbage = create_endpoint(sm, f"s3://{sagemaker_artifact_bucket}/garbage/model.tar.gz", wait=False)
    other_image = create_endpoint(sm, f"s3://{sagemaker_artifact_bucket}/garbage/model.tar.gz", wait=False,
                                  image="123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
    for name, reason in ((missing, "Failed to download model data"), (garbage, "Failed to extract model data archive"),
                         (other_image, "linear-learner")):
        with pytest.raises(WaiterError):
            sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        endpoint = sm.describe_endpoint(EndpointName=name)
        assert endpoint["EndpointStatus"] == "Failed"
        assert reason in endpoint["FailureReason"]
        sm.delete_endpoint(EndpointName=name)  # a Failed endpoint can be deleted


def test_validation_errors_come_from_the_service_model(sagemaker_emulator):
    def post(target: str, body: bytes) -> tuple[int, Any, dict]:
        request = urllib.request.Request(sagemaker_emulator.url + "/", data=body, method="POST",
                                         headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    status, headers, body = post("SageMaker.CreateEndpoint", b'{"EndpointName": "bad_name!", "EndpointConfigName": "c"}')
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException" and body["__type"] == "ValidationException"
    assert body["message"] == (
        "1 validation error detected: Value 'bad_name!' at 'endpointName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )
    status, _, body = post("SageMaker.CreateEndpoint", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, _, body = post("SageMaker.NoSuchOperation", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, _, body = post("SageMaker.CreateNotebookInstance", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException") and "does not implement" in body["message"]
    status, _, body = post("", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_list_pagination_sorting_and_filters(sagemaker_clients):
    sm = sagemaker_clients.sagemaker
    prefix = unique_name("page")
    for index in range(7):
        sm.create_model(ModelName=f"{prefix}-{index}", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})
    pages = list(sm.get_paginator("list_models").paginate(NameContains=prefix, SortBy="Name", SortOrder="Ascending",
                                                          PaginationConfig={"PageSize": 3}))
    assert [len(p["Models"]) for p in pages] == [3, 3, 1]
    assert [m["ModelName"] for p in pages for m in p["Models"]] == [f"{prefix}-{i}" for i in range(7)]
    newest = sm.list_models(NameContains=prefix, MaxResults=2)["Models"]  # default: CreationTime, Descending
    assert [m["ModelName"] for m in newest] == [f"{prefix}-6", f"{prefix}-5"]
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert sm.list_models(NameContains=prefix, CreationTimeAfter=future)["Models"] == []
    with pytest.raises(ClientError) as info:
        sm.list_models(NextToken="garbage!")
    assert _error(info)[0:2] == ("ValidationException", 400)
    # A well-formed token whose offset is not an integer (json reads 1e400 as infinity).
    forged = base64.urlsafe_b64encode(b'{"offset": 1e400}').decode()
    with pytest.raises(ClientError) as info:
        sm.list_models(NextToken=forged)
    assert _error(info)[0:2] == ("ValidationException", 400)


def test_tags_round_trip(sagemaker_clients):
    sm = sagemaker_clients.sagemaker
    name = unique_name("tagged")
    arn = sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as info:
        sm.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:000000000000:model/nope")
    assert _error(info)[0] == "ValidationException"


def test_quotas_give_resource_limit_exceeded(tmp_path, localstack, sagemaker_model_url):
    from tests.fixtures.sagemaker import clients_for

    proc = start_emulator(tmp_path / "limited", localstack.url, "--max-endpoints", "1", "--max-instances-per-type", "2")
    try:
        sm = clients_for(proc.url, localstack.url).sagemaker
        create_endpoint(sm, sagemaker_model_url, name="first")
        with pytest.raises(ClientError) as info:
            create_endpoint(sm, sagemaker_model_url, name="second")
        code, status, message = _error(info)
        assert (code, status) == ("ResourceLimitExceeded", 400)
        assert "'Number of endpoints' is 1 Endpoints" in message
        sm.create_model(ModelName="big", ExecutionRoleArn=ROLE_ARN,
                        PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": sagemaker_model_url})
        sm.create_endpoint_config(EndpointConfigName="big", ProductionVariants=[
            {"VariantName": "v", "ModelName": "big", "InitialInstanceCount": 3, "InstanceType": "ml.m5.large"}])
        with pytest.raises(ClientError) as info:
            sm.update_endpoint(EndpointName="first", EndpointConfigName="big")
        code, status, message = _error(info)
        assert (code, status) == ("ResourceLimitExceeded", 400)
        assert "'ml.m5.large for endpoint usage' is 2 Instances" in message and "request delta of 3 Instances" in message
        assert sm.describe_endpoint(EndpointName="first")["EndpointStatus"] == "InService"
    finally:
        proc.stop()


def test_update_of_a_creating_or_missing_endpoint_is_refused(tmp_path, localstack, sagemaker_model_url):
    from tests.fixtures.sagemaker import clients_for

    proc = start_emulator(tmp_path / "slow", localstack.url, "--transition-delay", "3")
    try:
        sm = clients_for(proc.url, localstack.url).sagemaker
        name = create_endpoint(sm, sagemaker_model_url, wait=False)
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
        for call in (lambda: sm.update_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config"),
                     lambda: sm.delete_endpoint(EndpointName=name)):
            with pytest.raises(ClientError) as info:
                call()
            assert _error(info)[0:2] == ("ValidationException", 400)
            assert "Cannot update in-progress endpoint" in _error(info)[2]
        with pytest.raises(ClientError) as info:
            sm.update_endpoint(EndpointName="missing", EndpointConfigName=f"{name}-config")
        assert "Could not find endpoint" in _error(info)[2]
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 40})
        sm.delete_endpoint(EndpointName=name)
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Deleting"
        sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 40})
    finally:
        proc.stop()
