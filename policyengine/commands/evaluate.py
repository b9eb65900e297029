"""`policyengine eval` (one decision, optionally explained) and `policyengine test` (policy tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from policyengine.commands.common import EXIT_FAIL, EXIT_OK, fail, project_config
from policyengine.commands.options import (
    ConfigOpt,
    OutputFormat,
    consumer_from_options,
    parse_at,
    warn_unknown_purpose,
)
from policyengine.config import Config
from policyengine.diagnostics import MAX_DIAGNOSTICS, PolicyError
from policyengine.engine.evaluator import Engine
from policyengine.engine.loading import load
from policyengine.yamlsource import YamlError


def project_engine(cfg: Config, policies: list[Path] | None = None, scan: Path | None = None,
                   catalog: list[Path] | None = None) -> Engine:
    """The engine for the configured project (policies and catalog overridable); exits 1 with
    rendered diagnostics on errors."""
    try:
        return load(list(policies or cfg.policies), list(catalog or cfg.catalog), consumers=cfg.consumers,
                    taxonomy=list(cfg.taxonomy), scan=scan, ownership=cfg.ownership)
    except PolicyError as exc:
        raise fail(exc.render(MAX_DIAGNOSTICS)) from None
    except YamlError as exc:
        raise fail(str(exc)) from None


def eval_command(
    consumer: Annotated[str, typer.Option("--consumer", help="Consumer id (known consumers get their groups and attributes).")],
    product: Annotated[str, typer.Option("--product", help="Product name, e.g. sales.orders.")],
    group: Annotated[list[str] | None, typer.Option("--group", help="A group of the consumer (repeatable).")] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="An attribute as key=value (repeatable).")] = None,
    columns: Annotated[list[str] | None, typer.Option(
        "--columns", help="Columns to decide: comma-separated and/or repeated (default: all).")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="The request's purpose.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Evaluate at this instant (ISO, UTC; default now).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show every rule that applied per column.")] = False,
    scan: Annotated[Path | None, typer.Option("--scan", help="Scan report whose tags are added to the catalog.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
    why_not: Annotated[str | None, typer.Option(
        "--why-not", help="Also say the smallest changes that would make this column more visible.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Evaluate one request: per column allow / mask / deny, and the row filter."""
    from policyengine.diagnostics import did_you_mean

    cfg = project_config(config)
    engine = project_engine(cfg, scan=scan)
    if product not in engine.catalog.products:  # a typo is a mistake to report, not a decision
        raise fail(f"error: unknown product '{product}'{did_you_mean(product, engine.catalog.products)}; "
                   f"known: {', '.join(sorted(engine.catalog.products))}")
    known = engine.consumers.get(consumer)
    if known is None and not group and not attr:
        typer.echo(f"warning: consumer '{consumer}' is not in the consumers file and no --group or --attr "
                   f"was given: evaluated as a consumer with no groups and no attributes"
                   f"{did_you_mean(consumer, engine.consumers)}", err=True)
    who = consumer_from_options(consumer, known, group, attr, engine.schema)
    warn_unknown_purpose(purpose, engine.rules)
    cols = [c.strip() for item in columns for c in item.split(",") if c.strip()] if columns else None
    when = parse_at(at)
    product_columns = engine.catalog.products[product].column_names
    if why_not is not None and why_not not in product_columns:
        raise fail(f"error: {product} has no column '{why_not}'{did_you_mean(why_not, product_columns)}", 2)
    decision = engine.evaluate(who, product, cols, purpose, when, use_cache=False)
    answer = None
    if why_not is not None:
        from policyengine.governance.whynot import why_not as explain_why_not

        answer = explain_why_not(engine, who, product, why_not, purpose, when or decision.at)
    for name in cols or ():
        if name not in product_columns:
            typer.echo(f"warning: {product} has no column '{name}'{did_you_mean(name, product_columns)} "
                       "(denied)", err=True)
    if output is OutputFormat.json:
        data = decision.to_dict()
        if answer is not None:
            data["why_not"] = answer.to_dict()
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif explain:
        typer.echo(decision.explain())
    else:
        if decision.error:
            typer.echo(f"error: {decision.error} (everything denied)", err=True)
        elif decision.reason:
            typer.echo(decision.reason)
        width = max((len(c) for c in decision.columns), default=0)
        for name, d in decision.columns.items():
            effect = f"mask {d.mask}" if d.effect == "mask" else d.effect
            typer.echo(f"{name:<{width}}  {effect}")
        typer.echo(f"rows: {decision.row_filter_text or 'all'}")
    if answer is not None and output is not OutputFormat.json:
        typer.echo(answer.to_text())
    raise typer.Exit(EXIT_FAIL if decision.error else EXIT_OK)


def test_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Test files or folders (default: policies/tests).")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
    require_coverage: Annotated[bool, typer.Option("--require-coverage", help="Fail when a rule is exercised by no test.")] = False,
    policies: Annotated[list[Path] | None, typer.Option("--policies", help="Policy files or folders to test (default: the configured policies).")] = None,
    catalog: Annotated[list[Path] | None, typer.Option("--catalog", help="Contract folders (default: the configured catalog).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Run policy tests (YAML next to the policies) and report rules no test exercises.

    The tests run against the configured project's policies and catalog, or those given
    with --policies / --catalog."""
    from policyengine.engine.policytest import load_cases, run_tests, structural_errors, test_files

    cfg = project_config(config, needed=not policies)
    default_dirs = list(policies) if policies else list(cfg.policies)
    targets = list(paths) if paths else [p / "tests" for p in default_dirs if p.is_dir()]
    files = test_files(targets)
    if not files:
        raise fail(f"error: no policy test files under {', '.join(map(str, targets)) or 'the policy folders'}", 2)
    engine = project_engine(cfg, policies, catalog=catalog)
    try:
        cases = [c for f in files for c in load_cases(f)]
    except YamlError as exc:
        raise fail(str(exc)) from None
    problems = structural_errors(engine, cases)
    if problems:  # mistakes in the test files: all of them, before any case runs
        for line in problems:
            typer.echo(line, err=True)
        raise fail(f"{len(problems)} error(s) in the test files; no test ran")
    report = run_tests(engine, cases)
    if output is OutputFormat.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in report.results:
            if not r.passed:
                typer.echo(f"FAILED {r.case.location} {r.case.name}")
                for f in r.failures:
                    typer.echo(f"    {f}")
        if report.untested_rules:
            typer.echo(f"rules no test exercises ({len(report.untested_rules)}):")
            for name in report.untested_rules:
                typer.echo(f"    {name}")
        typer.echo(f"{report.passed} passed, {report.failed} failed")
    failed = report.failed > 0 or (require_coverage and bool(report.untested_rules))
    raise typer.Exit(EXIT_FAIL if failed else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("test")(test_command)
