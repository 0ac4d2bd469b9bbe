"""The profile switch: the kit's own AWS config file, read by botocore's own resolver."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from contract import names
from deploy.profiles import (
    ProfileError,
    configured_endpoint,
    local_config_path,
    local_environment,
    render_local_config,
    session_for,
)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """A HOME with a user config of its own, no AWS_* variables, ports 5391/5392, a temp state dir."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    user_config = home / ".aws" / "config"
    user_config.write_text("[profile mine]\nregion = eu-west-1\n[default]\nregion = us-west-2\n")
    (home / ".aws" / "credentials").write_text("[mine]\naws_access_key_id = AKIAUSER\naws_secret_access_key = secret\n")
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SAGESTACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SAGESTACK_LOCALSTACK_PORT", "5391")
    monkeypatch.setenv("SAGESTACK_SAGEMAKER_PORT", "5392")
    return home


def test_rendered_config_is_a_valid_shared_config_file():
    text = render_local_config("http://127.0.0.1:4566", "http://127.0.0.1:4567")
    parser = configparser.ConfigParser()
    parser.read_string(text)
    profile = parser[f"profile {names.LOCAL_PROFILE}"]
    assert profile["endpoint_url"] == "http://127.0.0.1:4566"
    assert profile["region"] == "us-east-1"
    assert profile["aws_access_key_id"] == "test"
    services = parser[f"services {profile['services']}"]
    assert "http://127.0.0.1:4567" in services["sagemaker"] and "http://127.0.0.1:4567" in services["sagemaker_runtime"]


def test_local_profile_routes_every_service_and_follows_port_overrides(isolated):
    session = session_for(names.LOCAL_PROFILE)
    assert session.region_name == "us-east-1"
    for service in ("s3", "iam", "sts", "lambda", "apigateway", "logs"):
        assert session.client(service).meta.endpoint_url == "http://127.0.0.1:5391", service
    for service in ("sagemaker", "sagemaker-runtime"):
        assert session.client(service).meta.endpoint_url == "http://127.0.0.1:5392", service
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("test", "test")
    assert configured_endpoint(session, "sagemaker-runtime") == "http://127.0.0.1:5392"
    assert local_config_path().is_relative_to(names.state_dir())


def test_local_profile_ignores_the_users_environment_credentials(isolated, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALUSER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    credentials = session_for(names.LOCAL_PROFILE).get_credentials()
    assert credentials.access_key == "test"


def test_the_users_aws_directory_is_never_touched(isolated):
    before = {p: p.read_bytes() for p in (isolated / ".aws").iterdir()}
    session_for(names.LOCAL_PROFILE).client("s3")
    local_environment()
    assert {p: p.read_bytes() for p in (isolated / ".aws").iterdir()} == before


def test_other_profiles_come_from_the_users_config_and_target_aws(isolated):
    session = session_for("mine")
    assert session.region_name == "eu-west-1"
    assert session.get_credentials().access_key == "AKIAUSER"
    assert session.client("sagemaker").meta.endpoint_url == "https://api.sagemaker.eu-west-1.amazonaws.com"
    assert configured_endpoint(session, "sagemaker-runtime") is None


def test_unknown_profile_is_a_clear_error(isolated):
    with pytest.raises(ProfileError, match="not in your AWS config"):
        session_for("no-such-profile")


def test_environment_endpoint_variables_win_over_the_file(isolated, monkeypatch):
    """How docker compose points the same profile at service names."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://sagemaker:4567")
    session = session_for(names.LOCAL_PROFILE)
    assert configured_endpoint(session, "sagemaker-runtime") == "http://sagemaker:4567"


def test_unmodified_aws_cli_reads_the_kit_config(isolated):
    """`AWS_CONFIG_FILE=<kit config> AWS_PROFILE=sagestack-local aws ...` resolves to the local stack."""
    env = {**os.environ, **local_environment()}
    cli = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(cli), "configure", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert names.LOCAL_PROFILE in result.stdout and "us-east-1" in result.stdout


def test_plain_boto3_with_the_exported_environment(isolated, monkeypatch):
    for key, value in local_environment().items():
        monkeypatch.setenv(key, value)
    session = boto3.Session()  # a new session reads the environment (boto3.client reuses an older default one)
    assert session.client("sagemaker-runtime").meta.endpoint_url == "http://127.0.0.1:5392"
    assert session.client("apigateway").meta.endpoint_url == "http://127.0.0.1:5391"
