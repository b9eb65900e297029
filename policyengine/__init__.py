"""policyengine: policy-as-code access and compliance for a data mesh.

Data flows one way: product contracts (+ scan results) → catalog; policy files → parse → AST →
check → compile → engine; request → evaluate() → Decision → enforcement and explanation.

Heavy parts (the engine, DuckDB enforcement, the scanner, the parser and the catalog reader) are
imported on first use, so a gateway that only evaluates does not pay for the scanner's imports,
and a scan does not pay for lark's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine.config import use_ownership_reader
from policyengine.diagnostics import Diagnostic, PolicyError, Span
from policyengine.engine.decision import ColumnDecision, Decision, RuleRef
from policyengine.language.masks import MaskStrategy
from policyengine.lazy import lazy_attributes

if TYPE_CHECKING:  # imported on first use (below): a scan or a gateway need not load lark or YAML
    from policyengine.catalog.consumers import Consumer
    from policyengine.catalog.contracts import Catalog, Column, Product, load_catalog
    from policyengine.language.checker import CheckResult, check_policies
    from policyengine.language.formatter import format_file, format_text
    from policyengine.language.parser import parse_file, parse_policy

__version__ = "0.1.0"


def _read_ownership(*args: Any) -> Any:
    """The `ownership:` section of policyengine.yaml, read by the governance stage."""
    from policyengine.governance.ownership import parse_ownership

    return parse_ownership(*args)


use_ownership_reader(_read_ownership)


_LAZY = {
    "Consumer": "policyengine.catalog.consumers",
    "Catalog": "policyengine.catalog.contracts",
    "Column": "policyengine.catalog.contracts",
    "Product": "policyengine.catalog.contracts",
    "load_catalog": "policyengine.catalog.contracts",
    "CheckResult": "policyengine.language.checker",
    "check_policies": "policyengine.language.checker",
    "format_file": "policyengine.language.formatter",
    "format_text": "policyengine.language.formatter",
    "parse_file": "policyengine.language.parser",
    "parse_policy": "policyengine.language.parser",
    "Engine": "policyengine.engine.evaluator",
    "load": "policyengine.engine.bundlefile",  # loading.load, or load(bundle=PATH, public_keys=[...])
    "load_bundle": "policyengine.engine.bundlefile",
    "evaluate": "policyengine.engine.loading",
    "enforce": "policyengine.enforce",
    "rewrite": "policyengine.enforce.gateway",
    "scan_paths": "policyengine.scan",
    "check_coverage": "policyengine.governance.coverage",
    "why_not": "policyengine.governance.whynot",
    "decision_why_not": "policyengine.governance.whynot",
    "to_sql": "policyengine.enforce.sql",
    "read_restrictions": "policyengine.enforce.iceberg",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


__all__ = [
    "Catalog", "CheckResult", "Column", "ColumnDecision", "Consumer", "Decision", "Diagnostic",
    "Engine", "MaskStrategy", "PolicyError", "Product", "RuleRef", "Span", "check_coverage",
    "check_policies", "enforce", "evaluate", "format_file", "format_text", "load", "load_bundle", "load_catalog",
    "parse_file", "parse_policy", "read_restrictions", "rewrite", "scan_paths", "to_sql", "why_not",
    "decision_why_not",
]
