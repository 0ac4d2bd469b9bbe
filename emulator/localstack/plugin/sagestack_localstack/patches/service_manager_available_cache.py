"""The list of available services is computed once per provider configuration, not on every lookup.

`ServicePluginManager.list_available()` walks every service plugin spec (about 70 services) and
asks the provider configuration for each; `exists(name)` rebuilds that whole list to test one
name, and `/_localstack/health` calls `exists` once per service: about 1,300 provider lookups
per health request, the larger part of the health route's CPU (cProfile of the gateway's
handler chain). The answer depends only on the plugin specs (resolved once) and the provider
configuration, so it is cached under a snapshot of both and recomputed when either changes;
callers get a fresh list as before.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.plugins"
TARGETS = ("localstack.services.plugins.ServicePluginManager.list_available",)


def cached_list_available(original):
    def list_available(self) -> list[str]:
        provider_config = self.provider_config
        settings = getattr(provider_config, "_provider_config", None)
        if not isinstance(settings, dict):  # not the configuration class we read: no caching
            return original(self)
        snapshot = (self.api_provider_specs, provider_config.default_value, tuple(settings.items()))
        hit = self.__dict__.get("_sagestack_available")  # (snapshot, services): replaced whole, never mutated
        if hit is not None and hit[0][0] is snapshot[0] and hit[0][1:] == snapshot[1:]:
            return list(hit[1])
        services = original(self)
        self.__dict__["_sagestack_available"] = (snapshot, tuple(services))
        return services

    return list_available


def apply() -> None:
    from localstack.services.plugins import ServicePluginManager

    ServicePluginManager.list_available = cached_list_available(ServicePluginManager.list_available)
