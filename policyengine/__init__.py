"""policyengine: policy-as-code access and compliance for a data mesh.

Data flows one way: product contracts (+ scan results) → catalog; policy files → parse → AST →
check → compile → engine; request → evaluate() → Decision → enforcement and explanation.

Heavy parts (the engine, DuckDB enforcement, the scanner) are imported on first use, so a gateway
that only evaluates does not pay for the scanner's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

from policyengine.catalog import Catalog, Column, Product, load_catalog
from policyengine.checker import CheckResult, check_policies
from policyengine.consumers import Consumer
from policyengine.decision import ColumnDecision, Decision, RuleRef
from policyengine.diagnostics import Diagnostic, PolicyError, Span
from policyengine.formatter import format_file, format_text
from policyengine.masks import MaskStrategy
from policyengine.parser import parse_file, parse_policy

__version__ = "0.1.0"

_LAZY = {
    "Engine": "policyengine.engine",
    "load": "policyengine.engine",
    "evaluate": "policyengine.engine",
    "enforce": "policyengine.enforce",
    "rewrite": "policyengine.gateway",
    "scan_paths": "policyengine.scan",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'policyengine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Catalog", "CheckResult", "Column", "ColumnDecision", "Consumer", "Decision", "Diagnostic",
    "Engine", "MaskStrategy", "PolicyError", "Product", "RuleRef", "Span", "check_policies",
    "enforce", "evaluate", "format_file", "format_text", "load", "load_catalog", "parse_file",
    "parse_policy", "rewrite", "scan_paths",
]
