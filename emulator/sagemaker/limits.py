"""InvokeEndpoint's limits at the edge: what is refused before a request costs anything.

- the body: at most 6291456 bytes (botocore's sagemaker-runtime model, `Body` max). A bigger
  body is refused while it is being read — the transport stops buffering at the limit and
  the answer (SageMaker's ValidationError) is sent as soon as the size is known, so eight
  concurrent 60 MB uploads cost eight 6 MB buffers at most, never 480 MB;
- the request head (request line plus headers): at most `MAX_HEAD_BYTES`. AWS documents no
  number for SageMaker's front end; its load balancers refuse heads over 64 KB
  (Application Load Balancer quotas), which is what this uses. The answer is HTTP 431
  Request Header Fields Too Large (RFC 6585) and the connection closes;
- each request header the model constrains (custom attributes <= 1024 characters, inference
  id <= 64, ...): checked against botocore's model, SageMaker's validation message.

Bodies up to `INLINE_BODY_BYTES` are parsed and scored on the event loop (a one-row request
costs microseconds); bigger ones go to the worker pool (`runtime.InvocationHandler`), so no
single request holds the loop for long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.sagemaker.errors import RuntimeValidationError
from emulator.sagemaker.shapes import RUNTIME_SERVICE_NAME, compiled_pattern, service_model

MAX_HEAD_BYTES = 64 * 1024
INLINE_BODY_BYTES = 16 * 1024  # ~50 wdbc rows of CSV: parsed inline in well under a millisecond


@dataclass(frozen=True)
class HeaderRule:
    """A request header's constraints, read from botocore's sagemaker-runtime model."""

    member: str  # AWS's name for it in validation messages (lower camel case)
    low: int | None
    high: int | None
    pattern: str | None
    compiled: re.Pattern[str] | None


def _input_rules() -> tuple[dict[bytes, HeaderRule], HeaderRule, int]:
    shape = service_model(RUNTIME_SERVICE_NAME).operation_model("InvokeEndpoint").input_shape
    rules: dict[bytes, HeaderRule] = {}
    name_rule = None
    for member_name, member in shape.members.items():
        meta = member.metadata
        pattern = meta.get("pattern")
        rule = HeaderRule(
            member_name[:1].lower() + member_name[1:],
            meta.get("min"),
            meta.get("max"),
            pattern,
            compiled_pattern(pattern) if pattern else None,
        )
        if member.serialization.get("location") == "header" and member_name not in ("ContentType", "Accept"):
            rules[member.serialization["name"].lower().encode()] = rule
        elif member_name == "EndpointName":
            name_rule = rule
    assert name_rule is not None
    return rules, name_rule, shape.members["Body"].metadata["max"]


HEADER_RULES, ENDPOINT_NAME_RULE, MAX_BODY_BYTES = _input_rules()  # MAX_BODY_BYTES == 6291456


def violation(rule: HeaderRule, value: str) -> str | None:
    shown = value if len(value) <= 80 else value[:77] + "..."
    if rule.high is not None and len(value) > rule.high:
        return f"Value '{shown}' at '{rule.member}' failed to satisfy constraint: Member must have length less than or equal to {rule.high}"
    if rule.low is not None and len(value) < rule.low:
        return f"Value '{shown}' at '{rule.member}' failed to satisfy constraint: Member must have length greater than or equal to {rule.low}"
    if rule.compiled is not None and rule.compiled.fullmatch(value) is None:
        return f"Value '{shown}' at '{rule.member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {rule.pattern}"
    return None


def check_body_size(size: int) -> None:
    if size > MAX_BODY_BYTES:
        raise RuntimeValidationError(
            f"1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_BODY_BYTES} (the request body is {size} bytes; split it "
            "into smaller requests or use batch transform)"
        )


def check_headers(headers: dict[bytes, bytes]) -> None:
    """SageMaker's ValidationError for every constrained request header that breaks its rule."""
    checked = HEADER_RULES.keys() & headers.keys()
    if not checked:
        return
    problems = []
    for key in sorted(checked):
        problem = violation(HEADER_RULES[key], headers[key].decode("latin-1"))
        if problem:
            problems.append(problem)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise RuntimeValidationError(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))


def head_too_large_response() -> bytes:
    """The whole HTTP response for a request head over MAX_HEAD_BYTES (the connection then closes)."""
    body = (
        b'{"message":"Request Header Fields Too Large: the request line and headers exceed '
        + str(MAX_HEAD_BYTES).encode()
        + b' bytes; send fewer or shorter headers"}'
    )
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
