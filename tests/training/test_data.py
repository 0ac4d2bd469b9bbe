"""Raw data parsing and rejection, stratified splitting, Linear Learner CSV channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data import (
    COLUMN_NAMES,
    FEATURE_NAMES,
    ChannelFormatError,
    Dataset,
    WdbcFormatError,
    load_wdbc,
    prepare_channels,
    read_channel_csv,
    split_dataset,
    write_channel_csv,
)


def _lines(wdbc_file: Path) -> list[str]:
    return wdbc_file.read_text().splitlines()


def _write(tmp_path: Path, lines: list[str], name: str = "bad.data") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- names and materialisation


def test_feature_names_are_the_notebooks():
    assert len(FEATURE_NAMES) == 30
    assert FEATURE_NAMES[:3] == ["radius_mean", "texture_mean", "perimeter_mean"]
    assert "concave points_mean" in FEATURE_NAMES
    assert "concave points_se" in FEATURE_NAMES
    assert FEATURE_NAMES[-1] == "fractal_dimension_worst"
    assert COLUMN_NAMES[:2] == ["id", "diagnosis"] and COLUMN_NAMES[2:] == FEATURE_NAMES


def test_materialised_file_matches_sklearn_with_malignant_as_one(wdbc_file, wdbc_dataset):
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    assert len(wdbc_dataset) == 569
    np.testing.assert_array_equal(wdbc_dataset.X, bunch.data)
    # sklearn's target 0 means malignant; ours (like the notebook's diagnosis == 'M') is 1.
    np.testing.assert_array_equal(wdbc_dataset.y, 1 - bunch.target)
    assert int(wdbc_dataset.y.sum()) == 212
    first = _lines(wdbc_file)[0].split(",")
    assert len(first) == 32 and first[1] == "M" and first[2:5] == ["17.99", "10.38", "122.8"]
    assert len(set(wdbc_dataset.ids.tolist())) == 569


def test_accepts_csv_with_the_notebooks_header_and_trailing_empty_column(tmp_path, wdbc_file):
    header = ",".join(f'"{name}"' for name in COLUMN_NAMES) + ","
    body = [line + "," for line in _lines(wdbc_file)[:20]]
    path = _write(tmp_path, [header, *body], "data.csv")
    ds = load_wdbc(path)
    assert len(ds) == 20
    np.testing.assert_array_equal(ds.X, load_wdbc(wdbc_file).X[:20])


def test_header_columns_may_come_in_any_order(tmp_path, wdbc_file):
    names = list(reversed(COLUMN_NAMES))
    rows = [",".join(reversed(line.split(","))) for line in _lines(wdbc_file)[:5]]
    ds = load_wdbc(_write(tmp_path, [",".join(names), *rows]))
    np.testing.assert_array_equal(ds.X, load_wdbc(wdbc_file).X[:5])


# --------------------------------------------------------------------------- rejection


def test_rejects_wrong_column_count_naming_file_and_line(tmp_path, wdbc_file):
    lines = _lines(wdbc_file)[:10]
    lines[6] = lines[6].rsplit(",", 1)[0]
    path = _write(tmp_path, lines)
    with pytest.raises(WdbcFormatError) as info:
        load_wdbc(path)
    message = str(info.value)
    assert str(path) in message and "line 7" in message and "expected 32 columns" in message and "found 31" in message
    assert info.value.line == 7


def test_rejects_non_numeric_value_naming_line_and_column(tmp_path, wdbc_file):
    lines = _lines(wdbc_file)[:10]
    fields = lines[3].split(",")
    fields[9] = "0.1x"  # column 10 = concave points_mean
    lines[3] = ",".join(fields)
    with pytest.raises(WdbcFormatError) as info:
        load_wdbc(_write(tmp_path, lines))
    message = str(info.value)
    assert "line 4" in message and "column 10 (concave points_mean)" in message and "'0.1x' is not a number" in message
    assert (info.value.line, info.value.column) == (4, 10)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", ""])
def test_rejects_non_finite_or_empty_values(tmp_path, wdbc_file, value):
    lines = _lines(wdbc_file)[:5]
    fields = lines[1].split(",")
    fields[2] = value
    lines[1] = ",".join(fields)
    with pytest.raises(WdbcFormatError, match=r"line 2, column 3 \(radius_mean\)"):
        load_wdbc(_write(tmp_path, lines))


def test_rejects_unknown_diagnosis(tmp_path, wdbc_file):
    lines = _lines(wdbc_file)[:5]
    fields = lines[2].split(",")
    fields[1] = "X"
    lines[2] = ",".join(fields)
    with pytest.raises(WdbcFormatError) as info:
        load_wdbc(_write(tmp_path, lines))
    assert "line 3, column 2 (diagnosis)" in str(info.value) and "unknown diagnosis 'X'" in str(info.value)
    assert "'M'" in str(info.value) and "'B'" in str(info.value)


def test_rejects_duplicate_ids_naming_both_lines(tmp_path, wdbc_file):
    lines = _lines(wdbc_file)[:8]
    first_id = lines[1].split(",")[0]
    fields = lines[5].split(",")
    fields[0] = first_id
    lines[5] = ",".join(fields)
    with pytest.raises(WdbcFormatError) as info:
        load_wdbc(_write(tmp_path, lines))
    message = str(info.value)
    assert "line 6, column 1 (id)" in message and f"duplicate id {first_id}" in message and "first seen on line 2" in message


def test_rejects_non_integer_id(tmp_path, wdbc_file):
    lines = _lines(wdbc_file)[:3]
    lines[0] = "abc" + lines[0][lines[0].index(","):]
    with pytest.raises(WdbcFormatError, match=r"line 1, column 1 \(id\): 'abc' is not an integer id"):
        load_wdbc(_write(tmp_path, lines))


def test_rejects_empty_binary_and_missing_files(tmp_path):
    empty = tmp_path / "empty.data"
    empty.write_text("\n\n")
    with pytest.raises(WdbcFormatError, match="no data rows"):
        load_wdbc(empty)
    binary = tmp_path / "binary.data"
    binary.write_bytes(b"1,M,1.0\n\xff\xfe\x00garbage")
    with pytest.raises(WdbcFormatError, match="line 2.*not UTF-8"):
        load_wdbc(binary)
    with pytest.raises(WdbcFormatError, match="file not found"):
        load_wdbc(tmp_path / "missing.data")
    with pytest.raises(WdbcFormatError, match="is a directory"):
        load_wdbc(tmp_path)


def test_rejects_header_with_unknown_or_missing_columns(tmp_path, wdbc_file):
    names = list(COLUMN_NAMES)
    names[5] = "bogus"
    with pytest.raises(WdbcFormatError, match="line 1, column 6: unknown column name 'bogus'"):
        load_wdbc(_write(tmp_path, [",".join(names), _lines(wdbc_file)[0]]))
    with pytest.raises(WdbcFormatError, match="lacks column"):
        load_wdbc(_write(tmp_path, [",".join(COLUMN_NAMES[:-1])]))


# --------------------------------------------------------------------------- splitting


def test_default_split_sizes_and_stratification(wdbc_dataset):
    splits = split_dataset(wdbc_dataset)
    sizes = {name: len(part) for name, part in splits.items()}
    assert sizes == {"train": 455, "validation": 57, "test": 57}
    overall = wdbc_dataset.y.mean()
    for _, part in splits.items():
        # stratified: each split's malignant share within one row of the overall share
        assert abs(part.y.sum() - overall * len(part)) <= 1.0
    all_ids = np.concatenate([part.ids for _, part in splits.items()])
    assert sorted(all_ids.tolist()) == sorted(wdbc_dataset.ids.tolist())  # disjoint and complete


def test_split_is_deterministic_per_seed(wdbc_dataset):
    a = split_dataset(wdbc_dataset, seed=7)
    b = split_dataset(wdbc_dataset, seed=7)
    c = split_dataset(wdbc_dataset, seed=8)
    for (_, x), (_, y) in zip(a.items(), b.items(), strict=True):
        np.testing.assert_array_equal(x.ids, y.ids)
    assert not np.array_equal(a.test.ids, c.test.ids)


def test_split_fractions_are_configurable_and_validated(wdbc_dataset):
    splits = split_dataset(wdbc_dataset, fractions=(0.6, 0.2, 0.2), seed=1)
    assert [len(p) for _, p in splits.items()] == [341, 114, 114]
    no_validation = split_dataset(wdbc_dataset, fractions=(0.9, 0.0, 0.1))
    assert len(no_validation.validation) == 0
    for bad in [(0.8, 0.1), (0.5, 0.5, 0.5), (0.0, 0.5, 0.5), (0.9, -0.1, 0.2), ("a", 1, 0)]:
        with pytest.raises(ValueError):
            split_dataset(wdbc_dataset, fractions=bad)


def test_split_refuses_too_few_rows(wdbc_dataset):
    tiny = wdbc_dataset.subset(np.array([0, 1, 19]))  # M, M, B
    with pytest.raises(ValueError, match="would be empty"):
        split_dataset(tiny)
    one_class = wdbc_dataset.subset(np.flatnonzero(wdbc_dataset.y == 1)[:30])
    with pytest.raises(ValueError, match="only one class"):
        split_dataset(one_class)


# --------------------------------------------------------------------------- channels


def test_channel_round_trip_is_exact(tmp_path, wdbc_dataset):
    path = write_channel_csv(tmp_path / "c" / "train.csv", wdbc_dataset.X, wdbc_dataset.y)
    first = path.read_text().splitlines()[0].split(",")
    assert first[0] == "1" and first[1] == "17.99"  # label first, no header
    X, y = read_channel_csv(path)
    np.testing.assert_array_equal(X, wdbc_dataset.X)
    np.testing.assert_array_equal(y, wdbc_dataset.y)


def test_channel_directory_reads_every_file_sorted_skipping_hidden(tmp_path, wdbc_dataset):
    folder = tmp_path / "train"
    write_channel_csv(folder / "part-b.csv", wdbc_dataset.X[10:20], wdbc_dataset.y[10:20])
    write_channel_csv(folder / "part-a.csv", wdbc_dataset.X[:10], wdbc_dataset.y[:10])
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    X, y = read_channel_csv(folder)
    np.testing.assert_array_equal(X, wdbc_dataset.X[:20])
    np.testing.assert_array_equal(y, wdbc_dataset.y[:20])


def test_channel_errors_name_file_line_and_column(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2.0,3.0\n0,1.0\n")
    with pytest.raises(ChannelFormatError, match=r"ragged.csv, line 2: expected 3 columns like the first row, found 2"):
        read_channel_csv(ragged)
    text = tmp_path / "text.csv"
    text.write_text("1,2.0,3.0\n0,1.0,abc\n")
    with pytest.raises(ChannelFormatError, match=r"text.csv, line 2, column 3: 'abc' is not a number"):
        read_channel_csv(text)
    header = tmp_path / "header.csv"
    header.write_text("label,f1\n1,2\n")
    with pytest.raises(ChannelFormatError, match=r"line 1, column 1 \(label\): 'label' is not a number"):
        read_channel_csv(header)
    nan = tmp_path / "nan.csv"
    nan.write_text("1,nan\n")
    with pytest.raises(ChannelFormatError, match="not a finite number"):
        read_channel_csv(nan)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChannelFormatError, match="no data files"):
        read_channel_csv(tmp_path / "empty")
    with pytest.raises(ChannelFormatError, match="does not exist"):
        read_channel_csv(tmp_path / "nowhere")


def test_prepare_channels_writes_the_three_channels(tmp_path):
    channels = prepare_channels(tmp_path / "out", seed=3)
    assert set(channels) == {"train", "validation", "test"}
    assert channels["train"] == tmp_path / "out" / "train" / "train.csv"
    assert (tmp_path / "out" / "wdbc.data").is_file() and (tmp_path / "out" / "split.json").is_file()
    rows = {name: read_channel_csv(path)[0].shape for name, path in channels.items()}
    assert rows == {"train": (455, 30), "validation": (57, 30), "test": (57, 30)}


def test_prepare_channels_from_a_user_file(tmp_path, wdbc_file):
    subset = _write(tmp_path, _lines(wdbc_file)[:200], "user.data")
    channels = prepare_channels(tmp_path / "out", source=subset, fractions=(0.5, 0.25, 0.25))
    assert sum(read_channel_csv(p)[0].shape[0] for p in channels.values()) == 200
    assert not (tmp_path / "out" / "wdbc.data").exists()


def test_dataset_subset_keeps_alignment(wdbc_dataset):
    part = wdbc_dataset.subset(np.array([5, 2]))
    assert isinstance(part, Dataset)
    assert part.ids.tolist() == [wdbc_dataset.ids[5], wdbc_dataset.ids[2]]
    np.testing.assert_array_equal(part.X[1], wdbc_dataset.X[2])
