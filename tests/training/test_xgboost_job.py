"""training.xgboost without services: the container's hyperparameter rules and messages, channel formats,
metrics and early stopping, checkpoints, the artifact format per image version, and the safe loader."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.lazy import lazy_module
from tests.fixtures.pickled_boosters import PICKLED_BOOSTERS
from tests.fixtures.training import model_tar
from training.artifact import ArtifactError
from training.xgboost import data as xdata
from training.xgboost.artifact import load_booster, load_xgboost_tar, model_bytes, sniff_format
from training.xgboost.hyperparameters import HyperparameterError, validate
from training.xgboost.job import ChannelInput, XGBoostJobError, XGBoostStopped, run_xgboost_job

xgb = lazy_module("xgboost")  # imported by the worker that runs these tests only (tests/fixtures/lazy.py)


@pytest.fixture(scope="module")
def wdbc() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X, (1 - y).astype(float)  # 1 = malignant, as the kit labels it


def _csv_channel(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    np.savetxt(path / "part.csv", np.column_stack([y, X]), delimiter=",", fmt="%.17g")
    return path


@pytest.fixture
def channels(tmp_path, wdbc) -> dict[str, ChannelInput]:
    X, y = wdbc
    return {
        "train": ChannelInput(_csv_channel(tmp_path / "train", X[:450], y[:450]), "text/csv"),
        "validation": ChannelInput(_csv_channel(tmp_path / "validation", X[450:], y[450:]), "text/csv"),
    }


# --- hyperparameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, message",
    [
        ({}, "Missing required hyperparameter: num_round"),
        ({"num_round": "ten"}, "Hyperparameter num_round: could not parse value"),
        ({"num_round": "0"}, "Hyperparameter num_round: 0 is not in [1, +inf)"),
        ({"num_round": "5", "eta": "1.5"}, "Hyperparameter eta: 1.5 is not in [0, 1]"),
        ({"num_round": "5", "subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"num_round": "5", "objective": "binary:nope"}, "Hyperparameter objective: binary:nope is not in"),
        ({"num_round": "5", "objective": "multi:softmax"}, "Require input for parameter 'num_class' for multi-classification"),
        ({"num_round": "5", "objective": "reg:squarederror", "eval_metric": "auc"},
         "Metric 'auc' can only be applied for classification and ranking problems."),
        ({"num_round": "5", "eval_metric": "precision@0.5"}, "Parameter 'eval_metric' with customized threshold should"),
        ({"num_round": "5", "eval_metric": "bogus"}, "Hyperparameter eval_metric: value ['bogus'] not in range"),
        ({"num_round": "5", "monotone_constraints": "(1,0)"},
         "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."),
        ({"num_round": "5", "colour": "red"}, "Extraneous hyperparameter found: colour"),
    ],
)
def test_hyperparameter_errors_use_the_container_messages(given, message):
    with pytest.raises(HyperparameterError) as info:
        validate(given)
    assert message in str(info.value)


def test_hyperparameters_parse_aliases_and_types():
    config = validate({"num_round": "10", "learning_rate": "0.2", "reg_lambda": "2", "eval_metric": "auc,logloss",
                       "objective": "binary:logistic", "tree_method": "hist", "monotone_constraints": "(1,-1,0)"})
    assert config == {"num_round": 10, "eta": 0.2, "lambda": 2.0, "eval_metric": ["auc", "logloss"],
                      "objective": "binary:logistic", "tree_method": "hist", "monotone_constraints": (1, -1, 0)}


def test_tuples_are_literals_never_evaluated():
    with pytest.raises(HyperparameterError, match="could not parse value"):
        validate({"num_round": "5", "tree_method": "hist", "monotone_constraints": "__import__('os').getcwd()"})


# --- training --------------------------------------------------------------------------------------


def test_job_matches_the_library_and_names_metrics_like_the_container(tmp_path, channels, wdbc):
    hyper = {"num_round": "30", "objective": "binary:logistic", "max_depth": "3", "eta": "0.3", "eval_metric": "logloss,auc"}
    result = run_xgboost_job(channels, hyper, tmp_path / "out", version="3.0-5")
    assert set(result.final_metrics) == {"train:logloss", "train:auc", "validation:logloss", "validation:auc"}
    X, y = wdbc
    direct = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "eval_metric": ["logloss", "auc"], "nthread": 1},
                       xgb.DMatrix(X[:450], label=y[:450]), num_boost_round=30)
    np.testing.assert_allclose(result.booster.predict(xgb.DMatrix(X[450:])), direct.predict(xgb.DMatrix(X[450:])), rtol=1e-6)
    evaluated = dict(part.split(":") for part in direct.eval(xgb.DMatrix(X[450:], label=y[450:]), "validation").split("\t")[1:])
    assert result.final_metrics["validation:auc"] == pytest.approx(float(evaluated["validation-auc"]), rel=1e-5)


def test_early_stopping_keeps_the_best_model(tmp_path, channels):
    hyper = {"num_round": "500", "objective": "binary:logistic", "eta": "0.5", "eval_metric": "logloss", "early_stopping_rounds": "3"}
    result = run_xgboost_job(channels, hyper, tmp_path / "out")
    assert result.best_iteration is not None and result.rounds == result.best_iteration + 1 < 500


@pytest.mark.parametrize("version, marker", [("1.7-1", b'{"learner"'), ("3.0-5", b"{L"), ("3.2-0", b"{L")])
def test_the_artifact_holds_xgboost_model_in_the_versions_format(tmp_path, channels, version, marker):
    result = run_xgboost_job(channels, {"num_round": "3", "objective": "binary:logistic"}, tmp_path / "out", version=version)
    with tarfile.open(result.model_path, "r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
        blob = tar.extractfile("xgboost-model").read()
    assert blob.startswith(marker)
    if version == "1.7-1":  # xgboost 1.7 parses base_score as a scalar string
        base = json.loads(blob)["learner"]["learner_model_param"]["base_score"]
        assert not base.startswith("[") and float(base) > 0
    loaded = load_xgboost_tar(result.model_path)
    assert loaded.objective == "binary:logistic" and loaded.num_feature == 30


def test_checkpoints_resume_where_the_job_stopped(tmp_path, channels):
    checkpoints = tmp_path / "checkpoints"
    calls = iter(range(1000))
    with pytest.raises(XGBoostStopped):
        run_xgboost_job(channels, {"num_round": "20", "objective": "binary:logistic"}, tmp_path / "a",
                        checkpoint_dir=checkpoints, should_stop=lambda: next(calls) >= 6)
    names = sorted(p.name for p in checkpoints.iterdir())
    assert len(names) <= 5 and all(n.startswith("xgboost-checkpoint.") for n in names)
    resumed = run_xgboost_job(channels, {"num_round": "20", "objective": "binary:logistic"}, tmp_path / "b", checkpoint_dir=checkpoints)
    assert resumed.rounds == 20


def test_libsvm_and_parquet_channels(tmp_path, wdbc):
    X, y = wdbc
    svm = tmp_path / "svm"
    svm.mkdir()
    (svm / "train").write_text("\n".join(f"{int(label)} " + " ".join(f"{i}:{v!r}" for i, v in enumerate(row))
                                         for label, row in zip(y[:200].tolist(), X[:200].tolist())) + "\n")
    result = run_xgboost_job({"train": ChannelInput(svm, None)}, {"num_round": "5", "objective": "binary:logistic"}, tmp_path / "o1")
    assert set(result.final_metrics) == {"train:logloss"}
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq_dir = tmp_path / "parquet"
    pq_dir.mkdir()
    table = pa.table({f"c{i}": column for i, column in enumerate(np.column_stack([y[:200], X[:200]]).T)})
    pq.write_table(table, pq_dir / "part.parquet")
    result = run_xgboost_job({"train": ChannelInput(pq_dir, "application/x-parquet")},
                             {"num_round": "5", "objective": "binary:logistic"}, tmp_path / "o2")
    assert result.booster.num_features() == 30


@pytest.mark.parametrize(
    "content_type, files, message",
    [
        ("application/x-image", {"a.csv": "1,2\n"}, "application/x-image is not an accepted ContentType"),
        ("text/csv;label_size=2", {"a.csv": "1,2\n"}, "Optional parameter label_size must be equal to 1"),
        ("text/csv", {".hidden": "1,2\n"}, "Hidden file found in the data path! Remove that before training."),
        ("text/libsvm", {"a": "1 x:y\n"}, "is not 'LIBSVM' format"),
        ("text/csv", {}, "No data in training channel path"),
    ],
)
def test_channel_errors_are_client_errors(tmp_path, content_type, files, message):
    train = tmp_path / "train"
    train.mkdir()
    for name, text in files.items():
        (train / name).write_text(text)
    with pytest.raises(XGBoostJobError) as info:
        run_xgboost_job({"train": ChannelInput(train, content_type)}, {"num_round": "2"}, tmp_path / "out")
    assert str(info.value).startswith("ClientError: ") and message in str(info.value)


def test_extraneous_channel_and_label_errors(tmp_path, channels, wdbc):
    with pytest.raises(XGBoostJobError, match="Extraneous channel found: test"):
        run_xgboost_job({**channels, "test": channels["validation"]}, {"num_round": "2"}, tmp_path / "out")
    X, _ = wdbc
    bad = _csv_channel(tmp_path / "bad", X[:50], np.full(50, 3.0))
    with pytest.raises(XGBoostJobError) as info:
        run_xgboost_job({"train": ChannelInput(bad, "text/csv")}, {"num_round": "2", "objective": "binary:logistic"}, tmp_path / "o")
    assert str(info.value).startswith("ClientError: ") and "base_score must be in (0,1)" in str(info.value)
    assert "[bt]" not in str(info.value)


# --- loading models --------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def booster(wdbc) -> xgb.Booster:
    X, y = wdbc
    return xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), num_boost_round=4)


@pytest.mark.parametrize("fmt", ["json", "ubj"])
def test_library_formats_load_and_predict_like_the_library(booster, wdbc, fmt):
    model = load_xgboost_tar(model_tar({"xgboost-model": bytes(booster.save_raw(fmt))}))
    X, _ = wdbc
    np.testing.assert_array_equal(model.predict(X[:10]), booster.predict(xgb.DMatrix(X[:10])))
    assert model.model_format == fmt


@pytest.mark.parametrize("protocol", sorted(PICKLED_BOOSTERS))
def test_a_pickle_is_refused_unread(protocol):
    blob = PICKLED_BOOSTERS[protocol]
    assert sniff_format(blob) == "pickle"
    with pytest.raises(ArtifactError) as info:
        load_xgboost_tar(model_tar({"xgboost-model": blob}))
    assert "pickle" in str(info.value) and "save_model" in str(info.value)


def test_garbage_and_non_xgboost_archives(booster):
    with pytest.raises(ArtifactError, match="could not be loaded by xgboost"):
        load_booster(b"\x00" * 200)
    assert load_xgboost_tar(model_tar({"model.json": b"{}"})) is None  # not ours: the Linear Learner loader decides


def test_model_bytes_round_trip_for_every_version(booster):
    for version in ("1.7-1", "3.0-5"):
        again = xgb.Booster()
        again.load_model(bytearray(model_bytes(booster, version)))
        assert again.num_boosted_rounds() == booster.num_boosted_rounds()


def test_content_type_defaults_to_libsvm_like_the_container():
    assert xdata.content_type(None) == xdata.LIBSVM
    assert xdata.content_type("text/csv; label_size=1") == xdata.CSV
