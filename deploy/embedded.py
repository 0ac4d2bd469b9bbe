"""The embedded stack: LocalStack and the SageMaker emulator on loopback, no Docker (docs/ARCHITECTURE.md, "Processes").

Two ways to run it:

* `EmbeddedStack` - a context manager that lives as long as the calling process (the pytest
  plugin, benchmarks): both services on the given (or free) ports with their state in one dir.
* `sagestack up` / `down` - a detached supervisor process (`python -m deploy.embedded serve`)
  owns both services so they outlive the command; its record (pid, ports, each service's
  state) lives in `<state dir>/embedded/supervisor.json`. SIGTERM to the supervisor stops both.

The supervisor keeps the stack alive (issue 11): a service that dies is restarted after a
backoff with a log line saying so, the other keeps running. LocalStack keeps no state, so
after it restarts the supervisor re-runs the deploy units LocalStack holds
(`deploy.stack.Stack.restore`): same REST API id, same API key value, so the invoke URL and
key in outputs.json stay valid; what was re-created goes to the log and the record
(`sagestack status` shows it). Nothing here ever deletes the emulator's state.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from contract import names
from contract.supervision import Supervised, pid_alive, read_pidfile, runs_command, terminate_group, write_private

SUPERVISOR_DIR = "embedded"
SUPERVISOR_MARKER = b"deploy.embedded\0serve"
SERVICE_MARKERS = {"localstack": b"sagestack_localstack.boot", "sagemaker": b"emulator.sagemaker.server"}
LABELS = {"localstack": "LocalStack", "sagemaker": "the SageMaker emulator"}
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_S = 30.0  # a service that ran this long before dying is restarted after the first backoff step again


class EmbeddedError(RuntimeError):
    """The embedded stack could not start or stop; the message says why and where the logs are."""


class EmbeddedStack:
    """LocalStack + the SageMaker emulator for the lifetime of this object (a context manager)."""

    def __init__(self, localstack_port: int | None = None, sagemaker_port: int | None = None, state_dir: Path | None = None) -> None:
        self.localstack_port = localstack_port or names.localstack_port()
        self.sagemaker_port = sagemaker_port or names.sagemaker_port()
        self.state_dir = Path(state_dir) if state_dir else names.state_dir()
        self.localstack: Any = None
        self.emulator: Any = None
        # Under `sagestack up` the emulator stays in the supervisor's process group, so a supervisor
        # killed hard (or stopped while still starting) takes it and its training workers along;
        # LocalStack stops itself when its parent dies (SAGESTACK_EXIT_WITH_PARENT).
        self.in_supervisor = False

    @property
    def environment(self) -> dict[str, str]:
        """The variables under which `contract.names` (and so the local profile) point at this stack."""
        return names.stack_env(self.localstack_port, self.sagemaker_port, self.state_dir)

    def start(self, timeout: float = 120.0) -> "EmbeddedStack":
        """Start both services, concurrently (LocalStack's boot dominates), and wait until healthy."""
        from emulator.localstack.launcher import LocalStackProcess
        from emulator.sagemaker.process import EmulatorProcess

        self.state_dir.mkdir(parents=True, exist_ok=True)
        ensure_tool_venvs(log=sys.stderr)  # not inside either service's readiness timeout
        self.localstack = LocalStackProcess(
            port=self.localstack_port,
            state_dir=self.state_dir,
            sagemaker_url=f"http://{names.LOOPBACK}:{self.sagemaker_port}",
        )
        self.emulator = EmulatorProcess(
            port=self.sagemaker_port,
            data_dir=self.state_dir / "sagemaker",
            s3_endpoint_url=f"http://{names.LOOPBACK}:{self.localstack_port}",
            env={**os.environ, **self.environment},
            own_session=not self.in_supervisor,
        )
        errors: list[BaseException] = []

        def start_emulator() -> None:
            try:
                self.emulator.start(timeout=timeout)
            except BaseException as exc:  # noqa: BLE001 - reported below, after LocalStack's own start
                errors.append(exc)

        thread = threading.Thread(target=start_emulator, name="sagemaker-emulator-start")
        thread.start()
        try:
            self.localstack.start(timeout=timeout)
        except BaseException:
            thread.join()
            self.stop()
            raise
        thread.join()
        if errors:
            self.stop()
            raise EmbeddedError(f"the SageMaker emulator did not start: {errors[0]}")
        return self

    def service(self, name: str) -> Any:
        return self.localstack if name == "localstack" else self.emulator

    def running(self, name: str) -> bool:
        service = self.service(name)
        return service is not None and service.is_running()

    def exit_code(self, name: str) -> int | None:
        process = getattr(self.service(name), "_child", None)
        return None if process is None else process.returncode

    def restart(self, name: str, timeout: float = 120.0) -> None:
        """Start one service again on its port and state (it reaps what is left of the dead one first)."""
        self.service(name).start(timeout=timeout)

    def stop(self) -> None:
        """Stop both (emulator first: it may be writing artifacts to LocalStack's S3)."""
        if self.emulator is not None:
            with contextlib.suppress(Exception):
                self.emulator.stop()
            self.emulator = None
        if self.localstack is not None:
            self.localstack.stop()
            self.localstack = None

    def __enter__(self) -> "EmbeddedStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------- the background supervisor


def supervisor_file(state_dir: Path | None = None) -> Path:
    return (state_dir or names.state_dir()) / SUPERVISOR_DIR / "supervisor.json"


def supervisor_log(state_dir: Path | None = None) -> Path:
    return (state_dir or names.state_dir()) / SUPERVISOR_DIR / "supervisor.log"


def background_status(state_dir: Path | None = None) -> dict[str, Any] | None:
    """The running supervisor's record ({pid, ports, ready, services}), or None when none runs.

    A record counts only while its pid still runs `deploy.embedded serve`: after a reboot or a
    hard kill the pid may belong to an unrelated process, which `sagestack down` must not signal.
    """
    return read_pidfile(supervisor_file(state_dir), SUPERVISOR_MARKER)


def services_ready(record: dict[str, Any]) -> bool:
    return bool(record.get("ready")) and all(s.get("state") == "running" for s in (record.get("services") or {}).values())


def describe_services(record: dict[str, Any] | None) -> list[str]:
    """One line per service, as `up` and `status` print them."""
    if record is None:
        return ["embedded stack: not running (start it with `sagestack up`)"]
    lines = [f"embedded stack: supervisor pid {record['pid']} (log {supervisor_log(Path(record['state_dir']))})"]
    ports = {"localstack": record.get("localstack_port"), "sagemaker": record.get("sagemaker_port")}
    for name, service in (record.get("services") or {}).items():
        restarts = service.get("restarts", 0)
        extra = f", restarted {restarts}x (last exit {service.get('last_exit')})" if restarts else ""
        lines.append(f"  {LABELS[name]:<22} {service.get('state', '?'):<10} pid {service.get('pid')} on :{ports[name]}{extra}")
    restored = record.get("restored")
    if restored:
        what = ", ".join(restored["recreated"]) or "nothing was missing"
        lines.append(f"  after LocalStack's restart at {restored['at']}: re-created {what}")
    return lines


def _reap_orphans(path: Path) -> None:
    """A supervisor killed hard may leave a service running (the emulator has its own session):
    stop what the dead supervisor's record names, if the pid still runs that service."""
    try:
        record = json.loads(path.read_text())
        services = dict(record.get("services") or {})
    except (OSError, ValueError, AttributeError, TypeError):
        return
    for name, service in services.items():
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            pid = int(service.get("pid"))
            if name in SERVICE_MARKERS and pid_alive(pid) and runs_command(pid, SERVICE_MARKERS[name]):
                terminate_group(pid, 5.0)


def ensure_tool_venvs(log: Any = None) -> None:
    """Build LocalStack's own venv now if it is missing (first use), printing each step.

    Building it can take from seconds (uv) to minutes (pip, slow mirror); it must never count
    against a readiness timeout, so callers do it before they start the clock."""
    from emulator.localstack import runtime_venv

    try:
        runtime_venv.ensure_venv(log=log or sys.stdout)
    except runtime_venv.VenvError as exc:
        raise EmbeddedError(str(exc)) from None


def start_background(timeout: float = 180.0, log: Any = print, while_starting: Any = None) -> dict[str, Any]:
    """Start the supervisor detached and wait until both services are healthy; idempotent.

    `while_starting` (a callable) runs in this process while the services boot, e.g. to
    prepare the deploy's inputs: the boot is mostly waiting on other processes.
    """
    state_dir = names.state_dir()
    current = background_status(state_dir)
    if not (current and services_ready(current)):
        ensure_tool_venvs()  # its own step with progress lines, before the readiness clock starts
    if current and services_ready(current):
        log(f"embedded stack already running (supervisor pid {current['pid']}, LocalStack :{current['localstack_port']}, SageMaker :{current['sagemaker_port']})")
        if while_starting is not None:
            while_starting()
        return current
    child = None
    if current is None:  # else it is starting or restarting a service right now: wait for that
        _reap_orphans(supervisor_file(state_dir))
        supervisor_file(state_dir).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = names.child_env(None, **names.stack_env(names.localstack_port(), names.sagemaker_port(), state_dir))
        child = Supervised([sys.executable, "-m", "deploy.embedded", "serve"], name="the embedded stack", log_path=supervisor_log(state_dir), env=env, cwd=names.PROJECT_ROOT)
        child.spawn()  # its own session: survives this command and the terminal
    else:
        log(f"embedded stack is running but not every service is up yet: {'; '.join(describe_services(current)[1:])}; waiting")
    if while_starting is not None:
        while_starting()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = background_status(state_dir)
        if record and services_ready(record) and (child is None or record.get("pid") == child.pid):
            return record
        if child is not None and not child.is_running():
            raise EmbeddedError(f"the embedded stack did not start (exit {child.returncode}); last lines of {child.log_path}:\n{child.tail()}")
        if child is None and record is None:
            raise EmbeddedError(f"the embedded stack another command was starting has stopped; see {supervisor_log(state_dir)}")
        time.sleep(0.05)
    if child is not None:
        child.stop(10.0)
    raise EmbeddedError(f"the embedded stack was not ready within {timeout:.0f} s; see {supervisor_log(state_dir)}")


def stop_background(timeout: float = 30.0) -> bool:
    """SIGTERM the supervisor (it stops both services) and wait; False if none was running.

    Never touches the emulator's saved state: `sagestack down --purge` does that, on request.
    """
    path = supervisor_file()
    record = background_status()
    if record is None:
        _reap_orphans(path)
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    terminate_group(int(record["pid"]), timeout)
    _reap_orphans(path)
    with contextlib.suppress(OSError):
        path.unlink()
    return True


def restore_localstack_side(log: Callable[[str], None]) -> list[str] | None:
    """Re-create what the last local deploy had in LocalStack; None when nothing was deployed here."""
    from deploy.outputs import local_outputs, write_outputs
    from deploy.profiles import session_for
    from deploy.stack import Stack, config_from_record

    outputs = local_outputs()
    if outputs is None:
        return None
    config = config_from_record(outputs.get("config") or {"stack_name": outputs.get("stack_name", "sagestack"), "stage": outputs.get("stage", "prod")})
    stack = Stack(session_for(names.LOCAL_PROFILE), config, log=log)
    recreated = stack.restore(outputs)
    if stack.refs.get("api_id") != outputs["api_id"] or stack.refs.get("api_key") != outputs["api_key"]:
        log(f"warning: LocalStack did not keep the REST API id or key value; outputs.json now has {stack.invoke_url(stack.refs['api_id'])}")
    outputs.update(api_id=stack.refs["api_id"], invoke_url=stack.invoke_url(stack.refs["api_id"]), api_key=stack.refs["api_key"], api_key_id=stack.refs["api_key_id"])
    write_outputs(outputs)
    return recreated


class _Supervisor:
    """The loop of `serve`: watch both services, restart a dead one after a backoff, restore LocalStack's side."""

    def __init__(self, stack: EmbeddedStack, record_path: Path) -> None:
        self.stack = stack
        self.record_path = record_path
        self.lock = threading.Lock()
        self.record: dict[str, Any] = {
            "pid": os.getpid(),
            "localstack_port": stack.localstack_port,
            "sagemaker_port": stack.sagemaker_port,
            "state_dir": str(stack.state_dir),
            "ready": False,
            "services": {name: {"state": "starting", "pid": None, "restarts": 0} for name in LABELS},
        }
        self.started_at = {name: time.monotonic() for name in LABELS}
        self.quick_deaths = dict.fromkeys(LABELS, 0)
        self.next_try: dict[str, float] = {}

    def save(self) -> None:
        with self.lock:
            write_private(self.record_path, json.dumps(self.record))

    def up(self) -> None:
        for name in LABELS:
            self.record["services"][name].update(state="running", pid=self.stack.service(name).pid)
            self.started_at[name] = time.monotonic()
        self.record.update(ready=True, localstack_pid=self.stack.localstack.pid, sagemaker_pid=self.stack.emulator.pid)
        self.save()

    def check(self, name: str) -> None:
        service = self.record["services"][name]
        now = time.monotonic()
        if service["state"] == "running":
            if self.stack.running(name):
                return
            self.quick_deaths[name] = self.quick_deaths[name] + 1 if now - self.started_at[name] < STABLE_S else 0
            delay = BACKOFF_S[min(self.quick_deaths[name], len(BACKOFF_S) - 1)]
            service.update(state="restarting", last_exit=self.stack.exit_code(name))
            self.next_try[name] = now + delay
            say(f"{LABELS[name]} (pid {service['pid']}) exited with code {service['last_exit']}; restarting it in {delay:g} s; the other service keeps running")
            self.save()
        elif service["state"] == "restarting" and now >= self.next_try.get(name, 0):
            try:
                self.stack.restart(name)
            except Exception as exc:  # noqa: BLE001 - logged; tried again after a longer backoff
                self.quick_deaths[name] += 1
                delay = BACKOFF_S[min(self.quick_deaths[name], len(BACKOFF_S) - 1)]
                self.next_try[name] = time.monotonic() + delay
                say(f"{LABELS[name]} did not come back ({str(exc).splitlines()[0]}); trying again in {delay:g} s")
                return
            service.update(state="running", pid=self.stack.service(name).pid, restarts=service["restarts"] + 1)
            self.started_at[name] = time.monotonic()
            say(f"{LABELS[name]} restarted (pid {service['pid']}, restart #{service['restarts']})")
            if name == "localstack":
                self.restore()
            self.save()

    def restore(self) -> None:
        try:
            recreated = restore_localstack_side(lambda line: say(line.strip()))
        except Exception as exc:  # noqa: BLE001 - the services run; the user can re-run `sagestack deploy`
            say(f"could not re-create the stack in LocalStack ({type(exc).__name__}: {exc}); run `sagestack deploy` to do it by hand")
            return
        if recreated is None:
            say("nothing was deployed to the embedded stack yet: nothing to re-create")
            return
        self.record["restored"] = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "recreated": recreated}
        say("re-created in LocalStack: " + (", ".join(recreated) or "nothing (all present)") + "; invoke URL and API key unchanged")


def say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


def serve() -> int:
    """The supervisor: start both services, keep them running, stop both on SIGTERM/SIGINT."""
    state_dir = names.state_dir()
    record_path = supervisor_file(state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stack = EmbeddedStack(state_dir=state_dir)
    stack.in_supervisor = True
    supervisor = _Supervisor(stack, record_path)
    supervisor.save()
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - reported through the log the parent shows
        say(f"embedded stack failed to start: {exc}")
        with contextlib.suppress(OSError):
            record_path.unlink()
        return 1
    supervisor.up()
    say(f"embedded stack ready: LocalStack {stack.localstack.url}, SageMaker emulator {stack.emulator.url}")
    try:
        while not stop.wait(0.25):
            for name in LABELS:
                if not stop.is_set():
                    supervisor.check(name)
    finally:
        stack.stop()
        with contextlib.suppress(OSError):
            record_path.unlink()
        say("embedded stack stopped")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        sys.exit(serve())
    print("usage: python -m deploy.embedded serve  (use `sagestack up` / `sagestack down`)", file=sys.stderr)
    sys.exit(2)
