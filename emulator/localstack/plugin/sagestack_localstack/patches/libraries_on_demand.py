"""Libraries LocalStack imports at start only to use inside functions later load on first use.

Each is imported by a module the gateway loads before it answers, with `import X` (nothing taken
from it at import time), and used only inside functions no start-up path calls
(`python -X importtime` and py-spy on the boot, 2 cores, 2026.3.0):
- `yaml` (PyYAML, about 9 ms): `localstack.plugins` (OpenAPI specs, read only when OpenAPI
  validation is switched on) and the swagger plugin (`/openapi.yaml`, dumped per request);
- `dns.resolver` (dnspython's resolver and its DNS-over-HTTPS/QUIC helpers, about 12 ms beyond
  the dns.message/dns.query that `localstack.aws.connect` imports anyway):
  `localstack.utils.net` (resolve_hostname's fallback, called for a host without an address);
- `docker` (the Docker SDK and its HTTP adapters, about 12 ms): `localstack.utils.docker_utils`
  imports it only to learn whether it is installed, and then uses the Docker command-line client
  anyway, as LocalStack does outside a container;
- `twisted.web._http2` (twisted's HTTP/2 channel and the h2 library, about 10 ms): twisted.web.http
  and rolo's twisted server take `H2Connection` from it and only call it, when a connection
  turns out to speak HTTP/2 (h2c prior knowledge; ALPN over TLS). `H2Connection` is a forwarder:
  calling it imports the module and returns the real class's instance.

They are served by modules_on_demand's stand-ins: `import X` succeeds (so "is it installed"
answers as before), and the first attribute read from the module (`yaml.safe_load`,
`dns.resolver.Resolver`, ...) or call of a forwarder imports the real library under its own name
and answers from it; later imports get the real module. Every caller gets the library's own
objects and answers; the first use pays the import. AWS answers nothing differently. Early
stage: before the boot patches import twisted.web.http.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# module -> the callables its start-up importers take from it (none: they only `import` it)
MODULES: dict[str, tuple[str, ...]] = {
    "yaml": (),
    "dns.resolver": (),
    "docker": (),
    "twisted.web._http2": ("H2Connection",),
}
TARGETS = tuple(f"{module} (loaded on first use)" for module in MODULES)


def apply() -> None:
    from .modules_on_demand import install

    install(MODULES)
