"""One training job, run in its own process: S3 channels in, `model.tar.gz` to S3 out.

`python -m emulator.sagemaker.training_worker SPEC.json` does what SageMaker's training
instance does for the Linear Learner image: download each channel from S3 (S3Prefix,
ManifestFile, AugmentedManifestFile: see `channels`), decompress it if asked, convert RecordIO-protobuf channels to the CSV the trainer reads,
run `training.job.run_training_job`, and upload the artifact to
`{S3OutputPath}/{job}/output/model.tar.gz`.

It reports progress as JSON lines on stdout (`{"secondary": "Downloading", ...}`, then one
`{"final": true, "status": ...}`) for the supervisor in the emulator. A separate process
keeps a heavy or crashing job away from the server's request loop; SIGTERM (StopTrainingJob
or MaxRuntimeInSeconds) stops it between epochs, and it stops by itself if the emulator dies.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from collections.abc import Callable
from typing import Any

from emulator.sagemaker import channels as channel_sources
from emulator.sagemaker import recordio, s3
from training.data import MAX_INPUT_BYTES

_stop_requested = False
_parent_pid = os.getppid()


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def should_stop() -> bool:
    return _stop_requested or os.getppid() != _parent_pid


def _on_sigterm(signum: int, frame: Any) -> None:
    global _stop_requested
    _stop_requested = True


class ChannelError(Exception):
    """A channel that cannot be read; message is a ClientError FailureReason like SageMaker's."""


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """(media type, parameters); Linear Learner's default channel content type is RecordIO-protobuf."""
    parts = (content_type or "application/x-recordio-protobuf").split(";")
    params = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip()
    return parts[0].strip().lower(), params


def _recordio_to_csv(path: Path, channel: str) -> None:
    """Rewrite a RecordIO-protobuf file as label-first CSV, the trainer's input format."""
    try:
        records = recordio.decode_records(path.read_bytes())
    except recordio.RecordIOError as exc:
        raise ChannelError(
            f"ClientError: Unable to read data channel '{channel}'. Requested content-type is "
            f"'application/x-recordio-protobuf'. Please verify the data matches the requested content-type. ({exc})"
        ) from None
    lines = []
    for index, record in enumerate(records, start=1):
        features = record.features.get("values")
        label = record.label.get("values")
        if features is None or label is None or label.values.size != 1:
            raise ChannelError(
                f"ClientError: Unable to read data channel '{channel}': record {index} of {path.name} needs a "
                "'values' feature tensor and a single 'values' label."
            )
        if features.keys:
            dim = features.shape[0] if features.shape else max(features.keys) + 1
            try:
                row = recordio.sparse_row(features, dim, index)
            except recordio.RecordIOError as exc:
                raise ChannelError(
                    f"ClientError: Unable to read data channel '{channel}': {exc} in {path.name}; "
                    "give every sparse record one key per value, each below the tensor's shape."
                ) from None
        else:
            row = features.values
        lines.append(",".join(repr(float(v)) for v in [label.values[0], *row.tolist()]))
    path.unlink()
    path.with_suffix(".csv").write_text("\n".join(lines) + "\n")


GUNZIP_CHUNK = 1024 * 1024


def _gunzip_in_place(path: Path, channel: str, budget: int) -> int:
    """Decompress `path` in place as it streams, refusing it once the channel passes `budget` bytes.

    A small gzip member can expand a thousandfold (a "bomb"): the limit is applied to the bytes
    written, chunk by chunk, so neither memory nor disk ever holds more than the channel may.
    Returns the decompressed size.
    """
    out_path = path.with_name(path.name + ".gunzip")
    written = 0
    try:
        with gzip.open(path, "rb") as src, open(out_path, "wb") as out:
            while chunk := src.read(GUNZIP_CHUNK):
                written += len(chunk)
                if written > budget:
                    raise ChannelError(
                        f"ClientError: channel '{channel}' decompresses to more than {MAX_INPUT_BYTES} bytes "
                        f"(file {path.name}); split the data or train on AWS."
                    )
                out.write(chunk)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        out_path.unlink(missing_ok=True)
        raise ChannelError(f"ClientError: channel '{channel}' file {path.name} is not gzip data ({exc}).") from None
    except ChannelError:
        out_path.unlink(missing_ok=True)
        raise
    out_path.replace(path)
    return written


def prepare_channel(client: Any, channel: dict[str, Any], root: Path, default_mode: str = "File") -> Path:
    """Download one channel (S3Prefix, ManifestFile or AugmentedManifestFile) and leave CSV for the trainer."""
    name = channel["ChannelName"]
    if not (channel.get("DataSource") or {}).get("S3DataSource"):
        raise ChannelError(f"ClientError: channel '{name}' has no S3DataSource; the emulator reads channels from S3 only.")
    source = channel_sources.ChannelSource.of(channel, default_mode)
    media, params = _media_type(channel.get("ContentType"))
    if media not in ("application/x-recordio-protobuf", "text/csv", "text/x-csv"):
        raise ChannelError(
            f"ClientError: channel '{name}' has content type '{channel.get('ContentType')}'; Linear Learner reads "
            "'text/csv' or 'application/x-recordio-protobuf'."
        )
    if media != "application/x-recordio-protobuf" and params.get("label_size", "1") != "1":
        raise ChannelError(
            f"ClientError: channel '{name}' has content type '{channel.get('ContentType')}'; Linear Learner reads CSV "
            "with the label in the first column only (label_size=1)."
        )
    target = root / name
    try:
        files, inline = channel_sources.download_channel(client, source, target)
    except channel_sources.ChannelInputError as exc:
        raise ChannelError(str(exc)) from None
    if channel.get("CompressionType") == "Gzip":
        budget = MAX_INPUT_BYTES
        for path in files:
            budget -= _gunzip_in_place(path, name, budget)
    if media == "application/x-recordio-protobuf":
        for path in files:
            _recordio_to_csv(path, name)
    del inline  # inline augmented-manifest rows are already CSV, in the channel directory
    return target


def training_log(work: Path) -> Callable[[str], None]:
    """The job's `training.log` writer (one line per message), shared by every algorithm's run."""
    log_path = work / "training.log"

    def log(message: str) -> None:
        with log_path.open("a") as handle:
            handle.write(str(message).rstrip("\n") + "\n")

    return log


def run(spec: dict[str, Any]) -> dict[str, Any]:
    from emulator.sagemaker import xgboost_training

    if xgboost_training.is_xgboost_job(spec):  # the image URI picks the algorithm
        return xgboost_training.run(
            spec, emit=emit, should_stop=should_stop, prepare_channel=prepare_channel, channel_error=ChannelError,
            log=training_log(Path(spec["work_dir"])),
        )
    return _run_linear_learner(spec)


def _run_linear_learner(spec: dict[str, Any]) -> dict[str, Any]:
    from training.job import TrainingJobError, TrainingStopped, run_training_job

    work = Path(spec["work_dir"])
    client = s3.make_s3_client(spec.get("s3_endpoint_url"), spec["region"])
    emit({"secondary": "Downloading", "message": "Downloading input data", "started": True})
    channels: dict[str, Path] = {}
    try:
        for channel in spec["channels"]:
            if should_stop():
                return {"final": True, "status": "Stopped"}
            channels[channel["ChannelName"]] = prepare_channel(
                client, channel, work / "input" / "data", spec.get("input_mode") or "File"
            )
    except ChannelError as exc:
        return {"final": True, "status": "Failed", "failure": str(exc)}
    emit({"secondary": "Training", "message": "Training image download completed. Training in progress."})
    log = training_log(work)
    try:
        result = run_training_job(channels, spec["hyperparameters"], work / "output", log=log, should_stop=should_stop)
    except TrainingStopped:
        return {"final": True, "status": "Stopped"}
    except TrainingJobError as exc:
        return {"final": True, "status": "Failed", "failure": str(exc)}
    if should_stop():
        return {"final": True, "status": "Stopped"}
    emit({"secondary": "Uploading", "message": "Uploading generated training model"})
    try:
        s3.put_file(client, Path(result.model_path), s3.parse_s3_uri(spec["output_uri"]))
    except s3.S3AccessError as exc:
        return {"final": True, "status": "Failed", "failure": f"ClientError: Unable to upload the model artifact: {exc}"}
    metrics = {k: float(v) for k, v in dict(result.final_metrics).items()}
    return {"final": True, "status": "Completed", "metrics": metrics}


def _as_in_the_algorithm_containers() -> None:
    """No scikit-learn in this process, as in SageMaker's algorithm containers (and the emulator's image).

    Nothing a job runs needs it, but `import xgboost` imports it when it is installed (for xgboost's
    sklearn wrappers), which cost every XGBoost job about 2.4 s of CPU before it read a byte of data
    on a host whose .venv has it for the training report. A None entry makes `import sklearn` raise
    ImportError, which xgboost handles as "not installed".
    """
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    _as_in_the_algorithm_containers()
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigterm)
    if len(argv) != 1:
        print("usage: python -m emulator.sagemaker.training_worker SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    try:
        outcome = run(spec)
    except Exception as exc:  # report, never die silently: the supervisor turns this into FailureReason
        traceback.print_exc()
        outcome = {"final": True, "status": "Failed", "failure": f"AlgorithmError: {type(exc).__name__}: {exc}"}
    emit(outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
