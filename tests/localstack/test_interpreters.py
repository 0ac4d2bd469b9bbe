"""Finding the interpreter of a Lambda Python runtime (unit level: no LocalStack needed)."""

from __future__ import annotations

import sys

import pytest

from emulator.localstack.plugin.sagestack_localstack import interpreters


@pytest.fixture(autouse=True)
def _fresh_cache():
    interpreters.find_python.cache_clear()
    yield
    interpreters.find_python.cache_clear()


def test_finds_the_running_interpreter_version():
    version = "%d.%d" % sys.version_info[:2]
    path = interpreters.find_python(version)
    assert interpreters._reports_version(path, version)


def test_explicit_override_wins(monkeypatch):
    version = "%d.%d" % sys.version_info[:2]
    monkeypatch.setenv(f"SAGESTACK_PYTHON{version.replace('.', '')}", sys.executable)
    assert interpreters.candidates(version)[0] == sys.executable


def test_missing_interpreter_error_says_where_it_looked_and_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(interpreters.InterpreterNotFound) as info:
        interpreters.find_python("3.97")
    message = str(info.value)
    assert "python3.97" in message and "pyenv install 3.97" in message and "SAGESTACK_PYTHON397" in message


def test_a_shim_that_fails_is_not_accepted(monkeypatch, tmp_path):
    """pyenv shims exist on PATH but fail when the version is not selected: run each candidate."""
    shim = tmp_path / "python3.97"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.97: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(interpreters.InterpreterNotFound):
        interpreters.find_python("3.97")


def test_runtime_names():
    assert interpreters.version_of_runtime("python3.12") == "3.12"
    with pytest.raises(ValueError):
        interpreters.version_of_runtime("nodejs22.x")
    assert interpreters.SUPPORTED_PYTHON_RUNTIMES == (
        "python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
    )
