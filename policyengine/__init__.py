"""policyengine: policy-as-code access and compliance for a data mesh.

Data flows one way: product contracts (+ scan results) → catalog; policy files → parse → AST →
check → compile → engine; request → evaluate() → Decision → enforcement and explanation.
"""

from policyengine.catalog import Catalog, Column, Product, load_catalog
from policyengine.checker import CheckResult, check_policies
from policyengine.diagnostics import Diagnostic, PolicyError, Span
from policyengine.formatter import format_file, format_text
from policyengine.parser import parse_file, parse_policy

__version__ = "0.1.0"

__all__ = [
    "Catalog", "CheckResult", "Column", "Diagnostic", "PolicyError", "Product", "Span",
    "check_policies", "format_file", "format_text", "load_catalog", "parse_file", "parse_policy",
]
