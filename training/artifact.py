"""The model artifact: a `model.tar.gz` holding one JSON document, and its safe loader.

SageMaker hands a training job's `model.tar.gz` to hosting unchanged, so this file is the
contract between the trainer (`training.job`) and whatever serves it (the SageMaker
emulator, tests, `sagestack train`). It is JSON, never pickle: a model downloaded from S3
is untrusted input and must not be able to run code when loaded.

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

from training.hyperparameters import BINARY_LOSSES, REGRESSION_LOSSES, SUPPORTED_PREDICTOR_TYPES

MODEL_MEMBER = "model.json"
ARTIFACT_FORMAT = "sagestack-linear-learner"
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
        if len(names) != dim or not all(isinstance(n, str) for n in names):
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


def model_to_bytes(model: LinearModel) -> bytes:
    """The gzip'd tar archive, byte-for-byte deterministic for a given model (fixed mtimes, owners)."""
    document = model.to_document()
    body = json.dumps(document, sort_keys=True, indent=1, allow_nan=False).encode() + b"\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(MODEL_MEMBER)
        info.size = len(body)
        info.mode = 0o644
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(body))
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
    """Load a model from a `model.tar.gz` path or its bytes, refusing anything unsafe or inconsistent."""
    data, label = _read_source(source)
    raw = _decompress_bounded(data, label)
    model_bytes: bytes | None = None
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            count = 0
            for member in tar:
                count += 1
                if count > MAX_MEMBERS:
                    raise ArtifactError(f"{label} has more than {MAX_MEMBERS} members; refusing to load it")
                _check_member(member, label)
                if member.isfile() and PurePosixPath(member.name) == PurePosixPath(MODEL_MEMBER):
                    if model_bytes is not None:
                        raise ArtifactError(f"{label} holds {MODEL_MEMBER} twice; refusing an ambiguous archive")
                    handle = tar.extractfile(member)
                    if handle is None:  # pragma: no cover - isfile() members always have data
                        raise ArtifactError(f"{label} member {member.name!r} has no data")
                    model_bytes = handle.read(MAX_MEMBER_BYTES + 1)
    except tarfile.TarError as exc:
        raise ArtifactError(f"{label} is not a valid tar archive ({exc}); expected a model.tar.gz") from None
    if model_bytes is None:
        raise ArtifactError(
            f"{label} contains no {MODEL_MEMBER}: it is not a sagestack model (a model trained by AWS's "
            "Linear Learner container uses MXNet's format and is served by AWS, not by the emulator)"
        )
    try:
        document = json.loads(model_bytes.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ArtifactError(f"{MODEL_MEMBER} in {label} is not valid JSON ({exc})") from None
    return LinearModel.from_document(document)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a model")
