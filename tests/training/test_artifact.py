"""model.tar.gz round trip and the loader's refusal of hostile or inconsistent archives."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from training import artifact
from training.artifact import (
    METADATA_MEMBER,
    MODEL_MEMBER,
    ArtifactError,
    LinearModel,
    content_hash,
    load_model_tar,
    model_to_bytes,
    save_model_tar,
)
from training.aws_artifact import ALGO_MEMBER
from training.inference import score_matrix


def _model(**overrides) -> LinearModel:
    fields = dict(
        predictor_type="binary_classifier",
        feature_dim=3,
        feature_names=("a", "b", "c"),
        weights=[0.5, -1.0, 2.0],
        bias=0.25,
        feature_shift=[1.0, 2.0, 3.0],
        feature_scale=[2.0, 1.0, 0.5],
        loss="logistic",
        threshold=0.5,
        metrics={"test:recall": 0.9},
        hyperparameters={"predictor_type": "binary_classifier"},
    )
    fields.update(overrides)
    return LinearModel(**fields)


def _document(model: LinearModel | None = None) -> dict:
    return (model or _model()).to_document()


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue()) if compress else raw.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def _doc_bytes(document: dict, rehash: bool = True) -> bytes:
    if rehash:
        body = {k: v for k, v in document.items() if k != "content_sha256"}
        document = {**body, "content_sha256": content_hash(body)}
    return json.dumps(document).encode()


GOOD = _doc_bytes(_document())


# --------------------------------------------------------------------------- round trip


def test_round_trip_serves_the_folded_float32_model_and_keeps_metadata(tmp_path):
    model = _model()
    path = save_model_tar(model, tmp_path / "out" / "model.tar.gz")
    assert path.name == "model.tar.gz" and path.is_file()
    for source in (path, path.read_bytes()):
        loaded = load_model_tar(source)
        # Normalisation is folded into the weights, as Linear Learner stores them (float32).
        np.testing.assert_array_equal(loaded.weights, model.effective_weights.astype(np.float32))
        assert not loaded.feature_shift.any() and (loaded.feature_scale == 1).all()
        assert (loaded.feature_names, loaded.metrics, loaded.hyperparameters) == (
            model.feature_names, model.metrics, model.hyperparameters,
        )
        assert (loaded.threshold, loaded.loss, loaded.predictor_type) == (model.threshold, model.loss, model.predictor_type)
        X = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.5]])
        np.testing.assert_allclose(score_matrix(loaded, X)[0], score_matrix(model, X)[0], rtol=1e-6)


def test_archive_has_aws_layout_and_is_deterministic(tmp_path):
    a = save_model_tar(_model(), tmp_path / "a.tar.gz").read_bytes()
    b = save_model_tar(_model(), tmp_path / "b.tar.gz").read_bytes()
    assert a == b
    with tarfile.open(fileobj=io.BytesIO(a), mode="r:gz") as tar:
        assert tar.getnames() == [ALGO_MEMBER, METADATA_MEMBER]
        document = json.loads(tar.extractfile(METADATA_MEMBER).read())
    for key in ("feature_names", "normalization_folded_into_weights", "metrics", "versions", "model_algo_sha256",
                "content_sha256"):
        assert key in document
    assert document["normalization_folded_into_weights"]["feature_scale"] == [2.0, 1.0, 0.5]


def test_earlier_json_format_still_loads():
    loaded = load_model_tar(_tar([_file(MODEL_MEMBER, GOOD)]))
    assert loaded.to_document() == _model().to_document()


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def test_aws_layout_without_metadata_is_served_unnamed():
    algo = _members(model_to_bytes(_model()))[ALGO_MEMBER]
    loaded = load_model_tar(_tar([_file(ALGO_MEMBER, algo)]))
    assert loaded.feature_names == () and loaded.metrics == {} and loaded.feature_dim == 3


def test_metadata_for_another_model_is_refused():
    members = _members(model_to_bytes(_model()))
    other = _members(model_to_bytes(_model(weights=[9.0, 9.0, 9.0])))[ALGO_MEMBER]
    with pytest.raises(ArtifactError, match="describes another model_algo-1"):
        load_model_tar(_tar([_file(ALGO_MEMBER, other), _file(METADATA_MEMBER, members[METADATA_MEMBER])]))
    tampered = json.loads(members[METADATA_MEMBER])
    tampered["metrics"] = {"test:recall": 1.0}
    with pytest.raises(ArtifactError, match="does not match its content hash"):
        load_model_tar(_tar([_file(ALGO_MEMBER, members[ALGO_MEMBER]), _file(METADATA_MEMBER, json.dumps(tampered).encode())]))


def test_real_trained_artifact_loads(trained_model_tar):
    model = load_model_tar(trained_model_tar)
    assert model.feature_dim == 30 and len(model.feature_names) == 30
    assert model.feature_names[7] == "concave points_mean"
    assert model.metrics["test:binary_classification_accuracy"] > 0.9
    assert {"sagestack", "numpy", "python"} <= set(model.versions)


def test_regressor_round_trip(tmp_path):
    model = _model(predictor_type="regressor", loss="absolute_loss", threshold=None, label_shift=3.0, label_scale=2.0)
    loaded = load_model_tar(save_model_tar(model, tmp_path / "m.tar.gz"))
    assert loaded.threshold is None and loaded.loss == "absolute_loss"
    X = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.5]])  # label de-normalisation is folded in too
    np.testing.assert_allclose(score_matrix(loaded, X)[0], score_matrix(model, X)[0], rtol=1e-6)


# --------------------------------------------------------------------------- hostile archives


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_file("/etc/model.json", GOOD), "absolute path"),
        (_file("../model.json", GOOD), "escapes the archive"),
        (_file("dir/../../x", b"x"), "escapes the archive"),
        (_special("model.json", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
        (_special("link", tarfile.LNKTYPE, "model.json"), "is a link"),
        (_special("dev", tarfile.CHRTYPE), "device or FIFO"),
        (_special("blk", tarfile.BLKTYPE), "device or FIFO"),
        (_special("fifo", tarfile.FIFOTYPE), "device or FIFO"),
    ],
)
def test_rejects_unsafe_members(member, message):
    data = _tar([_file(MODEL_MEMBER, GOOD), member])
    with pytest.raises(ArtifactError, match=message):
        load_model_tar(data)


def test_rejects_oversize_member(monkeypatch):
    monkeypatch.setattr(artifact, "MAX_MEMBER_BYTES", 1024)
    data = _tar([_file(MODEL_MEMBER, GOOD), _file("big.bin", b"\0" * 2048)])
    with pytest.raises(ArtifactError, match="over the 1024-byte limit"):
        load_model_tar(data)


def test_rejects_decompression_bomb(monkeypatch):
    monkeypatch.setattr(artifact, "MAX_UNCOMPRESSED_BYTES", 64 * 1024)
    bomb = gzip.compress(b"\0" * (1024 * 1024))  # 1 MiB of zeros compresses to ~1 kB
    assert len(bomb) < 4096
    with pytest.raises(ArtifactError, match="decompression bomb"):
        load_model_tar(bomb)


def test_rejects_oversize_compressed_file(tmp_path, monkeypatch):
    monkeypatch.setattr(artifact, "MAX_COMPRESSED_BYTES", 100)
    path = tmp_path / "model.tar.gz"
    path.write_bytes(b"\x1f\x8b" + b"\0" * 200)
    with pytest.raises(ArtifactError, match="over the 100-byte limit"):
        load_model_tar(path)


def test_rejects_too_many_members(monkeypatch):
    monkeypatch.setattr(artifact, "MAX_MEMBERS", 3)
    data = _tar([_file(f"f{i}", b"x") for i in range(5)])
    with pytest.raises(ArtifactError, match="more than 3 members"):
        load_model_tar(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\x1f\x8bnot really gzip", "not a valid gzip file"),
        (b"plain garbage that is no tar", "not a valid tar archive"),
        (_tar([_file("other.json", GOOD)]), "contains neither model_algo-1"),
        (_tar([_file(MODEL_MEMBER, GOOD), _file("./model.json", GOOD)]), "holds model.json twice"),
        (_tar([_file(MODEL_MEMBER, b"{not json")]), "is not valid JSON"),
        (_tar([_file(MODEL_MEMBER, b'{"weights": [NaN]}')]), "is not valid JSON"),
        (_tar([_file(MODEL_MEMBER, b"[1, 2]")]), "must hold a JSON object"),
    ],
)
def test_rejects_malformed_archives(data, message):
    with pytest.raises(ArtifactError, match=message):
        load_model_tar(data)


def test_plain_uncompressed_tar_is_accepted():
    assert load_model_tar(_tar([_file(MODEL_MEMBER, GOOD)], compress=False)).feature_dim == 3


def test_rejects_tampered_content():
    document = _document()
    document["weights"][0] = 99.0  # hash no longer matches
    with pytest.raises(ArtifactError, match="content hash does not match"):
        load_model_tar(_tar([_file(MODEL_MEMBER, _doc_bytes(document, rehash=False))]))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.__setitem__("weights", [1.0, 2.0]), "'weights' has shape \\(2,\\), but feature_dim is 3"),
        (lambda d: d["normalization"].__setitem__("feature_scale", [1.0, 1.0, 1.0, 1.0]), "'feature_scale' has shape"),
        (lambda d: d["normalization"].__setitem__("feature_scale", [1.0, 0.0, 1.0]), "must be positive"),
        (lambda d: d.__setitem__("feature_names", ["a"]), "1 feature names but feature_dim is 3"),
        (lambda d: d.__setitem__("feature_dim", "3"), "feature_dim must be an integer"),
        (lambda d: d.__setitem__("weights", [1.0, "x", 2.0]), "must be a list of numbers"),
        (lambda d: d.__setitem__("bias", None), "'bias' must be a number"),
        (lambda d: d.__setitem__("threshold", None), "needs a decision threshold"),
        (lambda d: d.__setitem__("predictor_type", "multiclass_classifier"), "not supported"),
        (lambda d: d.__setitem__("loss", "squared_loss"), "not valid for binary_classifier"),
        (lambda d: d.__setitem__("format", "pickle"), "not a sagestack model"),
        (lambda d: d.__setitem__("format_version", 99), "format_version 99 is not supported"),
        (lambda d: d.pop("weights"), "missing the field 'weights'"),
    ],
)
def test_rejects_inconsistent_models(mutate, message):
    document = _document()
    mutate(document)
    with pytest.raises(ArtifactError, match=message):
        load_model_tar(_tar([_file(MODEL_MEMBER, _doc_bytes(document))]))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ArtifactError, match="cannot read model archive"):
        load_model_tar(tmp_path / "absent.tar.gz")


def test_model_arrays_are_read_only():
    model = _model()
    with pytest.raises(ValueError):
        model.weights[0] = 1.0
    with pytest.raises(ValueError):
        model.effective_weights[0] = 1.0


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    save_model_tar(_model(), tmp_path / "model.tar.gz")
    assert [p.name for p in Path(tmp_path).iterdir()] == ["model.tar.gz"]
