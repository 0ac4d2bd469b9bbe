"""Small deviations from AWS found by running moto's SageMaker tests against the emulator, fixed:
List* default SortOrder per the service model, ServerlessConfig memory sizes, ResolvedImage digests,
an endpoint that cannot run going Creating -> Failed, and UpdateEndpointWeightsAndCapacities on it."""

from __future__ import annotations

import re
import time

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, create_endpoint, unique_name

pytestmark = pytest.mark.integration


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_list_defaults_follow_each_operations_reference(sagemaker_clients, sagemaker_artifact_bucket):
    sm = sagemaker_clients.sagemaker
    prefix = unique_name("order")
    sagemaker_clients.s3.put_object(Bucket=sagemaker_artifact_bucket, Key=f"{prefix}/train.csv", Body=b"1,2\n")
    for index in range(3):
        sm.create_training_job(
            TrainingJobName=f"{prefix}-{index}", RoleArn=ROLE_ARN,
            AlgorithmSpecification={"TrainingImage": "000000000000.dkr.ecr.us-east-1.amazonaws.com/custom:1",
                                    "TrainingInputMode": "File"},
            InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{sagemaker_artifact_bucket}/{prefix}/"}}}],
            OutputDataConfig={"S3OutputPath": f"s3://{sagemaker_artifact_bucket}/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
        sm.create_model(ModelName=f"{prefix}-{index}", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})
        time.sleep(0.01)
    jobs = sm.list_training_jobs(NameContains=prefix)["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in jobs] == [f"{prefix}-{i}" for i in range(3)]  # "The default is Ascending."
    models = sm.list_models(NameContains=prefix)["Models"]
    assert [m["ModelName"] for m in models] == [f"{prefix}-{i}" for i in (2, 1, 0)]  # "The default is Descending."


@pytest.mark.parametrize("memory", [1111, 1536, 5000])  # within the model's 1024..6144, so boto3 sends them
def test_serverless_memory_must_be_whole_gigabytes(memory, sagemaker_clients):
    sm = sagemaker_clients.sagemaker
    model = unique_name("srv")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})
    variant = {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": 1}}
    with pytest.raises(ClientError) as info:
        sm.create_endpoint_config(EndpointConfigName=unique_name("srv"), ProductionVariants=[variant])
    code, message = _error(info)
    assert code == "ValidationException"
    assert message == (
        f"Value '{memory}' at 'MemorySizeInMB' failed to satisfy constraint: Member must satisfy enum value set: "
        "[1024, 2048, 3072, 4096, 5120, 6144]"
    )
    variant["ServerlessConfig"]["MemorySizeInMB"] = 2048
    sm.create_endpoint_config(EndpointConfigName=unique_name("srv"), ProductionVariants=[variant])


def test_resolved_image_is_pinned_by_digest(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    endpoint = create_endpoint(sm, sagemaker_model_url)
    image = sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]["DeployedImages"][0]
    assert image["SpecifiedImage"] == LINEAR_LEARNER_IMAGE
    repository = LINEAR_LEARNER_IMAGE.rsplit(":", 1)[0]
    assert re.fullmatch(re.escape(repository) + r"@sha256:[0-9a-f]{64}", image["ResolvedImage"]), image["ResolvedImage"]


def test_image_that_cannot_run_goes_creating_then_failed(sagemaker_clients, sagemaker_model_url):
    sm = sagemaker_clients.sagemaker
    endpoint = create_endpoint(sm, sagemaker_model_url, wait=False,
                               image="382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1")
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Creating"
    deadline = time.monotonic() + 60
    while (described := sm.describe_endpoint(EndpointName=endpoint))["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert described["EndpointStatus"] == "Failed" and "kmeans" in described["FailureReason"]
    with pytest.raises(ClientError) as info:
        sm.update_endpoint_weights_and_capacities(
            EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 0.5}]
        )
    assert _error(info) == ("ValidationException", f'Cannot update failed endpoint "{described["EndpointArn"]}".')
