"""What the kit writes is loaded by Apache MXNet itself and scores like the emulator.

Needs an MXNet 1.9.1 interpreter (Python 3.10: `pip install mxnet==1.9.1 "numpy<1.24"`): the one
`make mxnet-venv` builds under the shared venvs dir is found by itself, or point SAGESTACK_MXNET_PYTHON
at another. Without one the tests are skipped with a one-line reason.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from contract import names
from training.artifact import LinearModel, load_model_tar, save_model_tar
from training.inference import predict

MXNET_PYTHON = os.environ.get("SAGESTACK_MXNET_PYTHON") or str(names.venvs_dir() / "mxnet-1.9.1" / "bin" / "python")
SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "mxnet" / "score_with_mxnet.py"
pytestmark = pytest.mark.skipif(
    not (MXNET_PYTHON and Path(MXNET_PYTHON).exists()),
    reason="no MXNet 1.9.1 interpreter: run `make mxnet-venv` (or set SAGESTACK_MXNET_PYTHON) to load the artifacts with MXNet",
)


def _unpack(model_tar: Path, into: Path) -> Path:
    with tarfile.open(model_tar) as tar:
        algo = tar.extractfile("model_algo-1").read()
    with zipfile.ZipFile(io.BytesIO(algo)) as archive:
        for name in archive.namelist():
            (into / name).write_bytes(archive.read(name))
    return into


def _mxnet_scores(model_tar: Path, rows: np.ndarray, tmp_path: Path) -> dict:
    directory = _unpack(model_tar, tmp_path)
    rows_path = tmp_path / "rows.json"
    rows_path.write_text(json.dumps(rows.tolist()))
    done = subprocess.run([MXNET_PYTHON, str(SCRIPT), str(directory), str(rows_path)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _regressor() -> LinearModel:
    rng = np.random.default_rng(7)
    return LinearModel(
        predictor_type="regressor", feature_dim=4, feature_names=("a", "b", "c", "d"), weights=rng.normal(size=4),
        bias=0.3, feature_shift=rng.normal(size=4), feature_scale=rng.uniform(0.5, 2, size=4), loss="squared_loss",
        threshold=None, label_shift=10.0, label_scale=3.0,
    )


def test_mxnet_loads_a_kit_trained_classifier(trained_model_tar, tmp_path):
    model = load_model_tar(trained_model_tar)
    rows = np.random.default_rng(1).normal(size=(6, model.feature_dim)) * 5 + 10
    result = _mxnet_scores(trained_model_tar, rows, tmp_path)
    assert result["params"] == {"arg:fc0_bias": [1, 1], "arg:fc0_weight": [30, 1]}
    assert set(result["dtypes"].values()) == {"float32"}
    assert result["arguments"] == ["data", "fc0_weight", "fc0_bias", "out_label"]
    emulator = [p["score"] for p in predict(model, rows)]
    np.testing.assert_allclose(result["module"], emulator, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result["gluon"], emulator, rtol=1e-5, atol=1e-6)


def test_mxnet_loads_a_kit_written_regressor(tmp_path):
    path = save_model_tar(_regressor(), tmp_path / "model.tar.gz")
    model = load_model_tar(path)
    rows = np.random.default_rng(2).normal(size=(5, 4))
    (tmp_path / "unpacked").mkdir()
    result = _mxnet_scores(path, rows, tmp_path / "unpacked")
    emulator = [p["score"] for p in predict(model, rows)]
    np.testing.assert_allclose(result["module"], emulator, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result["gluon"], emulator, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(emulator, [p["score"] for p in predict(_regressor(), rows)], rtol=1e-5, atol=1e-5)
