"""Training input channels as AWS and the SDKs send them: which S3 objects a channel means, and
the problems CreateTrainingJob refuses at the call.

SageMaker's `S3DataSource` (botocore's service model, "S3DataSource"):
- `S3Prefix`: every object under the prefix.
- `ManifestFile`: one JSON document, `[{"prefix": "s3://bucket/p/"}, "relative/key", ...]` (what the
  SDK's `record_set` writes); each entry is prefix + key.
- `AugmentedManifestFile`: JSON Lines; `AttributeNames` picks attributes of each line, in order. An
  attribute whose name ends in `-ref` names an S3 object (its bytes are channel data); any other
  attribute is inline data: the inline attributes of one line make one CSV row, in AttributeNames
  order (so list the label attribute first, Linear Learner's CSV convention).
`S3DataDistributionType` `ShardedByS3Key` gives each instance a share of the objects; the emulator
runs one process standing for all instances of the job, so it trains on every object, as the
instances together do with `FullyReplicated`. `TrainingInputMode` `Pipe` streams the same objects
through a FIFO on AWS (`FastFile` mounts them); the emulator downloads them as File mode does, so every
mode reads the same data.

At the call, AWS refuses a File-mode `S3Prefix` channel with no objects under it (or no such bucket)
with a ValidationException naming the URL, the region and the role: so does `validate_input`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.sagemaker import s3

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_ENTRIES = 100_000


class ChannelInputError(Exception):
    """A channel whose objects cannot be resolved; `str()` is a ClientError FailureReason."""


@dataclass(frozen=True)
class ChannelSource:
    """One channel's S3 data source with SageMaker's defaults applied."""

    name: str
    data_type: str
    uri: str
    input_mode: str
    distribution: str
    attribute_names: tuple[str, ...]

    @classmethod
    def of(cls, channel: dict[str, Any], default_mode: str) -> ChannelSource:
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        return cls(
            name=channel["ChannelName"],
            data_type=source.get("S3DataType", "S3Prefix"),
            uri=source.get("S3Uri", ""),
            input_mode=channel.get("InputMode") or default_mode or "File",
            distribution=source.get("S3DataDistributionType", "FullyReplicated"),
            attribute_names=tuple(source.get("AttributeNames") or ()),
        )


def no_objects_message(uri: str, region: str, role: str) -> str:
    """AWS's wording (CreateTrainingJob ValidationException) for an empty or unreachable prefix."""
    bucket = uri[5:].split("/", 1)[0] if uri.startswith("s3://") else uri
    return (
        f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket exists '
        f'in the selected region ({region}), that objects exist under that S3 prefix, and that the role "{role}" has '
        f'"s3:ListBucket" permissions on bucket "{bucket}".'
    )


def validate_input(params: dict[str, Any], client: Any, region: str) -> str | None:
    """The message of the ValidationException AWS gives CreateTrainingJob for these channels, or None."""
    default_mode = (params.get("AlgorithmSpecification") or {}).get("TrainingInputMode", "File")
    for channel in params.get("InputDataConfig") or []:
        if not (channel.get("DataSource") or {}).get("S3DataSource"):
            continue
        source = ChannelSource.of(channel, default_mode)
        if source.data_type == "AugmentedManifestFile" and not source.attribute_names:
            return f"AttributeNames must be specified for channel '{source.name}' with S3DataType AugmentedManifestFile."
        if source.data_type != "AugmentedManifestFile" and source.attribute_names:
            return f"AttributeNames can only be specified for channel '{source.name}' with S3DataType AugmentedManifestFile."
        if source.data_type != "S3Prefix" or source.input_mode not in ("File", "FastFile"):
            continue
        try:
            found = s3.has_objects(client, s3.parse_s3_uri(source.uri))
        except s3.S3AccessError:
            found = False
        if not found:
            return no_objects_message(source.uri, region, params.get("RoleArn", ""))
    return None


def _get_json_text(client: Any, uri: str, what: str) -> str:
    try:
        data = s3.get_object_bytes(client, s3.parse_s3_uri(uri))
    except s3.S3AccessError as exc:
        raise ChannelInputError(f"ClientError: Unable to download the {what} {uri}: {exc}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ChannelInputError(f"ClientError: The {what} {uri} is {len(data)} bytes, over {MAX_MANIFEST_BYTES}.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChannelInputError(f"ClientError: The {what} {uri} is not UTF-8 JSON.") from None


def manifest_locations(client: Any, uri: str) -> list[s3.S3Location]:
    """The objects a ManifestFile lists: its first entry's prefix + each relative key."""
    text = _get_json_text(client, uri, "manifest file")
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChannelInputError(f"ClientError: The manifest file {uri} is not valid JSON ({exc}).") from None
    if (
        not isinstance(entries, list)
        or not entries
        or not isinstance(entries[0], dict)
        or not isinstance(entries[0].get("prefix"), str)
    ):
        raise ChannelInputError(
            f'ClientError: The manifest file {uri} must be a JSON list starting with {{"prefix": "s3://bucket/prefix/"}} '
            "followed by object keys relative to that prefix."
        )
    if len(entries) > MAX_MANIFEST_ENTRIES + 1:
        raise ChannelInputError(f"ClientError: The manifest file {uri} lists more than {MAX_MANIFEST_ENTRIES} objects.")
    prefix = entries[0]["prefix"]
    locations = []
    for index, key in enumerate(entries[1:], start=1):
        if not isinstance(key, str) or not key:
            raise ChannelInputError(f"ClientError: Entry {index} of the manifest file {uri} is not an object key.")
        try:
            locations.append(s3.parse_s3_uri(prefix + key))
        except s3.S3AccessError as exc:
            raise ChannelInputError(f"ClientError: The manifest file {uri}: {exc}") from None
    if not locations:
        raise ChannelInputError(f"ClientError: The manifest file {uri} lists no objects.")
    return locations


def _inline_values(value: Any) -> list[str]:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return [repr(float(value))]
    if isinstance(value, str):
        return [repr(float(part)) for part in value.split(",")]
    if isinstance(value, list):
        return [item for element in value for item in _inline_values(element)]
    raise ValueError(f"{type(value).__name__} values are not numbers")


def augmented_manifest(client: Any, uri: str, attributes: tuple[str, ...]) -> tuple[list[s3.S3Location], list[str]]:
    """(objects named by `-ref` attributes, CSV rows made of the inline attributes) of an AugmentedManifestFile."""
    text = _get_json_text(client, uri, "augmented manifest file")
    locations: list[s3.S3Location] = []
    rows: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ChannelInputError(f"ClientError: Line {number} of the augmented manifest file {uri} is not JSON ({exc}).") from None
        if not isinstance(record, dict):
            raise ChannelInputError(f"ClientError: Line {number} of the augmented manifest file {uri} is not a JSON object.")
        row: list[str] = []
        for attribute in attributes:
            if attribute not in record:
                raise ChannelInputError(
                    f"ClientError: Line {number} of the augmented manifest file {uri} has no attribute '{attribute}' "
                    f"(AttributeNames: {list(attributes)})."
                )
            value = record[attribute]
            if attribute.endswith("-ref"):
                try:
                    locations.append(s3.parse_s3_uri(value if isinstance(value, str) else ""))
                except s3.S3AccessError as exc:
                    raise ChannelInputError(f"ClientError: Line {number} of {uri}, attribute '{attribute}': {exc}") from None
                continue
            try:
                row.extend(_inline_values(value))
            except ValueError as exc:
                raise ChannelInputError(
                    f"ClientError: Line {number} of the augmented manifest file {uri}, attribute '{attribute}': {exc}; "
                    "inline attributes must be numbers, lists of numbers or comma-separated numbers."
                ) from None
        if row:
            rows.append(",".join(row))
        if len(locations) + len(rows) > MAX_MANIFEST_ENTRIES:
            raise ChannelInputError(f"ClientError: The augmented manifest file {uri} has more than {MAX_MANIFEST_ENTRIES} entries.")
    if not locations and not rows:
        raise ChannelInputError(f"ClientError: The augmented manifest file {uri} holds no records.")
    return locations, rows


def download_channel(client: Any, source: ChannelSource, target: Path) -> tuple[list[Path], Path | None]:
    """Fetch a channel's objects into `target`: (data files, CSV file of inline manifest rows or None)."""
    if source.data_type == "S3Prefix":
        try:
            location = s3.parse_s3_uri(source.uri)
            files = s3.download_prefix(client, location, target)
        except s3.S3AccessError as exc:
            raise ChannelInputError(f"ClientError: Data download failed for channel '{source.name}': {exc}") from None
        if not files:  # Pipe mode (File mode is refused at the call)
            raise ChannelInputError(
                f'ClientError: No S3 objects found under S3 URL "{source.uri}" given in input data source. Please ensure '
                f'that the bucket exists, that objects exist under that S3 prefix, and that the role has "s3:ListBucket" '
                f'permissions on bucket "{location.bucket}".'
            )
        return files, None
    if source.data_type == "ManifestFile":
        locations, rows = manifest_locations(client, source.uri), []
    else:
        locations, rows = augmented_manifest(client, source.uri, source.attribute_names)
    files = []
    for index, location in enumerate(locations):
        local = target / f"{index:06d}-{Path(location.key).name or 'object'}"
        try:
            files.append(s3.download_key(client, location, local))
        except s3.S3AccessError as exc:
            raise ChannelInputError(
                f"ClientError: Data download failed for channel '{source.name}' ({source.data_type} {source.uri}): {exc}"
            ) from None
    inline = None
    if rows:
        target.mkdir(parents=True, exist_ok=True)
        inline = target / "augmented-manifest-rows.csv"
        inline.write_text("\n".join(rows) + "\n")
    return files, inline
