"""Losses, Linear-Learner-named metrics and decision-threshold calibration (all vectorised numpy).

Losses take the raw linear output `z` with shape (n, M) — one column per candidate model —
so the trainer evaluates every candidate in one pass. Metric names are Linear Learner's
(`binary_classification_accuracy`, `binary_f_beta`, `precision`, `recall`, `roc_auc_score`,
`objective_loss`, `mse`, `absolute_loss`); the job prefixes them with the channel name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from training.hyperparameters import LinearLearnerConfig


@dataclass(frozen=True)
class LossParams:
    """The loss-shaping hyperparameters (margin for hinge, eps, quantile, huber delta)."""

    margin: float = 1.0
    loss_insensitivity: float = 0.01
    quantile: float = 0.5
    huber_delta: float = 1.0

    @classmethod
    def of(cls, config: LinearLearnerConfig) -> LossParams:
        """The loss parameters a parsed `LinearLearnerConfig` sets (one place maps the fields)."""
        return cls(config.margin, config.loss_insensitivity, config.quantile, config.huber_delta)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def loss_and_gradient(loss: str, z: np.ndarray, y: np.ndarray, params: LossParams) -> tuple[np.ndarray, np.ndarray]:
    """Per-element loss and d(loss)/dz for raw outputs z (n, M) and labels y (n,) or (n, 1)."""
    y = y.reshape(-1, 1) if y.ndim == 1 else y
    if loss == "logistic":
        sign = 2.0 * y - 1.0
        return np.logaddexp(0.0, -sign * z), sigmoid(z) - y
    if loss == "hinge_loss":
        sign = 2.0 * y - 1.0
        slack = params.margin - sign * z
        active = slack > 0
        return np.where(active, slack, 0.0), np.where(active, -sign, 0.0)
    residual = z - y
    if loss == "squared_loss":
        return residual**2, 2.0 * residual
    if loss == "absolute_loss":
        return np.abs(residual), np.sign(residual)
    if loss == "eps_insensitive_squared_loss":
        excess = np.maximum(np.abs(residual) - params.loss_insensitivity, 0.0)
        return excess**2, 2.0 * excess * np.sign(residual)
    if loss == "eps_insensitive_absolute_loss":
        excess = np.abs(residual) - params.loss_insensitivity
        return np.maximum(excess, 0.0), np.where(excess > 0, np.sign(residual), 0.0)
    if loss == "quantile_loss":
        q = params.quantile
        under = -residual  # y - z
        return np.maximum(q * under, (q - 1.0) * under), np.where(under > 0, -q, 1.0 - q)
    if loss == "huber_loss":
        delta = params.huber_delta
        absolute = np.abs(residual)
        quadratic = absolute <= delta
        value = np.where(quadratic, 0.5 * residual**2, delta * (absolute - 0.5 * delta))
        return value, np.clip(residual, -delta, delta)
    raise ValueError(f"unknown loss {loss!r}")


def objective_loss(loss: str, z: np.ndarray, y: np.ndarray, params: LossParams) -> np.ndarray:
    """Mean loss per model column."""
    values, _ = loss_and_gradient(loss, z, y, params)
    return values.mean(axis=0)


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Cuts:
    """Every distinct decision threshold over a score vector and the confusion counts at each."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    @property
    def predicted(self) -> np.ndarray:
        return self.tp + self.fp

    def accuracy(self) -> np.ndarray:
        n = self.positives + self.negatives
        return (self.tp + (self.negatives - self.fp)) / max(n, 1)

    def precision(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.predicted > 0, self.tp / np.maximum(self.predicted, 1), 0.0)

    def recall(self) -> np.ndarray:
        return self.tp / self.positives if self.positives else np.zeros_like(self.tp, dtype=np.float64)

    def f_beta(self, beta: float) -> np.ndarray:
        precision, recall = self.precision(), self.recall()
        b2 = beta * beta
        denominator = b2 * precision + recall
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, (1 + b2) * precision * recall / np.where(denominator > 0, denominator, 1), 0.0)


def threshold_cuts(scores: np.ndarray, y: np.ndarray) -> Cuts:
    """Thresholds t (label = score > t) at each place the sorted scores change, plus "none" and "all"."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    labels = y[order].astype(np.float64)
    n = s.size
    cum_tp = np.concatenate([[0.0], np.cumsum(labels)])  # tp when the top k rows are positive
    if n == 0:
        ks = np.array([0], dtype=np.int64)
        thresholds = np.array([0.0])
    else:
        changes = np.flatnonzero(s[:-1] > s[1:]) + 1  # k where the k-th and (k+1)-th scores differ
        ks = np.concatenate([[0], changes, [n]]).astype(np.int64)
        inner = 0.5 * (s[changes - 1] + s[changes])
        inner = np.where(inner < s[changes - 1], inner, s[changes])  # adjacent floats: cut just below
        thresholds = np.concatenate([[s[0]], inner, [np.nextafter(s[n - 1], -np.inf)]])
    ks_arr = ks
    tp = cum_tp[ks_arr]
    fp = ks_arr - tp
    positives = int(labels.sum())
    return Cuts(thresholds=thresholds, tp=tp, fp=fp, positives=positives, negatives=n - positives)


def choose_threshold(
    scores: np.ndarray,
    y: np.ndarray,
    criterion: str,
    default: float,
    *,
    beta: float = 1.0,
    target_recall: float = 0.8,
    target_precision: float = 0.8,
) -> tuple[float, float]:
    """Linear Learner's calibration: the threshold that optimises `criterion` on (scores, y).

    Returns (threshold, criterion value at it). Among equally good thresholds the one nearest
    the loss's natural threshold (`default`: 0.5 for probabilities, 0 for margins) wins, so a
    small calibration set does not push the threshold to the edge of a plateau.
    `loss_function` keeps the default threshold (value: accuracy there).
    """
    cuts = threshold_cuts(scores, y)
    if criterion == "loss_function" or scores.size == 0:
        predicted = scores > default
        return default, float((predicted == (y > 0.5)).mean()) if scores.size else 0.0
    if criterion == "accuracy":
        value = cuts.accuracy()
        feasible = np.ones_like(value, dtype=bool)
    elif criterion == "f_beta":
        value = cuts.f_beta(beta)
        feasible = np.ones_like(value, dtype=bool)
    elif criterion == "precision_at_target_recall":
        value = cuts.precision()
        feasible = cuts.recall() >= target_recall - 1e-12
    elif criterion == "recall_at_target_precision":
        value = cuts.recall()
        feasible = (cuts.precision() >= target_precision - 1e-12) & (cuts.predicted > 0)
        if not feasible.any():  # unreachable precision: fall back to the most precise threshold
            value = cuts.precision()
            feasible = cuts.predicted > 0
    else:
        raise ValueError(f"unknown selection criterion {criterion!r}")
    if not feasible.any():
        return default, 0.0
    candidates = np.where(feasible, value, -np.inf)
    best = candidates.max()
    tied = np.flatnonzero(candidates >= best - 1e-12)
    pick = tied[np.argmin(np.abs(cuts.thresholds[tied] - default))]
    return float(cuts.thresholds[pick]), float(best)


# --------------------------------------------------------------------------- metric sets


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney form, ties count half); None with a single class."""
    positives = y > 0.5
    n_pos = int(positives.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size, dtype=np.float64)
    sorted_scores = scores[order]
    # average ranks for ties
    unique, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class Confusion:
    """Confusion counts of predicted labels (> 0 is positive) against 0/1 truth (> 0.5 is positive).

    One definition for the job's Linear Learner metrics and the cross-validation figures, so
    both report the same precision and recall for the same predictions.
    """

    tp: float
    fp: float
    fn: float
    tn: float

    @classmethod
    def of(cls, labels: np.ndarray, y: np.ndarray) -> Confusion:
        truth = y > 0.5
        predicted = labels > 0
        return cls(
            tp=float(np.sum(truth & predicted)),
            fp=float(np.sum(~truth & predicted)),
            fn=float(np.sum(truth & ~predicted)),
            tn=float(np.sum(~truth & ~predicted)),
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def binary_metrics(scores: np.ndarray, labels: np.ndarray, y: np.ndarray, loss_value: float, beta: float) -> dict[str, float]:
    """Linear Learner's binary classifier metrics for one channel (unprefixed names)."""
    counts = Confusion.of(labels, y)
    precision, recall = counts.precision, counts.recall
    b2 = beta * beta
    f_beta = (1 + b2) * precision * recall / (b2 * precision + recall) if (b2 * precision + recall) else 0.0
    metrics = {
        "objective_loss": float(loss_value),
        "binary_classification_accuracy": float(np.mean((y > 0.5) == (labels > 0))) if y.size else 0.0,
        "precision": precision,
        "recall": recall,
        "binary_f_beta": f_beta,
    }
    auc = roc_auc(scores, y)
    if auc is not None:
        metrics["roc_auc_score"] = auc
    return metrics


def regression_metrics(predictions: np.ndarray, y: np.ndarray, loss_value: float) -> dict[str, float]:
    """Linear Learner's regressor metrics for one channel (unprefixed names)."""
    residual = predictions - y
    return {
        "objective_loss": float(loss_value),
        "mse": float(np.mean(residual**2)),
        "absolute_loss": float(np.mean(np.abs(residual))),
    }
