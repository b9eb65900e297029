"""Compare scan findings with what each product's contract declares.

- PII found in a column whose contract does not declare that tag (or a parent of it) is
  *undeclared*: an error, the CI gate.
- A declared tag the scanner can detect but found in no column sample is *not found*: a warning
  (the sample may simply not contain it, or the declaration is stale).
- A data file no contract points at is reported as info.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from policyengine.catalog.contracts import Catalog
from policyengine.scan.report import DriftItem, ScanReport


def _covers(catalog: Catalog, declared: frozenset[str], tag: str) -> bool:
    return any(catalog.taxonomy.covers(d, tag) for d in declared)


def check_drift(report: ScanReport, catalog: Catalog) -> ScanReport:
    """The report with `drift` filled in from the catalog's contracts."""
    items: list[DriftItem] = []
    detectable = set(catalog.taxonomy.entity_tags.values())
    found: dict[tuple[str, str], set[str]] = {}
    sources = sorted({c["source"] for c in report.columns} | {f.source for f in report.findings})
    product_of = {s: catalog.product_for_sample(s) for s in sources}
    for f in report.findings:
        if not f.tag:
            continue
        product = product_of.get(f.source)
        if product is None:
            continue
        found.setdefault((product.name, f.column), set()).add(f.tag)
        col = product.column(f.column)
        declared = col.tags if col is not None else frozenset()
        if _covers(catalog, declared, f.tag):
            continue
        line = col.span.line if col is not None and col.span is not None else None
        contract = (col.span.file if col is not None and col.span is not None else None) or product.source or None
        what = (f"the contract does not tag it {f.tag}" if col is not None
                else "the column is not in the contract at all")
        items.append(DriftItem(
            "error", "undeclared", f.source, product.name, f.column, f.tag,
            f"undeclared PII: column '{f.column}' of {product.name} holds {f.entity} ({f.tag}) but {what}",
            contract, line,
        ))
    for source in sources:
        product = product_of[source]
        if product is None:
            items.append(DriftItem("info", "no-product", source, None, None, None,
                                   f"no contract declares {Path(source).name} as a sample"))
            continue
        for col in product.columns:
            got = found.get((product.name, col.name), set())
            for tag in sorted(col.tags):
                if tag not in detectable or any(catalog.taxonomy.covers(tag, g) for g in got):
                    continue
                line = col.span.line if col.span is not None else None
                contract = (col.span.file if col.span is not None else None) or product.source or None
                items.append(DriftItem(
                    "warning", "not-found", source, product.name, col.name, tag,
                    f"declared but not found: column '{col.name}' of {product.name} is tagged {tag} "
                    f"but its sample shows none", contract, line,
                ))
    return replace(report, drift=tuple(items), settings={**report.settings, "contracts_checked": True})
