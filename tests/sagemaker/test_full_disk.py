"""A real full disk under a running emulator (its data dir on a small tmpfs, filled to the last
byte): requests that must write answer InternalFailure with nothing half-made, an endpoint whose
final status cannot be written is neither lost nor stuck once space returns, and a kill -9 while
the disk is full loses nothing that was acknowledged. Needs root (mount); skipped otherwise."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from emulator.sagemaker.process import EmulatorProcess, free_port
from tests.fixtures.sagemaker import LINEAR_LEARNER_IMAGE, ROLE_ARN, clients_for, create_endpoint, wait_in_service

pytestmark = pytest.mark.integration


class SmallDisk:
    def __init__(self, root: Path):
        self.root = root
        self.filler = root / "filler"

    def fill(self) -> None:
        """Write until the file system says ENOSPC (unbuffered: nothing is left to flush at close)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = b"\0" * 65536
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    if len(chunk) == 1:
                        break
                    chunk = chunk[: len(chunk) // 2]
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    root = tmp_path / "disk"
    root.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(root)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield SmallDisk(root)
    finally:
        if subprocess.run(["umount", str(root)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(root)], capture_output=True)


def _start(disk: SmallDisk, logs: Path, s3_url: str, *args: str, port: int | None = None) -> EmulatorProcess:
    """The emulator with its state on the small disk, its logs elsewhere (so they keep flowing)."""
    proc = EmulatorProcess(port or free_port(), disk.root / "sagemaker", s3_url, log_path=logs / "emulator.log",
                           extra_args=["--request-log", str(logs / "requests.log"), *args])
    return proc.start(timeout=60)


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _model(sm, name: str, url: str) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": url},
                    Tags=[{"Key": f"k{i}", "Value": "v" * 200} for i in range(40)])  # several pages: the WAL must grow


def test_full_disk_answers_internal_failure_and_a_kill_9_loses_nothing(small_disk, tmp_path, localstack, sagemaker_model_url):
    proc = _start(small_disk, tmp_path, localstack.url)
    port = proc.port
    try:
        sm = clients_for(proc.url, localstack.url).sagemaker
        serving = create_endpoint(sm, sagemaker_model_url, name="serving")  # the artifact is now in the local cache
        sm.create_endpoint_config(EndpointConfigName="spare", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "serving-alltraffic", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
        small_disk.fill()

        with pytest.raises(ClientError) as info:
            _model(sm, "no-room", sagemaker_model_url)
        assert _code(info) == ("InternalFailure", 500)
        assert "could not save its state" in info.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as info:
            sm.create_endpoint(EndpointName="no-room", EndpointConfigName="spare")
        assert _code(info) == ("InternalFailure", 500)
        with pytest.raises(ClientError) as info:
            sm.update_endpoint(EndpointName=serving, EndpointConfigName="spare")
        assert _code(info) == ("InternalFailure", 500)

        # Nothing half-made: no ghost model or endpoint, the endpoint not stuck in Updating, still serving.
        assert "no-room" not in {m["ModelName"] for m in sm.list_models()["Models"]}
        assert {e["EndpointName"]: e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]} == {serving: "InService"}
        runtime = clients_for(proc.url, localstack.url).runtime
        assert runtime.invoke_endpoint(EndpointName=serving, Body=",".join(["1"] * 30), ContentType="text/csv")["Body"].read()

        proc.kill()  # kill -9 with the disk still full
        small_disk.free()
        proc = _start(small_disk, tmp_path, localstack.url, port=port)
        sm = clients_for(proc.url, localstack.url).sagemaker
        assert {e["EndpointName"]: e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]} == {serving: "InService"}
        assert "no-room" not in {m["ModelName"] for m in sm.list_models()["Models"]}
        _model(sm, "no-room", sagemaker_model_url)  # the name was never taken
        sm.update_endpoint(EndpointName=serving, EndpointConfigName="spare")
        wait_in_service(sm, serving)
    finally:
        proc.stop()


def test_an_endpoint_whose_status_cannot_be_written_is_not_stuck_creating(small_disk, tmp_path, localstack, sagemaker_model_url):
    proc = _start(small_disk, tmp_path, localstack.url, "--transition-delay", "2")
    port = proc.port
    try:
        sm = clients_for(proc.url, localstack.url).sagemaker
        warm = create_endpoint(sm, sagemaker_model_url, name="warm")  # caches the artifact
        name = create_endpoint(sm, sagemaker_model_url, name="late", wait=False)
        small_disk.fill()  # before the 2 s transition ends: "InService" cannot be written
        time.sleep(3.0)
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"  # memory = disk, no ghost InService
        small_disk.free()  # the worker's retry lands
        wait_in_service(sm, name)
        sm.delete_endpoint(EndpointName=name)
        sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})

        # Full again, then kill -9 while an endpoint is Creating: the next start finishes it.
        again = create_endpoint(sm, sagemaker_model_url, name="again", wait=False)
        small_disk.fill()
        time.sleep(3.0)
        proc.kill()
        small_disk.free()
        proc = _start(small_disk, tmp_path, localstack.url, "--transition-delay", "2", port=port)
        sm = clients_for(proc.url, localstack.url).sagemaker
        wait_in_service(sm, again)
        assert sm.describe_endpoint(EndpointName=warm)["EndpointStatus"] == "InService"
        sm.delete_endpoint(EndpointName=again)
        sm.get_waiter("endpoint_deleted").wait(EndpointName=again, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    finally:
        proc.stop()
