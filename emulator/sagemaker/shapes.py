"""Wire formats driven by botocore's own SageMaker service model, never hand-written.

`validate_input` checks a decoded awsJson request against the operation's input shape the
way AWS's front end does (required members, JSON types, length, range, enum and pattern
constraints) and reports violations in AWS's words ("1 validation error detected: Value
null at 'endpointName' failed to satisfy constraint: Member must not be null").
`serialize_output` walks the output shape so only modelled members leave the emulator and
timestamps go out as epoch seconds, as awsJson1_1 requires.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import re
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from emulator.sagemaker.errors import SerializationException, ValidationException

SERVICE_NAME = "sagemaker"
RUNTIME_SERVICE_NAME = "sagemaker-runtime"


@functools.lru_cache(maxsize=None)
def service_model(name: str = SERVICE_NAME) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


@functools.lru_cache(maxsize=None)
def documented_default(operation: str, member: str) -> str | None:
    """The default a member's documentation states ("The default is <code>Ascending</code>."), from the
    service model, so list calls sort as each operation's reference says rather than one guess for all."""
    model = operation_model(operation)
    shape = model.input_shape if model is not None else None
    if shape is None or member not in shape.members:
        return None
    match = re.search(r"default is <code>([^<]+)</code>", shape.members[member].documentation or "")
    return match.group(1) if match else None


def operation_model(name: str) -> OperationModel | None:
    model = service_model()
    if name not in model.operation_names:
        return None
    return model.operation_model(name)


def runtime_operation_at(method: str, path: str) -> str | None:
    """The sagemaker-runtime operation (botocore's model) that `method path` is a request for, or None.

    Lets a request for a real runtime operation the emulator does not serve (InvokeEndpointAsync,
    InvokeEndpointWithResponseStream) be told so by name instead of "not part of the API".
    """
    for name, pattern, verb in _runtime_routes():
        if verb == method.upper() and pattern.fullmatch(path):
            return name
    return None


@functools.lru_cache(maxsize=1)
def _runtime_routes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    model = service_model(RUNTIME_SERVICE_NAME)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?")[0]
        # {Label} is one path segment, {Label+} the rest of the path (botocore's URI template rules)
        regex = re.sub(r"\\\{[^/{}]+\\\+\\\}", ".+", re.escape(uri))
        regex = re.sub(r"\\\{[^/{}]+\\\}", "[^/]+", regex)
        routes.append((name, re.compile(regex), http["method"].upper()))
    return tuple(routes)


# --- input validation ------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def compiled_pattern(pattern: str) -> re.Pattern[str] | None:
    """AWS checks patterns with Java regexes; map the Unicode classes Python's `re` lacks."""
    python_pattern = pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\d").replace(r"\p{Z}", r"\s")
    python_pattern = python_pattern.replace(r"\p{M}", "").replace(r"\p{S}", "").replace(r"\p{P}", "")
    python_pattern = python_pattern.replace(r"[\p{ASCII}]", r"[\x00-\x7f]").replace(r"\p{ASCII}", r"[\x00-\x7f]")
    python_pattern = python_pattern.replace(r"[\p{Print}]", r"[\x20-\x7e]").replace(r"\p{Print}", r"[\x20-\x7e]")
    python_pattern = python_pattern.replace(r"\z", r"\Z")
    try:
        return re.compile(python_pattern, re.DOTALL)
    except re.error:
        return None  # a construct we cannot translate: skip the pattern rather than reject valid input


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"'{value}'" if isinstance(value, (list, dict)) else str(value)


_TYPE_NAMES = {
    "structure": "an object",
    "map": "an object",
    "list": "an array",
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "boolean": "a boolean",
    "timestamp": "a timestamp (epoch seconds)",
    "blob": "a base64 string",
}


class _Validator:
    def __init__(self) -> None:
        self.violations: list[str] = []

    def fail(self, value: Any, path: str, constraint: str) -> None:
        self.violations.append(f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}")

    def check(self, shape: Shape, value: Any, path: str) -> None:
        kind = shape.type_name
        checker = getattr(self, f"_check_{kind}", None)
        if checker is None:
            return
        checker(shape, value, path)

    @staticmethod
    def _type_error(shape: Shape, value: Any, path: str) -> SerializationException:
        where = path or "the request"
        if value is None:
            got = "null"
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and not _finite(value):
            got = "a number outside the range of a double"
        else:
            got = type(value).__name__
        return SerializationException(
            f"Member '{where}' must be {_TYPE_NAMES.get(shape.type_name, shape.type_name)}, "
            f"got {got}; fix the request body's JSON types"
        )

    def _check_structure(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise self._type_error(shape, value, path)
        for name in shape.required_members:
            if value.get(name) is None:
                self.fail(None, f"{path}.{_lower_first(name)}" if path else _lower_first(name), "Member must not be null")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                continue  # AWS ignores members it does not model
            member_path = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
            self.check(member, member_value, member_path)

    def _check_length(self, shape: Shape, value: Any, path: str, length: int) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and length < low:
            self.fail(value, path, f"Member must have length greater than or equal to {low}")
        if high is not None and length > high:
            self.fail(value, path, f"Member must have length less than or equal to {high}")

    def _check_list(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise self._type_error(shape, value, path)
        self._check_length(shape, value, path, len(value))
        for index, item in enumerate(value, start=1):
            item_path = f"{path}.{index}.member"
            if item is None:
                self.fail(None, item_path, "Member must not be null")
                continue
            self.check(shape.member, item, item_path)

    def _check_map(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise self._type_error(shape, value, path)
        self._check_length(shape, value, path, len(value))
        for key, item in value.items():
            self.check(shape.key, key, f"{path}.key")
            if item is None:
                self.fail(None, f"{path}.{key}", "Member must not be null")
                continue
            self.check(shape.value, item, f"{path}.{key}")

    def _check_string(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise self._type_error(shape, value, path)
        self._check_length(shape, value, path, len(value))
        if shape.enum and value not in shape.enum:
            self.fail(value, path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
            return
        pattern = shape.metadata.get("pattern")
        if pattern:
            compiled = compiled_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                # botocore's copy of the model drops the leading "^" that SageMaker's messages show
                # (e.g. "... pattern: ^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?" for modelName).
                shown = pattern if pattern.startswith("^") else f"^{pattern}"
                self.fail(value, path, f"Member must satisfy regular expression pattern: {shown}")

    def _check_range(self, shape: Shape, value: Any, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self.fail(value, path, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            self.fail(value, path, f"Member must have value less than or equal to {high}")

    def _check_integer(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self._type_error(shape, value, path)
        self._check_range(shape, value, path)

    _check_long = _check_integer

    def _check_float(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise self._type_error(shape, value, path)
        self._check_range(shape, value, path)

    _check_double = _check_float

    def _check_boolean(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise self._type_error(shape, value, path)

    def _check_timestamp(self, shape: Shape, value: Any, path: str) -> None:
        if isinstance(value, bool):
            raise self._type_error(shape, value, path)
        if isinstance(value, (int, float)):
            if not _finite(value):
                raise self._type_error(shape, value, path)
            return
        if isinstance(value, str):
            try:
                parse_timestamp(value)
            except ValueError:
                raise self._type_error(shape, value, path) from None
            return
        raise self._type_error(shape, value, path)

    def _check_blob(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise self._type_error(shape, value, path)
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            raise self._type_error(shape, value, path) from None


def _finite(value: int | float) -> bool:
    """`math.isfinite`, except that an integer too large for a float (JSON allows any number of
    digits) counts as not finite, like the `1e400` that `json` reads as infinity, instead of raising."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def validate_input(operation: OperationModel, params: Any) -> None:
    """Raise `ValidationException` (constraints) or `SerializationException` (JSON types)."""
    shape = operation.input_shape
    if shape is None:
        return
    validator = _Validator()
    validator.check(shape, params, "")
    if validator.violations:
        count = len(validator.violations)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(validator.violations))


def modelled_members(shape: Shape | None, value: Any) -> Any:
    """`value` (already validated against `shape`) without the members the shape does not define,
    at any depth: what the service acts on, so an unknown member (even one holding 1e400) is
    neither stored nor echoed."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {
            name: modelled_members(shape.members[name], item) if item is not None else None
            for name, item in value.items()
            if name in shape.members
        }
    if kind == "list" and isinstance(value, list):
        return [modelled_members(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: modelled_members(shape.value, item) for key, item in value.items()}
    return value


def parse_timestamp(value: Any) -> float:
    """Epoch seconds from the forms awsJson clients send (number or ISO-8601 string)."""
    if isinstance(value, bool):
        raise ValueError("boolean is not a timestamp")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


# --- output serialization --------------------------------------------------------------------


def serialize_output(shape: Shape | None, value: Any) -> Any:
    """Keep only members the shape models; timestamps become epoch seconds, blobs base64."""
    if shape is None or value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                serialized = serialize_output(member, value[name])
                if serialized is not None:
                    out[name] = serialized
        return out
    if kind == "list":
        items = [serialize_output(shape.member, item) for item in value]
        return [item for item in items if item is not None]
    if kind == "map":
        return {key: serialize_output(shape.value, item) for key, item in value.items() if item is not None}
    if kind == "timestamp":
        return round(parse_timestamp(value), 3)
    if kind == "blob":
        raw = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
        return base64.b64encode(raw).decode()
    if kind in ("float", "double"):
        number = float(value)
        return number if math.isfinite(number) else None
    return value
