"""Stratified k-fold cross-validation of the Linear-Learner-compatible trainer.

A 57-row test split is too small to trust alone (one misclassified patient moves accuracy by
1.75 points), so the kit also reports 10-fold cross-validation: every row is scored exactly
once by a model that never saw it. Each fold's training part is split again into train and
validation (8:1, stratified) so model selection and threshold calibration run exactly as in
a real job with train/validation channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from training.data import DEFAULT_SEED, FEATURE_NAMES, Dataset, split_dataset
from training.hyperparameters import DEFAULT_HYPERPARAMETERS, parse_hyperparameters
from training.inference import score_matrix
from training.linear_learner import LinearLearner
from training.metrics import Confusion, roc_auc

SUMMARY_METRICS = ("accuracy", "recall", "precision", "f1", "roc_auc")


def _classification_figures(y: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    counts = Confusion.of(labels, y)
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    precision, recall = counts.precision, counts.recall
    figures = {
        "accuracy": (tp + tn) / max(y.size, 1),
        "recall": recall,  # malignant recall (sensitivity)
        "precision": precision,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }
    auc = roc_auc(scores, y)
    if auc is not None:
        figures["roc_auc"] = auc
    return figures


def cross_validate(
    ds: Dataset,
    hyperparameters: Mapping[str, str] | None = None,
    folds: int = 10,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Stratified k-fold CV of a binary classifier; per-fold and pooled figures plus out-of-fold scores.

    Returns {"folds": [...per-fold figures...], "mean": {...}, "std": {...}, "pooled": {...},
    "out_of_fold": {"ids", "y", "score", "predicted_label"}, "folds_count", "seed"}.
    """
    config = parse_hyperparameters(dict(DEFAULT_HYPERPARAMETERS if hyperparameters is None else hyperparameters))
    if not config.is_classifier:
        raise ValueError("cross_validate reports classification figures; use predictor_type=binary_classifier")
    class_counts = np.bincount(ds.y, minlength=2)
    if folds < 2 or folds > int(class_counts.min()):
        raise ValueError(
            f"cannot run {folds}-fold stratified CV: need 2 <= folds <= the smaller class size ({int(class_counts.min())})"
        )
    from sklearn.model_selection import StratifiedKFold  # imported when cross-validation runs, not with the report module

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = np.empty(len(ds))
    labels = np.empty(len(ds), dtype=np.int64)
    fold_of = np.empty(len(ds), dtype=np.int64)
    per_fold: list[dict[str, float]] = []
    for k, (train_index, test_index) in enumerate(splitter.split(ds.X, ds.y)):
        inner = split_dataset(ds.subset(train_index), fractions=(8 / 9, 1 / 9, 0.0), seed=seed + k)
        learner = LinearLearner(config, seed=seed + k, feature_names=FEATURE_NAMES)
        fit = learner.fit(inner.train.X, inner.train.y, inner.validation.X, inner.validation.y)
        fold_scores, fold_labels = score_matrix(fit.model, ds.X[test_index])
        assert fold_labels is not None
        scores[test_index] = fold_scores
        labels[test_index] = fold_labels
        fold_of[test_index] = k
        figures = _classification_figures(ds.y[test_index], fold_labels, fold_scores)
        figures["fold"] = k + 1
        figures["rows"] = len(test_index)
        figures["threshold"] = float(fit.model.threshold)  # type: ignore[arg-type]
        per_fold.append(figures)
    mean = {name: float(np.mean([f[name] for f in per_fold if name in f])) for name in SUMMARY_METRICS}
    std = {name: float(np.std([f[name] for f in per_fold if name in f])) for name in SUMMARY_METRICS}
    return {
        "folds_count": folds,
        "seed": seed,
        "hyperparameters": dict(config.given),
        "folds": per_fold,
        "mean": mean,
        "std": std,
        "pooled": _classification_figures(ds.y, labels, scores),
        "out_of_fold": {
            "ids": ds.ids.copy(),
            "y": ds.y.copy(),
            "score": scores,
            "predicted_label": labels,
            "fold": fold_of,
        },
    }
