"""`gc.freeze()` after loading (`ReloadingEngine(freeze_gc=True)`, what `serve` uses): the loaded
engine leaves the collector's scans, and a reload thaws first, so neither the previous engine nor
cyclic garbage frozen with it outlives the swap."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from policyengine.engine.loading import load
from policyengine.engine.reload import ReloadingEngine

ROOT = Path(__file__).resolve().parents[2]
MESH = ROOT / "examples" / "mesh"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def thawed():
    """Leave the interpreter as found: nothing frozen after the test."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _loader():
    return load(ROOT / "policies", MESH / "products", consumers=MESH / "consumers.yaml")


def test_off_by_default(thawed) -> None:
    ReloadingEngine(_loader)
    assert gc.get_freeze_count() == 0


def test_the_loaded_engine_is_frozen_and_still_decides(thawed) -> None:
    holder = ReloadingEngine(_loader, freeze_gc=True)
    assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() > 1000  # the engine's objects among them
    d = holder.evaluate("bob", "sales.orders", ["amount", "margin"])
    assert d.columns["amount"].effect == "allow" and d.columns["margin"].effect == "deny"


def test_a_reload_thaws_so_the_old_engine_and_frozen_cycles_go(thawed) -> None:
    holder = ReloadingEngine(_loader, freeze_gc=True)
    old = weakref.ref(holder.engine)
    # cyclic garbage frozen with the engine: gc.freeze() alone would keep it forever
    cycle = _Cycle()
    gc.collect()
    gc.freeze()
    frozen_cycle = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert frozen_cycle() is not None  # frozen: the collector does not see it
    result = holder.reload()
    assert result.ok and not result.changed
    assert old() is None and frozen_cycle() is None
    assert gc.get_freeze_count() > 0  # the new engine is frozen in turn
