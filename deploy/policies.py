"""IAM documents of the stack, least privilege (issue 5): each role may do its job and nothing else.

* The Lambda role may invoke this one endpoint and write to its own log group.
* The SageMaker execution role may read the stack's data prefix, write the stack's output
  prefix, pull the linear-learner image and write SageMaker's log groups and metrics.
"""

from __future__ import annotations

from typing import Any

from deploy.config import StackNames

VERSION = "2012-10-17"


def trust_policy(service: str) -> dict[str, Any]:
    """Who may assume the role: one AWS service principal."""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def lambda_policy(names: StackNames, partition: str) -> dict[str, Any]:
    endpoint_arn = f"arn:{partition}:sagemaker:{names.region}:{names.account_id}:endpoint/{names.endpoint}"
    log_group_arn = f"arn:{partition}:logs:{names.region}:{names.account_id}:log-group:{names.function_log_group}"
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "InvokeThisEndpoint", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": endpoint_arn},
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
        ],
    }


def sagemaker_policy(names: StackNames, partition: str, image_uri: str) -> dict[str, Any]:
    bucket_arn = f"arn:{partition}:s3:::{names.bucket}"
    registry_account, _, rest = image_uri.partition(".dkr.ecr.")
    repository = rest.split("/", 1)[1].split(":", 1)[0] if "/" in rest else "linear-learner"
    image_region = rest.split(".", 1)[0] if rest else names.region
    logs_arn = f"arn:{partition}:logs:{names.region}:{names.account_id}:log-group:/aws/sagemaker/*"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ListStackPrefixes",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{names.data_prefix}/*", f"{names.output_prefix}/*"]}},
            },
            {"Sid": "ReadTrainingData", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{names.data_prefix}/*"},
            {
                "Sid": "ReadWriteModelArtifacts",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{bucket_arn}/{names.output_prefix}/*",
            },
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullAlgorithmImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                "Resource": f"arn:{partition}:ecr:{image_region}:{registry_account}:repository/{repository}",
            },
            {
                "Sid": "WriteSageMakerLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [logs_arn, f"{logs_arn}:*"],
            },
            {
                "Sid": "PublishMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            },
        ],
    }
