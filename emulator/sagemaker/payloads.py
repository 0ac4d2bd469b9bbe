"""Linear Learner's inference formats: request bodies -> feature matrix, scores -> response body.

Formats (SageMaker developer guide, "Linear learner response formats" / "Common data
formats for inference"): requests `text/csv` (one row per line), `application/json`
(`{"instances": [{"features": [...]}]}` or the `{"data": {"features": {"values": [...]}}}`
form, dense or sparse), `application/jsonlines` (one such instance per line) and
`application/x-recordio-protobuf`; responses `application/json`
(`{"predictions": [{"score": s, "predicted_label": l}]}`), `application/jsonlines` (one
prediction object per line) and `application/x-recordio-protobuf`.

A payload the "container" cannot use raises `PayloadError` with the HTTP status the
container would answer (400 bad data, 415 unsupported content type, 406 unsupported
accept); the runtime wraps it in SageMaker's ModelError.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from typing import Any

import numpy as np

from emulator.sagemaker import recordio

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"

REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO)
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO)
_REQUEST_ALIASES = {"application/x-jsonlines": JSONLINES, "application/json-lines": JSONLINES, "text/x-csv": CSV}
_RESPONSE_ALIASES = {"application/x-jsonlines": JSONLINES, "application/json-lines": JSONLINES}


class PayloadError(ValueError):
    """The model container's rejection of a request: HTTP status plus its message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def request_format(content_type: str | None) -> str:
    media = _media_type(content_type)
    media = _REQUEST_ALIASES.get(media, media)
    if media not in REQUEST_TYPES:
        shown = content_type if content_type else "(none)"
        raise PayloadError(
            415,
            f"Content type {shown} is not supported by the Linear Learner container; "
            f"send one of {', '.join(REQUEST_TYPES)}",
        )
    return media


def response_format(accept: str | None) -> str:
    """First supported type in the Accept header; absent or */* means JSON."""
    if not accept or not accept.strip():
        return JSON
    for part in accept.split(","):
        media = _media_type(part)
        media = _RESPONSE_ALIASES.get(media, media)
        if media in ("*/*", "application/*"):
            return JSON
        if media in RESPONSE_TYPES:
            return media
    raise PayloadError(
        406,
        f"Accept type {accept} is not supported by the Linear Learner container; ask for one of {', '.join(RESPONSE_TYPES)}",
    )


# --- requests ---------------------------------------------------------------------------------


CONVERT_ROWS = 4096  # rows per numpy conversion call (see _to_matrix)


def _bad(message: str) -> PayloadError:
    return PayloadError(400, f"Unable to evaluate payload provided: {message}")


def parse_csv(body: bytes) -> np.ndarray:
    """`text/csv` -> rows x features: the one home of CSV parsing for every request.

    A body that is one line of plain numbers (the Lambda's request, the most common one) is
    read with Python's float() — numpy's parser costs more than the rest of the request —
    and everything else, including every malformed body, goes to numpy's parser, so the
    answers and error messages are numpy's. The quick route only ever accepts what numpy
    accepts, with the same values (tests/sagemaker/test_csv_one_home.py checks a corpus);
    a fix to CSV parsing belongs here and reaches every request.
    """
    row = _plain_row(body)
    if row is not None:
        return np.array((row,), dtype=np.float64)
    return _parse_csv_numpy(body)


def _plain_row(body: bytes) -> list[float] | None:
    """One line of comma-separated plain numbers as floats; None means "numpy decides"."""
    if len(body) > 4096:
        return None  # many features or many rows: numpy's loop is the faster one
    newline = body.find(b"\n")
    if newline != -1 and body[newline:].strip():
        return None  # several rows
    if not body.isascii() or b"_" in body:
        return None  # forms float() accepts but numpy's reader refuses (1_000, non-ASCII digits/spaces)
    line = body if newline == -1 else body[:newline]
    if b"\r" in line[:-1]:
        return None  # numpy reads a CR inside the line as a line break
    try:
        return list(map(float, body.split(b",")))
    except ValueError:
        return None


def _parse_csv_numpy(body: bytes) -> np.ndarray:
    if not body.strip():
        raise _bad("the CSV payload is empty; send one row of comma-separated features per line")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matrix = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float64, ndmin=2, comments=None, encoding="utf-8")
    except UnicodeDecodeError:
        raise _bad("the CSV payload is not UTF-8 text") from None
    except ValueError as exc:
        raise _bad(f"the CSV payload is not numeric comma-separated rows ({exc})") from None
    if matrix.shape[0] == 0:
        raise _bad("the CSV payload holds no rows")
    return matrix


def _is_number(value: Any) -> bool:
    return type(value) is float or type(value) is int


def _dense_from_data(data: Any, where: str, feature_dim: int) -> list[float]:
    """`{"features": {"values": [...], "keys": [...], "shape": [n]}}` (dense or sparse) -> row."""
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise _bad(f"{where}: 'data' must be an object with a 'features' object")
    tensor = data["features"]
    values = tensor.get("values")
    if not isinstance(values, list):
        raise _bad(f"{where}: 'data.features.values' must be an array of numbers")
    keys = tensor.get("keys")
    if keys is None:
        return values
    shape = tensor.get("shape", [feature_dim])
    if not isinstance(keys, list) or not all(type(k) is int and k >= 0 for k in keys):
        raise _bad(f"{where}: 'data.features.keys' must be an array of non-negative integers")
    if not isinstance(shape, list) or len(shape) != 1 or type(shape[0]) is not int:
        raise _bad(f"{where}: 'data.features.shape' must be [feature_dim]")
    if len(keys) != len(values):
        raise _bad(f"{where}: 'keys' has {len(keys)} entries but 'values' has {len(values)}")
    dim = shape[0]
    if dim != feature_dim:
        raise _bad(f"{where}: sparse shape {dim} does not match the model's {feature_dim} features")
    row = [0.0] * dim
    for key, value in zip(keys, values):
        if key >= dim:
            raise _bad(f"{where}: key {key} is outside 0..{dim - 1}")
        row[key] = value
    return row


def _instance_row(instance: Any, where: str, feature_dim: int) -> list[float]:
    if not isinstance(instance, dict):
        raise _bad(f"{where} must be an object like {{\"features\": [...]}}")
    if "features" in instance:
        row = instance["features"]
    elif "data" in instance:
        row = _dense_from_data(instance["data"], where, feature_dim)
    else:
        raise _bad(f"{where} has neither 'features' nor 'data'")
    if not isinstance(row, list):
        raise _bad(f"{where}: 'features' must be an array of numbers")
    for position, value in enumerate(row, start=1):
        if not _is_number(value):
            raise _bad(f"{where}: feature {position} is {json.dumps(value)[:40]}, not a number")
    return row


def _to_matrix(rows: list[list[float]]) -> np.ndarray:
    if not rows:
        raise _bad("the payload holds no instances")
    width = len(rows[0])
    for index, row in enumerate(rows, start=1):
        if len(row) != width:
            raise _bad(f"instance {index} has {len(row)} features but instance 1 has {width}")
    try:
        if len(rows) <= CONVERT_ROWS:
            return np.array(rows, dtype=np.float64).reshape(len(rows), width)
        # In slices: one numpy call over 350k rows would hold the GIL (and so the event loop,
        # while this runs in the worker pool) for a long time; between slices it is released.
        matrix = np.empty((len(rows), width), dtype=np.float64)
        for start in range(0, len(rows), CONVERT_ROWS):
            piece = rows[start:start + CONVERT_ROWS]
            matrix[start:start + len(piece)] = np.array(piece, dtype=np.float64).reshape(len(piece), width)
        return matrix
    except (OverflowError, ValueError) as exc:
        raise _bad(f"a feature is not representable as a float ({exc})") from None


def _loads(text: bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except UnicodeDecodeError:
        raise _bad(f"the {what} payload is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise _bad(f"the {what} payload is not valid JSON ({exc})") from None


def parse_json(body: bytes, feature_dim: int) -> np.ndarray:
    document = _loads(body, "JSON")
    if isinstance(document, dict) and "instances" in document:
        instances = document["instances"]
        if not isinstance(instances, list):
            raise _bad("'instances' must be an array")
    elif isinstance(document, dict) and ("features" in document or "data" in document):
        instances = [document]
    else:
        raise _bad('expected {"instances": [{"features": [...]}, ...]}')
    return _to_matrix([_instance_row(item, f"instance {i}", feature_dim) for i, item in enumerate(instances, 1)])


def parse_jsonlines(body: bytes, feature_dim: int) -> np.ndarray:
    """One instance per line, converted to numpy every CONVERT_ROWS rows: 350k lines held as
    Python lists would make the garbage collector walk them all (a pause of the whole
    process, event loop included)."""
    blocks: list[np.ndarray] = []
    rows: list[list[float]] = []
    width = None
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        rows.append(_instance_row(_loads(line, "JSON Lines"), f"line {number}", feature_dim))
        if len(rows) == CONVERT_ROWS:
            blocks.append(_block(rows, width, CONVERT_ROWS * len(blocks)))
            width = blocks[-1].shape[1]
            rows = []
    if rows or not blocks:
        blocks.append(_block(rows, width, CONVERT_ROWS * len(blocks)))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _block(rows: list[list[float]], width: int | None, before: int) -> np.ndarray:
    """_to_matrix for rows that follow `before` others of `width` features (messages count from 1)."""
    if width is not None:
        for index, row in enumerate(rows, start=before + 1):
            if len(row) != width:
                raise _bad(f"instance {index} has {len(row)} features but instance 1 has {width}")
    return _to_matrix(rows)


def parse_recordio(body: bytes, feature_dim: int) -> np.ndarray:
    try:
        return recordio.feature_matrix(body, feature_dim)
    except recordio.RecordIOError as exc:
        raise _bad(f"the RecordIO-protobuf payload is invalid: {exc}") from None


def parse_request(media: str, body: bytes, feature_dim: int) -> np.ndarray:
    if media == CSV:
        return parse_csv(body)
    if media == JSON:
        return parse_json(body, feature_dim)
    if media == JSONLINES:
        return parse_jsonlines(body, feature_dim)
    return parse_recordio(body, feature_dim)


# --- responses ---------------------------------------------------------------------------------


def _json_number(value: float) -> str:
    return repr(value) if math.isfinite(value) else "null"


def render_one_json(score: float, label: int | None) -> bytes:
    """`render(JSON, ...)` for one prediction (a finite score), without building arrays."""
    if label is None:
        return f'{{"predictions":[{{"score":{score!r}}}]}}'.encode()
    return f'{{"predictions":[{{"score":{score!r},"predicted_label":{label}}}]}}'.encode()


def render(media: str, scores: np.ndarray, labels: np.ndarray | None) -> bytes:
    if media == RECORDIO:
        return recordio.encode_predictions(scores, labels)
    score_list = scores.tolist()
    if labels is None:
        objects = [f'{{"score":{_json_number(s)}}}' for s in score_list]
    else:
        objects = [
            f'{{"score":{_json_number(s)},"predicted_label":{int(label)}}}'
            for s, label in zip(score_list, labels.tolist())
        ]
    if media == JSONLINES:
        return ("\n".join(objects) + "\n").encode()
    return ('{"predictions":[' + ",".join(objects) + "]}").encode()
