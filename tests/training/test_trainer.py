"""The Linear-Learner-compatible trainer: determinism, candidates, early stopping, selection, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import read_channel_csv
from training.hyperparameters import DEFAULT_HYPERPARAMETERS, parse_hyperparameters
from training.linear_learner import AUTO_NUM_MODELS, LinearLearner, TrainingDiverged, TrainingStopped, make_candidates
from training.metrics import choose_threshold, roc_auc, threshold_cuts


@pytest.fixture(scope="module")
def arrays(training_channels):
    X, y = read_channel_csv(training_channels["train"])
    Xv, yv = read_channel_csv(training_channels["validation"])
    return X, y, Xv, yv


def _fit(arrays, seed=0, **hyperparameters):
    X, y, Xv, yv = arrays
    config = parse_hyperparameters({**DEFAULT_HYPERPARAMETERS, **hyperparameters})
    return LinearLearner(config, seed=seed).fit(X, y, Xv, yv)


def test_same_seed_same_model_different_seed_different_model(arrays):
    a, b, c = _fit(arrays, seed=1), _fit(arrays, seed=1), _fit(arrays, seed=2)
    assert a.model.to_document() == b.model.to_document()
    assert not np.array_equal(a.model.weights, c.model.weights)


def test_num_models_candidates_are_trained_in_parallel(arrays):
    assert len(_fit(arrays).candidates) == AUTO_NUM_MODELS
    result = _fit(arrays, num_models="5")
    assert len(result.candidates) == 5
    assert len({c.learning_rate for c in result.candidates}) == 5  # "close parameters", all different


def test_candidate_zero_uses_the_given_values_and_num_models_1_uses_only_them(arrays):
    X, y, _, _ = arrays
    config = parse_hyperparameters({**DEFAULT_HYPERPARAMETERS, "learning_rate": "0.05", "wd": "0.001", "l1": "0.0001"})
    candidates = make_candidates(config, y, np.random.default_rng(0))
    assert (candidates[0].learning_rate, candidates[0].wd, candidates[0].l1) == (0.05, 0.001, 0.0001)
    others = [c.learning_rate for c in candidates[1:]]
    assert min(others) >= 0.05 / 10**0.5 - 1e-12 and max(others) <= 0.05 * 10**0.5 + 1e-12
    single = _fit(arrays, num_models="1", learning_rate="0.05", wd="0.001", l1="0")
    assert single.selected.learning_rate == 0.05 and single.selected.wd == 0.001


def test_positive_example_weight_mult(arrays):
    _, y, _, _ = arrays
    balanced = (y == 0).sum() / (y == 1).sum()
    assert _fit(arrays, positive_example_weight_mult="balanced").selected.positive_example_weight_mult == pytest.approx(balanced)
    assert _fit(arrays, positive_example_weight_mult="2.5").selected.positive_example_weight_mult == 2.5
    auto = make_candidates(parse_hyperparameters({**DEFAULT_HYPERPARAMETERS, "positive_example_weight_mult": "auto"}), y, np.random.default_rng(0))
    assert len({round(c.positive_example_weight_mult, 9) for c in auto}) == 3


def test_normalisation_is_inside_the_model(arrays):
    X, *_ = arrays
    model = _fit(arrays).model
    np.testing.assert_allclose(model.feature_shift, X.mean(axis=0))
    np.testing.assert_allclose(model.feature_scale, X.std(axis=0))
    raw = _fit(arrays, normalize_data="false", unbias_data="false").model
    assert np.all(raw.feature_shift == 0) and np.all(raw.feature_scale == 1)


def test_early_stopping(arrays):
    patient = _fit(arrays, epochs="40", early_stopping_patience="50")
    assert patient.epochs_run == 40 and not patient.early_stopped
    impatient = _fit(arrays, epochs="40", early_stopping_patience="1", early_stopping_tolerance="0.5")
    assert impatient.early_stopped and impatient.epochs_run < 40


def test_should_stop_interrupts_training(arrays):
    X, y, Xv, yv = arrays
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    config = parse_hyperparameters(DEFAULT_HYPERPARAMETERS)
    with pytest.raises(TrainingStopped):
        LinearLearner(config).fit(X, y, Xv, yv, should_stop=should_stop)


def test_divergence_is_detected(arrays):
    with pytest.raises(TrainingDiverged):
        _fit(arrays, optimizer="sgd", learning_rate="1e305", num_models="2", use_lr_scheduler="false")


def test_trains_without_a_validation_channel(arrays):
    X, y, _, _ = arrays
    result = LinearLearner(parse_hyperparameters(DEFAULT_HYPERPARAMETERS), seed=0).fit(X, y)
    assert result.selection_metric == "train:objective_loss"


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_every_optimizer_learns_the_problem(arrays, optimizer):
    X, y, Xv, yv = arrays
    model = _fit(arrays, optimizer=optimizer).model
    from training.inference import score_matrix

    _, labels = score_matrix(model, Xv)
    assert float(np.mean(labels == yv)) >= 0.9


@pytest.mark.parametrize("loss", ["squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
                                  "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss"])
def test_regression_losses_fit_a_linear_target(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, 1.0]
    y = X @ np.array([2.0, -0.3, 5.0]) + 7.0 + rng.normal(scale=0.01, size=400)
    config = parse_hyperparameters({"predictor_type": "regressor", "loss": loss, "mini_batch_size": "50", "epochs": "60",
                                    "early_stopping_patience": "60"})
    model = LinearLearner(config, seed=0).fit(X[:300], y[:300], X[300:], y[300:]).model
    from training.inference import score_matrix

    predictions, _ = score_matrix(model, X[300:])
    assert np.mean(np.abs(predictions - y[300:])) < 0.1 * np.std(y)


# --------------------------------------------------------------------------- selection criteria


def test_precision_at_target_recall_holds_recall_on_validation(arrays):
    X, y, Xv, yv = arrays
    result = _fit(arrays, binary_classifier_model_selection_criteria="precision_at_target_recall", target_recall="1.0")
    from training.inference import score_matrix

    _, labels = score_matrix(result.model, Xv)
    assert labels[yv == 1].mean() == 1.0  # every malignant validation row caught
    assert result.selection_metric == "validation:precision_at_target_recall"


def test_recall_at_target_precision_holds_precision_on_validation(arrays):
    X, y, Xv, yv = arrays
    result = _fit(arrays, binary_classifier_model_selection_criteria="recall_at_target_precision", target_precision="1.0")
    from training.inference import score_matrix

    _, labels = score_matrix(result.model, Xv)
    assert labels.sum() > 0 and yv[labels == 1].mean() == 1.0


def test_accuracy_criterion_calibrates_the_threshold(arrays):
    result = _fit(arrays, binary_classifier_model_selection_criteria="accuracy")
    assert result.selection_metric == "validation:accuracy"
    assert 0.0 < result.model.threshold < 1.0
    assert _fit(arrays).model.threshold == 0.5  # loss_function (kit default) keeps 0.5


def test_choose_threshold_on_toy_scores():
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.7, 0.8, 0.95])
    y = np.array([0, 0, 1, 0, 0, 1, 1, 1])
    threshold, accuracy = choose_threshold(scores, y, "accuracy", 0.5)
    assert accuracy == pytest.approx(7 / 8) and threshold == pytest.approx(0.65)
    assert np.mean((scores > threshold) == y) == pytest.approx(accuracy)
    threshold, precision = choose_threshold(scores, y, "precision_at_target_recall", 0.5, target_recall=1.0)
    assert np.all(scores[y == 1] > threshold) and precision == pytest.approx(4 / 6)
    threshold, recall = choose_threshold(scores, y, "recall_at_target_precision", 0.5, target_precision=1.0)
    assert recall == pytest.approx(3 / 4) and threshold == pytest.approx(0.65)
    threshold, f1 = choose_threshold(scores, y, "f_beta", 0.5, beta=1.0)
    predicted = scores > threshold
    tp = np.sum(predicted & (y == 1))
    assert f1 == pytest.approx(2 * tp / (predicted.sum() + (y == 1).sum()))
    assert choose_threshold(scores, y, "loss_function", 0.5)[0] == 0.5


def test_threshold_cuts_count_every_distinct_cut():
    cuts = threshold_cuts(np.array([0.3, 0.3, 0.9, 0.1]), np.array([1, 0, 1, 0]))
    assert cuts.tp.tolist() == [0, 1, 2, 2] and cuts.fp.tolist() == [0, 0, 1, 2]
    for threshold, tp in zip(cuts.thresholds, cuts.tp, strict=True):
        assert np.sum((np.array([0.3, 0.3, 0.9, 0.1]) > threshold) & (np.array([1, 0, 1, 0]) == 1)) == tp


def test_roc_auc_matches_sklearn_including_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    scores = np.round(rng.random(200), 1)
    y = (rng.random(200) < 0.4).astype(int)
    assert roc_auc(scores, y) == pytest.approx(roc_auc_score(y, scores))
    assert roc_auc(scores, np.zeros(200)) is None
