"""The Wisconsin Diagnostic Breast Cancer data: raw `wdbc.data`, stratified splits, Linear Learner channels.

The raw format is UCI's `wdbc.data`: no header, one patient per line, `id, diagnosis (M/B),
30 features` (docs/ARCHITECTURE.md, "The worked example"). Offline we materialise that file from the copy
scikit-learn ships (same 569 rows, same numbers as text; sklearn's target 0 means malignant).
sklearn's copy carries no patient ids, so materialised rows get sequence numbers 1..569.

A user-supplied file may be that layout or a CSV with a header naming the columns (e.g. the
widely shared `data.csv` with a trailing empty column). Anything malformed is rejected with
a `WdbcFormatError` naming the file, line and column.

Channels are written the way Linear Learner reads `text/csv`: label first, no header.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contract.dataset import CHANNELS, FEATURE_COUNT

# Column names exactly as the original notebook set them (three contain a space).
_MEASUREMENTS = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal_dimension",
)
FEATURE_NAMES: list[str] = [f"{m}_{stat}" for stat in ("mean", "se", "worst") for m in _MEASUREMENTS]
COLUMN_NAMES: list[str] = ["id", "diagnosis", *FEATURE_NAMES]
DIAGNOSIS_LABELS = {"M": 1, "B": 0}  # label 1 = malignant, as in the notebook (diagnosis == 'M')
DEFAULT_SEED = 42
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_NAMES = CHANNELS  # one split per Linear Learner channel
MAX_INPUT_BYTES = 512 * 1024 * 1024


class DataFormatError(ValueError):
    """Malformed input data; `str()` names the file, line and column and says what is wrong."""

    def __init__(self, path: Path | str, line: int | None, column: int | None, reason: str, column_name: str | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.column_name = column_name
        self.reason = reason
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}" + (f" ({column_name})" if column_name else "")
        super().__init__(f"{where}: {reason}")


class WdbcFormatError(DataFormatError):
    """A raw `wdbc.data` / CSV file that does not have the UCI layout."""


class ChannelFormatError(DataFormatError):
    """A Linear Learner CSV channel (label first, no header) that cannot be parsed."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows of the WDBC table: `y` is 1 for malignant ("M"), 0 for benign ("B")."""

    ids: np.ndarray  # (n,) int64
    X: np.ndarray  # (n, 30) float64
    y: np.ndarray  # (n,) int64
    source: str = ""

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, index: np.ndarray) -> Dataset:
        return Dataset(ids=self.ids[index], X=self.X[index], y=self.y[index], source=self.source)


@dataclass(frozen=True, eq=False)
class Splits:
    train: Dataset
    validation: Dataset
    test: Dataset

    def items(self) -> list[tuple[str, Dataset]]:
        return [("train", self.train), ("validation", self.validation), ("test", self.test)]


# --------------------------------------------------------------------------- raw wdbc.data


def _sklearn_data_file() -> Path | None:
    """Where scikit-learn keeps its copy of the table, found without importing scikit-learn.

    Importing the package (for `importlib.resources`) costs seconds of CPU (scipy.stats and more),
    which every `sagestack up`, `deploy` and `status` would pay only to read one CSV: `find_spec` of a
    top-level package locates it without running its `__init__`.
    """
    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "breast_cancer.csv"
        if path.is_file():
            return path
    return None


def _sklearn_rows() -> list[tuple[list[str], int]]:
    """sklearn's breast-cancer table as (30 feature strings, sklearn target) keeping its exact text."""
    path = _sklearn_data_file()
    if path is not None:
        text = path.read_text()
    else:  # pragma: no cover - fallback for a repackaged sklearn (zipped, or the file moved)
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        return [([repr(float(v)) for v in row], int(t)) for row, t in zip(bunch.data, bunch.target, strict=True)]
    lines = text.splitlines()
    rows = []
    for line in lines[1:]:  # first line: "569,30,malignant,benign"
        if line.strip():
            fields = line.split(",")
            rows.append((fields[:FEATURE_COUNT], int(fields[FEATURE_COUNT])))
    return rows


def materialize_wdbc(path: Path) -> Path:
    """Write scikit-learn's copy of the data in UCI `wdbc.data` layout (sklearn target 0 -> "M")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    for number, (features, target) in enumerate(_sklearn_rows(), start=1):
        diagnosis = "M" if target == 0 else "B"
        out.write(",".join([str(number), diagnosis, *features]) + "\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(out.getvalue())
    tmp.replace(path)
    return path


def _read_text(path: Path, error: type[DataFormatError]) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise error(path, None, None, "file not found; check the path") from None
    except OSError as exc:
        raise error(path, None, None, f"cannot read the file ({exc.strerror or exc})") from None
    if path.is_dir():
        raise error(path, None, None, "is a directory; give the path of a file")
    if size > MAX_INPUT_BYTES:
        raise error(path, None, None, f"file is {size} bytes, over the {MAX_INPUT_BYTES}-byte limit")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(path, line, None, f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8/ASCII CSV") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise error(path, line, None, "contains a NUL byte; this is not a text CSV file")
    return text


def _parse_float(text: str, path: Path, line: int, column: int, name: str | None, error: type[DataFormatError]) -> float:
    stripped = text.strip()
    if not stripped:
        raise error(path, line, column, "empty value; every feature must be a number", name)
    try:
        value = float(stripped)
    except ValueError:
        raise error(path, line, column, f"{stripped[:40]!r} is not a number", name) from None
    if not math.isfinite(value):
        raise error(path, line, column, f"{stripped!r} is not a finite number", name)
    return value


def _is_header(fields: Sequence[str]) -> bool:
    """A header row names at least one known column; data rows hold only numbers and M/B."""
    return any(field.strip().strip('"') in COLUMN_NAMES for field in fields)


def _header_mapping(fields: list[str], path: Path) -> tuple[list[int], list[int]]:
    """Column index of each COLUMN_NAMES entry, and indexes of ignorable unnamed columns."""
    names = [f.strip() for f in fields]
    positions: dict[str, int] = {}
    ignorable: list[int] = []
    for index, name in enumerate(names):
        if name == "" or name.lower().startswith("unnamed:"):
            ignorable.append(index)
            continue
        if name not in COLUMN_NAMES:
            raise WdbcFormatError(
                path, 1, index + 1, f"unknown column name {name!r}; expected the notebook's names, e.g. {COLUMN_NAMES[:4]} ..."
            )
        if name in positions:
            raise WdbcFormatError(path, 1, index + 1, f"column {name!r} appears twice in the header")
        positions[name] = index
    missing = [name for name in COLUMN_NAMES if name not in positions]
    if missing:
        raise WdbcFormatError(path, 1, None, f"header lacks column(s) {missing}")
    return [positions[name] for name in COLUMN_NAMES], ignorable


def load_wdbc(path: Path) -> Dataset:
    """Read a `wdbc.data` file (or a CSV with the notebook's header) and validate every cell."""
    path = Path(path)
    text = _read_text(path, WdbcFormatError)
    reader = csv.reader(io.StringIO(text))
    order: list[int] | None = None
    ignorable: list[int] = []
    expected_columns = len(COLUMN_NAMES)
    ids: list[int] = []
    labels: list[int] = []
    rows: list[list[float]] = []
    first_seen: dict[int, int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue  # blank line
            if order is None and not rows and not ids and _is_header(fields):
                order, ignorable = _header_mapping(fields, path)
                expected_columns = len(fields)
                continue
            if len(fields) != expected_columns:
                what = "the header" if order is not None else "id, diagnosis and 30 features"
                raise WdbcFormatError(
                    path, line, None, f"expected {expected_columns} columns ({what}), found {len(fields)}"
                )
            for index in ignorable:
                if fields[index].strip():
                    raise WdbcFormatError(path, line, index + 1, "unexpected value in an unnamed column")
            cells = [fields[i] for i in order] if order is not None else fields
            columns = [i + 1 for i in order] if order is not None else list(range(1, expected_columns + 1))
            raw_id = cells[0].strip()
            try:
                row_id = int(raw_id)
            except ValueError:
                raise WdbcFormatError(path, line, columns[0], f"{raw_id[:40]!r} is not an integer id", "id") from None
            if row_id in first_seen:
                raise WdbcFormatError(
                    path, line, columns[0], f"duplicate id {row_id} (first seen on line {first_seen[row_id]})", "id"
                )
            first_seen[row_id] = line
            diagnosis = cells[1].strip().strip('"')
            if diagnosis not in DIAGNOSIS_LABELS:
                raise WdbcFormatError(
                    path, line, columns[1], f"unknown diagnosis {diagnosis[:40]!r}; expected 'M' (malignant) or 'B' (benign)", "diagnosis"
                )
            values = [
                _parse_float(cells[2 + k], path, line, columns[2 + k], FEATURE_NAMES[k], WdbcFormatError)
                for k in range(len(FEATURE_NAMES))
            ]
            ids.append(row_id)
            labels.append(DIAGNOSIS_LABELS[diagnosis])
            rows.append(values)
    except csv.Error as exc:
        raise WdbcFormatError(path, reader.line_num, None, f"malformed CSV ({exc})") from None
    if not rows:
        raise WdbcFormatError(path, None, None, "contains no data rows")
    return Dataset(
        ids=np.array(ids, dtype=np.int64),
        X=np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES)),
        y=np.array(labels, dtype=np.int64),
        source=str(path),
    )


# --------------------------------------------------------------------------- splitting


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise ValueError(f"split fractions must be three numbers (train, validation, test), got {fractions!r}") from None
    if len(values) != 3:
        raise ValueError(f"split fractions must be three numbers (train, validation, test), got {len(values)}")
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"split fractions must be non-negative, got {values}")
    if values[0] <= 0:
        raise ValueError("the train fraction must be positive")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must add up to 1, got {values} (sum {sum(values):.6g})")
    return values  # type: ignore[return-value]


def _allocate(count: int, fractions: tuple[float, float, float]) -> list[int]:
    """Largest-remainder allocation of `count` rows to the three splits."""
    exact = [count * f for f in fractions]
    sizes = [math.floor(e) for e in exact]
    remainders = sorted(range(3), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in remainders[: count - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _stratified_sizes(class_counts: list[int], fractions: tuple[float, float, float]) -> list[list[int]]:
    """Rows per (class, split): proportional within each class, and split totals as close to
    `fractions` of all rows as whole rows allow (e.g. 455/57/57 for 569 rows at 80/10/10)."""
    targets = _allocate(sum(class_counts), fractions)
    exact = [[count * f for f in fractions] for count in class_counts]
    sizes = [[math.floor(e) for e in row] for row in exact]
    assigned = [sum(row[k] for row in sizes) for k in range(3)]
    for c, count in enumerate(class_counts):
        remainder = [exact[c][k] - sizes[c][k] if fractions[k] > 0 else -math.inf for k in range(3)]
        for _ in range(count - sum(sizes[c])):
            k = max(range(3), key=lambda k: (fractions[k] > 0, targets[k] > assigned[k], remainder[k], -k))
            sizes[c][k] += 1
            assigned[k] += 1
            remainder[k] = -1.0  # at most one extra row per split and class
    return sizes


def split_dataset(ds: Dataset, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = DEFAULT_SEED) -> Splits:
    """Stratified, seeded train/validation/test split (same seed and data -> same split)."""
    shares = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    labels = np.unique(ds.y)
    class_members = [np.flatnonzero(ds.y == label) for label in labels]
    for members, sizes in zip(class_members, _stratified_sizes([m.size for m in class_members], shares), strict=True):
        members = members[rng.permutation(members.size)]
        start = 0
        for k, size in enumerate(sizes):
            parts[k].append(members[start : start + size])
            start += size
    chosen = []
    for k, name in enumerate(SPLIT_NAMES):
        index = np.concatenate(parts[k]) if parts[k] else np.array([], dtype=np.int64)
        if shares[k] > 0 and index.size == 0:
            raise ValueError(
                f"the {name} split would be empty ({len(ds)} rows x {shares[k]}); supply more rows or change the fractions"
            )
        chosen.append(index[rng.permutation(index.size)])
    train_labels = np.unique(ds.y[chosen[0]])
    if train_labels.size < 2:
        raise ValueError("the train split holds only one class; a classifier needs both 'M' and 'B' rows")
    return Splits(*(ds.subset(index) for index in chosen))


# --------------------------------------------------------------------------- channels


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def write_channel_csv(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    """Write a Linear Learner `text/csv` channel file: label first, then features, no header."""
    path = Path(path)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"need X (n, d) and y (n,), got {X.shape} and {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError("channel data must be finite numbers")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for label, row in zip(y.tolist(), X.tolist(), strict=True):
        lines.append(",".join([_format_number(label), *map(repr, row)]))
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


def channel_files(path: Path) -> list[Path]:
    """The data files of a channel: the file itself, or every non-hidden file under a directory, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise ChannelFormatError(path, None, None, "does not exist")
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not files:
        raise ChannelFormatError(path, None, None, "channel directory holds no data files")
    return files


def read_channel_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a CSV channel (a file or a directory of files): label first, no header -> (X, y)."""
    columns: int | None = None
    labels: list[float] = []
    rows: list[list[float]] = []
    for file in channel_files(Path(path)):
        text = _read_text(file, ChannelFormatError)
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split(",")
            if columns is None:
                if len(fields) < 2:
                    raise ChannelFormatError(
                        file, line_number, None, "a row needs a label and at least one feature (label first, no header)"
                    )
                columns = len(fields)
            elif len(fields) != columns:
                raise ChannelFormatError(
                    file, line_number, None, f"expected {columns} columns like the first row, found {len(fields)}"
                )
            values = []
            for column, field in enumerate(fields, start=1):
                name = "label" if column == 1 else None
                try:
                    values.append(float(field))
                except ValueError:
                    _parse_float(field, file, line_number, column, name, ChannelFormatError)  # raises with detail
                    raise  # pragma: no cover
                if not math.isfinite(values[-1]):
                    _parse_float(field, file, line_number, column, name, ChannelFormatError)
            labels.append(values[0])
            rows.append(values[1:])
    if not rows or columns is None:
        raise ChannelFormatError(path, None, None, "channel holds no data rows")
    return np.array(rows, dtype=np.float64).reshape(len(rows), columns - 1), np.array(labels, dtype=np.float64)


def prepare_channels(
    out_dir: Path,
    source: Path | None = None,
    seed: int = DEFAULT_SEED,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> dict[str, Path]:
    """Raw data -> stratified split -> `out_dir/{train,validation,test}/<name>.csv` channel files.

    With no `source`, sklearn's copy is materialised as `out_dir/wdbc.data` first. Splits with
    a zero fraction are left out of the result. `out_dir/split.json` records the ids per split.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if source is None:
        source = materialize_wdbc(out_dir / "wdbc.data")
    dataset = load_wdbc(Path(source))
    splits = split_dataset(dataset, fractions=fractions, seed=seed)
    channels: dict[str, Path] = {}
    manifest: dict[str, object] = {"source": str(source), "seed": seed, "fractions": list(fractions), "splits": {}}
    for name, part in splits.items():
        if len(part) == 0:
            continue
        channels[name] = write_channel_csv(out_dir / name / f"{name}.csv", part.X, part.y)
        manifest["splits"][name] = {  # type: ignore[index]
            "rows": len(part),
            "malignant": int(part.y.sum()),
            "ids": part.ids.tolist(),
        }
    (out_dir / "split.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return channels
