"""Apache MXNet's on-disk formats, in numpy: the NDArray list file (`.params`) and the symbol JSON.

AWS's built-in Linear Learner saves its model with MXNet's `Module.save_checkpoint`, so a model
trained on AWS is an `mx-mod-0000.params` NDArray file plus an `mx-mod-symbol.json` graph. The
emulator must read those without MXNet (no native library, no pickle) and the trainer must write
them so MXNet's own `mx.nd.load` / `mx.sym.load` / `mx.mod.Module.load` accept the result.

The binary layout follows MXNet 1.x `src/ndarray/ndarray.cc` (`NDArray::Save`/`Load`) and
dmlc-core's stream serialisation, all little-endian:

    file    := u64 magic 0x112, u64 reserved 0, u64 count, count * ndarray, u64 count, count * name
    name    := u64 length, bytes (UTF-8; "arg:<param>" / "aux:<state>" in a checkpoint)
    ndarray := u32 0xF993FAC9 (V2; V3 0xF993FACA = numpy-shape semantics), i32 storage type,
               [storage shape if sparse], shape, [context, i32 dtype flag,
               [sparse: per aux array i32 dtype + shape], data, [sparse aux data]]
    shape   := i32 ndim, ndim * i64 (ndim 0 means "none": no context/dtype/data follow)
    context := i32 device type, i32 device id
Older files (V1 magic 0xF993FAC8, or no magic: the first u32 is ndim with u32 dims) have no
storage type. Storage types: 0 dense, 1 row_sparse (aux: row indices), 2 csr (aux: indptr,
indices); sparse arrays are returned dense. Every length is checked against the bytes left
before anything is allocated, so a hostile file cannot ask for gigabytes.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA
DENSE, ROW_SPARSE, CSR = 0, 1, 2
CPU = 1
# mshadow type flags (include/mshadow/base.h, MXNet 1.9): index -> numpy dtype.
DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
    7: np.dtype("?"),
}
FLAGS = {dtype: flag for flag, dtype in DTYPES.items()}
MAX_ARRAYS = 1024
MAX_NDIM = 32
MAX_NAME_BYTES = 4096
# The version stamp AWS's Linear Learner writes into its symbol (MXNet 1.3.1); MXNet 1.9 upgrades it on load.
AWS_MXNET_VERSION = 10301


class MXNetFormatError(ValueError):
    """Bytes that are not a well-formed MXNet file; the message says where and what is wrong."""


class _Reader:
    def __init__(self, data: bytes, label: str):
        self.data = memoryview(data)
        self.pos = 0
        self.label = label

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int, what: str) -> memoryview:
        if size < 0 or size > self.left():
            raise MXNetFormatError(
                f"{self.label} is truncated: {what} needs {size} bytes at offset {self.pos}, only {self.left()} left"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str, what: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt), what))[0]

    def shape(self, what: str) -> tuple[int, ...]:
        ndim = self.unpack("i", f"{what} ndim")
        if ndim == -1:  # numpy-shape semantics: unknown shape
            return ()
        if not 0 <= ndim <= MAX_NDIM:
            raise MXNetFormatError(f"{self.label}: {what} has {ndim} dimensions (allowed 0..{MAX_NDIM})")
        dims = tuple(self.unpack("q", f"{what} dimension") for _ in range(ndim))
        if any(d < 0 for d in dims):
            raise MXNetFormatError(f"{self.label}: {what} {dims} has a negative dimension")
        return dims

    def array(self, dtype: np.dtype, shape: tuple[int, ...], what: str) -> np.ndarray:
        count = math.prod(shape)
        if count * dtype.itemsize > self.left():
            raise MXNetFormatError(
                f"{self.label} is truncated: {what} of shape {shape} needs {count * dtype.itemsize} bytes, "
                f"only {self.left()} left"
            )
        return np.frombuffer(self.take(count * dtype.itemsize, what), dtype=dtype).reshape(shape).copy()

    def dtype(self, what: str) -> np.dtype:
        flag = self.unpack("i", f"{what} dtype flag")
        if flag not in DTYPES:
            raise MXNetFormatError(f"{self.label}: {what} has dtype flag {flag}, not one of {sorted(DTYPES)}")
        return DTYPES[flag]


def _read_ndarray(reader: _Reader, index: int) -> np.ndarray:
    what = f"array #{index}"
    magic = reader.unpack("I", f"{what} magic")
    if magic in (V2_MAGIC, V3_MAGIC):
        stype = reader.unpack("i", f"{what} storage type")
        if stype not in (DENSE, ROW_SPARSE, CSR):
            raise MXNetFormatError(f"{reader.label}: {what} has storage type {stype} (0 dense, 1 row_sparse, 2 csr)")
        aux_count = {DENSE: 0, ROW_SPARSE: 1, CSR: 2}[stype]
        storage_shape = reader.shape(f"{what} storage shape") if aux_count else ()
        shape = reader.shape(f"{what} shape")
    elif magic == V1_MAGIC:
        stype, aux_count, storage_shape = DENSE, 0, ()
        shape = reader.shape(f"{what} shape")
    else:  # legacy: the word just read is ndim, dims are u32
        if magic > MAX_NDIM:
            raise MXNetFormatError(f"{reader.label}: {what} starts with 0x{magic:08x}, not an NDArray magic number")
        stype, aux_count, storage_shape = DENSE, 0, ()
        shape = tuple(reader.unpack("I", f"{what} dimension") for _ in range(magic))
    if not shape:
        return np.zeros((0,), dtype=np.float32)  # a "none" array: MXNet stores nothing more for it
    reader.unpack("i", f"{what} device type")
    reader.unpack("i", f"{what} device id")
    dtype = reader.dtype(what)
    aux: list[tuple[np.dtype, tuple[int, ...]]] = [
        (reader.dtype(f"{what} aux #{i}"), reader.shape(f"{what} aux #{i} shape")) for i in range(aux_count)
    ]
    values = reader.array(dtype, storage_shape if aux_count else shape, f"{what} data")
    if not aux_count:
        return values
    aux_values = [reader.array(t, s, f"{what} aux #{i} data") for i, (t, s) in enumerate(aux)]
    return _densify(stype, shape, values, aux_values, f"{reader.label}: {what}")


def _densify(stype: int, shape: tuple[int, ...], values: np.ndarray, aux: list[np.ndarray], what: str) -> np.ndarray:
    dense = np.zeros(shape, dtype=values.dtype)
    try:
        if stype == ROW_SPARSE:
            rows = aux[0].astype(np.int64)
            dense[rows] = values.reshape((rows.size, *shape[1:]))
        else:
            indptr, indices = aux[0].astype(np.int64), aux[1].astype(np.int64)
            if len(shape) != 2 or indptr.size != shape[0] + 1:
                raise ValueError("indptr does not match the row count")
            for row in range(shape[0]):
                start, end = int(indptr[row]), int(indptr[row + 1])
                dense[row, indices[start:end]] = values[start:end]
    except (IndexError, ValueError) as exc:
        raise MXNetFormatError(f"{what} is an inconsistent sparse array ({exc})") from None
    return dense


def load_ndarrays(data: bytes, label: str = "NDArray file") -> dict[str, np.ndarray]:
    """Parse an MXNet NDArray list file (what `mx.nd.save` writes) into {name: array}."""
    reader = _Reader(data, label)
    if reader.left() < 24 or reader.unpack("Q", "magic") != LIST_MAGIC:
        raise MXNetFormatError(f"{label} does not start with MXNet's NDArray list magic 0x112")
    reader.unpack("Q", "reserved word")
    count = reader.unpack("Q", "array count")
    if count > MAX_ARRAYS:
        raise MXNetFormatError(f"{label} claims {count} arrays (limit {MAX_ARRAYS})")
    arrays = [_read_ndarray(reader, i) for i in range(count)]
    name_count = reader.unpack("Q", "name count")
    if name_count not in (0, count):
        raise MXNetFormatError(f"{label} has {count} arrays but {name_count} names")
    names = []
    for i in range(name_count):
        length = reader.unpack("Q", f"name #{i} length")
        if length > MAX_NAME_BYTES:
            raise MXNetFormatError(f"{label}: name #{i} is {length} bytes (limit {MAX_NAME_BYTES})")
        try:
            names.append(bytes(reader.take(length, f"name #{i}")).decode("utf-8"))
        except UnicodeDecodeError:
            raise MXNetFormatError(f"{label}: name #{i} is not UTF-8") from None
    if reader.left():
        raise MXNetFormatError(f"{label} has {reader.left()} unexpected bytes after its last name")
    if not names:
        names = [str(i) for i in range(count)]
    if len(set(names)) != len(names):
        raise MXNetFormatError(f"{label} names an array twice")
    return dict(zip(names, arrays, strict=True))


def save_ndarrays(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes `mx.nd.save(path, dict)` writes for dense CPU arrays (V2 magic, default storage)."""
    out = [struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))]
    for name, value in arrays.items():
        array = np.ascontiguousarray(value)
        if array.dtype.newbyteorder("<") not in FLAGS:
            raise MXNetFormatError(f"array {name!r} has dtype {array.dtype}, which MXNet cannot store")
        if array.ndim == 0:
            raise MXNetFormatError(f"array {name!r} is 0-dimensional; MXNet 1.x stores that as 'none'")
        out.append(struct.pack("<Iii", V2_MAGIC, DENSE, array.ndim))
        out.append(struct.pack(f"<{array.ndim}q", *array.shape))
        out.append(struct.pack("<iii", CPU, 0, FLAGS[array.dtype.newbyteorder("<")]))
        out.append(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    out.append(struct.pack("<Q", len(arrays)))
    for name in arrays:
        encoded = name.encode("utf-8")
        out.append(struct.pack("<Q", len(encoded)) + encoded)
    return b"".join(out)


# --------------------------------------------------------------------------- the Linear Learner symbol

# Ops a Linear Learner graph may hold. The head ops are training-only losses: at inference MXNet's
# forward pass returns their input unchanged, except LogisticRegressionOutput, which applies a sigmoid.
HEAD_OPS = frozenset({"LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"})
ADD_OPS = frozenset({"broadcast_add", "broadcast_plus", "elemwise_add", "_plus", "_Plus"})
KNOWN_OPS = frozenset({"null", "dot"}) | ADD_OPS | HEAD_OPS
# Node attributes that do not change inference (initialisers, learning-rate multipliers, shape hints).
INERT_ATTRS = frozenset({"__shape__", "__lr_mult__", "__wd_mult__", "__init__", "__dtype__", "__storage_type__", "grad_scale"})


@dataclass(frozen=True)
class LinearSymbol:
    """What a Linear Learner graph computes: `head(dot(data, weight) + bias)`."""

    data: str
    weight: str
    bias: str
    head: str | None  # the output op, or None when the graph ends at the addition
    label: str | None
    shapes: Mapping[str, tuple[int, ...]]  # the `__shape__` hints the graph carries


def _parse_shape_attr(text: Any, where: str) -> tuple[int, ...]:
    if not isinstance(text, str):
        raise MXNetFormatError(f"{where}: __shape__ must be a string like '(30, 1)'")
    body = text.strip()
    if not (body.startswith(("(", "[")) and body.endswith((")", "]"))):
        raise MXNetFormatError(f"{where}: __shape__ {text!r} is not a tuple")
    try:
        dims = tuple(int(part) for part in body[1:-1].split(",") if part.strip())
    except ValueError:
        raise MXNetFormatError(f"{where}: __shape__ {text!r} is not a tuple of integers") from None
    return dims


def parse_linear_symbol(text: bytes | str, label: str = "symbol") -> LinearSymbol:
    """Check that an MXNet symbol JSON is a Linear Learner graph and say which parameters it uses.

    Anything else (another op, a second output, a transposed dot) is refused by name: the emulator
    serves linear models only and must never guess what an unknown graph computes.
    """
    try:
        graph = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MXNetFormatError(f"{label} is not valid JSON ({exc})") from None
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list) or not isinstance(graph.get("heads"), list):
        raise MXNetFormatError(f"{label} is not an MXNet symbol (it needs 'nodes' and 'heads' lists)")
    nodes = graph["nodes"]
    if not 1 <= len(nodes) <= 64:
        raise MXNetFormatError(f"{label} has {len(nodes)} nodes; a Linear Learner graph has about 7")
    parsed: list[tuple[str, str, list[int], dict[str, Any]]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("op"), str) or not isinstance(node.get("name"), str):
            raise MXNetFormatError(f"{label}: node #{i} is not an object with 'op' and 'name'")
        op = node["op"]
        if op not in KNOWN_OPS:
            raise MXNetFormatError(
                f"{label}: node {node['name']!r} uses the op {op!r}; the emulator serves Linear Learner graphs "
                f"built from {sorted(KNOWN_OPS)} only"
            )
        attrs = node.get("attrs", node.get("attr", node.get("param", {}))) or {}
        if not isinstance(attrs, dict):
            raise MXNetFormatError(f"{label}: node {node['name']!r} has attrs that are not an object")
        inputs = []
        for entry in node.get("inputs", []):
            if not isinstance(entry, list) or not entry or not isinstance(entry[0], int) or not 0 <= entry[0] < i:
                raise MXNetFormatError(f"{label}: node {node['name']!r} has an input that is not an earlier node")
            if len(entry) > 1 and entry[1] != 0:
                raise MXNetFormatError(f"{label}: node {node['name']!r} reads output #{entry[1]} of a single-output node")
            inputs.append(entry[0])
        parsed.append((op, node["name"], inputs, attrs))
    heads = graph["heads"]
    if len(heads) != 1 or not isinstance(heads[0], list) or not heads[0] or not isinstance(heads[0][0], int):
        raise MXNetFormatError(f"{label} has {len(heads)} outputs; a Linear Learner graph has exactly one")
    index = heads[0][0]
    if not 0 <= index < len(parsed):
        raise MXNetFormatError(f"{label}: its output names node #{index}, which does not exist")

    def expect(i: int, ops: frozenset[str], role: str) -> tuple[str, str, list[int], dict[str, Any]]:
        op, name, inputs, attrs = parsed[i]
        if op not in ops:
            raise MXNetFormatError(f"{label}: expected {role} at node {name!r}, found op {op!r}")
        unknown = sorted(set(attrs) - INERT_ATTRS - ({"transpose_a", "transpose_b"} if op == "dot" else set()))
        if unknown:
            raise MXNetFormatError(f"{label}: node {name!r} has attributes {unknown} the emulator cannot honour")
        return op, name, inputs, attrs

    head = label_name = None
    used = {index}
    op, name, inputs, _ = expect(index, HEAD_OPS | ADD_OPS, "the output op")
    if op in HEAD_OPS:
        if len(inputs) != 2:
            raise MXNetFormatError(f"{label}: {op} node {name!r} needs 2 inputs (value, label)")
        head = op
        label_name = expect(inputs[1], frozenset({"null"}), "the label variable")[1]
        used.update(inputs)
        op, name, inputs, _ = expect(inputs[0], ADD_OPS, "the bias addition")
    if len(inputs) != 2:
        raise MXNetFormatError(f"{label}: {op} node {name!r} needs 2 inputs")
    first, second = (parsed[i][0] for i in inputs)
    dot_index, bias_index = (inputs[0], inputs[1]) if first == "dot" else (inputs[1], inputs[0])
    if parsed[dot_index][0] != "dot" or parsed[bias_index][0] != "null":
        raise MXNetFormatError(f"{label}: {name!r} must add a bias variable to a dot product (found {first}, {second})")
    _, dot_name, dot_inputs, dot_attrs = expect(dot_index, frozenset({"dot"}), "the dot product")
    if any(str(dot_attrs.get(flag, "False")).lower() not in ("false", "0") for flag in ("transpose_a", "transpose_b")):
        raise MXNetFormatError(f"{label}: dot node {dot_name!r} is transposed; a Linear Learner graph is data x weight")
    if len(dot_inputs) != 2:
        raise MXNetFormatError(f"{label}: dot node {dot_name!r} needs 2 inputs")
    data = expect(dot_inputs[0], frozenset({"null"}), "the data variable")[1]
    weight = expect(dot_inputs[1], frozenset({"null"}), "the weight variable")[1]
    bias = expect(bias_index, frozenset({"null"}), "the bias variable")[1]
    if data != "data":
        raise MXNetFormatError(f"{label}: the graph's input is {data!r}; Linear Learner's is 'data'")
    used.update({dot_index, bias_index, *dot_inputs})
    extra = [parsed[i][1] for i in range(len(parsed)) if i not in used and parsed[i][0] != "null"]
    if extra:
        raise MXNetFormatError(f"{label}: nodes {extra} are not part of the linear model; refusing an unknown graph")
    shapes = {
        parsed[i][1]: _parse_shape_attr(parsed[i][3]["__shape__"], f"{label} node {parsed[i][1]!r}")
        for i in range(len(parsed))
        if parsed[i][0] == "null" and "__shape__" in parsed[i][3]
    }
    return LinearSymbol(data, weight, bias, head, label_name, shapes)


def linear_symbol_json(feature_dim: int, head: str) -> str:
    """The symbol JSON Linear Learner writes (same nodes, attributes and layout as AWS's artifact)."""
    if head not in HEAD_OPS:
        raise MXNetFormatError(f"unknown output op {head!r}")
    nodes = [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "null", "name": "fc0_weight", "attrs": {"__shape__": f"({feature_dim}, 1)"}, "inputs": []},
        {"op": "dot", "name": "dot0", "inputs": [[0, 0, 0], [1, 0, 0]]},
        {"op": "null", "name": "fc0_bias", "attrs": {"__lr_mult__": "10.0", "__shape__": "(1, 1)"}, "inputs": []},
        {"op": "broadcast_add", "name": "broadcast_plus0", "inputs": [[2, 0, 0], [3, 0, 0]]},
        {"op": "null", "name": "out_label", "inputs": []},
        {"op": head, "name": f"{head.lower()}0", "inputs": [[4, 0, 0], [5, 0, 0]]},
    ]
    graph = {
        "nodes": nodes,
        "arg_nodes": [0, 1, 3, 5],
        "node_row_ptr": list(range(len(nodes) + 1)),
        "heads": [[6, 0, 0]],
        "attrs": {"mxnet_version": ["int", AWS_MXNET_VERSION]},
    }
    return json.dumps(graph, indent=2)
