"""`python -m sagestack_localstack.boot`: start LocalStack's runtime on the host, loopback only.

Why a wrapper instead of `python -m localstack.runtime.main`:
- LocalStack's twisted server drops the host part of GATEWAY_LISTEN for IPv4 and listens on
  0.0.0.0 (runtime/server/twisted.py, "TODO: interface = host?"). We wrap
  `TCP4ServerEndpoint` so that an endpoint created without an interface gets the GATEWAY_LISTEN
  host (127.0.0.1 by default) before LocalStack builds its server.
- The TLS cert LocalStack insists on is generated here (tls.py), so nothing is downloaded.
- LocalStack's service catalog (an index of every botocore service spec, built by loading
  ~400 JSON models: a third of start-up on 2 cores) is built once into a directory shared by
  every state dir (SAGESTACK_SERVICE_CATALOG_DIR, inside LocalStack's venv) and linked into
  this instance's cache dir, where LocalStack looks for it.
  `python -m sagestack_localstack.boot --build-catalog DIR` builds it at venv-creation time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _listen_host() -> str:
    first = (os.environ.get("GATEWAY_LISTEN") or "127.0.0.1:4566").split(",")[0].strip()
    host = first.rsplit(":", 1)[0] if ":" in first else first
    return host.strip("[]") or "127.0.0.1"


def force_listen_interface(host: str) -> None:
    """Make every IPv4 listening endpoint default to `host` instead of all interfaces."""
    from twisted.internet import endpoints

    original = endpoints.TCP4ServerEndpoint

    class LoopbackTCP4ServerEndpoint(original):  # type: ignore[misc, valid-type]
        def __init__(self, reactor, port, backlog=50, interface=""):
            super().__init__(reactor, port, backlog=backlog, interface=interface or host)

    endpoints.TCP4ServerEndpoint = LoopbackTCP4ServerEndpoint


def shared_catalog(directory: Path) -> Path:
    """The prebuilt service catalog for this LocalStack+botocore version in `directory` (built if missing)."""
    from localstack.aws.spec import _get_catalog_filename, build_service_index_cache

    path = directory / _get_catalog_filename()
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        build_service_index_cache(str(tmp))
        os.replace(tmp, path)
    return path


def link_service_catalog() -> None:
    shared_dir = os.environ.get("SAGESTACK_SERVICE_CATALOG_DIR")
    if not shared_dir:
        return
    from localstack import config

    try:
        shared = shared_catalog(Path(shared_dir))
        cache = Path(config.dirs.cache)
        cache.mkdir(parents=True, exist_ok=True)
        link = cache / shared.name
        if not link.exists():
            link.symlink_to(shared)
    except OSError as exc:  # LocalStack then builds its own copy: slower, still correct
        print(f"sagestack: could not use the shared service catalog: {exc}", file=sys.stderr)


def exit_with_parent() -> None:
    """With SAGESTACK_EXIT_WITH_PARENT=1, stop when the process that started us dies.

    LocalStack runs in its own session (so stop() can kill its whole process group); a test
    run or `sagestack up` that is killed hard would otherwise leave it running. Polling the
    parent pid is used rather than PR_SET_PDEATHSIG, which fires when the *thread* that
    forked us exits.
    """
    if os.environ.get("SAGESTACK_EXIT_WITH_PARENT") != "1":
        return
    import signal
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)  # LocalStack's own graceful shutdown
        time.sleep(3)
        os.killpg(os.getpgrp(), signal.SIGKILL)  # and whatever is left of the group

    threading.Thread(target=watch, name="sagestack-exit-with-parent", daemon=True).start()


def main() -> None:
    if sys.argv[1:2] == ["--build-catalog"]:
        print(shared_catalog(Path(sys.argv[2])))
        return
    exit_with_parent()
    link_service_catalog()
    cert_path = os.environ.get("CUSTOM_SSL_CERT_PATH")
    if cert_path:
        from sagestack_localstack.tls import ensure_certificate

        ensure_certificate(Path(cert_path))
    force_listen_interface(_listen_host())
    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()
    sys.exit(0)
