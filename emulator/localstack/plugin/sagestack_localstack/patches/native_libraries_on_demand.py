"""botocore's two optional native libraries load when first used, not when botocore is imported.

botocore checks at import whether the AWS Common Runtime and pyOpenSSL are there, and LocalStack's
venv has both, so both were loaded before the gateway answered (measured on 2 cores, each with what
else start-up imports already loaded: about 0.10 s and 0.08 s of a 1.06 s start):
- `botocore.compat` does `import awscrt.auth` (HAS_CRT) and `botocore.httpchecksum` `from awscrt
  import checksums`; every `awscrt` module does `import _awscrt`, the CRT's native extension (a
  large shared library), and calls into it only from functions. Here `_awscrt` is a stand-in
  (modules_on_demand) until the first attribute is read from it: the first CRT checksum or
  signature loads the real extension, and every caller gets its functions from then on. HAS_CRT
  and what botocore chooses with it are unchanged.
- `botocore.httpsession` takes `orig_util_SSLContext` from `urllib3.contrib.pyopenssl` ("the
  original SSLContext, even if it has been patched"), which imports pyOpenSSL and cryptography's
  x509. That module sets it to `urllib3.util.ssl_.SSLContext` when it runs, before anyone can have
  injected pyOpenSSL (injecting needs the module): here the stand-in holds the same object, and any
  other name read from it (`inject_into_urllib3`, ...) imports the real module as shipped.
Nothing a client sees changes. Early stage: botocore is first imported when boot.py links the
service catalog.
"""

from __future__ import annotations

import importlib.abc
import sys
import types

CHECKED_AGAINST = "2026.3.0"
CRT = "_awscrt"
PYOPENSSL = "urllib3.contrib.pyopenssl"
TARGETS = (
    f"{CRT} (the AWS CRT's extension, imported by botocore.compat via awscrt.auth)",
    f"{PYOPENSSL} (imported by botocore.httpsession for orig_util_SSLContext)",
)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        from .modules_on_demand import _StandIn

        return _StandIn(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ == PYOPENSSL:
            from urllib3.util import ssl_

            module.orig_util_SSLContext = ssl_.SSLContext  # what the real module sets, before any injection


def apply() -> None:
    waiting = {name: None for name in (CRT, PYOPENSSL) if name not in sys.modules}
    if waiting:
        from .modules_on_demand import OnceFinder

        sys.meta_path.insert(0, OnceFinder(waiting, lambda name, _: _Loader()))
