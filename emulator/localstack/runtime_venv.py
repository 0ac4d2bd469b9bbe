"""LocalStack's own Python 3.13 venv: created once under `contract.names.venvs_dir()`, never at run time.

LocalStack 2026.3.0 needs Python 3.13 and packages that clash with the kit's venv (its own
moto fork, pinned botocore), so it lives in a venv of its own. Creation installs exactly the
pins in `requirements.lock` (--no-deps: the lock is a resolved set), our plugin package
(plugin/install.py: a .pth to the repo's source plus entry points, so the executor in the repo
is what runs), and the boto3 set Lambda handlers
see (`lambda-runtime.lock`, `install --target`). It installs with uv when there is one (the Makefile
bootstraps a pinned uv and exports it as SAGESTACK_UV; seconds instead of minutes), else with pip. A stamp holding a hash of all inputs makes
`ensure_venv()` a no-op when nothing changed; the directory name carries the same hash, so a
change builds a new venv next to the old one instead of replacing a venv that another session
may be running (`make clean` removes them all); an flock keeps parallel sessions from building
the same one twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from contract import names
from emulator.localstack.plugin.sagestack_localstack.interpreters import (
    OLD_BOTO3_RUNTIMES,
    SUPPORTED_PYTHON_RUNTIMES,
    InterpreterNotFound,
    find_python,
)

LOCALSTACK_VERSION = "2026.3.0"
PYTHON_VERSION = "3.13"
HERE = Path(__file__).resolve().parent
REQUIREMENTS_LOCK = HERE / "requirements.lock"
LAMBDA_RUNTIME_LOCK = HERE / "lambda-runtime.lock"
PLUGIN_DIR = HERE / "plugin"
STAMP_NAME = ".sagestack-stamp"
LAMBDA_LIBS_NAME = "lambda-runtime-libs"
# boto3 & co. for python3.8/3.9 handlers: a separate, idempotent step (like the service catalog), so
# adding it does not rebuild existing venvs; the executor finds it next to LAMBDA_LIBS_NAME
LAMBDA_RUNTIME_PY38_LOCK = HERE / "lambda-runtime-py38.lock"
LAMBDA_LIBS_PY38_NAME = LAMBDA_LIBS_NAME + "-py38"
# which runtimes use which set (the executor's choice: OLD_BOTO3_RUNTIMES get the py38 set when it exists)
MAIN_LIBS_RUNTIMES = tuple(r for r in SUPPORTED_PYTHON_RUNTIMES if r not in OLD_BOTO3_RUNTIMES)
BYTECODE_STAMP = ".bytecode"
CATALOG_DIR_NAME = "service-catalog"


class VenvError(RuntimeError):
    """Creating LocalStack's venv failed; the message says which step and what to do."""


def venv_dir() -> Path:
    """One directory per distinct set of inputs (lock files, plugin path): two checkouts or two
    versions of this file sharing a venvs dir never rebuild, or delete, each other's venv."""
    return names.venvs_dir() / f"localstack-{LOCALSTACK_VERSION}-{_inputs_digest()[:12]}"


def venv_python(venv: Path | None = None) -> Path:
    return (venv or venv_dir()) / "bin" / "python"


def lambda_libs_dir(venv: Path | None = None) -> Path:
    """boto3 & co. for Lambda handlers (put on their sys.path after the function's code)."""
    return (venv or venv_dir()) / LAMBDA_LIBS_NAME


def catalog_dir(venv: Path | None = None) -> Path:
    """LocalStack's prebuilt service catalog, shared by every state dir (see plugin boot.py)."""
    return (venv or venv_dir()) / CATALOG_DIR_NAME


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in (REQUIREMENTS_LOCK, LAMBDA_RUNTIME_LOCK):  # the pins, not the comments
        pins = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        digest.update(path.name.encode() + b"\0" + "\n".join(p for p in pins if p).encode() + b"\0")
    for path in (PLUGIN_DIR / "pyproject.toml", PLUGIN_DIR / "install.py"):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(str(PLUGIN_DIR).encode())
    return digest.hexdigest()


def expected_stamp() -> str:
    return f"localstack-core=={LOCALSTACK_VERSION} python{PYTHON_VERSION} {_inputs_digest()}"


def is_current(venv: Path | None = None) -> bool:
    venv = venv or venv_dir()
    stamp = venv / STAMP_NAME
    return stamp.is_file() and stamp.read_text().strip() == expected_stamp() and venv_python(venv).exists()


@contextlib.contextmanager
def _venv_lock(venv: Path) -> Iterator[None]:
    """Hold the flock that serialises every build step of `venv` across processes (parallel sessions)."""
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _clean_env() -> dict[str, str]:
    """Our environment without PYTHON* (a PYTHONDONTWRITEBYTECODE or PYTHONPATH of ours must not leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def _run(step: str, cmd: list[str], log, extra_env: dict[str, str] | None = None) -> None:
    print(f"[sagestack] {step}", file=log, flush=True)
    env = _clean_env()
    env.update(extra_env or {})
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"  # the interpreter is found by find_python(), never fetched
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise VenvError(
            f"creating LocalStack's venv failed at step '{step}' (exit {proc.returncode}).\n"
            f"command: {' '.join(cmd)}\n{tail}\n"
            + ("the installer needs the package index (PyPI) once at setup time; check your network/pip config and retry."
               if "install" in cmd else "")
        )


def ensure_venv(log=None) -> Path:
    """Return LocalStack's venv, building it first if missing or out of date (idempotent, locked)."""
    log = log or sys.stderr
    venv = venv_dir()
    if not is_current(venv):
        _build(venv, log)
    if not any(catalog_dir(venv).glob("service-catalog-*.dill")):
        _build_catalog(venv, log)
    if not _py38_libs_current(venv):
        _build_py38_libs(venv, log)
    for libs, runtimes in ((lambda_libs_dir(venv), MAIN_LIBS_RUNTIMES), (venv / LAMBDA_LIBS_PY38_NAME, OLD_BOTO3_RUNTIMES)):
        if libs.is_dir():
            _compile_bytecode(venv, libs, runtimes, log)
    return venv


def _compile_bytecode(venv: Path, libs: Path, runtimes: tuple[str, ...], log) -> None:
    """Bytecode of the Lambda handlers' boto3 set, for each runtime interpreter on this machine.

    Lambda's managed runtimes ship their SDK compiled; ours was installed from wheels without
    bytecode (uv writes none), and workers run with `-B` on a read-only /var/runtime, so every cold
    start compiled boto3, botocore and urllib3 again: importing boto3 and building a client took
    1.4 s instead of 0.6 s on 2 cores. `compileall` writes one `__pycache__/*.cpython-3XY.pyc` per
    interpreter next to the sources (loaded inside the sandbox too: a pyc is checked against its
    source's mtime and size, and tracebacks name the path the module was loaded from). It runs once
    per set (a stamp names the versions it found): `ensure_venv` runs at every LocalStack start, and
    looking for every runtime's interpreter there cost about 30 ms each time. A runtime whose
    interpreter is installed later runs its handlers' SDK from source (as before) until `make clean`.
    """
    stamp = libs / BYTECODE_STAMP
    if stamp.is_file():
        return
    with _venv_lock(venv):
        if stamp.is_file():  # another start compiled it while we waited
            return
        found = {}
        for runtime in runtimes:
            version = runtime.removeprefix("python")
            try:
                found[version] = find_python(version)
            except InterpreterNotFound:
                continue  # no such runtime on this machine: its functions are refused with a message
        print(f"[sagestack] compile the Lambda runtime libraries for python{', '.join(sorted(found))}", file=log, flush=True)
        for version, python in sorted(found.items()):
            # a file that does not compile for this version fails at import as it would without bytecode
            subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(libs)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=_clean_env(), check=False)
        stamp.write_text(" ".join(sorted(found)) + "\n")


def _py38_libs_current(venv: Path) -> bool:
    stamp = venv / LAMBDA_LIBS_PY38_NAME / STAMP_NAME
    return stamp.is_file() and stamp.read_text() == LAMBDA_RUNTIME_PY38_LOCK.read_text()


def _build_py38_libs(venv: Path, log) -> None:
    """boto3 for python3.8/3.9 handlers next to the main set (the executor picks it by runtime)."""
    with _venv_lock(venv):
        if _py38_libs_current(venv):
            return
        target = venv / LAMBDA_LIBS_PY38_NAME
        shutil.rmtree(target, ignore_errors=True)
        _run("install boto3 for python3.8/3.9 Lambda handlers",
             _installer(venv) + ["--target", str(target), "-r", str(LAMBDA_RUNTIME_PY38_LOCK)], log)
        (target / STAMP_NAME).write_text(LAMBDA_RUNTIME_PY38_LOCK.read_text())


def _installer(venv: Path) -> list[str]:
    """`pip install --no-deps` for `venv`: uv's when there is one (a uv-built venv has no pip), else the venv's pip."""
    uv = find_uv()
    if uv:
        return [uv, "pip", "install", "-q", "--no-deps", "-p", str(venv_python(venv))]
    return [str(venv_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]


def _build_catalog(venv: Path, log) -> None:
    """Prebuild LocalStack's service catalog once (else every fresh state dir spends ~1.5 s on it)."""
    with _venv_lock(venv):
        if any(catalog_dir(venv).glob("service-catalog-*.dill")):
            return
        with tempfile.TemporaryDirectory(prefix="sagestack-catalog-") as scratch:
            _run(
                "build LocalStack's service catalog",
                [str(venv_python(venv)), "-m", "sagestack_localstack.boot", "--build-catalog", str(catalog_dir(venv))],
                log,
                extra_env={"FILESYSTEM_ROOT": scratch, "CONFIG_DIR": scratch, "DISABLE_EVENTS": "1"},
            )


def find_uv() -> str | None:
    """The uv to build with: `SAGESTACK_UV`, else uv on PATH, else the one the Makefile bootstrapped;
    None (pip) when there is none or when
    `SAGESTACK_INSTALLER=pip` asks for the plain-pip path (the Makefile exports both)."""
    if os.environ.get("SAGESTACK_INSTALLER", "uv") == "pip":
        return None
    explicit = os.environ.get("SAGESTACK_UV")
    if explicit and os.access(explicit, os.X_OK):
        return explicit
    bootstrapped = names.PROJECT_ROOT / names.STATE_DIR_NAME / "tools" / "bin" / "uv"  # the Makefile's copy
    return shutil.which("uv") or (str(bootstrapped) if os.access(bootstrapped, os.X_OK) else None)


def _build(venv: Path, log) -> None:
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _venv_lock(venv):
        if is_current(venv):  # someone else built it while we waited
            return
        try:
            python313 = find_python(PYTHON_VERSION)
        except InterpreterNotFound as exc:
            raise VenvError(f"LocalStack {LOCALSTACK_VERSION} needs Python {PYTHON_VERSION}: {exc}") from None
        started = time.monotonic()
        uv = find_uv()
        tool = f"uv {uv}" if uv else "pip"
        print(f"[sagestack] building LocalStack's venv in {venv} with {tool} (one time; about 10 s with uv, 2 min with pip)", file=log, flush=True)
        if venv.exists():  # an interrupted build of these same inputs: nobody can be using it
            shutil.rmtree(venv)
        if uv:
            py = ["-p", str(venv_python(venv))]
            install = [uv, "pip", "install", "-q", "--no-deps"]  # bytecode is written on first import
            _run("1/4 create venv", [uv, "venv", "-q", "-p", python313, str(venv)], log)
            _run("2/4 install requirements.lock", install + py + ["-r", str(REQUIREMENTS_LOCK)], log)
        else:
            pip = [str(venv_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
            _run("1/4 create venv", [python313, "-m", "venv", str(venv)], log)
            _run("2/4 install requirements.lock", pip + ["-r", str(REQUIREMENTS_LOCK)], log)
        _run("3/4 install the sagestack plugin", [str(venv_python(venv)), str(PLUGIN_DIR / "install.py")], log)
        target = ["--target", str(lambda_libs_dir(venv)), "-r", str(LAMBDA_RUNTIME_LOCK)]
        if uv:  # pure-Python wheels, one set for python3.10..3.13: --python only picks the tags
            _run("4/4 install boto3 for Lambda handlers", install + py + target, log)
        else:
            _run("4/4 install boto3 for Lambda handlers", pip + target, log)
        (venv / STAMP_NAME).write_text(expected_stamp() + "\n")
        print(f"[sagestack] LocalStack's venv ready in {time.monotonic() - started:.0f} s", file=log, flush=True)
