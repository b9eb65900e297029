"""`policyengine coverage`: the PII coverage gate (every sensitive column masked or denied for
every consumer that is not privileged, every purpose, every instant)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from policyengine.commands.common import EXIT_USAGE, emit_report, fail, no_project_message

if TYPE_CHECKING:
    from collections.abc import Callable

    from policyengine.catalog.scan_tags import UndeclaredFinding
    from policyengine.governance.coverage import CoverageReport


class CoverageFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


def coverage_command(
    scan: Annotated[Path | None, typer.Option(
        "--scan", help="Scan report (JSON): columns it tags sensitive are checked too.")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="Check columns with this tag (or below it) instead of the taxonomy's sensitive ones (repeatable).")] = None,
    product: Annotated[list[str] | None, typer.Option("--product", help="Check only this product (repeatable).")] = None,
    output_format: Annotated[CoverageFormat, typer.Option("--format", help="text, json or sarif.")] = CoverageFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
    policies: Annotated[list[Path] | None, typer.Option("--policies", help="Policy files or folders (default: the configured policies).")] = None,
    catalog: Annotated[list[Path] | None, typer.Option("--catalog", help="Contract folders (default: the configured catalog).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Project configuration file.")] = None,
) -> None:
    """Fail when a sensitive column is readable unmasked by a consumer that is not privileged.

    Exit codes: 0 covered, 1 a gap (or a policy error), 2 usage or input errors."""
    from policyengine.catalog.scan_tags import scan_findings
    from policyengine.config import load_config, missing_path
    from policyengine.diagnostics import PolicyError
    from policyengine.engine.loading import load
    from policyengine.governance.classes import ClassesError
    from policyengine.governance.coverage import check_coverage, to_json, to_sarif, to_text
    from policyengine.yamlsource import YamlError

    try:
        cfg = load_config(config)
    except YamlError as exc:
        raise fail(str(exc).splitlines()[0], EXIT_USAGE) from None
    if cfg.source is None and not policies and not any(p.exists() for p in cfg.policies):
        raise fail(no_project_message(), EXIT_USAGE)
    if (missing := missing_path(cfg)) is not None:
        raise fail(str(missing), EXIT_USAGE)
    for path in [*(policies or ()), *(catalog or ()), *([scan] if scan else ())]:
        if not path.exists():
            raise fail(f"{path}: error: no such file or folder", EXIT_USAGE)
    try:
        engine = load(list(policies or cfg.policies), list(catalog or cfg.catalog), consumers=cfg.consumers,
                      taxonomy=list(cfg.taxonomy), ownership=cfg.ownership)
    except PolicyError as exc:
        raise fail(exc.render()) from None
    except YamlError as exc:
        raise fail(str(exc).splitlines()[0], EXIT_USAGE) from None
    unknown = [p for p in product or () if p not in engine.catalog.products]
    if unknown:
        raise fail(f"error: unknown product '{unknown[0]}'", EXIT_USAGE)
    for t in tag or ():
        if t not in engine.catalog.taxonomy:
            raise fail(f"error: unknown tag '{t}' (not in the taxonomy)", EXIT_USAGE)
    _check_privileged(cfg, engine)
    found: dict[str, dict[str, set[str]]] | None = None
    undeclared: list[UndeclaredFinding] = []
    if scan is not None:
        try:  # the scan only adds columns to check: rules are evaluated as enforcement loads them
            found, undeclared = scan_findings(scan, engine.catalog)
        except PolicyError as exc:
            raise fail(exc.render().splitlines()[0], EXIT_USAGE) from None
    try:
        report = check_coverage(engine, privileged=cfg.privileged, scan=found, tags=tag or None,
                                products=product or None, undeclared=undeclared)
    except ClassesError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    from policyengine.governance.escape import plain

    renderers: dict[CoverageFormat, Callable[[CoverageReport], str]] = {
        CoverageFormat.text: to_text, CoverageFormat.json: to_json, CoverageFormat.sarif: to_sarif}
    render = renderers[output_format]
    emit_report(render(report), output)
    if output is not None or output_format is not CoverageFormat.text:
        # a CI log shows the outcome whatever the format
        for u in report.undeclared:
            typer.echo(plain(f"{u.contract or u.product}:{u.line or 1}: error: {u.text}"), err=True)
        for g in report.gaps:
            typer.echo(plain(f"{g.allowed_by.file}:{g.allowed_by.line}: error: {g.headline()}"), err=True)
        typer.echo(f"{len(report.gaps)} gap(s) in {len(report.columns)} sensitive column(s)", err=True)
    raise typer.Exit(report.exit_code())


def _privileged_line(cfg, *words: str) -> str:
    """`policyengine.yaml:LINE:COL` of the `privileged:` entry writing `words` (its first line after
    `privileged:` holding them all), else of the `privileged` key; "" without a file."""
    if cfg.source is None:
        return ""
    line, col = cfg.positions.get("privileged", (1, 1))
    try:
        lines = cfg.source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return f"{cfg.source}:{line}:{col}: "
    for i in range(line - 1, len(lines)):
        if all(w in lines[i] for w in words):
            return f"{cfg.source}:{i + 1}:{lines[i].find(words[-1]) + 1}: "
    return f"{cfg.source}:{line}:{col}: "


def _check_privileged(cfg, engine) -> None:
    """Exit 2, located, with did-you-mean, when `privileged:` names a tag the taxonomy does not
    have; a warning when it names a group or user no consumer has (a typo would leave the real
    subject checked and the entry granting nothing)."""
    from policyengine.diagnostics import did_you_mean

    taxonomy = engine.catalog.taxonomy
    tags = list(taxonomy.tags)
    groups = {g for c in engine.consumers.values() for g in c.groups}
    for subject, named in cfg.privileged:
        for t in named:
            if t not in taxonomy:
                raise fail(f"{_privileged_line(cfg, subject, t)}error: privileged subject {subject} names unknown tag "
                           f"'{t}'{did_you_mean(t, tags)}", EXIT_USAGE)
        kind, _, name = subject.partition(":")
        known = groups if kind == "group" else set(engine.consumers)
        if engine.consumers and name not in known:
            typer.echo(f"{_privileged_line(cfg, subject)}warning: privileged {kind} '{name}' is not "
                       f"{'a group of any consumer' if kind == 'group' else 'a known consumer'}"
                       f"{did_you_mean(name, known)}", err=True)


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage_command)
