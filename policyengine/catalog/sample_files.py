"""Sample paths that match no file: a one-letter typo in a contract's `servers.path` would make
the scanner see the real file as no contract's, so `check` reports it."""

from __future__ import annotations

from policyengine.catalog.contracts import Catalog
from policyengine.diagnostics import Diagnostic


def missing_samples(catalog: Catalog) -> list[Diagnostic]:
    """A warning (code `missing-sample`) for each distinct sample path of a contract that names no
    existing file, located at the contract's `path` key."""
    out: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    for product in catalog.products.values():
        for sample in product.samples:
            key = (product.source, str(sample.path))
            if key in seen or sample.path.exists():
                continue
            seen.add(key)
            out.append(Diagnostic(
                "warning", f"the sample path of {product.name} matches no file ({sample.path.name} does not "
                           "exist), so the product has no sample and a scan cannot match its file",
                sample.span, file=product.source, code="missing-sample"))
    return out
