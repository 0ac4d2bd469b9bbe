"""Find a CPython interpreter for a Lambda runtime name (`python3.12`) or a version (`3.12`).

Stdlib only: imported both by the kit's launcher (Python >= 3.11) and by the LocalStack-side
executor (Python 3.13). pyenv shims on PATH may exist yet fail ("command not found") when the
version is not selected, so every candidate is *run* once to confirm its version before use.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
from pathlib import Path

# Lambda's Python runtimes the local executor supports (AWS names).
SUPPORTED_PYTHON_RUNTIMES = (
    "python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
)
# runtimes whose handlers get the boto3 set of lambda-runtime-py38.lock (current urllib3 does not import there)
OLD_BOTO3_RUNTIMES = ("python3.8", "python3.9")


class InterpreterNotFound(RuntimeError):
    """No working interpreter for the requested version; the message says where we looked."""


def version_of_runtime(runtime: str) -> str:
    """`python3.12` -> `3.12`; raises ValueError for anything else."""
    if not runtime.startswith("python3."):
        raise ValueError(f"{runtime!r} is not a Python runtime")
    return runtime.removeprefix("python")


def _reports_version(path: str, version: str) -> bool:
    try:
        proc = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == version


def _pyenv_roots() -> list[str]:
    roots: list[str] = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=20)
            if out.returncode == 0 and out.stdout.strip():
                roots.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(os.path.expanduser("~/.pyenv"))
    return list(dict.fromkeys(roots))


def candidates(version: str) -> list[str]:
    """Places to try, in order: an explicit override, PATH, pyenv installs, common prefixes."""
    exe = f"python{version}"
    found: list[str] = []
    override = os.environ.get(f"SAGESTACK_PYTHON{version.replace('.', '')}")
    if override:
        found.append(override)
    on_path = shutil.which(exe)
    if on_path:
        found.append(on_path)
    for root in _pyenv_roots():
        # newest patch release first
        for match in sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", exe)), reverse=True):
            found.append(match)
    for prefix in ("/usr/local/bin", "/usr/bin", "/opt/python/bin"):
        found.append(os.path.join(prefix, exe))
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=None)
def find_python(version: str) -> str:
    """Absolute path of a working `python<version>`; raises InterpreterNotFound with the places tried."""
    tried = candidates(version)
    for path in tried:
        if os.path.exists(path) and _reports_version(path, version):
            return str(Path(path).resolve()) if "shims" not in path else path
    raise InterpreterNotFound(
        f"no working python{version} interpreter found (tried: {', '.join(tried)}). "
        f"Install Python {version} (e.g. `pyenv install {version}`) or set "
        f"SAGESTACK_PYTHON{version.replace('.', '')} to its path."
    )
