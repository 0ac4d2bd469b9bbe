"""The container's own evaluation metrics (`metrics/custom_metrics.py`): computed with sklearn, passed as `custom_metric`.

As in the container, class labels come from `prediction > 0` (binary) or argmax (multi-class)
and regression metrics use the prediction as is. The container wrote this for xgboost's old
`feval`, which saw raw margins; `xgb.train(custom_metric=...)` (what it calls now) passes
transformed predictions for built-in objectives, so with `binary:logistic` every probability
is > 0 and `accuracy`/`f1`/... score "all positive". We reproduce the container's numbers,
not a corrected metric: use xgboost's own `error`/`auc`/`logloss` for a meaningful figure.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
)


def _labels_from_margin(preds: np.ndarray) -> np.ndarray:
    if preds.ndim == 2:
        return np.argmax(preds, axis=-1)
    return (preds > 0.0).astype(int)


def _classification(score: Callable[[Any, Any], float]) -> Callable[[np.ndarray, Any], float]:
    def metric(preds: np.ndarray, dtrain: Any) -> float:
        if preds.size == 0:
            return 0.0
        return float(score(dtrain.get_label(), _labels_from_margin(preds)))

    return metric


def _regression(score: Callable[[Any, Any], float]) -> Callable[[np.ndarray, Any], float]:
    def metric(preds: np.ndarray, dtrain: Any) -> float:
        return float(score(dtrain.get_label(), preds))

    return metric


CUSTOM_METRICS: dict[str, Callable[[np.ndarray, Any], float]] = {
    "accuracy": _classification(accuracy_score),
    "balanced_accuracy": _classification(balanced_accuracy_score),
    "f1": _classification(lambda y, p: f1_score(y, p, average="macro")),
    "f1_binary": _classification(lambda y, p: f1_score(y, p, average="binary")),
    "f1_macro": _classification(lambda y, p: f1_score(y, p, average="macro")),
    "precision": _classification(precision_score),
    "precision_macro": _classification(lambda y, p: precision_score(y, p, average="macro")),
    "precision_micro": _classification(lambda y, p: precision_score(y, p, average="micro")),
    "recall": _classification(recall_score),
    "recall_macro": _classification(lambda y, p: recall_score(y, p, average="macro")),
    "recall_micro": _classification(lambda y, p: recall_score(y, p, average="micro")),
    "mse": _regression(mean_squared_error),
    "rmse": _regression(lambda y, p: float(np.sqrt(mean_squared_error(y, p)))),
    "mae": _regression(mean_absolute_error),
    "r2": _regression(r2_score),
}


def custom_feval(names: list[str]) -> Callable[[np.ndarray, Any], list[tuple[str, float]]]:
    """One `custom_metric` callable computing the named container metrics, in the given order."""

    def feval(preds: np.ndarray, dtrain: Any) -> list[tuple[str, float]]:
        return [(name, CUSTOM_METRICS[name](preds, dtrain)) for name in names]

    return feval
