"""The emulator's S3 access: plain boto3 at the configured endpoint (LocalStack locally).

Training channels are read and model artifacts written/read the way SageMaker does it —
through S3 — so the same `s3://` URIs work against the emulator and against AWS.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from contract import names

_S3_URI = re.compile(r"^(?:s3|https)://(?P<bucket>[^/]+)/?(?P<key>.*)$")

# Artifacts and channels are small for this kit; a bound keeps a wrong URI from filling the disk.
MAX_OBJECT_BYTES = 512 * 1024 * 1024


class S3AccessError(Exception):
    """S3 could not give us what we need; the message is fit for a FailureReason."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str) -> S3Location:
    match = _S3_URI.match(uri or "")
    if not match:
        raise S3AccessError(f"{uri!r} is not an S3 URI; expected s3://bucket/key")
    return S3Location(match["bucket"], match["key"])


def make_s3_client(endpoint_url: str | None, region: str) -> Any:
    """A boto3 S3 client; credentials fall back to the local dummy ones when none are configured."""
    session = boto3.session.Session()
    credentials = session.get_credentials()
    kwargs: dict[str, Any] = {}
    if credentials is None:
        kwargs = {"aws_access_key_id": names.LOCAL_ACCESS_KEY_ID, "aws_secret_access_key": names.LOCAL_SECRET_ACCESS_KEY}
    config = Config(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        signature_version="s3v4",
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region or os.environ.get("AWS_DEFAULT_REGION") or names.DEFAULT_REGION,
        config=config,
        **kwargs,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)


def get_object_bytes(client: Any, location: S3Location) -> bytes:
    try:
        response = client.get_object(Bucket=location.bucket, Key=location.key)
        size = response.get("ContentLength") or 0
        if size > MAX_OBJECT_BYTES:
            raise S3AccessError(f"{location.uri} is {size} bytes, over the emulator's {MAX_OBJECT_BYTES}-byte limit")
        return response["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise S3AccessError(f"could not read {location.uri} ({_describe(exc)})") from None


def download_prefix(client: Any, location: S3Location, target: Path) -> list[Path]:
    """Download every object under an S3 prefix (SageMaker's S3Prefix data type) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        paginator = client.get_paginator("list_objects_v2")
        prefix = location.key
        base = prefix.rfind("/") + 1
        for page in paginator.paginate(Bucket=location.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/"):
                    continue  # "folder" placeholder objects
                # Keep the path below the prefix's last "/" ("data/train" -> "train.csv", "train/a.csv").
                relative = key[base:] or Path(key).name
                local = (target / relative).resolve()
                if target.resolve() not in local.parents:
                    raise S3AccessError(f"object key {key!r} escapes the channel directory; rename it")
                local.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(location.bucket, key, str(local))
                written.append(local)
    except (ClientError, BotoCoreError) as exc:
        raise S3AccessError(f"could not list or download {location.uri} ({_describe(exc)})") from None
    return written


def download_key(client: Any, location: S3Location, local: Path) -> Path:
    """Download one object (a manifest's entry) to `local`."""
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(location.bucket, location.key, str(local))
    except (ClientError, BotoCoreError) as exc:
        raise S3AccessError(f"could not download {location.uri} ({_describe(exc)})") from None
    return local


def has_objects(client: Any, location: S3Location) -> bool:
    """Whether any object (other than a "folder" placeholder) lies under the prefix; False if the bucket is missing."""
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
            if any(not item["Key"].endswith("/") for item in page.get("Contents", [])):
                return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "AccessDenied", "403", "404"):
            return False
        raise S3AccessError(f"could not list {location.uri} ({_describe(exc)})") from None
    except BotoCoreError as exc:
        raise S3AccessError(f"could not list {location.uri} ({_describe(exc)})") from None
    return False


def put_file(client: Any, path: Path, location: S3Location) -> None:
    try:
        client.upload_file(str(path), location.bucket, location.key)
    except (ClientError, BotoCoreError, OSError) as exc:
        raise S3AccessError(f"could not upload to {location.uri} ({_describe(exc)})") from None
