"""Model artifacts for endpoints: fetched from S3 once, cached on disk by content hash, loaded safely.

The cache is what lets an endpoint come back after a kill -9 with the very model it served
before, even when S3 (LocalStack) was restarted empty: the endpoint's record keeps the
artifact's SHA-256, and the bytes live in `<data_dir>/artifacts/<sha256>.tar.gz`, written
to a temporary file and renamed so a crash never leaves a half-written artifact behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from emulator.sagemaker import s3
from training.artifact import ArtifactError, LinearModel, load_model_tar
from training.xgboost.artifact import XGBoostModel, load_xgboost_tar


class ArtifactFetchError(Exception):
    """The artifact could not be downloaded or is not a loadable model; message fits FailureReason."""


class ArtifactStore:
    def __init__(self, root: Path, s3_client: Callable[[], Any]):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._s3_client = s3_client
        self._lock = threading.Lock()

    def _path(self, sha256: str) -> Path:
        return self.root / f"{sha256}.tar.gz"

    def cached(self, sha256: str) -> bytes | None:
        """The cached bytes if present and intact (hash re-checked), else None."""
        path = self._path(sha256)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            path.unlink(missing_ok=True)
            return None
        return data

    def _write(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".artifact-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def download(self, url: str, container: str = "container_1") -> tuple[str, bytes]:
        """Fetch `url` from S3; returns (sha256, bytes). Not cached: only a model that loads is (`model_for`)."""
        try:
            location = s3.parse_s3_uri(url)
            data = s3.get_object_bytes(self._s3_client(), location)
        except s3.S3AccessError as exc:
            raise ArtifactFetchError(
                f'Failed to download model data for container "{container}" from URL: "{url}". '
                "Please ensure that there is an object located at the URL and that the role passed to "
                f"CreateModel has permissions to download the object. ({exc})"
            ) from None
        return hashlib.sha256(data).hexdigest(), data

    @staticmethod
    def load(data: bytes, url: str, container: str = "container_1") -> LinearModel | XGBoostModel:
        """The model in the archive: XGBoost when it holds `xgboost-model`, else Linear Learner's format."""
        try:
            xgboost_model = load_xgboost_tar(data)
            return xgboost_model if xgboost_model is not None else load_model_tar(data)
        except ArtifactError as exc:
            raise ArtifactFetchError(
                f'Failed to extract model data archive from URL "{url}" for container "{container}". '
                f"Please ensure that the object located at the URL is a valid model.tar.gz written by "
                f"a Linear Learner or XGBoost training job. ({exc})"
            ) from None

    def model_for(self, url: str, sha256: str | None, container: str = "container_1") -> tuple[str, LinearModel | XGBoostModel]:
        """The model for a variant: from the cache when its hash is known, else from S3."""
        data = self.cached(sha256) if sha256 else None
        if data is not None:
            return sha256, self.load(data, url, container)
        sha256, data = self.download(url, container)
        model = self.load(data, url, container)  # a rejected archive raises here and is never cached
        self._write(sha256, data)
        return sha256, model
