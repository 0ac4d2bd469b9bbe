"""Deploy's pure parts: names, options, policies, the Lambda package, the image table, waiting."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import pytest

from deploy.config import ConfigError, StackConfig, StackNames
from deploy.images import builtin_image_uri, linear_learner_image_uri, UnsupportedRegion
from deploy.packaging import HANDLER, build_package
from deploy.policies import lambda_policy, sagemaker_policy, trust_policy
from deploy.profiles import Target
from deploy.stack import Stack
from deploy.waiting import WaitFailed, wait_for


@pytest.mark.parametrize("name", ["", "UPPER", "has_underscore", "-lead", "trail-", "double--hyphen", "x" * 21])
def test_bad_stack_names_are_refused_with_the_rule(name):
    with pytest.raises(ConfigError, match="lowercase letters"):
        StackConfig(stack_name=name)


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("stage", "has space", "stage"),
        ("endpoint_instance_count", 0, "at least 1"),
        ("throttle_rate_limit", 0, "throttling"),
        ("lambda_memory_mb", 64, "memory"),
        ("lambda_timeout_s", 901, "timeout"),
        ("hyperparameters", {"epochs": 5}, "string values"),
    ],
)
def test_bad_options_are_refused(option, value, needle):
    with pytest.raises(ConfigError, match=needle):
        StackConfig(**{option: value})


def test_derived_names_fit_aws_limits():
    names = StackNames("a" * 20, "123456789012", "ap-southeast-4")
    assert len(names.bucket) <= 63
    assert len(names.training_job("f" * 12, attempt=99)) <= 63
    assert len(names.sagemaker_role) <= 64 and len(names.lambda_role) <= 64
    assert len(names.endpoint_config("f" * 12)) <= 63 and len(names.model("f" * 12)) <= 63


def test_lambda_policy_allows_only_this_endpoint_and_its_own_logs():
    names = StackNames("sagestack", "123456789012", "us-east-1")
    statements = lambda_policy(names, "aws")["Statement"]
    assert statements[0] == {
        "Sid": "InvokeThisEndpoint",
        "Effect": "Allow",
        "Action": "sagemaker:InvokeEndpoint",
        "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/sagestack",
    }
    assert statements[1]["Resource"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/sagestack-predict",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/sagestack-predict:*",
    ]
    assert "logs:CreateLogGroup" not in json.dumps(statements)  # deploy creates the group itself
    assert trust_policy("lambda.amazonaws.com")["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_sagemaker_policy_is_scoped_to_the_stack_prefixes_and_the_image_repository():
    names = StackNames("sagestack", "123456789012", "eu-west-1")
    document = sagemaker_policy(names, "aws", builtin_image_uri("eu-west-1"))
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["ReadTrainingData"]["Resource"] == "arn:aws:s3:::sagestack-123456789012-eu-west-1/sagestack/data/*"
    assert by_sid["ReadWriteModelArtifacts"]["Resource"] == "arn:aws:s3:::sagestack-123456789012-eu-west-1/sagestack/output/*"
    assert by_sid["PullAlgorithmImage"]["Resource"] == "arn:aws:ecr:eu-west-1:438346466558:repository/linear-learner"


def test_lambda_package_is_reproducible_and_holds_the_handler():
    first, second = build_package(), build_package()
    assert first.zip_bytes == second.zip_bytes and first.code_sha256 == second.code_sha256
    with zipfile.ZipFile(BytesIO(first.zip_bytes)) as archive:
        assert "handler.py" in archive.namelist()
        assert all(not name.endswith(".pyc") for name in archive.namelist())
    assert HANDLER == "handler.lambda_handler"


def test_documented_us_east_1_image():
    assert linear_learner_image_uri("us-east-1") == "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def test_unknown_region_without_the_sdk_says_what_to_do():
    with pytest.raises(UnsupportedRegion, match="sdk extra"):
        builtin_image_uri("xx-nowhere-1")


def _stack_with(target: Target) -> Stack:
    stack = Stack.__new__(Stack)  # no AWS calls: only the target-dependent helpers are exercised
    stack.target = target
    stack.config = StackConfig()
    stack.names = StackNames("sagestack", target.account_id, target.region)
    return stack


def test_lambda_environment_is_the_blogs_on_both_targets():
    local = _stack_with(Target("sagestack-local", "us-east-1", "000000000000", "aws", "http://127.0.0.1:4566", "http://127.0.0.1:4567"))
    aws = _stack_with(Target("prod", "eu-west-1", "123456789012", "aws", None, None))
    # locally LocalStack forwards SageMaker to the emulator: no endpoint variable in the function
    assert local.lambda_environment() == {"ENDPOINT_NAME": "sagestack"}
    assert aws.lambda_environment() == {"ENDPOINT_NAME": "sagestack"}
    assert local.invoke_url("abc123") == "http://127.0.0.1:4566/_aws/execute-api/abc123/prod/ml-model-api"
    assert aws.invoke_url("abc123") == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ml-model-api"
    assert aws.source_arn("abc123") == "arn:aws:execute-api:eu-west-1:123456789012:abc123/*/POST/ml-model-api"
    assert not local.target.billable and aws.target.billable


def test_wait_for_reports_progress_then_success_or_failure():
    states = iter(["Creating", "Creating", "InService"])
    lines: list[str] = []
    assert wait_for(lambda: (next(states), ""), what="endpoint x", done={"InService"}, failed={"Failed"}, timeout_s=5, log=lines.append, first_interval_s=0.001) == "InService"
    assert [line.split(":")[1].split("[")[0].strip() for line in lines] == ["Creating", "InService"]
    with pytest.raises(WaitFailed, match="Failed: bad image"):
        wait_for(lambda: ("Failed", "bad image"), what="endpoint x", done={"InService"}, failed={"Failed"}, timeout_s=5, log=lines.append)
    with pytest.raises(WaitFailed, match="still Creating"):
        wait_for(lambda: ("Creating", ""), what="endpoint x", done={"InService"}, failed=set(), timeout_s=0.05, log=lines.append, first_interval_s=0.01)
