"""The `sagestack` commands as a user runs them: AWS-profile deploy against moto (plan, --yes,
outputs, status, destroy), user errors as one-line messages, and `up`/`down` of the real
embedded services through the detached supervisor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from moto import mock_aws

from contract import names
from deploy import commands
from emulator.localstack.launcher import pid_alive
from tests.fixtures.localstack import free_loopback_port


@pytest.fixture
def user_aws(monkeypatch, tmp_path) -> Iterator[None]:
    """A user's AWS config with a profile `work` (moto intercepts its calls), state in tmp."""
    config = tmp_path / "aws-config"
    config.write_text("[profile work]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("SAGESTACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SAGESTACK_PROFILE", raising=False)
    with mock_aws():
        yield


def _last_json(capsys) -> list:
    out = capsys.readouterr().out
    return json.loads(out[out.rindex("\n[\n") + 1 :] if "\n[\n" in out else out[out.index("[") :])


def test_aws_deploy_without_yes_and_without_a_terminal_creates_nothing(user_aws, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert commands.deploy(["--profile", "work"]) == 1
    out, err = capsys.readouterr()
    assert "create  endpoint" in out and "(billable)" in out and "billed by the hour" in out
    assert "re-run with --yes" in err
    assert not names.outputs_path().exists()
    assert commands.status(["--profile", "work", "--check"]) == 3


def test_aws_deploy_with_yes_writes_outputs_then_destroy_cleans_up(user_aws, capsys, monkeypatch):
    import boto3

    # moto completes training without an artifact; put it where SageMaker would (see tests/contract).
    from tests.contract.test_aws_profile import artifact_writer

    real_session = boto3.Session

    def session_with_artifacts(*args, **kwargs):
        session = real_session(*args, **kwargs)
        session.events.register("provide-client-params.sagemaker.CreateTrainingJob", artifact_writer("us-east-1"))
        return session

    monkeypatch.setattr(boto3, "Session", session_with_artifacts)
    assert commands.deploy(["--profile", "work", "--yes", "--throttle-rate", "7", "-H", "epochs=12"]) == 0
    outputs = json.loads(names.outputs_path().read_text())
    assert outputs["invoke_url"].startswith(f"https://{outputs['api_id']}.execute-api.us-east-1.amazonaws.com/prod/")
    assert outputs["api_key"] and outputs["endpoint_name"] == "sagestack" and outputs["profile"] == "work"
    capsys.readouterr()
    assert commands.status(["--profile", "work", "--check", "--throttle-rate", "7", "-H", "epochs=12"]) == 0
    assert commands.status(["--profile", "work", "--check"]) == 3  # the defaults differ from what is deployed
    assert commands.status(["--profile", "work", "--json"]) == 0
    states = {s["kind"] + ":" + s["name"]: s for s in _last_json(capsys)}
    assert states["usage-plan:sagestack-plan"]["matches"] is False and states["lambda-function:sagestack-predict"]["matches"] is True
    assert commands.destroy(["--profile", "work"]) == 0
    assert "deleted endpoint sagestack" in capsys.readouterr().out
    assert not names.outputs_path().exists()
    assert commands.destroy(["--profile", "work"]) == 0
    assert "nothing to delete" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["deploy", "--stack-name", "Bad_Name"], "lowercase letters"),
        (["deploy", "--profile", "nope", "--yes"], "not in your AWS config"),
        (["deploy", "--profile", "work", "-H", "epochs"], "name=value"),
        (["predict", "1,2,3"], "deploy the stack first"),
    ],
)
def test_user_errors_are_one_line_messages(user_aws, capsys, argv, needle):
    from deploy.cli import main

    assert main(argv) == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_predict_reads_outputs_and_reports_http_errors(user_aws, capsys, tmp_path):
    outputs = tmp_path / "outputs.json"
    port = free_loopback_port()
    outputs.write_text(json.dumps({"invoke_url": f"http://127.0.0.1:{port}/nothing", "api_key": "k"}))
    from deploy.cli import main

    assert main(["predict", "--outputs", str(outputs), "1,2"]) == 1  # connection refused -> one line, exit 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("outputs_text", "extra_argv", "needle"),
    [
        ("[1]", ["1,2"], "not the outputs.json of sagestack deploy"),
        ('{"stack_name": "x"}', ["1,2"], "not the outputs.json of sagestack deploy"),
        ('{"invoke_url": "http://127.0.0.1:1/x", "api_key": "k"}', ["--file", "."], "cannot read --file"),
    ],
)
def test_predict_with_a_wrong_outputs_or_rows_file_is_one_line(user_aws, capsys, tmp_path, outputs_text, extra_argv, needle):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(outputs_text)
    from deploy.cli import main

    assert main(["predict", "--outputs", str(outputs), *[str(tmp_path) if a == "." else a for a in extra_argv]]) == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.integration
@pytest.mark.slow
def test_up_and_down_run_the_services_in_the_background(tmp_path):
    env = {
        **os.environ,
        "SAGESTACK_STATE_DIR": str(tmp_path / "state"),
        "SAGESTACK_LOCALSTACK_PORT": str(free_loopback_port()),
        "SAGESTACK_SAGEMAKER_PORT": str(free_loopback_port()),
    }
    cli = [sys.executable, "-m", "deploy.cli"]
    up = subprocess.run([*cli, "up", "--no-deploy"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "AWS_CONFIG_FILE=" in up.stdout
        record = json.loads((tmp_path / "state" / "embedded" / "supervisor.json").read_text())
        assert record["ready"] is True
        for port, path in ((env["SAGESTACK_LOCALSTACK_PORT"], "/_localstack/health"), (env["SAGESTACK_SAGEMAKER_PORT"], "/_sagestack/health")):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                assert response.status == 200
        again = subprocess.run([*cli, "up", "--no-deploy"], env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0 and "already running" in again.stdout
    finally:
        down = subprocess.run([*cli, "down"], env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0 and "stopped" in down.stdout
    for pid in (record["pid"], record["localstack_pid"], record["sagemaker_pid"]):
        assert not pid_alive(pid), pid  # gone (or a zombie waiting for init to reap it)
    assert not (tmp_path / "state" / "embedded" / "supervisor.json").exists()
    down_again = subprocess.run([*cli, "down"], env=env, capture_output=True, text=True, timeout=60)
    assert down_again.returncode == 0 and "was not running" in down_again.stdout


def test_down_never_signals_a_process_that_reused_a_stale_supervisor_pid(tmp_path, monkeypatch, capsys):
    """After a reboot or a hard kill, supervisor.json may name a pid that now runs something else."""
    monkeypatch.setenv("SAGESTACK_STATE_DIR", str(tmp_path))
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = tmp_path / "embedded" / "supervisor.json"
        record.parent.mkdir()
        record.write_text(json.dumps({"pid": bystander.pid, "ready": True, "localstack_port": 1, "sagemaker_port": 2}))
        assert commands.down([]) == 0
        assert "was not running" in capsys.readouterr().out
        assert bystander.poll() is None  # still running: neither SIGTERM nor SIGKILL reached it
        assert not record.exists()
    finally:
        bystander.kill()
        bystander.wait()
