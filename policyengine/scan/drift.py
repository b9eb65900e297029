"""Compare scan findings with what each product's contract declares.

- PII found in a column whose contract does not declare that tag (or a parent of it) is
  *undeclared*: an error, the CI gate. A file claimed by several products is compared with
  every one of them (a copy of a contract with its tags dropped fails on its own).
- A nested leaf (`contact.email`, `emails[]`, `attrs{}`) is declared when its top-level column
  carries the tag: a column's tags include those of its nested properties, and policies and
  masks address the whole column. The item is located at the deepest nested property the
  contract describes along the path.
- A declared tag the scanner can detect but found in no column sample is *not found*: a warning
  (the sample may simply not contain it, or the declaration is stale).
- Every product must have a sample that was read: a product whose contract names no sample,
  names one that does not exist, or whose samples have no rows, is an error (`no-sample`,
  `missing-sample`, `empty-sample`) unless waived in
  `policyengine.yaml` (`scan: waive_samples:`, then an `info` item with the reason). A sample
  that exists but cannot be read is already a file error of the scan (exit 2). A product whose
  read samples do not show one of its columns is an error too (`unsampled-column`): the sample
  path is the domain's to edit, and a file without the column checks nothing about it. So is a
  column that is null in every row of every sample, unless its contract already tags it sensitive.
- A data file no contract points at is reported as info (the CLI makes it an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from policyengine.catalog.contracts import Catalog, Column, Product
from policyengine.scan.report import DriftItem, ScanReport

EMPTY_TABLE = "empty table"  # the start of the pipeline's warning for a file without rows


def _covers(catalog: Catalog, declared: frozenset[str], tag: str) -> bool:
    return any(catalog.taxonomy.covers(d, tag) for d in declared)


def _where(columns: tuple[Column, ...], product: Product) -> tuple[str | None, int | None]:
    """(contract file, line) of the deepest property along a column's path."""
    col = columns[-1] if columns else None
    line = col.span.line if col is not None and col.span is not None else None
    contract = (col.span.file if col is not None and col.span is not None else None) or product.source or None
    return contract, line


def _undeclared(catalog: Catalog, product: Product, source: str, column: str, entity: str,
                tag: str) -> DriftItem | None:
    """The drift item of one finding against one product, None when declared. A leaf `a.b` with
    both a column `a.b` and a column `a` in the contract is declared only when both readings
    declare it: the report keeps no trace of whether the sample's column was flat or nested, and
    a tagged phantom `a.b` must not stand in for an untagged struct column `a`."""
    readings = product.column_readings(column)
    path: tuple[Column, ...] = ()
    for reading in readings:
        if not _covers(catalog, reading[0].tags, tag):
            path = reading
            break
    else:
        if readings:
            return None
    contract, line = _where(path, product)
    if not path:
        what = "the column is not in the contract at all"
    elif len(path) == 1 and path[0].name != column:
        what = f"its column '{path[0].name}' is not tagged {tag} (nor a nested property of it)"
    else:
        what = f"the contract does not tag it {tag}"
    return DriftItem("error", "undeclared", source, product.name, column, tag,
                     f"undeclared PII: column '{column}' of {product.name} holds {entity} ({tag}) but {what}",
                     contract, line)


def _sample_items(catalog: Catalog, attempted: set[Path], empty: set[Path],
                  waivers: Mapping[str, str]) -> list[DriftItem]:
    """Products without a sample that exists and has rows: errors, or infos when waived."""
    items: list[DriftItem] = []
    for product in catalog.products.values():
        line = product.span.line if product.span is not None else None
        missing = [s for s in product.samples if not s.path.exists()]
        reason = waivers.get(product.name)
        if not product.samples:
            kind, msg = "no-sample", (f"{product.name} has no sample: its contract names none (a `type: local` "
                                      "server with a `path`), so the scan cannot check it")
        elif missing:
            s = missing[0]
            kind, msg = "missing-sample", (f"the sample of {product.name} does not exist ({s.path.name}): "
                                           "the scan cannot check it")
            line = s.span.line if s.span is not None else line
        elif all(s.path.resolve() in empty for s in product.samples):
            s = product.samples[0]
            kind, msg = "empty-sample", (f"the sample of {product.name} has no rows ({s.path.name}): "
                                         "the scan cannot check it")
            line = s.span.line if s.span is not None else line
        else:
            continue
        if reason is not None:
            items.append(DriftItem("info", kind, product.source, product.name, None, None,
                                   f"{msg}; waived in the configuration: {reason}", product.source, line))
        else:
            items.append(DriftItem("error", kind, product.source, product.name, None, None,
                                   f"{msg} (give it a sample, or waive it under scan: waive_samples: in "
                                   "policyengine.yaml with a reason)", product.source, line))
    for product in catalog.products.values():  # a sample that exists but the scan was not given
        for s in product.samples:
            if s.path.is_file() and s.path.resolve() not in attempted:
                items.append(DriftItem("error", "unscanned-sample", str(s.path), product.name, None, None,
                                       f"the sample of {product.name} ({s.path.name}) was not scanned",
                                       product.source, s.span.line if s.span is not None else None))
    return items


def _unsampled_items(catalog: Catalog, report: ScanReport, products_of: Mapping[str, tuple[Product, ...]],
                     failed: set[str], settled: set[str], waivers: Mapping[str, str]) -> list[DriftItem]:
    """Products whose read samples do not show every column of the contract: errors. A sample
    that lacks a column checks nothing about it (a contract pointing its `path` at itself, at
    another product's sample, at a folder of empty files): the column's PII would pass unseen."""
    seen: dict[str, set[str]] = {}
    filled: dict[str, set[str]] = {}  # columns with at least one non-null value in some sample
    read: dict[str, int] = {}
    for c in report.columns:
        for product in products_of.get(c["source"], ()):
            path = product.column_path(c["column"])
            top = path[0].name if path else ""
            seen.setdefault(product.name, set()).add(top)
            if int(c.get("rows", 0) or 0) > int(c.get("nulls", 0) or 0):
                filled.setdefault(product.name, set()).add(top)
    for source, products in products_of.items():
        if source not in failed:
            for product in products:
                read[product.name] = read.get(product.name, 0) + 1
    items: list[DriftItem] = []
    for product in catalog.products.values():
        if not product.samples or product.name in settled:
            continue
        line = product.span.line if product.span is not None else None
        if not read.get(product.name) and not any(s.path.is_file() for s in product.samples):
            s = product.samples[0]  # a folder holding no file with rows: nothing was read
            msg = f"the sample of {product.name} has no rows ({s.path.name}): the scan cannot check it"
            line = s.span.line if s.span is not None else line
            reason = waivers.get(product.name)
            if reason is not None:
                items.append(DriftItem("info", "empty-sample", product.source, product.name, None, None,
                                       f"{msg}; waived in the configuration: {reason}", product.source, line))
            else:
                items.append(DriftItem("error", "empty-sample", product.source, product.name, None, None,
                                       f"{msg} (give it a sample, or waive it under scan: waive_samples: in "
                                       "policyengine.yaml with a reason)", product.source, line))
            continue
        if any(source in failed for source, products in products_of.items() if product in products):
            continue  # a sample that failed to read is already an error (exit 2)
        for col in product.columns:
            if col.name not in seen.get(product.name, set()):
                items.append(DriftItem(
                    "error", "unsampled-column", product.source, product.name, col.name, None,
                    f"column '{col.name}' of {product.name} is in none of its samples: the scan cannot "
                    "check it (the sample must hold every column of the contract)", product.source,
                    col.span.line if col.span is not None else line))
            elif col.name not in filled.get(product.name, set()) and not _declared_sensitive(catalog, col):
                items.append(DriftItem(
                    "error", "unsampled-column", product.source, product.name, col.name, None,
                    f"column '{col.name}' of {product.name} is empty (null) in every sample: the scan cannot "
                    "check it (give the sample values for it, or tag it if it may hold personal data)",
                    product.source, col.span.line if col.span is not None else line))
    return items


def _declared_sensitive(catalog: Catalog, col: Column) -> bool:
    """The contract already declares the column sensitive: what the scan could find in it is
    masked or denied by the guardrails anyway, so an empty sample hides nothing."""
    return any(catalog.taxonomy.is_sensitive(t) for t in col.tags)


def check_drift(report: ScanReport, catalog: Catalog, waivers: Mapping[str, str] | None = None) -> ScanReport:
    """The report with `drift` filled in from the catalog's contracts; `waivers`: products
    (name → reason) allowed to have no sample."""
    items: list[DriftItem] = []
    detectable = set(catalog.taxonomy.entity_tags.values())
    found: dict[tuple[str, str], set[str]] = {}
    sources = sorted({c["source"] for c in report.columns} | {f.source for f in report.findings}
                     | set(report.files))
    products_of = {s: catalog.products_for_sample(s) for s in sources}
    for f in report.findings:
        if not f.tag:
            continue
        for product in products_of.get(f.source, ()):
            path = product.column_path(f.column)
            found.setdefault((product.name, path[0].name if path else f.column), set()).add(f.tag)
            item = _undeclared(catalog, product, f.source, f.column, f.entity, f.tag)
            if item is not None:
                items.append(item)
    failed = {i.source for i in report.issues if i.severity == "error"}
    for source in sources:
        products = products_of[source]
        if not products:
            items.append(DriftItem("info", "no-product", source, None, None, None,
                                   f"no contract declares {Path(source).name} as a sample"))
            continue
        if source in failed:
            continue
        for product in products:
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
    attempted = {Path(s).resolve() for s in report.files}
    empty = {Path(i.source).resolve() for i in report.issues if i.message.startswith(EMPTY_TABLE)}
    sample_items = _sample_items(catalog, attempted, empty, waivers or {})
    items.extend(sample_items)
    settled = {i.product for i in sample_items if i.product}  # already an error (or waived): said once
    items.extend(_unsampled_items(catalog, report, products_of, failed, settled, waivers or {}))
    return replace(report, drift=tuple(items), settings={**report.settings, "contracts_checked": True})
