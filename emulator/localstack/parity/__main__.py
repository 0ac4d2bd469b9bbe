"""`python -m emulator.localstack.parity` (`make parity`): LocalStack's parity tests against the kit.

LocalStack's AWS-parity tests (tests/aws/... in github.com/localstack/localstack, snapshot-checked
against real AWS) are not vendored here. This command:
1. uses a checkout of that repository at the archived commit (ARCHIVED_COMMIT): `--source DIR`,
   or it runs `git clone https://github.com/localstack/localstack` + checkout into the state dir;
2. builds, once, a Python 3.13 venv for the test process: LocalStack's own venv (exact pins,
   runtime_venv.py) underneath, plus the test extras pinned in parity/requirements.lock;
3. starts the kit's LocalStack (host mode, `local` executor) on a free port outside the ephemeral
   range, with every service the tests touch that can run offline;
4. runs pytest on the chosen suites with TEST_SKIP_LOCALSTACK_START=1 and the endpoint variables
   LocalStack's test config reads, resolving `.*localhost.localstack.cloud`/`*.localhost` to loopback in
   the test process (resolve_localhost.py), and prints pytest's summary line per suite; each
   suite's log ends with the failed tests, one line each.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from contract import names
from emulator.localstack import runtime_venv
from emulator.localstack.launcher import DEFAULT_SERVICES, LocalStackError, LocalStackProcess, _port_is_free

REPOSITORY = "https://github.com/localstack/localstack"
ARCHIVED_COMMIT = "8b9a79f05846835cf4dff63ab7eefdde9df83783"  # main when the repository was archived (2026-03-23)
HERE = Path(__file__).resolve().parent
TEST_LOCK = HERE / "requirements.lock"
# the Python-runtime subset: other runtimes' parametrisations are deselected by keyword
NOT_OTHER_RUNTIMES = "not nodejs and not java and not ruby and not dotnet and not provided and not go1 and not rust"
SUITES = {
    "lambda": ["tests/aws/services/lambda_/test_lambda.py"],
    "lambda_api": ["tests/aws/services/lambda_/test_lambda_api.py"],
    "apigateway_lambda": ["tests/aws/services/apigateway/test_apigateway_lambda.py"],
}
# Not enabled: dynamodb and kinesis. LocalStack serves them through engines it downloads on first use
# (DynamoDB Local on Java, kinesis-mock); offline nothing listens, and every call retried for about 25 s
# before an InternalError, which held the event-source-mapping tests for minutes each. Not enabled, those
# tests fail at once ("Service 'dynamodb' is not enabled"). ec2 is moto's (offline): the VPC-config tests use it.
# stepfunctions is LocalStack's own interpreter (offline): the host-prefix test calls StartSyncExecution from a function.
SERVICES = DEFAULT_SERVICES + ("sqs", "sns", "events", "ssm", "secretsmanager", "kms", "ec2", "stepfunctions")


def checkout(source: Path | None, state: Path) -> Path:
    """A localstack checkout at ARCHIVED_COMMIT: `source` as given, or cloned once into `state`."""
    if source is not None:
        if not (source / "tests" / "aws").is_dir():
            raise SystemExit(f"{source} is not a localstack checkout (no tests/aws); clone {REPOSITORY} there")
        return source
    target = state / "localstack"
    if not (target / "tests" / "aws").is_dir():
        print(f"[parity] cloning {REPOSITORY} into {target} (needs network once)", flush=True)
        subprocess.run(["git", "clone", "--quiet", REPOSITORY, str(target)], check=True)
        subprocess.run(["git", "-C", str(target), "checkout", "--quiet", ARCHIVED_COMMIT], check=True)
    return target


def test_venv(ls_venv: Path) -> Path:
    """Python 3.13 venv: LocalStack's site-packages underneath (a .pth), the pinned test extras on top."""
    venv = names.venvs_dir() / f"{ls_venv.name}-parity-tests"
    stamp = venv / ".sagestack-stamp"
    wanted = TEST_LOCK.read_text() + str(ls_venv)
    if stamp.is_file() and stamp.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    python = runtime_venv.venv_python(ls_venv)
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3.*")) / "site-packages"
    base_site = next((ls_venv / "lib").glob("python3.*")) / "site-packages"
    (site / "localstack-venv.pth").write_text(f"{base_site}\n")
    print("[parity] installing the test extras (needs PyPI once)", flush=True)
    uv = runtime_venv.find_uv()  # a uv-built LocalStack venv has no pip for `python -m pip` to find
    install = ([uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python")] if uv else
               [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"])
    subprocess.run([*install, "--no-deps", "-r", str(TEST_LOCK)], check=True)
    stamp.write_text(wanted)
    return venv


def free_port_outside_ephemeral_range() -> int:
    """A free loopback port below Linux's ephemeral range (32768-60999), where a health poll can
    never connect to itself."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if _port_is_free(port):
            return port
    raise SystemExit("no free port found in 20000-32000")


def summary_line(output: str) -> str:
    """pytest's final counts line ("64 passed, 3 failed, 120 deselected in 95.1s")."""
    for line in reversed(output.splitlines()):
        if any(word in line for word in (" passed", " failed", " error", "no tests ran")) and " in " in line:
            return line.strip("= ")
    return "(no summary: see the log)"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.localstack.parity", description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, help=f"a checkout of {REPOSITORY} at {ARCHIVED_COMMIT[:9]}")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="default: all")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    state = names.state_dir() / "parity"
    state.mkdir(parents=True, exist_ok=True)
    repo = checkout(args.source, state)
    ls_venv = runtime_venv.ensure_venv()
    venv = test_venv(ls_venv)
    port = free_port_outside_ephemeral_range()
    host = f"localhost.localstack.cloud:{port}"
    localstack = LocalStackProcess(port=port, state_dir=state / "run", services=SERVICES, eager=False)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "TEST_SKIP_LOCALSTACK_START": "1",
        # the executor the server runs, told to the test process: the two concurrent-update tests patch
        # the Docker executor to slow updates down and skip themselves on any other executor
        "LAMBDA_RUNTIME_EXECUTOR": "local",
        "TEST_AWS_ENDPOINT_URL": f"http://{host}",
        "LOCALSTACK_HOST": host,
        "AWS_DEFAULT_REGION": names.DEFAULT_REGION,
        # resolve_localhost.py, and the plugin whose name rule it applies (LocalStack's venv reaches the plugin
        # through a .pth, which the test venv layered over it does not read)
        "PYTHONPATH": os.pathsep.join((str(HERE), str(runtime_venv.PLUGIN_DIR))),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    results: dict[str, str] = {}
    try:
        localstack.start(timeout=180)
        print(f"[parity] LocalStack on {localstack.url}; tests from {repo}", flush=True)
        for suite in args.suite or sorted(SUITES):
            cmd = [str(venv / "bin" / "python"), "-m", "pytest", *SUITES[suite], "-p", "resolve_localhost",
                   "-k", NOT_OTHER_RUNTIMES, "-q", "-rfE", "--no-header", "-p", "no:cacheprovider", *args.pytest_args]
            proc = subprocess.run(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            log = state / f"{suite}.log"
            log.write_text(proc.stdout)
            results[suite] = summary_line(proc.stdout)
            print(f"[parity] {suite}: {results[suite]} (log {log})", flush=True)
    except LocalStackError as exc:
        print(f"[parity] {exc}", file=sys.stderr)
        return 1
    finally:
        localstack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
