"""SageMaker XGBoost's hyperparameters: names, parsing, ranges and dependency rules of its container.

Follows aws/sagemaker-xgboost-container (`algorithm_mode/hyperparameter_validation.py` and the
toolkit's `hyperparameter_validation.py`): the same names and aliases (`learning_rate` -> `eta`,
...), the same order of checks (aliases, required, parse, range, dependencies) and the same
messages ("Missing required hyperparameter: num_round", "Extraneous hyperparameter found: ...",
"Hyperparameter eta: 2.0 is not in [0, 1]"), so a FailureReason reads as on AWS. Hyperparameter
values arrive as strings (CreateTrainingJob's map); the result holds typed values ready for
`xgboost.train`. Python's `eval` (which the container uses for tuples) is never used here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, Mapping

MAXIMIZE_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
    "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
)
MINIMIZE_METRICS = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
)
OBJECTIVES = (
    "aft_loss_distribution", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
    "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear",
    "reg:squarederror", "reg:logistic", "reg:gamma", "reg:pseudohubererror", "reg:squaredlogerror",
    "reg:absoluteerror", "reg:tweedie", "survival:aft", "survival:cox",
)
TUNING_METRICS = tuple(f"validation:{m}" for m in MAXIMIZE_METRICS + MINIMIZE_METRICS)
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


class HyperparameterError(ValueError):
    """A user error in the hyperparameters; the message is the container's (FailureReason after 'ClientError: ')."""


@dataclass(frozen=True)
class Interval:
    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: Any) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        low = f"({self.min_open}, " if self.min_open is not None else f"[{self.min_closed}, " if self.min_closed is not None else "(-inf, "
        high = f"{self.max_open})" if self.max_open is not None else f"{self.max_closed}]" if self.max_closed is not None else "+inf)"
        return low + high


def _parse_int(value: Any) -> int:
    return int(value)


def _parse_float(value: Any) -> float:
    return float(value)


def _parse_str(value: Any) -> str:
    return str(value)


def _parse_list(value: Any) -> list[str]:
    return str(value).split(",")


def _parse_literal(value: Any) -> Any:
    """Tuples and nested lists (`(1,-1,0)`, `[[0,1],[2,3]]`) as Python literals, never `eval`."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (SyntaxError, ValueError) as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    parse: Callable[[Any], Any]
    range: Any = None  # Interval, sequence of allowed values, or a predicate
    kind: str = "scalar"  # scalar | list | tuple | nested
    required: bool = False
    depends_on: tuple[str, ...] = ()
    check: Callable[[Any, dict[str, Any]], None] | None = None

    def validate_range(self, value: Any) -> None:
        if self.range is None:
            return
        if self.kind == "list":
            if callable(self.range):
                bad = [v for v in value if not self.range(v)]
            else:
                bad = [v for v in value if v not in self.range]
            if bad:
                shown = _range_text(self.range)
                raise HyperparameterError(f"Hyperparameter {self.name}: value {value} not in range {shown}")
            return
        if self.kind == "tuple":
            if any(element not in self.range for element in value):
                raise HyperparameterError(f"Hyperparameter {self.name}: value {value} not in range {list(self.range)}")
            return
        if self.kind == "nested":
            if any(element not in self.range for outer in value for element in outer):
                raise HyperparameterError(f"Hyperparameter {self.name}: value {value} not in range {self.range}")
            return
        ok = self.range(value) if callable(self.range) else value in self.range
        if not ok:
            raise HyperparameterError(f"Hyperparameter {self.name}: {value} is not in {_range_text(self.range)}")


def _range_text(allowed: Any) -> str:
    if isinstance(allowed, Interval):
        return str(allowed)
    if callable(allowed):
        return getattr(allowed, "shown", "the supported values")
    return str(list(allowed))


def _one_of(values: tuple[str, ...]) -> Callable[[Any], bool]:
    def allowed(value: Any) -> bool:
        return value in values

    allowed.shown = str(list(values))  # type: ignore[attr-defined]
    return allowed


def _eval_metric_allowed(metric: str) -> bool:
    if "<function" in metric:
        raise HyperparameterError(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        name, threshold = (part.strip() for part in metric.split("@", 1))
        if name not in ("error", "ndcg", "map"):
            raise HyperparameterError(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold should "
                "be one of these options: 'error', 'ndcg', 'map'."
            )
        try:
            float(threshold)
        except ValueError:
            raise HyperparameterError(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in MAXIMIZE_METRICS + MINIMIZE_METRICS


_eval_metric_allowed.shown = str(list(MAXIMIZE_METRICS + MINIMIZE_METRICS))  # type: ignore[attr-defined]


def _check_objective(value: Any, deps: dict[str, Any]) -> None:
    num_class = deps.get("num_class")
    if value in ("multi:softmax", "multi:softprob") and num_class is None:
        raise HyperparameterError("Require input for parameter 'num_class' for multi-classification")


def _check_eval_metric(value: Any, deps: dict[str, Any]) -> None:
    objective = deps.get("objective") or "reg:squarederror"
    if "auc" in value and not objective.startswith(("binary:", "rank:")):
        raise HyperparameterError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in value and objective != "survival:aft":
        raise HyperparameterError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _check_monotone(value: Any, deps: dict[str, Any]) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist"):
        raise HyperparameterError(
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."
        )


def _check_interaction(value: Any, deps: dict[str, Any]) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist", "approx"):
        raise HyperparameterError(
            "interaction_constraints can be used only when the tree_method parameter is set to "
            "either 'exact', 'hist' or 'approx'."
        )


_TREE_UPDATERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune", "grow_quantile_histmaker")
_TREE_BUILDERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_quantile_histmaker")


def _check_updater(value: Any, deps: dict[str, Any]) -> None:
    if deps.get("booster") == "gblinear":
        if not (len(value) == 1 and value[0] in ("shotgun", "coord_descent")):
            raise HyperparameterError("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
    elif deps.get("process_type") == "update":
        if not all(x in ("refresh", "prune") for x in value):
            raise HyperparameterError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        if not all(x in _TREE_UPDATERS for x in value):
            raise HyperparameterError(
                "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', 'grow_histmaker', "
                "'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', 'prune', 'shortgun', 'coord_descent'."
            )
        if sum(1 for x in value if x in _TREE_BUILDERS) > 1:
            raise HyperparameterError(
                "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
                "'distcol', 'grow_histmaker', 'grow_skmaker'"
            )


def _i(name: str, interval: Interval, **kw: Any) -> Hyperparameter:
    return Hyperparameter(name, _parse_int, interval, **kw)


def _f(name: str, interval: Interval, **kw: Any) -> Hyperparameter:
    return Hyperparameter(name, _parse_float, interval, **kw)


def _c(name: str, values: tuple[str, ...], **kw: Any) -> Hyperparameter:
    return Hyperparameter(name, _parse_str, _one_of(values), **kw)


_UNIT = Interval(min_closed=0, max_closed=1)
_POSITIVE_UNIT = Interval(min_open=0, max_closed=1)
_NON_NEGATIVE = Interval(min_closed=0)
_BOOL = ("true", "false")

SPECS: dict[str, Hyperparameter] = {
    spec.name: spec
    for spec in (
        _i("num_round", Interval(min_closed=1), required=True),
        _i("csv_weights", Interval(min_closed=0, max_closed=1)),
        _i("early_stopping_rounds", Interval(min_closed=1)),
        _c("booster", ("gbtree", "gblinear", "dart")),
        _i("verbosity", Interval(min_closed=0, max_closed=3)),
        _i("nthread", Interval(min_closed=1)),
        _f("eta", _UNIT),
        _f("gamma", _NON_NEGATIVE),
        _i("max_depth", _NON_NEGATIVE),
        _f("min_child_weight", _NON_NEGATIVE),
        _f("max_delta_step", _NON_NEGATIVE),
        _f("subsample", _POSITIVE_UNIT),
        _f("colsample_bytree", _POSITIVE_UNIT),
        _f("colsample_bylevel", _POSITIVE_UNIT),
        _f("colsample_bynode", _POSITIVE_UNIT),
        _f("lambda", _NON_NEGATIVE),
        _f("alpha", _NON_NEGATIVE),
        _c("tree_method", ("auto", "exact", "approx", "hist", "gpu_hist")),
        _f("sketch_eps", Interval(min_open=0, max_open=1)),
        _f("scale_pos_weight", Interval(min_open=0)),
        Hyperparameter(
            "updater", _parse_list, _TREE_UPDATERS + ("shotgun", "coord_descent"), kind="list",
            depends_on=("booster", "process_type"), check=_check_updater,
        ),
        _c("dsplit", ("row", "col")),
        _i("refresh_leaf", _UNIT),
        _c("process_type", ("default", "update")),
        _c("grow_policy", ("depthwise", "lossguide")),
        _i("max_leaves", _NON_NEGATIVE),
        _i("max_bin", _NON_NEGATIVE),
        _c("predictor", ("auto", "cpu_predictor", "gpu_predictor")),
        Hyperparameter(
            "monotone_constraints", _parse_literal, (-1, 0, 1), kind="tuple",
            depends_on=("tree_method",), check=_check_monotone,
        ),
        Hyperparameter(
            "interaction_constraints", _parse_literal, Interval(min_closed=1), kind="nested",
            depends_on=("tree_method",), check=_check_interaction,
        ),
        _c("sample_type", ("uniform", "weighted")),
        _c("normalize_type", ("tree", "forest")),
        _f("rate_drop", _UNIT),
        _i("one_drop", _UNIT),
        _f("skip_drop", _UNIT),
        _f("lambda_bias", _UNIT),
        _f("tweedie_variance_power", Interval(min_open=1, max_open=2)),
        Hyperparameter("objective", _parse_str, _one_of(OBJECTIVES), depends_on=("num_class",), check=_check_objective),
        _i("num_class", Interval(min_closed=2)),
        _f("base_score", _NON_NEGATIVE),
        _i("_kfold", Interval(min_closed=2)),
        _i("_num_cv_round", Interval(min_closed=1)),
        _c("_tuning_objective_metric", TUNING_METRICS),
        Hyperparameter(
            "eval_metric", _parse_list, _eval_metric_allowed, kind="list",
            depends_on=("objective",), check=_check_eval_metric,
        ),
        _i("seed", Interval(min_open=-(2**31), max_open=2**31 - 1)),
        _i("num_parallel_tree", Interval(min_closed=1)),
        _c("save_model_on_termination", _BOOL),
        _c("aft_loss_distribution", ("normal", "logistic", "extreme")),
        _f("aft_loss_distribution_scale", _NON_NEGATIVE),
        _c("deterministic_histogram", _BOOL),
        _c("sampling_method", ("uniform", "gradient_based")),
        _i("prob_buffer_row", Interval(min_open=1.0)),
        _c("use_dask_gpu_training", _BOOL),
    )
}


def _dependency_order(names: list[str]) -> list[str]:
    """Every hyperparameter after the ones its rule depends on (the container's topological sort)."""
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        for dep in SPECS[name].depends_on:
            if dep in names and dep not in seen:
                visit(dep)
        ordered.append(name)

    for name in names:
        if name not in seen:
            visit(name)
    return ordered


def validate(user: Mapping[str, Any]) -> dict[str, Any]:
    """Typed, checked hyperparameters; raises HyperparameterError with the container's message."""
    values = {ALIASES.get(str(k), str(k)): v for k, v in (user or {}).items()}
    for name, spec in SPECS.items():
        if spec.required and name not in values:
            raise HyperparameterError(f"Missing required hyperparameter: {name}")
    parsed: dict[str, Any] = {}
    for name, raw in values.items():
        spec = SPECS.get(name)
        if spec is None:
            raise HyperparameterError(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = spec.parse(raw)
        except (ValueError, TypeError) as exc:
            raise HyperparameterError(
                f"Hyperparameter {name}: could not parse value (caused by {type(exc).__name__})"
            ) from None
    for name, value in parsed.items():
        try:
            SPECS[name].validate_range(value)
        except HyperparameterError:
            raise
        except TypeError:
            raise HyperparameterError(f"Hyperparameter {name}: {value} is not in {_range_text(SPECS[name].range)}") from None
    checked: dict[str, Any] = {}
    for name in _dependency_order(list(parsed)):
        spec = SPECS[name]
        if spec.check is not None:
            spec.check(parsed[name], {d: checked[d] for d in spec.depends_on if d in checked})
        checked[name] = parsed[name]
    return {name: parsed[name] for name in parsed}


# What `sagestack deploy --algorithm xgboost` trains the breast-cancer classifier with: a probability
# (binary:logistic) the Lambda thresholds at 0.5, shallow trees for 455 rows, early stopping on the
# validation channel's logloss. `num_round` is the container's only required hyperparameter.
DEFAULT_HYPERPARAMETERS: dict[str, str] = {
    "num_round": "200",
    "objective": "binary:logistic",
    "max_depth": "3",
    "eta": "0.1",
    "subsample": "0.9",
    "eval_metric": "auc,logloss",
    "early_stopping_rounds": "20",
    "seed": "0",
}
