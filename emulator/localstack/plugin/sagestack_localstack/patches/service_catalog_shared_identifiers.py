"""The service catalog's index refers to one object per service identifier, not one per mention.

LocalStack's gateway finds the service a request is for through an index of every AWS service's
signing names, target prefixes, endpoint prefixes and operation names (`ServiceCatalogIndex`),
loaded from the cache file built at venv creation (`load_service_index_cache`) when the first
service that needs it loads (S3, in the warm-up). In the loaded file every mention of a service is
its own `ServiceModelIdentifier`: 18,935 of them for 418 distinct (name, protocol, protocols)
values, 2.2 MB of the index's 4.9 MB (tracemalloc, 2026.3.0).

Here each loaded index's lists refer to one shared, equal identifier per distinct value (they are
immutable named tuples, so sharing them cannot change what any lookup returns); lists, keys and
order stay as loaded.
"""

from __future__ import annotations

from typing import Any

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): at boot, before the catalog loads
APPLY_ON_IMPORT = "localstack.aws.spec"
TARGETS = ("localstack.aws.spec.load_service_index_cache",)
INDEXES = ("target_prefix_index", "signing_name_index", "operations_index", "endpoint_prefix_index")


def share_identifiers(index: Any) -> Any:
    """Replace, in place, every identifier in `index`'s lists by one shared equal instance; return it."""
    shared: dict[Any, Any] = {}
    for attribute in INDEXES:
        for identifiers in getattr(index, attribute).values():
            identifiers[:] = [shared.setdefault(identifier, identifier) for identifier in identifiers]
    return index


def apply() -> None:
    import functools
    import importlib

    spec = importlib.import_module(APPLY_ON_IMPORT)
    load = spec.load_service_index_cache

    @functools.wraps(load)
    def load_service_index_cache(file: str):
        return share_identifiers(load(file))

    spec.load_service_index_cache = load_service_index_cache
