"""Shared pytest fixtures. Each area keeps its fixtures in `tests/fixtures/<area>.py`;
they are re-exported here so every test directory can use them."""
from tests.fixtures import shared_loader

shared_loader.install()  # before any fixture or test module creates a botocore session

from tests.fixtures.stack import *  # noqa: F401,F403
from tests.fixtures.localstack import *  # noqa: F401,F403
from tests.fixtures.training import *  # noqa: F401,F403
from tests.fixtures.sagemaker import *  # noqa: F401,F403
from tests.fixtures.sdk_v2 import *  # noqa: F401,F403
from tests.fixtures.sdk import *  # noqa: F401,F403

# How hard the property-based tests search, one knob for the suite: 100 examples per property in a
# developer's `make test` (hypothesis keeps failing examples in .hypothesis/ and replays them first),
# SAGESTACK_PROPERTY_EXAMPLES deeper in CI (.ci/run). The HTTP fuzz tests have their own knob
# (SAGESTACK_FUZZ_EXAMPLES, tests/sagemaker/test_fuzz.py).
import os as _os  # noqa: E402

from hypothesis import settings as _settings  # noqa: E402

_settings.register_profile("sagestack", max_examples=int(_os.environ.get("SAGESTACK_PROPERTY_EXAMPLES", "100")), deadline=None)
_settings.load_profile("sagestack")
