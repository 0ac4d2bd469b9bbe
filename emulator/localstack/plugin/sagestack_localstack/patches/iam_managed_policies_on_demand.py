"""IAM's AWS managed policies are indexed on first use, not when the IAM service loads.

LocalStack's IAM provider (`on_after_init`) parses its 3.8 MB `aws_managed_policies.json` and
builds an index of every AWS managed policy (about 1,300, each with its document re-serialised)
when the service loads: about 13 MB of resident memory (the parsed file's memory is not given back
to the system) and a few tenths of a second of CPU in the background warm-up, for data that only
requests naming an AWS managed policy read (GetPolicy, AttachRolePolicy and
PutRolePermissionsBoundary with an `arn:aws:iam::aws:policy/...` ARN, ListPolicies with Scope AWS
or All, ...). The kit's own stack attaches none; the first such request builds it.

Here `_aws_managed_policy_cache` is a property of the provider: reading it builds the index once
(with LocalStack's own `_build_aws_managed_policy_cache`, under a lock: requests run on several
threads), and `on_after_init` no longer builds it. Every request sees the same index as before.
"""

from __future__ import annotations

import threading

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.iam.provider"
TARGETS = (
    "localstack.services.iam.provider.IamProvider.on_after_init",
    "localstack.services.iam.provider.IamProvider._aws_managed_policy_cache (attribute -> property)",
)
_SLOT = "_sagestack_aws_managed_policy_cache"
_lock = threading.Lock()


def managed_policy_cache(provider) -> dict:
    """The provider's AWS managed policy index, built by LocalStack's own method on first read."""
    cache = provider.__dict__.get(_SLOT)
    if cache is None:
        with _lock:
            cache = provider.__dict__.get(_SLOT)
            if cache is None:
                cache = provider._build_aws_managed_policy_cache()
                provider.__dict__[_SLOT] = cache
    return cache


def _store(provider, value) -> None:
    provider.__dict__[_SLOT] = value  # None (what __init__ sets) means "build on first read"


def apply() -> None:
    from localstack.services.iam.provider import IamProvider

    def on_after_init(self) -> None:
        """LocalStack's only work here was building the index: now done on first read."""

    IamProvider._aws_managed_policy_cache = property(managed_policy_cache, _store)
    IamProvider.on_after_init = on_after_init
