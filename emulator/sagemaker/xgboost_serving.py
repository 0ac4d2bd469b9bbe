"""The sagemaker-xgboost container's `/invocations`, for an endpoint whose model is an XGBoost artifact.

Follows aws/sagemaker-xgboost-container `algorithm_mode/serve.py` and `serve_utils.py`, step
for step and status for status (the runtime turns a non-200 answer into ModelError 424 with
OriginalStatusCode, as SageMaker does):

1. an empty body answers 204 with no content;
2. the Content-Type picks the parser: `text/csv` (delimiter sniffed from the first line,
   empty fields missing), `text/libsvm`/`text/x-libsvm` (1-based indices shifted to 0-based as
   there), `application/x-recordio-protobuf`; no Content-Type means LIBSVM; anything else,
   or a body that does not parse, answers 415 with the container's "Loading csv data failed
   ..." message;
3. xgboost predicts with every tree and no feature-name check; a failure answers 400
   "Unable to evaluate payload provided: ...";
4. Accept: absent or `*/*` means `text/csv`; `text/csv`, `application/json`,
   `application/jsonlines` and `application/x-recordio-protobuf` are accepted, others 406.

Responses: CSV one prediction per line (a row of class probabilities for multi:softprob),
JSON `{"predictions": [{"score": p}, ...]}`. For JSON Lines and RecordIO the container's
encoder (sagemaker-containers 2.8) has no plain-prediction writer and answers 500 unless
selectable inference is configured; we answer `{"score": p}` per line and one record per row
with a `score` label tensor instead, the shapes its selectable-inference output uses.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from emulator.sagemaker import recordio
from emulator.sagemaker.payloads import PayloadError
from training.xgboost.artifact import XGBoostModel

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"
SUPPORTED_ACCEPTS = [JSON, JSONLINES, RECORDIO, CSV]
_LIBSVM = ("text/libsvm", "text/x-libsvm", "libsvm")
_CSV = ("text/csv", "csv")
_RECORDIO = ("application/x-recordio-protobuf", "recordio-protobuf")
_VALID = "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf"


def _media(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _csv_matrix(body: bytes) -> Any:
    try:
        text = body.strip().decode("utf-8")
        first = text.split("\n")[0][:512]
        sniffed = csv.Sniffer().sniff(first).delimiter
        delimiter = "," if sniffed.isalnum() else sniffed
        rows = [["nan" if field == "" else field for field in line.split(delimiter)] for line in text.split("\n")]
        return np.array(rows).astype(float)
    except Exception as exc:  # the container catches everything here and answers 415
        raise PayloadError(
            415, f"Loading csv data failed with Exception, please ensure data is in csv format:\n {type(exc)}\n {exc}"
        ) from None


def _libsvm_matrix(body: bytes) -> Any:
    from scipy.sparse import csr_matrix

    try:
        text = body.strip().decode("utf-8")
        rows, cols, vals = [], [], []
        for row_index, line in enumerate(text.split("\n")):
            for item in line.split(" "):
                if ":" in item:
                    index, value = item.split(":", 1)
                    rows.append(row_index)
                    cols.append(int(index))
                    vals.append(float(value))
        col = np.array(cols, dtype=int)
        if len(col) > 0 and col.min() >= 1:
            col = col - 1  # 1-based LIBSVM indices, as the container shifts them
        return csr_matrix((np.array(vals, dtype=float), (np.array(rows, dtype=int), col)))
    except Exception as exc:
        raise PayloadError(
            415, f"Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n {type(exc)}\n {exc}"
        ) from None


def _recordio_matrix(body: bytes, num_feature: int) -> Any:
    try:
        return recordio.feature_matrix(body, num_feature)
    except Exception as exc:
        raise PayloadError(
            415,
            "Loading recordio-protobuf data failed with Exception, please ensure data is in recordio-protobuf "
            f"format: {type(exc)} {exc}",
        ) from None


def parse_request(model: XGBoostModel, content_type: str | None, body: bytes) -> Any:
    media = _media(content_type) if content_type else "text/libsvm"
    if media in _CSV:
        return _csv_matrix(body)
    if media in _LIBSVM:
        return _libsvm_matrix(body)
    if media in _RECORDIO:
        return _recordio_matrix(body, model.num_feature)
    if media in ("parquet", "application/x-parquet"):
        raise PayloadError(415, f"Content-type {content_type} is not supported.")
    raise PayloadError(415, f"{content_type} is not an accepted ContentType: {_VALID}.")


def response_type(accept: str | None) -> str:
    media = _media(accept)
    if not media or media == "*/*":
        return CSV
    if media not in SUPPORTED_ACCEPTS:
        raise PayloadError(
            406, f"Accept type {accept} is not supported. Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return media


def render(media: str, predictions: np.ndarray) -> bytes:
    values = predictions.tolist()
    if media == CSV:
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True)
        writer.writerows(values if predictions.ndim == 2 else [[v] for v in values])
        return stream.getvalue().encode()
    if media == JSON:
        return json.dumps({"predictions": [{"score": v} for v in values]}).encode()
    if media == JSONLINES:
        return "".join(json.dumps({"score": v}) + "\n" for v in values).encode()
    rows = predictions if predictions.ndim == 2 else predictions.reshape(-1, 1)
    return b"".join(recordio.frame(recordio.encode_record(label={"score": row})) for row in rows)


def invoke(model: XGBoostModel, content_type: str | None, accept: str | None, body: bytes) -> tuple[str, bytes]:
    """(response Content-Type, body) for one request; PayloadError carries the container's status and message."""
    if not body:
        return response_type(accept) if accept else CSV, b""
    dmatrix = parse_request(model, content_type, body)
    try:
        predictions = model.predict(dmatrix)
    except Exception as exc:  # xgboost's own complaint (feature count, ...) answers 400 there
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PayloadError(400, f"Unable to evaluate payload provided: {message}") from None
    media = response_type(accept)
    return media, render(media, predictions)
