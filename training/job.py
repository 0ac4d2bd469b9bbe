"""One SageMaker-style training job: channels + string hyperparameters in, `model.tar.gz` + metrics out.

This is what the SageMaker emulator's CreateTrainingJob runs (after copying the S3 channels
to local directories) and what `sagestack train` runs. Failures the user can fix raise
`TrainingJobError` whose message is usable verbatim as DescribeTrainingJob's FailureReason,
worded like Linear Learner's: "ClientError: ... (caused by ValidationError)" for
hyperparameters, "ClientError: Unable to parse csv: rows 1-1000, file ..." for data.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from contract.dataset import CHANNELS

from training.artifact import ArtifactError, LinearModel, as_stored, save_model_tar
from training.data import DEFAULT_SEED, ChannelFormatError, read_channel_csv
from training.hyperparameters import HyperparameterError, LinearLearnerConfig, parse_hyperparameters
from training.inference import score_matrix
from training.linear_learner import LinearLearner, TrainingDiverged, TrainingStopped, describe, raw_output
from training.metrics import LossParams, binary_metrics, objective_loss, regression_metrics

MODEL_FILE_NAME = "model.tar.gz"
LOSS_METRICS = frozenset({"objective_loss", "mse", "absolute_loss"})

__all__ = [
    "TrainingJobError",
    "TrainingStopped",
    "TrainingJobResult",
    "run_training_job",
    "evaluate_channel",
    "library_versions",
]


class TrainingJobError(Exception):
    """A failed job; `str(error)` is the FailureReason ("ClientError: ..." for user-fixable causes)."""


@dataclass
class TrainingJobResult:
    model_path: Path
    final_metrics: dict[str, float]
    model: LinearModel | None = None
    summary: dict[str, Any] | None = None


def library_versions() -> dict[str, str]:
    """Versions recorded in the artifact so a model can be traced to the code that made it."""
    try:
        sagestack = importlib.metadata.version("sagestack")
    except importlib.metadata.PackageNotFoundError:
        sagestack = "unknown"
    return {"sagestack": sagestack, "numpy": np.__version__, "python": platform.python_version()}


def _validation_error(message: str) -> TrainingJobError:
    return TrainingJobError(f"ClientError: {message} (caused by ValidationError)")


def _parse_error(channel: str, error: ChannelFormatError, mini_batch_size: int) -> TrainingJobError:
    if error.line is not None:
        first = ((error.line - 1) // mini_batch_size) * mini_batch_size + 1
        rows = f"rows {first}-{first + mini_batch_size - 1}"
        detail = f"line {error.line}" + (f", column {error.column}" if error.column is not None else "")
        return TrainingJobError(
            f"ClientError: Unable to parse csv: {rows}, file {error.path} (channel '{channel}', {detail}: {error.reason}). "
            "Linear Learner expects text/csv with the label in the first column and no header."
        )
    return TrainingJobError(f"ClientError: Unable to read data channel '{channel}': {error.path}: {error.reason}")


def _read_channels(channels: Mapping[str, Path], config: LinearLearnerConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    unknown = sorted(name for name in channels if name not in CHANNELS)
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        raise TrainingJobError(
            "ClientError: Unable to initialize the algorithm. Failed to validate input data configuration. "
            f"(caused by ValidationError) Caused by: Additional properties are not allowed ({listed} "
            f"{'was' if len(unknown) == 1 else 'were'} unexpected). Linear Learner reads the channels 'train', 'validation' and 'test'."
        )
    if "train" not in channels:
        raise TrainingJobError(
            "ClientError: Unable to initialize the algorithm. Failed to validate input data configuration. "
            "(caused by ValidationError) Caused by: 'train' is a required property"
        )
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in CHANNELS:
        if name not in channels:
            continue
        try:
            data[name] = read_channel_csv(Path(channels[name]))
        except ChannelFormatError as exc:
            raise _parse_error(name, exc, config.mini_batch_size) from None
    dims = {name: X.shape[1] for name, (X, _) in data.items()}
    train_dim = dims["train"]
    for name, dim in dims.items():
        if dim != train_dim:
            raise TrainingJobError(
                f"ClientError: The feature dimension of channel '{name}' ({dim}) does not match the 'train' channel ({train_dim}); "
                "every channel needs the same columns (label first)"
            )
    if config.feature_dim is not None and config.feature_dim != train_dim:
        raise TrainingJobError(
            f"ClientError: The feature dimension of the data ({train_dim}) does not match the value of the 'feature_dim' "
            f"hyperparameter ({config.feature_dim}); set feature_dim to {train_dim} or to 'auto'"
        )
    if config.is_classifier:
        for name, (_, y) in data.items():
            bad = np.flatnonzero((y != 0.0) & (y != 1.0))
            if bad.size:
                raise TrainingJobError(
                    f"ClientError: Labels for predictor_type 'binary_classifier' must be 0 or 1; channel '{name}' has "
                    f"label {y[bad[0]]:g} in data row {bad[0] + 1}"
                )
        if np.unique(data["train"][1]).size < 2:
            raise TrainingJobError(
                "ClientError: The 'train' channel holds only one class; a binary_classifier needs rows labelled 0 and 1"
            )
    return data


def evaluate_channel(model: LinearModel, X: np.ndarray, y: np.ndarray, config: LinearLearnerConfig) -> dict[str, float]:
    """Linear Learner's metrics for one channel (unprefixed names), using the model's threshold."""
    params = LossParams.of(config)
    z = raw_output(model, X)
    loss_value = float(objective_loss(model.loss, z[:, None], y, params)[0])
    scores, labels = score_matrix(model, X)
    if labels is None:
        return regression_metrics(scores, y, loss_value)
    return binary_metrics(scores, labels, y, loss_value, config.f_beta)


def _metric_line(channel: str, name: str, value: float) -> str:
    kind = "loss" if name in LOSS_METRICS else "score"
    return f"#quality_metric: host=algo-1, {channel} {name} <{kind}>={value:.6g}"


def run_training_job(
    channels: Mapping[str, Path],
    hyperparameters: Mapping[str, str],
    output_dir: Path,
    *,
    log: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    seed: int | None = None,
    feature_names: Sequence[str] | None = None,
) -> TrainingJobResult:
    """Train on the channel directories/files and write `output_dir/model.tar.gz`.

    `channels` maps "train" (required), "validation" and "test" to a CSV file or a directory
    of CSV files. `log` receives Linear-Learner-style log lines (including `#quality_metric`
    lines); `should_stop` is polled during training and makes the job raise `TrainingStopped`.
    """
    log = log or (lambda message: None)
    started = time.perf_counter()
    try:
        config = parse_hyperparameters(hyperparameters)
    except HyperparameterError as exc:
        raise _validation_error(str(exc)) from None
    if should_stop is not None and should_stop():
        raise TrainingStopped("training stopped before it started")
    data = _read_channels(channels, config)
    X_train, y_train = data["train"]
    X_val, y_val = data.get("validation", (None, None))
    log(
        f"Read {len(y_train)} training rows with {X_train.shape[1]} features"
        + (f", {len(y_val)} validation rows" if y_val is not None else "")
        + (f", {len(data['test'][1])} test rows" if "test" in data else "")
    )
    names = list(feature_names) if feature_names is not None else None
    if names is not None and len(names) != X_train.shape[1]:
        names = None
    learner = LinearLearner(config, seed=DEFAULT_SEED if seed is None else seed, feature_names=names)
    try:
        fit = learner.fit(X_train, y_train, X_val, y_val, log=log, should_stop=should_stop)
    except TrainingDiverged as exc:
        raise TrainingJobError(
            f"ClientError: Training diverged: {exc}. Lower the 'learning_rate' hyperparameter or set it to 'auto', "
            "and keep normalize_data=true"
        ) from None

    final_metrics: dict[str, float] = {}
    served = as_stored(fit.model)  # float32 with normalisation folded in: what the endpoint will answer with
    for channel, (X, y) in data.items():
        channel_metrics = evaluate_channel(served, X, y, config)
        if channel == "train":
            channel_metrics = {"objective_loss": channel_metrics["objective_loss"]}
        for name, value in channel_metrics.items():
            if math.isfinite(value):
                final_metrics[f"{channel}:{name}"] = value
                log(_metric_line(channel, name, value))
    model = replace(
        fit.model,
        metrics=final_metrics,
        hyperparameters=dict(config.given),
        versions=library_versions(),
    )
    output_dir = Path(output_dir)
    try:
        model_path = save_model_tar(model, output_dir / MODEL_FILE_NAME)
    except (ArtifactError, OSError) as exc:
        raise TrainingJobError(f"AlgorithmError: could not write {output_dir / MODEL_FILE_NAME}: {exc}") from None
    summary = describe(fit)
    summary["seconds"] = time.perf_counter() - started
    log(f"Wrote {model_path} ({summary['seconds']:.2f} s)")
    return TrainingJobResult(model_path=model_path, final_metrics=final_metrics, model=model, summary=summary)
