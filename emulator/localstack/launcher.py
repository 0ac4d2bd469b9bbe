"""Run LocalStack on the host, without Docker: `sagestack localstack [start|stop|status|--foreground]`.

`LocalStackProcess` is the public API (`sagestack up` and the test fixtures use it): it builds
LocalStack's venv once (runtime_venv.py), sets the environment docs/ARCHITECTURE.md lists ("LocalStack on the host") (loopback only,
all state and caches under the state dir, generated TLS cert, no analytics, no DNS server,
the `local` Lambda executor), starts `python -m sagestack_localstack.boot` in its own process
group, waits for `/_localstack/health`, and on stop terminates the whole group (LocalStack and
its Lambda workers) and waits until the port is free again.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path

from contract import names
from contract.supervision import HEALTH_POLL_S, SupervisionError, Supervised, pid_alive, read_pidfile, terminate_group, write_private
from emulator.localstack import runtime_venv

__all__ = ["LocalStackError", "LocalStackProcess", "pid_alive", "main"]

# What the stack needs (S3 for artifacts, Lambda + IAM + STS + Logs for the function,
# API Gateway for the REST API, CloudWatch for Lambda's metrics), in the order a deploy first calls
# them: the background warm-up loads them in this order, so a deploy started as soon as LocalStack
# answers finds each service loaded (or loading) when it gets there, instead of its first call (STS)
# waiting behind S3's and Lambda's loads.
DEFAULT_SERVICES = ("sts", "s3", "iam", "logs", "lambda", "apigateway", "cloudwatch")
# Enabled but not pre-loaded: loaded by its first request. Only Lambda's metric batching calls
# CloudWatch (a second after the first invoke, off the request path), and its provider opens a
# SQLite database at load: about a sixth of LocalStack's start-up CPU (py-spy, bench/).
LAZY_SERVICES = ("cloudwatch",)
BOOT_MODULE = "sagestack_localstack.boot"
# Variables copied from the caller's environment; everything else (AWS_*, LocalStack settings
# meant for another instance, PYTHON*) is dropped so LocalStack runs the same everywhere.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "PYENV_ROOT", "USER", "LOGNAME")
PASSTHROUGH_PREFIXES = ("SAGESTACK_PYTHON3", "SAGESTACK_LAMBDA_SANDBOX", "SAGESTACK_LOGS_")


class LocalStackError(RuntimeError):
    """LocalStack could not be started or stopped; the message says why and what to do."""


def _port_is_free(port: int, host: str = names.LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except PermissionError:
            raise LocalStackError(
                f"port {port} needs privileges this user does not have (ports below 1024 usually do); "
                f"pick a port from 1024 to 65535 with --port or SAGESTACK_LOCALSTACK_PORT"
            ) from None
        except OSError:
            return False
    # a listener on 0.0.0.0 also blocks us; binding 127.0.0.1 detects that too on Linux
    return True


class LocalStackProcess:
    """One LocalStack runtime on 127.0.0.1:`port` with its state in `state_dir`/localstack."""

    def __init__(
        self,
        port: int | None = None,
        state_dir: Path | None = None,
        *,
        services: tuple[str, ...] = DEFAULT_SERVICES,
        eager: bool = False,
        extra_env: dict[str, str] | None = None,
        sagemaker_url: str | None = None,
    ) -> None:
        self.port = port if port is not None else names.localstack_port()
        # where SageMaker requests arriving on this port are forwarded (the emulator)
        self.sagemaker_url = sagemaker_url or names.sagemaker_url()
        self.state_dir = Path(state_dir) if state_dir is not None else names.state_dir()
        self.runtime_dir = self.state_dir / "localstack"
        self.services = services
        self.eager = eager
        self.extra_env = dict(extra_env or {})
        self._child: Supervised | None = None
        self._pid: int | None = None

    # ---- addresses and files -------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{names.LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def log_path(self) -> Path:
        return self.runtime_dir / "localstack.log"

    @property
    def pidfile(self) -> Path:
        return self.runtime_dir / "localstack.pid.json"

    @property
    def warm_services(self) -> tuple[str, ...]:
        """The services loaded right after start (in the background unless `eager`)."""
        return tuple(s for s in self.services if s not in LAZY_SERVICES)

    # ---- setup ---------------------------------------------------------------------------
    def ensure_venv(self) -> Path:
        """Build LocalStack's venv if needed (network at setup time only); return its path."""
        try:
            return runtime_venv.ensure_venv()
        except runtime_venv.VenvError as exc:
            raise LocalStackError(str(exc)) from None

    def environment(self) -> dict[str, str]:
        """The complete environment of the LocalStack process (nothing else is inherited)."""
        rt = self.runtime_dir
        env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH_ENV or k.startswith(PASSTHROUGH_PREFIXES)}
        env.update(
            {
                "OVERRIDE_IN_DOCKER": "0",  # a /.dockerenv may exist on CI hosts; we are not in a container
                "GATEWAY_LISTEN": f"{names.LOOPBACK}:{self.port}",
                # URLs LocalStack hands out (Function URLs: http://<id>.lambda-url.<region>.localhost:<port>/)
                # use a name every client resolves to loopback without DNS (RFC 6761; see the plugin's
                # patches/localhost_subdomains.py)
                "LOCALSTACK_HOST": f"localhost:{self.port}",
                "FILESYSTEM_ROOT": str(rt / "filesystem"),
                "LOCALSTACK_VOLUME_DIR": str(rt / "volume"),
                "TMPDIR": str(rt / "tmp"),
                "XDG_CACHE_HOME": str(rt / "cache"),
                "CONFIG_DIR": str(rt / "config"),  # not ~/.localstack: no user profiles leak in
                "SKIP_SSL_CERT_DOWNLOAD": "1",
                "CUSTOM_SSL_CERT_PATH": str(rt / "cert" / "server.test.pem"),
                "DISABLE_EVENTS": "1",  # no analytics (and no network)
                "DNS_ADDRESS": "0",  # no DNS server on :53 of all interfaces
                "DEBUG": "0",
                "LS_LOG": "warn",  # per-request INFO lines cost CPU on the hot path
                # LocalStack keeps its request loggers at INFO whatever LS_LOG says (their records are
                # then dropped by the WARN handler): at WARNING they are skipped before being built
                # (plugin patches/response_logger_when_enabled.py)
                "LOG_LEVEL_OVERRIDES": "localstack.request=WARNING",
                # the plugin's thread-per-connection server (gateway_server.py) instead of twisted's;
                # GATEWAY_SERVER=twisted in extra_env brings LocalStack's own back
                "GATEWAY_SERVER": "sagestack",
                "IN_MEMORY_CLIENT": "1",  # LocalStack-internal calls (API Gateway -> Lambda, logs) skip HTTP
                "SERVICES": ",".join(self.services),
                # eager: load every service before reporting ready (slower start); otherwise the
                # plugin loads them in the background right after the gateway is up
                "EAGER_SERVICE_LOADING": "1" if self.eager else "0",
                "SAGESTACK_WARM_SERVICES": "" if self.eager else ",".join(self.warm_services),
                "LAMBDA_RUNTIME_EXECUTOR": "local",
                "SAGESTACK_LAMBDA_RUNTIME_LIBS": str(runtime_venv.lambda_libs_dir()),
                "SAGESTACK_SERVICE_CATALOG_DIR": str(runtime_venv.catalog_dir()),
                # SageMaker on this port too (plugin patches/sagemaker_forwarding.py): one endpoint for all
                "SAGESTACK_SAGEMAKER_URL": self.sagemaker_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if os.environ.get("SAGESTACK_LOCALSTACK_DEBUG") == "1":  # request logs and LocalStack debug output
            env.update({"DEBUG": "1", "LS_LOG": "debug"})
            env.pop("LOG_LEVEL_OVERRIDES")
        env.update(self.extra_env)
        return env

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 60.0, *, detach: bool = False) -> "LocalStackProcess":
        """Start LocalStack and wait until it is healthy; `detach` leaves it running after we exit."""
        if self.is_running():
            return self
        if self._pid is not None:  # it died: reap what is left of its group before starting again
            self.stop()
        if not 0 < self.port < 65536:
            raise LocalStackError(f"port {self.port} is outside 1..65535; pick another with --port")
        venv = self.ensure_venv()
        if not _port_is_free(self.port):
            raise LocalStackError(
                f"port {names.LOOPBACK}:{self.port} is already in use. Another LocalStack? "
                f"Check with `sagestack localstack status`, stop it with `sagestack localstack stop`, "
                f"or pick another port with SAGESTACK_LOCALSTACK_PORT."
            )
        for sub in ("filesystem", "volume", "tmp", "cache", "config", "cert"):
            (self.runtime_dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir / "cert", 0o700)  # it holds the TLS private key (plugin tls.py writes it 0600)
        env = self.environment()
        if not detach:  # tied to us: if we are killed hard, LocalStack stops itself
            env["SAGESTACK_EXIT_WITH_PARENT"] = "1"
        self._child = Supervised(
            # -P: the state dir (our working directory) is not put on sys.path (nothing there is code;
            # and plux's entry-point index is then the same for every state dir: plugin boot.py)
            [str(runtime_venv.venv_python(venv)), "-P", "-m", BOOT_MODULE], name="LocalStack", log_path=self.log_path, env=env, cwd=self.runtime_dir
        )
        self._pid = self._child.spawn().pid
        try:
            self.wait_healthy(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        if detach:
            write_private(self.pidfile, json.dumps({"pid": self._pid, "port": self.port, "url": self.url}))
        return self

    def is_running(self) -> bool:
        """Whether the LocalStack we started (or found in the pidfile) still runs."""
        if self._child is not None:
            return self._child.is_running()
        return self._pid is not None and pid_alive(self._pid)

    def health(self) -> dict | None:
        """`/_localstack/health` as a dict, or None when it does not answer (or answers nonsense)."""
        return _get_json(names.LOOPBACK, self.port, names.LOCALSTACK_HEALTH_PATH)

    def wait_healthy(self, timeout: float = 60.0) -> dict:
        """Poll health until every configured service reports available/running."""
        wanted = {"running"} if self.eager else {"running", "available", "starting"}
        seen: list[dict | None] = [None]

        def ready() -> dict | None:
            seen[0] = self.health()
            states = (seen[0] or {}).get("services", {})
            return seen[0] if seen[0] is not None and all(states.get(s) in wanted for s in self.services) else None

        if self._child is None:  # one we did not start: nothing to watch but the port
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if ready():
                    return seen[0] or {}
                time.sleep(HEALTH_POLL_S)
            raise LocalStackError(f"LocalStack did not become healthy on {self.url} within {timeout:.0f} s (last health: {seen[0]}); see {self.log_path}")
        try:
            return dict(self._child.wait_healthy(ready, timeout))
        except SupervisionError as exc:
            raise LocalStackError(f"{exc}\n(on {self.url}; last health: {seen[0]})") from None

    def start_warm_up(self) -> None:
        """Make a first AWS request (STS GetCallerIdentity): LocalStack starts loading the stack's
        services in the background on the first AWS request it gets (plugin warm_up.py)."""
        scope = f"{names.LOCAL_ACCESS_KEY_ID}/20260101/{names.DEFAULT_REGION}/sts/aws4_request"
        conn = _NoSelfConnect(names.LOOPBACK, self.port, timeout=30)
        try:
            conn.request("POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15", headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
            })
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            pass  # wait_warm reports a warm-up that never finishes
        finally:
            conn.close()

    def wait_warm(self, timeout: float = 120.0) -> dict:
        """Start the background warm-up if no AWS request has yet, and wait until its services report running."""
        if not self.eager:
            self.start_warm_up()
        deadline = time.monotonic() + timeout
        last: dict | None = None
        while time.monotonic() < deadline:
            last = self.health()
            if last is not None and all(last.get("services", {}).get(s) == "running" for s in self.warm_services):
                return last
            time.sleep(0.05)
        raise LocalStackError(f"LocalStack's services did not finish loading within {timeout:.0f} s (last health: {last})")

    def stop(self, timeout: float = 2.0) -> None:
        """Stop LocalStack and every process in its group; wait until the port is free.

        SIGTERM first (LocalStack stops its services and Lambda workers), SIGKILL to the whole
        group after `timeout` s: LocalStack's Lambda event pollers can hold a graceful shutdown
        for several seconds, and nothing here persists state that a hard stop could lose.
        """
        pid = self._pid
        if pid is None:
            return
        if self._child is not None:
            self._child.stop(timeout)
        else:
            terminate_group(pid, timeout)
        self._child = None
        self._pid = None
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        _wait_port_free(self.port, timeout=5.0)

    def __enter__(self) -> "LocalStackProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def from_pidfile(cls, state_dir: Path | None = None) -> "LocalStackProcess | None":
        """The detached LocalStack recorded in `state_dir`, if its process still runs."""
        proc = cls(state_dir=state_dir)
        record = read_pidfile(proc.pidfile, BOOT_MODULE.encode())
        try:
            port = int((record or {})["port"])
        except (KeyError, TypeError, ValueError):  # absent, stale, or not a pidfile we wrote
            return None
        proc.port, proc._pid = port, int(record["pid"])  # type: ignore[index]
        return proc


class _SelfConnected(OSError):
    """The poll's socket got connected to itself (TCP simultaneous open), not to a server."""


class _NoSelfConnect(http.client.HTTPConnection):
    """An HTTP connection that refuses to talk to itself.

    With a port in the ephemeral range (32768-60999 on Linux) and nothing listening yet, the
    kernel may pick that very port as the client's source port and connect the socket to
    itself: the poll then reads its own request as the answer (BadStatusLine) and holds the
    port LocalStack is about to bind.
    """

    def connect(self) -> None:
        super().connect()
        if self.sock.getsockname() == self.sock.getpeername():
            # close with a reset (linger 0): a TIME_WAIT left by a self-connection blocks the bind
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
            raise _SelfConnected("connected to itself")


def _get_json(host: str, port: int, path: str, timeout: float = 2.0) -> dict | None:
    """GET a JSON object from http://host:port/path; None on any failure or malformed answer."""
    conn = _NoSelfConnect(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        if resp.status != 200:
            return None
        value = json.loads(resp.read())
        return value if isinstance(value, dict) else None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


def _wait_port_free(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _port_is_free(port):
        time.sleep(0.05)


# ---- CLI ---------------------------------------------------------------------------------
def _port_number(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is outside 1..65535")
    return port


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sagestack localstack",
        description="Run LocalStack on the host (no Docker) with the local Lambda executor.",
    )
    parser.add_argument("action", nargs="?", default="start", choices=["start", "stop", "status", "setup"])
    parser.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops LocalStack")
    parser.add_argument("--port", type=_port_number, default=None, help=f"default {names.localstack_port()}")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for health")
    args = parser.parse_args(argv)

    if args.action == "setup":
        try:
            print(runtime_venv.ensure_venv())
        except runtime_venv.VenvError as exc:
            print(f"sagestack localstack: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.action == "status":
        running = LocalStackProcess.from_pidfile()
        if running is None:
            print("LocalStack: not running (no live pidfile under the state dir)")
            return 1
        health = running.health()
        if not health:
            print(f"LocalStack: pid {running.pid} on {running.url} does not answer /_localstack/health")
            return 1
        up = sorted(name for name, state in health.get("services", {}).items() if state in ("running", "available"))
        print(f"LocalStack {health.get('version')}: pid {running.pid} on {running.url}, services: {', '.join(up)}")
        return 0
    if args.action == "stop":
        running = LocalStackProcess.from_pidfile()
        if running is None:
            print("LocalStack: not running")
            return 0
        running.stop()
        print(f"LocalStack on {running.url} stopped")
        return 0

    existing = LocalStackProcess.from_pidfile()
    if existing is not None and not args.foreground:
        print(f"LocalStack already running: pid {existing.pid} on {existing.url}")
        return 0
    proc = LocalStackProcess(port=args.port)
    try:
        started = time.monotonic()
        proc.start(timeout=args.timeout, detach=not args.foreground)
    except LocalStackError as exc:
        print(f"sagestack localstack: {exc}", file=sys.stderr)
        return 1
    print(f"LocalStack ready on {proc.url} in {time.monotonic() - started:.1f} s (pid {proc.pid}, log {proc.log_path})")
    if not args.foreground:
        return 0

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, `kill`, a closed terminal: all stop LocalStack (its own session would outlive us)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        while proc.is_running():
            time.sleep(0.5)
        print("LocalStack exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping LocalStack ...")
        return 0
    finally:
        proc.stop()
