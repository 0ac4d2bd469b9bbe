"""Clients for the LocalStack tests (the running instance comes from tests/fixtures/localstack.py)."""

import pytest
from botocore.config import Config

RETRIES = Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10)


@pytest.fixture(scope="session")
def lam(localstack, localstack_session):
    return localstack_session.client("lambda", endpoint_url=localstack.url, config=RETRIES)


@pytest.fixture(scope="session")
def iam(localstack, localstack_session):
    return localstack_session.client("iam", endpoint_url=localstack.url, config=RETRIES)


@pytest.fixture(scope="session")
def logs(localstack, localstack_session):
    return localstack_session.client("logs", endpoint_url=localstack.url, config=RETRIES)


@pytest.fixture(scope="session")
def apigw(localstack, localstack_session):
    return localstack_session.client("apigateway", endpoint_url=localstack.url, config=RETRIES)
