"""Start-up mechanisms of the boot (unit level, no LocalStack needed): what is deferred until after
the gateway answers still happens, once, and leaves the process as it would have been."""

from __future__ import annotations

import gc

import pytest

from emulator.localstack.plugin.sagestack_localstack.patches import gc_paused_during_boot


@pytest.fixture
def collector():
    """The collector's state and the patch's flag, restored after the test."""
    was_enabled = gc.isenabled()
    gc_paused_during_boot._paused = False
    yield
    gc_paused_during_boot._paused = False
    (gc.enable if was_enabled else gc.disable)()


def test_the_collector_is_paused_at_boot_and_handed_back_once_with_a_collection(collector, monkeypatch):
    gc.enable()
    gc_paused_during_boot.apply()
    assert not gc.isenabled() and gc_paused_during_boot.paused()
    collections: list[int] = []
    monkeypatch.setattr(gc_paused_during_boot.gc, "collect", lambda *a: collections.append(1) or 0)
    gc_paused_during_boot.resume()
    assert gc.isenabled() and not gc_paused_during_boot.paused()
    assert collections == [1]  # the cycles made while paused are freed now, not at some later threshold
    gc.disable()  # someone else's choice after the hand-back ...
    gc_paused_during_boot.resume()
    assert not gc.isenabled() and collections == [1]  # ... is not overridden by a second resume


def test_a_collector_disabled_before_boot_stays_disabled(collector):
    gc.disable()
    gc_paused_during_boot.apply()
    assert not gc_paused_during_boot.paused()
    gc_paused_during_boot.resume()
    assert not gc.isenabled()


def test_cycles_made_while_paused_are_freed_by_the_hand_back(collector):
    import weakref

    class Node:
        pass

    gc.enable()
    gc_paused_during_boot.apply()
    node = Node()
    node.self = node  # a cycle: reference counting alone never frees it
    alive = weakref.ref(node)
    del node
    assert alive() is not None
    gc_paused_during_boot.resume()
    assert alive() is None


@pytest.fixture
def fake_library(monkeypatch, tmp_path):
    """A library on sys.path (a package with a submodule) that records whether its code ran."""
    import sys

    name = f"sagestack_fake_lib_{id(tmp_path)}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("import os\nRAN = True\n__version__ = '1.0'\ndef load(text):\n    return text.upper()\n")
    (tmp_path / name / "resolver.py").write_text("RAN = True\nclass Resolver:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    yield name
    for module in [n for n in sys.modules if name in n]:
        sys.modules.pop(module)


def test_a_library_only_imported_at_start_runs_on_its_first_attribute_read(fake_library, monkeypatch):
    import importlib
    import sys

    from emulator.localstack.plugin.sagestack_localstack.patches import libraries_on_demand

    monkeypatch.setattr(libraries_on_demand, "MODULES", {fake_library: (), f"{fake_library}.resolver": ()})
    libraries_on_demand.apply()
    library = importlib.import_module(fake_library)  # `import docker` to learn that it is installed
    assert "RAN" not in vars(library)  # ... answers without running the library
    resolver_module = importlib.import_module(f"{fake_library}.resolver")  # `import dns.resolver`
    assert "RAN" not in vars(resolver_module)
    parent = sys.modules[fake_library]
    assert parent.resolver.Resolver.__name__ == "Resolver"  # `dns.resolver.Resolver()` inside a function
    assert sys.modules[f"{fake_library}.resolver"].RAN
    assert library.load("x") == "X"  # `yaml.safe_load(...)` through the module an importer holds: the real one
    real = sys.modules[fake_library]
    assert real.RAN and real.__version__ == "1.0" and importlib.import_module(fake_library) is real


def test_the_deferred_libraries_are_real_installed_modules_of_localstacks_venv():
    """A stand-in is only served for a module that exists (else the import fails as before); check that the
    names listed are the modules LocalStack's importers name, in the venv LocalStack runs in."""
    import subprocess

    from emulator.localstack import runtime_venv
    from emulator.localstack.plugin.sagestack_localstack.patches import libraries_on_demand

    python = runtime_venv.venv_python(runtime_venv.ensure_venv())
    code = ("import importlib.util, sys\n"
            "missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]\n"
            "print(','.join(missing))\n")
    found = subprocess.run([str(python), "-c", code, *libraries_on_demand.MODULES], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == ""
