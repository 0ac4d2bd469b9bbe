"""The `local` Lambda runtime executor: one warm worker process per LocalStack execution environment.

LocalStack's ExecutionEnvironment drives a RuntimeExecutor (start / invoke / stop / get_logs,
see localstack/services/lambda_/invocation/runtime_executor.py). The shipped `docker` executor
runs a container with AWS's runtime interface emulator and talks HTTP to it. This one starts
`worker.py` with the interpreter of the function's runtime (python3.8..3.14) and talks to it
over a Unix socketpair held open for the environment's life, so an invoke costs one small
write and one read instead of HTTP round trips or a process spawn.

What AWS does that this reproduces:
- environment variables: LocalStack's (AWS_REGION, AWS_LAMBDA_*, credentials from STS, the
  function's own Environment on top) plus what the managed runtime adds (AWS_EXECUTION_ENV,
  LAMBDA_TASK_ROOT, LANG, LD_LIBRARY_PATH, PYTHONPATH); nothing from LocalStack's own process
  leaks in (reserved keys in a function's Environment are refused at CreateFunction, validation.py);
- the configured Timeout: on expiry the worker is killed and the invoke fails with
  `Sandbox.Timedout` / "RequestId: ... Error: Task timed out after N.00 seconds"; the next
  invoke starts a fresh worker (a new init), as AWS resets the environment;
- init errors (Runtime.ImportModuleError, ...) are returned as the invoke's error payload and
  init is retried on the next invoke; a worker that exits mid-invoke gives Runtime.ExitError;
- logs: START / handler output / END / REPORT (Duration, Billed Duration, Memory Size, Max
  Memory Used, Init Duration) returned with the result; LocalStack stores them in CloudWatch Logs.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import math
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from sagestack_localstack import sandbox
from sagestack_localstack.interpreters import OLD_BOTO3_RUNTIMES, find_python, version_of_runtime
from sagestack_localstack.validation import runtime_problem
from sagestack_localstack.worker import recv_frame as _recv_frame, send_frame as _send_frame

LOG = logging.getLogger(__name__)
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
# LocalStack-internal variables meant for its Go init inside a container; meaningless here.
INTERNAL_ENV = {
    "LOCALSTACK_RUNTIME_ENDPOINT",
    "LOCALSTACK_RUNTIME_ID",
    "LOCALSTACK_CHMOD_PATHS",
    "LOCALSTACK_USER",
    "LOCALSTACK_INIT_LOG_LEVEL",
    "LOCALSTACK_POST_INVOKE_WAIT_MS",
    "LOCALSTACK_MAX_PAYLOAD_SIZE",
}
MAX_KEPT_LOG_CHARS = 64 * 1024
PROVISIONED = "provisioned-concurrency"  # AWS_LAMBDA_INITIALIZATION_TYPE of a provisioned environment


LIBS_PY38_SUFFIX = "-py38"  # sibling dir for python3.8/3.9 (runtime_venv.LAMBDA_LIBS_PY38_NAME)


def libs_dir(runtime: str | None = None) -> str:
    """boto3 & co. for handlers of `runtime` (built with the venv; see lambda-runtime*.lock).

    python3.8/3.9 get their own set (current urllib3 does not import there) when it exists.
    """
    main = os.environ.get("SAGESTACK_LAMBDA_RUNTIME_LIBS", "")
    if main and runtime in OLD_BOTO3_RUNTIMES and Path(main + LIBS_PY38_SUFFIX).is_dir():
        return main + LIBS_PY38_SUFFIX
    return main


def sagemaker_endpoints() -> dict[str, str]:
    """SageMaker for every function, like the rest of AWS: straight to the emulator.

    LocalStack gives each function AWS_ENDPOINT_URL (itself), which already reaches SageMaker
    through patches/sagemaker_forwarding.py; naming the emulator for the two SageMaker clients
    saves the hop through LocalStack's gateway on every InvokeEndpoint. A function's own
    variables still win.
    """
    url = os.environ.get("SAGESTACK_SAGEMAKER_URL", "").strip()
    if not url:
        return {}
    return {"AWS_ENDPOINT_URL_SAGEMAKER": url, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url}


def loopback_host() -> str:
    """Where a worker reaches LocalStack: its listen address, or loopback when it listens on all."""
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _signal_name(signum: int) -> str:
    # Go's wording, which is what AWS's runtime reports ("signal: killed")
    names = {
        signal.SIGKILL: "killed",
        signal.SIGSEGV: "segmentation fault",
        signal.SIGABRT: "aborted",
        signal.SIGTERM: "terminated",
        signal.SIGINT: "interrupt",
        signal.SIGBUS: "bus error",
        signal.SIGFPE: "floating point exception",
    }
    return names.get(signum, f"signal {signum}")


class LocalRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._env: dict[str, str] = {}
        self._layout: sandbox.Layout | None = None  # set by start(): argv, cwd and paths of the worker
        self._proc: subprocess.Popen[bytes] | None = None
        self._status_path: tuple[subprocess.Popen[bytes], str] | None = None  # the worker's /proc/PID/status
        self._sock: socket.socket | None = None
        self._log_fd: int | None = None
        self._lock = threading.RLock()
        self._stopped = False
        self._recent_logs: collections.deque[str] = collections.deque()
        self._recent_chars = 0
        # set by a fresh worker's init, reported once (init logs and duration go with the next invoke)
        self._pending_init: dict | None = None
        self._init_error: bytes | None = None
        # INIT_START/INIT_REPORT and the init phase's output of the last cold start: CloudWatch Logs
        # gets them before the invoke's lines (patches/lambda_init_logs.py), the LogResult tail does not
        self._init_logs = ""
        # the invoke's X-Amz-Client-Context (base64 JSON); LocalStack's invoke payload omits it
        self.next_client_context: str | None = None

    # ---- RuntimeExecutor API -------------------------------------------------------------
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        cfg = function_version.config
        problem = runtime_problem(cfg.runtime, cfg.package_type)
        if problem:
            raise LambdaRuntimeException(problem)
        if cfg.package_type == PackageType.Zip and cfg.code:
            cfg.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing to clean: workers belong to environments; unzipped code is LocalStack's."""

    @classmethod
    def validate_environment(cls) -> bool:
        sandbox.report_at_start()
        if not libs_dir() or not Path(libs_dir()).is_dir():
            LOG.warning(
                "SAGESTACK_LAMBDA_RUNTIME_LIBS is not set to an existing directory: Lambda handlers "
                "will not find boto3. Start LocalStack with `sagestack localstack`."
            )
        return True

    def start(self, env_vars: dict[str, str]) -> None:
        self._env = self._worker_environment(env_vars)
        with self._lock:
            self._spawn()
            if self._init_error is not None and env_vars.get("AWS_LAMBDA_INITIALIZATION_TYPE") == PROVISIONED:
                # AWS: a provisioned environment whose init fails is not kept; the config goes to
                # Status FAILED, StatusReason FUNCTION_ERROR_INIT_FAILURE (LocalStack's version
                # manager sets both when start() raises). An on-demand environment instead
                # reports the init error as its first invoke's result, as Lambda does.
                error = json.loads(self._init_error)
                logs = self._drain_worker_logs_after_kill()
                self._remember_logs(logs)
                raise LambdaRuntimeException(
                    f"init failed: {error.get('errorType')}: {error.get('errorMessage')}"
                )

    def take_init_logs(self) -> str:
        """The last cold start's init-phase log lines, once (for CloudWatch Logs, not for the tail)."""
        logs, self._init_logs = self._init_logs, ""
        return logs

    def stop(self) -> None:
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            sandbox.kill(proc)  # without the lock: an invoke in progress holds it until its worker answers
        with self._lock:
            self._kill_worker()
            if self._log_fd is not None:
                os.close(self._log_fd)
                self._log_fd = None

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return loopback_host()

    def get_runtime_endpoint(self) -> str:
        return f"http://{loopback_host()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return "".join(self._recent_logs)

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = int(self.function_version.config.timeout or 3)
        started_wall = time.time()
        started = time.perf_counter()
        with self._lock:
            if self._stopped:
                raise LambdaRuntimeException(f"execution environment {self.id} was stopped")
            if self._proc is None:  # killed by a timeout/crash, or init failed: a fresh init now
                self._spawn()
            init = self._pending_init
            self._pending_init = None
            if self._init_error is not None:
                error = self._init_error
                self._init_error = None
                self._kill_worker()
                return self._result(request_id, error, True, init, None, started, status="error",
                                    error_type=json.loads(error).get("errorType"))
            deadline_ms = int(started_wall * 1000) + timeout_s * 1000
            client_context = _decode_client_context(self.next_client_context)
            self.next_client_context = None
            header = {
                "type": "invoke",
                "request_id": request_id,
                "invoked_function_arn": payload.get("invoked-function-arn"),
                "trace_id": payload.get("trace-id"),
                "deadline_ms": deadline_ms,
                "client_context": client_context,
            }
            body = (payload.get("payload") or "").encode("utf-8")
            sock = self._sock
            assert sock is not None
            try:
                sock.settimeout(None)
                _send_frame(sock, header, body)
                sock.settimeout(max(0.001, started + timeout_s - time.perf_counter()))
                reply, result_body = _recv_frame(sock)
            except (TimeoutError, socket.timeout):
                logs = self._drain_worker_logs_after_kill()
                message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
                error = {"errorType": "Sandbox.Timedout", "errorMessage": message}
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
                logs += f"{stamp}.{int(time.time() * 1000) % 1000:03d}Z {request_id} Task timed out after {timeout_s:.2f} seconds\n"
                return self._result(request_id, _platform_error(error), True, init, logs, started,
                                    status="timeout")
            except (OSError, EOFError):
                if self._stopped:
                    raise LambdaRuntimeException(f"execution environment {self.id} was stopped during an invoke")
                returncode = self._wait_exit()
                logs = self._drain_worker_logs_after_kill()
                if returncode is None or returncode == 0:
                    reason = "Runtime exited without providing a reason"
                elif returncode < 0:
                    reason = f"Runtime exited with error: signal: {_signal_name(-returncode)}"
                else:
                    reason = f"Runtime exited with error: exit status {returncode}"
                error = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {reason}"}
                return self._result(request_id, _platform_error(error), True, init, logs, started,
                                    status="error", error_type="Runtime.ExitError")
            is_error = not reply.get("ok")
            limit = int(config.LAMBDA_LIMITS_MAX_FUNCTION_PAYLOAD_SIZE_BYTES or 6291556)
            if not is_error and len(result_body) > limit:
                error = {
                    "errorMessage": f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
                return self._result(request_id, _platform_error(error), True, init, reply.get("logs", ""),
                                    started, status="error", error_type="Function.ResponseSizeTooLarge",
                                    max_rss_kb=reply.get("max_rss_kb"))
            error_type = json.loads(result_body).get("errorType") if is_error else None
            return self._result(request_id, result_body, is_error, init, reply.get("logs", ""), started,
                                status="error" if is_error else None, error_type=error_type,
                                max_rss_kb=reply.get("max_rss_kb"))

    # ---- internals -----------------------------------------------------------------------
    def _worker_environment(self, env_vars: dict[str, str]) -> dict[str, str]:
        """LocalStack's Lambda environment, adjusted to what the managed Python runtime shows."""
        cfg = self.function_version.config
        user_env = cfg.environment or {}
        python = find_python(version_of_runtime(cfg.runtime))
        code_dir = str(cfg.code.get_unzipped_code_location()) if cfg.code else ""
        env = {k: str(v) for k, v in env_vars.items() if k not in INTERNAL_ENV}
        self._layout = sandbox.layout(python, code_dir, libs_dir(cfg.runtime), WORKER_SCRIPT, tmp_mb=_ephemeral_mb(cfg))
        env.update(self._layout.env)  # PATH, LD_LIBRARY_PATH, PYTHONPATH, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR
        env.update(
            {
                "LANG": "en_US.UTF-8",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg.runtime}",
                # no ~/.aws of the host user: like Lambda, configuration comes from the environment
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        env.update(sagemaker_endpoints())
        env.update({k: str(v) for k, v in user_env.items()})  # the function's own variables win
        env.pop("PYTHONHOME", None)
        return env

    def _spawn(self) -> None:
        """Start a worker and wait for its init report (success or the runtime's init error)."""
        cfg = self.function_version.config
        python = find_python(version_of_runtime(cfg.runtime))
        init_started = time.perf_counter()
        if self._log_fd is None:
            self._log_fd = os.memfd_create(f"lambda-{self.id}", os.MFD_CLOEXEC)
        else:
            _empty(self._log_fd)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = sandbox.popen(
                self._layout.argv(child.fileno()),
                env=self._env,
                cwd=self._layout.cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._log_fd,
                stderr=self._log_fd,
                pass_fds=(child.fileno(),),
                close_fds=True,
            )
        finally:
            child.close()
        self._sock = parent
        try:
            parent.settimeout(float(config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT))
            reply, body = _recv_frame(parent)
        except (TimeoutError, socket.timeout, OSError, EOFError):
            logs = self._drain_worker_logs_after_kill()
            self._remember_logs(logs)
            raise LambdaRuntimeException(
                f"Lambda worker for {cfg.runtime} did not finish init "
                f"(python {python}); output:\n{logs[-2000:]}"
            ) from None
        init = {
            "ok": bool(reply.get("ok")),
            # like AWS's Init Duration: runtime start-up plus the handler module's import
            "duration_ms": (time.perf_counter() - init_started) * 1000,
            "logs": reply.get("logs", ""),
            "error_type": None,
        }
        if not init["ok"]:
            self._init_error = body
            init["error_type"] = json.loads(body).get("errorType")
        self._pending_init = init

    def _kill_worker(self) -> None:
        proc, sock = self._proc, self._sock
        self._proc, self._sock = None, None
        if sock is not None:
            sock.close()
        if proc is not None and proc.poll() is None:
            try:
                sandbox.kill(proc)
            except ProcessLookupError:
                pass
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                LOG.warning("Lambda worker %s did not exit after SIGKILL", proc.pid)

    def _wait_exit(self) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        try:
            return proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def _drain_worker_logs_after_kill(self) -> str:
        """Kill the worker, then read what it wrote (our memfd outlives it)."""
        max_rss = self._max_rss_mb()
        self._kill_worker()
        self._last_max_rss = max_rss
        if self._log_fd is None:
            return ""
        size = os.fstat(self._log_fd).st_size
        data = os.pread(self._log_fd, size, 0) if size else b""
        _empty(self._log_fd)
        return data.decode("utf-8", "replace")

    def _max_rss_mb(self) -> int:
        proc = self._proc
        if proc is None:
            return getattr(self, "_last_max_rss", 0)
        if self._status_path is None or self._status_path[0] is not proc:
            # the interpreter under bwrap is found once per worker (it has answered init, so it exists)
            self._status_path = (proc, f"/proc/{sandbox.worker_pid(proc.pid)}/status")
        try:
            with open(self._status_path[1]) as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return math.ceil(int(line.split()[1]) / 1024)
        except OSError:
            pass
        return getattr(self, "_last_max_rss", 0)

    def _remember_logs(self, text: str) -> None:
        if not text:
            return
        self._recent_logs.append(text)
        self._recent_chars += len(text)
        while self._recent_chars > MAX_KEPT_LOG_CHARS and len(self._recent_logs) > 1:
            self._recent_chars -= len(self._recent_logs.popleft())

    def _result(
        self,
        request_id: str,
        payload: bytes,
        is_error: bool,
        init: dict | None,
        output: str | None,
        started: float,
        *,
        status: str | None = None,
        error_type: str | None = None,
        max_rss_kb: int | None = None,
    ) -> InvocationResult:
        """Wrap the handler's output in Lambda's START/END/REPORT lines.

        `max_rss_kb` is the peak the worker reported with its result; without it (the worker died or
        timed out) the peak is read from /proc.
        """
        duration_ms = (time.perf_counter() - started) * 1000
        cfg = self.function_version.config
        lines: list[str] = []
        if init is not None:
            # CloudWatch Logs shows the init phase before START; AWS's LogResult tail starts at START
            init_lines = [f"INIT_START Runtime Version: {cfg.runtime.replace('python', 'python:')}.local\t"
                          f"Runtime Version ARN: local"]
            if init["ok"] and init.get("logs"):
                init_lines.append(init["logs"].rstrip("\n"))
            if not init["ok"]:
                init_lines.append(
                    f"INIT_REPORT Init Duration: {init['duration_ms']:.2f} ms\tPhase: init\tStatus: error\t"
                    f"Error Type: {init.get('error_type')}"
                )
            self._init_logs = "\n".join(init_lines) + "\n"
        lines.append(f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}")
        if init is not None and not init["ok"] and init.get("logs"):
            # a failed init is run again inside the invoke on Lambda: its error output is the invoke's
            lines.append(init["logs"].rstrip("\n"))
        if output:
            lines.append(output.rstrip("\n"))
        lines.append(f"END RequestId: {request_id}")
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {cfg.memory_size} MB\t"
            f"Max Memory Used: {math.ceil(max_rss_kb / 1024) if max_rss_kb else self._max_rss_mb()} MB"
        )
        if init is not None and init["ok"]:
            report += f"\tInit Duration: {init['duration_ms']:.2f} ms"
        if status:
            report += f"\tStatus: {status}"
            if error_type and status == "error":
                report += f"\tError Type: {error_type}"
        lines.append(report)
        logs = "\n".join(lines) + "\n"
        self._remember_logs(logs)
        return InvocationResult(request_id=request_id, payload=payload, is_error=is_error, logs=logs)


def _ephemeral_mb(cfg) -> int:
    """The function's EphemeralStorage (/tmp) in MB; 512 is Lambda's default."""
    storage = getattr(cfg, "ephemeral_storage", None)
    return int(getattr(storage, "size", 0) or 512)


def _platform_error(error: dict) -> bytes:
    """An error Lambda itself reports (timeout, runtime exit, oversized response): compact JSON, as AWS sends it."""
    return json.dumps(error, separators=(",", ":")).encode()


def _decode_client_context(raw: str | None) -> dict | None:
    """Invoke's ClientContext is base64 of a JSON object; the handler gets it as context.client_context."""
    if not raw:
        return None
    try:
        value = json.loads(base64.b64decode(raw))
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _empty(fd: int) -> None:
    """Truncate the log memfd and rewind the offset it shares with the worker's stdout/stderr."""
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
