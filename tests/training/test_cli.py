"""`sagestack train` end to end, its report, and the kit's quality bars on 10-fold cross-validation."""

from __future__ import annotations

import json

import pytest

from deploy.cli import main as sagestack
from training.artifact import load_model_tar
from training.evaluation import cross_validate
from training.hyperparameters import DEFAULT_HYPERPARAMETERS
from training.report import PLOT_FILES, QUALITY_BARS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("train-report")
    assert sagestack(["train", "--out", str(out), "--quiet"]) == 0
    return out


def test_train_writes_data_model_metrics_and_plots(report_dir):
    for path in ("data/wdbc.data", "data/train/train.csv", "data/validation/validation.csv", "data/test/test.csv",
                 "model.tar.gz", "metrics.json", "training.log"):
        assert (report_dir / path).is_file(), path
    for name in PLOT_FILES:
        assert (report_dir / "plots" / name).read_bytes()[:8] == PNG_MAGIC, name
    document = json.loads((report_dir / "metrics.json").read_text())
    assert document["data"]["splits"] == {"train": 455, "validation": 57, "test": 57}
    assert document["hyperparameters"] == DEFAULT_HYPERPARAMETERS
    assert len(document["cross_validation"]["per_fold"]) == 10
    assert set(document["quality_bars"]) == set(QUALITY_BARS)
    model = load_model_tar(report_dir / "model.tar.gz")
    assert document["final_metrics"] == model.metrics
    boosted = document["xgboost"]
    assert boosted["cross_validation"]["folds"] == 10 and boosted["cross_validation"]["mean"]["roc_auc"] > 0.97
    assert {"train:logloss", "validation:logloss"} <= set(boosted["final_metrics"]) and boosted["test"]["accuracy"] > 0.9


def test_summary_on_stdout_and_progress_on_stderr(tmp_path, capsys):
    assert sagestack(["train", "--out", str(tmp_path), "--no-plots", "--folds", "3"]) == 0
    captured = capsys.readouterr()
    assert "3-fold CV (mean ± sd): accuracy" in captured.out and "quality bars:" in captured.out
    assert "[1/5] Preparing data" in captured.err and "[2/5] Training" in captured.err
    assert "XGBoost (" in captured.out and "3-fold CV accuracy" in captured.out  # the report covers both algorithms
    assert not (tmp_path / "plots").exists()


def test_hyperparameter_override_and_regressor_skip_cv(tmp_path, capsys):
    code = sagestack(["train", "--out", str(tmp_path), "--quiet", "--no-plots",
                      "-H", "predictor_type=regressor", "-H", "loss=absolute_loss"])
    assert code == 0
    document = json.loads((tmp_path / "metrics.json").read_text())
    assert document["hyperparameters"]["predictor_type"] == "regressor"
    assert "cross_validation" not in document and "test:mse" in document["final_metrics"]


def test_user_data_file_with_an_error_exits_2_naming_the_line(tmp_path, wdbc_file, capsys):
    lines = wdbc_file.read_text().splitlines()
    lines[41] = lines[41].replace(",M,", ",Q,").replace(",B,", ",Q,")
    bad = tmp_path / "wdbc.data"
    bad.write_text("\n".join(lines) + "\n")
    assert sagestack(["train", "--data", str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "malformed data" in err and "line 42, column 2 (diagnosis)" in err and "Traceback" not in err


def test_bad_hyperparameter_exits_2_with_the_failure_reason(tmp_path, capsys):
    assert sagestack(["train", "--out", str(tmp_path), "--quiet", "-H", "learning_rate=fast"]) == 2
    err = capsys.readouterr().err
    assert "ClientError: The value 'fast' is not valid for the 'learning_rate' hyperparameter" in err


def test_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        sagestack(["train", "--folds", "1"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        sagestack(["train", "-H", "no-equals-sign"])
    assert sagestack(["train", "--data", str(tmp_path / "missing.data"), "--quiet"]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_default_hyperparameters_meet_the_quality_bars(wdbc_dataset):
    """README bars on stratified 10-fold CV with the kit's defaults (seed 42)."""
    cv = cross_validate(wdbc_dataset, DEFAULT_HYPERPARAMETERS, folds=10, seed=42)
    assert cv["mean"]["accuracy"] >= QUALITY_BARS["accuracy"]
    assert cv["mean"]["recall"] >= QUALITY_BARS["recall"]
    assert cv["mean"]["roc_auc"] >= QUALITY_BARS["roc_auc"]
    assert sorted(cv["out_of_fold"]["ids"].tolist()) == sorted(wdbc_dataset.ids.tolist())


def test_cross_validation_is_deterministic_and_validates_folds(wdbc_dataset):
    a = cross_validate(wdbc_dataset, DEFAULT_HYPERPARAMETERS, folds=5, seed=3)
    b = cross_validate(wdbc_dataset, DEFAULT_HYPERPARAMETERS, folds=5, seed=3)
    assert a["mean"] == b["mean"] and len(a["folds"]) == 5
    with pytest.raises(ValueError, match="folds"):
        cross_validate(wdbc_dataset, DEFAULT_HYPERPARAMETERS, folds=1000)
    with pytest.raises(ValueError, match="binary_classifier"):
        cross_validate(wdbc_dataset, {"predictor_type": "regressor"})


def test_progress_shows_epochs_in_place_on_a_terminal():
    import io

    from training.report import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream=stream, total_steps=2)
    progress.begin("Training")
    progress.log("#quality_metric: host=algo-1, epoch=1, train objective_loss <loss>=0.5")
    progress.log("#quality_metric: host=algo-1, epoch=2, train objective_loss <loss>=0.25")
    progress.log("Selected model 3 of 32 (...)")
    progress.done("ok")
    text = stream.getvalue()
    assert text.startswith("[1/2] Training ...\n")
    assert "\r      epoch 2: train objective_loss 0.25" in text
    assert "      Selected model 3 of 32 (...)\n" in text and text.rstrip().endswith("— ok")
