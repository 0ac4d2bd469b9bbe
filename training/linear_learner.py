"""A Linear-Learner-compatible trainer in numpy: many candidate models trained in one pass.

What SageMaker's Linear Learner does ("How linear learner works", developer guide) and how
it is done here:

1. Normalise: feature means/standard deviations (and, for regressors, the label's) are
   estimated on up to `num_point_for_scaler` rows and kept *inside* the model.
2. Train `num_models` candidates in parallel with different learning rates and
   regularisation ("one model according to the given parameters, the rest by close
   parameters"). The candidates' weight vectors are the columns of one (d, M) matrix, so
   each mini-batch costs one `X_b @ W` and one `X_b.T @ G` for all of them. Optimisers:
   sgd (momentum), adam, rmsprop; L2 (`wd`) in the gradient, L1 (`l1`) as a proximal step;
   an optional step learning-rate schedule; early stopping on the validation channel.
3. Select the best candidate on validation data (training data if there is none) by
   `binary_classifier_model_selection_criteria`, after calibrating each candidate's decision
   threshold for that criterion; regressors are selected by loss.

Everything random draws from one `numpy.random.Generator(seed)`: same data, hyperparameters
and seed give the same model, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.artifact import LinearModel
from training.hyperparameters import LinearLearnerConfig
from training.metrics import LossParams, choose_threshold, loss_and_gradient, objective_loss, sigmoid

AUTO_NUM_MODELS = 32
# Base learning rates used for `learning_rate=auto`, per optimiser.
AUTO_LEARNING_RATE = {"adam": 0.01, "rmsprop": 0.01, "sgd": 0.1}
# Candidates' learning rates spread log-uniformly around the base, in decades: wider (and
# leaning to smaller, safer rates) when learning_rate=auto, narrower around a given value.
AUTO_LR_SPREAD = (-1.0, 0.5)
GIVEN_LR_SPREAD = (-0.5, 0.5)
AUTO_MOMENTUM = 0.9
AUTO_BETA_1 = 0.9
AUTO_BETA_2 = 0.999
RMSPROP_DECAY = 0.9
AUTO_LR_FACTOR = 0.9  # learning rate x0.9 every `lr_scheduler_step` updates (auto: once per epoch)
AUTO_MIN_LR = 1e-6
AUTO_WD = 1e-4  # candidate 0's L2 weight when wd=auto
ADAM_EPSILON = 1e-8
CHECK_STOP_EVERY_BATCHES = 64


class TrainingStopped(Exception):
    """Raised when `should_stop()` returns True during training (StopTrainingJob)."""


class TrainingDiverged(ArithmeticError):
    """Every candidate's weights became non-finite; the learning rate is too high for the data."""


@dataclass(frozen=True)
class Candidate:
    """One of the models trained in parallel, with the hyperparameters it actually used."""

    index: int
    learning_rate: float
    wd: float
    l1: float
    positive_example_weight_mult: float

    def as_dict(self) -> dict[str, float]:
        return {
            "index": self.index,
            "learning_rate": self.learning_rate,
            "wd": self.wd,
            "l1": self.l1,
            "positive_example_weight_mult": self.positive_example_weight_mult,
        }


@dataclass
class FitResult:
    """The selected model plus what happened during training (for logs, metrics and reports)."""

    model: LinearModel
    selected: Candidate
    candidates: list[Candidate]
    epochs_run: int
    early_stopped: bool
    diverged: list[int]
    selection_metric: str
    selection_value: float
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class _Scaler:
    feature_shift: np.ndarray
    feature_scale: np.ndarray
    label_shift: float
    label_scale: float


def _fit_scaler(config: LinearLearnerConfig, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> _Scaler:
    n, d = X.shape
    sample = rng.choice(n, size=config.num_point_for_scaler, replace=False) if n > config.num_point_for_scaler else slice(None)
    Xs, ys = X[sample], y[sample]
    shift = Xs.mean(axis=0) if config.unbias_data else np.zeros(d)
    if config.normalize_data:
        centre = Xs.mean(axis=0)
        scale = np.sqrt(np.mean((Xs - centre) ** 2, axis=0))
        scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(centre)), scale, 1.0)  # constant feature: leave as is
    else:
        scale = np.ones(d)
    label_shift = float(ys.mean()) if config.unbias_label else 0.0
    label_scale = 1.0
    if config.normalize_label:
        spread = float(np.sqrt(np.mean((ys - ys.mean()) ** 2)))
        label_scale = spread if spread > 1e-12 else 1.0
    return _Scaler(shift, scale, label_shift, label_scale)


def _positive_weights(config: LinearLearnerConfig, y: np.ndarray, count: int) -> np.ndarray:
    if not config.is_classifier:
        return np.ones(count)
    positives = float(np.sum(y > 0.5))
    negatives = float(y.size - positives)
    balanced = negatives / positives if positives > 0 and negatives > 0 else 1.0
    setting = config.positive_example_weight_mult
    if setting == "balanced":
        return np.full(count, balanced)
    if setting == "auto":
        # Let selection choose: cycle through unweighted, balanced and the geometric middle.
        options = np.array([balanced, 1.0, math.sqrt(balanced)])
        return options[np.arange(count) % options.size]
    return np.full(count, float(setting))


def make_candidates(config: LinearLearnerConfig, y: np.ndarray, rng: np.random.Generator) -> list[Candidate]:
    """Candidate 0 uses the given (or auto-resolved) values; the others spread around them."""
    count = config.num_models or AUTO_NUM_MODELS
    base_lr = config.learning_rate if config.learning_rate is not None else AUTO_LEARNING_RATE[config.optimizer]
    low, high = AUTO_LR_SPREAD if config.learning_rate is None else GIVEN_LR_SPREAD
    lr = base_lr * 10.0 ** rng.uniform(low, high, count)
    lr[0] = base_lr

    if config.wd is None:
        wd = np.where(np.arange(count) % 2 == 0, 0.0, 10.0 ** rng.uniform(-6, -1, count))
        wd[0] = AUTO_WD
    elif config.wd == 0:
        wd = np.zeros(count)
    else:
        wd = config.wd * 10.0 ** rng.uniform(-0.5, 0.5, count)
        wd[0] = config.wd

    if config.l1 is None:
        l1 = np.where(np.arange(count) % 4 == 3, 10.0 ** rng.uniform(-6, -2, count), 0.0)
        l1[0] = 0.0
    elif config.l1 == 0:
        l1 = np.zeros(count)
    else:
        l1 = config.l1 * 10.0 ** rng.uniform(-0.5, 0.5, count)
        l1[0] = config.l1

    weights = _positive_weights(config, y, count)
    return [
        Candidate(i, float(lr[i]), float(wd[i]), float(l1[i]), float(weights[i]))
        for i in range(count)
    ]


class _Optimizer:
    """sgd / adam / rmsprop updates for the stacked (d, M) weights and (M,) biases."""

    def __init__(self, config: LinearLearnerConfig, shape: tuple[int, int]):
        self.kind = config.optimizer
        self.momentum = config.momentum if config.momentum is not None else (AUTO_MOMENTUM if self.kind == "sgd" else 0.0)
        self.beta_1 = config.beta_1 if config.beta_1 is not None else AUTO_BETA_1
        self.beta_2 = config.beta_2 if config.beta_2 is not None else AUTO_BETA_2
        self.step = 0
        d, m = shape
        self.state = {name: (np.zeros((d, m)), np.zeros(m)) for name in ("first", "second")}

    def reset(self, columns: np.ndarray) -> None:
        """Forget the moments of diverged candidates so their NaNs cannot leak back into the weights."""
        for moments_W, moments_b in self.state.values():
            moments_W[:, columns] = 0.0
            moments_b[columns] = 0.0

    def update(self, W: np.ndarray, b: np.ndarray, gW: np.ndarray, gb: np.ndarray, lr: np.ndarray, lr_b: np.ndarray) -> None:
        self.step += 1
        (mW, mb), (vW, vb) = self.state["first"], self.state["second"]
        if self.kind == "sgd":
            mW *= self.momentum
            mW += gW
            mb *= self.momentum
            mb += gb
            W -= lr * mW
            b -= lr_b * mb
        elif self.kind == "adam":
            b1, b2 = self.beta_1, self.beta_2
            mW *= b1
            mW += (1 - b1) * gW
            mb *= b1
            mb += (1 - b1) * gb
            vW *= b2
            vW += (1 - b2) * gW * gW
            vb *= b2
            vb += (1 - b2) * gb * gb
            correction = math.sqrt(1 - b2**self.step) / (1 - b1**self.step)
            W -= (lr * correction) * mW / (np.sqrt(vW) + ADAM_EPSILON)
            b -= (lr_b * correction) * mb / (np.sqrt(vb) + ADAM_EPSILON)
        else:  # rmsprop
            vW *= RMSPROP_DECAY
            vW += (1 - RMSPROP_DECAY) * gW * gW
            vb *= RMSPROP_DECAY
            vb += (1 - RMSPROP_DECAY) * gb * gb
            W -= lr * gW / (np.sqrt(vW) + ADAM_EPSILON)
            b -= lr_b * gb / (np.sqrt(vb) + ADAM_EPSILON)


def _default_threshold(config: LinearLearnerConfig) -> float:
    return 0.5 if config.loss == "logistic" else 0.0


def _scores(config: LinearLearnerConfig, z: np.ndarray) -> np.ndarray:
    return sigmoid(z) if config.loss == "logistic" else z


class LinearLearner:
    """Fit Linear Learner semantics on in-memory arrays; see the module docstring."""

    def __init__(self, config: LinearLearnerConfig, *, seed: int = 0, feature_names: Sequence[str] | None = None):
        self.config = config
        self.seed = int(seed)
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.loss_params = LossParams.of(config)

    # ------------------------------------------------------------------ helpers
    def _early_stopping_metric(self, has_validation: bool) -> str:
        criterion = self.config.binary_classifier_model_selection_criteria
        if (
            self.config.is_classifier
            and has_validation
            and "binary_classifier_model_selection_criteria" in self.config.explicit
            and criterion != "loss_function"
        ):
            return criterion
        return "objective_loss"

    def _criterion_values(self, scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-column calibrated threshold and criterion value."""
        cfg = self.config
        limit = cfg.num_calibration_samples or scores.shape[0]
        thresholds = np.empty(scores.shape[1])
        values = np.empty(scores.shape[1])
        for m in range(scores.shape[1]):
            thresholds[m], values[m] = choose_threshold(
                scores[:limit, m],
                y[:limit],
                cfg.binary_classifier_model_selection_criteria,
                _default_threshold(cfg),
                beta=cfg.f_beta,
                target_recall=cfg.target_recall,
                target_precision=cfg.target_precision,
            )
        return thresholds, values

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        *,
        log: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> FitResult:
        cfg = self.config
        log = log or (lambda message: None)
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n, d = X.shape
        rng = np.random.default_rng(self.seed)
        scaler = _fit_scaler(cfg, X, y, rng)
        Xn = (X - scaler.feature_shift) / scaler.feature_scale
        yn = (y - scaler.label_shift) / scaler.label_scale
        has_validation = X_val is not None and y_val is not None and len(y_val) > 0
        if has_validation:
            Xe = (np.asarray(X_val, dtype=np.float64) - scaler.feature_shift) / scaler.feature_scale
            ye_raw = np.asarray(y_val, dtype=np.float64)
        else:
            Xe, ye_raw = Xn, y
        ye = (ye_raw - scaler.label_shift) / scaler.label_scale

        candidates = make_candidates(cfg, y, rng)
        M = len(candidates)
        lr0 = np.array([c.learning_rate for c in candidates])
        wd = np.array([c.wd for c in candidates])
        l1 = np.array([c.l1 for c in candidates])
        pos_weight = np.array([c.positive_example_weight_mult for c in candidates])
        bias_lr_mult = cfg.bias_lr_mult if cfg.bias_lr_mult is not None else 1.0
        bias_wd_mult = cfg.bias_wd_mult if cfg.bias_wd_mult is not None else 0.0

        if cfg.init_method == "uniform":
            W = rng.uniform(-cfg.init_scale, cfg.init_scale, size=(d, M))
        else:
            W = rng.normal(0.0, cfg.init_sigma, size=(d, M))
        b = np.full(M, cfg.init_bias if cfg.use_bias else 0.0)
        optimizer = _Optimizer(cfg, (d, M))

        batch = max(1, min(cfg.mini_batch_size, n))
        batches_per_epoch = math.ceil(n / batch)
        lr_step = cfg.lr_scheduler_step or batches_per_epoch
        lr_factor = cfg.lr_scheduler_factor if cfg.lr_scheduler_factor is not None else AUTO_LR_FACTOR
        lr_min = cfg.lr_scheduler_minimum_lr if cfg.lr_scheduler_minimum_lr is not None else AUTO_MIN_LR

        es_metric = self._early_stopping_metric(has_validation)
        maximise = es_metric != "objective_loss"
        best_value = np.full(M, -np.inf if maximise else np.inf)
        best_W, best_b = W.copy(), b.copy()
        since_improvement = np.zeros(M, dtype=np.int64)
        alive = np.ones(M, dtype=bool)
        history: list[dict[str, float]] = []
        updates = 0
        epochs_run = 0
        early_stopped = False

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(1, cfg.epochs + 1):
                if should_stop is not None and should_stop():
                    raise TrainingStopped(f"training stopped before epoch {epoch}")
                order = rng.permutation(n)
                epoch_loss = np.zeros(M)
                for batch_index, start in enumerate(range(0, n, batch)):
                    if should_stop is not None and batch_index and batch_index % CHECK_STOP_EVERY_BATCHES == 0 and should_stop():
                        raise TrainingStopped(f"training stopped during epoch {epoch}")
                    rows = order[start : start + batch]
                    Xb, yb = Xn[rows], yn[rows]
                    Z = Xb @ W + b
                    values, G = loss_and_gradient(cfg.loss, Z, yb, self.loss_params)
                    if cfg.is_classifier:
                        sample_weight = np.where(yb[:, None] > 0.5, pos_weight[None, :], 1.0)
                        G = G * sample_weight
                        values = values * sample_weight
                    epoch_loss += values.sum(axis=0)
                    scale = 1.0 / rows.size
                    gW = (Xb.T @ G) * scale + wd * W
                    gb = G.sum(axis=0) * scale + (wd * bias_wd_mult) * b if cfg.use_bias else np.zeros(M)
                    if cfg.use_lr_scheduler:
                        lr = np.maximum(lr0 * lr_factor ** (updates // lr_step), np.minimum(lr_min, lr0))
                    else:
                        lr = lr0
                    optimizer.update(W, b, gW, gb, lr, lr * bias_lr_mult)
                    if l1.any():
                        shrink = lr * l1
                        W = np.sign(W) * np.maximum(np.abs(W) - shrink, 0.0)
                    updates += 1
                epochs_run = epoch

                finite = np.isfinite(W).all(axis=0) & np.isfinite(b)
                newly_dead = alive & ~finite
                if newly_dead.any():
                    alive &= finite
                    W[:, newly_dead] = 0.0
                    b[newly_dead] = 0.0
                    lr0 = np.where(newly_dead, 0.0, lr0)
                    optimizer.reset(newly_dead)
                if not alive.any():
                    raise TrainingDiverged(
                        f"all {M} models diverged (non-finite weights) in epoch {epoch}"
                    )

                Ze = Xe @ W + b
                eval_loss = objective_loss(cfg.loss, Ze, ye, self.loss_params)
                if maximise:
                    _, value = self._criterion_values(_scores(cfg, Ze), ye_raw)
                else:
                    value = eval_loss
                value = np.where(alive & np.isfinite(value), value, -np.inf if maximise else np.inf)
                if maximise:
                    better = value > best_value
                    gain = (value - best_value) / np.maximum(np.abs(best_value), 1e-12)
                else:
                    better = value < best_value
                    gain = (best_value - value) / np.maximum(np.abs(best_value), 1e-12)
                significant = better & (~np.isfinite(best_value) | (gain >= cfg.early_stopping_tolerance))
                best_W[:, better] = W[:, better]
                best_b[better] = b[better]
                best_value = np.where(better, value, best_value)
                since_improvement = np.where(significant, 0, since_improvement + 1)

                train_loss = epoch_loss / n
                leader = int(np.argmin(np.where(alive, eval_loss, np.inf)))
                record = {
                    "epoch": float(epoch),
                    "train_objective_loss": float(train_loss[leader]),
                    f"{'validation' if has_validation else 'train'}_objective_loss": float(eval_loss[leader]),
                }
                history.append(record)
                log(f"#quality_metric: host=algo-1, epoch={epoch}, train objective_loss <loss>={train_loss[leader]:.6g}")
                if has_validation:
                    log(f"#quality_metric: host=algo-1, epoch={epoch}, validation objective_loss <loss>={eval_loss[leader]:.6g}")
                if epoch < cfg.epochs and np.all(since_improvement[alive] >= cfg.early_stopping_patience):
                    early_stopped = True
                    log(f"Early stop condition met. Stopping training after epoch {epoch}.")
                    break

            selected, metric_name, metric_value, threshold = self._select(
                best_W, best_b, alive, Xe, ye, ye_raw, has_validation
            )

        chosen = candidates[selected]
        names = self.feature_names or [f"feature_{i + 1}" for i in range(d)]
        model = LinearModel(
            predictor_type=cfg.predictor_type,
            feature_dim=d,
            feature_names=tuple(names),
            weights=best_W[:, selected].copy(),
            bias=float(best_b[selected]),
            feature_shift=scaler.feature_shift,
            feature_scale=scaler.feature_scale,
            label_shift=scaler.label_shift,
            label_scale=scaler.label_scale,
            loss=cfg.loss,
            threshold=threshold,
            training={
                "selected_model": chosen.as_dict(),
                "num_models": M,
                "epochs_run": epochs_run,
                "early_stopped": early_stopped,
                "selection_metric": metric_name,
                "seed": self.seed,
                "optimizer": cfg.optimizer,
                "mini_batch_size": batch,
            },
        )
        log(
            f"Selected model {selected} of {M} (learning_rate={chosen.learning_rate:.4g}, wd={chosen.wd:.3g}, "
            f"l1={chosen.l1:.3g}) by {metric_name}={metric_value:.6g}"
        )
        return FitResult(
            model=model,
            selected=chosen,
            candidates=candidates,
            epochs_run=epochs_run,
            early_stopped=early_stopped,
            diverged=[int(i) for i in np.flatnonzero(~alive)],
            selection_metric=metric_name,
            selection_value=float(metric_value),
            history=history,
        )

    def _select(
        self,
        W: np.ndarray,
        b: np.ndarray,
        alive: np.ndarray,
        Xe: np.ndarray,
        ye: np.ndarray,
        ye_raw: np.ndarray,
        has_validation: bool,
    ) -> tuple[int, str, float, float | None]:
        """Pick the best candidate; classifiers are compared after threshold calibration."""
        cfg = self.config
        Ze = Xe @ W + b
        losses = objective_loss(cfg.loss, Ze, ye, self.loss_params)
        losses = np.where(alive & np.isfinite(losses), losses, np.inf)
        channel = "validation" if has_validation else "train"
        if not cfg.is_classifier or cfg.binary_classifier_model_selection_criteria == "loss_function":
            selected = int(np.argmin(losses))  # first index on ties
            threshold = _default_threshold(cfg) if cfg.is_classifier else None
            return selected, f"{channel}:objective_loss", float(losses[selected]), threshold
        thresholds, values = self._criterion_values(_scores(cfg, Ze), ye_raw)
        values = np.where(alive, values, -np.inf)
        # Best criterion value; ties broken by lower loss, then by lower index.
        order = np.lexsort((np.arange(values.size), losses, -values))
        selected = int(order[0])
        name = f"{channel}:{cfg.binary_classifier_model_selection_criteria}"
        return selected, name, float(values[selected]), float(thresholds[selected])


def raw_output(model: LinearModel, X: np.ndarray) -> np.ndarray:
    """The model's linear output before any link function: the margin for classifiers, the
    prediction (in label units) for regressors."""
    return np.asarray(X, dtype=np.float64) @ model.effective_weights + model.effective_bias


def describe(result: FitResult) -> dict[str, Any]:
    """A JSON-friendly summary of a fit for reports."""
    return {
        "selected_model": result.selected.as_dict(),
        "num_models": len(result.candidates),
        "epochs_run": result.epochs_run,
        "early_stopped": result.early_stopped,
        "diverged_models": result.diverged,
        "selection_metric": result.selection_metric,
        "selection_value": result.selection_value,
    }
