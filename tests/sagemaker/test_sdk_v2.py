"""The SageMaker Python SDK v2 end to end against the embedded stack (LocalStack S3 + the emulator):
`LinearLearner(...).record_set` (RecordIO-protobuf shards + ManifestFile), `fit`, `deploy`,
`LinearLearnerPredictor.predict` (RecordIO-protobuf both ways), `delete_endpoint`, and the generic
`Estimator(image_uri=...)` with CSV channels. The SDK runs unmodified in its own venv, redirected
only by AWS's standard endpoint variables."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError

from contract import names
from tests.fixtures.sagemaker import ROLE_ARN
from training.artifact import load_model_tar
from training.inference import predict

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).resolve().parents[1] / "sdk_v2" / "linear_learner_notebook.py"


def _model(s3, url: str):
    bucket, key = url[5:].split("/", 1)
    return load_model_tar(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.mark.timeout(1800)  # includes building the SDK's venv the first time (pip: minutes)
def test_linear_learner_with_the_sdk_v2(sdk_v2_python, sagemaker_emulator, localstack, sagemaker_clients,
                                        sagemaker_artifact_bucket, training_channels, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update({
        "AWS_ACCESS_KEY_ID": names.LOCAL_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": names.LOCAL_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": names.DEFAULT_REGION, "AWS_ENDPOINT_URL_SAGEMAKER": sagemaker_emulator.url,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": sagemaker_emulator.url, "AWS_ENDPOINT_URL_S3": localstack.url,
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1", "HOME": str(tmp_path),
    })
    done = subprocess.run(
        [str(sdk_v2_python), str(SCRIPT), str(training_channels["train"]), ROLE_ARN, sagemaker_artifact_bucket,
         str(tmp_path / "results.json")],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["sdk_version"].startswith("2.")
    assert results["record_set"]["s3_data_type"] == "ManifestFile"
    rows = np.array(results["rows"])
    s3 = sagemaker_clients.s3

    expected = predict(_model(s3, results["ll_model_data"]), rows)
    np.testing.assert_allclose(results["ll_scores"], [e["score"] for e in expected], rtol=1e-5, atol=1e-6)
    assert results["ll_labels"] == [float(e["predicted_label"]) for e in expected]

    expected = predict(_model(s3, results["csv_model_data"]), rows)  # CSVSerializer sends float32 text: 1e-5
    assert [p["predicted_label"] for p in results["csv_predictions"]] == [e["predicted_label"] for e in expected]
    np.testing.assert_allclose([p["score"] for p in results["csv_predictions"]], [e["score"] for e in expected], rtol=1e-5, atol=1e-7)

    for endpoint in (results["ll_endpoint"], results["csv_endpoint"]):
        with pytest.raises(ClientError):
            sagemaker_clients.sagemaker.describe_endpoint(EndpointName=endpoint)
