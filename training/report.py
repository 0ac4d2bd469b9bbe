"""`sagestack train`'s work: data -> training job -> test metrics + 10-fold CV -> metrics.json and plots.

The test split (57 rows by default) is reported as Linear Learner would; because one patient
moves its accuracy by 1.75 points, stratified 10-fold cross-validation figures sit next to it
and are what the README's quality bars are checked against.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from training.data import DEFAULT_FRACTIONS, DEFAULT_SEED, FEATURE_NAMES, load_wdbc, prepare_channels, read_channel_csv
from training.evaluation import cross_validate
from training.hyperparameters import DEFAULT_HYPERPARAMETERS
from training.inference import score_matrix
from training.job import library_versions, run_training_job

__all__ = ["QUALITY_BARS", "Progress", "cross_validate", "train_and_report", "write_plots", "format_summary"]

# The kit's quality bars (README), checked on the mean of stratified 10-fold CV.
QUALITY_BARS = {"accuracy": 0.97, "recall": 0.95, "roc_auc": 0.99}
PLOT_FILES = ("roc.png", "precision_recall.png", "confusion_matrix.png", "threshold.png", "cross_validation.png")


@dataclass
class Progress:
    """Step-by-step progress on a stream (stderr by default); epoch lines update in place on a TTY."""

    stream: TextIO | None = field(default_factory=lambda: sys.stderr)
    total_steps: int = 4
    _step: int = 0
    _started: float = 0.0
    _inline: bool = False

    @property
    def _tty(self) -> bool:
        return bool(self.stream is not None and getattr(self.stream, "isatty", lambda: False)())

    def _write(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(text)
            self.stream.flush()

    def begin(self, title: str) -> None:
        self._finish_inline()
        self._step += 1
        self._started = time.perf_counter()
        self._write(f"[{self._step}/{self.total_steps}] {title} ...\n")

    def done(self, detail: str = "") -> None:
        self._finish_inline()
        elapsed = time.perf_counter() - self._started
        self._write(f"      done in {elapsed:.2f} s{(' — ' + detail) if detail else ''}\n")

    def log(self, message: str) -> None:
        """Receives the training job's log lines; shows epoch progress, keeps the rest quiet."""
        if "epoch=" in message and "train objective_loss" in message:
            epoch = message.split("epoch=")[1].split(",")[0]
            loss = message.rsplit("=", 1)[1]
            text = f"      epoch {epoch}: train objective_loss {loss}"
            if self._tty:
                self._write("\r" + text.ljust(60))
                self._inline = True
        elif message.startswith(("Early stop", "Selected model")):
            self._finish_inline()
            self._write(f"      {message}\n")

    def _finish_inline(self) -> None:
        if self._inline:
            self._write("\n")
            self._inline = False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def train_and_report(
    out_dir: Path,
    *,
    source: Path | None = None,
    seed: int = DEFAULT_SEED,
    hyperparameters: Mapping[str, str] | None = None,
    folds: int = 10,
    plots: bool = True,
    progress: Progress | None = None,
    xgboost: bool = True,
) -> dict[str, Any]:
    """Run the whole pipeline into `out_dir`; returns the metrics.json document."""
    progress = progress or Progress(stream=None)
    hps = {**DEFAULT_HYPERPARAMETERS, **dict(hyperparameters or {})}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    is_classifier = hps.get("predictor_type") == "binary_classifier"
    if plots and importlib.util.find_spec("matplotlib") is None:  # the optional `plots` extra
        if progress.stream is not None:
            print("plots skipped: matplotlib is not installed (pip install 'sagestack[plots]', or make demo)", file=progress.stream)
        plots = False
    progress.total_steps = 3 + int(is_classifier and folds > 0) + int(plots) + int(is_classifier and xgboost)

    progress.begin("Preparing data (stratified 80/10/10 split, Linear Learner CSV channels)")
    started = time.perf_counter()
    channels = prepare_channels(out_dir / "data", source=source, seed=seed, fractions=DEFAULT_FRACTIONS)
    raw_source = Path(source) if source is not None else out_dir / "data" / "wdbc.data"
    split = json.loads((out_dir / "data" / "split.json").read_text())
    sizes = {name: info["rows"] for name, info in split["splits"].items()}
    timings["prepare_data_s"] = time.perf_counter() - started
    progress.done(", ".join(f"{name} {rows} rows" for name, rows in sizes.items()))

    progress.begin("Training (Linear-Learner-compatible, candidates trained in parallel)")
    log_lines: list[str] = []

    def log(message: str) -> None:
        log_lines.append(message)
        progress.log(message)

    started = time.perf_counter()
    result = run_training_job(channels, hps, out_dir, log=log, seed=seed, feature_names=FEATURE_NAMES)
    timings["train_s"] = time.perf_counter() - started
    (out_dir / "training.log").write_text("\n".join(log_lines) + "\n")
    model = result.model
    assert model is not None
    progress.done(f"model {result.model_path}")

    progress.begin("Scoring the test split")
    test_view: dict[str, Any] | None = None
    if "test" in channels:
        X_test, y_test = read_channel_csv(channels["test"])
        scores, labels = score_matrix(model, X_test)
        test_view = {"y": y_test, "score": scores, "predicted_label": labels}
    progress.done(
        ", ".join(f"{k.split(':', 1)[1]} {v:.4f}" for k, v in result.final_metrics.items() if k.startswith("test:"))
        or "no test split"
    )

    cv: dict[str, Any] | None = None
    if is_classifier and folds > 0:
        progress.begin(f"Stratified {folds}-fold cross-validation on all {sum(sizes.values())} rows")
        started = time.perf_counter()
        cv = cross_validate(load_wdbc(raw_source), hps, folds=folds, seed=seed)
        timings["cross_validation_s"] = time.perf_counter() - started
        mean = cv["mean"]
        progress.done(f"accuracy {mean['accuracy']:.4f}, malignant recall {mean['recall']:.4f}, ROC AUC {mean['roc_auc']:.4f}")

    plot_paths: list[str] = []
    if plots:
        progress.begin("Writing plots")
        plot_paths = [str(p) for p in write_plots(out_dir / "plots", test_view, cv, model.threshold)]
        progress.done(f"{len(plot_paths)} PNG files in {out_dir / 'plots'}")

    document: dict[str, Any] = {
        "final_metrics": result.final_metrics,
        "hyperparameters": hps,
        "seed": seed,
        "data": {"source": str(raw_source), "splits": sizes},
        "model": {
            "path": str(result.model_path),
            "sha256": _sha256(result.model_path),
            "threshold": model.threshold,
            "training": dict(model.training),
        },
        "timings": timings,
        "versions": library_versions(),
        "plots": plot_paths,
    }
    if cv is not None:
        document["cross_validation"] = {
            "folds": cv["folds_count"],
            "seed": cv["seed"],
            "mean": cv["mean"],
            "std": cv["std"],
            "pooled": cv["pooled"],
            "per_fold": cv["folds"],
        }
        document["quality_bars"] = {
            name: {"bar": bar, "value": cv["mean"][name], "passed": bool(cv["mean"][name] >= bar)}
            for name, bar in QUALITY_BARS.items()
        }
    if is_classifier and xgboost:
        from training.xgboost.report import xgboost_report  # the report covers both algorithms deploy offers

        progress.begin("XGBoost on the same split and folds (sagemaker-xgboost algorithm mode)")
        started = time.perf_counter()
        ds = load_wdbc(raw_source)
        document["xgboost"] = xgboost_report(channels, ds.X, ds.y.astype(float), out_dir / "xgboost", folds=folds, seed=seed)
        timings["xgboost_s"] = time.perf_counter() - started
        progress.done(document["xgboost"]["model"])
    (out_dir / "metrics.json").write_text(json.dumps(_jsonable(document), indent=1, sort_keys=True) + "\n")
    return document


def write_plots(
    plot_dir: Path,
    test: Mapping[str, np.ndarray] | None,
    cv: Mapping[str, Any] | None,
    threshold: float | None,
) -> list[Path]:
    """ROC, precision-recall, confusion matrices, threshold sweep and per-fold CV figures as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

    plot_dir = Path(plot_dir)
    plot_dir.mkdir(parents=True, exist_ok=True)
    views: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    if test is not None and test.get("predicted_label") is not None:
        views.append((f"test split ({len(test['y'])} rows)", test["y"], test["score"], test["predicted_label"]))
    if cv is not None:
        oof = cv["out_of_fold"]
        views.append((f"{cv['folds_count']}-fold CV, out of fold ({len(oof['y'])} rows)", oof["y"], oof["score"], oof["predicted_label"]))
    written: list[Path] = []
    if not views:
        return written

    def save(fig: Any, name: str) -> None:
        path = plot_dir / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for title, y, score, _ in views:
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, score)
        ax.plot(fpr, tpr, label=title)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate (benign called malignant)", ylabel="true positive rate (malignant recall)", title="ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    save(fig, "roc.png")

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for title, y, score, _ in views:
        precision, recall, _ = precision_recall_curve(y, score)
        ax.plot(recall, precision, label=title)
    ax.set(xlabel="recall (malignant)", ylabel="precision (malignant)", title="Precision-recall curve", ylim=(0, 1.02))
    ax.legend(loc="lower left", fontsize=8)
    save(fig, "precision_recall.png")

    fig, axes = plt.subplots(1, len(views), figsize=(4.6 * len(views), 4.2), squeeze=False)
    for ax, (title, y, _, labels) in zip(axes[0], views, strict=True):
        matrix = confusion_matrix(y.astype(int), labels.astype(int), labels=[0, 1])
        ax.imshow(matrix, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=14, color="black" if count < matrix.max() / 2 else "white")
        ax.set_xticks([0, 1], ["B (pred)", "M (pred)"])
        ax.set_yticks([0, 1], ["B (true)", "M (true)"])
        ax.set_title(title, fontsize=9)
    fig.suptitle("Confusion matrix")
    save(fig, "confusion_matrix.png")

    title, y, score, _ = views[-1]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    precision, recall, thresholds = precision_recall_curve(y, score)
    ax.plot(thresholds, recall[:-1], label="recall (malignant)")
    ax.plot(thresholds, precision[:-1], label="precision (malignant)")
    if threshold is not None:
        ax.axvline(threshold, color="grey", linestyle="--", linewidth=1, label=f"model threshold {threshold:.3g}")
    ax.set(xlabel="decision threshold on score", ylabel="value", title=f"Threshold vs recall/precision — {title}", ylim=(0, 1.02))
    ax.title.set_fontsize(9)
    ax.legend(loc="lower left", fontsize=8)
    save(fig, "threshold.png")

    if cv is not None:
        per_fold = cv["folds"]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        fold_numbers = [f["fold"] for f in per_fold]
        for name, marker in (("accuracy", "o"), ("recall", "s"), ("roc_auc", "^")):
            values = [f.get(name, np.nan) for f in per_fold]
            ax.plot(fold_numbers, values, marker=marker, linestyle="-", label=f"{name} (mean {cv['mean'][name]:.3f})")
        for name, bar in QUALITY_BARS.items():
            ax.axhline(bar, color="grey", linestyle=":", linewidth=1)
            ax.text(fold_numbers[0] - 0.35, bar + 0.002, f"bar: {name} {bar}", fontsize=7, va="bottom", color="grey")
        ax.set(xlabel="fold", ylabel="value", title=f"Stratified {cv['folds_count']}-fold cross-validation", ylim=(0.8, 1.005))
        ax.set_xticks(fold_numbers)
        ax.set_xlim(fold_numbers[0] - 0.5, fold_numbers[-1] + 0.5)
        ax.legend(loc="lower left", fontsize=8)
        save(fig, "cross_validation.png")
    return written


def format_summary(document: Mapping[str, Any]) -> str:
    """A short human report for the terminal."""
    lines = ["", "Training report", "---------------"]
    metrics = document["final_metrics"]
    splits = document["data"]["splits"]
    lines.append("data: " + ", ".join(f"{k} {v}" for k, v in splits.items()) + f" rows (seed {document['seed']})")
    lines.append(f"model: {document['model']['path']} (threshold {document['model']['threshold']})")
    test = {k.split(":", 1)[1]: v for k, v in metrics.items() if k.startswith("test:")}
    if test:
        names = ("binary_classification_accuracy", "recall", "precision", "roc_auc_score", "objective_loss", "mse", "absolute_loss")
        shown = ", ".join(f"{n} {test[n]:.4f}" for n in names if n in test)
        lines.append(f"test split ({splits.get('test', '?')} rows): {shown}")
    cv = document.get("cross_validation")
    if cv:
        mean, std = cv["mean"], cv["std"]
        lines.append(
            f"{cv['folds']}-fold CV (mean ± sd): accuracy {mean['accuracy']:.4f} ± {std['accuracy']:.4f}, "
            f"malignant recall {mean['recall']:.4f} ± {std['recall']:.4f}, ROC AUC {mean['roc_auc']:.4f} ± {std['roc_auc']:.4f}"
        )
        bars = document["quality_bars"]
        verdict = ", ".join(
            f"{name} {'PASS' if info['passed'] else 'FAIL'} ({info['value']:.4f} vs {info['bar']})" for name, info in bars.items()
        )
        lines.append(f"quality bars: {verdict}")
    if document.get("xgboost"):
        from training.xgboost.report import summary_line

        lines.append(summary_line(document["xgboost"]))
    lines.append(f"training took {document['timings']['train_s']:.2f} s; metrics: {Path(document['model']['path']).parent / 'metrics.json'}")
    return "\n".join(lines)

