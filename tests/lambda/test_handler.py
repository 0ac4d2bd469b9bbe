"""The Lambda handler against a stubbed sagemaker-runtime client (botocore Stubber: real request
validation against the service model, canned responses) and, for connection failures, a real
closed port. The round trip through the real emulator is in tests/e2e."""

from __future__ import annotations

import ast
import base64
import io
import json
import socket
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.stack import HANDLER_PATH, ORIGINAL_ROW, load_handler

ORIGINAL_BODY = json.dumps({"data": ORIGINAL_ROW})


def proxy_event(body: str | None, query: dict[str, str] | None = None, b64: bool = False) -> dict[str, Any]:
    """A REST API (v1) AWS_PROXY event as API Gateway sends it."""
    return {
        "resource": "/ml-model-api",
        "path": "/ml-model-api",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": query,
        "requestContext": {"resourcePath": "/ml-model-api", "httpMethod": "POST", "stage": "prod"},
        "body": base64.b64encode(body.encode()).decode() if (b64 and body is not None) else body,
        "isBase64Encoded": b64,
    }


def endpoint_answer(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    raw = json.dumps({"predictions": predictions}).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


def stub_invoke(stubber: Stubber, predictions: list[dict[str, Any]], rows: int | None = None) -> None:
    expected = {"EndpointName": "sagestack", "ContentType": "text/csv", "Accept": "application/json", "Body": ANY}
    stubber.add_response("invoke_endpoint", endpoint_answer(predictions), expected)


@pytest.fixture
def stubbed(handler_module):
    with Stubber(handler_module.RUNTIME) as stubber:
        yield handler_module, stubber
        stubber.assert_no_pending_responses()


def test_original_request_gives_original_answer_byte_for_byte(stubbed):
    handler, stubber = stubbed
    sent: list[bytes] = []
    handler.RUNTIME.meta.events.register("provide-client-params.sagemaker-runtime.InvokeEndpoint", lambda params, **_: sent.append(params["Body"]))
    stub_invoke(stubber, [{"score": 0.02, "predicted_label": 0}])
    answer = handler.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == 200
    assert answer["body"] == '"B"'
    assert answer["headers"]["Content-Type"] == "application/json"
    # The endpoint got exactly the 30 numbers as one CSV line.
    assert [float(v) for v in sent[0].decode().split(",")] == [float(v) for v in ORIGINAL_ROW.split(",")]


def test_direct_invocation_same_payload_returns_bare_label(stubbed):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.98, "predicted_label": 1}])
    assert handler.lambda_handler({"data": ORIGINAL_ROW}, None) == "M"


def test_http_api_v2_event_is_a_proxy_event(stubbed):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.1, "predicted_label": 0}])
    event = {"version": "2.0", "routeKey": "POST /ml-model-api", "requestContext": {"http": {"method": "POST"}}, "body": ORIGINAL_BODY, "isBase64Encoded": False}
    assert handler.lambda_handler(event, None)["body"] == '"B"'


def test_base64_body(stubbed):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.1, "predicted_label": 0}])
    assert handler.lambda_handler(proxy_event(ORIGINAL_BODY, b64=True), None)["body"] == '"B"'


def test_batch_of_rows_gives_labels_in_order(stubbed):
    handler, stubber = stubbed
    sent: list[bytes] = []
    handler.RUNTIME.meta.events.register("provide-client-params.sagemaker-runtime.InvokeEndpoint", lambda params, **_: sent.append(params["Body"]))
    numbers = [float(v) for v in ORIGINAL_ROW.split(",")]
    stub_invoke(stubber, [{"score": 0.1, "predicted_label": 0}, {"score": 0.9, "predicted_label": 1}, {"score": 0.2, "predicted_label": 0.0}])
    answer = handler.lambda_handler(proxy_event(json.dumps({"data": [ORIGINAL_ROW, numbers, ORIGINAL_ROW]})), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == ["B", "M", "B"]
    assert len(sent[0].decode().split("\n")) == 3  # one request to the endpoint, one CSV line per row


def test_single_row_as_list_of_numbers(stubbed):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.9, "predicted_label": 1}])
    numbers = [float(v) for v in ORIGINAL_ROW.split(",")]
    assert handler.lambda_handler({"data": numbers}, None) == "M"


@pytest.mark.parametrize("how", ["body", "query"])
def test_verbose_form_has_score(stubbed, how):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.97, "predicted_label": 1}])
    if how == "body":
        event = proxy_event(json.dumps({"data": ORIGINAL_ROW, "verbose": True}))
    else:
        event = proxy_event(ORIGINAL_BODY, query={"verbose": "true"})
    answer = handler.lambda_handler(event, None)
    assert json.loads(answer["body"]) == {"label": "M", "score": 0.97}


def test_verbose_batch(stubbed):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.97, "predicted_label": 1}, {"score": 0.01, "predicted_label": 0}])
    answer = handler.lambda_handler({"data": [ORIGINAL_ROW, ORIGINAL_ROW], "verbose": True}, None)
    assert answer == [{"label": "M", "score": 0.97}, {"label": "B", "score": 0.01}]


def test_regressor_answer_without_predicted_label_uses_score(stubbed):
    handler, stubber = stubbed
    stub_invoke(stubber, [{"score": 0.7}])
    assert handler.lambda_handler({"data": ORIGINAL_ROW}, None) == "M"


def _with(row: str, index: int, value: str) -> str:
    values = row.split(",")
    values[index] = value
    return ",".join(values)


BAD_BODIES = {
    "not json": ("{data: 1", "not valid JSON"),
    "missing field": (json.dumps({"rows": ORIGINAL_ROW}), 'no "data" field'),
    "not an object": (json.dumps([ORIGINAL_ROW]), "must be a JSON object"),
    "too few": (json.dumps({"data": "1,2,3"}), "has 3 values; expected 30"),
    "too many": (json.dumps({"data": ORIGINAL_ROW + ",1"}), "has 31 values; expected 30"),
    "empty string": (json.dumps({"data": ""}), "has 0 values; expected 30"),
    "non-numeric": (json.dumps({"data": _with(ORIGINAL_ROW, 4, "abc")}), "value 5 is 'abc', not a number"),
    "empty field": (json.dumps({"data": _with(ORIGINAL_ROW, 0, "")}), "value 1 is empty"),
    "nan": (json.dumps({"data": _with(ORIGINAL_ROW, 2, "nan")}), "NaN and infinity"),
    "NaN literal": ('{"data": [' + ",".join(["NaN"] + ["1"] * 29) + "]}", "NaN and infinity"),
    "infinity": (json.dumps({"data": _with(ORIGINAL_ROW, 2, "inf")}), "NaN and infinity"),
    "bool value": (json.dumps({"data": [True] + [1.0] * 29}), "not a number"),
    "number data": (json.dumps({"data": 5}), "must be a string"),
    "empty batch": (json.dumps({"data": []}), "empty list"),
    "too many rows": (json.dumps({"data": [ORIGINAL_ROW] * 1001}), "at most 1000 rows"),
    "bad row in batch": (json.dumps({"data": [ORIGINAL_ROW, "1,2"]}), "row 2 has 2 values"),
    "object row": (json.dumps({"data": [{"a": 1}]}), "row 1 must be a string"),
    "deep nesting": ('{"data": ' + "[" * 100000 + "]" * 100000 + "}", "nests too deeply"),
    "huge integer": ('{"data": [' + ",".join(["1" + "0" * 400] + ["1"] * 29) + "]}", "too large"),
    "multi-line string": (json.dumps({"data": ORIGINAL_ROW + "\n" + ORIGINAL_ROW}), "several lines"),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_input_is_400_with_message(handler_module, name):
    body, expected = BAD_BODIES[name]
    with Stubber(handler_module.RUNTIME):  # no responses queued: any endpoint call would fail the test
        answer = handler_module.lambda_handler(proxy_event(body), None)
    assert answer["statusCode"] == 400, answer
    error = json.loads(answer["body"])
    assert error["error"] == "BadRequest"
    assert expected in error["message"]


def test_empty_body_is_400(handler_module):
    answer = handler_module.lambda_handler(proxy_event(None), None)
    assert answer["statusCode"] == 400
    assert "body is empty" in json.loads(answer["body"])["message"]


def test_bad_base64_is_400(handler_module):
    event = proxy_event("x")
    event["isBase64Encoded"] = True
    event["body"] = "***"
    assert handler_module.lambda_handler(event, None)["statusCode"] == 400


def test_direct_invocation_error_is_an_answer_not_an_exception(handler_module):
    answer = handler_module.lambda_handler({"data": "1,2"}, None)
    assert answer["statusCode"] == 400 and answer["error"] == "BadRequest"
    assert handler_module.lambda_handler("just a string", None)["statusCode"] == 400
    assert handler_module.lambda_handler(None, None)["statusCode"] == 400


@pytest.mark.parametrize(
    ("code", "http", "message", "status", "expected"),
    [
        ("ValidationError", 400, "Endpoint sagestack of account 000000000000 not found.", 503, "does not exist"),
        ("ModelNotReadyException", 429, "Model not ready", 503, "not ready"),
        ("ServiceUnavailable", 503, "Service unavailable", 503, "not ready"),
        ("ModelError", 424, "Received server error (500) from primary", 502, "failed on this input"),
        ("InternalFailure", 500, "boom", 502, "failed"),
    ],
)
def test_endpoint_errors_map_to_502_503(stubbed, code, http, message, status, expected):
    handler, stubber = stubbed
    stubber.add_client_error("invoke_endpoint", service_error_code=code, service_message=message, http_status_code=http)
    answer = handler.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == status
    assert expected in json.loads(answer["body"])["message"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"nothing": 1}', b'{"predictions": []}', b'{"predictions": [{"predicted_label": 7}]}', b'{"predictions": ["x"]}',
     b'{"predictions": [{"predicted_label": Infinity}]}'],
)
def test_malformed_endpoint_answer_is_502(stubbed, body):
    handler, stubber = stubbed
    stubber.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(body), len(body))})
    answer = handler.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == 502
    assert json.loads(answer["body"])["error"] == "BadEndpointResponse"


def test_unreachable_endpoint_is_503(monkeypatch, handler_module):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connections are refused
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("SAGEMAKER_CONNECT_TIMEOUT", "1")
    handler = load_handler("sagestack_lambda_handler_closed_port")
    assert handler.RUNTIME.meta.endpoint_url == f"http://127.0.0.1:{port}"  # the environment redirects, not code
    answer = handler.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == 503
    assert "cannot reach" in json.loads(answer["body"])["message"]


def test_missing_endpoint_name_is_500_not_a_crash(monkeypatch, handler_module):
    monkeypatch.delenv("ENDPOINT_NAME")
    answer = handler_module.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == 500
    assert "ENDPOINT_NAME" in json.loads(answer["body"])["message"]


def test_no_region_at_import_is_reported_per_request(monkeypatch, handler_module):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    handler = load_handler("sagestack_lambda_handler_no_region")
    assert handler.RUNTIME is None
    answer = handler.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == 500 and "NoRegionError" in json.loads(answer["body"])["message"]


def test_unexpected_bug_becomes_500(stubbed, monkeypatch):
    handler, _ = stubbed

    def broken(rows):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(handler, "predict", broken)
    answer = handler.lambda_handler(proxy_event(ORIGINAL_BODY), None)
    assert answer["statusCode"] == 500 and json.loads(answer["body"])["error"] == "InternalError"


def test_handler_uses_only_the_lambda_runtime_and_no_endpoint_url():
    """The zip ships handler.py alone: it may import only the stdlib and boto3/botocore (in every
    Lambda Python runtime), and holds no endpoint URL (the environment redirects the client)."""
    source = HANDLER_PATH.read_text()
    tree = ast.parse(source)
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    import sys

    assert roots - set(sys.stdlib_module_names) <= {"boto3", "botocore"}
    assert "http://" not in source and "https://" not in source and "endpoint_url" not in source


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(["data", "verbose", "x"]), children, max_size=3),
    max_leaves=40,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values)
def test_arbitrary_json_never_crashes(handler_module, payload):
    with Stubber(handler_module.RUNTIME) as stubber:
        stubber.add_response("invoke_endpoint", endpoint_answer([{"score": 0.5, "predicted_label": 1}]))
        answer = handler_module.lambda_handler(proxy_event(json.dumps(payload)), None)
    assert answer["statusCode"] in {200, 400, 502}
    json.loads(answer["body"])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=200))
def test_arbitrary_body_text_never_crashes(handler_module, body):
    with Stubber(handler_module.RUNTIME):
        answer = handler_module.lambda_handler(proxy_event(body), None)
    assert answer["statusCode"] in {400, 502, 503}
    assert json.loads(answer["body"])["message"]


def test_bad_settings_in_the_environment_do_not_break_the_import(monkeypatch, handler_module):
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    monkeypatch.setenv("MAX_ROWS", "lots")
    monkeypatch.setenv("SAGEMAKER_READ_TIMEOUT", "-1")
    handler = load_handler("sagestack_lambda_handler_bad_settings")
    assert handler.MAX_ROWS == 1000 and handler.FEATURE_COUNT == 30
    assert handler.lambda_handler({"data": "1"}, None)["statusCode"] == 400


HUGE_BODY = json.dumps({"data": ",".join(["1e308"] * 30)})


def test_model_rejecting_overflowing_features_is_400_not_502(stubbed):
    """1e308 in every feature is finite, so the handler passes it on; the model's sum overflows and the
    container rejects the row (ModelError with OriginalStatusCode 400): the client's mistake, a 400."""
    handler, stubber = stubbed
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (400) from primary with message ...",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 400, "OriginalMessage": "Unable to evaluate payload provided: row 1 overflows the model's arithmetic"},
    )
    answer = handler.lambda_handler(proxy_event(HUGE_BODY), None)
    assert answer["statusCode"] == 400, answer
    error = json.loads(answer["body"])
    assert error["error"] == "BadRequest" and "overflow" in error["message"] and "scale" in error["message"]


@pytest.mark.parametrize("score", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_score_is_400_for_huge_features_and_502_otherwise(stubbed, score):
    """An endpoint may instead answer a non-finite score: the input's fault only when the input could overflow."""
    handler, stubber = stubbed
    body = b'{"predictions": [{"score": ' + score + b', "predicted_label": 0}]}'
    for request, expected in ((HUGE_BODY, 400), (ORIGINAL_BODY, 502)):
        stubber.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(body), len(body))})
        answer = handler.lambda_handler(proxy_event(request), None)
        assert answer["statusCode"] == expected, (request[:40], answer)
    assert json.loads(answer["body"])["error"] == "BadEndpointResponse"


def test_model_failing_with_a_server_error_stays_502(stubbed):
    handler, stubber = stubbed
    stubber.add_client_error(
        "invoke_endpoint", service_error_code="ModelError", service_message="Received server error (500) from primary", http_status_code=424,
        modeled_fields={"OriginalStatusCode": 500, "OriginalMessage": "worker died"},
    )
    answer = handler.lambda_handler(proxy_event(HUGE_BODY), None)
    assert answer["statusCode"] == 502 and json.loads(answer["body"])["error"] == "ModelError"
