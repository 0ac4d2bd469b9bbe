"""No half-written state: input is validated before anything changes, and a change is visible only
once SQLite has it. Faults are real SQLite failures inside the emulator's own connection (a
read-only database, a trigger that aborts the transaction part-way) against the in-process app;
`test_full_disk.py` fills a real file system under a running emulator and kills it with -9."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.sagemaker.app import EmulatorApp
from emulator.sagemaker.config import EmulatorConfig, Limits
from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, training_job_request

UNREACHABLE_S3 = "http://127.0.0.1:9"  # discard port: model downloads fail at once


class Control:
    """The emulator's control plane called in-process (wire decoding, validation, domain, store)."""

    def __init__(self, data_dir: Path, **config: Any):
        self.data_dir = data_dir
        self.app = EmulatorApp(EmulatorConfig(data_dir=data_dir, s3_endpoint_url=config.pop("s3", UNREACHABLE_S3), **config))
        self.app.startup()

    def raw(self, operation: str, body: bytes) -> tuple[int, str | None, dict[str, Any]]:
        status, payload, code = self.app.control.handle(f"SageMaker.{operation}", body)
        return status, code, json.loads(payload)

    def __call__(self, operation: str, **params: Any) -> tuple[int, str | None, dict[str, Any]]:
        return self.raw(operation, json.dumps(params).encode())

    def ok(self, operation: str, **params: Any) -> dict[str, Any]:
        status, code, body = self(operation, **params)
        assert status == 200, (code, body)
        return body

    def rows(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """What is on disk, read through a second connection."""
        with sqlite3.connect(self.data_dir / "state.db") as db:
            rows = db.execute("SELECT kind, name, body FROM resources").fetchall()
        return [(k, n, json.loads(b)) for k, n, b in rows if kind is None or k == kind]

    def sql(self, statement: str) -> None:
        """Run `statement` on the emulator's own connection (a fault it will meet on its next write)."""
        conn = self.app.store._conn
        with self.app.store._lock:
            conn.execute(statement)

    def close(self) -> None:
        self.app.shutdown()


@pytest.fixture
def control(tmp_path: Path) -> Iterator[Control]:
    plane = Control(tmp_path / "state")
    try:
        yield plane
    finally:
        plane.close()


def _model(name: str, **extra: Any) -> dict[str, Any]:
    return {"ModelName": name, "ExecutionRoleArn": ROLE_ARN,
            "PrimaryContainer": {"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"}, **extra}


def _config(name: str, model: str, count: int = 1) -> dict[str, Any]:
    return {"EndpointConfigName": name, "ProductionVariants": [
        {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": count}]}


def _job(name: str, s3_uri: str = "s3://bucket/channels/", hyperparameters: dict[str, str] | None = None) -> dict[str, Any]:
    return training_job_request(name, {"train": s3_uri}, "s3://bucket/out", image=LINEAR_LEARNER_IMAGE,
                                hyperparameters=hyperparameters or {"feature_dim": "30", "predictor_type": "binary_classifier"})


def _wait_for(predicate: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


@pytest.fixture(scope="module")
def channel(localstack, training_channels) -> tuple[str, str]:
    """(S3 endpoint URL, channel URI): CreateTrainingJob checks a File-mode prefix has objects before writing."""
    import boto3

    from contract import names

    s3 = boto3.client("s3", endpoint_url=localstack.url, region_name=names.DEFAULT_REGION,
                      aws_access_key_id=names.LOCAL_ACCESS_KEY_ID, aws_secret_access_key=names.LOCAL_SECRET_ACCESS_KEY)
    bucket = f"half-written-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(training_channels["train"]), bucket, "train/train.csv")
    return localstack.url, f"s3://{bucket}/train/"


# --- hostile input -----------------------------------------------------------------------------


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_bare_non_finite_token_is_a_serialization_error_and_creates_nothing(control, token):
    requests = {
        "CreateModel": _model("ghost-model"),
        "CreateEndpointConfig": _config("ghost-config", "ghost-model"),
        "CreateTrainingJob": _job("ghost-job"),
    }
    for operation, params in requests.items():
        body = json.dumps(params)[:-1].encode() + b', "Extra": ' + token + b"}"
        status, code, answer = control.raw(operation, body)
        assert (status, code) == (400, "SerializationException"), answer
        assert token.decode() in answer["message"] and "not a JSON number" in answer["message"]
    assert control("DescribeModel", ModelName="ghost-model")[1] == "ValidationException"
    assert control("DescribeEndpointConfig", EndpointConfigName="ghost-config")[1] == "ValidationException"
    assert control("DescribeTrainingJob", TrainingJobName="ghost-job")[1] == "ValidationException"
    assert control.rows() == []


def test_an_unknown_member_is_ignored_whatever_it_holds(control, tmp_path):
    # 1e400 is valid JSON (a number beyond a double); in a member the API does not define, AWS ignores it.
    body = json.dumps(_model("huge-extra"))[:-1].encode() + b', "Extra": 1e400, "Nested": {"Deep": [1e400]}}'
    status, code, answer = control.raw("CreateModel", body)
    assert status == 200, answer
    body = json.dumps(_model("inner-extra"))
    body = body.replace('"ModelDataUrl"', '"Unknown": 1e400, "ModelDataUrl"').encode()
    assert control.raw("CreateModel", body)[0] == 200
    described = control.ok("DescribeModel", ModelName="huge-extra")
    assert "Extra" not in described and "Nested" not in described
    assert "Unknown" not in control.ok("DescribeModel", ModelName="inner-extra")["PrimaryContainer"]
    stored = {name: doc for _, name, doc in control.rows("model")}
    assert set(stored) == {"huge-extra", "inner-extra"}
    assert "Extra" not in stored["huge-extra"] and "Unknown" not in stored["inner-extra"]["PrimaryContainer"]
    # A model (and an endpoint config using it) with such a member is an ordinary resource: it survives a restart.
    control.ok("CreateEndpointConfig", **_config("cfg", "huge-extra"))
    control.close()
    again = Control(control.data_dir)
    try:
        assert again.ok("DescribeModel", ModelName="huge-extra")["ModelName"] == "huge-extra"
        assert again.ok("DescribeEndpointConfig", EndpointConfigName="cfg")["ProductionVariants"][0]["ModelName"] == "huge-extra"
    finally:
        again.close()


# --- a write the disk refuses ------------------------------------------------------------------


def test_a_write_that_fails_part_way_leaves_nothing(control):
    """The model row is written, then the tags row aborts the transaction: neither stays."""
    control.sql("CREATE TEMP TRIGGER fail_tags BEFORE INSERT ON resources WHEN NEW.kind = 'tags' "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END")
    status, code, answer = control("CreateModel", **_model("tagged", Tags=[{"Key": "team", "Value": "ml"}]))
    assert (status, code) == (500, "InternalFailure")
    assert "could not save its state" in answer["message"] and "nothing was changed" in answer["message"]
    assert control("DescribeModel", ModelName="tagged")[1] == "ValidationException"
    assert control.ok("ListModels")["Models"] == []
    assert control.rows() == []
    control.sql("DROP TRIGGER fail_tags")
    arn = control.ok("CreateModel", **_model("tagged", Tags=[{"Key": "team", "Value": "ml"}]))["ModelArn"]
    assert control.ok("ListTags", ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_a_read_only_database_answers_internal_failure_and_changes_nothing(tmp_path, channel):
    control = Control(tmp_path / "read-only", s3=channel[0])  # the model's artifact is missing there: the endpoint fails
    try:
        control.ok("CreateModel", **_model("kept"))
        control.ok("CreateEndpointConfig", **_config("kept", "kept"))
        control.ok("CreateEndpoint", EndpointName="broken", EndpointConfigName="kept")
        # The artifact cannot be downloaded: the endpoint fails, and a Failed endpoint can be deleted.
        _wait_for(lambda: control.ok("DescribeEndpoint", EndpointName="broken")["EndpointStatus"] == "Failed", "Failed")
        before = control.rows()
        control.sql("PRAGMA query_only = ON")
        for operation, params in (
            ("CreateModel", _model("new")),
            ("DeleteModel", {"ModelName": "kept"}),
            ("CreateEndpointConfig", _config("new", "kept")),
            ("DeleteEndpointConfig", {"EndpointConfigName": "kept"}),
            ("CreateEndpoint", {"EndpointName": "new", "EndpointConfigName": "kept"}),
            ("DeleteEndpoint", {"EndpointName": "broken"}),
            ("AddTags", {"ResourceArn": control.app.backend.arn("model", "kept"), "Tags": [{"Key": "k", "Value": "v"}]}),
            ("CreateTrainingJob", _job("new", channel[1])),
        ):
            status, code, answer = control(operation, **params)
            assert (status, code) == (500, "InternalFailure"), (operation, answer)
        assert control.rows() == before
        assert [m["ModelName"] for m in control.ok("ListModels")["Models"]] == ["kept"]
        assert [c["EndpointConfigName"] for c in control.ok("ListEndpointConfigs")["EndpointConfigs"]] == ["kept"]
        assert [(e["EndpointName"], e["EndpointStatus"]) for e in control.ok("ListEndpoints")["Endpoints"]] == [("broken", "Failed")]
        assert control.ok("ListTrainingJobs")["TrainingJobSummaries"] == []
        control.sql("PRAGMA query_only = OFF")
        control.ok("DeleteEndpoint", EndpointName="broken")
        assert control.ok("ListEndpoints")["Endpoints"] == []
        assert [name for _, name, _ in control.rows("endpoint")] == []
    finally:
        control.close()

def test_failed_training_job_creates_do_not_hold_the_instance_quota(tmp_path, channel):
    s3_url, uri = channel
    control = Control(tmp_path / "quota", s3=s3_url, limits=Limits(max_instances_per_type=1))
    try:
        control.sql("PRAGMA query_only = ON")
        for index in range(20):
            assert control("CreateTrainingJob", **_job(f"ghost-{index}", uri))[:2] == (500, "InternalFailure")
        control.sql("PRAGMA query_only = OFF")
        assert control.ok("ListTrainingJobs")["TrainingJobSummaries"] == []
        control.ok("CreateTrainingJob", **_job("real", uri))  # the quota is free: no ghost holds it
        status, code, answer = control("CreateTrainingJob", **_job("second", uri))
        if control.ok("DescribeTrainingJob", TrainingJobName="real")["TrainingJobStatus"] == "InProgress":
            assert (status, code) == (400, "ResourceLimitExceeded"), answer  # ... and still enforced
    finally:
        control.close()


def test_a_job_left_in_progress_without_a_supervisor_does_not_hold_the_quota(tmp_path, channel):
    """A job InProgress on disk whose failure cannot be recorded at start (the disk refuses) runs
    nowhere: it must not block new jobs, and StopTrainingJob ends it rather than leaving it Stopping."""
    data_dir = tmp_path / "orphan"
    s3_url, uri = channel
    control = Control(data_dir, s3=s3_url, limits=Limits(max_instances_per_type=1))
    try:
        control.ok("CreateTrainingJob", **_job("orphan", uri))
        _wait_for(lambda: not control.app.backend.trainer.supervising("orphan"), "the job to end")
    finally:
        control.close()
    # As a kill -9 while the job ran leaves it; plus a disk that refuses to record its failure.
    with sqlite3.connect(data_dir / "state.db") as db:
        (body,) = db.execute("SELECT body FROM resources WHERE kind = 'training-job'").fetchone()
        doc = json.loads(body)
        doc["TrainingJobStatus"] = "InProgress"
        db.execute("UPDATE resources SET body = ? WHERE kind = 'training-job'", (json.dumps(doc),))
        db.execute("CREATE TRIGGER refuse_updates BEFORE UPDATE ON resources WHEN OLD.kind = 'training-job' "
                   "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END")
    control = Control(data_dir, s3=s3_url, limits=Limits(max_instances_per_type=1))
    try:
        assert control.ok("DescribeTrainingJob", TrainingJobName="orphan")["TrainingJobStatus"] == "InProgress"
        control.ok("CreateTrainingJob", **_job("next", uri))  # not ResourceLimitExceeded: the orphan holds no instance
        control.sql("DROP TRIGGER refuse_updates")
        # Stopping it cannot wait for a worker that does not exist: it is Stopped at once.
        control.ok("StopTrainingJob", TrainingJobName="orphan")
        assert control.ok("DescribeTrainingJob", TrainingJobName="orphan")["TrainingJobStatus"] == "Stopped"
    finally:
        control.close()
    control = Control(data_dir, s3=s3_url)
    try:
        assert control.ok("DescribeTrainingJob", TrainingJobName="orphan")["TrainingJobStatus"] == "Stopped"
    finally:
        control.close()


# --- StopTrainingJob ------------------------------------------------------------------------------


@pytest.fixture
def running_job(tmp_path, localstack, training_channels) -> Iterator[tuple[Control, str]]:
    """An in-process emulator reading LocalStack's S3, with a job that trains for minutes."""
    import boto3

    from contract import names

    s3 = boto3.client("s3", endpoint_url=localstack.url, region_name=names.DEFAULT_REGION,
                      aws_access_key_id=names.LOCAL_ACCESS_KEY_ID, aws_secret_access_key=names.LOCAL_SECRET_ACCESS_KEY)
    bucket = f"stop-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(training_channels["train"]), bucket, "train/train.csv")
    control = Control(tmp_path / "stop", s3=localstack.url)
    endless = {"feature_dim": "30", "predictor_type": "binary_classifier", "epochs": "100000", "early_stopping_patience": "100000"}
    control.ok("CreateTrainingJob", **_job("endless", f"s3://{bucket}/train/", endless))
    try:
        yield control, "endless"
    finally:
        control.close()


def test_stop_that_cannot_be_written_leaves_no_ghost_stopping(running_job):
    control, name = running_job
    _wait_for(lambda: control.ok("DescribeTrainingJob", TrainingJobName=name)["SecondaryStatus"] == "Training", "Training")
    control.sql("PRAGMA query_only = ON")
    status, code, _ = control("StopTrainingJob", TrainingJobName=name)
    assert (status, code) == (500, "InternalFailure")
    job = control.ok("DescribeTrainingJob", TrainingJobName=name)
    assert job["TrainingJobStatus"] == "InProgress"  # not a "Stopping" that nothing will ever finish
    assert control.app.backend.trainer.supervising(name)  # and the job still runs
    control.sql("PRAGMA query_only = OFF")
    control.ok("StopTrainingJob", TrainingJobName=name)
    job = _wait_for(lambda: (j := control.ok("DescribeTrainingJob", TrainingJobName=name))["TrainingJobStatus"] != "Stopping" and j,
                    "the job to stop")
    assert job["TrainingJobStatus"] == "Stopped"
    assert [doc["TrainingJobStatus"] for _, _, doc in control.rows("training-job")] == ["Stopped"]


def test_a_final_status_that_cannot_be_written_is_retried_until_the_disk_takes_it(running_job):
    control, name = running_job
    _wait_for(lambda: control.ok("DescribeTrainingJob", TrainingJobName=name)["SecondaryStatus"] == "Training", "Training")
    # The disk will refuse the job's final status (and only that write).
    control.sql("CREATE TEMP TRIGGER refuse_final BEFORE UPDATE ON resources "
                "WHEN NEW.body LIKE '%\"TrainingJobStatus\":\"Stopped\"%' BEGIN SELECT RAISE(ABORT, 'database or disk is full (injected)'); END")
    control.ok("StopTrainingJob", TrainingJobName=name)
    time.sleep(2.0)  # the worker ends on SIGTERM; its "Stopped" meets the refusing disk
    assert control.ok("DescribeTrainingJob", TrainingJobName=name)["TrainingJobStatus"] == "Stopping"  # memory = disk
    assert [doc["TrainingJobStatus"] for _, _, doc in control.rows("training-job")] == ["Stopping"]
    control.sql("DROP TRIGGER refuse_final")
    _wait_for(lambda: control.ok("DescribeTrainingJob", TrainingJobName=name)["TrainingJobStatus"] == "Stopped", "Stopped")
    assert [doc["TrainingJobStatus"] for _, _, doc in control.rows("training-job")] == ["Stopped"]
