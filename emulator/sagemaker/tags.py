"""AddTags, DeleteTags, ListTags, and the tags given at creation.

Tags live in their own table keyed by the resource's ARN. A create call gets its tags from
`merged()` (validated before anything is written) and commits them in the same transaction
as the resource, so a resource never exists without the tags its request carried.
"""

from __future__ import annotations

from typing import Any, Sequence

from emulator.sagemaker.context import Context
from emulator.sagemaker.errors import ValidationException
from emulator.sagemaker.listing import paginate
from emulator.sagemaker.records import ENDPOINT, ENDPOINT_CONFIG, MODEL, TRAINING_JOB, TagSet

MAX_TAGS = 50


class TagService:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.tables = ctx.tables

    def merged(self, arn: str, tags: Sequence[dict[str, Any]] | None) -> TagSet | None:
        """The resource's tag set with `tags` added (None if there is nothing to add); call under the lock."""
        if not tags:
            return None
        current = dict(self.tables.tags[arn].tags) if arn in self.tables.tags else {}
        for tag in tags:
            current[tag["Key"]] = tag.get("Value", "")
        if len(current) > MAX_TAGS:
            raise ValidationException(f"Resource {arn} would have {len(current)} tags; the limit is {MAX_TAGS}.")
        return TagSet(arn, tuple(current.items()))

    def of(self, arn: str) -> list[TagSet]:
        """The tag set to delete along with the resource `arn` (empty if it has none)."""
        return [self.tables.tags[arn]] if arn in self.tables.tags else []

    def _check_resource(self, arn: str) -> None:
        config = self.ctx.config
        prefix = f"arn:{config.partition}:sagemaker:{config.region}:{config.account_id}:"
        kind, _, name = arn[len(prefix):].partition("/") if arn.startswith(prefix) else ("", "", "")
        if kind in (TRAINING_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT):
            if any(n.lower() == name for n in self.tables.table(kind)):
                return
        raise ValidationException(
            f"Could not find resource with ARN {arn}; check the ARN (region {config.region}, account {config.account_id})."
        )

    def add_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.tables.lock:
            self._check_resource(params["ResourceArn"])
            merged = self.merged(params["ResourceArn"], params["Tags"])
            if merged is not None:
                self.tables.commit(put=[merged])
            return {"Tags": params["Tags"]}

    def delete_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceArn"]
        with self.tables.lock:
            self._check_resource(arn)
            keys = set(params["TagKeys"])
            current = self.tables.tags.get(arn, TagSet(arn))
            self.tables.commit(put=[TagSet(arn, tuple((k, v) for k, v in current.tags if k not in keys))])
            return {}

    def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceArn"]
        with self.tables.lock:
            self._check_resource(arn)
            tags = self.tables.tags[arn].as_list() if arn in self.tables.tags else []
        page, token = paginate(tags, params.get("NextToken"), params.get("MaxResults") or MAX_TAGS)
        return {"Tags": page, "NextToken": token}
