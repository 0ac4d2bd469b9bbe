"""The gateway's AWS service specs are held as plain dicts without their documentation strings.

LocalStack parses requests and serialises answers from botocore's service models, loaded by its own
loader (`localstack.aws.spec.loader`) and kept for as long as it runs: one per service in use (S3,
IAM, Logs, Lambda, API Gateway, STS for the kit). botocore's file loader builds every JSON object as
an `OrderedDict` (twice the size of a dict) and the models carry the API reference's HTML text for
every operation, shape and member (`"documentation"`), which only LocalStack's code generator
(`localstack.aws.scaffold`, a development tool) reads. For the kit's six services: 9.8 MB of
OrderedDicts, 6.7 MB as dicts, 4.1 MB as dicts without documentation (tracemalloc, 2026.3.0,
botocore 1.42.72).

Here that one loader's file loader parses into plain dicts (insertion-ordered like OrderedDicts, so
botocore's `members` and every serialised answer keep the same order) and drops a `documentation`
key whose value is a string (no service model has a member of that name: checked over all 417).
Every shape, operation, protocol setting and member stays as it was; botocore's own loaders (the
internal boto3 clients) are not touched.
"""

from __future__ import annotations

import json
import os
from typing import Any

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): at boot, before any spec loads
APPLY_ON_IMPORT = "localstack.aws.spec"
TARGETS = ("localstack.aws.spec.loader.file_loader (botocore JSONFileLoader -> plain dicts, no documentation)",)


def without_documentation(obj: dict[str, Any]) -> dict[str, Any]:
    """A JSON object as parsed, less its `documentation` text (the json `object_hook`)."""
    if isinstance(obj.get("documentation"), str):
        del obj["documentation"]
    return obj


def file_loader_class():
    """botocore's JSONFileLoader with `_load_file` parsing into plain dicts without documentation."""
    from botocore.loaders import JSONFileLoader

    class CompactJSONFileLoader(JSONFileLoader):
        def _load_file(self, full_path: str, open_method) -> Any:
            if not os.path.isfile(full_path):
                return None
            with open_method(full_path, "rb") as fp:  # as botocore reads it: UTF-8 whatever the locale
                payload = fp.read().decode("utf-8")
            return json.loads(payload, object_hook=without_documentation)

    return CompactJSONFileLoader


def apply() -> None:
    import importlib

    spec = importlib.import_module(APPLY_ON_IMPORT)
    spec.loader.file_loader = file_loader_class()()
