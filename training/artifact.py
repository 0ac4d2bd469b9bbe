"""The model artifact: `model.tar.gz` in AWS Linear Learner's own layout, and its safe loader.

SageMaker hands a training job's `model.tar.gz` to hosting unchanged, so this file is the
contract between the trainer (`training.job`) and whatever serves it (the SageMaker
emulator, tests, `sagestack train`). What the kit writes is what AWS writes: one member
`model_algo-1` (an MXNet module zip, see `training.aws_artifact`) with normalisation folded
into the float32 weights, so AWS tooling and MXNet load it. The kit's own metadata (feature
names, metrics, hyperparameters, versions, the unfolded normalisation and a content hash) rides
in a second member, `sagestack-model.json`, that AWS's layout does not know and readers that
unpack `model_algo-1` never look at. The loader serves artifacts AWS wrote (no metadata) and the
kit's earlier single-document JSON format (`model.json`). Nothing here is ever unpickled: a
model downloaded from S3 is untrusted input and must not be able to run code when loaded.

The loader treats the archive as hostile: it bounds the compressed and uncompressed sizes
before tarfile parses anything, refuses absolute paths, `..`, links and device nodes, and
checks that every array has the shape the model claims and that the content hash matches.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from training.aws_artifact import ALGO_MEMBER, AwsArtifactError, AwsLinearModel, read_model_algo, write_model_algo
from training.hyperparameters import BINARY_LOSSES, REGRESSION_LOSSES, SUPPORTED_PREDICTOR_TYPES

MODEL_MEMBER = "model.json"  # the kit's earlier format: one JSON document (still loaded)
METADATA_MEMBER = "sagestack-model.json"  # beside model_algo-1: the kit's metadata, ignored by AWS's layout
ARTIFACT_FORMAT = "sagestack-linear-learner"
METADATA_FORMAT = "sagestack-linear-learner-metadata"
FORMAT_VERSION = 1
# What a model may be: the predictor types and concrete losses the trainer accepts ("auto"
# resolves to a concrete loss before a model is saved), taken from the trainer's own lists so
# every model it writes is one this format accepts.
PREDICTOR_TYPES = SUPPORTED_PREDICTOR_TYPES
# loss -> how the raw linear output becomes the response "score" (Linear Learner semantics:
# a probability under logistic loss, the raw margin under hinge loss, the prediction for regressors).
CLASSIFIER_LOSSES = tuple(loss for loss in BINARY_LOSSES if loss != "auto")
REGRESSOR_LOSSES = tuple(loss for loss in REGRESSION_LOSSES if loss != "auto")

# Bounds for untrusted archives. A 30-feature model is a few kB; these leave room for
# models with ~100k features while keeping a decompression bomb harmless.
MAX_COMPRESSED_BYTES = 32 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 64
MAX_FEATURE_DIM = 1_000_000


class ArtifactError(ValueError):
    """A model artifact that cannot be written or safely loaded; the message says why and what to do."""


def _frozen_vector(values: Any, name: str, length: int) -> np.ndarray:
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"model field {name!r} must be a list of numbers ({exc})") from None
    if array.ndim != 1 or array.shape[0] != length:
        raise ArtifactError(
            f"model field {name!r} has shape {array.shape}, but feature_dim is {length}; "
            "the artifact is inconsistent — retrain the model"
        )
    if not np.all(np.isfinite(array)):
        raise ArtifactError(f"model field {name!r} contains NaN or infinite values; retrain the model")
    array.setflags(write=False)
    return array


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ArtifactError(f"model field {name!r} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ArtifactError(f"model field {name!r} must be finite, got {number}")
    return number


@dataclass(frozen=True, eq=False)
class LinearModel:
    """A trained Linear-Learner-style linear model with its normalisation folded in at load time.

    `weights`/`bias` act on normalised features `(x - feature_shift) / feature_scale`; the raw
    output is mapped back to label units for regressors (`* label_scale + label_shift`) and to
    a probability for logistic classifiers. `threshold` turns a classifier's score into
    `predicted_label` (score > threshold -> 1).
    """

    predictor_type: str
    feature_dim: int
    feature_names: tuple[str, ...]
    weights: np.ndarray
    bias: float
    feature_shift: np.ndarray
    feature_scale: np.ndarray
    loss: str
    threshold: float | None
    label_shift: float = 0.0
    label_scale: float = 1.0
    metrics: Mapping[str, float] = field(default_factory=dict)
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    # Derived in __post_init__: one matmul at inference time.
    effective_weights: np.ndarray = field(init=False, repr=False)
    effective_bias: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.predictor_type not in PREDICTOR_TYPES:
            raise ArtifactError(
                f"model predictor_type {self.predictor_type!r} is not supported; expected one of {list(PREDICTOR_TYPES)}"
            )
        if isinstance(self.feature_dim, bool) or not isinstance(self.feature_dim, (int, np.integer)):
            raise ArtifactError(f"model feature_dim must be an integer, got {self.feature_dim!r}")
        dim = int(self.feature_dim)
        if not 1 <= dim <= MAX_FEATURE_DIM:
            raise ArtifactError(f"model feature_dim {dim} is outside 1..{MAX_FEATURE_DIM}")
        object.__setattr__(self, "feature_dim", dim)
        names = tuple(self.feature_names)
        # An empty tuple means "unnamed" (an artifact AWS wrote carries no feature names).
        if (names and len(names) != dim) or not all(isinstance(n, str) for n in names):
            raise ArtifactError(
                f"model has {len(names)} feature names but feature_dim is {dim}; the artifact is inconsistent"
            )
        object.__setattr__(self, "feature_names", names)
        allowed_losses = CLASSIFIER_LOSSES if self.predictor_type == "binary_classifier" else REGRESSOR_LOSSES
        if self.loss not in allowed_losses:
            raise ArtifactError(
                f"model loss {self.loss!r} is not valid for {self.predictor_type}; expected one of {list(allowed_losses)}"
            )
        weights = _frozen_vector(self.weights, "weights", dim)
        shift = _frozen_vector(self.feature_shift, "feature_shift", dim)
        scale = _frozen_vector(self.feature_scale, "feature_scale", dim)
        if np.any(scale <= 0):
            raise ArtifactError("model field 'feature_scale' must be positive everywhere; retrain the model")
        bias = _finite(self.bias, "bias")
        label_shift = _finite(self.label_shift, "label_shift")
        label_scale = _finite(self.label_scale, "label_scale")
        if label_scale <= 0:
            raise ArtifactError("model field 'label_scale' must be positive")
        if self.predictor_type == "binary_classifier":
            if self.threshold is None:
                raise ArtifactError("a binary_classifier model needs a decision threshold")
            object.__setattr__(self, "threshold", _finite(self.threshold, "threshold"))
        elif self.threshold is not None:
            raise ArtifactError("a regressor model has no decision threshold; set threshold to null")
        for name, value in (("weights", weights), ("feature_shift", shift), ("feature_scale", scale)):
            object.__setattr__(self, name, value)
        for name, value in (("bias", bias), ("label_shift", label_shift), ("label_scale", label_scale)):
            object.__setattr__(self, name, value)
        for name in ("metrics", "hyperparameters", "training", "versions"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ArtifactError(f"model field {name!r} must be an object")
            object.__setattr__(self, name, dict(value))
        # Fold normalisation (and label de-normalisation) into one affine map.
        effective = weights / scale
        effective_bias = bias - float(shift @ effective)
        if self.predictor_type == "regressor":
            effective = effective * label_scale
            effective_bias = effective_bias * label_scale + label_shift
        effective = np.ascontiguousarray(effective)
        effective.setflags(write=False)
        object.__setattr__(self, "effective_weights", effective)
        object.__setattr__(self, "effective_bias", float(effective_bias))

    @property
    def score_transform(self) -> str:
        """"sigmoid" when the score is a probability (logistic classifier), else "identity"."""
        return "sigmoid" if self.predictor_type == "binary_classifier" and self.loss == "logistic" else "identity"

    def to_document(self) -> dict[str, Any]:
        """The JSON document stored in the archive, including its content hash."""
        payload = {
            "format": ARTIFACT_FORMAT,
            "format_version": FORMAT_VERSION,
            "predictor_type": self.predictor_type,
            "loss": self.loss,
            "score_transform": self.score_transform,
            "feature_dim": self.feature_dim,
            "feature_names": list(self.feature_names),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "normalization": {
                "feature_shift": self.feature_shift.tolist(),
                "feature_scale": self.feature_scale.tolist(),
                "label_shift": self.label_shift,
                "label_scale": self.label_scale,
            },
            "threshold": self.threshold,
            "metrics": dict(self.metrics),
            "hyperparameters": dict(self.hyperparameters),
            "training": dict(self.training),
            "versions": dict(self.versions),
        }
        payload["content_sha256"] = content_hash(payload)
        return payload

    @classmethod
    def from_document(cls, document: Any) -> LinearModel:
        """Build a model from a parsed JSON document, checking format, hash and shapes."""
        if not isinstance(document, dict):
            raise ArtifactError(f"{MODEL_MEMBER} must hold a JSON object, found {type(document).__name__}")
        if document.get("format") != ARTIFACT_FORMAT:
            raise ArtifactError(
                f"{MODEL_MEMBER} is not a sagestack model (format={document.get('format')!r}); "
                "train it with `sagestack train` or the sagestack SageMaker emulator"
            )
        if document.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"model format_version {document.get('format_version')!r} is not supported "
                f"(this sagestack reads version {FORMAT_VERSION}); retrain the model with this version"
            )
        stored_hash = document.get("content_sha256")
        body = {key: value for key, value in document.items() if key != "content_sha256"}
        if not isinstance(stored_hash, str) or stored_hash != content_hash(body):
            raise ArtifactError(
                "model content hash does not match its contents: the artifact was modified or corrupted; "
                "retrain or re-download it"
            )
        try:
            normalization = document["normalization"]
            if not isinstance(normalization, dict):
                raise ArtifactError("model field 'normalization' must be an object")
            return cls(
                predictor_type=document["predictor_type"],
                feature_dim=document["feature_dim"],
                feature_names=tuple(document["feature_names"]),
                weights=document["weights"],
                bias=document["bias"],
                feature_shift=normalization["feature_shift"],
                feature_scale=normalization["feature_scale"],
                label_shift=normalization.get("label_shift", 0.0),
                label_scale=normalization.get("label_scale", 1.0),
                loss=document["loss"],
                threshold=document.get("threshold"),
                metrics=document.get("metrics", {}),
                hyperparameters=document.get("hyperparameters", {}),
                training=document.get("training", {}),
                versions=document.get("versions", {}),
            )
        except KeyError as exc:
            raise ArtifactError(f"model document is missing the field {exc.args[0]!r}; retrain the model") from None
        except TypeError as exc:
            raise ArtifactError(f"model document has a field of the wrong type ({exc})") from None


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The byte form the content hash covers: sorted keys, no whitespace, no NaN."""
    try:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True).encode()
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"model contains a value JSON cannot represent ({exc})") from None


def content_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def _metrics_params(model: LinearModel) -> dict[str, Any]:
    """additional-params.json's metrics_params from the hyperparameters the model was trained with."""
    values: dict[str, Any] = {"positive_example_weight_mult": 1.0, "accuracy_top_k": 3}
    for name in ("huber_delta", "quantile", "loss_insensitivity", "f_beta", "margin", "positive_example_weight_mult"):
        raw = model.hyperparameters.get(name)
        try:
            number = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            number = None
        if number is not None and math.isfinite(number):
            values[name] = number
    return values


def to_aws(model: LinearModel) -> AwsLinearModel:
    """The model as Linear Learner stores it: normalisation folded in, float32, AWS's threshold default."""
    return AwsLinearModel(
        predictor_type=model.predictor_type,
        loss_type=model.loss,
        threshold=model.threshold if model.threshold is not None else 0.5,
        weights=model.effective_weights.astype(np.float32),
        bias=float(np.float32(model.effective_bias)),
        metrics_params=_metrics_params(model),
    )


def from_aws(aws: AwsLinearModel, metadata: Mapping[str, Any] | None = None) -> LinearModel:
    """A servable model from `model_algo-1` (plus the kit's metadata member when present)."""
    meta = dict(metadata or {})
    dim = aws.feature_dim
    return LinearModel(
        predictor_type=aws.predictor_type,
        feature_dim=dim,
        feature_names=tuple(meta.get("feature_names") or ()),
        weights=aws.weights.astype(np.float64),
        bias=aws.bias,
        feature_shift=np.zeros(dim),
        feature_scale=np.ones(dim),
        loss=aws.loss_type,
        threshold=aws.threshold if aws.predictor_type == "binary_classifier" else None,
        metrics=meta.get("metrics") or {},
        hyperparameters=meta.get("hyperparameters") or {},
        training=meta.get("training") or {},
        versions=meta.get("versions") or {},
    )


def as_stored(model: LinearModel) -> LinearModel:
    """The model exactly as it will be served once saved (folded, float32), metadata kept.

    Training reports its final metrics on this form, so they describe what an endpoint answers.
    """
    meta = {"feature_names": list(model.feature_names), "metrics": model.metrics,
            "hyperparameters": model.hyperparameters, "training": model.training, "versions": model.versions}
    return from_aws(to_aws(model), meta)


def metadata_document(model: LinearModel, algo_sha256: str) -> dict[str, Any]:
    """The kit's metadata member: what AWS's layout has no place for, tied to model_algo-1 by its hash."""
    payload = {
        "format": METADATA_FORMAT,
        "format_version": FORMAT_VERSION,
        "model_algo_sha256": algo_sha256,
        "predictor_type": model.predictor_type,
        "loss": model.loss,
        "feature_dim": model.feature_dim,
        "feature_names": list(model.feature_names),
        "normalization_folded_into_weights": {
            "feature_shift": model.feature_shift.tolist(),
            "feature_scale": model.feature_scale.tolist(),
            "label_shift": model.label_shift,
            "label_scale": model.label_scale,
        },
        "metrics": dict(model.metrics),
        "hyperparameters": dict(model.hyperparameters),
        "training": dict(model.training),
        "versions": dict(model.versions),
    }
    payload["content_sha256"] = content_hash(payload)
    return payload


def _check_metadata(document: Any, algo: bytes, label: str) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != METADATA_FORMAT:
        raise ArtifactError(f"{METADATA_MEMBER} in {label} is not sagestack metadata; remove it or retrain the model")
    body = {key: value for key, value in document.items() if key != "content_sha256"}
    if document.get("content_sha256") != content_hash(body):
        raise ArtifactError(f"{METADATA_MEMBER} in {label} does not match its content hash; the artifact was modified")
    if document.get("model_algo_sha256") != hashlib.sha256(algo).hexdigest():
        raise ArtifactError(
            f"{METADATA_MEMBER} in {label} describes another {ALGO_MEMBER}: the model was replaced or modified; "
            f"delete {METADATA_MEMBER} to serve {ALGO_MEMBER} as it is, or retrain"
        )
    for key in ("metrics", "hyperparameters", "training", "versions"):
        if not isinstance(document.get(key, {}), dict):
            raise ArtifactError(f"{METADATA_MEMBER} in {label}: {key!r} must be an object")
    names = document.get("feature_names", [])
    if not isinstance(names, list):
        raise ArtifactError(f"{METADATA_MEMBER} in {label}: 'feature_names' must be a list")
    return document


def _tar_member(tar: tarfile.TarFile, name: str, body: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(body))


def model_to_bytes(model: LinearModel) -> bytes:
    """The gzip'd tar archive in AWS's layout, byte-for-byte deterministic for a given model."""
    algo = write_model_algo(to_aws(model))
    metadata = metadata_document(model, hashlib.sha256(algo).hexdigest())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _tar_member(tar, ALGO_MEMBER, algo)
        _tar_member(tar, METADATA_MEMBER, json.dumps(metadata, sort_keys=True, indent=1, allow_nan=False).encode() + b"\n")
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def save_model_tar(model: LinearModel, path: Path) -> Path:
    """Write `model.tar.gz` atomically (a reader never sees a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model_to_bytes(model)
    fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".tar.gz.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_source(source: Path | bytes | bytearray | memoryview | str) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = "model archive"
    else:
        path = Path(source)
        label = str(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ArtifactError(f"cannot read model archive {label}: {exc.strerror or exc}") from None
        if size > MAX_COMPRESSED_BYTES:
            raise ArtifactError(f"{label} is {size} bytes, over the {MAX_COMPRESSED_BYTES}-byte limit for a model archive")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ArtifactError(f"cannot read model archive {label}: {exc.strerror or exc}") from None
    if len(data) > MAX_COMPRESSED_BYTES:
        raise ArtifactError(f"{label} is {len(data)} bytes, over the {MAX_COMPRESSED_BYTES}-byte limit for a model archive")
    if not data:
        raise ArtifactError(f"{label} is empty; expected a model.tar.gz")
    return data, label


def _decompress_bounded(data: bytes, label: str) -> bytes:
    """Gunzip at most MAX_UNCOMPRESSED_BYTES (+1 to detect overflow); plain tar passes through."""
    if data[:2] != b"\x1f\x8b":
        if len(data) > MAX_UNCOMPRESSED_BYTES:
            raise ArtifactError(f"{label} is larger than {MAX_UNCOMPRESSED_BYTES} bytes uncompressed")
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as gz:
            raw = gz.read(MAX_UNCOMPRESSED_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArtifactError(f"{label} is not a valid gzip file ({exc}); expected a model.tar.gz") from None
    if len(raw) > MAX_UNCOMPRESSED_BYTES:
        raise ArtifactError(
            f"{label} expands to more than {MAX_UNCOMPRESSED_BYTES} bytes; refusing to unpack it (possible decompression bomb)"
        )
    return raw


def _check_member(member: tarfile.TarInfo, label: str) -> None:
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise ArtifactError(f"{label} member {name!r} has an absolute path; refusing to load it")
    if ".." in path.parts or "\\" in name:
        raise ArtifactError(f"{label} member {name!r} escapes the archive with '..'; refusing to load it")
    if member.issym() or member.islnk():
        raise ArtifactError(f"{label} member {name!r} is a link; model archives must hold regular files only")
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise ArtifactError(f"{label} member {name!r} is a device or FIFO; model archives must hold regular files only")
    if not (member.isfile() or member.isdir()):
        raise ArtifactError(f"{label} member {name!r} is not a regular file (type {member.type!r}); refusing to load it")
    if member.isfile() and member.size > MAX_MEMBER_BYTES:
        raise ArtifactError(f"{label} member {name!r} is {member.size} bytes, over the {MAX_MEMBER_BYTES}-byte limit")


def load_model_tar(source: Path | bytes) -> LinearModel:
    """Load a model from a `model.tar.gz` path or its bytes, refusing anything unsafe or inconsistent.

    Reads AWS's layout (`model_algo-1`, with the kit's metadata member when present) and the
    kit's earlier single-document layout (`model.json`).
    """
    data, label = _read_source(source)
    raw = _decompress_bounded(data, label)
    wanted = (MODEL_MEMBER, ALGO_MEMBER, METADATA_MEMBER)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            count = 0
            for member in tar:
                count += 1
                if count > MAX_MEMBERS:
                    raise ArtifactError(f"{label} has more than {MAX_MEMBERS} members; refusing to load it")
                _check_member(member, label)
                name = str(PurePosixPath(member.name))
                if member.isfile() and name in wanted:
                    if name in found:
                        raise ArtifactError(f"{label} holds {name} twice; refusing an ambiguous archive")
                    handle = tar.extractfile(member)
                    if handle is None:  # pragma: no cover - isfile() members always have data
                        raise ArtifactError(f"{label} member {member.name!r} has no data")
                    found[name] = handle.read(MAX_MEMBER_BYTES + 1)
    except tarfile.TarError as exc:
        raise ArtifactError(f"{label} is not a valid tar archive ({exc}); expected a model.tar.gz") from None
    if ALGO_MEMBER in found:
        return _load_aws(found, label)
    if MODEL_MEMBER not in found:
        raise ArtifactError(
            f"{label} contains neither {ALGO_MEMBER} (a Linear Learner model as AWS writes it) nor {MODEL_MEMBER} "
            "(sagestack's earlier format): it is not a Linear Learner model.tar.gz"
        )
    try:
        document = json.loads(found[MODEL_MEMBER].decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ArtifactError(f"{MODEL_MEMBER} in {label} is not valid JSON ({exc})") from None
    return LinearModel.from_document(document)


def _load_aws(found: Mapping[str, bytes], label: str) -> LinearModel:
    algo = found[ALGO_MEMBER]
    try:
        aws = read_model_algo(algo, f"{label}/{ALGO_MEMBER}")
    except AwsArtifactError as exc:
        raise ArtifactError(str(exc)) from None
    metadata = None
    if METADATA_MEMBER in found:
        try:
            document = json.loads(found[METADATA_MEMBER].decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            raise ArtifactError(f"{METADATA_MEMBER} in {label} is not valid JSON ({exc})") from None
        metadata = _check_metadata(document, algo, label)
    try:
        return from_aws(aws, metadata)
    except ArtifactError as exc:
        raise ArtifactError(f"{label}/{ALGO_MEMBER}: {exc}") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a model")
