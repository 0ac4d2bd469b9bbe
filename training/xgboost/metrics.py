"""The container's own evaluation metrics (`metrics/custom_metrics.py`): sklearn's formulas, passed as `custom_metric`.

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

# The formulas are sklearn's (what the container calls), written with numpy: the emulator's image has no
# scikit-learn, and importing it costs a training worker over a second. tests/training/test_xgboost_metrics.py
# checks them against sklearn itself. Where sklearn warns and answers 0 (zero_division), so do these.


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (sklearn's zero_division="warn" result)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _counts(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(labels, true positives, predicted count, true count) per label of y_true ∪ y_pred, sorted."""
    labels = np.union1d(y_true, y_pred)
    tp = np.array([np.sum((y_true == c) & (y_pred == c)) for c in labels])
    predicted = np.array([np.sum(y_pred == c) for c in labels])
    actual = np.array([np.sum(y_true == c) for c in labels])
    return labels, tp, predicted, actual


def _binary_positive(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float, float]:
    """(tp, predicted positives, actual positives) for pos_label 1, with sklearn's binary-target check."""
    labels = np.union1d(y_true, y_pred)
    if len(labels) > 2:
        raise ValueError("Target is multiclass but average='binary'. Please choose another average setting, "
                         "one of [None, 'micro', 'macro', 'weighted'].")
    if len(labels) == 2 and 1 not in labels:
        raise ValueError(f"pos_label=1 is not a valid label. It should be one of {labels.tolist()}")
    return float(np.sum((y_true == 1) & (y_pred == 1))), float(np.sum(y_pred == 1)), float(np.sum(y_true == 1))


def accuracy_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred))


def balanced_accuracy_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    _, tp, _, actual = _counts(y_true, y_pred)
    present = actual > 0  # sklearn drops (with a warning) the classes absent from y_true
    return float(np.mean(tp[present] / actual[present]))


def _precision_recall(y_true: np.ndarray, y_pred: np.ndarray, average: str) -> tuple[np.ndarray, np.ndarray]:
    if average == "binary":
        tp, predicted, actual = _binary_positive(y_true, y_pred)
        return _safe_divide(np.array([tp]), np.array([predicted])), _safe_divide(np.array([tp]), np.array([actual]))
    _, tp, predicted, actual = _counts(y_true, y_pred)
    if average == "micro":
        return _safe_divide(np.array([tp.sum()]), np.array([predicted.sum()])), _safe_divide(np.array([tp.sum()]), np.array([actual.sum()]))
    return _safe_divide(tp, predicted), _safe_divide(tp, actual)  # macro: per label, averaged by the caller


def precision_score(y_true: np.ndarray, y_pred: np.ndarray, average: str = "binary") -> float:
    return float(np.mean(_precision_recall(y_true, y_pred, average)[0]))


def recall_score(y_true: np.ndarray, y_pred: np.ndarray, average: str = "binary") -> float:
    return float(np.mean(_precision_recall(y_true, y_pred, average)[1]))


def f1_score(y_true: np.ndarray, y_pred: np.ndarray, average: str = "binary") -> float:
    precision, recall = _precision_recall(y_true, y_pred, average)
    return float(np.mean(_safe_divide(2 * precision * recall, precision + recall)))


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) ** 2))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true = np.asarray(y_true, dtype=float)
    residual = float(np.sum((y_true - np.asarray(y_pred, dtype=float)) ** 2))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    if total == 0.0:  # sklearn's force_finite: a constant target scores 1 when matched exactly, else 0
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def _labels_from_margin(preds: np.ndarray) -> np.ndarray:
    if preds.ndim == 2:
        return np.argmax(preds, axis=-1)
    return (preds > 0.0).astype(int)


def _check_targets(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """sklearn's refusal of a continuous target in a classification metric (the job fails with it)."""
    if np.any(y_true != np.round(y_true)):
        kind = "binary" if len(np.unique(y_pred)) <= 2 else "multiclass"
        raise ValueError(f"Classification metrics can't handle a mix of continuous and {kind} targets")


def _classification(score: Callable[[Any, Any], float]) -> Callable[[np.ndarray, Any], float]:
    def metric(preds: np.ndarray, dtrain: Any) -> float:
        if preds.size == 0:
            return 0.0
        y_true, y_pred = dtrain.get_label(), _labels_from_margin(preds)
        _check_targets(y_true, y_pred)
        return float(score(y_true, y_pred))

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
