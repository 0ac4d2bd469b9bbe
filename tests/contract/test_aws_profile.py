"""The AWS path of `deploy`, checked against moto as an independent model of AWS (docs/ARCHITECTURE.md, "Testing against AWS").

No network: `mock_aws` intercepts every call. moto marks training jobs Completed at once but
writes no model artifact, so a hook writes the `model.tar.gz` that SageMaker would (the
stack reuses a completed job only while its artifact exists). moto cannot run the Lambda or
the REST API; the round trip is tested on the embedded stack in tests/e2e.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.sagemaker.models import sagemaker_backends

from deploy.config import TAG_STACK, StackConfig
from deploy.images import REGISTRY_ACCOUNTS
from deploy.stack import Stack
from tests.fixtures.sagemaker import core_session
from training.hyperparameters import DEFAULT_HYPERPARAMETERS

MUTATING = ("Create", "Put", "Update", "Delete", "Add", "Remove", "Tag", "Upload", "Stop")


class CallLog:
    """Every API call the stack's clients make, by `service.Operation`."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, event_name: str, **_: Any) -> None:
        # event_name is "provide-client-params.<service>.<Operation>"
        _, service, operation = event_name.split(".", 2)
        self.calls.append(f"{service}.{operation}")

    def mutating(self) -> list[str]:
        return [c for c in self.calls if c.split(".", 1)[1].startswith(MUTATING)]

    def clear(self) -> None:
        self.calls.clear()


def artifact_writer(region: str) -> Any:
    """A `provide-client-params` hook for CreateTrainingJob that puts model.tar.gz where SageMaker
    writes it ({S3OutputPath}/{job}/output/model.tar.gz); moto completes the job without one."""

    def write(params: dict[str, Any], **_: Any) -> None:
        bucket, _, prefix = params["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://").partition("/")
        key = f"{prefix.rstrip('/')}/{params['TrainingJobName']}/output/model.tar.gz".lstrip("/")
        boto3.client("s3", region_name=region).put_object(Bucket=bucket, Key=key, Body=b"stands in for the artifact SageMaker writes")

    return write


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("SAGESTACK_STATE_DIR", str(tmp_path / "state"))
    with mock_aws():
        boto3.setup_default_session(botocore_session=core_session())  # the tests' own boto3.client() calls
        yield


def moto_update_endpoint(region: str) -> Any:
    """moto 5.2 has no UpdateEndpoint response: apply it to moto's own endpoint model, as AWS
    would once the new config is InService (the request was already validated by botocore)."""

    def update(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        backend = sagemaker_backends[ACCOUNT][region]
        endpoint = backend.endpoints[request["EndpointName"]]
        config = backend.endpoint_configs[request["EndpointConfigName"]]
        endpoint.endpoint_config_name = config.endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        return AWSResponse("https://moto", 200, {}, None), {"EndpointArn": endpoint.arn, "ResponseMetadata": {"HTTPStatusCode": 200}}

    return update


def make_stack(region: str = "us-east-1", log: list[str] | None = None, calls: CallLog | None = None, **config: Any) -> Stack:
    # fresh sessions per stack (their own event hooks), service models read once (tests/fixtures/sagemaker.py)
    session = boto3.Session(botocore_session=core_session(), region_name=region)
    if calls is not None:
        session.events.register("provide-client-params", calls)  # also sees calls a before-call hook answers
    session.events.register("provide-client-params.sagemaker.CreateTrainingJob", artifact_writer(region))
    session.events.register("before-call.sagemaker.UpdateEndpoint", moto_update_endpoint(region))
    return Stack(session, StackConfig(**config), log=(log.append if log is not None else lambda line: None))


@pytest.fixture
def deployed(aws) -> tuple[Stack, Any]:
    stack = make_stack()
    return stack, stack.deploy()


def test_full_resource_graph_with_the_right_parameters(deployed):
    stack, out = deployed
    account, region = "123456789012", "us-east-1"
    sm = boto3.client("sagemaker", region_name=region)
    image = f"{REGISTRY_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/linear-learner:1"

    # Training: the region's linear-learner image, the kit's hyperparameters, CSV channels in the bucket.
    job = sm.describe_training_job(TrainingJobName=out.training_job)
    assert job["AlgorithmSpecification"]["TrainingImage"] == image
    assert job["HyperParameters"] == DEFAULT_HYPERPARAMETERS
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert set(channels) == {"train", "validation", "test"}
    for channel in channels.values():
        assert channel["ContentType"] == "text/csv"
        assert channel["DataSource"]["S3DataSource"]["S3Uri"].startswith(f"s3://{out.bucket}/sagestack/data/")
    assert job["RoleArn"] == f"arn:aws:iam::{account}:role/sagestack-sagemaker-execution"
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{out.bucket}/sagestack/output"

    # Model, endpoint config, endpoint.
    model = sm.describe_model(ModelName=out.model_name)
    assert model["PrimaryContainer"]["Image"] == image
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{out.bucket}/sagestack/output/{out.training_job}/output/model.tar.gz"
    config = sm.describe_endpoint_config(EndpointConfigName=out.endpoint_config)
    assert config["ProductionVariants"][0]["ModelName"] == out.model_name
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    endpoint = sm.describe_endpoint(EndpointName="sagestack")
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == out.endpoint_config
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    assert tags[TAG_STACK] == "sagestack"

    # IAM: trust policies and least-privilege inline policies, no managed policies.
    iam = boto3.client("iam", region_name=region)
    lambda_role = iam.get_role(RoleName="sagestack-lambda")["Role"]
    assert lambda_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert iam.list_attached_role_policies(RoleName="sagestack-lambda")["AttachedPolicies"] == []
    (policy_name,) = iam.list_role_policies(RoleName="sagestack-lambda")["PolicyNames"]
    statements = iam.get_role_policy(RoleName="sagestack-lambda", PolicyName=policy_name)["PolicyDocument"]["Statement"]
    invoke = [s for s in statements if "sagemaker:InvokeEndpoint" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in invoke] == [f"arn:aws:sagemaker:{region}:{account}:endpoint/sagestack"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"sagemaker:InvokeEndpoint", "logs:CreateLogStream", "logs:PutLogEvents"}
    log_resources = {r for s in statements if s["Action"] != "sagemaker:InvokeEndpoint" for r in s["Resource"]}
    assert all(r.startswith(f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/sagestack-predict") for r in log_resources)
    assert "*" not in json.dumps([s["Resource"] for s in statements]).replace("sagestack-predict:*", "")
    sm_role = iam.get_role(RoleName="sagestack-sagemaker-execution")["Role"]
    assert sm_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    (sm_policy,) = iam.list_role_policies(RoleName="sagestack-sagemaker-execution")["PolicyNames"]
    sm_doc = iam.get_role_policy(RoleName="sagestack-sagemaker-execution", PolicyName=sm_policy)["PolicyDocument"]
    s3_resources = {r for s in sm_doc["Statement"] if str(s["Action"]).count("s3:") for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert all(r.startswith(f"arn:aws:s3:::{out.bucket}") for r in s3_resources)

    # Lambda: runtime, handler, environment names the endpoint and no endpoint override on AWS.
    lam = boto3.client("lambda", region_name=region)
    fn = lam.get_function(FunctionName="sagestack-predict")["Configuration"]
    assert fn["Handler"] == "handler.lambda_handler" and fn["Runtime"] == "python3.13"
    assert fn["Role"] == lambda_role["Arn"]
    assert fn["Environment"]["Variables"] == {"ENDPOINT_NAME": "sagestack"}
    policy = json.loads(lam.get_policy(FunctionName="sagestack-predict")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:execute-api:{region}:{account}:{out.api_id}/*/POST/ml-model-api"

    # API Gateway: POST /ml-model-api, API key required, AWS_PROXY to the function, stage, usage plan.
    apigw = boto3.client("apigateway", region_name=region)
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=out.api_id)["items"]}
    method = apigw.get_method(restApiId=out.api_id, resourceId=resources["/ml-model-api"]["id"], httpMethod="POST")
    assert method["apiKeyRequired"] is True and method["authorizationType"] == "NONE"
    integration = method["methodIntegration"]
    assert integration["type"] == "AWS_PROXY" and integration["httpMethod"] == "POST"
    assert integration["uri"] == f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
    assert apigw.get_stage(restApiId=out.api_id, stageName="prod")["deploymentId"]
    (plan,) = apigw.get_usage_plans()["items"]
    assert plan["throttle"] == {"rateLimit": 50.0, "burstLimit": 100}
    assert plan["apiStages"] == [{"apiId": out.api_id, "stage": "prod"}]
    keys = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [k["id"] for k in keys] == [out.extra["api_key_id"]]
    assert apigw.get_api_key(apiKey=out.extra["api_key_id"], includeValue=True)["value"] == out.api_key

    assert out.invoke_url == f"https://{out.api_id}.execute-api.{region}.amazonaws.com/prod/ml-model-api"
    assert out.endpoint_name == "sagestack"


def test_redeploy_changes_nothing(aws):
    make_stack().deploy()
    calls = CallLog()
    again = make_stack(calls=calls)
    again.deploy()
    assert calls.calls, "the hook saw no calls"
    assert calls.mutating() == []
    assert all(state.exists and state.matches for state in again.status())


def test_changed_hyperparameters_swap_the_endpoint_in_place(aws):
    first = make_stack().deploy()
    calls = CallLog()
    log: list[str] = []
    second = make_stack(calls=calls, log=log, hyperparameters={"epochs": "40"}).deploy()
    assert second.training_job != first.training_job and second.endpoint_config != first.endpoint_config
    mutating = calls.mutating()
    assert "sagemaker.UpdateEndpoint" in mutating, log
    assert "sagemaker.CreateEndpoint" not in mutating and "sagemaker.DeleteEndpoint" not in mutating
    assert not [c for c in mutating if c.startswith(("lambda.", "api-gateway."))]  # clients see no change
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.describe_endpoint(EndpointName="sagestack")["EndpointConfigName"] == second.endpoint_config
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == [second.endpoint_config]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [second.model_name]
    assert sm.describe_training_job(TrainingJobName=second.training_job)["HyperParameters"]["epochs"] == "40"


def test_changed_throttling_updates_the_plan_in_place(aws):
    first = make_stack().deploy()
    calls = CallLog()
    make_stack(calls=calls, throttle_rate_limit=5.0, throttle_burst_limit=10).deploy()
    assert "api-gateway.UpdateUsagePlan" in calls.mutating() and "api-gateway.CreateUsagePlan" not in calls.mutating()
    (plan,) = boto3.client("apigateway", region_name="us-east-1").get_usage_plans()["items"]
    assert plan["throttle"] == {"rateLimit": 5.0, "burstLimit": 10}
    assert boto3.client("apigateway", region_name="us-east-1").get_rest_apis()["items"][0]["id"] == first.api_id


def test_changed_handler_code_updates_the_function(aws, monkeypatch):
    make_stack().deploy()
    import deploy.stack as stack_module
    from deploy.packaging import LambdaPackage, build_package

    original = build_package()
    monkeypatch.setattr(stack_module, "build_package", lambda: LambdaPackage(original.zip_bytes + b"\0"))
    calls = CallLog()
    make_stack(calls=calls).deploy()
    assert "lambda.UpdateFunctionCode" in calls.mutating()
    assert "lambda.CreateFunction" not in calls.mutating()


def test_destroy_removes_everything_endpoint_first_and_is_safe_to_rerun(aws):
    out = make_stack().deploy()
    calls = CallLog()
    make_stack(calls=calls).destroy()
    deletes = [c for c in calls.mutating() if ".Delete" in c]
    assert deletes[0] == "sagemaker.DeleteEndpoint"
    region = "us-east-1"
    sm = boto3.client("sagemaker", region_name=region)
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert boto3.client("lambda", region_name=region).list_functions()["Functions"] == []
    apigw = boto3.client("apigateway", region_name=region)
    assert apigw.get_rest_apis()["items"] == [] and apigw.get_usage_plans()["items"] == [] and apigw.get_api_keys()["items"] == []
    roles = [r["RoleName"] for r in boto3.client("iam", region_name=region).list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith("sagestack")]
    assert out.bucket not in [b["Name"] for b in boto3.client("s3", region_name=region).list_buckets()["Buckets"]]
    logs = boto3.client("logs", region_name=region).describe_log_groups(logGroupNamePrefix="/aws/lambda/sagestack")["logGroups"]
    assert logs == []
    # moto has no DeleteTrainingJob: the job record stays (AWS deletes it); it costs nothing.
    assert make_stack().destroy() == []  # a second destroy finds nothing and fails on nothing
    # After destroy the artifact is gone, so a new deploy trains again instead of reusing the record.
    redeployed = make_stack().deploy()
    assert redeployed.training_job == f"{out.training_job}-2"


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_other_region_uses_its_image_and_bucket_location(aws, region):
    out = make_stack(region=region).deploy()
    sm = boto3.client("sagemaker", region_name=region)
    image = sm.describe_training_job(TrainingJobName=out.training_job)["AlgorithmSpecification"]["TrainingImage"]
    assert image == f"{REGISTRY_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/linear-learner:1"
    location = boto3.client("s3", region_name=region).get_bucket_location(Bucket=out.bucket)["LocationConstraint"]
    assert location == region
    assert out.invoke_url.startswith(f"https://{out.api_id}.execute-api.{region}.amazonaws.com/prod/")


def test_status_reports_missing_then_matching(aws):
    stack = make_stack()
    before = stack.status()
    assert all(not s.exists for s in before if s.kind != "training-job")
    assert {s.kind for s in before if s.billable} == {"training-job", "endpoint"}
    stack.deploy()
    assert all(s.exists and s.matches for s in make_stack().status())


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_xgboost_algorithm_runs_aws_xgboost_image(aws, region):
    """`deploy --algorithm xgboost` on AWS: the region's sagemaker-xgboost image, train+validation only, XGBoost hyperparameters."""
    from deploy.images import XGBOOST_REGISTRY_ACCOUNTS
    from training.xgboost.hyperparameters import DEFAULT_HYPERPARAMETERS as XGBOOST_DEFAULTS

    out = make_stack(region=region, algorithm="xgboost").deploy()
    sm = boto3.client("sagemaker", region_name=region)
    image = f"{XGBOOST_REGISTRY_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
    job = sm.describe_training_job(TrainingJobName=out.training_job)
    assert job["AlgorithmSpecification"]["TrainingImage"] == image
    assert job["HyperParameters"] == XGBOOST_DEFAULTS
    assert {c["ChannelName"] for c in job["InputDataConfig"]} == {"train", "validation"}
    assert all(c["ContentType"] == "text/csv" for c in job["InputDataConfig"])
    assert sm.describe_model(ModelName=out.model_name)["PrimaryContainer"]["Image"] == image
    iam = boto3.client("iam", region_name=region)
    (policy,) = iam.list_role_policies(RoleName="sagestack-sagemaker-execution")["PolicyNames"]
    document = iam.get_role_policy(RoleName="sagestack-sagemaker-execution", PolicyName=policy)["PolicyDocument"]
    assert f"arn:aws:ecr:{region}:{XGBOOST_REGISTRY_ACCOUNTS[region]}:repository/sagemaker-xgboost" in json.dumps(document)
    assert out.extra["algorithm"] == "xgboost"


def test_switching_algorithm_trains_a_new_model_and_swaps_the_endpoint(aws):
    first = make_stack().deploy()
    second = make_stack(algorithm="xgboost").deploy()
    assert second.training_job != first.training_job and second.model_name != first.model_name
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.describe_endpoint(EndpointName="sagestack")["EndpointConfigName"] == second.endpoint_config
    calls = CallLog()
    make_stack(calls=calls, algorithm="xgboost").deploy()
    assert calls.mutating() == []


def test_unknown_algorithm_is_refused():
    from deploy.config import ConfigError

    with pytest.raises(ConfigError, match="'linear-learner' \\(default\\) or 'xgboost'"):
        StackConfig(algorithm="kmeans")
