"""The numpy reader/writer of MXNet's files, checked against bytes MXNet 1.9.1 itself wrote.

The fixtures under tests/fixtures/mxnet/ come from `make_fixtures.py` run with real MXNet:
Linear Learner graphs saved by `Module.save_checkpoint` and packed in AWS's layout, with the
outputs of MXNet's own forward pass, and `mx.nd.save` of arrays in every dtype and storage type.
"""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from training.artifact import ArtifactError, load_model_tar
from training.aws_artifact import AwsArtifactError, read_model_algo, read_zip_members
from training.inference import predict
from training.mxnet_format import (
    MXNetFormatError,
    linear_symbol_json,
    load_ndarrays,
    parse_linear_symbol,
    save_ndarrays,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mxnet"


def _algo(kind: str) -> bytes:
    with tarfile.open(FIXTURES / kind / "model.tar.gz") as tar:
        return tar.extractfile("model_algo-1").read()


def test_reads_every_dtype_and_storage_type_mxnet_wrote():
    arrays = load_ndarrays((FIXTURES / "arrays.params").read_bytes())
    expected = json.loads((FIXTURES / "arrays.json").read_text())
    assert list(arrays) == list(expected)
    for name, spec in expected.items():
        assert arrays[name].dtype == np.dtype(spec["dtype"]), name
        np.testing.assert_array_equal(arrays[name], np.array(spec["value"], dtype=spec["dtype"]), err_msg=name)


def test_writer_reproduces_mxnet_bytes_for_dense_arrays():
    data = _zip_member(_algo("regressor"), "mx-mod-0000.params")
    assert save_ndarrays(load_ndarrays(data)) == data


@pytest.mark.parametrize("kind", ["regressor", "binary_classifier"])
def test_mxnet_made_artifacts_serve_mxnets_own_scores(kind):
    expected = json.loads((FIXTURES / kind / "expected.json").read_text())
    model = load_model_tar(FIXTURES / kind / "model.tar.gz")
    assert model.predictor_type == kind and model.feature_dim == 5
    predictions = predict(model, expected["rows"])
    np.testing.assert_allclose([p["score"] for p in predictions], expected["mxnet_outputs"], rtol=1e-6, atol=1e-7)
    if kind == "binary_classifier":
        assert [p["predicted_label"] for p in predictions] == [int(s > 0.5) for s in expected["mxnet_outputs"]]
    else:
        assert all(set(p) == {"score"} for p in predictions)


def test_mxnet_symbol_is_recognised():
    symbol = parse_linear_symbol(_zip_member(_algo("binary_classifier"), "mx-mod-symbol.json"))
    assert (symbol.data, symbol.weight, symbol.bias) == ("data", "fc0_weight", "fc0_bias")
    assert symbol.head == "LogisticRegressionOutput" and symbol.shapes["fc0_weight"] == (5, 1)


def _zip_member(algo: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(algo)) as archive:
        return archive.read(name)


def _rezip(algo: bytes, replace: dict[str, bytes | None] | None = None, extra: list[zipfile.ZipInfo] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(algo)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = (replace or {}).get(info.filename, source.read(info))
            if body is not None:
                target.writestr(info.filename, body)
        for info in extra or []:
            target.writestr(info, b"x")
    return out.getvalue()


def _params(weight: np.ndarray, bias: np.ndarray) -> bytes:
    return save_ndarrays({"arg:fc0_bias": bias, "arg:fc0_weight": weight})


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info


GOOD = _algo("regressor")
SYMBOL = json.loads(_zip_member(GOOD, "mx-mod-symbol.json"))


def _symbol_with(mutate) -> bytes:
    graph = json.loads(json.dumps(SYMBOL))
    mutate(graph)
    return json.dumps(graph).encode()


@pytest.mark.parametrize(
    ("algo", "message"),
    [
        (_rezip(GOOD, extra=[zipfile.ZipInfo("../evil")]), "escapes the archive"),
        (_rezip(GOOD, extra=[zipfile.ZipInfo("/etc/evil")]), "absolute path"),
        (_rezip(GOOD, extra=[_link("link")]), "symbolic link"),
        (_rezip(GOOD, extra=[zipfile.ZipInfo(f"f{i}") for i in range(20)]), "members \\(limit 16\\)"),
        (_rezip(GOOD, {"mx-mod-symbol.json": None}), "lacks \\['mx-mod-symbol.json'\\]"),
        (b"not a zip", "not a valid zip archive"),
        (_rezip(GOOD, {"additional-params.json": b'{"predictor_type": "multiclass_classifier"}'}), "not served"),
        (_rezip(GOOD, {"additional-params.json": b'{"predictor_type": "regressor", "threshold": NaN}'}), "not valid JSON"),
        (_rezip(GOOD, {"manifest.json": b"{}"}), "does not describe an MXNet module"),
        (_rezip(GOOD, {"mx-mod-0000.params": _params(np.full((5, 1), np.nan, np.float32), np.zeros((1, 1), np.float32))}),
         "NaN or infinite"),
        (_rezip(GOOD, {"mx-mod-0000.params": _params(np.ones((4, 1), np.float32), np.zeros((1, 1), np.float32))}),
         "symbol declares \\(5, 1\\)"),
        (_rezip(GOOD, {"mx-mod-0000.params": _params(np.ones((5, 2), np.float32), np.zeros((1, 1), np.float32))}),
         "expected \\(feature_dim, 1\\)"),
        (_rezip(GOOD, {"mx-mod-0000.params": save_ndarrays({"arg:fc0_weight": np.ones((5, 1), np.float32)})}),
         "no parameter 'arg:fc0_bias'"),
        (_rezip(GOOD, {"mx-mod-0000.params": _zip_member(GOOD, "mx-mod-0000.params")[:60]}), "truncated"),
        (_rezip(GOOD, {"mx-mod-0000.params": b"garbage" * 10}), "magic 0x112"),
        (_rezip(GOOD, {"mx-mod-symbol.json": _symbol_with(lambda g: g["nodes"][2].__setitem__("op", "Custom"))}),
         "uses the op 'Custom'"),
        (_rezip(GOOD, {"mx-mod-symbol.json": _symbol_with(lambda g: g["heads"].append([0, 0, 0]))}), "exactly one"),
        (_rezip(GOOD, {"mx-mod-symbol.json": _symbol_with(
            lambda g: g["nodes"][2].__setitem__("attrs", {"transpose_b": "True"}))}), "is transposed"),
        (_rezip(GOOD, {"mx-mod-symbol.json": b"{"}), "not valid JSON"),
    ],
)
def test_hostile_or_foreign_model_algo_is_refused(algo, message):
    with pytest.raises(AwsArtifactError, match=message):
        read_model_algo(algo)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("model_algo-1")
        info.size = len(algo)
        tar.addfile(info, io.BytesIO(algo))
    with pytest.raises(ArtifactError, match=message):
        load_model_tar(raw.getvalue())


def test_zip_bomb_member_is_refused(monkeypatch):
    from training import aws_artifact

    monkeypatch.setattr(aws_artifact, "MAX_ZIP_MEMBER_BYTES", 1000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mx-mod-0000.params", b"\0" * 100_000)
    with pytest.raises(AwsArtifactError, match="over the 1000-byte limit"):
        read_zip_members(out.getvalue())


def test_hostile_lengths_never_allocate():
    header = struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii", 0xF993FAC9, 0, 2) + struct.pack("<qq", 2**40, 2**20)
    with pytest.raises(MXNetFormatError, match="truncated"):
        load_ndarrays(header + struct.pack("<iii", 1, 0, 0))
    with pytest.raises(MXNetFormatError, match="claims 4294967296 arrays"):
        load_ndarrays(struct.pack("<QQQ", 0x112, 0, 2**32))
    with pytest.raises(MXNetFormatError, match="dtype flag 99"):
        load_ndarrays(struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iiiq", 0xF993FAC9, 0, 1, 1) + struct.pack("<iii", 1, 0, 99))


def test_written_symbol_is_the_aws_graph():
    graph = json.loads(linear_symbol_json(513, "LinearRegressionOutput"))
    assert [n["op"] for n in graph["nodes"]] == ["null", "null", "dot", "null", "broadcast_add", "null", "LinearRegressionOutput"]
    assert graph["nodes"][1]["attrs"] == {"__shape__": "(513, 1)"}
    assert graph["nodes"][3]["attrs"] == {"__lr_mult__": "10.0", "__shape__": "(1, 1)"}
    assert graph["arg_nodes"] == [0, 1, 3, 5] and graph["attrs"] == {"mxnet_version": ["int", 10301]}
