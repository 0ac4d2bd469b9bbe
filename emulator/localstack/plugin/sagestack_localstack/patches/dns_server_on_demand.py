"""LocalStack's DNS server module loads only if a DNS server is to run (the kit sets DNS_ADDRESS=0).

Two on_infra_start hooks (`localstack.dns.plugins`) import `localstack.dns.server` before the
gateway answers, to call `start_dns_server(...)` and `is_server_running()`. With DNS_ADDRESS=0
(the launcher's setting: no DNS server on port 53 of all interfaces), the first returns at once
("Not starting DNS") and the second answers False; the import itself (dnslib, psutil, the
server's models: about 12 ms of start-up, `python -X importtime`, 2 cores, 2026.3.0) is the whole
cost.

Here the module is a stand-in (modules_on_demand's) until its real code is needed:
- `start_dns_server(...)` returns as LocalStack's does when `config.use_custom_dns()` is false
  and no server was started (only the real module can have started one), with the same debug
  log line; otherwise it imports the real module and calls it;
- `is_server_running()` answers False while the real module is not loaded (its DNS_SERVER global
  is set only by the real module's start functions), else asks the real module;
- any other name (`get_fallback_dns_server`, the shutdown hook's `stop_servers`, ...) imports the
  real module and answers from it, as modules_on_demand's stand-ins do.
With DNS_ADDRESS set, the first hook loads and runs the real server exactly as before. Boot stage:
before LocalStack runs its on_infra_start hooks.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import types
from typing import Any

CHECKED_AGAINST = "2026.3.0"
MODULE = "localstack.dns.server"
TARGETS = (
    f"{MODULE}.start_dns_server (returns without the import when DNS is off)",
    f"{MODULE}.is_server_running (False without the import while no server can exist)",
)


def _real_loaded() -> bool:
    from .modules_on_demand import _StandIn

    module = sys.modules.get(MODULE)
    return module is not None and not isinstance(module, _StandIn)


def start_dns_server(port: int, asynchronous: bool = False, standalone: bool = False) -> Any:
    from localstack import config

    from .modules_on_demand import real_module

    if not _real_loaded() and not config.use_custom_dns():
        logging.getLogger(MODULE).debug("Not starting DNS. DNS_ADDRESS=%s", config.DNS_ADDRESS)
        return None
    return real_module(MODULE).start_dns_server(port, asynchronous=asynchronous, standalone=standalone)


def is_server_running() -> bool:
    from .modules_on_demand import real_module

    if not _real_loaded():
        return False
    return real_module(MODULE).is_server_running()


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        from .modules_on_demand import _StandIn

        return _StandIn(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.start_dns_server = start_dns_server
        module.is_server_running = is_server_running


def apply() -> None:
    if MODULE not in sys.modules:
        from .modules_on_demand import OnceFinder

        sys.meta_path.insert(0, OnceFinder({MODULE: None}, lambda name, _: _Loader()))
