"""Sample paths that match no file, and contract columns a sample does not have: a one-letter typo
in a contract's `servers.path` would make the scanner see the real file as no contract's, and a
column missing from the sample fails `query`, so `check` reports both."""

from __future__ import annotations

from pathlib import Path

from policyengine.catalog.contracts import Catalog
from policyengine.diagnostics import Diagnostic, did_you_mean


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


def _sample_columns(path: Path, fmt: str) -> list[str] | None:
    """The column names of a sample file (its header or schema only, never its values), or None
    when the format has no cheap schema or the file cannot be read (`scan` reports that)."""
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if fmt in ("csv", "tsv"):
            import pyarrow.csv as pcsv

            parse = pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            with pcsv.open_csv(path, parse_options=parse) as reader:
                return list(reader.schema.names)
    except (OSError, pa.ArrowException, ValueError):
        return None
    return None


def sample_schema_mismatches(catalog: Catalog) -> list[Diagnostic]:
    """A warning (code `sample-schema`) for each contract column its existing sample file does not
    have (compared without case, as SQL engines bind names): `query` could not bind it and `scan`
    would not see it. Located at the contract's column; only names are compared, never values."""
    out: list[Diagnostic] = []
    for product in catalog.products.values():
        for sample in product.samples:
            if not sample.path.is_file():
                continue  # missing_samples says so
            names = _sample_columns(sample.path, sample.format.lower() or sample.path.suffix.lstrip(".").lower())
            if names is None:
                continue
            present = {n.lower() for n in names}
            for column in product.columns:
                if column.name.lower() in present:
                    continue
                out.append(Diagnostic(
                    "warning", f"column '{column.name}' of {product.name} is not in its sample "
                    f"{sample.path.name}{did_you_mean(column.name, names)} (its columns: "
                    f"{', '.join(names[:20])}{', …' if len(names) > 20 else ''})",
                    column.span or sample.span, file=product.source, code="sample-schema"))
    return out
