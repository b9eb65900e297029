"""Scan results → column tags: the findings of a scan report mapped to catalog products."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyengine.catalog.contracts import Catalog
from policyengine.diagnostics import Diagnostic, PolicyError, Span, located_diagnostic
from policyengine.yamlsource import YamlError, read_source

log = logging.getLogger("policyengine")


@dataclass(frozen=True)
class UndeclaredFinding:
    """A scan finding in a column of a product's sample that the product's contract does not
    declare (a column renamed in the contract, or never declared): its tag reaches no column."""

    product: str
    column: str  # the sample's column
    tag: str
    source: str  # the sample file, as the report names it

    def to_dict(self) -> dict[str, str]:
        return {"product": self.product, "column": self.column, "tag": self.tag, "source": self.source}


def scan_tags(report: str | Path | Mapping[str, Any] | Any, catalog: Catalog) -> dict[str, dict[str, set[str]]]:
    """Column tags found by a scan report (JSON path, parsed dict, or a report object with
    `to_dict()`), by product and column.

    A finding maps to every product whose sample file (`servers` of its contract) it was found
    in, and a nested leaf's finding (`contact.email`) to its top-level column.
    Part of the catalog stage (contracts + scan results → tagged columns), so neither the evaluator
    nor a gateway needs the scanner package to read a report.
    """
    return scan_findings(report, catalog)[0]


def scan_findings(report: str | Path | Mapping[str, Any] | Any,
                  catalog: Catalog) -> tuple[dict[str, dict[str, set[str]]], list[UndeclaredFinding]]:
    """`scan_tags`, and beside it each finding in a product's sample whose column the product's
    contract does not declare (what `coverage` fails on: the tag would be lost)."""
    if not isinstance(report, (Mapping, str, Path)) and callable(getattr(report, "to_dict", None)):
        report = report.to_dict()
    if not isinstance(report, (Mapping, str, Path)):
        raise PolicyError([Diagnostic("error", f"scan must be a report path, dict or report object, "
                                               f"not {type(report).__name__}", code="scan-report")])
    if not isinstance(report, Mapping):
        report = _read_report(Path(report))
    where = str(report) if isinstance(report, (str, Path)) else "<scan report>"

    def malformed(why: str) -> PolicyError:
        return PolicyError([Diagnostic("error", f"malformed scan report: {why}", file=where, code="scan-report")])

    if not isinstance(report, Mapping):
        raise malformed("expected a JSON object with 'findings'")
    findings = report.get("findings", [])
    if not isinstance(findings, list):
        raise malformed("'findings' must be a list")
    out: dict[str, dict[str, set[str]]] = {}
    undeclared: dict[tuple[str, str, str, str], None] = {}
    unmatched = 0
    for i, finding in enumerate(findings):
        if not isinstance(finding, Mapping):
            raise malformed(f"finding {i} is not an object")
        tag, source, column = finding.get("tag"), finding.get("source"), finding.get("column")
        if not tag:  # an entity without a taxonomy tag adds nothing
            continue
        if not (source and column):  # a tag that says nowhere would be silently lost
            raise malformed(f"finding {i} has a tag but no 'source' and 'column'")
        if not all(isinstance(v, str) for v in (tag, source, column)):
            raise malformed(f"finding {i}: 'tag', 'source' and 'column' must be strings")
        if tag not in catalog.taxonomy:
            raise malformed(f"finding {i}: unknown tag '{tag}' (not in the taxonomy)")
        products = catalog.products_for_sample(source)  # a file claimed twice tags every product
        if not products:
            unmatched += 1
            continue
        for product in products:
            readings = product.column_readings(column)  # a nested leaf (`contact.email`) tags its column
            if not readings:
                undeclared[(product.name, column, tag, source)] = None
                continue
            for path in readings:  # `a.b` named flat and read through `a`: both columns get the tag
                out.setdefault(product.name, {}).setdefault(path[0].name, set()).add(tag)
    if unmatched:
        log.warning("policyengine: %d scan finding(s) match no product's sample file; "
                    "their tags were not added", unmatched)
    if undeclared:
        log.warning("policyengine: %d scan finding(s) are in sample columns the contract does not declare; "
                    "their tags were not added (`policyengine coverage --scan` fails on them)", len(undeclared))
    return out, [UndeclaredFinding(*k) for k in undeclared]


def _read_report(path: Path) -> Any:
    """The parsed JSON of a report file; unreadable, oversized, not JSON or nested past what the
    parser takes: a located PolicyError (the file's content is never quoted)."""
    try:
        return json.loads(read_source(path))
    except YamlError as exc:
        raise PolicyError([located_diagnostic(exc, "scan-report", str(path))]) from None
    except json.JSONDecodeError as exc:
        span = Span(str(path), exc.lineno, exc.colno, exc.lineno, exc.colno + 1)
        raise PolicyError([Diagnostic("error", f"malformed scan report: not JSON ({exc.msg})", span,
                                      file=str(path), code="scan-report")]) from None
    except RecursionError:
        raise PolicyError([Diagnostic("error", "malformed scan report: nested too deeply", file=str(path),
                                      code="scan-report")]) from None
