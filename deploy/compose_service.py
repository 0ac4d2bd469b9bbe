"""The `deploy` service of docker-compose.yml: deploy, warm, publish the outputs to the host, stay up.

Why a long-lived service: `docker compose up --wait` waits for every service to be running and
healthy and fails when a container exits (compose's documented `--wait` semantics), so a one-shot
deploy made the README's command exit 1. This service deploys the stack, sends the 2018 example
request through the REST API until it answers (the first request warms the Lambda worker and the
endpoint's model, so the user's first request does not pay for them), writes the outputs for the
host, and only then reports healthy (a marker file its healthcheck tests). `up --wait` therefore
returns exactly when a prediction from the host works. SIGTERM (`docker compose down`) ends it.
It starts beside LocalStack and the emulator and waits for their health routes itself (`wait_for_services`).

Outputs for the host: the deploy's own outputs.json says `http://localstack:4566/...` (the compose
network's name); the copy written to `SAGESTACK_HOST_OUTPUTS` (the bind-mounted `./.sagestack/outputs.json`)
carries the published address `SAGESTACK_PUBLISHED_LOCALSTACK_URL` instead, so `sagestack predict` on the
host works unchanged. It is mode 0600 (it holds the API key) and owned by the owner of the directory it is
written to, not by the container's root.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from contract import names

READY_MARKER = "compose-deploy-ready"
WARM_TIMEOUT_S = 60.0
SERVICES_TIMEOUT_S = 300.0  # a cold engine on a loaded machine; both services' own start periods are 300 s too


def ready_marker() -> Path:
    """The file the compose healthcheck tests; removed at start so a stale one never counts."""
    return names.state_dir() / READY_MARKER


def host_outputs(outputs: dict[str, Any], internal_url: str, published_url: str) -> dict[str, Any]:
    """The outputs as the host sees them: every address of the compose network replaced by the published one."""
    internal, published = internal_url.rstrip("/"), published_url.rstrip("/")
    return {key: value.replace(internal, published) if isinstance(value, str) else value for key, value in outputs.items()}


def warm(invoke_url: str, api_key: str, timeout_s: float = WARM_TIMEOUT_S) -> float:
    """POST the 2018 example until it answers 200 "B"/"M" (the Lambda's first invoke starts its worker)."""
    from deploy.client import EXAMPLE_ROW, ApiClient

    started = time.monotonic()
    last: Any = None
    with ApiClient(invoke_url, api_key) as client:
        while time.monotonic() - started < timeout_s:
            answer = client.predict(EXAMPLE_ROW)
            if answer.status == 200 and answer.body in ("B", "M"):
                return time.monotonic() - started
            last = f"HTTP {answer.status} {answer.body!r}"
            time.sleep(0.2)
    raise RuntimeError(f"the deployed API did not answer the example request within {timeout_s:.0f} s (last answer: {last})")


def _answers(url: str) -> bool:
    """True once `url` answers HTTP 200 (a refused connection or an error status is "not yet")."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def wait_for_services(urls: dict[str, str], timeout_s: float = SERVICES_TIMEOUT_S, interval_s: float = 0.1,
                      stop: threading.Event | None = None) -> float:
    """Poll each service's health URL until all answer; returns the seconds waited.

    The deploy container starts beside the two services (compose `service_started`), imports and waits
    here with a short poll, instead of starting only after Docker's healthchecks (1 s apart) pass: the
    container's start and Python's imports overlap LocalStack's start.
    """
    started = time.monotonic()
    waiting = dict(urls)
    while waiting:
        waiting = {name: url for name, url in waiting.items() if not _answers(url)}
        if not waiting:
            break
        if time.monotonic() - started > timeout_s:
            missing = ", ".join(f"{name} ({url})" for name, url in waiting.items())
            raise RuntimeError(f"{missing} did not answer within {timeout_s:.0f} s; see `docker compose logs` for why")
        if stop is not None and stop.wait(interval_s):
            raise InterruptedError("stopped while waiting for the services")
        if stop is None:
            time.sleep(interval_s)
    return time.monotonic() - started


def _service_health_urls() -> dict[str, str]:
    """The health routes of the two services, at the addresses the deploy's clients use."""
    localstack = os.environ.get("AWS_ENDPOINT_URL", f"http://{names.LOOPBACK}:{names.DEFAULT_LOCALSTACK_PORT}").rstrip("/")
    sagemaker = os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER", f"http://{names.LOOPBACK}:{names.DEFAULT_SAGEMAKER_PORT}").rstrip("/")
    return {"LocalStack": localstack + names.LOCALSTACK_HEALTH_PATH, "the SageMaker emulator": sagemaker + names.SAGEMAKER_HEALTH_PATH}


def _report_training(outputs: dict[str, Any]) -> None:
    """Print the training job's report: SageMaker's final metrics of the model now being served."""
    from deploy.profiles import session_for

    job = session_for(names.LOCAL_PROFILE).client("sagemaker").describe_training_job(TrainingJobName=outputs["training_job"])
    print(f"\ntraining report: job {job['TrainingJobName']} {job['TrainingJobStatus']}, model {job['ModelArtifacts']['S3ModelArtifacts']}")
    for metric in sorted(job.get("FinalMetricDataList", []), key=lambda m: m["MetricName"]):
        print(f"  {metric['MetricName']:<45} {metric['Value']:.4f}")
    sys.stdout.flush()


def serve() -> int:
    """Deploy, warm, publish, then stay healthy until SIGTERM."""
    from deploy.commands import deploy
    from deploy.outputs import read_outputs, write_outputs

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    marker = ready_marker()
    marker.unlink(missing_ok=True)

    try:
        waited = wait_for_services(_service_health_urls(), stop=stop)
    except InterruptedError:
        return 0
    except RuntimeError as exc:
        print(f"sagestack deploy: {exc}", file=sys.stderr)
        return 1
    print(f"LocalStack and the SageMaker emulator answer (waited {waited:.1f} s)", flush=True)
    data = os.environ.get("SAGESTACK_DEPLOY_DATA")  # the image's wdbc.data (it has no scikit-learn to write one)
    code = deploy(["--profile", names.LOCAL_PROFILE, *(["--data", data] if data else [])])
    if code:
        return code
    outputs = read_outputs()
    _report_training(outputs)
    seconds = warm(outputs["invoke_url"], outputs["api_key"])
    print(f"\nwarmed the Lambda and the endpoint: the example request answered in {seconds:.1f} s", flush=True)

    target = os.environ.get("SAGESTACK_HOST_OUTPUTS")
    if target:
        path = Path(target)
        published = os.environ.get("SAGESTACK_PUBLISHED_LOCALSTACK_URL", f"http://{names.LOOPBACK}:{names.DEFAULT_LOCALSTACK_PORT}")
        internal = os.environ.get("AWS_ENDPOINT_URL", "")
        public = host_outputs(outputs, internal, published) if internal else outputs
        folder = path.parent.stat()  # the bind mount: the host user's directory, whoever we are in here
        write_outputs(public, path=path)
        os.chown(path, folder.st_uid, folder.st_gid)
        print(f"outputs for the host: ./.sagestack/{path.name} (invoke URL {public['invoke_url']}); "
              f"on the host: .venv/bin/sagestack predict", flush=True)
    marker.write_text(f"{outputs['invoke_url']}\n")
    print("stack ready (this service stays up so `docker compose up --wait` sees it healthy)", flush=True)
    stop.wait()
    marker.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        sys.exit(serve())
    print("usage: python -m deploy.compose_service serve  (the `deploy` service of docker-compose.yml)", file=sys.stderr)
    sys.exit(2)
