"""Federated governance: which team owns which files, checked and turned into CODEOWNERS.

`ownership` (the `ownership:` map of policyengine.yaml: the scopes a policy file's path allows,
the domain a contract's path or team binds it to, and the CODEOWNERS file they generate).
Depends on the language and catalog stages' data only (AST files, products), never on the engine.

The gates answer questions about every request at once, not one decision: `classes` reduces
requests to equivalence classes that are evaluated through `Engine.evaluate`; `coverage` (the PII
coverage gate, `check_coverage`), `whynot` (`why_not`) and `matrix` (the access-matrix diff)
use it. Their names are imported on first use, so reading the ownership map does not load the
engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "check_coverage": "coverage", "CoverageReport": "coverage", "Gap": "coverage", "Privilege": "coverage",
    "why_not": "whynot", "WhyNot": "whynot", "Suggestion": "whynot", "diff_engines": "matrix",
    "diff_versions": "diff", "DiffReport": "diff", "contract_changes": "contract_diff",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'policyengine.governance' has no attribute {name!r}")
    return getattr(importlib.import_module(f"policyengine.governance.{module}"), name)
