"""The deploy units against moto: status and deploy share one diff; restore re-creates LocalStack's side."""

from __future__ import annotations

import boto3

from tests.contract.test_aws_profile import CallLog, aws, make_stack  # noqa: F401 - `aws` is a fixture

REGION = "us-east-1"


def _state(stack, kind):
    return next(s for s in stack.status() if s.kind == kind)


def test_status_sees_the_drift_deploy_repairs(aws):  # noqa: F811
    make_stack().deploy()
    apigw = boto3.client("apigateway", region_name=REGION)
    (plan,) = apigw.get_usage_plans()["items"]
    apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "7"}])
    boto3.client("logs", region_name=REGION).put_retention_policy(logGroupName="/aws/lambda/sagestack-predict", retentionInDays=1)

    stack = make_stack()
    plan_state, logs_state = _state(stack, "usage-plan"), _state(stack, "log-group")
    assert plan_state.exists and not plan_state.matches and "/quota/limit" in plan_state.detail
    assert logs_state.exists and not logs_state.matches and "retention" in logs_state.detail

    calls = CallLog()
    make_stack(calls=calls).deploy()
    assert "api-gateway.UpdateUsagePlan" in calls.mutating() and "cloudwatch-logs.PutRetentionPolicy" in calls.mutating()
    assert all(s.exists and s.matches for s in make_stack().status())


def test_restore_recreates_what_localstack_held_with_the_same_key(aws):  # noqa: F811
    outputs = make_stack().deploy().to_json()
    # What a LocalStack restart loses: the function, the API, the plan and the key (and more).
    apigw = boto3.client("apigateway", region_name=REGION)
    (plan,) = apigw.get_usage_plans()["items"]
    apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{outputs['api_id']}:prod"}])
    apigw.delete_usage_plan(usagePlanId=plan["id"])
    apigw.delete_api_key(apiKey=outputs["api_key_id"])
    apigw.delete_rest_api(restApiId=outputs["api_id"])
    boto3.client("lambda", region_name=REGION).delete_function(FunctionName="sagestack-predict")

    calls = CallLog()
    stack = make_stack(calls=calls)
    recreated = stack.restore(outputs)
    kinds = {r.split(" ")[0] for r in recreated}
    assert kinds == {"lambda-function", "lambda-permission", "rest-api", "usage-plan", "api-key"}, recreated
    assert not [c for c in calls.mutating() if c.startswith("sagemaker.")]  # the emulator's side is not touched
    assert stack.refs["api_key"] == outputs["api_key"]  # CreateApiKey with the previous value
    (key,) = apigw.get_api_keys(includeValues=True)["items"]
    assert key["value"] == outputs["api_key"]
    assert make_stack().restore(outputs) == []  # nothing missing: nothing re-created
    assert all(s.exists and s.matches for s in make_stack().status())
