"""Where a Lambda worker runs: in namespaces of its own with Lambda's file layout, or (fallback) on the host.

On Lambda a function sees `/var/task` (its code, read-only), `/var/lang` (its runtime's Python),
`/var/runtime` (the runtime interface client and boto3), `/opt` (layers), a private `/tmp`, and
the OS; no other function, no /proc of other processes. On Linux with bubblewrap (`bwrap`, Debian
package `bubblewrap`) each execution environment gets exactly that: new mount, PID, IPC and UTS
namespaces, every capability dropped, the host's /usr read-only for the C libraries, and those
paths bind-mounted from the host. The network namespace is the host's, so the function reaches
the stack's endpoints on loopback (LocalStack, the SageMaker emulator) as on a VPC-less Lambda.
Nothing else of the host is there: not the kit's state dir (outputs.json, the emulator's SQLite,
the TLS key), not LocalStack's process, not other functions' code.

Paths are then AWS's for real (stack traces, `__file__`, `sys.prefix`): `Layout` is the one place
that says which path a worker sees for its code, runtime and interpreter, sandboxed or not, so
the executor builds its argv and environment from it and nothing else maps paths.

Where bwrap is missing or cannot create namespaces (no user namespaces, a seccomp profile that
forbids them), workers run as host processes exactly as before and one warning says so when the
Lambda service starts. SAGESTACK_LAMBDA_SANDBOX=0 chooses that fallback on purpose.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger(__name__)

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
LANG_DIR = "/var/lang"
OPT_DIR = "/opt"
WORKER_NAME = "bootstrap.py"
# What AWS's Python runtimes set (the managed runtime's defaults; Lambda docs, "Defined runtime
# environment variables")
AWS_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
AWS_LD_LIBRARY_PATH = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
# Host files a runtime needs from /etc (name lookups, CA bundle, time zone), read-only.
ETC_FILES = ("resolv.conf", "hosts", "nsswitch.conf", "localtime", "passwd", "group", "ssl", "ca-certificates",
             "ld.so.cache", "ld.so.conf", "ld.so.conf.d")
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # links into /usr on merged-/usr systems


@dataclass(frozen=True)
class Layout:
    """How one worker is started and what paths it sees (host paths when not sandboxed)."""

    argv_prefix: tuple[str, ...]  # bwrap and its options, or empty
    python: str  # the interpreter, as the worker sees it
    worker: str  # worker.py, as the worker sees it
    task_root: str  # the function's code
    runtime_dir: str  # boto3 & co.
    cwd: str  # host directory Popen starts in
    env: dict[str, str]  # PATH, LD_LIBRARY_PATH, PYTHONPATH, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR

    @property
    def sandboxed(self) -> bool:
        return bool(self.argv_prefix)

    def argv(self, ctrl_fd: int) -> list[str]:
        return [*self.argv_prefix, self.python, "-S", "-B", "-u", self.worker, str(ctrl_fd), self.task_root,
                self.runtime_dir]


def wanted() -> bool:
    return os.environ.get("SAGESTACK_LAMBDA_SANDBOX", "1").strip().lower() not in ("0", "false", "no", "off")


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when bwrap can build a sandbox here; else why not (said once at start-up)."""
    if not wanted():
        return "SAGESTACK_LAMBDA_SANDBOX=0"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed; on Debian/Ubuntu: apt-get install bubblewrap"
    probe = [bwrap, "--ro-bind", "/usr", "/usr", *_top_level_args(), "--proc", "/proc", "--dev", "/dev",
             "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--cap-drop", "ALL", "--", "/usr/bin/true"]
    if os.getuid() != 0:
        probe[1:1] = ["--unshare-user"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap failed to run: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.strip()[:200]}"
    return None


def report_at_start() -> None:
    """Say once, when the Lambda service starts, how functions are isolated."""
    reason = unavailable_reason()
    if reason:
        LOG.warning("Lambda functions run as host processes without isolation (%s): function code can read "
                    "the kit's files and see its processes, and stack traces show host paths mapped to AWS's.",
                    reason)


def _top_level_args() -> list[str]:
    args: list[str] = []
    for name in TOP_LEVEL:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


@functools.lru_cache(maxsize=None)
def real_interpreter(python: str) -> tuple[Path, str]:
    """(installation prefix, executable name) of the interpreter `python` runs.

    Asked of the interpreter itself: `python` may be a pyenv shim (a script that execs the real
    one) or a symlink; what /var/lang must hold is the real installation (sys.base_prefix).
    """
    try:
        out = subprocess.run(
            [python, "-S", "-c", "import sys; print(sys.base_prefix); print(sys.executable)"],
            capture_output=True, text=True, timeout=30,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        )
        prefix, executable = out.stdout.split()
        return Path(prefix), Path(executable).resolve().name
    except (OSError, subprocess.SubprocessError, ValueError):
        resolved = Path(python).resolve()
        return resolved.parent.parent, resolved.name


def python_prefix(python: str) -> Path:
    """The installation prefix of an interpreter (its `<prefix>/bin/python3.X`)."""
    return real_interpreter(python)[0]


def layout(python: str, code_dir: str, libs_dir: str, worker_script: Path, *, tmp_mb: int = 512) -> Layout:
    """The layout for one worker: sandboxed with AWS's paths when possible, else today's host paths."""
    if unavailable_reason() is None:
        return _sandboxed(python, code_dir, libs_dir, worker_script, tmp_mb)
    python_dir = str(Path(python).parent)
    return Layout(
        argv_prefix=(),
        python=python,
        worker=str(worker_script),
        task_root=code_dir,
        runtime_dir=libs_dir,
        cwd=code_dir,
        env={
            "PATH": os.pathsep.join([python_dir, "/usr/local/bin", "/usr/bin", "/bin", "/opt/bin"]),
            "LD_LIBRARY_PATH": os.pathsep.join(
                [str(python_prefix(python) / "lib"), "/lib64", "/usr/lib64", libs_dir, f"{libs_dir}/lib",
                 code_dir, f"{code_dir}/lib", "/opt/lib"]
            ),
            "PYTHONPATH": libs_dir,
            "LAMBDA_TASK_ROOT": code_dir,
            "LAMBDA_RUNTIME_DIR": libs_dir,
        },
    )


def _sandboxed(python: str, code_dir: str, libs_dir: str, worker_script: Path, tmp_mb: int) -> Layout:
    prefix, executable = real_interpreter(python)
    args = [shutil.which("bwrap") or "bwrap"]
    if os.getuid() != 0:
        args.append("--unshare-user")
    args += [
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "localhost",
        "--die-with-parent", "--cap-drop", "ALL",
        "--ro-bind", "/usr", "/usr", *_top_level_args(),
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp",
        "--dir", "/var", "--ro-bind", str(prefix), LANG_DIR,
        "--ro-bind", code_dir, TASK_ROOT,
        "--tmpfs", RUNTIME_DIR,
    ]
    for etc in ETC_FILES:
        if os.path.exists(f"/etc/{etc}"):
            args += ["--ro-bind", f"/etc/{etc}", f"/etc/{etc}"]
    if libs_dir and os.path.isdir(libs_dir):
        for entry in sorted(os.listdir(libs_dir)):  # boto3 & co. next to the runtime client, as on Lambda
            args += ["--ro-bind", os.path.join(libs_dir, entry), f"{RUNTIME_DIR}/{entry}"]
    args += [
        "--ro-bind", str(worker_script), f"{RUNTIME_DIR}/{WORKER_NAME}",
        "--remount-ro", RUNTIME_DIR,
        "--dir", OPT_DIR,
        "--chdir", TASK_ROOT,
        "--",
    ]
    return Layout(
        argv_prefix=tuple(args),
        python=f"{LANG_DIR}/bin/{executable}",
        worker=f"{RUNTIME_DIR}/{WORKER_NAME}",
        task_root=TASK_ROOT,
        runtime_dir=RUNTIME_DIR,
        cwd="/",
        env={
            "PATH": AWS_PATH,
            "LD_LIBRARY_PATH": AWS_LD_LIBRARY_PATH,
            "PYTHONPATH": RUNTIME_DIR,
            "LAMBDA_TASK_ROOT": TASK_ROOT,
            "LAMBDA_RUNTIME_DIR": RUNTIME_DIR,
        },
    )


def worker_pid(pid: int) -> int:
    """The host pid of the interpreter under `pid`: bwrap, then its reaper (pid 1 inside), then python.

    Without a sandbox the worker is `pid` itself. Used to read the worker's peak memory for REPORT.
    """
    for _ in range(3):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                children = fh.read().split()
        except OSError:
            return pid
        if not children:
            return pid
        pid = int(children[-1])
    return pid


_spawner_lock = threading.Lock()
_spawner = None


def popen(*args, **kwargs) -> subprocess.Popen:
    """`subprocess.Popen(*args, **kwargs)`, forked from one thread that lives as long as LocalStack.

    A sandboxed worker runs under `bwrap --die-with-parent`, which is PR_SET_PDEATHSIG: the kernel
    kills the sandbox when the *thread* that forked it exits, not the process. Environments start
    in whatever thread asked for them, and the gateway serves each connection in a thread that ends
    with its connection (gateway_server.py): a client closing its connection would kill the
    functions its requests had started (`Runtime exited with error: signal: killed`). Forking from
    this one long-lived thread ties every worker to LocalStack's lifetime instead, as intended.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            from concurrent.futures import ThreadPoolExecutor

            # its one thread waits for work until the process exits: it never ends while idle
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")
    return _spawner.submit(subprocess.Popen, *args, **kwargs).result()


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a worker and make sure its interpreter is gone when this returns.

    Sandboxed, `proc` is bwrap, whose reaper (pid 1 of the namespace) runs the interpreter: the
    interpreter is killed first, so the reaper and bwrap exit in order and are reaped (killing
    bwrap alone leaves the interpreter to die a moment later, or orphans the reaper).
    """
    if proc.poll() is not None:
        return
    leaf = worker_pid(proc.pid)
    if leaf != proc.pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(leaf, signal.SIGKILL)
        try:
            proc.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
