"""The XGBoost container's custom metrics, written with numpy (training/xgboost/metrics.py), give sklearn's
numbers, which is what the container computes them with."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.xgboost import metrics

labels = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 3), min_size=n, max_size=n), st.lists(st.integers(0, 3), min_size=n, max_size=n)))
binary = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 1), min_size=n, max_size=n), st.lists(st.integers(0, 1), min_size=n, max_size=n)))
floats = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)
regression = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(st.lists(floats, min_size=n, max_size=n), st.lists(floats, min_size=n, max_size=n)))


def _sk(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero_division and absent-class warnings: the value is what counts
        return fn(*args, **kwargs)


@given(labels)
def test_multiclass_metrics_match_sklearn(pair):
    import sklearn.metrics as skm  # inside: collection stays free of scikit-learn (tests/fixtures/lazy.py)

    y_true, y_pred = (np.array(v, dtype=float) for v in pair)
    assert metrics.accuracy_score(y_true, y_pred) == pytest.approx(_sk(skm.accuracy_score, y_true, y_pred))
    assert metrics.balanced_accuracy_score(y_true, y_pred) == pytest.approx(_sk(skm.balanced_accuracy_score, y_true, y_pred))
    for average in ("macro", "micro"):
        # sklearn's precision_score, recall_score and f1_score are these three of one call (faster to ask once)
        expected = _sk(skm.precision_recall_fscore_support, y_true, y_pred, average=average)[:3]
        for ours, theirs in zip((metrics.precision_score, metrics.recall_score, metrics.f1_score), expected, strict=True):
            assert ours(y_true, y_pred, average=average) == pytest.approx(theirs), (ours, average)


@given(binary)
def test_binary_metrics_match_sklearn(pair):
    import sklearn.metrics as skm  # inside: collection stays free of scikit-learn (tests/fixtures/lazy.py)

    y_true, y_pred = (np.array(v, dtype=float) for v in pair)
    expected = _sk(skm.precision_recall_fscore_support, y_true, y_pred, average="binary")[:3]
    for ours, theirs in zip((metrics.precision_score, metrics.recall_score, metrics.f1_score), expected, strict=True):
        assert ours(y_true, y_pred) == pytest.approx(theirs), ours


@given(regression)
def test_regression_metrics_match_sklearn(pair):
    import sklearn.metrics as skm  # inside: collection stays free of scikit-learn (tests/fixtures/lazy.py)

    y_true, y_pred = (np.array(v, dtype=float) for v in pair)
    assert metrics.mean_squared_error(y_true, y_pred) == pytest.approx(skm.mean_squared_error(y_true, y_pred), rel=1e-9, abs=1e-9)
    assert metrics.mean_absolute_error(y_true, y_pred) == pytest.approx(skm.mean_absolute_error(y_true, y_pred), rel=1e-9, abs=1e-9)
    assert metrics.r2_score(y_true, y_pred) == pytest.approx(skm.r2_score(y_true, y_pred), rel=1e-9, abs=1e-9)


def test_binary_average_on_a_multiclass_target_is_refused_like_sklearn():
    import sklearn.metrics as skm  # inside: collection stays free of scikit-learn (tests/fixtures/lazy.py)

    y_true, y_pred = np.array([0.0, 1.0, 2.0]), np.array([0, 1, 1])
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        metrics.precision_score(y_true, y_pred)
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        skm.precision_score(y_true, y_pred)


def test_a_continuous_target_is_refused_by_the_classification_metrics():
    class DMatrixLike:
        def get_label(self):
            return np.array([0.5, 1.0, 0.0])

    with pytest.raises(ValueError, match="continuous and binary targets"):
        metrics.CUSTOM_METRICS["accuracy"](np.array([0.9, 0.1, 0.7]), DMatrixLike())


def test_the_training_job_path_does_not_import_scikit_learn():
    """The emulator's image has no scikit-learn: an XGBoost training job must not need it."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['sklearn'] = None\n"  # importing it would now raise ImportError
            "import training.xgboost.job, emulator.sagemaker.training_worker, emulator.sagemaker.xgboost_training\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
