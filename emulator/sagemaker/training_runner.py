"""Runs training jobs in worker processes and reports their progress through a callback.

The supervisor knows nothing of the domain: it is built with `on_progress(name, TrainingProgress)`
(`training_jobs.TrainingJobService.apply_progress`), which records each event durably.
One supervising thread per job: it waits for a free slot (the machine has few cores),
starts `training_worker` with the job's spec, relays its JSON-line events as status
changes, enforces StoppingCondition.MaxRuntimeInSeconds and turns StopTrainingJob into
SIGTERM (SIGKILL if the worker ignores it). A worker that dies without a final report
fails the job with the tail of its stderr as FailureReason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from contract import names
from contract.supervision import Supervised
from emulator.sagemaker.config import EmulatorConfig

STOP_GRACE_SECONDS = 10


@dataclass(frozen=True)
class TrainingProgress:
    """One event of a job: a secondary-status step, or (final=True) how it ended."""

    status: str | None = None  # TrainingJobStatus to move to (final: Completed | Failed | Stopped)
    secondary: str | None = None  # SecondaryStatus (Downloading, Training, ..., MaxRuntimeExceeded)
    message: str = ""
    started: bool = False  # sets TrainingStartTime
    final: bool = False
    failure: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> TrainingProgress:
        """From a worker's JSON line; members of the wrong type are ignored, not trusted."""
        def text(key: str) -> str | None:
            value = event.get(key)
            return value if isinstance(value, str) else None

        metrics = event.get("metrics")
        return cls(
            status=text("status"),
            secondary=text("secondary"),
            message=text("message") or "",
            started=event.get("started") is True,
            final=event.get("final") is True,
            failure=text("failure"),
            metrics=metrics if isinstance(metrics, dict) else {},
        )


ProgressCallback = Callable[[str, TrainingProgress], None]


class TrainingSupervisor:
    def __init__(self, config: EmulatorConfig, on_progress: ProgressCallback, max_parallel: int = 2):
        self.on_progress = on_progress
        self.config = config
        self._slots = threading.Semaphore(max_parallel)
        self._lock = threading.Lock()
        self._processes: dict[str, Supervised] = {}
        self._stop_requested: set[str] = set()
        self._timed_out: set[str] = set()
        self._supervising: set[str] = set()
        self._closed = False

    def start(self, name: str, record: dict[str, Any]) -> None:
        """Run the job described by `record` (its DescribeTrainingJob document)."""
        with self._lock:
            self._supervising.add(name)
        thread = threading.Thread(target=self._run, args=(name, record), name=f"training-{name}", daemon=True)
        thread.start()

    def supervising(self, name: str) -> bool:
        """True from `start` until the job's final event is recorded: the job really holds an instance."""
        with self._lock:
            return name in self._supervising

    def stop(self, name: str) -> None:
        with self._lock:
            self._stop_requested.add(name)
            process = self._processes.get(name)
        if process is not None:
            self._terminate(process)

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            self._terminate(process)

    @staticmethod
    def _terminate(worker: Supervised) -> None:
        """SIGTERM now, SIGKILL after the grace period (in the background: callers must not block)."""
        if worker.is_running():
            threading.Thread(target=worker.stop, args=(STOP_GRACE_SECONDS,), daemon=True).start()

    def _spec(self, name: str, record: dict[str, Any], work: Path) -> Path:
        spec = {
            "job_name": name,
            "channels": record.get("InputDataConfig") or [],
            "input_mode": (record.get("AlgorithmSpecification") or {}).get("TrainingInputMode") or "File",
            "hyperparameters": record.get("HyperParameters") or {},
            "output_uri": record["ModelArtifacts"]["S3ModelArtifacts"],
            "s3_endpoint_url": self.config.resolved_s3_endpoint_url,
            "region": self.config.region,
            "work_dir": str(work),
            # Which algorithm runs (by image URI) and its checkpoint sync (XGBoost uses it).
            "image": (record.get("AlgorithmSpecification") or {}).get("TrainingImage"),
            "checkpoint": record.get("CheckpointConfig"),
        }
        path = work / "spec.json"
        path.write_text(json.dumps(spec, indent=1))
        return path

    def _run(self, name: str, record: dict[str, Any]) -> None:
        try:
            try:
                self._run_job(name, record)
            except Exception as exc:  # the job must end in a final status whatever happens here
                self.on_progress(
                    name, TrainingProgress(final=True, status="Failed", failure=f"InternalServerError: {type(exc).__name__}: {exc}")
                )
        finally:
            with self._lock:
                self._supervising.discard(name)

    def _run_job(self, name: str, record: dict[str, Any]) -> None:
        with self._slots:
            if self._closed:
                return
            if name in self._stop_requested:
                self.on_progress(name, TrainingProgress(final=True, status="Stopped"))
                return
            work = self.config.data_dir / "training-jobs" / name
            work.mkdir(parents=True, exist_ok=True)
            spec = self._spec(name, record, work)
            stderr_path = work / "worker.stderr"
            env = names.child_env()
            stderr_path.unlink(missing_ok=True)
            # in the emulator's process group (not a session of its own): it dies with the emulator
            worker = Supervised(
                [sys.executable, "-m", "emulator.sagemaker.training_worker", str(spec)],
                name=f"training job {name}", log_path=stderr_path, env=env, cwd=work, new_session=False,
            )
            process = worker.spawn(stdout=subprocess.PIPE)
            with self._lock:
                self._processes[name] = worker
                stop_now = name in self._stop_requested
            if stop_now:
                self._terminate(worker)
            timer = self._runtime_timer(name, record, worker)
            final: dict[str, Any] | None = None
            try:
                assert process.stdout is not None
                for raw in process.stdout:
                    try:
                        event = json.loads(raw)
                    except ValueError:
                        continue
                    if not isinstance(event, dict):
                        continue
                    if event.get("final"):
                        final = event
                        continue
                    if name not in self._stop_requested:
                        self.on_progress(name, TrainingProgress.from_event(event))
                code = process.wait()
                worker.stop(0)  # it has exited: this only closes its log
            finally:
                if timer is not None:
                    timer.cancel()
                with self._lock:
                    self._processes.pop(name, None)
            if final is None:
                tail = stderr_path.read_text(errors="replace")[-600:].strip()
                final = {
                    "final": True,
                    "status": "Stopped" if name in self._stop_requested else "Failed",
                    "failure": f"AlgorithmError: the training process exited with code {code}. {tail}".strip(),
                }
            if name in self._timed_out:
                final = {**final, "status": "Stopped", "secondary": "MaxRuntimeExceeded"}
                final.pop("failure", None)
            elif name in self._stop_requested and final.get("status") != "Completed":
                final = {**final, "status": "Stopped"}
                final.pop("failure", None)
            self.on_progress(name, TrainingProgress.from_event(final))
            # Nothing of a finished job is read from here again (the artifact and checkpoints are in S3,
            # the failure reason in the record): its downloaded channels must not pile up on disk.
            shutil.rmtree(work, ignore_errors=True)

    def _runtime_timer(self, name: str, record: dict[str, Any], worker: Supervised) -> threading.Timer | None:
        limit = (record.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        if not limit:
            return None
        elapsed = time.time() - float(record.get("CreationTime", time.time()))

        def expire() -> None:
            self._timed_out.add(name)
            self._terminate(worker)

        timer = threading.Timer(max(0.0, float(limit) - elapsed), expire)
        timer.daemon = True
        timer.start()
        return timer
