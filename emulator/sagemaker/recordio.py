"""`application/x-recordio-protobuf`: SageMaker's RecordIO-wrapped protobuf `Record` format.

A small, dependency-free codec for the schema in the SageMaker developer guide
("Common data formats for training", package `aialgs.data`):

    message Float32Tensor { repeated float  values = 1 [packed]; repeated uint64 keys = 2 [packed]; repeated uint64 shape = 3 [packed]; }
    message Float64Tensor { repeated double values = 1 [packed]; ... }
    message Int32Tensor   { repeated int32  values = 1 [packed]; ... }
    message Value  { oneof value { Float32Tensor float32_tensor = 2; Float64Tensor float64_tensor = 3; Int32Tensor int32_tensor = 7; Bytes bytes = 9; } }
    message Record { map<string, Value> features = 1; map<string, Value> label = 2; optional string uid = 3; ... }

Each record is framed MXNet-style: little-endian magic 0xCED7230A, a 32-bit word holding a
3-bit continuation flag and a 29-bit length, the payload, then zero padding to 4 bytes.
Every malformed input raises `RecordIOError` with what was wrong; nothing else escapes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1


class RecordIOError(ValueError):
    """The payload is not valid RecordIO-protobuf; the message says where."""


@dataclass
class Tensor:
    values: np.ndarray
    keys: list[int] = field(default_factory=list)
    shape: list[int] = field(default_factory=list)


@dataclass
class Record:
    features: dict[str, Tensor] = field(default_factory=dict)
    label: dict[str, Tensor] = field(default_factory=dict)


# --- framing ---------------------------------------------------------------------------------


def split_records(data: bytes) -> list[bytes]:
    """The payloads of every RecordIO frame in `data` (multi-part records reassembled)."""
    records: list[bytes] = []
    pending: list[bytes] | None = None
    offset, size = 0, len(data)
    while offset < size:
        if size - offset < 8:
            raise RecordIOError(f"truncated RecordIO header at byte {offset}")
        magic, word = struct.unpack_from("<II", data, offset)
        if magic != MAGIC:
            raise RecordIOError(f"bad RecordIO magic number 0x{magic:08x} at byte {offset} (expected 0x{MAGIC:08x})")
        flag, length = word >> 29, word & _LENGTH_MASK
        start = offset + 8
        end = start + length
        if end > size:
            raise RecordIOError(f"RecordIO record at byte {offset} claims {length} bytes but only {size - start} remain")
        part = data[start:end]
        offset = start + ((length + 3) & ~3)
        if flag == 0:
            if pending is not None:
                raise RecordIOError(f"RecordIO multi-part record interrupted at byte {start - 8}")
            records.append(part)
        elif flag == 1:
            if pending is not None:
                raise RecordIOError(f"RecordIO multi-part record restarted at byte {start - 8}")
            pending = [part]
        elif flag in (2, 3):
            if pending is None:
                raise RecordIOError(f"RecordIO continuation without a start at byte {start - 8}")
            pending.append(part)
            if flag == 3:
                records.append(_MAGIC_BYTES.join(pending))
                pending = None
        else:
            raise RecordIOError(f"RecordIO record at byte {start - 8} has invalid continuation flag {flag}")
    if pending is not None:
        raise RecordIOError("RecordIO data ends inside a multi-part record")
    return records


def frame(payload: bytes) -> bytes:
    if len(payload) > _LENGTH_MASK:
        raise RecordIOError("record too large for one RecordIO frame")
    padding = (-len(payload)) % 4
    return _MAGIC_BYTES + struct.pack("<I", len(payload)) + payload + b"\x00" * padding


# --- protobuf wire decoding ------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise RecordIOError("truncated protobuf varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise RecordIOError("protobuf varint longer than 10 bytes")


def _fields(data: bytes):
    """Yield (field_number, wire_type, value) where value is int (varint/fixed) or bytes."""
    pos, size = 0, len(data)
    while pos < size:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise RecordIOError("protobuf field number 0 is invalid")
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 1:
            if pos + 8 > size:
                raise RecordIOError("truncated protobuf fixed64 field")
            yield number, wire, data[pos:pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > size:
                raise RecordIOError("truncated protobuf length-delimited field")
            yield number, wire, data[pos:pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > size:
                raise RecordIOError("truncated protobuf fixed32 field")
            yield number, wire, data[pos:pos + 4]
            pos += 4
        else:
            raise RecordIOError(f"unsupported protobuf wire type {wire}")


def _packed_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(value)
    return out


_SLICE = 65536  # items per C-level call on client-sized lists (see int_array)


def int_array(items: list[int], dtype: type) -> np.ndarray:
    """`np.array(items, dtype)` in slices: a 6 MB request holds millions of varints, and one
    C call over all of them would hold the GIL — and the server's event loop — throughout."""
    if len(items) <= _SLICE:
        return np.array(items, dtype=dtype)
    return np.concatenate([np.array(items[start:start + _SLICE], dtype=dtype) for start in range(0, len(items), _SLICE)])


def _largest(items: list[int]) -> int:
    """max(items) in slices, for the same reason as int_array."""
    return max(max(items[start:start + _SLICE]) for start in range(0, len(items), _SLICE))


def _to_int32(value: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if not -(1 << 31) <= value < (1 << 31):
        raise RecordIOError("int32 tensor value out of range")
    return value


def _decode_tensor(data: bytes, kind: str) -> Tensor:
    chunks: list[np.ndarray] = []
    keys: list[int] = []
    shape: list[int] = []
    fixed = {"float32": ("<f4", 4, 5), "float64": ("<f8", 8, 1)}
    for number, wire, value in _fields(data):
        if number == 1:
            if kind in fixed:
                dtype, width, single_wire = fixed[kind]
                if wire == 2:
                    if len(value) % width:
                        raise RecordIOError(f"packed {kind} values are not a multiple of {width} bytes")
                    chunks.append(np.frombuffer(value, dtype=dtype))
                elif wire == single_wire:
                    chunks.append(np.frombuffer(value, dtype=dtype))
                else:
                    raise RecordIOError(f"{kind} tensor values have wire type {wire}")
            else:  # int32
                if wire == 2:
                    ints = [_to_int32(v) for v in _packed_varints(value)]
                elif wire == 0:
                    ints = [_to_int32(value)]
                else:
                    raise RecordIOError(f"int32 tensor values have wire type {wire}")
                chunks.append(int_array(ints, np.float64))
        elif number in (2, 3):
            if wire == 2:
                items = _packed_varints(value)
            elif wire == 0:
                items = [value]
            else:
                raise RecordIOError(f"tensor {'keys' if number == 2 else 'shape'} have wire type {wire}")
            (keys if number == 2 else shape).extend(items)
    values = np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0, dtype=np.float64)
    return Tensor(values=values, keys=keys, shape=shape)


_VALUE_KINDS = {2: "float32", 3: "float64", 7: "int32"}


def _decode_value(data: bytes) -> Tensor:
    tensor: Tensor | None = None
    for number, wire, value in _fields(data):
        if wire != 2:
            continue
        if number in _VALUE_KINDS:
            tensor = _decode_tensor(value, _VALUE_KINDS[number])
        elif number == 9:
            raise RecordIOError("Bytes values are not supported by Linear Learner; send float32 tensors")
    if tensor is None:
        raise RecordIOError("a Value holds no float32, float64 or int32 tensor")
    return tensor


def _decode_map_entry(data: bytes) -> tuple[str, Tensor]:
    key, tensor = "", None
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            try:
                key = value.decode("utf-8")
            except UnicodeDecodeError:
                raise RecordIOError("a map key is not valid UTF-8") from None
        elif number == 2 and wire == 2:
            tensor = _decode_value(value)
    if tensor is None:
        raise RecordIOError(f"map entry {key!r} has no value")
    return key, tensor


def decode_record(data: bytes) -> Record:
    record = Record()
    for number, wire, value in _fields(data):
        if number in (1, 2) and wire == 2:
            key, tensor = _decode_map_entry(value)
            (record.features if number == 1 else record.label)[key] = tensor
    return record


def decode_records(data: bytes) -> list[Record]:
    return [decode_record(payload) for payload in split_records(data)]


def sparse_row(tensor: Tensor, dim: int, record: int) -> np.ndarray:
    """A sparse tensor (its `keys` set) as a dense row of `dim` features.

    The one check for inference requests and training channels alike: keys and values pair
    up and every key is below `dim`. `record` (1-based) names the record in the message.
    """
    if len(tensor.keys) != len(tensor.values):
        raise RecordIOError(f"record {record} has {len(tensor.keys)} keys but {len(tensor.values)} values")
    top = _largest(tensor.keys)
    if top >= dim:
        raise RecordIOError(f"record {record} has a key {top} outside 0..{dim - 1}")
    row = np.zeros(dim, dtype=np.float64)
    row[int_array(tensor.keys, np.int64)] = tensor.values
    return row


def feature_matrix(data: bytes, feature_dim: int) -> np.ndarray:
    """The rows x feature_dim matrix in a RecordIO-protobuf request (dense or sparse `values`)."""
    payloads = split_records(data)
    if not payloads:
        raise RecordIOError("the payload holds no RecordIO records")
    matrix = np.empty((len(payloads), feature_dim), dtype=np.float64)
    # One record decoded at a time and dropped once copied: a 6 MB request can frame 750k
    # records, and holding them all as objects would make the garbage collector walk them all
    # (a pause of the whole process, event loop included).
    for index, payload in enumerate(payloads):
        record = decode_record(payload)
        tensor = record.features.get("values")
        if tensor is None:
            raise RecordIOError(f"record {index + 1} has no 'values' feature tensor")
        if tensor.keys:
            dim = tensor.shape[0] if tensor.shape else feature_dim
            if dim != feature_dim:
                raise RecordIOError(
                    f"record {index + 1} has shape {dim}, but the model expects {feature_dim} features"
                )
            matrix[index] = sparse_row(tensor, feature_dim, index + 1)
        else:
            if tensor.values.shape[0] != feature_dim:
                raise RecordIOError(
                    f"The feature dimension of the input: {tensor.values.shape[0]} (record {index + 1}) does not "
                    f"match the feature dimension of the model: {feature_dim}"
                )
            matrix[index] = tensor.values
    return matrix


# --- encoding (responses, and test data) ---------------------------------------------------------


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint((number << 3) | 2) + _encode_varint(len(payload)) + payload


def encode_float32_value(values: np.ndarray | list[float]) -> bytes:
    """A `Value` holding a dense Float32Tensor."""
    packed = np.asarray(values, dtype="<f4").tobytes()
    return _length_delimited(2, _length_delimited(1, packed))


def encode_record(features: dict[str, np.ndarray | list[float]] | None = None,
                  label: dict[str, np.ndarray | list[float]] | None = None) -> bytes:
    out = bytearray()
    for number, mapping in ((1, features or {}), (2, label or {})):
        for key, values in mapping.items():
            entry = _length_delimited(1, key.encode()) + _length_delimited(2, encode_float32_value(values))
            out += _length_delimited(number, entry)
    return bytes(out)


def encode_predictions(scores: np.ndarray, labels: np.ndarray | None) -> bytes:
    """Linear Learner's protobuf response: one record per row, `label` map with score/predicted_label."""
    out = bytearray()
    score_list = scores.tolist()
    label_list = labels.tolist() if labels is not None else None
    for index, score in enumerate(score_list):
        label_map: dict[str, list[float]] = {"score": [score]}
        if label_list is not None:
            label_map["predicted_label"] = [float(label_list[index])]
        out += frame(encode_record(label=label_map))
    return bytes(out)


def encode_dense_matrix(matrix: np.ndarray) -> bytes:
    """A RecordIO-protobuf request body with one dense record per row (what SDK serializers send)."""
    return b"".join(frame(encode_record(features={"values": row})) for row in np.asarray(matrix, dtype=np.float64))
