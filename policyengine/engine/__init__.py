"""The engine: checked rules → compiled policy → `evaluate()` → Decision.

`compiler` (rules indexed by product, conditions compiled to closures), `semantics` (what a
decision is, line by line as docs/evaluation.md says), `cache` (interned decision parts and the
compact decision cache), `evaluator` (Engine: evaluate() over both), `loading` (load, the
default engine, the module-level evaluate), `decision` (the frozen Decision a request gets),
`policytest` (policy authors' YAML test cases run against an Engine).
"""

from __future__ import annotations

import importlib
from typing import Any

# the runtime's names, imported on first use (importing the decision module stays light)
_RUNTIME = {"Engine": "policyengine.engine.evaluator", "load": "policyengine.engine.loading",
            "evaluate": "policyengine.engine.loading", "default_engine": "policyengine.engine.loading",
            "reset_default_engine": "policyengine.engine.loading", "policy_version": "policyengine.engine.loading"}


def __getattr__(name: str) -> Any:
    if name not in _RUNTIME:
        raise AttributeError(f"module 'policyengine.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(_RUNTIME[name]), name)
