"""Helpers shared by CLI commands: resolving project paths and printing diagnostics."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from policyengine.catalog.consumers import Directory, load_directory
from policyengine.catalog.contracts import Catalog, CatalogError, load_catalog
from policyengine.catalog.taxonomy import load_taxonomy
from policyengine.config import CONFIG_NAME, Config, load_config, missing_path
from policyengine.diagnostics import MAX_DIAGNOSTICS, Diagnostic, located_diagnostic, render_all
from policyengine.yamlsource import YamlError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_FAIL) -> typer.Exit:
    """Print a one-line error on stderr and return the Exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def emit_report(text: str, output: Path | None) -> None:
    """A rendered report, newline-terminated, written to `output` or printed; an unwritable
    `output` is one line, exit 2 (`coverage` and `diff`)."""
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, "utf-8")
    except OSError as exc:
        raise fail(f"{output}: error: cannot write the report: {exc.strerror or exc}", EXIT_USAGE) from None


def project_config(config: Path | None, needed: bool = True) -> Config:
    """The project configuration (`--config`, else policyengine.yaml found from here); a missing,
    unreadable or malformed file is an input error: exit 2 with its one located line.

    With no configuration file anywhere up from here, the defaults (./policies, ./catalog) are
    used when ./policies exists; otherwise, when the command `needed` the project (its inputs
    were not all given on the command line), exit 2 saying no policyengine.yaml was found,
    instead of a puzzling "policies: no such file" later."""
    try:
        cfg = load_config(config)
    except YamlError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if needed and cfg.source is None and not any(p.exists() for p in cfg.policies):
        raise fail(no_project_message(), EXIT_USAGE)
    missing = missing_path(cfg)
    if missing is not None:
        raise fail(str(missing), EXIT_USAGE)
    return cfg


def no_project_message() -> str:
    """The one line for a command run outside any project."""
    return (f"error: no {CONFIG_NAME} found in {Path.cwd()} or any parent folder (run the command "
            f"inside a mesh repository, pass --config FILE, or create one with `policyengine init`)")


def load_project_catalog(cfg: Config, catalog: Sequence[Path] | None, taxonomy: Sequence[Path] | None,
                         output: str = "text") -> Catalog:
    """The catalog from CLI options or the configuration; exits 1 with its errors rendered
    (as JSON on stdout when `output` is "json", so a JSON consumer always gets JSON)."""
    try:
        tax = load_taxonomy(taxonomy or cfg.taxonomy)
        return load_catalog(list(catalog or cfg.catalog), tax)
    except CatalogError as exc:
        if output == "json":
            print_diagnostics(exc.diagnostics, exc.sources, "json")
            raise typer.Exit(EXIT_FAIL) from None
        raise fail(exc.render(MAX_DIAGNOSTICS)) from None
    except YamlError as exc:
        raise _yaml_failure(exc, output, "yaml") from None


def _yaml_diagnostic(exc: YamlError, code: str) -> Diagnostic:
    """A YamlError as a located Diagnostic."""
    return located_diagnostic(exc, code)


def _yaml_failure(exc: YamlError, output: str, code: str) -> typer.Exit:
    """Exit 1 with the error: one line on stderr, or a JSON document on stdout for `--format json`."""
    if output == "json":
        print_diagnostics([_yaml_diagnostic(exc, code)], {}, "json")
        return typer.Exit(EXIT_FAIL)
    return fail(str(exc))


def load_project_directory(cfg: Config, consumers: Path | None, output: str = "text") -> Directory | None:
    """The consumers file from the CLI option or the configuration (None when there is none);
    exits 1 with its located error (as JSON on stdout when `output` is "json")."""
    path = consumers or cfg.consumers
    if path is None:
        return None
    try:
        return load_directory(path)
    except YamlError as exc:
        raise _yaml_failure(exc, output, "consumers") from None


def print_diagnostics(diags: Sequence[Diagnostic], sources: dict[str, str], fmt: str,
                      limit: int | None = MAX_DIAGNOSTICS) -> None:
    """Diagnostics as text (with source lines and carets; the first `limit`, then "… and N more")
    or as one JSON document on stdout (always every diagnostic)."""
    if fmt == "json":
        json.dump({"diagnostics": [d.to_dict() for d in diags],
                   "errors": sum(d.severity == "error" for d in diags),
                   "warnings": sum(d.severity == "warning" for d in diags)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif diags:
        sources = dict(sources)
        for d in diags:  # e.g. catalog warnings: read their file to show the line
            name = d.span.file if d.span else None
            if name and name not in sources:
                try:
                    sources[name] = Path(name).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    sources[name] = ""
        typer.echo(render_all(diags, sources, limit))

