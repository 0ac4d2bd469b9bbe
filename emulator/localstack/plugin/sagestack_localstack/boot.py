"""`python -m sagestack_localstack.boot`: start LocalStack's runtime on the host, loopback only.

Why a wrapper instead of `python -m localstack.runtime.main`:
- The `boot` patches (patches/, e.g. listening on loopback only: LocalStack's twisted server
  would listen on 0.0.0.0) must be applied before LocalStack builds its server.
- The TLS cert LocalStack insists on is the kit's own (tls.py), so nothing is downloaded; it is made
  on the first HTTPS connection (patches/tls_certificate_on_demand.py).
- LocalStack's service catalog (an index of every botocore service spec, built by loading
  ~400 JSON models: a third of start-up on 2 cores) is built once into a directory shared by
  every state dir (SAGESTACK_SERVICE_CATALOG_DIR, inside LocalStack's venv) and linked into
  this instance's cache dir, where LocalStack looks for it.
  `python -m sagestack_localstack.boot --build-catalog DIR` builds it at venv-creation time.
- plux's entry-point index (which plugin lives where, one file per interpreter + sys.path state,
  named by a hash of it) is kept in the same shared directory: each start copies the files into
  its own cache dir, where plux looks (seed_plugin_index), and the warm-up hook adds an index this
  start built (share_plugin_index, written to a temporary name and renamed: a concurrent start
  never reads half a file). Building it scans every installed distribution: about 10 ms of a
  fresh state dir's start-up. The launcher runs us with `-P`, so the state dir (the working
  directory) is not on sys.path: the hash is then the same for every state dir of the venv.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


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


PLUX_INDEX_GLOB = "*.entry_points.txt"


def _plugin_index_dirs() -> tuple[Path, Path] | None:
    """(shared, private) directories of plux's entry-point index, or None without a shared dir."""
    shared_dir = os.environ.get("SAGESTACK_SERVICE_CATALOG_DIR")
    if not shared_dir:
        return None
    from plux.runtime.cache import get_user_cache_dir

    return Path(shared_dir) / "plux", get_user_cache_dir() / "plux"


def _copy_missing_index_files(source: Path, target: Path) -> None:
    """Copy the index files of `source` that `target` lacks (each under a temporary name, then renamed:
    a concurrent start never reads half a file)."""
    target.mkdir(parents=True, exist_ok=True)
    for index in source.glob(PLUX_INDEX_GLOB):
        if not (target / index.name).exists():
            tmp = target / f".{index.name}.tmp{os.getpid()}"
            shutil.copyfile(index, tmp)
            os.replace(tmp, target / index.name)


def seed_plugin_index() -> None:
    """Copy the shared entry-point index files into this instance's plux cache dir (missing ones only)."""
    dirs = _plugin_index_dirs()
    if dirs is None or not dirs[0].is_dir():
        return
    try:
        _copy_missing_index_files(*dirs)
    except OSError as exc:  # plux then builds its own index: slower, still correct
        print(f"sagestack: could not use the shared plugin index: {exc}", file=sys.stderr)


def share_plugin_index() -> None:
    """Add the index files this instance built to the shared dir (existing ones are kept)."""
    dirs = _plugin_index_dirs()
    if dirs is None or not dirs[1].is_dir():
        return
    shared, private = dirs
    try:
        _copy_missing_index_files(private, shared)
    except OSError as exc:
        print(f"sagestack: could not share the plugin index: {exc}", file=sys.stderr)


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
    from sagestack_localstack import patches

    patches.apply_on_import("early")
    exit_with_parent()
    link_service_catalog()
    seed_plugin_index()
    patches.apply_on_import("boot")
    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()
    sys.exit(0)
