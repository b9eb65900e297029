"""Governance gates for CI: PII coverage (`check_coverage`) and why-not explanations (`why_not`).

They answer questions about every request at once, not one decision: each reduces requests to
equivalence classes (`governance.classes`) and evaluates the classes through `Engine.evaluate`.
"""

from __future__ import annotations

from policyengine.governance.coverage import CoverageReport, Gap, Privilege, check_coverage
from policyengine.governance.whynot import Suggestion, WhyNot, why_not

__all__ = ["CoverageReport", "Gap", "Privilege", "Suggestion", "WhyNot", "check_coverage", "why_not"]
