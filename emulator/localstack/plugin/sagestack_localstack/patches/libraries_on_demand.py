"""Libraries LocalStack imports at start only to use inside functions later load on first use.

Each is imported by a module the gateway loads before it answers, with `import X` (nothing taken
from it at import time), and used only inside functions no start-up path calls
(`python -X importtime` and py-spy on the boot, 2 cores, 2026.3.0):
- `yaml` (PyYAML, about 9 ms): `localstack.plugins` (OpenAPI specs, read only when OpenAPI
  validation is switched on) and the swagger plugin (`/openapi.yaml`, dumped per request);
- `dns.resolver`, `dns.message`, `dns.query` (dnspython, about 25 ms): `localstack.utils.net`
  (resolve_hostname's fallback, for a host without an address) and `localstack.aws.connect`
  (the external client factory's own DNS lookup, used when LocalStack's DNS server runs) use them
  only inside those functions;
- `docker` (the Docker SDK and its HTTP adapters, about 12 ms): `localstack.utils.docker_utils`
  imports it only to learn whether it is installed, and then uses the Docker command-line client
  anyway, as LocalStack does outside a container;
- `twisted.web._http2` (twisted's HTTP/2 channel and the h2 library, about 10 ms): twisted.web.http
  and rolo's twisted server take `H2Connection` from it and only call it, when a connection
  turns out to speak HTTP/2 (h2c prior knowledge; ALPN over TLS);
- `jinja2` (about 14 ms): the swagger plugin's endpoints module takes `Environment` and
  `FileSystemLoader` and calls them only to render `/_localstack/swagger`.

They are served by modules_on_demand's stand-ins: `import X` succeeds (so "is it installed"
answers as before), and the first attribute read from the module (`yaml.safe_load`,
`dns.resolver.Resolver`, ...) imports the real library under its own name and answers from it;
later imports get the real module. A name listed in MODULES is a forwarder for the importers that
take it while the library is not loaded: calling it imports the library and calls the real
class. Once the library is loaded (by any use), the stand-in hands out the real objects, so a
later importer (moto's `from jinja2 import DictLoader, Environment, Template`, which subclasses
and calls them) gets jinja2's own classes, never a forwarder. Every caller gets the library's own
objects and answers; the first use pays the import. AWS answers nothing differently. Early
stage: before the boot patches import twisted.web.http.
"""

from __future__ import annotations

import importlib.abc
import sys
import types
from typing import Any

from .modules_on_demand import _StandIn

CHECKED_AGAINST = "2026.3.0"
# module -> the callables its start-up importers take from it (none: they only `import` it)
MODULES: dict[str, tuple[str, ...]] = {
    "yaml": (),
    "dns.resolver": (),
    "dns.message": (),
    "dns.query": (),
    "docker": (),
    "twisted.web._http2": ("H2Connection",),
    "jinja2": ("Environment", "FileSystemLoader"),
}
TARGETS = tuple(f"{module} (loaded on first use)" for module in MODULES)


def apply() -> None:
    from . import modules_on_demand

    waiting = {name: names for name, names in MODULES.items() if name not in sys.modules}
    if waiting:
        sys.meta_path.insert(0, modules_on_demand.OnceFinder(waiting, lambda name, names: _Loader(names, modules_on_demand)))


class _Loader(importlib.abc.Loader):
    def __init__(self, names: tuple[str, ...], on_demand: types.ModuleType) -> None:
        self.names, self.on_demand = names, on_demand

    def create_module(self, spec):
        stand_in = _LibraryStandIn(spec.name)
        stand_in._sagestack_forwarders = {name: self.on_demand._forwarder(spec.name, name) for name in self.names}
        return stand_in

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _LibraryStandIn(_StandIn):
    """A module stand-in whose listed names are forwarders while it is the module in sys.modules."""

    def __getattr__(self, name: str) -> Any:
        forwarders = self.__dict__.get("_sagestack_forwarders", {})
        if name in forwarders and sys.modules.get(self.__name__) is self:
            return forwarders[name]
        return super().__getattr__(name)
