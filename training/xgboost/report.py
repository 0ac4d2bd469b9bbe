"""The XGBoost half of the training report: the same split and the same CV folds as Linear Learner.

`sagestack train` reports both algorithms side by side so the choice `deploy --algorithm`
offers is made on figures: the test split scored by the model `run_xgboost_job` trains on the
train/validation channels (early stopping on validation, as deploy does), and stratified k-fold
CV with the same folds as the Linear Learner CV, inner 8/1 split for early stopping.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from training.xgboost.hyperparameters import DEFAULT_HYPERPARAMETERS
from training.xgboost.job import ChannelInput, run_xgboost_job


def _figures(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    predicted = (score > 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, score)) if len(set(y.tolist())) == 2 else float("nan"),
    }


def xgboost_report(
    channels: Mapping[str, Path],
    X: np.ndarray,
    y: np.ndarray,
    out_dir: Path,
    *,
    folds: int = 10,
    seed: int = 0,
    hyperparameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """metrics.json's "xgboost" section: final metrics, test figures, CV mean/std on the given rows."""
    import xgboost as xgb
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from training.data import read_channel_csv

    hps = {**DEFAULT_HYPERPARAMETERS, **dict(hyperparameters or {})}
    inputs = {c: ChannelInput(Path(channels[c]).parent, "text/csv") for c in ("train", "validation") if c in channels}
    result = run_xgboost_job(inputs, hps, out_dir)
    section: dict[str, Any] = {"hyperparameters": hps, "final_metrics": result.final_metrics,
                               "model": str(result.model_path), "rounds": result.rounds}
    if "test" in channels:
        X_test, y_test = read_channel_csv(Path(channels["test"]))
        section["test"] = _figures(y_test, result.booster.predict(xgb.DMatrix(X_test)))
    if folds > 1:
        per_fold = []
        for k, (train, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y)):
            fit_idx, stop_idx = train_test_split(train, test_size=1 / 9, stratify=y[train], random_state=seed + k)
            fold_dir = out_dir / "cv" / f"fold{k}"
            fold_channels = {}
            for name, index in (("train", fit_idx), ("validation", stop_idx)):
                path = fold_dir / name
                path.mkdir(parents=True, exist_ok=True)
                np.savetxt(path / "part.csv", np.column_stack([y[index], X[index]]), delimiter=",", fmt="%.17g")
                fold_channels[name] = ChannelInput(path, "text/csv")
            fold = run_xgboost_job(fold_channels, hps, fold_dir / "out")
            per_fold.append(_figures(y[test], fold.booster.predict(xgb.DMatrix(X[test]))))
        names = per_fold[0].keys()
        section["cross_validation"] = {
            "folds": folds,
            "mean": {n: float(np.mean([f[n] for f in per_fold])) for n in names},
            "std": {n: float(np.std([f[n] for f in per_fold])) for n in names},
        }
    return section


def summary_line(section: Mapping[str, Any]) -> str:
    parts = []
    if "test" in section:
        test = section["test"]
        parts.append(f"test accuracy {test['accuracy']:.4f}, recall {test['recall']:.4f}, ROC AUC {test['roc_auc']:.4f}")
    cv = section.get("cross_validation")
    if cv:
        mean, std = cv["mean"], cv["std"]
        parts.append(f"{cv['folds']}-fold CV accuracy {mean['accuracy']:.4f} ± {std['accuracy']:.4f}, "
                     f"recall {mean['recall']:.4f}, ROC AUC {mean['roc_auc']:.4f}")
    return f"XGBoost ({section['rounds']} rounds): " + "; ".join(parts)
