"""Property-based fuzzing over HTTP: hundreds (CI: thousands) of malformed InvokeEndpoint requests and
schema-driven (botocore shape) control-plane requests. Nothing may answer 5xx, and every
error must be one botocore parses into the code SageMaker uses."""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from botocore.parsers import create_parser
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from emulator.sagemaker import recordio
from emulator.sagemaker.shapes import operation_model, service_model
from tests.fixtures.sagemaker import start_emulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNTIME_OPERATION = service_model("sagemaker-runtime").operation_model("InvokeEndpoint")
ROW = ",".join(["1.5"] * 30)
# examples per property: 200 in a developer's `make test`; CI (.ci/run) and a deeper local run set
# SAGESTACK_FUZZ_EXAMPLES (1500 there) to search further
FUZZ = settings(max_examples=int(__import__("os").environ.get("SAGESTACK_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def _csv_bodies() -> st.SearchStrategy[bytes]:
    cell = st.one_of(numbers.map(repr), st.text(alphabet=string.printable, max_size=6), st.sampled_from(["", "nan", "inf", "-", "1e", "0x1", "1_0"]))
    row = st.lists(cell, min_size=0, max_size=33).map(",".join)
    return st.lists(row, min_size=0, max_size=4).map("\n".join).map(lambda s: s.encode("utf-8", "surrogatepass"))


def _json_bodies() -> st.SearchStrategy[bytes]:
    instance = st.one_of(
        st.fixed_dictionaries({"features": st.one_of(st.lists(json_values, max_size=32), json_values)}),
        st.fixed_dictionaries({"data": st.fixed_dictionaries({"features": st.fixed_dictionaries(
            {"values": st.lists(numbers, max_size=32)},
            optional={"keys": st.lists(st.integers(-5, 40), max_size=32), "shape": st.lists(st.integers(-1, 40), max_size=2)})})}),
        json_values,
    )
    document = st.one_of(st.fixed_dictionaries({"instances": st.one_of(st.lists(instance, max_size=4), json_values)}), json_values)
    return document.map(lambda d: json.dumps(d).encode())


def _mutate(data: bytes, positions: list[int], junk: bytes) -> bytes:
    out = bytearray(data)
    for position in positions:
        if out:
            out[position % len(out)] = junk[position % len(junk)] if junk else 0
    return bytes(out)


def _protobuf_bodies() -> st.SearchStrategy[bytes]:
    valid = recordio.encode_dense_matrix(np.ones((2, 30)))
    return st.one_of(
        st.binary(max_size=300),
        st.builds(_mutate, st.just(valid), st.lists(st.integers(0, 10_000), max_size=6), st.binary(min_size=1, max_size=6)),
        st.binary(max_size=200).map(recordio.frame),
    )


bodies = st.one_of(_csv_bodies(), _json_bodies(), _protobuf_bodies(), st.binary(max_size=500),
                   st.just(ROW.encode()), st.builds(_mutate, st.just(ROW.encode()), st.lists(st.integers(0, 500), max_size=4), st.binary(min_size=1, max_size=4)))
_VISIBLE = "".join(chr(c) for c in range(0x20, 0x7F))
content_types = st.one_of(st.sampled_from(["text/csv", "application/json", "application/jsonlines", "application/x-recordio-protobuf",
                                           "text/csv; charset=utf-8", "application/octet-stream", ""]),
                          st.text(alphabet=_VISIBLE, max_size=40).map(str.strip))
accepts = st.one_of(st.none(), st.sampled_from(["application/json", "application/jsonlines", "application/x-recordio-protobuf", "*/*", "text/csv"]),
                    st.text(alphabet=string.ascii_letters + "/*;,= ", max_size=30).map(str.strip))
# What an HTTP client can put in a header value: visible characters, inner spaces, obs-text.
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=1100).map(str.strip)


def _parse(response: httpx.Response, operation: Any) -> dict[str, Any]:
    """What botocore makes of the response (InvokeEndpoint's 200 body is a stream it does not parse)."""
    if response.status_code < 300 and operation.has_streaming_output:
        return {}
    parser = create_parser(operation.metadata["protocol"])
    return parser.parse({"status_code": response.status_code, "headers": dict(response.headers), "body": response.content},
                        operation.output_shape)


@pytest.fixture(scope="module")
def http(sagemaker_emulator):
    with httpx.Client(base_url=sagemaker_emulator.url, timeout=30) as client:
        yield client


def _rarely(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], one_in: int) -> st.SearchStrategy[Any]:
    """`rare` about once in `one_in` draws (st.one_of does not weight its branches)."""
    return st.integers(1, one_in).flatmap(lambda n: rare if n == 1 else common)


def _invoke(http: httpx.Client, endpoint: str, body: bytes, headers: dict[str, Any]) -> httpx.Response:
    response = http.post(f"/endpoints/{endpoint}/invocations", content=body, headers=headers)
    event(f"HTTP {response.status_code} {response.headers.get('x-amzn-errortype', '')}")
    assert response.status_code < 500, response.text
    parsed = _parse(response, RUNTIME_OPERATION)
    if response.status_code == 200:
        assert response.headers["x-amzn-invoked-production-variant"]
    else:
        assert (response.status_code, parsed["Error"]["Code"]) in {(424, "ModelError"), (400, "ValidationError")}, response.text
        assert parsed["Error"]["Message"]
    return response


@FUZZ
@given(body=bodies, content_type=content_types, accept=accepts)
def test_malformed_payloads_never_5xx(http, deployed_endpoint, body, content_type, accept):
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    response = _invoke(http, deployed_endpoint, body, headers)
    if response.status_code == 400:  # a payload problem is the model's (424), never a request error
        pytest.fail(f"payload answered ValidationError: {response.text}")


@FUZZ
@given(custom=st.none() | header_text, variant=st.none() | st.sampled_from(["AllTraffic", "Nope"]) | header_text,
       inference_id=st.none() | header_text, target_model=st.none() | header_text)
def test_malformed_headers_never_5xx(http, deployed_endpoint, custom, variant, inference_id, target_model):
    headers = {"Content-Type": "text/csv"}
    for name, value in (("X-Amzn-SageMaker-Custom-Attributes", custom), ("X-Amzn-SageMaker-Target-Variant", variant),
                        ("X-Amzn-SageMaker-Inference-Id", inference_id), ("X-Amzn-SageMaker-Target-Model", target_model)):
        if value is not None:
            headers[name] = value.encode("latin-1")
    response = _invoke(http, deployed_endpoint, ROW.encode(), headers)
    if response.status_code == 200 and custom is not None:
        assert response.headers["x-amzn-sagemaker-custom-attributes"].encode("latin-1") == custom.encode("latin-1")


@FUZZ
@given(name=st.text(max_size=80), body=st.binary(max_size=64), method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]))
def test_random_endpoint_names_and_methods_never_5xx(http, name, body, method):
    response = http.request(method, f"/endpoints/{quote(name, safe='')}/invocations", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code < 500, response.text
    assert response.headers.get("x-amzn-errortype") in ("ValidationError", "UnknownOperationException")


# --- control plane: requests generated from botocore's input shapes ---------------------------------------

OPERATIONS = [
    "CreateModel", "DescribeModel", "DeleteModel", "ListModels", "CreateEndpointConfig", "DescribeEndpointConfig",
    "DeleteEndpointConfig", "ListEndpointConfigs", "CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint",
    "ListEndpoints", "CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob", "AddTags", "ListTags",
    "DeleteTags", "UpdateEndpointWeightsAndCapacities",
]
CONTROL_CODES = {"ValidationException", "ResourceNotFound", "ResourceInUse", "ResourceLimitExceeded", "SerializationException",
                 "UnknownOperationException"}


def _from_shape(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly well-typed values for a botocore shape, sometimes the wrong JSON type."""
    wrong = json_values
    kind = shape.type_name
    if depth > 4:
        return st.none()
    if kind == "structure":
        members = {name: _from_shape(member, depth + 1) for name, member in list(shape.members.items())[:25]}
        required = {name: members[name] for name in shape.required_members if name in members}
        optional = {name: value for name, value in members.items() if name not in required}
        right = st.fixed_dictionaries(required, optional=optional)
    elif kind == "list":
        right = st.lists(_from_shape(shape.member, depth + 1), max_size=3)
    elif kind == "map":
        right = st.dictionaries(st.text(max_size=8), _from_shape(shape.value, depth + 1), max_size=3)
    elif kind == "string":
        right = st.sampled_from(shape.enum) if shape.enum else st.one_of(st.text(max_size=70), st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
    elif kind in ("integer", "long"):
        right = st.integers(-5, 10**6)
    elif kind in ("float", "double"):
        right = st.floats(-10, 1e6, allow_nan=False)
    elif kind == "boolean":
        right = st.booleans()
    elif kind == "timestamp":
        right = st.one_of(st.floats(0, 2e9), st.sampled_from(["2026-01-01T00:00:00Z", "not a date"]))
    else:
        right = st.text(max_size=10)
    return _rarely(right, wrong, 25)


REQUESTS = st.sampled_from(OPERATIONS).flatmap(
    lambda op: st.tuples(st.just(op), _rarely(_from_shape(operation_model(op).input_shape), json_values, 10).map(json.dumps)))


@pytest.fixture(scope="module")
def scratch_emulator(tmp_path_factory, localstack):
    proc = start_emulator(tmp_path_factory.mktemp("fuzz-control"), localstack.url)
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            yield client
    finally:
        proc.stop()


@FUZZ
@given(request=REQUESTS)
def test_schema_driven_control_plane_requests_never_5xx(scratch_emulator, request):
    operation_name, body = request
    response = scratch_emulator.post("/", content=body.encode(),
                                     headers={"X-Amz-Target": f"SageMaker.{operation_name}", "Content-Type": "application/x-amz-json-1.1"})
    event(f"HTTP {response.status_code} {response.headers.get('x-amzn-errortype', '')}")
    assert response.status_code < 500, response.text
    parsed = _parse(response, operation_model(operation_name))
    if response.status_code != 200:
        assert response.status_code == 400
        assert parsed["Error"]["Code"] in CONTROL_CODES, response.text
        assert parsed["Error"]["Message"]
