"""Training channels for SageMaker XGBoost: content types, file checks and DMatrix loading as its container does.

Follows aws/sagemaker-xgboost-container `data_utils.py`: the channel ContentType picks the
reader (no ContentType means LIBSVM, as there), CSV is label-first with no header and the
delimiter sniffed from the first line (`csv_weights=1`: the second column is the instance
weight), LIBSVM and CSV are read by xgboost's own text parser exactly as the container calls
it, Parquet is label-first columns read with pyarrow (an optional dependency:
`pip install 'sagestack[parquet]'`), and RecordIO-protobuf channels arrive here already
rewritten as label-first CSV by the caller (the emulator owns the RecordIO codec).
Messages are the container's ("... is not an accepted ContentType: ...", "Hidden file found
in the data path! Remove that before training.").
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

CSV = "csv"
LIBSVM = "libsvm"
PARQUET = "parquet"
RECORDIO_PROTOBUF = "recordio-protobuf"

VALID_CONTENT_TYPES = (
    CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF, "text/csv", "text/libsvm", "text/x-libsvm",
    "application/x-parquet", "application/x-recordio-protobuf",
)
_BY_MEDIA = {
    "csv": CSV, "text/csv": CSV,
    "libsvm": LIBSVM, "text/libsvm": LIBSVM, "text/x-libsvm": LIBSVM,
    "parquet": PARQUET, "application/x-parquet": PARQUET,
    "recordio-protobuf": RECORDIO_PROTOBUF, "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}


class DataError(ValueError):
    """Channel data the container would refuse (a UserError there); message fits FailureReason after 'ClientError: '."""


def content_type(value: str | None) -> str:
    """The reader for a channel's ContentType (None -> libsvm, the container's default)."""
    if value is None:
        return LIBSVM
    media, _, params = value.lower().partition(";")
    media = media.strip()
    kind = _BY_MEDIA.get(media)
    if kind is None:
        raise DataError(f"{value} is not an accepted ContentType: {', '.join(VALID_CONTENT_TYPES)}.")
    if kind == CSV:
        for part in params.split(";"):
            key, _, val = part.partition("=")
            if key.strip() == "label_size" and val.strip() != "1":
                raise DataError(
                    f"{value} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
                )
    return kind


def data_files(path: Path) -> list[Path]:
    """Regular files under a channel directory, sorted; hidden files fail as in the container."""
    if path.is_file():
        return [path]
    found = []
    for root, _dirs, names in os.walk(path):
        for name in names:
            if name.startswith("."):
                raise DataError("Hidden file found in the data path! Remove that before training.")
            found.append(Path(root) / name)
    return sorted(found)


def _delimiter(path: Path) -> str:
    with path.open("r", errors="ignore") as handle:
        line = handle.readline()
    try:
        sniffed = csv.Sniffer().sniff(line[:512]).delimiter
    except csv.Error as exc:
        raise DataError(f"Could not determine delimiter on line {line[:50]}:\n{exc}") from None
    return "," if sniffed.isalnum() else sniffed


def _first_line_libsvm_ok(path: Path) -> None:
    with path.open("r", errors="ignore") as handle:
        for line in handle:
            tokens = line.split()
            if not tokens:
                continue
            label = tokens[0].split(":")
            try:
                [float(x) for x in label]
                for token in tokens[1:]:
                    index, value = token.split(":")
                    int(index), float(value)
            except ValueError:
                raise DataError(
                    f"First line '{line[:50]}...' of file '{path.name}' is not 'LIBSVM' format. "
                    "Please ensure the file is in 'LIBSVM' format."
                ) from None
            return


def _quiet_text_matrix(uri: str, what: str) -> Any:
    import xgboost as xgb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xgboost 3.1+ calls its text parser deprecated; the container still uses it
        try:
            return xgb.DMatrix(uri)
        except Exception as exc:  # xgboost raises XGBoostError with the parser's message
            raise DataError(f"Failed to load {what} data with exception:\n{exc}") from None


def load_dmatrix(path: Path, kind: str, csv_weights: int = 0, pipe: bool = False) -> Any:
    """The channel as an xgboost DMatrix, or None when the channel holds no data."""
    files = [f for f in data_files(path) if f.stat().st_size > 0]
    if not files:
        return None
    if kind == LIBSVM:
        if pipe:
            raise DataError("Pipe mode not supported for LibSVM.")
        for file in files:
            _first_line_libsvm_ok(file)
        return _quiet_text_matrix(f"{path}?format=libsvm", "libsvm")
    if kind in (CSV, RECORDIO_PROTOBUF):
        delimiter = _delimiter(files[0])
        weight = "&weight_column=1" if csv_weights == 1 else ""
        return _quiet_text_matrix(f"{path}?format=csv&label_column=0&delimiter={delimiter}{weight}", "csv")
    if kind == PARQUET:
        return _parquet_dmatrix(files)
    raise DataError(f"{kind} is not an accepted ContentType: {', '.join(VALID_CONTENT_TYPES)}.")


def _parquet_dmatrix(files: list[Path]) -> Any:
    import xgboost as xgb

    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "application/x-parquet channels need pyarrow, which is an optional dependency of sagestack: "
            "install it with pip install 'sagestack[parquet]' (or send text/csv or text/libsvm)."
        ) from None
    try:
        blocks = []
        for file in files:
            table = pq.read_table(file)
            blocks.append(np.column_stack([np.asarray(c.to_numpy(zero_copy_only=False), dtype=np.float64) for c in table.columns]))
        data = np.vstack(blocks)
        return xgb.DMatrix(data[:, 1:], label=data[:, 0])
    except Exception as exc:
        raise DataError(f"Failed to load parquet data with exception:\n{exc}") from None


def check_redundancy(train: Path, validation: Path) -> bool:
    """True when a validation file has the same name and size as a training file (the container only warns)."""
    train_files = {(f.name, f.stat().st_size) for f in data_files(train)}
    return any((f.name, f.stat().st_size) in train_files for f in data_files(validation))
