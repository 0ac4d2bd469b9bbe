"""`model_algo-1`: the zip AWS's built-in Linear Learner puts inside its `model.tar.gz`.

Layout (read from a real artifact, a 513-feature regressor published in GitHub
nschmeller/covid-19-devpost, see docs/ARCHITECTURE.md):

    model.tar.gz -> model_algo-1 (zip, members stored uncompressed, in this order)
        mx-mod-0000.params      MXNet NDArray file: arg:fc0_bias (1, 1), arg:fc0_weight (feature_dim, 1), float32
        mx-mod-symbol.json      data . fc0_weight + fc0_bias -> output op (see training.mxnet_format)
        manifest.json           {"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}
        additional-params.json  {"threshold", "loss_type", "metrics_params", "predictor_type"}

Normalisation is folded into the weights: the graph has no shift/scale nodes. The zip comes from
S3 and is untrusted: member names, kinds, sizes and counts are bounded before anything is read,
and the arrays must be finite with the shapes the graph declares.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from training.mxnet_format import MXNetFormatError, linear_symbol_json, load_ndarrays, parse_linear_symbol, save_ndarrays

ALGO_MEMBER = "model_algo-1"
PARAMS_MEMBER = "mx-mod-0000.params"
SYMBOL_MEMBER = "mx-mod-symbol.json"
MANIFEST_MEMBER = "manifest.json"
ADDITIONAL_PARAMS_MEMBER = "additional-params.json"
MANIFEST = {"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}
REQUIRED_MEMBERS = (PARAMS_MEMBER, SYMBOL_MEMBER, MANIFEST_MEMBER, ADDITIONAL_PARAMS_MEMBER)
# What Linear Learner writes into additional-params.json's metrics_params, in its order.
METRICS_PARAMS = (
    "eps_insensitive_loss_type",
    "class_weights",
    "huber_delta",
    "quantile",
    "loss_insensitivity",
    "positive_example_weight_mult",
    "accuracy_top_k",
    "threshold",
    "f_beta",
    "margin",
)
MAX_ZIP_MEMBERS = 16
MAX_ZIP_MEMBER_BYTES = 16 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 48 * 1024 * 1024
DEFAULT_LOSS = {"binary_classifier": "logistic", "regressor": "squared_loss", "multiclass_classifier": "softmax_loss"}
# Fixed zip timestamp: the same model always gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class AwsArtifactError(ValueError):
    """A `model_algo-1` that cannot be read or written; the message says what is wrong."""


@dataclass(frozen=True)
class AwsLinearModel:
    """The content of `model_algo-1`: float32 weights as MXNet holds them, plus the serving parameters."""

    predictor_type: str
    loss_type: str
    threshold: float
    weights: np.ndarray  # (feature_dim,)
    bias: float
    metrics_params: Mapping[str, Any] = field(default_factory=dict)
    head: str | None = None

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])


def _zip_name_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    if ".." in path.parts or "\\" in name:
        return "escapes the archive with '..'"
    mode = info.external_attr >> 16  # Unix mode when the zip was made on Unix; type bits 0 = plain file
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "is not a regular file"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        return f"is {info.file_size} bytes, over the {MAX_ZIP_MEMBER_BYTES}-byte limit"
    return None


def read_zip_members(data: bytes, label: str = ALGO_MEMBER) -> dict[str, bytes]:
    """The members of `model_algo-1`, after refusing traversal, links, encryption, bombs and duplicates."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise AwsArtifactError(f"{label} is not a valid zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise AwsArtifactError(f"{label} has {len(infos)} members (limit {MAX_ZIP_MEMBERS}); refusing to load it")
        total = 0
        members: dict[str, bytes] = {}
        for info in infos:
            problem = _zip_name_problem(info)
            if problem:
                raise AwsArtifactError(f"{label} member {info.filename!r} {problem}; refusing to load it")
            if info.is_dir():
                continue
            total += info.file_size
            if total > MAX_ZIP_TOTAL_BYTES:
                raise AwsArtifactError(f"{label} expands to more than {MAX_ZIP_TOTAL_BYTES} bytes; refusing to load it")
            name = str(PurePosixPath(info.filename))
            if name in members:
                raise AwsArtifactError(f"{label} holds {name!r} twice; refusing an ambiguous archive")
            try:
                with archive.open(info) as handle:
                    body = handle.read(info.file_size + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as exc:
                raise AwsArtifactError(f"{label} member {name!r} cannot be read ({exc})") from None
            if len(body) != info.file_size:
                raise AwsArtifactError(f"{label} member {name!r} is not the size its header declares")
            members[name] = body
    return members


def _json_member(members: Mapping[str, bytes], name: str, label: str) -> Any:
    def refuse_constant(value: str) -> Any:
        raise ValueError(f"{value} is not allowed")

    try:
        return json.loads(members[name].decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AwsArtifactError(f"{label}: {name} is not valid JSON ({exc})") from None


def _number(value: Any, what: str, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise AwsArtifactError(f"{label}: {what} must be a finite number, got {value!r}")
    return float(value)


def read_model_algo(data: bytes, label: str = ALGO_MEMBER) -> AwsLinearModel:
    """Parse a Linear Learner `model_algo-1` zip into its weights and serving parameters."""
    members = read_zip_members(data, label)
    missing = [name for name in REQUIRED_MEMBERS if name not in members]
    if missing:
        raise AwsArtifactError(
            f"{label} lacks {missing}: it is not a Linear Learner model (expected {list(REQUIRED_MEMBERS)})"
        )
    manifest = _json_member(members, MANIFEST_MEMBER, label)
    if not isinstance(manifest, dict) or manifest.get("mx-mod") != "mxnet_module":
        raise AwsArtifactError(f"{label}: manifest.json {manifest!r} does not describe an MXNet module 'mx-mod'")
    params = _json_member(members, ADDITIONAL_PARAMS_MEMBER, label)
    if not isinstance(params, dict):
        raise AwsArtifactError(f"{label}: additional-params.json must hold a JSON object")
    predictor_type = params.get("predictor_type")
    if predictor_type not in ("binary_classifier", "regressor"):
        raise AwsArtifactError(
            f"{label}: predictor_type {predictor_type!r} is not served by the emulator (binary_classifier and regressor are)"
        )
    loss_type = params.get("loss_type") or "auto"
    if loss_type == "auto":
        loss_type = DEFAULT_LOSS[predictor_type]
    threshold = _number(params.get("threshold", 0.5), "threshold", label)
    metrics_params = params.get("metrics_params") or {}
    if not isinstance(metrics_params, dict):
        raise AwsArtifactError(f"{label}: metrics_params must be an object")
    try:
        symbol = parse_linear_symbol(members[SYMBOL_MEMBER], f"{label}/{SYMBOL_MEMBER}")
        arrays = load_ndarrays(members[PARAMS_MEMBER], f"{label}/{PARAMS_MEMBER}")
    except MXNetFormatError as exc:
        raise AwsArtifactError(str(exc)) from None
    weight = _param(arrays, symbol.weight, label)
    bias = _param(arrays, symbol.bias, label)
    if weight.ndim != 2 or weight.shape[1] != 1 or weight.shape[0] < 1:
        raise AwsArtifactError(f"{label}: {symbol.weight} has shape {weight.shape}; expected (feature_dim, 1)")
    if bias.size != 1 or bias.ndim > 2:
        raise AwsArtifactError(f"{label}: {symbol.bias} has shape {bias.shape}; expected (1, 1)")
    for name, array in ((symbol.weight, weight), (symbol.bias, bias)):
        declared = symbol.shapes.get(name)
        if declared is not None and tuple(declared) != array.shape:
            raise AwsArtifactError(
                f"{label}: {name} has shape {array.shape} but the symbol declares {tuple(declared)}; the artifact is inconsistent"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise AwsArtifactError(f"{label}: {name} has dtype {array.dtype}; Linear Learner stores float32")
        if not np.all(np.isfinite(array)):
            raise AwsArtifactError(f"{label}: {name} contains NaN or infinite values; retrain the model")
    return AwsLinearModel(
        predictor_type=predictor_type,
        loss_type=loss_type,
        threshold=threshold,
        weights=weight[:, 0].copy(),
        bias=float(bias.reshape(-1)[0]),
        metrics_params=metrics_params,
        head=symbol.head,
    )


def _param(arrays: Mapping[str, np.ndarray], name: str, label: str) -> np.ndarray:
    for key in (f"arg:{name}", name):
        if key in arrays:
            return arrays[key]
    raise AwsArtifactError(f"{label}: {PARAMS_MEMBER} has no parameter 'arg:{name}' (it holds {sorted(arrays)[:8]})")


def head_for(predictor_type: str, loss_type: str) -> str:
    """The output op to write: MXNet's forward pass through it gives the score AWS's container returns."""
    if predictor_type == "binary_classifier" and loss_type == "logistic":
        return "LogisticRegressionOutput"
    return "LinearRegressionOutput"


def additional_params(model: AwsLinearModel) -> dict[str, Any]:
    """additional-params.json in AWS's key order."""
    metrics = {name: model.metrics_params.get(name) for name in METRICS_PARAMS}
    metrics["threshold"] = model.threshold
    return {
        "threshold": model.threshold,
        "loss_type": model.loss_type,
        "metrics_params": metrics,
        "predictor_type": model.predictor_type,
    }


def write_model_algo(model: AwsLinearModel) -> bytes:
    """The `model_algo-1` zip bytes, deterministic for a given model."""
    weights = np.asarray(model.weights, dtype=np.float32).reshape(-1, 1)
    params = save_ndarrays(
        {"arg:fc0_bias": np.array([[model.bias]], dtype=np.float32), "arg:fc0_weight": weights}
    )
    members = (
        (PARAMS_MEMBER, params),
        (SYMBOL_MEMBER, linear_symbol_json(weights.shape[0], head_for(model.predictor_type, model.loss_type)).encode()),
        (MANIFEST_MEMBER, json.dumps(MANIFEST).encode()),
        (ADDITIONAL_PARAMS_MEMBER, json.dumps(additional_params(model), allow_nan=False).encode()),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, body in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, body)
    return out.getvalue()
