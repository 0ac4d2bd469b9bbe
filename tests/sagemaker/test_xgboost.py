"""SageMaker's built-in XGBoost through boto3: CreateTrainingJob with AWS's sagemaker-xgboost image URI (any
region), the real xgboost library training, `xgboost-model` in model.tar.gz, and endpoints serving XGBoost
artifacts (ours and ones written by the xgboost library itself) in the container's formats."""

from __future__ import annotations

import functools
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError, WaiterError

from emulator.sagemaker import recordio
from tests.fixtures.lazy import lazy_module
from tests.fixtures.pickled_boosters import PICKLED_BOOSTERS
from tests.fixtures.training import model_tar
from tests.fixtures.sagemaker import create_endpoint, training_job_request, unique_name
from training.data import read_channel_csv

xgb = lazy_module("xgboost")  # imported by the worker that runs these tests only (tests/fixtures/lazy.py)

pytestmark = pytest.mark.integration

XGB_17 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
XGB_30 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
HYPERPARAMETERS = {"num_round": "40", "objective": "binary:logistic", "max_depth": "3", "eta": "0.3",
                   "eval_metric": "auc,logloss", "early_stopping_rounds": "5"}



@pytest.fixture(scope="module")
def channel_prefix(sagemaker_clients, sagemaker_artifact_bucket, training_channels) -> str:
    prefix = unique_name("xgb-channels")
    for name, path in training_channels.items():
        sagemaker_clients.s3.upload_file(str(path), sagemaker_artifact_bucket, f"{prefix}/{name}/{Path(path).name}")
    return f"s3://{sagemaker_artifact_bucket}/{prefix}"


@pytest.fixture(scope="module")
def test_rows(training_channels) -> tuple[np.ndarray, np.ndarray]:
    return read_channel_csv(Path(training_channels["test"]))


# CreateTrainingJob parameters for an XGBoost 1.7-1 job (image and hyperparameters overridable)
_request = functools.partial(training_job_request, image=XGB_17, hyperparameters=HYPERPARAMETERS)

def _wait(sm: Any, name: str) -> dict[str, Any]:
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 1200})
    except WaiterError:
        pass  # a Failed job ends the waiter with an error; the caller checks the status
    return sm.describe_training_job(TrainingJobName=name)


def _endpoint(sm: Any, url: str, image: str) -> str:
    """create_endpoint with a patient wait: the first XGBoost model makes the emulator import xgboost."""
    name = create_endpoint(sm, url, image=image, wait=False)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 600})
    return name


def _model_member(s3: Any, bucket: str, key: str) -> bytes:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
        return tar.extractfile("xgboost-model").read()


@pytest.mark.parametrize("image, first_bytes", [(XGB_17, b'{"'), (XGB_30, b"{L")])
def test_training_job_writes_the_container_format_and_serves_it(image, first_bytes, sagemaker_clients, sagemaker_artifact_bucket,
                                                                channel_prefix, test_rows):
    sm, s3, runtime = sagemaker_clients.sagemaker, sagemaker_clients.s3, sagemaker_clients.runtime
    name = unique_name("xgb-train")
    output = f"s3://{sagemaker_artifact_bucket}/xgb-output"
    channels = {c: f"{channel_prefix}/{c}/" for c in ("train", "validation")}
    sm.create_training_job(**_request(name, channels, output, image=image))
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:auc", "train:logloss", "validation:auc", "validation:logloss"}
    assert metrics["validation:auc"] > 0.95 and 0 < metrics["validation:logloss"] < 0.4

    blob = _model_member(s3, sagemaker_artifact_bucket, f"xgb-output/{name}/output/model.tar.gz")
    assert blob.startswith(first_bytes)  # JSON for 1.7-1 (what xgboost 1.7 loads), UBJSON for 3.x
    booster = xgb.Booster()
    booster.load_model(bytearray(blob))
    X, y = test_rows
    expected = booster.predict(xgb.DMatrix(X))
    assert np.mean((expected > 0.5) == y) > 0.9

    endpoint = _endpoint(sm, job["ModelArtifacts"]["S3ModelArtifacts"], image)
    csv = "\n".join(",".join(repr(float(v)) for v in row) for row in X)
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=csv)
    assert answer["ContentType"] == "text/csv"
    served = np.array([float(line) for line in answer["Body"].read().decode().splitlines()])
    np.testing.assert_allclose(served, expected, rtol=1e-6)
    as_json = json.loads(runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json",
                                                 Body=csv)["Body"].read())
    np.testing.assert_allclose([p["score"] for p in as_json["predictions"]], expected, rtol=1e-6)


@pytest.fixture(scope="module")
def library_model(training_channels) -> tuple[xgb.Booster, bytes]:
    """A booster trained by the xgboost library directly and saved with its own save_model (UBJSON)."""
    X, y = read_channel_csv(Path(training_channels["train"]))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=15)
    return booster, bytes(booster.save_raw("ubj"))


@pytest.fixture(scope="module")
def library_endpoint(sagemaker_clients, sagemaker_artifact_bucket, library_model) -> str:
    key = f"{unique_name('library')}/model.tar.gz"
    sagemaker_clients.s3.put_object(Bucket=sagemaker_artifact_bucket, Key=key, Body=model_tar({"xgboost-model": library_model[1]}))
    return _endpoint(sagemaker_clients.sagemaker, f"s3://{sagemaker_artifact_bucket}/{key}", XGB_30)


def test_a_model_written_by_the_xgboost_library_serves_the_library_predictions(sagemaker_clients, library_model, library_endpoint,
                                                                               test_rows):
    runtime = sagemaker_clients.runtime
    booster, _ = library_model
    X, _ = test_rows
    expected = booster.predict(xgb.DMatrix(X[:20]))
    csv = "\n".join(",".join(repr(float(v)) for v in row) for row in X[:20])
    jsonlines = runtime.invoke_endpoint(EndpointName=library_endpoint, ContentType="text/csv", Accept="application/jsonlines",
                                        Body=csv)["Body"].read().decode().splitlines()
    np.testing.assert_allclose([json.loads(line)["score"] for line in jsonlines], expected, rtol=1e-6)
    libsvm = "\n".join(" ".join(f"{i + 1}:{v!r}" for i, v in enumerate(row)) for row in X[:20].tolist())
    answer = runtime.invoke_endpoint(EndpointName=library_endpoint, ContentType="text/libsvm", Body=libsvm)
    np.testing.assert_allclose([float(v) for v in answer["Body"].read().decode().split()], expected, rtol=1e-6)
    body = recordio.encode_dense_matrix(X[:20])
    answer = runtime.invoke_endpoint(EndpointName=library_endpoint, ContentType="application/x-recordio-protobuf",
                                     Accept="application/json", Body=body)
    np.testing.assert_allclose([p["score"] for p in json.loads(answer["Body"].read())["predictions"]], expected, rtol=1e-6)


@pytest.mark.parametrize(
    "content_type, accept, body, status, words",
    [
        ("text/csv", None, b"1,2,not-a-number", 415, "Loading csv data failed"),
        ("application/json", None, b'{"instances": []}', 415, "not an accepted ContentType"),
        ("text/csv", None, ",".join(["1.0"] * 31).encode(), 400, "Unable to evaluate payload provided"),
        ("text/csv", "text/html", ",".join(["1.0"] * 30).encode(), 406, "Accept type text/html is not supported"),
    ],
)
def test_bad_payloads_are_model_errors(content_type, accept, body, status, words, sagemaker_clients, library_endpoint):
    kwargs = {"Accept": accept} if accept else {}
    with pytest.raises(ClientError) as info:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName=library_endpoint, ContentType=content_type, Body=body, **kwargs)
    error = info.value.response["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Code"] == "ModelError" and words in error["Message"]
    assert info.value.response.get("OriginalStatusCode", status) == status


def _endpoint_failure(sm: Any, s3: Any, bucket: str, files: dict[str, bytes]) -> str:
    key = f"{unique_name('bad-model')}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_tar(files))
    name = create_endpoint(sm, f"s3://{bucket}/{key}", image=XGB_17, wait=False)
    deadline = time.monotonic() + 300
    while (described := sm.describe_endpoint(EndpointName=name))["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert described["EndpointStatus"] == "Failed"
    return described["FailureReason"]


def test_a_pickled_model_is_refused_with_how_to_resave(sagemaker_clients, sagemaker_artifact_bucket):
    reason = _endpoint_failure(sagemaker_clients.sagemaker, sagemaker_clients.s3, sagemaker_artifact_bucket,
                               {"xgboost-model": PICKLED_BOOSTERS[2]})
    assert "pickle" in reason and "save_model" in reason and "arbitrary code" in reason


def test_a_hostile_archive_is_refused(sagemaker_clients, sagemaker_artifact_bucket):
    reason = _endpoint_failure(sagemaker_clients.sagemaker, sagemaker_clients.s3, sagemaker_artifact_bucket,
                               {"../xgboost-model": b"{}"})
    assert "escapes the archive" in reason


@pytest.mark.parametrize(
    "hyperparameters, content_type, words",
    [
        ({"objective": "binary:logistic"}, "text/csv", "ClientError: Missing required hyperparameter: num_round"),
        ({"num_round": "5", "eta": "2"}, "text/csv", "ClientError: Hyperparameter eta: 2.0 is not in [0, 1]"),
        ({"num_round": "5", "objective": "multi:softprob"}, "text/csv", "Require input for parameter 'num_class'"),
        ({"num_round": "5", "colour": "red"}, "text/csv", "Extraneous hyperparameter found: colour"),
        ({"num_round": "5"}, "application/x-image", "is not an accepted ContentType"),
    ],
)
def test_user_errors_fail_with_the_container_messages(hyperparameters, content_type, words, sagemaker_clients,
                                                      sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name("xgb-bad")
    sm.create_training_job(**_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                      hyperparameters=hyperparameters, content_type=content_type))
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert words in job["FailureReason"]


def test_stop_training_job_stops_an_xgboost_job(sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name("xgb-stop")
    endless = {"num_round": "1000000", "objective": "binary:logistic", "max_depth": "6"}
    sm.create_training_job(**_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                      hyperparameters=endless))
    deadline = time.monotonic() + 300  # generous: a worker importing xgboost on a loaded machine is slow
    while sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sm.stop_training_job(TrainingJobName=name)
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Stopped" and "FailureReason" not in job


def test_checkpoints_sync_to_s3_and_a_new_job_resumes_from_them(sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm, s3 = sagemaker_clients.sagemaker, sagemaker_clients.s3
    name = unique_name("xgb-ckpt")
    checkpoints = f"s3://{sagemaker_artifact_bucket}/{name}-checkpoints"
    hyper = {"num_round": "12", "objective": "binary:logistic"}
    sm.create_training_job(**_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                      hyperparameters=hyper, CheckpointConfig={"S3Uri": checkpoints}))
    assert _wait(sm, name)["TrainingJobStatus"] == "Completed"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=sagemaker_artifact_bucket, Prefix=f"{name}-checkpoints/")["Contents"])
    assert [Path(k).name for k in keys] == [f"xgboost-checkpoint.{i}" for i in (10, 11, 7, 8, 9)]  # the newest five
    resumed = unique_name("xgb-resume")
    sm.create_training_job(**_request(resumed, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                      hyperparameters={**hyper, "num_round": "15"}, CheckpointConfig={"S3Uri": checkpoints}))
    job = _wait(sm, resumed)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    blob = _model_member(s3, sagemaker_artifact_bucket, f"out/{resumed}/output/model.tar.gz")
    booster = xgb.Booster()
    booster.load_model(bytearray(blob))
    assert booster.num_boosted_rounds() == 15  # 12 from the checkpoint + 3 more


def test_max_runtime_stops_an_xgboost_job(sagemaker_clients, sagemaker_artifact_bucket, channel_prefix):
    sm = sagemaker_clients.sagemaker
    name = unique_name("xgb-timeout")
    endless = {"num_round": "1000000", "objective": "binary:logistic"}
    sm.create_training_job(**_request(name, {"train": f"{channel_prefix}/train/"}, f"s3://{sagemaker_artifact_bucket}/out",
                                      hyperparameters=endless, max_runtime=2))
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Stopped" and job["SecondaryStatus"] == "MaxRuntimeExceeded"


def test_an_xgboost_image_given_a_linear_learner_artifact_fails_like_aws(sagemaker_clients, sagemaker_model_url):
    """AWS starts the image's container on the artifact: the XGBoost container finds no XGBoost model, never
    answers /ping, and the endpoint is Failed with the ping-health-check reason (the emulator says why)."""
    sm = sagemaker_clients.sagemaker
    name = create_endpoint(sm, sagemaker_model_url, image=XGB_30, wait=False)
    with pytest.raises(WaiterError):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 600})
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("The primary container for production variant AllTraffic did not pass the ping health check.")
    assert "found no XGBoost model" in reason and "linear-learner image" in reason
    with pytest.raises(ClientError) as info:
        sagemaker_clients.runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=",".join(["1.0"] * 30))
    assert info.value.response["Error"]["Code"] == "ValidationError"


def test_a_linear_learner_image_given_an_xgboost_artifact_fails_like_aws(sagemaker_clients, sagemaker_artifact_bucket, library_model):
    sm, s3 = sagemaker_clients.sagemaker, sagemaker_clients.s3
    key = f"{unique_name('xgb-for-ll')}/model.tar.gz"
    s3.put_object(Bucket=sagemaker_artifact_bucket, Key=key, Body=model_tar({"xgboost-model": library_model[1]}))
    name = create_endpoint(sm, f"s3://{sagemaker_artifact_bucket}/{key}", wait=False)  # the default: Linear Learner's image
    with pytest.raises(WaiterError):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 600})
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in described["FailureReason"]
    assert "found no model_algo-1" in described["FailureReason"]
