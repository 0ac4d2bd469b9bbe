"""pytest plugin: the whole stack, deployed once per test session, for your own CI.

Fixtures (all lazy: nothing starts unless a test asks for one):

* ``sagestack_stack`` (session) - starts LocalStack and the SageMaker emulator on free
  loopback ports with a throw-away state dir, deploys the stack through the
  ``sagestack-local`` profile, yields a :class:`DeployedStack`, stops everything afterwards.
* ``sagestack_outputs`` (session) - the deploy outputs (``invoke_url``, ``api_key``,
  ``endpoint_name``, ...), as written to ``outputs.json``.
* ``sagestack_client`` - a :class:`deploy.client.ApiClient` for the REST API with the key.

Options: ``--sagestack-outputs PATH`` tests an already deployed stack (e.g. on AWS: the
``outputs.json`` of ``sagestack deploy --profile NAME``) instead of starting one.

Importing this module costs nothing beyond pytest: boto3, LocalStack and the emulator are
imported inside the fixtures.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contract.net import free_port as _free_port





@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Apply variables for the duration of a block only, so other tests keep the defaults."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class DeployedStack:
    """A running, deployed stack: its outputs and the means to talk to it like a user would."""

    outputs: dict[str, Any]
    environment: dict[str, str] = field(default_factory=dict)  # empty for an external stack
    embedded: Any = None

    @contextlib.contextmanager
    def env(self) -> Iterator[None]:
        """Within this block `contract.names`, `sagestack` commands and the local profile target this stack."""
        with _environment(self.environment):
            yield

    def session(self) -> Any:
        """A boto3 session on the stack's profile (the kit's `sagestack-local` for the embedded stack)."""
        from contract.names import LOCAL_PROFILE
        from deploy.profiles import session_for

        with self.env():
            session = session_for(LOCAL_PROFILE if self.environment else self.outputs.get("profile"), self.outputs.get("region"))
            session._session.full_config  # noqa: B018 - load the config file now, while the paths point here
        return session

    def client(self, api_key: str | None | bool = True) -> Any:
        """An ApiClient for the invoke URL; `api_key=None` sends no key, a string sends that key."""
        from deploy.client import ApiClient

        key = self.outputs["api_key"] if api_key is True else (api_key or None)
        return ApiClient(self.outputs["invoke_url"], key)

    def stack(self, **config: Any) -> Any:
        """A deploy.stack.Stack for this deployment (e.g. to redeploy with other inputs)."""
        from deploy.config import StackConfig
        from deploy.stack import Stack

        with self.env():
            return Stack(self.session(), StackConfig(stack_name=self.outputs["stack_name"], **config), log=lambda line: None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sagestack")
    group.addoption(
        "--sagestack-outputs",
        default=None,
        help="test an already deployed stack given by its outputs.json instead of starting the embedded one",
    )
    group.addoption(
        "--sagestack-algorithm",
        default="linear-learner",
        choices=("linear-learner", "xgboost"),
        help="SageMaker built-in algorithm the embedded stack trains and serves (default linear-learner)",
    )


def start_and_deploy(state_dir: Path, log: Any = None, **config: Any) -> DeployedStack:
    """Start the embedded stack on free ports under `state_dir` and deploy it (used by the fixture and benchmarks)."""
    from deploy.config import StackConfig
    from deploy.embedded import EmbeddedStack
    from deploy.outputs import write_outputs
    from contract.names import LOCAL_PROFILE
    from deploy.profiles import session_for
    from deploy.stack import Stack

    embedded = EmbeddedStack(localstack_port=_free_port(), sagemaker_port=_free_port(), state_dir=state_dir)
    with _environment(embedded.environment):
        embedded.start()
        try:
            stack = Stack(session_for(LOCAL_PROFILE), StackConfig(**config), log=log or (lambda line: None))
            outputs = stack.deploy().to_json()
            write_outputs(outputs, state_dir / "outputs.json")  # it holds the API key: 0600
        except BaseException:
            embedded.stop()
            raise
    return DeployedStack(outputs=outputs, environment=embedded.environment, embedded=embedded)


@pytest.fixture(scope="session")
def sagestack_stack(request: pytest.FixtureRequest) -> Iterator[DeployedStack]:
    external = request.config.getoption("--sagestack-outputs", default=None)  # None when loaded via conftest, not as a plugin
    if external:
        from deploy.commands import read_outputs  # its errors say what is wrong with the file and what to do

        yield DeployedStack(outputs=read_outputs(Path(external)))
        return
    with tempfile.TemporaryDirectory(prefix="sagestack-pytest-") as tmp:
        algorithm = request.config.getoption("--sagestack-algorithm", default=None) or "linear-learner"
        deployed = start_and_deploy(Path(tmp), algorithm=algorithm)
        try:
            yield deployed
        finally:
            with deployed.env():
                deployed.embedded.stop()


@pytest.fixture(scope="session")
def sagestack_outputs(sagestack_stack: DeployedStack) -> dict[str, Any]:
    return dict(sagestack_stack.outputs)


@pytest.fixture
def sagestack_client(sagestack_stack: DeployedStack) -> Iterator[Any]:
    client = sagestack_stack.client()
    try:
        yield client
    finally:
        client.close()
