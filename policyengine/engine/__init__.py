"""The engine: checked rules → compiled policy → `evaluate()` → Decision.

`compiler` (rules indexed by product, conditions compiled to closures), `decision` (the frozen
Decision a request gets), `evaluator` (Engine, load, evaluate: the runtime), `policytest`
(policy authors' YAML test cases run against an Engine).
"""

from __future__ import annotations

import importlib
from typing import Any

# the runtime's names, imported on first use (importing the decision module stays light)
_RUNTIME = frozenset({"Engine", "load", "evaluate", "default_engine", "reset_default_engine", "policy_version"})


def __getattr__(name: str) -> Any:
    if name not in _RUNTIME:
        raise AttributeError(f"module 'policyengine.engine' has no attribute {name!r}")
    return getattr(importlib.import_module("policyengine.engine.evaluator"), name)
