"""Linear Learner hyperparameters: SageMaker's names, string values, defaults and error wording.

CreateTrainingJob carries hyperparameters as a map of strings, so everything here parses
strings. The table below is SageMaker's documented Linear Learner hyperparameter set
("Linear learner hyperparameters", SageMaker developer guide) with its defaults; every
documented name is accepted so that a job valid on AWS is valid here.

Validation messages reuse the wording of SageMaker's first-party algorithm containers,
whose JSON-schema validator reports e.g.
  "No value(s) were specified for 'predictor_type' which are required hyperparameter(s)",
  "Additional hyperparameters are not allowed ('foo' was unexpected)",
  "The value 'x' is not valid for the 'loss' hyperparameter which accepts one of the following: 'auto', ...".
`training.job` wraps them as the training job's FailureReason: "ClientError: <message> (caused by ValidationError)".

`DEFAULT_HYPERPARAMETERS` is the kit's own job (what `sagestack train` and deploy send): the
only place the project's choices live.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract.dataset import FEATURE_COUNT

# The kit's own training job, exactly as deploy sends it in CreateTrainingJob.HyperParameters
# (valid for AWS's Linear Learner too). SageMaker defaults everywhere else. Each choice was
# measured with stratified 10-fold CV (`python -m bench training`, README):
# - predictor_type=binary_classifier: the right model for a B/M label (docs/ARCHITECTURE.md, "The worked example"); required.
# - feature_dim=30, mini_batch_size=100: as the original notebook. The default 1000 exceeds the
#   455 training rows and leaves one update per epoch.
# - positive_example_weight_mult=balanced: a malignant row (37% of the data) weighs as much in
#   the loss as the benign majority; a missed cancer is the costly error. Raises malignant
#   recall from ~0.95 to ~0.965 at the same accuracy.
# - binary_classifier_model_selection_criteria=loss_function: select the candidate with the
#   lowest validation loss and keep the 0.5 threshold. With 57 validation rows most candidates
#   tie on accuracy, and calibrating the threshold for accuracy moves it on one or two patients
#   (CV accuracy ~0.962 with the default criterion vs ~0.973).
# - optimizer=rmsprop: its candidates generalise best here (CV accuracy ~0.976 vs ~0.973 adam).
DEFAULT_HYPERPARAMETERS: dict[str, str] = {
    "predictor_type": "binary_classifier",
    "feature_dim": str(FEATURE_COUNT),
    "mini_batch_size": "100",
    "positive_example_weight_mult": "balanced",
    "binary_classifier_model_selection_criteria": "loss_function",
    "optimizer": "rmsprop",
}

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
SUPPORTED_PREDICTOR_TYPES = ("binary_classifier", "regressor")
BINARY_LOSSES = ("auto", "logistic", "hinge_loss")
REGRESSION_LOSSES = (
    "auto",
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
)
ALL_LOSSES = (
    "auto",
    "logistic",
    "squared_loss",
    "absolute_loss",
    "hinge_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
    "softmax_loss",
)
SELECTION_CRITERIA = ("accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision", "loss_function")
# Hyperparameters SageMaker itself adds to built-in algorithm jobs (e.g. tuning jobs); accepted and ignored.
INTERNAL_HYPERPARAMETERS = frozenset({"_tuning_objective_metric", "_kvstore", "_num_gpus", "_num_kv_servers", "_log_level"})
# sagestack trains all candidates in one process; bound them so a typo cannot exhaust memory.
MAX_NUM_MODELS = 1024

_INT_RE = re.compile(r"^[+]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


class HyperparameterError(ValueError):
    """An unknown name or an invalid value; the message is SageMaker's wording for the same mistake."""

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class _Spec:
    """One hyperparameter: its kind ("enum", "int", "float", "bool"), bounds, and extra words."""

    kind: str
    default: str | None
    choices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # literal alternatives to a number, e.g. ("auto",) or ("balanced", "auto")
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False

    def describe_number(self) -> str:
        article = "an integer" if self.kind == "int" else "a number"
        parts = []
        if self.minimum is not None:
            parts.append(f"greater than {'' if self.exclusive_min else 'or equal to '}{_fmt(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"less than {'' if self.exclusive_max else 'or equal to '}{_fmt(self.maximum)}")
        return article + (" " + " and ".join(parts) if parts else "")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _int(minimum: int = 1, default: str | None = None, words: tuple[str, ...] = (), maximum: int | None = None) -> _Spec:
    return _Spec("int", default, words=words, minimum=minimum, maximum=maximum)


def _float(
    default: str | None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_min: bool = False,
    exclusive_max: bool = False,
    words: tuple[str, ...] = (),
) -> _Spec:
    return _Spec("float", default, words=words, minimum=minimum, maximum=maximum, exclusive_min=exclusive_min, exclusive_max=exclusive_max)


_AUTO = ("auto",)
_TRISTATE = ("auto", "true", "false")

SPECS: dict[str, _Spec] = {
    "feature_dim": _int(1, "auto", _AUTO),
    "num_classes": _int(3, None, maximum=1_000_000),
    "predictor_type": _Spec("enum", None, PREDICTOR_TYPES),
    "accuracy_top_k": _int(1, "3"),
    "balance_multiclass_weights": _Spec("bool", "false"),
    "beta_1": _float("auto", 0.0, 1.0, True, True, _AUTO),
    "beta_2": _float("auto", 0.0, 1.0, True, True, _AUTO),
    "bias_lr_mult": _float("auto", 0.0, None, True, words=_AUTO),
    "bias_wd_mult": _float("auto", 0.0, None, words=_AUTO),
    "binary_classifier_model_selection_criteria": _Spec("enum", "accuracy", SELECTION_CRITERIA),
    "early_stopping_patience": _int(1, "3"),
    "early_stopping_tolerance": _float("0.001", 0.0, None, True),
    "epochs": _int(1, "15"),
    "f_beta": _float("1.0", 0.0, None, True),
    "huber_delta": _float("1.0", 0.0, None, True),
    "init_bias": _float("0"),
    "init_method": _Spec("enum", "uniform", ("uniform", "normal")),
    "init_scale": _float("0.07", 0.0, None, True),
    "init_sigma": _float("0.01", 0.0, None, True),
    "l1": _float("auto", 0.0, None, words=_AUTO),
    "learning_rate": _float("auto", 0.0, None, True, words=_AUTO),
    "loss": _Spec("enum", "auto", ALL_LOSSES),
    "loss_insensitivity": _float("0.01", 0.0, None, True),
    "lr_scheduler_factor": _float("auto", 0.0, 1.0, True, True, _AUTO),
    "lr_scheduler_minimum_lr": _float("auto", 0.0, None, True, words=_AUTO),
    "lr_scheduler_step": _int(1, "auto", _AUTO),
    "margin": _float("1.0", 0.0, None, True),
    "mini_batch_size": _int(1, "1000"),
    "momentum": _float("auto", 0.0, 1.0, False, True, _AUTO),
    "normalize_data": _Spec("enum", "true", _TRISTATE),
    "normalize_label": _Spec("enum", "auto", _TRISTATE),
    "num_calibration_samples": _int(1, "auto", _AUTO),
    "num_models": _int(1, "auto", _AUTO),
    "num_point_for_scaler": _int(1, "10000"),
    "optimizer": _Spec("enum", "auto", ("auto", "sgd", "adam", "rmsprop")),
    "positive_example_weight_mult": _float("1.0", 0.0, None, True, words=("balanced", "auto")),
    "quantile": _float("0.5", 0.0, 1.0, True, True),
    "target_precision": _float("0.8", 0.0, 1.0, True),
    "target_recall": _float("0.8", 0.0, 1.0, True),
    "unbias_data": _Spec("enum", "auto", _TRISTATE),
    "unbias_label": _Spec("enum", "auto", _TRISTATE),
    "use_bias": _Spec("bool", "true"),
    "use_lr_scheduler": _Spec("bool", "true"),
    "wd": _float("auto", 0.0, None, words=_AUTO),
}
REQUIRED = ("predictor_type",)


@dataclass(frozen=True)
class LinearLearnerConfig:
    """Validated, typed hyperparameters. `None` means "auto" (the trainer decides)."""

    predictor_type: str
    feature_dim: int | None
    loss: str  # resolved: logistic/hinge_loss for classifiers, a regression loss for regressors
    optimizer: str  # resolved: sgd/adam/rmsprop
    mini_batch_size: int
    epochs: int
    learning_rate: float | None
    l1: float | None
    wd: float | None
    momentum: float | None
    beta_1: float | None
    beta_2: float | None
    bias_lr_mult: float | None
    bias_wd_mult: float | None
    use_bias: bool
    normalize_data: bool
    normalize_label: bool
    unbias_data: bool
    unbias_label: bool
    num_point_for_scaler: int
    num_models: int | None
    num_calibration_samples: int | None
    binary_classifier_model_selection_criteria: str
    target_recall: float
    target_precision: float
    f_beta: float
    positive_example_weight_mult: float | str  # a number, "balanced" or "auto"
    early_stopping_patience: int
    early_stopping_tolerance: float
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    margin: float
    huber_delta: float
    loss_insensitivity: float
    quantile: float
    use_lr_scheduler: bool
    lr_scheduler_step: int | None
    lr_scheduler_factor: float | None
    lr_scheduler_minimum_lr: float | None
    # Exactly what the caller passed (validated strings), and which names were explicit.
    given: Mapping[str, str] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()

    @property
    def is_classifier(self) -> bool:
        return self.predictor_type == "binary_classifier"


def _as_string(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    raise HyperparameterError(
        f"The value '{value}' is not valid for the '{name}' hyperparameter: hyperparameter values must be strings", name
    )


def _invalid(name: str, value: str, spec: _Spec) -> HyperparameterError:
    if spec.kind == "enum":
        allowed = ", ".join(f"'{c}'" for c in spec.choices)
        return HyperparameterError(
            f"The value '{value}' is not valid for the '{name}' hyperparameter which accepts one of the following: {allowed}",
            name,
        )
    if spec.kind == "bool":
        return HyperparameterError(
            f"The value '{value}' is not valid for the '{name}' hyperparameter which accepts one of the following: 'true', 'false'",
            name,
        )
    alternatives = [f"'{word}'" for word in spec.words] + [spec.describe_number()]
    if len(alternatives) == 1:
        return HyperparameterError(
            f"The value '{value}' is not valid for the '{name}' hyperparameter which expects {alternatives[0]}", name
        )
    return HyperparameterError(
        f"The value '{value}' is not valid for the '{name}' hyperparameter which expects one of the following: "
        + "; or ".join(alternatives),
        name,
    )


def _parse_value(name: str, value: str, spec: _Spec) -> Any:
    """The typed value: str for enums/words, bool, int or float."""
    if spec.kind == "enum":
        if value in spec.choices:
            return value
        raise _invalid(name, value, spec)
    if spec.kind == "bool":
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise _invalid(name, value, spec)
    if value in spec.words:
        return value
    pattern = _INT_RE if spec.kind == "int" else _FLOAT_RE
    if not pattern.match(value):
        raise _invalid(name, value, spec)
    number: float = int(value) if spec.kind == "int" else float(value)
    if spec.kind == "float" and (number != number or number in (float("inf"), float("-inf"))):
        raise _invalid(name, value, spec)
    if spec.minimum is not None and (number < spec.minimum or (spec.exclusive_min and number == spec.minimum)):
        raise _invalid(name, value, spec)
    if spec.maximum is not None and (number > spec.maximum or (spec.exclusive_max and number == spec.maximum)):
        raise _invalid(name, value, spec)
    return number


def _tristate(value: str, auto: bool) -> bool:
    return auto if value == "auto" else value == "true"


def _auto(value: Any) -> Any:
    return None if value == "auto" else value


def parse_hyperparameters(raw: Mapping[str, Any]) -> LinearLearnerConfig:
    """Validate CreateTrainingJob-style hyperparameters and resolve SageMaker's defaults."""
    if not isinstance(raw, Mapping):
        raise HyperparameterError("Hyperparameters must be a map of names to string values")
    given = {str(name): _as_string(str(name), value) for name, value in raw.items()}
    unknown = sorted(name for name in given if name not in SPECS and name not in INTERNAL_HYPERPARAMETERS)
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise HyperparameterError(f"Additional hyperparameters are not allowed ({listed} {verb} unexpected)", unknown[0])
    missing = [name for name in REQUIRED if name not in given]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        raise HyperparameterError(f"No value(s) were specified for {listed} which are required hyperparameter(s)", missing[0])
    values: dict[str, Any] = {}
    for name, spec in SPECS.items():
        if name in given:
            values[name] = _parse_value(name, given[name], spec)
        elif spec.default is not None:
            values[name] = _parse_value(name, spec.default, spec)
        else:
            values[name] = None

    predictor_type = values["predictor_type"]
    if predictor_type == "multiclass_classifier":
        if values["num_classes"] is None:
            raise HyperparameterError(
                "No value(s) were specified for 'num_classes' which are required hyperparameter(s)", "num_classes"
            )
        raise HyperparameterError(
            "The value 'multiclass_classifier' is valid for the 'predictor_type' hyperparameter on SageMaker, but "
            "sagestack's local Linear Learner trains only 'binary_classifier' and 'regressor'; "
            "run multiclass jobs against AWS",
            "predictor_type",
        )
    is_classifier = predictor_type == "binary_classifier"
    allowed_losses = BINARY_LOSSES if is_classifier else REGRESSION_LOSSES
    loss = values["loss"]
    if loss not in allowed_losses:
        allowed = ", ".join(f"'{c}'" for c in allowed_losses)
        raise HyperparameterError(
            f"The value '{loss}' is not valid for the 'loss' hyperparameter when predictor_type is '{predictor_type}'; "
            f"it accepts one of the following: {allowed}",
            "loss",
        )
    if loss == "auto":
        loss = "logistic" if is_classifier else "squared_loss"
    optimizer = "adam" if values["optimizer"] == "auto" else values["optimizer"]
    num_models = _auto(values["num_models"])
    if num_models is not None and num_models > MAX_NUM_MODELS:
        raise HyperparameterError(
            f"The value '{given['num_models']}' is not valid for the 'num_models' hyperparameter: sagestack trains "
            f"at most {MAX_NUM_MODELS} models in parallel; use 'auto' or a smaller integer",
            "num_models",
        )
    use_bias = values["use_bias"]
    return LinearLearnerConfig(
        predictor_type=predictor_type,
        feature_dim=_auto(values["feature_dim"]),
        loss=loss,
        optimizer=optimizer,
        mini_batch_size=values["mini_batch_size"],
        epochs=values["epochs"],
        learning_rate=_auto(values["learning_rate"]),
        l1=_auto(values["l1"]),
        wd=_auto(values["wd"]),
        momentum=_auto(values["momentum"]),
        beta_1=_auto(values["beta_1"]),
        beta_2=_auto(values["beta_2"]),
        bias_lr_mult=_auto(values["bias_lr_mult"]),
        bias_wd_mult=_auto(values["bias_wd_mult"]),
        use_bias=use_bias,
        normalize_data=_tristate(values["normalize_data"], True),
        # Label normalisation applies to regression only; Linear Learner ignores it for classifiers.
        normalize_label=(not is_classifier) and _tristate(values["normalize_label"], True),
        unbias_data=_tristate(values["unbias_data"], use_bias),
        unbias_label=(not is_classifier) and _tristate(values["unbias_label"], use_bias),
        num_point_for_scaler=values["num_point_for_scaler"],
        num_models=num_models,
        num_calibration_samples=_auto(values["num_calibration_samples"]),
        binary_classifier_model_selection_criteria=values["binary_classifier_model_selection_criteria"],
        target_recall=values["target_recall"],
        target_precision=values["target_precision"],
        f_beta=values["f_beta"],
        positive_example_weight_mult=values["positive_example_weight_mult"],
        early_stopping_patience=values["early_stopping_patience"],
        early_stopping_tolerance=values["early_stopping_tolerance"],
        init_method=values["init_method"],
        init_scale=values["init_scale"],
        init_sigma=values["init_sigma"],
        init_bias=values["init_bias"],
        margin=values["margin"],
        huber_delta=values["huber_delta"],
        loss_insensitivity=values["loss_insensitivity"],
        quantile=values["quantile"],
        use_lr_scheduler=values["use_lr_scheduler"],
        lr_scheduler_step=_auto(values["lr_scheduler_step"]),
        lr_scheduler_factor=_auto(values["lr_scheduler_factor"]),
        lr_scheduler_minimum_lr=_auto(values["lr_scheduler_minimum_lr"]),
        given=dict(given),
        explicit=frozenset(given),
    )
