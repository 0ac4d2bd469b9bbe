"""Training inputs as the SDKs and AWS send them: S3Prefix, ManifestFile (the SDK's record_set),
AugmentedManifestFile with AttributeNames, FullyReplicated/ShardedByS3Key, File/Pipe, Gzip, CSV with
label_size=1 and RecordIO-protobuf; channel problems AWS refuses at the call are ValidationExceptions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from emulator.sagemaker import recordio
from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, unique_name
from training.data import read_channel_csv

pytestmark = pytest.mark.integration
HYPERPARAMETERS = {"feature_dim": "30", "predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "3"}


@pytest.fixture(scope="module")
def rows(training_channels) -> dict[str, tuple[Any, Any]]:
    return {name: read_channel_csv(Path(path)) for name, path in training_channels.items()}


def _csv(X, y) -> bytes:
    return "".join(",".join(repr(float(v)) for v in [label, *row]) + "\n" for row, label in zip(X, y)).encode()


def _pbr(X, y) -> bytes:
    return b"".join(recordio.frame(recordio.encode_record(features={"values": r}, label={"values": [v]})) for r, v in zip(X, y))


def _channel(name: str, uri: str, *, data_type: str = "S3Prefix", content_type: str = "text/csv", **extra: Any) -> dict:
    source = {"S3DataType": data_type, "S3Uri": uri, **extra.pop("source", {})}
    return {"ChannelName": name, "ContentType": content_type, "DataSource": {"S3DataSource": source}, **extra}


def _train(sm, bucket: str, channels: list[dict], mode: str = "File") -> dict:
    name = unique_name("inputs")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE_ARN,
        AlgorithmSpecification={"TrainingImage": LINEAR_LEARNER_IMAGE, "TrainingInputMode": mode},
        InputDataConfig=channels, OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1},
        HyperParameters=HYPERPARAMETERS, StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 0.25, "MaxAttempts": 400})
    except WaiterError:
        pass
    return sm.describe_training_job(TrainingJobName=name)


def _completed(job: dict) -> dict[str, float]:
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}


def test_manifest_file_as_record_set_writes_it_in_pipe_mode(sagemaker_clients, sagemaker_artifact_bucket, rows):
    s3, bucket = sagemaker_clients.s3, sagemaker_artifact_bucket
    prefix = unique_name("recordset")
    X, y = rows["train"]
    half = len(y) // 2
    s3.put_object(Bucket=bucket, Key=f"{prefix}/matrix_0.pbr", Body=_pbr(X[:half], y[:half]))
    s3.put_object(Bucket=bucket, Key=f"{prefix}/matrix_1.pbr", Body=_pbr(X[half:], y[half:]))
    manifest = [{"prefix": f"s3://{bucket}/{prefix}/"}, "matrix_0.pbr", "matrix_1.pbr"]
    s3.put_object(Bucket=bucket, Key=f"{prefix}/.amazon.manifest", Body=json.dumps(manifest).encode())
    channel = _channel("train", f"s3://{bucket}/{prefix}/.amazon.manifest", data_type="ManifestFile",
                       content_type="application/x-recordio-protobuf",
                       source={"S3DataDistributionType": "ShardedByS3Key"})
    metrics = _completed(_train(sagemaker_clients.sagemaker, bucket, [channel], mode="Pipe"))
    assert metrics["train:objective_loss"] > 0


def test_augmented_manifest_gzip_csv_and_sharded_prefix(sagemaker_clients, sagemaker_artifact_bucket, rows):
    s3, bucket = sagemaker_clients.s3, sagemaker_artifact_bucket
    prefix = unique_name("augmented")
    X, y = rows["train"]
    lines = [json.dumps({"label": float(v), "features": [float(f) for f in r], "id": i}) for i, (r, v) in enumerate(zip(X, y))]
    s3.put_object(Bucket=bucket, Key=f"{prefix}/train.manifest", Body="\n".join(lines).encode())
    Xv, yv = rows["validation"]
    s3.put_object(Bucket=bucket, Key=f"{prefix}/validation/part-0.csv.gz", Body=gzip.compress(_csv(Xv, yv)))
    channels = [
        _channel("train", f"s3://{bucket}/{prefix}/train.manifest", data_type="AugmentedManifestFile",
                 source={"AttributeNames": ["label", "features"]}),
        _channel("validation", f"s3://{bucket}/{prefix}/validation/", content_type="text/csv;label_size=1",
                 CompressionType="Gzip", source={"S3DataDistributionType": "ShardedByS3Key"}),
    ]
    metrics = _completed(_train(sagemaker_clients.sagemaker, bucket, channels))
    assert metrics["validation:binary_classification_accuracy"] > 0.85


def test_empty_prefix_in_file_mode_is_refused_at_the_call(sagemaker_clients, sagemaker_artifact_bucket):
    sm, bucket = sagemaker_clients.sagemaker, sagemaker_artifact_bucket
    uri = f"s3://{bucket}/{unique_name('nothing')}/"
    with pytest.raises(ClientError) as info:
        sm.create_training_job(
            TrainingJobName=unique_name("empty"), RoleArn=ROLE_ARN,
            AlgorithmSpecification={"TrainingImage": LINEAR_LEARNER_IMAGE, "TrainingInputMode": "File"},
            InputDataConfig=[_channel("train", uri)], OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 600},
        )
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket exists in '
        f'the selected region (us-east-1), that objects exist under that S3 prefix, and that the role "{ROLE_ARN}" has '
        f'"s3:ListBucket" permissions on bucket "{bucket}".'
    )


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        ({"content_type": "text/csv;label_size=2"}, "label_size=1"),
        ({"data_type": "ManifestFile", "key": "bad.manifest"}, "must be a JSON list starting with"),
        ({"data_type": "AugmentedManifestFile", "key": "lines.manifest", "source": {"AttributeNames": ["missing"]}},
         "has no attribute 'missing'"),
    ],
)
def test_channel_problems_fail_the_job_with_a_reason(channel, reason, sagemaker_clients, sagemaker_artifact_bucket, rows):
    s3, bucket = sagemaker_clients.s3, sagemaker_artifact_bucket
    prefix = unique_name("badinput")
    X, y = rows["train"]
    s3.put_object(Bucket=bucket, Key=f"{prefix}/data/train.csv", Body=_csv(X, y))
    s3.put_object(Bucket=bucket, Key=f"{prefix}/bad.manifest", Body=b'{"prefix": "s3://x/"}')
    s3.put_object(Bucket=bucket, Key=f"{prefix}/lines.manifest", Body=b'{"label": 1, "features": [1, 2]}\n')
    key = channel.pop("key", "data/")
    job = _train(sagemaker_clients.sagemaker, bucket, [_channel("train", f"s3://{bucket}/{prefix}/{key}", **channel)])
    assert job["TrainingJobStatus"] == "Failed"
    assert reason in job["FailureReason"], job["FailureReason"]
