"""The training instance for a sagemaker-xgboost image: channels from S3, `training.xgboost` in the middle, S3 out.

Called by `training_worker.run` when the job's TrainingImage is a sagemaker-xgboost image.
Channels are downloaded (and gunzipped, and RecordIO-protobuf rewritten as label-first CSV,
manifests resolved) by the worker's own `prepare_channel`, which the worker passes in (no
import back into the worker), so channel rules stay in one place; this module only maps XGBoost's content types onto it (no ContentType means LIBSVM for
XGBoost), flattens each channel into one directory as the container's data reader expects,
syncs `CheckpointConfig.S3Uri` both ways, and reports progress events and final metrics.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from emulator.sagemaker import s3
from emulator.sagemaker.images import XGBOOST, algorithm_for_image


def is_xgboost_job(spec: dict[str, Any]) -> bool:
    try:
        algorithm = algorithm_for_image(spec.get("image"))
    except ValueError:
        return False
    return algorithm is not None and algorithm.name == XGBOOST


PrepareChannel = Callable[[Any, dict[str, Any], Path], Path]


def _download(client: Any, channel: dict[str, Any], root: Path, prepare_channel: PrepareChannel) -> tuple[Path, str | None]:
    """(flat directory of the channel's files, the ContentType the XGBoost reader should use)."""
    from training.xgboost import data as xdata

    name = channel["ChannelName"]
    declared = channel.get("ContentType")
    try:
        kind = xdata.content_type(declared)
    except xdata.DataError as exc:
        raise ChannelFailure(f"ClientError: {exc}") from None
    # The worker converts RecordIO to CSV and passes CSV through; other types are only downloaded.
    download_as = "application/x-recordio-protobuf" if kind == xdata.RECORDIO_PROTOBUF else "text/csv"
    target = prepare_channel(client, {**channel, "ContentType": download_as}, root)
    flat = root / f"{name}.files"
    flat.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    for index, path in enumerate(files):
        hidden = "." if path.name.startswith(".") else ""
        shutil.move(str(path), flat / f"{hidden}{index:05d}-{path.name.lstrip('.')}")
    return flat, declared if kind != xdata.RECORDIO_PROTOBUF else "text/csv"


class ChannelFailure(Exception):
    """A channel the container would refuse; message is the FailureReason."""


def _sync_checkpoints_down(client: Any, uri: str, local: Path) -> None:
    try:
        s3.download_prefix(client, s3.parse_s3_uri(uri.rstrip("/") + "/"), local)
    except s3.S3AccessError:
        pass  # no checkpoints yet (or none readable): the job starts from round 0, as on SageMaker


def _sync_checkpoints_up(client: Any, uri: str, local: Path) -> str | None:
    if not local.is_dir():
        return None
    base = s3.parse_s3_uri(uri.rstrip("/") + "/")
    try:
        for path in sorted(local.iterdir()):
            if path.is_file():
                s3.put_file(client, path, s3.S3Location(base.bucket, base.key + path.name))
    except s3.S3AccessError as exc:
        return f"ClientError: Unable to upload checkpoints to {uri}: {exc}"
    return None


def run(
    spec: dict[str, Any],
    *,
    emit: Callable[[dict[str, Any]], None],
    should_stop: Callable[[], bool],
    prepare_channel: PrepareChannel,
    channel_error: type[Exception],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The job to its final event; `prepare_channel`/`channel_error` are the worker's channel reader and its
    error, `log` its training.log writer."""
    from training.xgboost.job import ChannelInput, XGBoostJobError, XGBoostStopped, run_xgboost_job

    algorithm = algorithm_for_image(spec.get("image"))
    assert algorithm is not None
    work = Path(spec["work_dir"])
    client = s3.make_s3_client(spec.get("s3_endpoint_url"), spec["region"])
    emit({"secondary": "Downloading", "message": "Downloading input data", "started": True})
    pipe = (spec.get("input_mode") or "File") == "Pipe"
    channels: dict[str, ChannelInput] = {}
    try:
        for channel in spec["channels"]:
            if should_stop():
                return {"final": True, "status": "Stopped"}
            path, content_type = _download(client, channel, work / "input" / "data", prepare_channel)
            channel_pipe = (channel.get("InputMode") or ("Pipe" if pipe else "File")) == "Pipe"
            channels[channel["ChannelName"]] = ChannelInput(path, content_type, channel_pipe)
    except (channel_error, ChannelFailure) as exc:
        return {"final": True, "status": "Failed", "failure": str(exc)}
    checkpoint = spec.get("checkpoint") or {}
    checkpoint_dir = work / "checkpoints" if checkpoint.get("S3Uri") else None
    if checkpoint_dir is not None:
        _sync_checkpoints_down(client, checkpoint["S3Uri"], checkpoint_dir)
    emit({"secondary": "Training", "message": "Training image download completed. Training in progress."})
    try:
        result = run_xgboost_job(
            channels, spec["hyperparameters"], work / "output", version=algorithm.version,
            checkpoint_dir=checkpoint_dir, log=log, should_stop=should_stop,
        )
    except XGBoostStopped:
        if checkpoint_dir is not None:
            _sync_checkpoints_up(client, checkpoint["S3Uri"], checkpoint_dir)
        return {"final": True, "status": "Stopped"}
    except XGBoostJobError as exc:
        return {"final": True, "status": "Failed", "failure": str(exc)}
    if checkpoint_dir is not None:
        problem = _sync_checkpoints_up(client, checkpoint["S3Uri"], checkpoint_dir)
        if problem:
            return {"final": True, "status": "Failed", "failure": problem}
    if should_stop():
        return {"final": True, "status": "Stopped"}
    emit({"secondary": "Uploading", "message": "Uploading generated training model"})
    try:
        s3.put_file(client, Path(result.model_path), s3.parse_s3_uri(spec["output_uri"]))
    except s3.S3AccessError as exc:
        return {"final": True, "status": "Failed", "failure": f"ClientError: Unable to upload the model artifact: {exc}"}
    return {"final": True, "status": "Completed", "metrics": dict(result.final_metrics)}
