"""Shared pytest fixtures. Each area keeps its fixtures in `tests/fixtures/<area>.py`;
they are re-exported here so every test directory can use them."""
from tests.fixtures import properties, shared_loader

shared_loader.install()  # before any fixture or test module creates a botocore session
properties.load_profile()  # before any test module defines a property

from tests.fixtures.stack import *  # noqa: F401,F403
from tests.fixtures.localstack import *  # noqa: F401,F403
from tests.fixtures.training import *  # noqa: F401,F403
from tests.fixtures.sagemaker import *  # noqa: F401,F403
from tests.fixtures.sdk_v2 import *  # noqa: F401,F403
from tests.fixtures.sdk import *  # noqa: F401,F403
