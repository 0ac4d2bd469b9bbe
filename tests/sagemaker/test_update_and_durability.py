"""UpdateEndpoint swaps models with no failed request in between; a failed update rolls back;
state survives kill -9 (and a damaged state file) and every endpoint serves the same model again."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, boto_session, clients_for, create_endpoint, start_emulator, unique_name
from training.artifact import LinearModel, save_model_tar

pytestmark = pytest.mark.integration

ROW = ",".join(["1.0"] * 30)


def _constant_model(path: Path, bias: float) -> Path:
    """A model whose score is sigmoid(bias) for every row: easy to tell two models apart."""
    return save_model_tar(
        LinearModel(predictor_type="binary_classifier", feature_dim=30, feature_names=[f"f{i}" for i in range(30)],
                    weights=[0.0] * 30, bias=bias, feature_shift=[0.0] * 30, feature_scale=[1.0] * 30,
                    loss="logistic", threshold=0.5),
        path,
    )


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, sagemaker_clients, sagemaker_artifact_bucket) -> dict[str, str]:
    urls = {}
    for label, bias in (("low", -3.0), ("high", 3.0)):
        path = _constant_model(tmp_path_factory.mktemp(label) / "model.tar.gz", bias)
        key = f"constant/{label}/model.tar.gz"
        sagemaker_clients.s3.upload_file(str(path), sagemaker_artifact_bucket, key)
        urls[label] = f"s3://{sagemaker_artifact_bucket}/{key}"
    return urls


def _label(runtime, name: str) -> int:
    body = runtime.invoke_endpoint(EndpointName=name, Body=ROW, ContentType="text/csv")["Body"].read()
    return json.loads(body)["predictions"][0]["predicted_label"]


def _new_config(sm, url: str) -> str:
    name = unique_name("cfg")
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": url})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    return name


def test_update_endpoint_swaps_models_without_a_failed_request(sagemaker_emulator, sagemaker_clients, two_models):
    sm = sagemaker_clients.sagemaker
    name = create_endpoint(sm, two_models["low"])
    assert _label(sagemaker_clients.runtime, name) == 0
    config = _new_config(sm, two_models["high"])
    stop = threading.Event()
    seen: list[tuple[float, float, int]] = []  # (sent, answered, label) per request
    failures: list[str] = []

    def hammer() -> None:
        runtime = boto_session().client("sagemaker-runtime", endpoint_url=sagemaker_emulator.url, config=Config(retries={"max_attempts": 1}))
        while not stop.is_set():
            sent = time.monotonic()
            try:
                label = _label(runtime, name)
            except Exception as error:  # any failure at all is a test failure
                failures.append(repr(error))
                continue
            seen.append((sent, time.monotonic(), label))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(seen) < 20 and not failures:  # every client is up and hammering before the update
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=config)
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] in ("Updating", "InService")
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    labels = [label for _, _, label in sorted(seen)]
    assert labels[0] == 0 and labels[-1] == 1 and len(seen) > 20
    # The swap is atomic: a request sent after any request was answered by the new model is answered by it too.
    first_new_answer = min(answered for _, answered, label in seen if label == 1)
    assert all(label == 1 for sent, _, label in seen if sent > first_new_answer)
    endpoint = sm.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointConfigName"] == config and "PendingDeploymentSummary" not in endpoint


def test_failed_update_rolls_back_to_the_serving_model(sagemaker_clients, two_models, sagemaker_artifact_bucket):
    sm = sagemaker_clients.sagemaker
    name = create_endpoint(sm, two_models["low"])
    original = sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    broken = _new_config(sm, f"s3://{sagemaker_artifact_bucket}/missing/model.tar.gz")
    sm.update_endpoint(EndpointName=name, EndpointConfigName=broken)
    deadline = time.monotonic() + 30
    while "FailureReason" not in (endpoint := sm.describe_endpoint(EndpointName=name)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == original
    assert "Failed to download model data" in endpoint["FailureReason"]
    assert _label(sagemaker_clients.runtime, name) == 0


def test_kill_9_and_restart_serves_every_endpoint_with_the_same_model(tmp_path, localstack, two_models):
    data_dir = tmp_path / "durable"
    proc = start_emulator(data_dir, localstack.url)
    port = proc.port
    try:
        clients = clients_for(proc.url, localstack.url)
        low = create_endpoint(clients.sagemaker, two_models["low"], name="durable-low")
        high = create_endpoint(clients.sagemaker, two_models["high"], name="durable-high")
        updated = create_endpoint(clients.sagemaker, two_models["low"], name="durable-updated")
        clients.sagemaker.update_endpoint(EndpointName=updated, EndpointConfigName=_new_config(clients.sagemaker, two_models["high"]))
        clients.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=updated, WaiterConfig={"Delay": 0.1})
        before = {name: _label(clients.runtime, name) for name in (low, high, updated)}
        assert before == {low: 0, high: 1, updated: 1}

        proc.kill()
        # the artifacts are served from the emulator's own cache, even if S3 lost them meanwhile
        clients.s3.delete_object(Bucket=two_models["low"].split("/")[2], Key="constant/low/model.tar.gz")
        proc = start_emulator(data_dir, localstack.url, port=port)
        after = {name: _label(clients.runtime, name) for name in (low, high, updated)}
        assert after == before
        statuses = {e["EndpointName"]: e["EndpointStatus"] for e in clients.sagemaker.list_endpoints(NameContains="durable")["Endpoints"]}
        assert statuses == {low: "InService", high: "InService", updated: "InService"}
    finally:
        proc.stop()
        clients.s3.upload_file(str(_constant_model(tmp_path / "again.tar.gz", -3.0)), two_models["low"].split("/")[2], "constant/low/model.tar.gz")


def test_kill_9_during_writes_leaves_a_consistent_state(tmp_path, localstack):
    data_dir = tmp_path / "crash"
    proc = start_emulator(data_dir, localstack.url)
    port = proc.port
    clients = clients_for(proc.url, localstack.url)
    created: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        index = 0
        while not stop.is_set():
            name = f"crash-model-{index}"
            try:
                clients.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})
                created.append(name)
            except Exception:
                return
            index += 1

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.0)
    proc.kill()
    stop.set()
    thread.join()
    with sqlite3.connect(data_dir / "state.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    proc = start_emulator(data_dir, localstack.url, port=port)
    try:
        names = {m["ModelName"] for p in clients.sagemaker.get_paginator("list_models").paginate(NameContains="crash-model") for m in p["Models"]}
        assert set(created) <= names  # every acknowledged create survived
        assert len(names) <= len(created) + 1  # at most the one in flight when killed
        assert created
    finally:
        proc.stop()


def test_damaged_state_file_is_moved_aside_not_fatal(tmp_path, localstack):
    data_dir = tmp_path / "damaged"
    data_dir.mkdir()
    (data_dir / "state.db").write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 2000)
    proc = start_emulator(data_dir, localstack.url)
    try:
        clients = clients_for(proc.url, localstack.url)
        assert clients.sagemaker.list_endpoints()["Endpoints"] == []
        clients.sagemaker.create_model(ModelName="after-damage", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE})
        assert list(data_dir.glob("state.db.corrupt-*"))
        assert "damaged" in proc.log_tail()
    finally:
        proc.stop()


def test_training_job_interrupted_by_a_crash_is_failed_on_restart(tmp_path, localstack, sagemaker_clients, sagemaker_artifact_bucket, training_channels):
    data_dir = tmp_path / "interrupted"
    proc = start_emulator(data_dir, localstack.url)
    port = proc.port
    clients = clients_for(proc.url, localstack.url)
    prefix = unique_name("crash-channels")
    clients.s3.upload_file(str(training_channels["train"]), sagemaker_artifact_bucket, f"{prefix}/train.csv")
    clients.sagemaker.create_training_job(
        TrainingJobName="interrupted", RoleArn=ROLE_ARN,
        AlgorithmSpecification={"TrainingImage": LINEAR_LEARNER_IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{sagemaker_artifact_bucket}/{prefix}/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{sagemaker_artifact_bucket}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        HyperParameters={"feature_dim": "30", "predictor_type": "binary_classifier", "epochs": "100000", "early_stopping_patience": "100000"},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    time.sleep(1.0)
    proc.kill()
    proc = start_emulator(data_dir, localstack.url, port=port)
    try:
        job = clients.sagemaker.describe_training_job(TrainingJobName="interrupted")
        assert job["TrainingJobStatus"] == "Failed"
        assert "emulator stopped while this job was running" in job["FailureReason"]
        with pytest.raises(ClientError):
            clients.sagemaker.stop_training_job(TrainingJobName="interrupted")
    finally:
        proc.stop()
