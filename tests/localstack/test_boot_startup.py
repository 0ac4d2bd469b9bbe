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
