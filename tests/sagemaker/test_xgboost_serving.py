"""The sagemaker-xgboost container's request/response formats and refusals (xgboost_serving), without a server."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emulator.sagemaker import recordio
from emulator.sagemaker.images import XGBOOST, algorithm_for_image, is_supported_image, unsupported_image_reason
from emulator.sagemaker.payloads import PayloadError
from emulator.sagemaker.xgboost_serving import invoke
from training.xgboost.artifact import load_booster
from tests.fixtures.lazy import lazy_module

xgb = lazy_module("xgboost")  # imported by the worker that runs these tests only (tests/fixtures/lazy.py)

RNG = np.random.default_rng(0)
X = RNG.random((60, 4))


def _model(params: dict, label: np.ndarray, rounds: int = 5):
    booster = xgb.train(params, xgb.DMatrix(X, label=label), num_boost_round=rounds)
    return booster, load_booster(bytes(booster.save_raw("ubj")))


@pytest.fixture(scope="module")
def binary():
    return _model({"objective": "binary:logistic"}, (X[:, 0] > 0.5).astype(float))


def _csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def test_csv_in_csv_out_by_default(binary):
    booster, model = binary
    media, body = invoke(model, "text/csv", None, _csv(X[:3]))
    assert media == "text/csv"
    expected = booster.predict(xgb.DMatrix(X[:3]))
    assert body.decode() == "".join(f"{v}\n" for v in expected.tolist())


def test_json_and_jsonlines_and_recordio_responses(binary):
    booster, model = binary
    expected = booster.predict(xgb.DMatrix(X[:3])).tolist()
    _, body = invoke(model, "text/csv", "application/json", _csv(X[:3]))
    assert json.loads(body) == {"predictions": [{"score": v} for v in expected]}
    _, body = invoke(model, "text/csv", "application/jsonlines", _csv(X[:3]))
    assert [json.loads(line) for line in body.decode().splitlines()] == [{"score": v} for v in expected]
    media, body = invoke(model, "text/csv", "application/x-recordio-protobuf", _csv(X[:3]))
    records = recordio.decode_records(body)
    assert media == "application/x-recordio-protobuf" and len(records) == 3
    np.testing.assert_allclose([r.label["score"].values[0] for r in records], expected, rtol=1e-6)


def test_libsvm_and_recordio_requests(binary):
    booster, model = binary
    expected = booster.predict(xgb.DMatrix(X[:5]))
    libsvm = "\n".join(" ".join(f"{i + 1}:{v!r}" for i, v in enumerate(row)) for row in X[:5].tolist()).encode()
    for content_type in ("text/libsvm", "text/x-libsvm", None):  # no Content-Type means LIBSVM in the container
        _, body = invoke(model, content_type, "application/json", libsvm)
        np.testing.assert_allclose([p["score"] for p in json.loads(body)["predictions"]], expected, rtol=1e-6)
    _, body = invoke(model, "application/x-recordio-protobuf", "text/csv", recordio.encode_dense_matrix(X[:5]))
    np.testing.assert_allclose([float(v) for v in body.decode().split()], expected, rtol=1e-6)


def test_missing_csv_fields_are_missing_values(binary):
    booster, model = binary
    _, body = invoke(model, "text/csv", None, b"0.9,,0.1,0.2")
    expected = booster.predict(xgb.DMatrix(np.array([[0.9, np.nan, 0.1, 0.2]])))
    assert float(body) == pytest.approx(float(expected[0]), rel=1e-6)


def test_multiclass_softprob_rows_and_softmax_labels():
    labels = np.floor(X[:, 0] * 3).clip(0, 2)
    booster, prob = _model({"objective": "multi:softprob", "num_class": 3}, labels)
    _, body = invoke(prob, "text/csv", None, _csv(X[:2]))
    rows = [[float(v) for v in line.split(",")] for line in body.decode().splitlines()]
    np.testing.assert_allclose(rows, booster.predict(xgb.DMatrix(X[:2])), rtol=1e-6)
    _, soft = _model({"objective": "multi:softmax", "num_class": 3}, labels)
    _, body = invoke(soft, "text/csv", "application/json", _csv(X[:2]))
    assert all(p["score"] in (0.0, 1.0, 2.0) for p in json.loads(body)["predictions"])


def test_regression_objective():
    booster, model = _model({"objective": "reg:squarederror"}, X[:, 0] * 10)
    _, body = invoke(model, "text/csv", "application/json", _csv(X[:2]))
    np.testing.assert_allclose([p["score"] for p in json.loads(body)["predictions"]], booster.predict(xgb.DMatrix(X[:2])), rtol=1e-6)


@pytest.mark.parametrize(
    "content_type, accept, body, status, words",
    [
        ("text/csv", None, b"a,b,c,d", 415, "Loading csv data failed with Exception"),
        ("text/csv", None, b"1,2,3,4\n1,2", 415, "Loading csv data failed with Exception"),
        ("text/libsvm", None, b"1:x", 415, "Loading libsvm data failed with Exception"),
        ("application/x-recordio-protobuf", None, b"\x00\x01garbage", 415, "Loading recordio-protobuf data failed"),
        ("application/json", None, b"{}", 415, "application/json is not an accepted ContentType"),
        ("text/csv", None, b"1,2,3,4,5", 400, "Unable to evaluate payload provided"),
        ("text/csv", "text/html", b"1,2,3,4", 406, "Accept type text/html is not supported. Please use supported accept types"),
    ],
)
def test_refusals_carry_the_container_status(binary, content_type, accept, body, status, words):
    _, model = binary
    with pytest.raises(PayloadError) as info:
        invoke(model, content_type, accept, body)
    assert info.value.status == status and words in info.value.message


def test_empty_body_is_no_content(binary):
    assert invoke(binary[1], "text/csv", None, b"") == ("text/csv", b"")


@pytest.mark.parametrize(
    "image, version",
    [
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "1.7-1"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-cpu-py3", "1.7-1"),
        ("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:3.0-5", "3.0-5"),
        ("281123927165.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/sagemaker-xgboost:3.2-0", "3.2-0"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:" + "a" * 64, "3.0-5"),
    ],
)
def test_xgboost_images_in_any_partition(image, version):
    algorithm = algorithm_for_image(image)
    assert algorithm is not None and (algorithm.name, algorithm.version) == (XGBOOST, version)


def test_old_and_foreign_images_are_refused_with_reasons():
    old = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-2"
    assert not is_supported_image(old) and "1.7-1" in unsupported_image_reason(old)
    for image in ("sagemaker-xgboost:1.7-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost-evil:1.7-1"):
        assert not is_supported_image(image)
