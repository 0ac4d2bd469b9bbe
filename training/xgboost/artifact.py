"""SageMaker XGBoost's model artifact: `model.tar.gz` holding `xgboost-model` in xgboost's own format.

Writing: the container saves the booster with `Booster.save_model("xgboost-model")`, so the
format is whatever that xgboost version writes for a name without extension: UBJSON for the
3.x images (xgboost >= 2.1 default). The 1.7-1 image's xgboost 1.7 wrote its old binary
format, which xgboost 3 can no longer write; for a 1.7-1 job we write JSON instead, which
xgboost 1.7's `load_model` reads from a file without extension (its learner dispatches on the
leading '{'), with `base_score` as the scalar 1.7 expects rather than 3.x's one-element vector.

Reading (endpoints): only xgboost's own formats (JSON, UBJSON, the deprecated binary format
where the installed xgboost still reads it). Older containers and many custom scripts
pickled the Booster; unpickling runs arbitrary code, so a pickle is refused with a reason
that says how to re-save the model. The archive gets the same hostile-archive checks as a
Linear Learner artifact (size and member limits, no links, devices or path escapes).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from training.artifact import (
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    ArtifactError,
    _check_member,
    _decompress_bounded,
    _read_source,
)

MODEL_NAME = "xgboost-model"
RESAVE_HINT = (
    "load it with the xgboost version that wrote it, in an environment you trust, and re-save it with "
    "xgboost's own format: booster.save_model('xgboost-model') (UBJSON) or booster.save_model('xgboost-model.json') "
    "renamed to xgboost-model, then tar it as model.tar.gz"
)


def model_format_for(version: str) -> str:
    """'json' for the 1.x images, 'ubj' for 2.x/3.x (what their save_model writes without an extension)."""
    major = version.split(".", 1)[0]
    return "json" if major in ("0", "1") else "ubj"


def model_bytes(booster: Any, version: str) -> bytes:
    """The `xgboost-model` file the container of `version` would load."""
    fmt = model_format_for(version)
    raw = bytes(booster.save_raw(raw_format=fmt))
    if fmt == "json":
        document = json.loads(raw)
        params = document.get("learner", {}).get("learner_model_param", {})
        base = params.get("base_score")
        if isinstance(base, str) and base.startswith("[") and base.endswith("]") and "," not in base:
            params["base_score"] = base[1:-1]  # xgboost < 3.1 parses a scalar
        raw = json.dumps(document, separators=(",", ":")).encode()
    return raw


def save_model_tar(files: dict[str, bytes], path: Path) -> Path:
    """Write `model.tar.gz` with the given members (normally just `xgboost-model`), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class XGBoostModel:
    """A loaded booster plus what serving needs from its config (objective, classes, features)."""

    booster: Any
    objective: str
    num_class: int
    num_feature: int
    model_format: str

    @property
    def feature_dim(self) -> int:
        return self.num_feature

    def predict(self, matrix: Any) -> np.ndarray:
        """The container's prediction: all trees, feature names not validated.

        Arrays and CSR matrices go through `inplace_predict` (same values as `predict` on a
        DMatrix, without building one: several times faster for the one-row requests a Lambda sends).
        """
        import xgboost as xgb

        if isinstance(matrix, xgb.DMatrix):
            return self.booster.predict(matrix, validate_features=False)
        return self.booster.inplace_predict(matrix, validate_features=False)


def sniff_format(data: bytes) -> str:
    """'json', 'ubj', 'binary', 'pickle' or 'unknown' from the first bytes (never by unpickling)."""
    head = data[:64]
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        rest = stripped[1:].lstrip()
        return "json" if rest[:1] in (b'"', b"}") else "ubj"
    if head[:1] == b"\x80" or b"xgboost.core" in data[:4096] or head[:1] in (b"(", b"c") and b"\n" in head:
        return "pickle"
    if head[:4] == b"binf" or len(data) >= 136:
        return "binary"
    return "unknown"


def load_booster(data: bytes, label: str = MODEL_NAME) -> XGBoostModel:
    """Load an xgboost model file's bytes; refuses pickles and anything xgboost cannot read."""
    import xgboost as xgb

    fmt = sniff_format(data)
    if fmt == "pickle":
        raise ArtifactError(
            f"{label} is a Python pickle (older SageMaker XGBoost containers and custom scripts pickled the Booster). "
            f"The emulator never unpickles a model because unpickling runs arbitrary code; {RESAVE_HINT}."
        )
    if fmt == "unknown":
        raise ArtifactError(f"{label} is not an xgboost model (JSON, UBJSON or binary); {RESAVE_HINT}.")
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
        config = json.loads(booster.save_config())
    except Exception as exc:  # XGBoostError carries the parser's reason
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(
            f"{label} could not be loaded by xgboost {xgb.__version__} as {fmt} ({first}); {RESAVE_HINT}."
        ) from None
    booster.set_param("nthread", 1)
    learner = config.get("learner", {})
    params = learner.get("learner_model_param", {})
    return XGBoostModel(
        booster=booster,
        objective=str(learner.get("objective", {}).get("name", "reg:squarederror")),
        num_class=int(params.get("num_class", "0") or 0),
        num_feature=int(booster.num_features()),
        model_format=fmt,
    )


def load_xgboost_tar(source: Path | bytes) -> XGBoostModel | None:
    """The XGBoost model in a `model.tar.gz`, or None when the archive holds no `xgboost-model`.

    Every member is checked as for Linear Learner artifacts before anything is read. With
    several `xgboost-model*` files (k-fold output) the first by name is served, as the
    container does with ensembles disabled.
    """
    data, label = _read_source(source)
    raw = _decompress_bounded(data, label)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise ArtifactError(f"{label} has more than {MAX_MEMBERS} members; refusing to load it")
                _check_member(member, label)
                name = PurePosixPath(member.name)
                if member.isfile() and len(name.parts) == 1 and name.name.startswith(MODEL_NAME):
                    if name.name in found:
                        raise ArtifactError(f"{label} holds {name.name} twice; refusing an ambiguous archive")
                    handle = tar.extractfile(member)
                    if handle is None:  # pragma: no cover - isfile() members always have data
                        raise ArtifactError(f"{label} member {member.name!r} has no data")
                    found[name.name] = handle.read(MAX_MEMBER_BYTES + 1)
    except tarfile.TarError as exc:
        raise ArtifactError(f"{label} is not a valid tar archive ({exc}); expected a model.tar.gz") from None
    if not found:
        return None
    name = MODEL_NAME if MODEL_NAME in found else sorted(found)[0]
    return load_booster(found[name], f"{name} in {label}")
