"""One SageMaker XGBoost training job (algorithm mode): channels + string hyperparameters in, `model.tar.gz` out.

The steps are the container's `algorithm_mode/train.py` with the real `xgboost` library:
validate hyperparameters, load the `train` (required) and `validation` channels, split
`eval_metric` into xgboost's own metrics and the container's own ones (`accuracy`, `f1`, `r2`,
...: sklearn's formulas written with numpy in `metrics.py`), train with `xgb.train` watching `train` and `validation`,
early stopping on the last `eval_metric` over `validation` (keeping the best model, as
`EarlyStopping(save_best=True)` there), checkpoints `xgboost-checkpoint.<iteration>` to
resume from, and `xgboost-model` saved in the format that image version writes
(see `training.xgboost.artifact`). Final metrics are named as SageMaker's metric
definitions for the algorithm read them from the log: `train:auc`, `validation:logloss`.

Failures the user can fix raise `XGBoostJobError("ClientError: ...")`; library failures
whose text the container lists as customer errors are ClientErrors too, others AlgorithmErrors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.xgboost import data as xdata
from training.xgboost.artifact import MODEL_NAME, model_bytes, save_model_tar
from training.xgboost.hyperparameters import MAXIMIZE_METRICS, HyperparameterError, validate
from training.xgboost.metrics import CUSTOM_METRICS, custom_feval

CHANNELS = ("train", "validation", "code")
CHECKPOINT_NAME = "xgboost-checkpoint"
CHECKPOINTS_KEPT = 5
DEFAULT_VERSION = "3.0-5"
# Library messages the container reports as the user's fault (constants/xgb_constants.py CUSTOMER_ERRORS).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "base_score must be in (0,1) for logistic loss",
    # xgboost 3's wording of a label outside [0, 1] for binary:logistic (the container's list predates it).
    "base_score must be in (0,1) for the logistic loss",
    "label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)


class XGBoostJobError(Exception):
    """A failed job; `str(error)` is the FailureReason ("ClientError: ..." or "AlgorithmError: ...")."""


class XGBoostStopped(Exception):
    """StopTrainingJob / MaxRuntimeInSeconds arrived between boosting rounds."""


@dataclass
class ChannelInput:
    path: Path
    content_type: str | None = None
    pipe: bool = False


@dataclass
class XGBoostJobResult:
    model_path: Path
    final_metrics: dict[str, float]
    booster: Any = None
    best_iteration: int | None = None
    rounds: int = 0
    history: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def train_params(config: Mapping[str, Any]) -> tuple[dict[str, Any], int, int | None, list[str], list[str]]:
    """Split validated hyperparameters into xgboost params, num_round, early stopping, library and custom metrics."""
    params = dict(config)
    num_round = int(params.pop("num_round"))
    early = params.pop("early_stopping_rounds", None)
    for key in ("save_model_on_termination", "use_dask_gpu_training", "_kfold", "_num_cv_round", "csv_weights"):
        params.pop(key, None)
    tuning = params.pop("_tuning_objective_metric", None)
    metrics = list(params.pop("eval_metric", None) or [])
    if tuning:
        metrics = sorted(set(metrics) | {tuning.split(":", 1)[1]})
    custom = [m for m in metrics if m in CUSTOM_METRICS]
    library = [m for m in metrics if m not in CUSTOM_METRICS]
    if library:
        params["eval_metric"] = library
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    if "monotone_constraints" in params:
        params["monotone_constraints"] = "(" + ",".join(str(int(v)) for v in params["monotone_constraints"]) + ")"
    if "interaction_constraints" in params:
        params["interaction_constraints"] = str([list(map(int, group)) for group in params["interaction_constraints"]])
    return params, num_round, early, library, custom


def _latest_checkpoint(directory: Path | None) -> tuple[Path | None, int]:
    if directory is None or not directory.is_dir():
        return None, 0
    pattern = re.compile(rf"^{CHECKPOINT_NAME}\.([0-9]+)$")
    found = sorted(
        ((int(m.group(1)), p) for p in directory.iterdir() if (m := pattern.match(p.name))), reverse=True
    )
    return (found[0][1], found[0][0] + 1) if found else (None, 0)


def _callbacks(
    version: str,
    checkpoint_dir: Path | None,
    start: int,
    should_stop: Callable[[], bool],
    log: Callable[[str], None],
) -> list[Any]:
    import xgboost as xgb

    class Progress(xgb.callback.TrainingCallback):
        """Logs each round as the container's EvaluationMonitor and obeys StopTrainingJob."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            parts = [f"{data}-{metric}:{values[-1]:.5f}" for data, metrics in evals_log.items() for metric, values in metrics.items()]
            log(f"[{start + epoch}]\t" + "\t".join(parts))
            return should_stop()

    class Checkpoint(xgb.callback.TrainingCallback):
        """`xgboost-checkpoint.<iteration>` after every round, the newest five kept (container's checkpointing.py)."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            assert checkpoint_dir is not None
            checkpoint_dir.mkdir(parents=True, exist_ok=True)
            iteration = start + epoch
            (checkpoint_dir / f"{CHECKPOINT_NAME}.{iteration}").write_bytes(model_bytes(model, version))
            stale = checkpoint_dir / f"{CHECKPOINT_NAME}.{iteration - CHECKPOINTS_KEPT}"
            stale.unlink(missing_ok=True)
            return False

    callbacks: list[Any] = [Progress()]
    if checkpoint_dir is not None:
        callbacks.append(Checkpoint())
    return callbacks


def _resume_booster(path: Path | None) -> Any:
    """The checkpoint's booster, read from bytes so JSON and UBJSON both load whatever the file is named."""
    if path is None:
        return None
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(path.read_bytes()))
    return booster


def _classify(exc: Exception) -> XGBoostJobError:
    text = str(exc).split("Stack trace:", 1)[0].strip()  # xgboost appends a native backtrace
    for message in CUSTOMER_ERRORS:
        if message in text:
            return XGBoostJobError(f"ClientError: {text.strip()[:900]}")
    return XGBoostJobError(f"AlgorithmError: XGB train call failed with exception:\n {text.strip()[:900]}")


def run_xgboost_job(
    channels: Mapping[str, ChannelInput],
    hyperparameters: Mapping[str, Any],
    output_dir: Path,
    *,
    version: str = DEFAULT_VERSION,
    checkpoint_dir: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> XGBoostJobResult:
    import xgboost as xgb

    try:
        config = validate(hyperparameters)
    except HyperparameterError as exc:
        raise XGBoostJobError(f"ClientError: {exc}") from None
    if "_kfold" in config:
        raise XGBoostJobError(
            "ClientError: the _kfold cross-validation mode of the SageMaker XGBoost container is not supported by "
            "the sagestack emulator; remove _kfold and _num_cv_round (or run the job on AWS)."
        )
    train = channels.get("train")
    if train is None:
        raise XGBoostJobError("ClientError: Missing required channel: train")
    for name in channels:
        if name not in CHANNELS:  # the container's channel validation: train, validation (and code)
            raise XGBoostJobError(f"ClientError: Extraneous channel found: {name}")
    validation = channels.get("validation")
    csv_weights = int(config.get("csv_weights", 0))
    try:
        kind = xdata.content_type(train.content_type)
        if validation is not None and xdata.content_type(validation.content_type) != kind:
            raise xdata.DataError("The train and validation channels must have the same ContentType.")
        dtrain = xdata.load_dmatrix(train.path, kind, csv_weights, train.pipe)
        dval = xdata.load_dmatrix(validation.path, kind, csv_weights, validation.pipe) if validation else None
    except xdata.DataError as exc:
        raise XGBoostJobError(f"ClientError: {exc}") from None
    if dtrain is None:
        raise XGBoostJobError(f"ClientError: No data in training channel path {train.path.name}")
    if validation is not None and dval is None:
        raise XGBoostJobError(f"ClientError: No data in validation channel path {validation.path.name}")
    if validation is not None and xdata.check_redundancy(train.path, validation.path):
        log("WARNING: Found same file name and size in the train and validation channels; results may not be correct.")
    params, num_round, early, library_metrics, custom_metrics = train_params(config)
    params.setdefault("nthread", 1)
    resume, start = _latest_checkpoint(checkpoint_dir)
    evals = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
    callbacks = _callbacks(version, checkpoint_dir, start, should_stop, log)
    # The container stops on the tuning objective if set, else on the last eval_metric; without either, never.
    tuning = config.get("_tuning_objective_metric")
    metric = tuning.split(":", 1)[1] if tuning else (config.get("eval_metric") or [None])[-1]
    if early and dval is not None and metric:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=int(early), data_name="validation", metric_name=metric,
                maximize=metric in MAXIMIZE_METRICS, save_best=True,
            )
        )
    history: dict[str, Any] = {}
    log(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
    try:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=max(0, num_round - start),
            evals=evals,
            custom_metric=custom_feval(custom_metrics) if custom_metrics else None,
            evals_result=history,
            callbacks=callbacks,
            xgb_model=_resume_booster(resume),
            verbose_eval=False,
        )
    except Exception as exc:  # xgboost's errors: sort user-caused from algorithm failures as the container does
        raise _classify(exc) from None
    if should_stop():
        raise XGBoostStopped()
    model_dir = output_dir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    blob = model_bytes(booster, version)
    (model_dir / MODEL_NAME).write_bytes(blob)
    model_path = save_model_tar({MODEL_NAME: blob}, output_dir / "model.tar.gz")
    final = {
        f"{data}:{metric}": float(values[-1])
        for data, per_metric in history.items()
        for metric, values in per_metric.items()
        if values and np.isfinite(values[-1])
    }
    best = getattr(booster, "best_iteration", None) if early else None
    return XGBoostJobResult(model_path, final, booster, best, booster.num_boosted_rounds(), history)
