"""Scoring rows with a `LinearModel`: the one inference function the emulator and tests share.

This is on the SageMaker emulator's hot path (every InvokeEndpoint), so it is a single
matrix-vector product on the pre-folded weights plus a vectorised link function — no
per-row Python except building the response dicts.

Error messages follow the Linear Learner container's wording for the same mistakes
(e.g. "The feature dimension of the input: 4 does not match the feature dimension of the
model: 30. Please fix the input and try again.").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.artifact import LinearModel


class InferenceInputError(ValueError):
    """Rows that cannot be scored (wrong shape, non-numeric, non-finite); the message says what to fix."""


def _as_matrix(model: LinearModel, rows: Any) -> np.ndarray:
    if isinstance(rows, np.ndarray) and rows.dtype == np.float64:
        matrix = rows
    else:
        try:
            matrix = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InferenceInputError(
                f"Unable to evaluate payload provided: the input is not a numeric matrix ({exc}). "
                "Please fix the input and try again."
            ) from None
    if matrix.ndim != 2:
        raise InferenceInputError(
            f"Unable to evaluate payload provided: expected a 2-D matrix of rows x {model.feature_dim} features, "
            f"got an array with {matrix.ndim} dimension(s). Please fix the input and try again."
        )
    if matrix.shape[1] != model.feature_dim:
        raise InferenceInputError(
            f"The feature dimension of the input: {matrix.shape[1]} does not match the feature dimension "
            f"of the model: {model.feature_dim}. Please fix the input and try again."
        )
    finite = np.isfinite(matrix)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise InferenceInputError(
            f"Unable to evaluate payload provided: row {row + 1}, feature {column + 1} is {matrix[row, column]}; "
            "features must be finite numbers. Please fix the input and try again."
        )
    return matrix


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(z/2)) is the logistic function without overflow for large |z|.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def score_matrix(model: LinearModel, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Scores (probabilities for logistic classifiers) and predicted labels (None for regressors)."""
    matrix = _as_matrix(model, X)
    with np.errstate(over="ignore", invalid="ignore"):
        raw = matrix @ model.effective_weights + model.effective_bias
    is_classifier = model.predictor_type == "binary_classifier"
    # Finite but huge features can overflow: a classifier still has a score for +-inf, never for NaN.
    broken = np.isnan(raw) if is_classifier else ~np.isfinite(raw)
    if broken.any():
        row = int(np.flatnonzero(broken)[0])
        raise InferenceInputError(
            f"Unable to evaluate payload provided: row {row + 1} overflows the model's arithmetic "
            "(feature values far outside the training data). Please fix the input and try again."
        )
    if not is_classifier:
        return raw, None
    scores = _sigmoid(raw) if model.score_transform == "sigmoid" else raw
    labels = (scores > model.threshold).astype(np.int64)
    return scores, labels


def predict(model: LinearModel, X: Any) -> list[dict[str, Any]]:
    """Linear Learner's per-row response objects: `{"score", "predicted_label"}` or `{"score"}`."""
    scores, labels = score_matrix(model, X)
    if labels is None:
        return [{"score": score} for score in scores.tolist()]
    return [
        {"score": score, "predicted_label": label}
        for score, label in zip(scores.tolist(), labels.tolist(), strict=True)
    ]
