"""`docker compose up` for real: both images built from the working tree, the round trip in containers.

Runs under its own compose project name, image tag, free published ports and outputs directory, so
it never touches a user's `docker compose` stack or `make up`. Needs a Docker engine with the compose
v2 plugin and the Dockerfiles' base images (pulled, or stand-ins built by tools/docker/engine.sh, which
.ci/run calls first); without them the module is skipped with a one-line reason. `make test` runs
these tests last (marker `compose`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from contract import names
from deploy.client import EXAMPLE_ROW

pytestmark = [pytest.mark.compose, pytest.mark.slow, pytest.mark.timeout(2400)]

ROOT = names.PROJECT_ROOT
DOCKERFILES = [ROOT / "emulator" / "localstack" / "Dockerfile", ROOT / "emulator" / "sagemaker" / "Dockerfile"]
IMAGE_TAG = "compose-test"
BUILD_TIMEOUT_S = 1800
UP_TIMEOUT_S = 600


def _run(cmd: list[str], timeout: float = 60, env: dict[str, str] | None = None, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def _why_no_engine() -> str | None:
    """None when docker compose can build here, else the one-line reason to skip."""
    if shutil.which("docker") is None:
        return "no docker client on PATH (tools/docker/engine.sh installs an engine and compose as root)"
    try:
        if _run(["docker", "info"], timeout=30).returncode != 0:
            return "no Docker engine reachable (start one, e.g. as root: tools/docker/engine.sh, as .ci/run does)"
        if _run(["docker", "compose", "version"], timeout=30).returncode != 0:
            return "the docker compose v2 plugin is missing (tools/docker/engine.sh installs it)"
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer within 30 s"
    for dockerfile in DOCKERFILES:
        stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile.read_text(), re.M | re.I))
        for image in re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M | re.I):
            if image in stages or _run(["docker", "image", "inspect", image]).returncode == 0:
                continue
            try:
                pulled = _run(["docker", "pull", "-q", image], timeout=120).returncode == 0
            except subprocess.TimeoutExpired:
                pulled = False
            if not pulled:
                return f"base image {image} is neither present nor pullable (no registry? tools/docker/engine.sh builds stand-ins)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((names.LOOPBACK, 0))
        return int(sock.getsockname()[1])


class Compose:
    """`docker compose` on the repository's file under a project name of its own."""

    def __init__(self, outputs_dir: Path) -> None:
        self.project = f"sagestack-test-{uuid.uuid4().hex[:8]}"
        self.localstack_port = _free_port()
        self.sagemaker_port = _free_port()
        self.outputs_dir = outputs_dir
        self.env = {
            **os.environ,
            "SAGESTACK_LOCALSTACK_PORT": str(self.localstack_port),
            "SAGESTACK_SAGEMAKER_PORT": str(self.sagemaker_port),
            "SAGESTACK_OUTPUTS_DIR": str(outputs_dir),
            "SAGESTACK_IMAGE_TAG": IMAGE_TAG,
        }

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["docker", "compose", "-p", self.project, "-f", str(ROOT / "docker-compose.yml"), *args]
        return _run(cmd, timeout=timeout, env=self.env, check=check)

    @property
    def outputs_path(self) -> Path:
        return self.outputs_dir / names.OUTPUTS_FILE_NAME

    def outputs(self) -> dict:
        return json.loads(self.outputs_path.read_text())


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    reason = _why_no_engine()
    if reason:
        pytest.skip(reason)
    outputs_dir = tmp_path_factory.mktemp("compose-outputs")
    stack = Compose(outputs_dir)
    stack("build", timeout=BUILD_TIMEOUT_S)
    try:
        yield stack
    finally:
        stack("down", "-v", "--remove-orphans", "--timeout", "10", timeout=300, check=False)


def _post(url: str, body: bytes, api_key: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"x-api-key": api_key} if api_key else {})}
    return httpx.post(url, content=body, headers=headers, timeout=60)


def _check_round_trip(stack: Compose) -> dict:
    """The documented checks against the published port; returns the host's outputs.json."""
    mode = stat.S_IMODE(stack.outputs_path.stat().st_mode)
    assert mode == 0o600, f"outputs.json holds the API key and must be 0600, is {oct(mode)}"
    outputs = stack.outputs()
    assert outputs["invoke_url"].startswith(f"http://127.0.0.1:{stack.localstack_port}/"), outputs["invoke_url"]
    example = json.dumps({"data": EXAMPLE_ROW}).encode()

    answer = _post(outputs["invoke_url"], example, outputs["api_key"])
    assert (answer.status_code, answer.json()) == (200, "B")
    no_key = _post(outputs["invoke_url"], example, None)
    assert no_key.status_code == 403, no_key.text
    malformed = _post(outputs["invoke_url"], b'{"data": "1,2,three"}', outputs["api_key"])
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["error"] == "BadRequest"

    # the host's CLI reads the bind-mounted outputs.json as it is
    predict = _run([sys.executable, "-m", "deploy.cli", "predict", EXAMPLE_ROW, "--outputs", str(stack.outputs_path)], timeout=120)
    assert predict.returncode == 0, predict.stderr
    assert predict.stdout.strip() == '"B"'

    log = stack("logs", "--no-color", "deploy").stdout
    assert "training report: job" in log and "test:binary_classification_accuracy" in log, log[-3000:]
    assert "warmed the Lambda" in log
    return outputs


def _training_jobs(stack: Compose) -> list[str]:
    """The emulator's training jobs, through its published port (what its named volume holds)."""
    import boto3

    client = boto3.client(
        "sagemaker",
        endpoint_url=f"http://127.0.0.1:{stack.sagemaker_port}",
        region_name=names.DEFAULT_REGION,
        aws_access_key_id=names.LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=names.LOCAL_SECRET_ACCESS_KEY,
    )
    return [job["TrainingJobName"] for job in client.list_training_jobs()["TrainingJobSummaries"]]


def test_compose_up_round_trip_then_down_and_up_again(compose: Compose):
    up = compose("up", "--wait", "--wait-timeout", str(UP_TIMEOUT_S), timeout=UP_TIMEOUT_S + 60, check=False)
    assert up.returncode == 0, f"docker compose up --wait failed:\n{up.stderr[-3000:]}\n{compose('logs', '--no-color', check=False).stdout[-6000:]}"
    first = _check_round_trip(compose)
    jobs = _training_jobs(compose)
    assert jobs == [first["training_job"]]

    compose("down", "--timeout", "10", timeout=300)
    assert _run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={compose.project}"]).stdout.strip() == ""

    up = compose("up", "--wait", "--wait-timeout", str(UP_TIMEOUT_S), timeout=UP_TIMEOUT_S + 60, check=False)
    assert up.returncode == 0, f"second docker compose up --wait failed:\n{up.stderr[-3000:]}"
    second = _check_round_trip(compose)
    # The emulator's named volume keeps its state: the first training job is still listed. LocalStack
    # starts empty (community LocalStack keeps no state), so the model artifact in its S3 is gone and
    # deploy trains again under a new job name (the same inputs' hash) rather than serving a lost artifact.
    after = _training_jobs(compose)
    assert first["training_job"] in after and second["training_job"] in after
    assert second["training_job"].startswith(first["training_job"])


def test_an_xgboost_training_job_and_endpoint_run_in_the_emulator_container(compose: Compose):
    """SageMaker's XGBoost in the emulator's image (which has no scikit-learn): a training job on the channels
    the deploy uploaded, then an endpoint on its artifact, through the published ports."""
    import time

    import boto3

    up = compose("up", "--wait", "--wait-timeout", str(UP_TIMEOUT_S), timeout=UP_TIMEOUT_S + 60, check=False)
    assert up.returncode == 0, up.stderr[-3000:]
    credentials = {"region_name": names.DEFAULT_REGION, "aws_access_key_id": names.LOCAL_ACCESS_KEY_ID,
                   "aws_secret_access_key": names.LOCAL_SECRET_ACCESS_KEY}
    sm = boto3.client("sagemaker", endpoint_url=f"http://127.0.0.1:{compose.sagemaker_port}", **credentials)
    runtime = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{compose.sagemaker_port}", **credentials)
    deployed = sm.describe_training_job(TrainingJobName=compose.outputs()["training_job"])
    channels = [{**channel, "ContentType": "text/csv"} for channel in deployed["InputDataConfig"]
                if channel["ChannelName"] in ("train", "validation")]
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    name = f"compose-xgb-{uuid.uuid4().hex[:8]}"
    sm.create_training_job(
        TrainingJobName=name, RoleArn=deployed["RoleArn"],
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        InputDataConfig=channels, OutputDataConfig={"S3OutputPath": deployed["OutputDataConfig"]["S3OutputPath"]},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        HyperParameters={"num_round": "20", "objective": "binary:logistic", "eval_metric": "auc,accuracy"},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    deadline = time.monotonic() + 300
    while (job := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} >= {"validation:auc", "validation:accuracy"}

    sm.create_model(ModelName=name, ExecutionRoleArn=deployed["RoleArn"],
                    PrimaryContainer={"Image": image, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 600})
    score = float(runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=EXAMPLE_ROW)["Body"].read())
    assert 0.0 <= score < 0.5  # the 2018 example is benign
