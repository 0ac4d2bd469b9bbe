"""The S3 bucket and the data channels in it (train/validation/test, content-addressed)."""

from __future__ import annotations

from typing import Any

from contract.dataset import CHANNELS
from deploy.resources.base import Context, Unit, deleted, gone_or_deleted, or_none, tags_kv


class Bucket(Unit):
    kind = "s3-bucket"
    service = "s3"

    def name(self, ctx: Context) -> str:
        return ctx.names.bucket

    def existing(self, ctx: Context) -> Any:
        return or_none(lambda: ctx.client("s3").head_bucket(Bucket=ctx.names.bucket))

    def create(self, ctx: Context, want: Any) -> Any:
        s3 = ctx.client("s3")
        params: dict[str, Any] = {"Bucket": ctx.names.bucket}
        if ctx.target.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.target.region}
        s3.create_bucket(**params)
        s3.put_public_access_block(
            Bucket=ctx.names.bucket,
            PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
        )
        s3.put_bucket_tagging(Bucket=ctx.names.bucket, Tagging={"TagSet": tags_kv(ctx.tags)})
        ctx.log(f"  created bucket s3://{ctx.names.bucket}")
        return {}

    def delete(self, ctx: Context) -> list[str]:
        """Every object version and delete marker, then the bucket."""
        s3 = ctx.client("s3")
        if self.existing(ctx) is None:
            return []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=ctx.names.bucket):
            objects = [{"Key": o["Key"], "VersionId": o["VersionId"]} for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=ctx.names.bucket, Delete={"Objects": objects, "Quiet": True})
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ctx.names.bucket):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                s3.delete_objects(Bucket=ctx.names.bucket, Delete={"Objects": objects, "Quiet": True})
        gone_or_deleted(lambda: s3.delete_bucket(Bucket=ctx.names.bucket))
        deleted(ctx, f"bucket s3://{ctx.names.bucket} and its objects")
        return [f"bucket {ctx.names.bucket}"]


class Channels(Unit):
    """train/validation/test under a prefix named by their content hash: an existing key is the same data."""

    kind = "data-channels"
    service = "s3"

    def _prefix(self, ctx: Context) -> str:
        return f"{ctx.names.data_prefix}/{ctx.desired().data_hash}"

    def name(self, ctx: Context) -> str:
        return f"s3://{ctx.names.bucket}/{self._prefix(ctx)}/"

    def desired(self, ctx: Context) -> dict[str, str]:
        files = ctx.desired().channels
        return {channel: f"{self._prefix(ctx)}/{channel}/{files[channel].name}" for channel in CHANNELS}

    def existing(self, ctx: Context) -> dict[str, bool] | None:
        s3 = ctx.client("s3")
        present = {c: or_none(lambda k=key: s3.head_object(Bucket=ctx.names.bucket, Key=k)) is not None for c, key in self.desired(ctx).items()}
        return present if any(present.values()) else None

    def difference(self, ctx: Context, want: dict[str, str], have: dict[str, bool]) -> list[str]:
        return [f"{channel} missing" for channel in want if not have.get(channel)]

    def _upload(self, ctx: Context, want: dict[str, str], have: dict[str, bool]) -> dict[str, bool]:
        files = ctx.desired().channels
        for channel, key in want.items():
            if not have.get(channel):
                ctx.client("s3").upload_file(str(files[channel]), ctx.names.bucket, key)
                ctx.log(f"  uploaded {channel} channel to s3://{ctx.names.bucket}/{key}")
        return {channel: True for channel in want}

    def create(self, ctx: Context, want: dict[str, str]) -> dict[str, bool]:
        return self._upload(ctx, want, {})

    def update(self, ctx: Context, want: dict[str, str], have: dict[str, bool], diffs: list[str]) -> dict[str, bool]:
        return self._upload(ctx, want, have)

    def remember(self, ctx: Context, have: Any) -> None:
        ctx.refs["data_uris"] = {channel: f"s3://{ctx.names.bucket}/{self._prefix(ctx)}/{channel}/" for channel in CHANNELS}

    def delete(self, ctx: Context) -> list[str]:
        return []  # they go with the bucket
