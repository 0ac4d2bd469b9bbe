"""Unit tests of the emulator's wire formats, checked against independent implementations:
botocore's service model and parsers, Google's protobuf runtime, botocore's SigV4 signer,
and the training pipeline's shared inference function."""

from __future__ import annotations

import io
import json
import math
import struct

import numpy as np
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from emulator.sagemaker import payloads, recordio
from emulator.sagemaker.auth import Authenticator
from emulator.sagemaker.errors import AuthError, SerializationException, ValidationException
from emulator.sagemaker.serving import EndpointRoute, RowScorer, ServingVariant
from emulator.sagemaker.shapes import operation_model, serialize_output, validate_input
from training.artifact import LinearModel
from training.inference import score_matrix


def _model(dim: int = 30, seed: int = 0, predictor_type: str = "binary_classifier") -> LinearModel:
    rng = np.random.default_rng(seed)
    return LinearModel(
        predictor_type=predictor_type,
        feature_dim=dim,
        feature_names=[f"f{i}" for i in range(dim)],
        weights=rng.normal(size=dim),
        bias=float(rng.normal()),
        feature_shift=rng.normal(size=dim),
        feature_scale=rng.uniform(0.5, 2.0, size=dim),
        loss="logistic" if predictor_type == "binary_classifier" else "squared_loss",
        threshold=0.5 if predictor_type == "binary_classifier" else None,
    )


# --- input validation against botocore's model -------------------------------------------------


def test_missing_required_member_is_reported_like_aws():
    with pytest.raises(ValidationException) as info:
        validate_input(operation_model("CreateEndpoint"), {"EndpointName": "ok"})
    assert info.value.message == (
        "1 validation error detected: Value null at 'endpointConfigName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_pattern_length_enum_and_range_violations_are_all_listed():
    params = {
        "EndpointConfigName": "bad_name",
        "ProductionVariants": [{"VariantName": "v" * 64, "ModelName": "m", "InstanceType": "ml.nope", "InitialInstanceCount": 0}],
    }
    with pytest.raises(ValidationException) as info:
        validate_input(operation_model("CreateEndpointConfig"), params)
    message = info.value.message
    assert message.startswith("5 validation errors detected: ")  # the 64-char name breaks length and pattern
    assert "Value 'bad_name' at 'endpointConfigName' failed to satisfy constraint: Member must satisfy regular expression pattern" in message
    assert "at 'productionVariants.1.member.variantName' failed to satisfy constraint: Member must have length less than or equal to 63" in message
    assert "Value 'ml.nope' at 'productionVariants.1.member.instanceType' failed to satisfy constraint: Member must satisfy enum value set: [" in message
    assert "Value 0 at 'productionVariants.1.member.initialInstanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1" in message


def test_list_length_and_wrong_json_types():
    with pytest.raises(ValidationException, match="productionVariants' failed to satisfy constraint: Member must have length greater than or equal to 1"):
        validate_input(operation_model("CreateEndpointConfig"), {"EndpointConfigName": "c", "ProductionVariants": []})
    with pytest.raises(SerializationException, match="'productionVariants' must be an array"):
        validate_input(operation_model("CreateEndpointConfig"), {"EndpointConfigName": "c", "ProductionVariants": "x"})
    with pytest.raises(SerializationException, match="'maxResults' must be an integer"):
        validate_input(operation_model("ListEndpoints"), {"MaxResults": "10"})
    with pytest.raises(SerializationException, match="must be a boolean"):
        validate_input(operation_model("CreateModel"), {"ModelName": "m", "EnableNetworkIsolation": "yes"})


def test_numbers_beyond_a_double_are_a_serialization_error_not_a_crash():
    # JSON allows integers of any length; float members and timestamps cannot hold them.
    huge = int("9" * 400)
    variant = {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    with pytest.raises(SerializationException, match="'productionVariants.1.member.initialVariantWeight' must be a number, got a number outside the range of a double"):
        validate_input(
            operation_model("CreateEndpointConfig"),
            {"EndpointConfigName": "c", "ProductionVariants": [{**variant, "InitialVariantWeight": huge}]},
        )
    with pytest.raises(SerializationException, match="'creationTimeAfter' must be a timestamp"):
        validate_input(operation_model("ListModels"), {"CreationTimeAfter": huge})


def test_valid_botocore_request_passes():
    validate_input(
        operation_model("CreateTrainingJob"),
        {
            "TrainingJobName": "job-1",
            "AlgorithmSpecification": {"TrainingImage": "x", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
            "HyperParameters": {"feature_dim": "30"},
            "Tags": [{"Key": "team name", "Value": "ml:α"}],
            "ListTimestamps": 1.5,
        },
    )


def test_output_is_serialized_through_the_shape():
    out = serialize_output(
        operation_model("DescribeEndpoint").output_shape,
        {"EndpointName": "e", "EndpointStatus": "InService", "CreationTime": 1700000000.1234, "_private": 1, "Unknown": 2,
         "ProductionVariants": [{"VariantName": "v", "CurrentWeight": float("nan")}]},
    )
    assert out == {"EndpointName": "e", "EndpointStatus": "InService", "CreationTime": 1700000000.123,
                   "ProductionVariants": [{"VariantName": "v"}]}


# --- RecordIO-protobuf against Google's protobuf runtime --------------------------------------------


def _protobuf_record_class():
    """The `aialgs.data.Record` schema from the SageMaker developer guide, built with google.protobuf."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="sagestack_record_test.proto", package="aialgs.data", syntax="proto2")

    def tensor(name: str, value_type: int) -> None:
        msg = file.message_type.add(name=name)
        for number, field_name, ftype in ((1, "values", value_type), (2, "keys", F.TYPE_UINT64), (3, "shape", F.TYPE_UINT64)):
            field = msg.field.add(name=field_name, number=number, type=ftype, label=F.LABEL_REPEATED)
            field.options.packed = True

    tensor("Float32Tensor", F.TYPE_FLOAT)
    tensor("Float64Tensor", F.TYPE_DOUBLE)
    tensor("Int32Tensor", F.TYPE_INT32)
    value = file.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for number, name, type_name in ((2, "float32_tensor", "Float32Tensor"), (3, "float64_tensor", "Float64Tensor"), (7, "int32_tensor", "Int32Tensor")):
        value.field.add(name=name, number=number, type=F.TYPE_MESSAGE, type_name=f".aialgs.data.{type_name}",
                        label=F.LABEL_OPTIONAL, oneof_index=0)
    record = file.message_type.add(name="Record")
    for number, name, entry in ((1, "features", "FeaturesEntry"), (2, "label", "LabelEntry")):
        nested = record.nested_type.add(name=entry)
        nested.options.map_entry = True
        nested.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        nested.field.add(name="value", number=2, type=F.TYPE_MESSAGE, type_name=".aialgs.data.Value", label=F.LABEL_OPTIONAL)
        record.field.add(name=name, number=number, type=F.TYPE_MESSAGE, type_name=f".aialgs.data.Record.{entry}",
                         label=F.LABEL_REPEATED)
    record.field.add(name="uid", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data.Record"))


Record = _protobuf_record_class()


def _frame(payload: bytes) -> bytes:
    """RecordIO framing exactly as the SageMaker SDK's `_write_recordio` writes it."""
    out = io.BytesIO()
    out.write(struct.pack("I", 0xCED7230A))
    out.write(struct.pack("I", len(payload)))
    out.write(payload)
    out.write(b"\x00" * ((((len(payload) + 3) >> 2) << 2) - len(payload)))
    return out.getvalue()


def test_decodes_dense_float32_float64_and_int32_records_written_by_protobuf():
    rows = np.array([[1.5, -2.0, 3.25], [0.0, 7.0, -1.0], [4.0, 5.0, 6.0]])
    body = b""
    for index, row in enumerate(rows):
        record = Record()
        kind = ("float32_tensor", "float64_tensor", "int32_tensor")[index]
        getattr(record.features["values"], kind).values.extend(row.astype(int).tolist() if kind == "int32_tensor" else row.tolist())
        record.uid = f"row-{index}"
        body += _frame(record.SerializeToString())
    matrix = recordio.feature_matrix(body, 3)
    np.testing.assert_allclose(matrix, [[1.5, -2.0, 3.25], [0.0, 7.0, -1.0], [4.0, 5.0, 6.0]])


def test_decodes_sparse_records_and_rejects_bad_keys():
    record = Record()
    tensor = record.features["values"].float32_tensor
    tensor.values.extend([2.0, 3.0])
    tensor.keys.extend([1, 4])
    tensor.shape.append(5)
    np.testing.assert_allclose(recordio.feature_matrix(_frame(record.SerializeToString()), 5), [[0, 2, 0, 0, 3]])
    tensor.keys[1] = 9
    with pytest.raises(recordio.RecordIOError, match="key 9 outside"):
        recordio.feature_matrix(_frame(record.SerializeToString()), 5)


def test_training_channel_sparse_records_are_checked_like_requests(tmp_path):
    """A RecordIO training channel with a key outside its shape fails as a ClientError naming the record."""
    from emulator.sagemaker.training_worker import ChannelError, _recordio_to_csv

    record = Record()
    tensor = record.features["values"].float32_tensor
    tensor.values.extend([2.0, 3.0])
    tensor.keys.extend([1, 4])
    tensor.shape.append(5)
    record.label["values"].float32_tensor.values.append(1.0)
    good = tmp_path / "good.pbr"
    good.write_bytes(_frame(record.SerializeToString()))
    _recordio_to_csv(good, "train")
    assert (tmp_path / "good.csv").read_text() == "1.0,0.0,2.0,0.0,0.0,3.0\n"
    tensor.keys[1] = 9
    bad = tmp_path / "bad.pbr"
    bad.write_bytes(_frame(record.SerializeToString()))
    with pytest.raises(ChannelError, match=r"ClientError: Unable to read data channel 'train': record 1 has a key 9 outside 0\.\.4 in bad\.pbr"):
        _recordio_to_csv(bad, "train")


def test_encoded_predictions_parse_with_protobuf():
    body = recordio.encode_predictions(np.array([0.25, 0.75]), np.array([0, 1]))
    records = recordio.split_records(body)
    assert len(records) == 2
    parsed = Record.FromString(records[1])
    assert parsed.label["score"].float32_tensor.values[0] == pytest.approx(0.75)
    assert parsed.label["predicted_label"].float32_tensor.values[0] == 1.0
    request = recordio.encode_dense_matrix(np.array([[1.0, 2.0]]))
    assert list(Record.FromString(recordio.split_records(request)[0]).features["values"].float32_tensor.values) == [1.0, 2.0]


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"\x00\x01", "truncated RecordIO header"),
        (struct.pack("<II", 0xDEADBEEF, 0), "bad RecordIO magic"),
        (struct.pack("<II", 0xCED7230A, 100) + b"abc", "claims 100 bytes"),
        (_frame(b"\x0a\x05abc"), "truncated protobuf"),
        (_frame(b"\x0b"), "unsupported protobuf wire type"),
        (_frame(b""), "no 'values' feature tensor"),
    ],
)
def test_malformed_recordio_is_a_clear_error(body, problem):
    with pytest.raises(recordio.RecordIOError, match=problem):
        recordio.feature_matrix(body, 3)


@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_anything_but_recordio_errors(data):
    try:
        recordio.feature_matrix(data, 3)
    except recordio.RecordIOError:
        pass


# --- request/response formats ----------------------------------------------------------------------


def test_json_jsonlines_and_csv_requests_agree():
    rows = [[1.0, 2.0, 3.0], [4.0, 5.5, -6.0]]
    csv = payloads.parse_request(payloads.CSV, b"1,2,3\n4,5.5,-6\n", 3)
    dense = payloads.parse_request(payloads.JSON, json.dumps({"instances": [{"features": r} for r in rows]}).encode(), 3)
    data_form = payloads.parse_request(
        payloads.JSON, json.dumps({"instances": [{"data": {"features": {"values": r}}} for r in rows]}).encode(), 3
    )
    lines = payloads.parse_request(payloads.JSONLINES, b"\n".join(json.dumps({"features": r}).encode() for r in rows), 3)
    sparse = payloads.parse_request(
        payloads.JSON, json.dumps({"instances": [{"data": {"features": {"keys": [0, 2], "shape": [3], "values": [1, 3]}}}]}).encode(), 3
    )
    for matrix in (csv, dense, data_form, lines):
        np.testing.assert_array_equal(matrix, rows)
    np.testing.assert_array_equal(sparse, [[1, 0, 3]])


@pytest.mark.parametrize(
    "media, body, status",
    [
        (payloads.CSV, b"", 400),
        (payloads.CSV, b"1,2,x", 400),
        (payloads.CSV, b"1,2\n3", 400),
        (payloads.CSV, b"\xff\xfe", 400),
        (payloads.JSON, b"{", 400),
        (payloads.JSON, b'{"instances": [{"features": [1, "2", 3]}]}', 400),
        (payloads.JSON, b'{"instances": [{"features": [1, true, 3]}]}', 400),
        (payloads.JSON, b'{"instances": []}', 400),
        (payloads.JSON, b'[1, 2, 3]', 400),
        (payloads.JSON, b'{"instances": [{"features": [1e999999, 1, 1]}]}', None),  # parses; scoring rejects inf
        (payloads.JSONLINES, b'{"features": [1, 2, 3]}\nnot json', 400),
    ],
)
def test_bad_payloads_are_container_errors(media, body, status):
    if status is None:
        matrix = payloads.parse_request(media, body, 3)
        assert not np.isfinite(matrix).all()
        return
    with pytest.raises(payloads.PayloadError) as info:
        payloads.parse_request(media, body, 3)
    assert info.value.status == status
    assert info.value.message.startswith("Unable to evaluate payload provided")


def test_content_negotiation():
    assert payloads.request_format("text/csv; charset=utf-8") == payloads.CSV
    assert payloads.request_format("application/jsonlines") == payloads.JSONLINES
    assert payloads.response_format(None) == payloads.JSON
    assert payloads.response_format("*/*") == payloads.JSON
    assert payloads.response_format("text/html, application/jsonlines;q=0.9") == payloads.JSONLINES
    with pytest.raises(payloads.PayloadError) as info:
        payloads.request_format("text/plain")
    assert info.value.status == 415
    with pytest.raises(payloads.PayloadError) as info:
        payloads.response_format("text/csv")
    assert info.value.status == 406


def test_render_formats_match_linear_learner():
    scores, labels = np.array([0.25, 0.875]), np.array([0, 1])
    assert json.loads(payloads.render(payloads.JSON, scores, labels)) == {
        "predictions": [{"score": 0.25, "predicted_label": 0}, {"score": 0.875, "predicted_label": 1}]
    }
    lines = payloads.render(payloads.JSONLINES, scores, labels).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"score": 0.25, "predicted_label": 0}, {"score": 0.875, "predicted_label": 1}]
    assert json.loads(payloads.render(payloads.JSON, np.array([3.5]), None)) == {"predictions": [{"score": 3.5}]}
    assert json.loads(payloads.render_one_json(0.25, 0)) == {"predictions": [{"score": 0.25, "predicted_label": 0}]}


# --- the single-row fast path agrees with the shared inference function ---------------------------------

_finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(st.lists(_finite, min_size=30, max_size=30), st.integers(0, 5), st.sampled_from(["binary_classifier", "regressor"]))
def test_row_scorer_matches_score_matrix(row, seed, predictor_type):
    model = _model(seed=seed, predictor_type=predictor_type)
    fast = RowScorer.for_model(model).score(row)
    scores, labels = score_matrix(model, np.array([row]))
    assert fast is not None
    assert fast[0] == pytest.approx(float(scores[0]), rel=1e-9, abs=1e-12)
    if labels is None:
        assert fast[1] is None
    elif abs(float(scores[0]) - model.threshold) > 1e-9:
        assert fast[1] == int(labels[0])


def test_row_scorer_defers_non_finite_rows_to_the_shared_path():
    model = _model()
    assert RowScorer.for_model(model).score([math.inf] + [0.0] * 29) is None
    assert RowScorer.for_model(model).score([math.nan] + [0.0] * 29) is None


def test_weighted_variant_choice_follows_weights():
    import random

    route = EndpointRoute("e", (ServingVariant("a", _model(), 3.0), ServingVariant("b", _model(), 1.0), ServingVariant("z", _model(), 0.0)))
    rng = random.Random(1)
    picks = [route.pick(rng).name for _ in range(8000)]
    assert picks.count("z") == 0
    assert 0.72 < picks.count("a") / len(picks) < 0.78
    assert EndpointRoute("e", (ServingVariant("a", _model(), 0.0),)).pick(rng) is None


# --- SigV4 verification against botocore's signer ---------------------------------------------------


def _signed(secret: str, body: bytes = b'{"a":1}', path: str = "/endpoints/my-ep/invocations") -> AWSRequest:
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:4567{path}?b=2&a=1", data=body,
                         headers={"Content-Type": "text/csv", "X-Amz-Target": "SageMaker.ListModels"})
    SigV4Auth(Credentials("test", secret), "sagemaker", "us-east-1").add_auth(request)
    return request


def _check(auth: Authenticator, request: AWSRequest, body: bytes = b'{"a":1}') -> None:
    from urllib.parse import urlsplit

    url = urlsplit(request.url)
    headers = {key.lower(): [value] for key, value in request.headers.items()}
    headers["host"] = [url.netloc]
    auth.check("POST", url.path, url.query, headers, body)


def test_signature_mode_accepts_botocore_signatures_and_rejects_wrong_secrets():
    auth = Authenticator("signature", {"test": "test"})
    _check(auth, _signed("test"))
    with pytest.raises(AuthError) as info:
        _check(auth, _signed("not-the-secret"))
    assert (info.value.code, info.value.status) == ("InvalidSignatureException", 403)
    with pytest.raises(AuthError) as info:
        _check(auth, _signed("test"), body=b"tampered")
    assert info.value.code == "InvalidSignatureException"


def test_access_key_mode_and_missing_header():
    auth = Authenticator("access-key", {"other": "x"})
    with pytest.raises(AuthError) as info:
        _check(auth, _signed("test"))
    assert (info.value.code, info.value.status) == ("UnrecognizedClientException", 403)
    with pytest.raises(AuthError) as info:
        auth.check("POST", "/", "", {}, b"")
    assert info.value.code == "MissingAuthenticationTokenException"
