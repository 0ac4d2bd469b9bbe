"""The shared inference function: equal to the trained estimator, Linear Learner shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

from training.artifact import LinearModel, as_stored, load_model_tar
from training.data import read_channel_csv
from training.hyperparameters import DEFAULT_HYPERPARAMETERS, parse_hyperparameters
from training.inference import InferenceInputError, predict, score_matrix
from training.linear_learner import LinearLearner


def _expected_probability(model: LinearModel, X: np.ndarray) -> np.ndarray:
    """The estimator's own formula, written out: normalise, linear map, logistic link."""
    z = ((X - model.feature_shift) / model.feature_scale) @ model.weights + model.bias
    return 1.0 / (1.0 + np.exp(-z))


def test_inference_equals_the_trained_estimator(training_channels, trained_job):
    X, _ = read_channel_csv(training_channels["test"])
    in_memory = trained_job.model
    from_disk = load_model_tar(trained_job.model_path)
    scores, labels = score_matrix(from_disk, X)
    np.testing.assert_array_equal(scores, score_matrix(as_stored(in_memory), X)[0])
    np.testing.assert_allclose(scores, score_matrix(in_memory, X)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores, _expected_probability(from_disk, X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(labels, (scores > from_disk.threshold).astype(int))


def test_job_metrics_agree_with_inference(training_channels, trained_job):
    X, y = read_channel_csv(training_channels["test"])
    _, labels = score_matrix(load_model_tar(trained_job.model_path), X)
    accuracy = float(np.mean(labels == y))
    assert trained_job.final_metrics["test:binary_classification_accuracy"] == pytest.approx(accuracy)
    recall = float(labels[y == 1].mean())
    assert trained_job.final_metrics["test:recall"] == pytest.approx(recall)


def test_predict_returns_linear_learner_response_objects(trained_job, wdbc_dataset):
    rows = predict(trained_job.model, wdbc_dataset.X[:3])
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"score", "predicted_label"}
        assert type(row["score"]) is float and 0.0 <= row["score"] <= 1.0
        assert type(row["predicted_label"]) is int and row["predicted_label"] in (0, 1)
    assert rows[0]["predicted_label"] == 1  # the first UCI row is malignant


def test_blog_example_request_is_benign(trained_job):
    # The AWS blog's test request {"data": "13.49,22.3,86.91,561.0,0.08752,..."} answers "B".
    row = [13.49, 22.3, 86.91, 561.0, 0.08752, 0.07698, 0.04751, 0.03384, 0.1809, 0.05718, 0.2338, 1.353, 1.735,
           20.2, 0.004455, 0.01382, 0.02095, 0.01184, 0.01641, 0.001956, 15.15, 31.82, 99.0, 698.8, 0.1162, 0.1711,
           0.2282, 0.1282, 0.2871, 0.06917]
    assert predict(trained_job.model, [row])[0]["predicted_label"] == 0


def test_regressor_responses_have_only_a_score(training_channels):
    X, y = read_channel_csv(training_channels["train"])
    config = parse_hyperparameters({"predictor_type": "regressor", "loss": "absolute_loss", "mini_batch_size": "100"})
    model = LinearLearner(config, seed=0).fit(X, y).model
    scores, labels = score_matrix(model, X[:5])
    assert labels is None
    expected = ((X[:5] - model.feature_shift) / model.feature_scale) @ model.weights + model.bias
    np.testing.assert_allclose(scores, expected * model.label_scale + model.label_shift, rtol=1e-12)
    assert all(set(row) == {"score"} for row in predict(model, X[:5]))


def test_hinge_loss_scores_are_margins_with_threshold_at_zero(training_channels):
    X, y = read_channel_csv(training_channels["train"])
    config = parse_hyperparameters({**DEFAULT_HYPERPARAMETERS, "loss": "hinge_loss"})
    model = LinearLearner(config, seed=0).fit(X, y).model
    scores, labels = score_matrix(model, X)
    assert model.threshold == 0.0
    assert scores.min() < -1.0 and scores.max() > 1.0  # raw margins, not probabilities
    assert float(np.mean(labels == y)) > 0.95


def test_wrong_feature_count_uses_linear_learners_message(trained_job):
    with pytest.raises(InferenceInputError) as info:
        score_matrix(trained_job.model, np.zeros((2, 4)))
    assert str(info.value) == (
        "The feature dimension of the input: 4 does not match the feature dimension of the model: 30. "
        "Please fix the input and try again."
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.zeros(30), "expected a 2-D matrix"),
        (np.zeros((1, 30, 1)), "expected a 2-D matrix"),
        ([[1.0] * 29 + ["x"]], "not a numeric matrix"),
        ([[1.0] * 30, [1.0] * 29], "not a numeric matrix"),
        ([[1.0] * 29 + [float("nan")]], "row 1, feature 30 is nan"),
        ([[1.0] * 30, [float("inf")] + [1.0] * 29], "row 2, feature 1 is inf"),
    ],
)
def test_bad_rows_raise_a_clear_input_error(trained_job, rows, message):
    with pytest.raises(InferenceInputError, match=message):
        score_matrix(trained_job.model, rows)


def test_empty_batch_and_extreme_values(trained_job):
    scores, labels = score_matrix(trained_job.model, np.zeros((0, 30)))
    assert scores.shape == (0,) and labels.shape == (0,)
    scores, _ = score_matrix(trained_job.model, np.full((2, 30), 1e300) * np.array([[1.0], [-1.0]]))
    assert np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1))


def test_overflowing_rows_are_an_input_error_not_nan(trained_job):
    # Every feature at 1e308: positive weights sum to +inf, negative ones to -inf, together NaN.
    weights = trained_job.model.effective_weights
    assert (weights > 0).any() and (weights < 0).any()
    with pytest.raises(InferenceInputError, match="row 2 overflows"):
        score_matrix(trained_job.model, np.array([np.ones(30), np.full(30, 1e308)]))
