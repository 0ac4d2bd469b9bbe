"""Linear Learner hyperparameters: SageMaker names, string values, defaults and SageMaker's error wording."""

from __future__ import annotations

import pytest

from training.hyperparameters import (
    DEFAULT_HYPERPARAMETERS,
    MAX_NUM_MODELS,
    SPECS,
    HyperparameterError,
    parse_hyperparameters,
)

BINARY = {"predictor_type": "binary_classifier"}


def test_sagemaker_documented_defaults():
    config = parse_hyperparameters(BINARY)
    assert config.feature_dim is None  # auto
    assert config.mini_batch_size == 1000
    assert config.epochs == 15
    assert config.learning_rate is None and config.wd is None and config.l1 is None  # auto
    assert config.num_models is None  # auto
    assert config.loss == "logistic"  # auto -> logistic for binary_classifier
    assert config.optimizer == "adam"  # auto -> adam
    assert config.normalize_data is True
    assert config.normalize_label is False  # auto: classifiers never normalise labels
    assert config.binary_classifier_model_selection_criteria == "accuracy"
    assert config.early_stopping_patience == 3
    assert config.early_stopping_tolerance == 0.001
    assert config.positive_example_weight_mult == 1.0
    assert config.target_recall == 0.8 and config.target_precision == 0.8
    assert config.use_bias is True and config.use_lr_scheduler is True
    assert config.explicit == frozenset({"predictor_type"})


def test_regressor_defaults_resolve_to_squared_loss_and_label_normalisation():
    config = parse_hyperparameters({"predictor_type": "regressor"})
    assert config.loss == "squared_loss"
    assert config.normalize_label is True and config.unbias_label is True


def test_kit_defaults_are_strings_and_valid():
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in DEFAULT_HYPERPARAMETERS.items())
    config = parse_hyperparameters(DEFAULT_HYPERPARAMETERS)
    assert config.predictor_type == "binary_classifier"
    assert config.feature_dim == 30
    assert dict(config.given) == DEFAULT_HYPERPARAMETERS


def test_every_documented_hyperparameter_is_accepted_with_its_default():
    raw = {name: spec.default for name, spec in SPECS.items() if spec.default is not None}
    raw["predictor_type"] = "binary_classifier"
    assert {"feature_dim", "predictor_type", "mini_batch_size", "epochs", "learning_rate", "l1", "wd", "loss",
            "normalize_data", "normalize_label", "num_models", "binary_classifier_model_selection_criteria",
            "target_recall", "target_precision", "positive_example_weight_mult", "early_stopping_patience",
            "early_stopping_tolerance"} <= set(SPECS)
    parse_hyperparameters(raw)


def test_values_parse_from_strings():
    config = parse_hyperparameters({
        **BINARY,
        "feature_dim": "30",
        "mini_batch_size": "100",
        "epochs": "20",
        "learning_rate": "1e-3",
        "wd": "0.01",
        "l1": "0",
        "num_models": "8",
        "normalize_data": "false",
        "positive_example_weight_mult": "balanced",
        "loss": "hinge_loss",
        "target_recall": "1",
    })
    assert (config.feature_dim, config.mini_batch_size, config.epochs, config.num_models) == (30, 100, 20, 8)
    assert (config.learning_rate, config.wd, config.l1) == (0.001, 0.01, 0.0)
    assert config.normalize_data is False
    assert config.positive_example_weight_mult == "balanced"
    assert config.loss == "hinge_loss"
    assert config.target_recall == 1.0


def test_booleans_accept_the_python_sdk_spelling():
    # The SageMaker Python SDK sends str(True) == "True".
    config = parse_hyperparameters({**BINARY, "use_bias": "False", "use_lr_scheduler": "TRUE"})
    assert config.use_bias is False and config.use_lr_scheduler is True


def test_non_string_values_are_converted_like_the_sdk_does():
    config = parse_hyperparameters({"predictor_type": "binary_classifier", "epochs": 5, "learning_rate": 0.5, "use_bias": True})
    assert (config.epochs, config.learning_rate, config.use_bias) == (5, 0.5, True)


def test_unknown_names_fail_with_sagemakers_message():
    with pytest.raises(HyperparameterError) as info:
        parse_hyperparameters({**BINARY, "epoch": "10"})
    assert str(info.value) == "Additional hyperparameters are not allowed ('epoch' was unexpected)"
    with pytest.raises(HyperparameterError) as info:
        parse_hyperparameters({**BINARY, "foo": "1", "bar": "2"})
    assert str(info.value) == "Additional hyperparameters are not allowed ('bar', 'foo' were unexpected)"


def test_sagemaker_internal_hyperparameters_are_accepted():
    parse_hyperparameters({**BINARY, "_tuning_objective_metric": "validation:binary_f_beta"})


def test_missing_required_predictor_type():
    with pytest.raises(HyperparameterError) as info:
        parse_hyperparameters({"feature_dim": "30"})
    assert str(info.value) == "No value(s) were specified for 'predictor_type' which are required hyperparameter(s)"


def test_invalid_enum_lists_the_allowed_values():
    with pytest.raises(HyperparameterError) as info:
        parse_hyperparameters({"predictor_type": "binary"})
    assert str(info.value) == (
        "The value 'binary' is not valid for the 'predictor_type' hyperparameter which accepts one of the following: "
        "'binary_classifier', 'multiclass_classifier', 'regressor'"
    )
    with pytest.raises(HyperparameterError, match="'binary_classifier_model_selection_criteria' hyperparameter which accepts"):
        parse_hyperparameters({**BINARY, "binary_classifier_model_selection_criteria": "f1"})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("epochs", "0", "which expects an integer greater than or equal to 1"),
        ("epochs", "ten", "which expects an integer greater than or equal to 1"),
        ("epochs", "1.5", "which expects an integer greater than or equal to 1"),
        ("mini_batch_size", "-5", "which expects an integer greater than or equal to 1"),
        ("learning_rate", "0", "which expects one of the following: 'auto'; or a number greater than 0"),
        ("learning_rate", "fast", "which expects one of the following: 'auto'; or a number greater than 0"),
        ("wd", "-0.1", "which expects one of the following: 'auto'; or a number greater than or equal to 0"),
        ("l1", "nan", "which expects one of the following: 'auto'; or a number greater than or equal to 0"),
        ("target_recall", "1.5", "which expects a number greater than 0 and less than or equal to 1"),
        ("target_precision", "0", "which expects a number greater than 0 and less than or equal to 1"),
        ("positive_example_weight_mult", "heavy", "which expects one of the following: 'balanced'; or 'auto'; or a number greater than 0"),
        ("feature_dim", "0", "which expects one of the following: 'auto'; or an integer greater than or equal to 1"),
        ("early_stopping_tolerance", "0", "which expects a number greater than 0"),
        ("normalize_data", "yes", "which accepts one of the following: 'auto', 'true', 'false'"),
        ("use_bias", "1", "which accepts one of the following: 'true', 'false'"),
        ("num_models", "inf", "which expects one of the following: 'auto'; or an integer greater than or equal to 1"),
    ],
)
def test_invalid_values_say_which_name_and_what_is_allowed(name, value, expected):
    with pytest.raises(HyperparameterError) as info:
        parse_hyperparameters({**BINARY, name: value})
    message = str(info.value)
    assert message.startswith(f"The value '{value}' is not valid for the '{name}' hyperparameter")
    assert expected in message
    assert info.value.name == name


def test_loss_must_fit_the_predictor_type():
    with pytest.raises(HyperparameterError, match="'squared_loss' is not valid for the 'loss' hyperparameter when predictor_type is 'binary_classifier'"):
        parse_hyperparameters({**BINARY, "loss": "squared_loss"})
    with pytest.raises(HyperparameterError, match="'logistic' is not valid .* when predictor_type is 'regressor'"):
        parse_hyperparameters({"predictor_type": "regressor", "loss": "logistic"})
    assert parse_hyperparameters({"predictor_type": "regressor", "loss": "absolute_loss"}).loss == "absolute_loss"


def test_multiclass_is_reported_as_unsupported_locally():
    with pytest.raises(HyperparameterError, match="'num_classes'"):
        parse_hyperparameters({"predictor_type": "multiclass_classifier"})
    with pytest.raises(HyperparameterError, match="trains only 'binary_classifier' and 'regressor'"):
        parse_hyperparameters({"predictor_type": "multiclass_classifier", "num_classes": "3"})


def test_num_models_is_bounded():
    parse_hyperparameters({**BINARY, "num_models": str(MAX_NUM_MODELS)})
    with pytest.raises(HyperparameterError, match=f"at most {MAX_NUM_MODELS}"):
        parse_hyperparameters({**BINARY, "num_models": str(MAX_NUM_MODELS + 1)})


def test_not_a_mapping():
    with pytest.raises(HyperparameterError):
        parse_hyperparameters(["predictor_type"])  # type: ignore[arg-type]
