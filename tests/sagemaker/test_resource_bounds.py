"""What a training job or a rejected model leaves behind is bounded (issue: the stack loses nothing and
keeps nothing it should not): gzip channels decompress within the input limit as they stream, a
finished job's work directory is removed, and a model archive that fails to load is never cached.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import time

import pytest

from emulator.sagemaker import training_worker
from emulator.sagemaker.artifacts import ArtifactFetchError, ArtifactStore
from tests.fixtures.sagemaker import unique_name


def test_a_gzip_bomb_is_refused_while_it_streams(tmp_path):
    bomb = tmp_path / "train.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        for _ in range(8):
            out.write(b"\0" * (1024 * 1024))  # 8 MiB of zeros: a few KiB compressed
    assert bomb.stat().st_size < 64 * 1024
    with pytest.raises(training_worker.ChannelError, match="decompresses to more than"):
        training_worker._gunzip_in_place(bomb, "train", budget=2 * 1024 * 1024)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv.gz"]  # no partial output left


def test_a_gzip_channel_file_within_the_limit_is_decompressed_in_place(tmp_path):
    rows = b"1,0.5,0.25\n0,0.1,0.2\n" * 1000
    path = tmp_path / "part.csv"
    path.write_bytes(gzip.compress(rows))
    assert training_worker._gunzip_in_place(path, "train", budget=len(rows)) == len(rows)
    assert path.read_bytes() == rows


def test_a_file_that_is_not_gzip_names_the_file(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_bytes(b"1,2,3\n")
    with pytest.raises(training_worker.ChannelError, match="plain.csv is not gzip data"):
        training_worker._gunzip_in_place(path, "train", budget=1024)
    assert not (tmp_path / "plain.csv.gunzip").exists()


class _OneObject:
    """An S3 client answering GetObject with one fixed body (the store's only S3 call)."""

    def __init__(self, body: bytes):
        self.body = body

    def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's parameter names
        return {"ContentLength": len(self.body), "Body": io.BytesIO(self.body)}


def _tar_with(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_rejected_model_archive_is_not_kept_in_the_cache(tmp_path):
    store = ArtifactStore(tmp_path / "models", lambda: _OneObject(_tar_with("../escape", b"x")))
    with pytest.raises(ArtifactFetchError):
        store.model_for("s3://bucket/model.tar.gz", None)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_finished_job_leaves_no_work_directory(sagemaker_emulator, sagemaker_clients, sagemaker_artifact_bucket):
    from tests.sagemaker.test_training_jobs import HYPERPARAMETERS, _job_request, _wait

    sm, s3 = sagemaker_clients.sagemaker, sagemaker_clients.s3
    prefix = unique_name("bounds")
    rows = "".join(f"{i % 2},{i % 7}.5,{i % 3}.25\n" for i in range(60))
    for channel in ("train", "validation"):
        s3.put_object(Bucket=sagemaker_artifact_bucket, Key=f"{prefix}/{channel}/part.csv", Body=rows.encode())
    channels = {c: f"s3://{sagemaker_artifact_bucket}/{prefix}/{c}/" for c in ("train", "validation")}
    request = _job_request(unique_name("bounds"), channels, f"s3://{sagemaker_artifact_bucket}/output",
                           hyperparameters={**HYPERPARAMETERS, "feature_dim": "2"})
    name = request["TrainingJobName"]
    sm.create_training_job(**request)
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    work = sagemaker_emulator.data_dir / "training-jobs" / name
    deadline = time.monotonic() + 30
    while work.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not work.exists(), f"{work} still holds {sorted(p.name for p in work.iterdir())}"


def test_the_control_plane_refuses_a_huge_body_while_reading(sagemaker_emulator):
    import http.client
    import json

    host, port = "127.0.0.1", sagemaker_emulator.port
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.CreateModel"}
    conn = http.client.HTTPConnection(host, port, timeout=30)
    # Declared 60 MB, only the first bytes sent: answered at once, not after buffering.
    conn.putrequest("POST", "/")
    for key, value in {**headers, "Content-Length": str(60 * 1024 * 1024)}.items():
        conn.putheader(key, value)
    conn.endheaders()
    conn.send(b'{"ModelName": "')
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["__type"] == "RequestEntityTooLargeException"
    conn.close()
    # A chunked body that passes the limit as it streams.
    conn = http.client.HTTPConnection(host, port, timeout=60)
    chunk = b" " * (1024 * 1024)
    conn.request("POST", "/", body=iter([chunk] * 8), headers={**headers, "Transfer-Encoding": "chunked"}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413
    response.read()
    conn.close()
    assert sagemaker_emulator.health() is not None
