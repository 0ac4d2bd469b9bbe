"""Conformance with the SageMaker API Reference, driven through boto3 like the users' code:
Describe*/Create* response members, ARN format, error codes/statuses/messages, List* filters
and paginators, waiters, InvokeEndpoint headers/errors/bodies, timestamps and tags."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, unique_name

pytestmark = pytest.mark.integration

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROW = ",".join(["1.0"] * 30)
NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def _model(sm: Any, url: str, name: str | None = None, **extra: Any) -> str:
    name = name or unique_name("Conf-Model")
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN,
                    PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": url}, **extra)
    return name


def _config(sm: Any, model: str, name: str | None = None, **extra: Any) -> str:
    name = name or unique_name("Conf-Config")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}], **extra)
    return name


def _aware(value: Any) -> None:
    assert isinstance(value, dt.datetime) and value.tzinfo is not None, value


# --- Create* / Describe* --------------------------------------------------------------------


def test_create_and_describe_model_endpoint_config_endpoint(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    model = unique_name("Conf-Model")
    created = sm.create_model(ModelName=model, ExecutionRoleArn=ROLE_ARN,
                              PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": sagemaker_model_url})
    assert created["ModelArn"] == _arn("model", model)
    described = sm.describe_model(ModelName=model)
    assert described["ModelName"] == model and described["ModelArn"] == _arn("model", model)
    assert described["ExecutionRoleArn"] == ROLE_ARN
    assert described["PrimaryContainer"]["Image"] == LINEAR_LEARNER_IMAGE
    assert described["PrimaryContainer"]["ModelDataUrl"] == sagemaker_model_url
    assert described["PrimaryContainer"]["Mode"] == "SingleModel"
    assert described["EnableNetworkIsolation"] is False
    _aware(described["CreationTime"])

    config = unique_name("Conf-Config")
    created = sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    assert created["EndpointConfigArn"] == _arn("endpoint-config", config)
    described = sm.describe_endpoint_config(EndpointConfigName=config)
    assert described["EndpointConfigName"] == config and described["EndpointConfigArn"] == _arn("endpoint-config", config)
    variant = described["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic" and variant["ModelName"] == model
    assert variant["InitialInstanceCount"] == 1 and variant["InstanceType"] == "ml.m5.large"
    assert variant["InitialVariantWeight"] == 1.0
    _aware(described["CreationTime"])

    endpoint = unique_name("Conf-Endpoint")
    created = sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert created["EndpointArn"] == _arn("endpoint", endpoint)
    creating = sm.describe_endpoint(EndpointName=endpoint)
    assert creating["EndpointStatus"] in ("Creating", "InService")
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointName"] == endpoint and described["EndpointArn"] == _arn("endpoint", endpoint)
    assert described["EndpointConfigName"] == config and described["EndpointStatus"] == "InService"
    assert "FailureReason" not in described
    _aware(described["CreationTime"])
    _aware(described["LastModifiedTime"])
    assert described["LastModifiedTime"] >= described["CreationTime"]
    (summary,) = described["ProductionVariants"]
    assert summary["VariantName"] == "AllTraffic"
    assert summary["CurrentWeight"] == 1.0 and summary["DesiredWeight"] == 1.0
    assert summary["CurrentInstanceCount"] == 1 and summary["DesiredInstanceCount"] == 1
    (image,) = summary["DeployedImages"]
    assert image["SpecifiedImage"] == LINEAR_LEARNER_IMAGE and image["ResolvedImage"]
    _aware(image["ResolutionTime"])

    sm.delete_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    sm.delete_endpoint_config(EndpointConfigName=config)
    sm.delete_model(ModelName=model)


def test_failed_endpoint_has_failure_reason_and_waiter_fails_fast(sagemaker_clients, sagemaker_artifact_bucket):
    sm = sagemaker_clients.sagemaker
    model = _model(sm, f"s3://{sagemaker_artifact_bucket}/no/such/model.tar.gz")
    endpoint = unique_name("conf-failed")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=_config(sm, model))
    started = time.monotonic()
    with pytest.raises(WaiterError) as excinfo:
        sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    assert "terminal failure state" in str(excinfo.value)
    assert time.monotonic() - started < 50
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed" and described["FailureReason"]
    sm.delete_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("call, kwargs, label, kind", [
    ("describe_endpoint", {"EndpointName": "Conf-Missing"}, "endpoint", "endpoint"),
    ("delete_endpoint", {"EndpointName": "Conf-Missing"}, "endpoint", "endpoint"),
    ("update_endpoint", {"EndpointName": "Conf-Missing", "EndpointConfigName": "x"}, "endpoint", "endpoint"),
    ("describe_model", {"ModelName": "Conf-Missing"}, "model", "model"),
    ("delete_model", {"ModelName": "Conf-Missing"}, "model", "model"),
    ("describe_endpoint_config", {"EndpointConfigName": "Conf-Missing"}, "endpoint configuration", "endpoint-config"),
    ("delete_endpoint_config", {"EndpointConfigName": "Conf-Missing"}, "endpoint configuration", "endpoint-config"),
    ("create_endpoint", {"EndpointName": "conf-new", "EndpointConfigName": "Conf-Missing"}, "endpoint configuration", "endpoint-config"),
])
def test_missing_resources_are_validation_exceptions(sagemaker_clients, call, kwargs, label, kind):
    with pytest.raises(ClientError) as excinfo:
        getattr(sagemaker_clients.sagemaker, call)(**kwargs)
    assert _error(excinfo) == ("ValidationException", 400, f'Could not find {label} "{_arn(kind, "Conf-Missing")}".')


def test_missing_training_job(sagemaker_clients):
    for call in ("describe_training_job", "stop_training_job"):
        with pytest.raises(ClientError) as excinfo:
            getattr(sagemaker_clients.sagemaker, call)(TrainingJobName="conf-no-such-job")
        assert _error(excinfo) == ("ValidationException", 400, "Requested resource not found.")


def test_duplicates(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    model = _model(sm, sagemaker_model_url)
    with pytest.raises(ClientError) as excinfo:
        _model(sm, sagemaker_model_url, name=model)
    assert _error(excinfo) == ("ValidationException", 400, f'Cannot create already existing model "{_arn("model", model)}".')
    config = _config(sm, model)
    with pytest.raises(ClientError) as excinfo:
        _config(sm, model, name=config)
    assert _error(excinfo) == (
        "ValidationException", 400, f'Cannot create already existing endpoint configuration "{_arn("endpoint-config", config)}".')


@pytest.mark.parametrize("call, kwargs, member, value, pattern", [
    ("describe_endpoint", {"EndpointName": "bad_name"}, "endpointName", "bad_name", NAME_PATTERN),
    ("describe_model", {"ModelName": "-lead"}, "modelName", "-lead", r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"),
    ("describe_endpoint_config", {"EndpointConfigName": "a.b"}, "endpointConfigName", "a.b", NAME_PATTERN),
])
def test_name_pattern_violations(sagemaker_clients, call, kwargs, member, value, pattern):
    """SageMaker's messages show the pattern with the leading "^" that botocore's model drops."""
    with pytest.raises(ClientError) as excinfo:
        getattr(sagemaker_clients.sagemaker, call)(**kwargs)
    assert _error(excinfo) == (
        "ValidationException", 400,
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {pattern}",
    )


# --- training jobs --------------------------------------------------------------------------


def _training_request(name: str, bucket: str, image: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/none/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "HyperParameters": {"feature_dim": "30", "predictor_type": "binary_classifier"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Tags": [{"Key": "project", "Value": "conformance"}],
    }


def test_training_job_describe_members_duplicate_and_failed_waiter(sagemaker_clients, sagemaker_artifact_bucket):
    sm = sagemaker_clients.sagemaker
    name = unique_name("Conf-Job")
    # AWS refuses an empty File-mode prefix at the call, so the channel holds an object.
    sagemaker_clients.s3.put_object(Bucket=sagemaker_artifact_bucket, Key="none/train.csv", Body=b"1,2\n")
    request = _training_request(name, sagemaker_artifact_bucket, "000000000000.dkr.ecr.us-east-1.amazonaws.com/custom:1")
    created = sm.create_training_job(**request)
    assert created["TrainingJobArn"] == _arn("training-job", name)
    with pytest.raises(ClientError) as excinfo:
        sm.create_training_job(**request)
    assert _error(excinfo) == (
        "ResourceInUse", 400,
        "Training job names must be unique within an AWS account and region, and a training job with this name "
        f"already exists ({_arn('training-job', name)})",
    )
    with pytest.raises(WaiterError) as excinfo:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    assert "terminal failure state" in str(excinfo.value)
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobName"] == name and job["TrainingJobArn"] == _arn("training-job", name)
    assert job["TrainingJobStatus"] == "Failed" and job["SecondaryStatus"] == "Failed" and job["FailureReason"]
    assert job["ModelArtifacts"]["S3ModelArtifacts"].startswith(f"s3://{sagemaker_artifact_bucket}/out/{name}/")
    assert job["AlgorithmSpecification"]["TrainingImage"] == request["AlgorithmSpecification"]["TrainingImage"]
    for key in ("RoleArn", "InputDataConfig", "ResourceConfig", "StoppingCondition", "HyperParameters"):
        assert job[key] == request[key], key
    assert job["OutputDataConfig"]["S3OutputPath"] == request["OutputDataConfig"]["S3OutputPath"]
    assert job["EnableNetworkIsolation"] is False
    assert job["EnableInterContainerTrafficEncryption"] is False
    assert job["EnableManagedSpotTraining"] is False
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        _aware(job[key])
    transitions = job["SecondaryStatusTransitions"]
    assert transitions[0]["Status"] == "Starting" and transitions[-1]["Status"] == "Failed"
    assert isinstance(job["TrainingTimeInSeconds"], int) and isinstance(job["BillableTimeInSeconds"], int)
    assert sm.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"] == [{"Key": "project", "Value": "conformance"}]
    with pytest.raises(ClientError) as excinfo:
        sm.stop_training_job(TrainingJobName=name)
    assert _error(excinfo) == ("ValidationException", 400, "The request was rejected because the training job is in status Failed.")

    listed = sm.list_training_jobs(NameContains=name.lower(), StatusEquals="Failed")["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in listed] == [name]
    assert sm.list_training_jobs(NameContains=name, StatusEquals="Completed")["TrainingJobSummaries"] == []
    # "created after": strictly after, for training jobs
    assert sm.list_training_jobs(NameContains=name, CreationTimeAfter=job["CreationTime"])["TrainingJobSummaries"] == []


def test_list_training_jobs_applies_max_results_before_status_equals(sagemaker_clients, sagemaker_artifact_bucket):
    """Documented: with StatusEquals and MaxResults, MaxResults jobs are retrieved ignoring StatusEquals
    (newest first), then filtered by it."""
    sm = sagemaker_clients.sagemaker
    prefix = unique_name("conf-quirk")
    image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/custom:1"
    sagemaker_clients.s3.put_object(Bucket=sagemaker_artifact_bucket, Key="none/train.csv", Body=b"1,2\n")
    failed = f"{prefix}-a"
    sm.create_training_job(**_training_request(failed, sagemaker_artifact_bucket, image))
    time.sleep(0.01)
    sm.create_training_job(**_training_request(f"{prefix}-b", sagemaker_artifact_bucket, image))
    first = sm.list_training_jobs(NameContains=prefix, StatusEquals="Failed", MaxResults=1)
    assert [j["TrainingJobName"] for j in first["TrainingJobSummaries"]] == [f"{prefix}-b"]
    second = sm.list_training_jobs(NameContains=prefix, StatusEquals="Failed", MaxResults=1, NextToken=first["NextToken"])
    assert [j["TrainingJobName"] for j in second["TrainingJobSummaries"]] == [failed]
    assert sm.list_training_jobs(NameContains=prefix, StatusEquals="InProgress", MaxResults=1)["TrainingJobSummaries"] == []


# --- List* ----------------------------------------------------------------------------------


def test_list_defaults_filters_and_paginators(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    tag = unique_name("lst").replace("-", "x")
    before = sm.describe_model(ModelName=_model(sm, sagemaker_model_url, name=f"{tag}-0"))["CreationTime"]
    names = [f"{tag}-0"]
    for index in range(1, 5):
        time.sleep(0.01)
        names.append(_model(sm, sagemaker_model_url, name=f"{tag}-{index}"))
    listed = [m["ModelName"] for m in sm.list_models(NameContains=tag)["Models"]]
    assert listed == list(reversed(names))  # CreationTime, Descending by default
    ascending = sm.list_models(NameContains=tag, SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in ascending] == sorted(names)
    # "models with a creation time greater than or equal to the specified time"
    after = sm.list_models(NameContains=tag, CreationTimeAfter=before)["Models"]
    assert [m["ModelName"] for m in after] == list(reversed(names))
    later = sm.list_models(NameContains=tag, CreationTimeAfter=before + dt.timedelta(milliseconds=1))["Models"]
    assert f"{tag}-0" not in [m["ModelName"] for m in later] and len(later) == 4
    assert sm.list_models(NameContains=tag, CreationTimeBefore=before)["Models"] == []
    first = sm.list_models(NameContains=tag, MaxResults=2)
    assert len(first["Models"]) == 2 and first["NextToken"]
    second = sm.list_models(NameContains=tag, MaxResults=2, NextToken=first["NextToken"])
    assert [m["ModelName"] for m in second["Models"]] == list(reversed(names))[2:4]
    pages = list(sm.get_paginator("list_models").paginate(NameContains=tag, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [m["ModelName"] for p in pages for m in p["Models"]] == list(reversed(names))
    for page_name, key in (("list_endpoints", "Endpoints"), ("list_endpoint_configs", "EndpointConfigs"),
                           ("list_training_jobs", "TrainingJobSummaries")):
        result = sm.get_paginator(page_name).paginate(PaginationConfig={"PageSize": 1}).build_full_result()
        assert key in result


def test_list_endpoints_status_filter(sagemaker_clients, deployed_endpoint):
    sm = sagemaker_clients.sagemaker
    listed = sm.list_endpoints(NameContains=deployed_endpoint, StatusEquals="InService")["Endpoints"]
    assert [e["EndpointName"] for e in listed] == [deployed_endpoint]
    summary = listed[0]
    assert summary["EndpointArn"] == _arn("endpoint", deployed_endpoint)
    _aware(summary["CreationTime"])
    _aware(summary["LastModifiedTime"])
    assert sm.list_endpoints(NameContains=deployed_endpoint, StatusEquals="Failed")["Endpoints"] == []


# --- tags -----------------------------------------------------------------------------------


def test_tags_at_create_and_add_list_delete(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    model = _model(sm, sagemaker_model_url, Tags=[{"Key": "team", "Value": "ml"}])
    arn = _arn("model", model)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    config = _config(sm, model, Tags=[{"Key": "c", "Value": "1"}])
    assert sm.list_tags(ResourceArn=_arn("endpoint-config", config))["Tags"] == [{"Key": "c", "Value": "1"}]
    assert sm.add_tags(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])["Tags"] == [{"Key": "env", "Value": "dev"}]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "ml", "env": "dev"}
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]


# --- InvokeEndpoint -------------------------------------------------------------------------


def test_invoke_unknown_endpoint(sagemaker_clients):
    with pytest.raises(ClientError) as excinfo:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName="conf-nowhere", ContentType="text/csv", Body=ROW)
    assert _error(excinfo) == ("ValidationError", 400, f"Endpoint conf-nowhere of account {ACCOUNT} not found.")


def test_invoke_csv_rows_json_and_jsonlines(sagemaker_clients, deployed_endpoint):
    runtime = sagemaker_clients.runtime
    body = "\n".join([ROW, ",".join(["0.0"] * 30), ROW])
    response = runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=body,
                                       CustomAttributes="c000b4f9-df62-4c85-a0bf-7c525f9104a4", InferenceId="conf-1")
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["CustomAttributes"] == "c000b4f9-df62-4c85-a0bf-7c525f9104a4"
    predictions = json.loads(response["Body"].read())["predictions"]
    assert len(predictions) == 3
    for prediction in predictions:
        assert set(prediction) == {"score", "predicted_label"}
        assert 0.0 <= prediction["score"] <= 1.0 and prediction["predicted_label"] in (0, 1)
    response = runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=body,
                                       Accept="application/jsonlines")
    assert response["ContentType"] == "application/jsonlines"
    lines = [json.loads(line) for line in response["Body"].read().decode().splitlines() if line.strip()]
    assert [line["predicted_label"] for line in lines] == [p["predicted_label"] for p in predictions]


@pytest.mark.parametrize("kwargs, original", [
    ({"ContentType": "image/png"}, 415),
    ({"ContentType": "text/csv", "Accept": "image/png"}, 406),
])
def test_invoke_unsupported_media_is_model_error(sagemaker_clients, deployed_endpoint, kwargs, original):
    with pytest.raises(ClientError) as excinfo:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName=deployed_endpoint, Body=ROW, **kwargs)
    code, status, message = _error(excinfo)
    assert (code, status) == ("ModelError", 424)
    assert message.startswith(f"Received client error ({original}) from primary with message")
    assert excinfo.value.response["OriginalStatusCode"] == original
    assert excinfo.value.response["LogStreamArn"].startswith(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/")


def test_invoke_unknown_target_variant_and_oversize(sagemaker_clients, deployed_endpoint):
    runtime = sagemaker_clients.runtime
    with pytest.raises(ClientError) as excinfo:
        runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=ROW, TargetVariant="Nope")
    assert _error(excinfo)[:2] == ("ValidationError", 400)
    with pytest.raises(ClientError) as excinfo:
        runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=b"1" * (6291456 + 1))
    assert _error(excinfo)[:2] == ("ValidationError", 400)
    response = runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=ROW, TargetVariant="AllTraffic")
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert re.fullmatch(r"[0-9a-f-]{36}", response["ResponseMetadata"]["RequestId"])


def test_invoke_target_model_on_single_model_endpoint(sagemaker_clients, deployed_endpoint):
    with pytest.raises(ClientError) as excinfo:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName=deployed_endpoint, ContentType="text/csv", Body=ROW,
                                                  TargetModel="model.tar.gz")
    assert _error(excinfo) == (
        "ValidationError", 400,
        f"Endpoint {deployed_endpoint} is not a multi-model endpoint and does not support target model header.",
    )


def test_names_are_unique_case_insensitively(sagemaker_clients, sagemaker_model_url):
    """"The name is case-insensitive in CreateEndpoint, but the case is preserved" (the ARN lower-cases it)."""
    sm = sagemaker_clients.sagemaker
    model = _model(sm, sagemaker_model_url, name=unique_name("Conf-Case"))
    with pytest.raises(ClientError) as excinfo:
        _model(sm, sagemaker_model_url, name=model.lower())
    assert _error(excinfo) == ("ValidationException", 400, f'Cannot create already existing model "{_arn("model", model)}".')
    config = _config(sm, model)
    endpoint = unique_name("Conf-Case-Ep")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    with pytest.raises(ClientError) as excinfo:
        sm.create_endpoint(EndpointName=endpoint.upper(), EndpointConfigName=config)
    assert _error(excinfo) == ("ValidationException", 400, f'Cannot create already existing endpoint "{_arn("endpoint", endpoint)}".')
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointName"] == endpoint  # case preserved
    sm.delete_endpoint(EndpointName=endpoint)


@pytest.mark.parametrize("region, partition", [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_arns_use_the_regions_partition(region, partition):
    from types import SimpleNamespace

    from emulator.sagemaker.backend import SageMakerBackend
    from emulator.sagemaker.config import EmulatorConfig

    backend = SimpleNamespace(config=EmulatorConfig(region=region))
    assert SageMakerBackend.arn(backend, "endpoint", "My-Endpoint") == f"arn:{partition}:sagemaker:{region}:{ACCOUNT}:endpoint/my-endpoint"
