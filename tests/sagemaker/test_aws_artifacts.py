"""Endpoints serving model.tar.gz files as AWS's Linear Learner writes them (made by MXNet itself).

The artifacts are tests/fixtures/mxnet/<kind>/model.tar.gz (see make_fixtures.py there); the
scores must be MXNet's own forward-pass outputs, labels by the threshold, regressors score-only.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.sagemaker import create_endpoint, unique_name

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mxnet"


def _upload(clients, bucket: str, data: bytes) -> str:
    key = f"aws-artifacts/{unique_name('m')}/model.tar.gz"
    clients.s3.put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


@pytest.mark.parametrize("kind", ["regressor", "binary_classifier"])
def test_endpoint_serves_an_artifact_written_by_mxnet(kind, sagemaker_clients, sagemaker_artifact_bucket):
    expected = json.loads((FIXTURES / kind / "expected.json").read_text())
    url = _upload(sagemaker_clients, sagemaker_artifact_bucket, (FIXTURES / kind / "model.tar.gz").read_bytes())
    endpoint = create_endpoint(sagemaker_clients.sagemaker, url)
    body = "\n".join(",".join(repr(v) for v in row) for row in expected["rows"])
    response = sagemaker_clients.runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="text/csv")
    predictions = json.loads(response["Body"].read())["predictions"]
    np.testing.assert_allclose([p["score"] for p in predictions], expected["mxnet_outputs"], rtol=1e-6, atol=1e-7)
    if kind == "regressor":
        assert all(set(p) == {"score"} for p in predictions)
    else:
        assert [p["predicted_label"] for p in predictions] == [int(s > 0.5) for s in expected["mxnet_outputs"]]


def test_hostile_inner_zip_fails_the_endpoint_with_a_reason(sagemaker_clients, sagemaker_artifact_bucket):
    with tarfile.open(FIXTURES / "regressor" / "model.tar.gz") as tar:
        algo = tar.extractfile("model_algo-1").read()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(algo)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("../../etc/cron.d/evil", b"x")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("model_algo-1")
        info.size = len(out.getvalue())
        tar.addfile(info, io.BytesIO(out.getvalue()))
    url = _upload(sagemaker_clients, sagemaker_artifact_bucket, raw.getvalue())
    sm = sagemaker_clients.sagemaker
    endpoint = create_endpoint(sm, url, wait=False)
    for _ in range(300):
        described = sm.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] != "Creating":
            break
        time.sleep(0.1)
    assert described["EndpointStatus"] == "Failed"
    assert "'../../etc/cron.d/evil' escapes the archive" in described["FailureReason"]
