"""The training job as the SageMaker emulator runs it: channels in, model.tar.gz and metrics out, FailureReasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.artifact import load_model_tar
from training.hyperparameters import DEFAULT_HYPERPARAMETERS
from training.job import TrainingJobError, TrainingStopped, run_training_job


def test_job_writes_model_and_linear_learner_metrics(trained_job):
    assert trained_job.model_path.name == "model.tar.gz" and trained_job.model_path.is_file()
    metrics = trained_job.final_metrics
    for name in ("train:objective_loss", "validation:objective_loss", "validation:binary_classification_accuracy",
                 "validation:binary_f_beta", "validation:precision", "validation:recall", "validation:roc_auc_score",
                 "test:objective_loss", "test:binary_classification_accuracy", "test:binary_f_beta",
                 "test:precision", "test:recall", "test:roc_auc_score"):
        assert name in metrics and isinstance(metrics[name], float)
    assert load_model_tar(trained_job.model_path).metrics == metrics
    assert metrics["test:binary_classification_accuracy"] >= 0.93


def test_job_is_deterministic(tmp_path, training_channels):
    a = run_training_job(training_channels, DEFAULT_HYPERPARAMETERS, tmp_path / "a", seed=5)
    b = run_training_job(training_channels, DEFAULT_HYPERPARAMETERS, tmp_path / "b", seed=5)
    assert a.model_path.read_bytes() == b.model_path.read_bytes()
    assert a.final_metrics == b.final_metrics


def test_job_logs_quality_metric_lines(tmp_path, training_channels):
    lines: list[str] = []
    run_training_job(training_channels, DEFAULT_HYPERPARAMETERS, tmp_path, log=lines.append)
    assert any(line.startswith("#quality_metric: host=algo-1, epoch=1, train objective_loss <loss>=") for line in lines)
    assert any(line.startswith("#quality_metric: host=algo-1, test binary_classification_accuracy <score>=") for line in lines)


def test_train_channel_alone_and_channel_directories(tmp_path, training_channels):
    result = run_training_job({"train": training_channels["train"].parent}, DEFAULT_HYPERPARAMETERS, tmp_path)
    assert set(result.final_metrics) == {"train:objective_loss"}


def test_regressor_job_reports_regression_metrics(tmp_path, training_channels):
    hyperparameters = {"predictor_type": "regressor", "loss": "absolute_loss", "mini_batch_size": "100", "epochs": "10"}
    result = run_training_job(training_channels, hyperparameters, tmp_path)
    assert {"test:objective_loss", "test:mse", "test:absolute_loss"} <= set(result.final_metrics)
    assert load_model_tar(result.model_path).threshold is None


def test_hyperparameter_errors_are_client_errors(tmp_path, training_channels):
    with pytest.raises(TrainingJobError) as info:
        run_training_job(training_channels, {**DEFAULT_HYPERPARAMETERS, "epochs": "many"}, tmp_path)
    assert str(info.value).startswith("ClientError: The value 'many' is not valid for the 'epochs' hyperparameter")
    assert str(info.value).endswith("(caused by ValidationError)")
    with pytest.raises(TrainingJobError, match=r"^ClientError: No value\(s\) were specified for 'predictor_type'"):
        run_training_job(training_channels, {"feature_dim": "30"}, tmp_path)
    assert not (tmp_path / "model.tar.gz").exists()


def test_feature_dim_must_match_the_data(tmp_path, training_channels):
    with pytest.raises(TrainingJobError, match=r"feature dimension of the data \(30\) does not match .*'feature_dim' hyperparameter \(31\)"):
        run_training_job(training_channels, {**DEFAULT_HYPERPARAMETERS, "feature_dim": "31"}, tmp_path)
    run_training_job(training_channels, {**DEFAULT_HYPERPARAMETERS, "feature_dim": "auto"}, tmp_path)


def test_channel_problems(tmp_path, training_channels):
    with pytest.raises(TrainingJobError, match="'train' is a required property"):
        run_training_job({"validation": training_channels["validation"]}, DEFAULT_HYPERPARAMETERS, tmp_path)
    with pytest.raises(TrainingJobError, match=r"Additional properties are not allowed \('extra' was unexpected\)"):
        run_training_job({**training_channels, "extra": training_channels["test"]}, DEFAULT_HYPERPARAMETERS, tmp_path)


def _channel(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_unparsable_csv_names_rows_file_line_and_column(tmp_path, training_channels):
    good = training_channels["train"].read_text().splitlines()
    fields = good[149].split(",")
    fields[4] = "oops"
    bad = _channel(tmp_path, "train", "\n".join(good[:149] + [",".join(fields)] + good[150:]) + "\n")
    with pytest.raises(TrainingJobError) as info:
        run_training_job({"train": bad}, DEFAULT_HYPERPARAMETERS, tmp_path / "out")
    message = str(info.value)
    assert message.startswith("ClientError: Unable to parse csv: rows 101-200, file ")
    assert str(bad) in message and "line 150, column 5" in message and "'oops' is not a number" in message


def test_binary_labels_must_be_zero_or_one(tmp_path, training_channels):
    lines = training_channels["train"].read_text().splitlines()
    lines[3] = "2" + lines[3][1:]
    bad = _channel(tmp_path, "train", "\n".join(lines) + "\n")
    with pytest.raises(TrainingJobError, match=r"must be 0 or 1; channel 'train' has label 2 in data row 4"):
        run_training_job({"train": bad}, DEFAULT_HYPERPARAMETERS, tmp_path / "out")
    one_class = _channel(tmp_path, "one", "1,1.0,2.0\n1,2.0,3.0\n")
    with pytest.raises(TrainingJobError, match="only one class"):
        run_training_job({"train": one_class}, {"predictor_type": "binary_classifier"}, tmp_path / "out")


def test_channels_must_share_their_width(tmp_path, training_channels):
    narrow = _channel(tmp_path, "validation", "1,1.0,2.0\n0,2.0,3.0\n")
    with pytest.raises(TrainingJobError, match=r"channel 'validation' \(2\) does not match the 'train' channel \(30\)"):
        run_training_job({"train": training_channels["train"], "validation": narrow}, DEFAULT_HYPERPARAMETERS, tmp_path)


def test_divergence_becomes_a_client_error(tmp_path, training_channels):
    hyperparameters = {**DEFAULT_HYPERPARAMETERS, "optimizer": "sgd", "learning_rate": "1e305", "num_models": "2",
                       "use_lr_scheduler": "false"}
    with pytest.raises(TrainingJobError, match="ClientError: Training diverged.*Lower the 'learning_rate'"):
        run_training_job(training_channels, hyperparameters, tmp_path)


def test_stop_request(tmp_path, training_channels):
    with pytest.raises(TrainingStopped):
        run_training_job(training_channels, DEFAULT_HYPERPARAMETERS, tmp_path, should_stop=lambda: True)
