"""Lambda function between API Gateway and the SageMaker endpoint (docs/ARCHITECTURE.md, "Data flow").

Contract kept from the 2018 AWS blog this kit reproduces: the request body
``{"data": "13.49,22.3,...30 numbers..."}`` answers 200 with the JSON string ``"B"`` or
``"M"``. Additions, all opt-in so the original request keeps its original answer byte for byte:

* batch: ``{"data": ["row", "row", ...]}`` (each row a CSV string or a list of 30 numbers)
  answers a JSON list of labels in the same order;
* verbose: ``"verbose": true`` in the body (or ``?verbose=true`` on the URL) answers
  ``{"label": "M", "score": 0.97}`` per row instead of the bare label.

The same payload works as an API Gateway proxy event (REST v1 or HTTP API v2: the answer is
``{"statusCode", "headers", "body"}``) and as a direct ``lambda:Invoke`` (the answer is the bare
JSON value; errors come back as ``{"statusCode": 4xx/5xx, "error": ..., "message": ...}``).
Nothing raises out of the handler: every failure a client or the endpoint can cause becomes
an answer that says what was wrong.

Only the standard library and boto3 are imported: both are in every Lambda Python runtime.
The sagemaker-runtime client is created once per execution environment and has no endpoint
URL in code; locally, the kit's Lambda executor gives every function SageMaker's endpoint (the
emulator) beside LocalStack's ``AWS_ENDPOINT_URL``, so the function's only variable is ``ENDPOINT_NAME``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import sys
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

LOGGER = logging.getLogger("sagestack.handler")
_LEVEL = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").strip().upper())
LOGGER.setLevel(_LEVEL if isinstance(_LEVEL, int) else logging.INFO)  # a bad LOG_LEVEL must not break the import


def _int_setting(name: str, default: int) -> int:
    """A positive integer from the function's environment; a bad value falls back to the default."""
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


FEATURE_COUNT = _int_setting("FEATURE_COUNT", 30)
MAX_ROWS = _int_setting("MAX_ROWS", 1000)
# Linear Learner's binary_classifier labels: 1 is the positive class, malignant.
LABELS = {0: "B", 1: "M"}
JSON_HEADERS = {"Content-Type": "application/json"}
TRUE_WORDS = {"1", "true", "yes", "on"}

# Short connect timeout so an absent endpoint host fails fast; the read timeout stays under
# API Gateway's 29 s integration limit so the client gets our message, not a gateway timeout.
_CLIENT_CONFIG = Config(
    connect_timeout=_int_setting("SAGEMAKER_CONNECT_TIMEOUT", 3),
    read_timeout=_int_setting("SAGEMAKER_READ_TIMEOUT", 25),
    retries={"mode": "standard", "max_attempts": 3},
)


def _make_client() -> tuple[Any, str | None]:
    """Build the module's one client; a failure is kept and reported per request, not raised at import."""
    try:
        return boto3.client("sagemaker-runtime", config=_CLIENT_CONFIG), None
    except Exception as exc:  # noqa: BLE001 - e.g. NoRegionError: answer 500 with it instead of a crash at import
        return None, f"{type(exc).__name__}: {exc}"


RUNTIME, _RUNTIME_ERROR = _make_client()


class RequestError(Exception):
    """An answer other than 200: carries the HTTP status, a short error code and the message for the caller."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _bad_request(message: str) -> RequestError:
    return RequestError(400, "BadRequest", message)


# ---------------------------------------------------------------- request parsing (the edge)


def _is_proxy_event(event: Any) -> bool:
    """API Gateway (REST v1, HTTP API v2) and function URL events carry `requestContext`; direct payloads do not."""
    return isinstance(event, dict) and ("requestContext" in event or "httpMethod" in event or "routeKey" in event)


def _proxy_payload(event: dict[str, Any]) -> Any:
    body = event.get("body")
    if body is None or body == "":
        raise _bad_request('request body is empty; send JSON like {"data": "<30 comma-separated numbers>"}')
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise _bad_request("request body is marked base64 but is not valid base64-encoded UTF-8") from None
    if not isinstance(body, str):
        raise _bad_request("request body must be a JSON text")
    try:
        return json.loads(body)
    except RecursionError:
        raise _bad_request("request body nests too deeply; send a flat JSON object like {\"data\": \"...\"}") from None
    except ValueError as exc:
        raise _bad_request(
            f'request body is not valid JSON ({exc.args[0] if exc.args else exc}); '
            'send JSON like {"data": "<30 comma-separated numbers>"}'
        ) from None


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return False


def _verbose_requested(event: dict[str, Any], payload: dict[str, Any]) -> bool:
    if "verbose" in payload:
        return _flag(payload["verbose"])
    params = event.get("queryStringParameters") or {}
    return isinstance(params, dict) and _flag(params.get("verbose"))


def _number(value: Any, where: str) -> float:
    """One feature value: a finite number, or a string holding one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _bad_request(f"{where} is {json.dumps(value)[:40]}, not a number")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise _bad_request(f"{where} is empty; every one of the {FEATURE_COUNT} values must be a number")
        try:
            number = float(text)
        except ValueError:
            raise _bad_request(f"{where} is {text[:40]!r}, not a number") from None
    else:
        try:
            number = float(value)
        except OverflowError:
            raise _bad_request(f"{where} is too large to be a feature value") from None
    if not math.isfinite(number):
        raise _bad_request(f"{where} is {number}; NaN and infinity are not valid feature values")
    return number


def _row(value: Any, where: str) -> list[float]:
    """A row is a CSV string of FEATURE_COUNT numbers or a JSON list of them."""
    if isinstance(value, str):
        text = value.strip()
        if "\n" in text or "\r" in text:
            raise _bad_request(f"{where} holds several lines; send a batch as a JSON list of rows instead")
        fields = text.split(",") if text else []
    elif isinstance(value, list):
        fields = value
    else:
        raise _bad_request(f"{where} must be a string of comma-separated numbers or a list of numbers, not {type(value).__name__}")
    if len(fields) != FEATURE_COUNT:
        raise _bad_request(f"{where} has {len(fields)} values; expected {FEATURE_COUNT} comma-separated numbers")
    return [_number(field, f"{where}, value {i + 1}") for i, field in enumerate(fields)]


def parse_rows(payload: Any) -> tuple[list[list[float]], bool]:
    """Validate the request payload; return the rows and whether the caller sent a batch."""
    if not isinstance(payload, dict):
        raise _bad_request(f'request must be a JSON object like {{"data": "<{FEATURE_COUNT} comma-separated numbers>"}}, not {type(payload).__name__}')
    if "data" not in payload:
        raise _bad_request(f'request has no "data" field; send {{"data": "<{FEATURE_COUNT} comma-separated numbers>"}}')
    data = payload["data"]
    if isinstance(data, str):
        return [_row(data, '"data"')], False
    if isinstance(data, list):
        if data and not any(isinstance(v, (list, dict)) for v in data) and not all(isinstance(v, str) for v in data):
            return [_row(data, '"data"')], False  # one row given as a list of numbers, not a batch of rows
        if not data:
            raise _bad_request('"data" is an empty list; send at least one row')
        if len(data) > MAX_ROWS:
            raise _bad_request(f'"data" has {len(data)} rows; at most {MAX_ROWS} rows per request, split the batch')
        return [_row(item, f'"data" row {i + 1}') for i, item in enumerate(data)], True
    raise _bad_request(f'"data" must be a string of {FEATURE_COUNT} comma-separated numbers or a list of rows, not {type(data).__name__}')


# ---------------------------------------------------------------- the endpoint call


def _csv(rows: list[list[float]]) -> str:
    return "\n".join(",".join(repr(v) for v in row) for row in rows)


# A product of two numbers below sqrt(max float) cannot overflow: rows with larger features can make a
# linear model's sum overflow to inf/NaN. Used only to explain an endpoint's non-finite answer.
OVERFLOW_SAFE = math.sqrt(sys.float_info.max)


def _overflows(rows: list[list[float]]) -> bool:
    """Whether these (finite) rows hold values large enough to overflow a linear model's arithmetic."""
    return any(abs(v) > OVERFLOW_SAFE for row in rows for v in row) or any(not math.isfinite(math.fsum(map(abs, row))) for row in rows if row)


def _overflow_error(detail: str) -> RequestError:
    return _bad_request(
        f"the feature values overflow the model's arithmetic ({detail}); they are finite but far outside the "
        "training data's range: send each feature on the scale it was measured in"
    )


def _label(prediction: Any, index: int, rows: list[list[float]] | None = None) -> dict[str, Any]:
    if not isinstance(prediction, dict):
        raise RequestError(502, "BadEndpointResponse", f"the model endpoint answered prediction {index + 1} as {type(prediction).__name__}, not an object")
    score = prediction.get("score")
    if isinstance(score, float) and not math.isfinite(score):
        # Linear Learner answers a NaN/Infinity score when huge (finite) features overflow inside the model:
        # the client's input then, else the endpoint is broken.
        if rows is not None and index < len(rows) and _overflows([rows[index]]):
            raise _overflow_error(f"row {index + 1} scored {score}")
        raise RequestError(502, "BadEndpointResponse", f"the model endpoint answered score {score} for prediction {index + 1}; expected a finite number")
    raw = prediction.get("predicted_label")
    if raw is None and isinstance(score, (int, float)):
        raw = 1 if score >= 0.5 else 0  # a regressor (the original blog's setup) answers a score only
    try:
        label = LABELS[int(raw)]
    except (TypeError, ValueError, OverflowError, KeyError):  # OverflowError: int(Infinity)
        raise RequestError(502, "BadEndpointResponse", f"the model endpoint answered predicted_label {raw!r}; expected 0 or 1") from None
    out: dict[str, Any] = {"label": label}
    if isinstance(score, (int, float)):
        out["score"] = score
    return out


def _endpoint_error(exc: ClientError, endpoint: str, rows: list[list[float]] | None = None) -> RequestError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "ValidationError" and ("not found" in message.lower() or "could not find" in message.lower()):
        return RequestError(503, "EndpointNotFound", f"the model endpoint {endpoint!r} does not exist; deploy the stack (sagestack deploy) and retry")
    if code in {"ModelNotReadyException", "ServiceUnavailable", "ThrottlingException"} or status in {429, 503}:
        return RequestError(503, "EndpointUnavailable", f"the model endpoint {endpoint!r} is not ready ({code}: {message}); retry shortly")
    if code == "ModelError":
        # The container's own status (botocore puts ModelError's members beside "Error"): a 4xx is the
        # model rejecting this input (e.g. features that overflow its arithmetic) -> the client's 400.
        original = exc.response.get("OriginalStatusCode", error.get("OriginalStatusCode"))
        detail = exc.response.get("OriginalMessage") or error.get("OriginalMessage") or message
        if isinstance(original, int) and 400 <= original < 500:
            if rows is not None and _overflows(rows):
                return _overflow_error(f"the model said: {detail}")
            return _bad_request(f"the model on endpoint {endpoint!r} rejected this input: {detail}")
        return RequestError(502, "ModelError", f"the model on endpoint {endpoint!r} failed on this input: {message}")
    return RequestError(502, "EndpointError", f"the model endpoint {endpoint!r} failed: {code or status}: {message}")


def predict(rows: list[list[float]]) -> list[dict[str, Any]]:
    """Send rows to the endpoint as text/csv (Linear Learner's input format) and map its JSON answer to labels."""
    endpoint = os.environ.get("ENDPOINT_NAME", "")
    if not endpoint:
        raise RequestError(500, "Misconfigured", "the function has no ENDPOINT_NAME environment variable; redeploy the stack")
    if RUNTIME is None:
        raise RequestError(500, "Misconfigured", f"the function could not create its SageMaker runtime client: {_RUNTIME_ERROR}")
    try:
        response = RUNTIME.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=_csv(rows).encode())
        body = response["Body"].read()
    except ClientError as exc:
        raise _endpoint_error(exc, endpoint, rows) from None
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise RequestError(503, "EndpointUnreachable", f"cannot reach the SageMaker runtime for endpoint {endpoint!r}: {exc}") from None
    except ReadTimeoutError:
        raise RequestError(502, "EndpointTimeout", f"the model endpoint {endpoint!r} did not answer within {_CLIENT_CONFIG.read_timeout:g} s") from None
    except BotoCoreError as exc:
        raise RequestError(502, "EndpointError", f"calling the model endpoint {endpoint!r} failed: {exc}") from None
    try:
        predictions = json.loads(body)["predictions"]
    except (ValueError, KeyError, TypeError):
        raise RequestError(502, "BadEndpointResponse", f"the model endpoint {endpoint!r} answered {body[:200]!r}, not Linear Learner JSON predictions") from None
    if not isinstance(predictions, list) or len(predictions) != len(rows):
        count = len(predictions) if isinstance(predictions, list) else "no"
        raise RequestError(502, "BadEndpointResponse", f"the model endpoint {endpoint!r} answered {count} predictions for {len(rows)} rows")
    return [_label(p, i, rows) for i, p in enumerate(predictions)]


# ---------------------------------------------------------------- the handler


def _result(labels: list[dict[str, Any]], batch: bool, verbose: bool) -> Any:
    shaped: list[Any] = labels if verbose else [item["label"] for item in labels]
    return shaped if batch else shaped[0]


def _respond(proxy: bool, status: int, value: Any) -> Any:
    if not proxy:
        return value
    return {"statusCode": status, "headers": dict(JSON_HEADERS), "body": json.dumps(value)}


def lambda_handler(event: Any, context: Any) -> Any:
    """Entry point (`handler.lambda_handler`). Never raises: every outcome is an answer."""
    started = time.perf_counter()
    proxy = _is_proxy_event(event)
    rows: list[list[float]] = []
    try:
        payload = _proxy_payload(event) if proxy else event
        rows, batch = parse_rows(payload)
        verbose = _verbose_requested(event if proxy else {}, payload)
        answer = _respond(proxy, 200, _result(predict(rows), batch, verbose))
        status = 200
    except RequestError as exc:
        status = exc.status
        error = {"error": exc.error, "message": exc.message}
        answer = _respond(proxy, status, error) if proxy else {"statusCode": status, **error}
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug here must not become API Gateway's bare 502
        LOGGER.exception("unexpected failure")
        status = 500
        error = {"error": "InternalError", "message": f"unexpected {type(exc).__name__} in the function; see its logs"}
        answer = _respond(proxy, status, error) if proxy else {"statusCode": status, **error}
    LOGGER.info(json.dumps({"status": status, "rows": len(rows), "proxy": proxy, "ms": round((time.perf_counter() - started) * 1000, 2)}))
    return answer
