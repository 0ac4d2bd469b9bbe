"""CreateTrainingJob & co. through boto3: channels read from LocalStack S3, the real trainer in a
worker process, model.tar.gz written back to S3 and servable, SageMaker's statuses and errors."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError, WaiterError

from emulator.sagemaker import recordio
from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, create_endpoint, training_job_request, unique_name
from training.artifact import load_model_tar
from training.data import read_channel_csv

pytestmark = pytest.mark.integration

HYPERPARAMETERS = {"feature_dim": "30", "predictor_type": "binary_classifier", "mini_batch_size": "100", "epochs": "10"}
# Minutes of training (no early stopping): for the stop and timeout tests.
ENDLESS = {**HYPERPARAMETERS, "epochs": "100000", "early_stopping_patience": "100000"}


@pytest.fixture(scope="module")
def channel_prefix(sagemaker_clients, sagemaker_artifact_bucket, training_channels) -> str:
    prefix = unique_name("channels")
    for name, path in training_channels.items():
        sagemaker_clients.s3.upload_file(str(path), sagemaker_artifact_bucket, f"{prefix}/{name}/{Path(path).name}")
    return f"s3://{sagemaker_artifact_bucket}/{prefix}"


# CreateTrainingJob parameters for a Linear Learner job (image and hyperparameters overridable)
_job_request = functools.partial(training_job_request, image=LINEAR_LEARNER_IMAGE, hyperparameters=HYPERPARAMETERS)

def _wait(sm: Any, name: str) -> dict[str, Any]:
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 0.25, "MaxAttempts": 400})
    except WaiterError:
        pass  # a Failed job ends the waiter with an error; the caller checks the status
    return sm.describe_training_job(TrainingJobName=name)


def _wait_for_secondary(sm: Any, name: str, status: str, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != status:
        assert time.monotonic() < deadline, f"job {name} never reached {status}"
        time.sleep(0.05)


def test_training_job_produces_a_servable_model(sagemaker_clients, sagemaker_artifact_bucket, channel_prefix, training_channels):
    sm, s3 = sagemaker_clients.sagemaker, sagemaker_clients.s3
    name = unique_name("train")
    output = f"s3://{sagemaker_artifact_bucket}/output"
    channels = {c: f"{channel_prefix}/{c}/" for c in ("train", "validation", "test")}
    arn = sm.create_training_job(**_job_request(name, channels, output))["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}"
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("InProgress", "Completed")

    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == f"{output}/{name}/output/model.tar.gz"
    assert job["TrainingEndTime"] >= job["TrainingStartTime"] >= job["CreationTime"]
    assert job["TrainingTimeInSeconds"] >= 1 and job["HyperParameters"] == HYPERPARAMETERS
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["test:binary_classification_accuracy"] > 0.85
    assert "validation:objective_loss" in metrics and "train:objective_loss" in metrics

    body = s3.get_object(Bucket=sagemaker_artifact_bucket, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    model = load_model_tar(body)
    assert model.feature_dim == 30 and model.predictor_type == "binary_classifier"

    summaries = sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    assert [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in summaries] == [(name, "Completed")]
    assert name in [s["TrainingJobName"] for s in sm.list_training_jobs(StatusEquals="Completed", MaxResults=100)["TrainingJobSummaries"]]

    # the artifact goes straight into hosting, as in the original notebook
    endpoint = create_endpoint(sm, job["ModelArtifacts"]["S3ModelArtifacts"])
    X, y = read_channel_csv(Path(training_channels["test"]))
    csv = "\n".join(",".join(repr(float(v)) for v in row) for row in X)
    answer = sagemaker_clients.runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=csv)
    import json

    labels = [p["predicted_label"] for p in json.loads(answer["Body"].read())["predictions"]]
    assert np.mean(np.array(labels) == y) > 0.85


@pytest.mark.parametrize(
    "image, words",
    [
        ("382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1", ("kmeans", "sagemaker-xgboost", "linear-learner")),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-2", ("0.90-2", "1.7-1", "pickled")),
    ],
)
def test_unsupported_image_fails_the_job_with_a_reason(image, words, sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name("unsupported")
    sm.create_training_job(**_job_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                          image=image))
    with pytest.raises(WaiterError):
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Failed" and job["SecondaryStatus"] == "Failed"
    for word in words:
        assert word in job["FailureReason"]


@pytest.mark.parametrize(
    "case, reason",
    [
        ("bad-hyperparameter", "ClientError"),
        ("protobuf-declared-but-csv", "Unable to read data channel 'train'"),
    ],
)
def test_user_errors_fail_the_job_with_sagemaker_style_reasons(case, reason, sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name(case)
    output = f"s3://{sagemaker_artifact_bucket}/out"
    if case == "bad-hyperparameter":
        request = _job_request(name, {"train": f"{channel_prefix}/train/"}, output,
                               hyperparameters={**HYPERPARAMETERS, "mini_batch_size": "zero"})
    else:
        request = _job_request(name, {"train": f"{channel_prefix}/train/"}, output, content_type=None)
    sm.create_training_job(**request)
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert reason in job["FailureReason"], job["FailureReason"]


def test_recordio_protobuf_channels_train(sagemaker_clients, sagemaker_artifact_bucket, training_channels):
    """Channels in Linear Learner's default format (application/x-recordio-protobuf)."""
    sm, s3 = sagemaker_clients.sagemaker, sagemaker_clients.s3
    prefix = unique_name("protobuf")
    for channel in ("train", "validation"):
        X, y = read_channel_csv(Path(training_channels[channel]))
        body = b"".join(recordio.frame(recordio.encode_record(features={"values": row}, label={"values": [label]}))
                        for row, label in zip(X, y))
        s3.upload_fileobj(io.BytesIO(body), sagemaker_artifact_bucket, f"{prefix}/{channel}/data.pbr")
    name = unique_name("pbr")
    channels = {c: f"s3://{sagemaker_artifact_bucket}/{prefix}/{c}/" for c in ("train", "validation")}
    sm.create_training_job(**_job_request(name, channels, f"s3://{sagemaker_artifact_bucket}/out",
                                          content_type="application/x-recordio-protobuf"))
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:binary_classification_accuracy"] > 0.85


def test_stop_training_job_and_errors(sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name("stopme")
    slow = ENDLESS
    sm.create_training_job(**_job_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                          hyperparameters=slow))
    _wait_for_secondary(sm, name, "Training")
    sm.stop_training_job(TrainingJobName=name)
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Stopped" and job["SecondaryStatus"] == "Stopped"
    assert "FailureReason" not in job

    with pytest.raises(ClientError) as info:
        sm.stop_training_job(TrainingJobName=name)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        sm.create_training_job(**_job_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out"))
    error = info.value.response["Error"]
    assert error["Code"] == "ResourceInUse" and "Training job names must be unique" in error["Message"]
    for call in (sm.describe_training_job, sm.stop_training_job):
        with pytest.raises(ClientError) as info:
            call(TrainingJobName=unique_name("never-created"))
        assert info.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_max_runtime_stops_the_job(sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name("timeout")
    slow = ENDLESS
    sm.create_training_job(**_job_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                          hyperparameters=slow, max_runtime=2))
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"
