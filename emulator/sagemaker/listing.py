"""The List* calls' common part: NameContains, StatusEquals, time filters, sorting, NextToken.

Works on the public Describe documents (`record.describe()`), so filters and sort keys are
the field names SageMaker documents.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Iterable

from emulator.sagemaker.errors import ValidationException
from emulator.sagemaker.shapes import documented_default, parse_timestamp

DEFAULT_MAX_RESULTS = 10


def select(
    docs: Iterable[dict[str, Any]],
    name_key: str,
    params: dict[str, Any],
    *,
    status_key: str | None = None,
    inclusive_creation_after: bool = True,
    operation: str | None = None,
) -> list[dict[str, Any]]:
    """The documents a List* request selects, in the order it asks for."""
    items = list(docs)
    contains = (params.get("NameContains") or "").lower()
    if contains:
        items = [r for r in items if contains in r[name_key].lower()]
    if status_key and params.get("StatusEquals"):
        items = [r for r in items if r.get(status_key) == params["StatusEquals"]]
    # The reference: CreationTimeAfter is "greater than or equal to" for endpoints, models and
    # endpoint configs, but "created after" for training jobs.
    for field, key, after in (
        ("CreationTimeAfter", "CreationTime", True),
        ("CreationTimeBefore", "CreationTime", False),
        ("LastModifiedTimeAfter", "LastModifiedTime", True),
        ("LastModifiedTimeBefore", "LastModifiedTime", False),
    ):
        if params.get(field) is not None:
            bound = parse_timestamp(params[field])
            if after and inclusive_creation_after and key == "CreationTime":
                items = [r for r in items if key in r and r[key] >= bound]
            else:
                items = [r for r in items if key in r and ((r[key] > bound) if after else (r[key] < bound))]
    sort_by = params.get("SortBy") or "CreationTime"
    sort_key = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key or name_key}[sort_by]
    # Each List* operation's documented default order (from the service model), else Descending.
    order = params.get("SortOrder") or (documented_default(operation, "SortOrder") if operation else None) or "Descending"
    items.sort(key=lambda r: (r.get(sort_key) or "", r[name_key]), reverse=order == "Descending")
    return items


def paginate(items: list[Any], token: str | None, max_results: int) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
            if start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
            raise ValidationException(f"Invalid pagination token {token!r}; pass the NextToken of a previous response.") from None
    end = start + max_results
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], next_token


def page(items: list[dict[str, Any]], params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    return paginate(items, params.get("NextToken"), params.get("MaxResults") or DEFAULT_MAX_RESULTS)
