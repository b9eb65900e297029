"""`render`, `plan` and `apply --target trino`: the rules file of Trino's file-based access control
(docs/native.md). Thin over `policyengine.native.trino`; `native.py` dispatches here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from policyengine.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail


def naming(cfg: Any) -> Any:
    """The Trino names of the project: its `serve.trino` section (the OPA path's mapping)."""
    from policyengine.native.trino import TrinoNaming
    from policyengine.serve.trino import TrinoSettings

    try:
        settings = TrinoSettings.from_mapping((cfg.serve or {}).get("trino"))
    except ValueError as exc:
        raise fail(f"{cfg.source or 'policyengine.yaml'}: error: {exc}", EXIT_USAGE) from None
    return TrinoNaming(dict(settings.users), settings.unmapped_users, dict(settings.tables), settings.product,
                       settings.catalogs, settings.open_catalogs)


def _rules(cfg: Any, plan: Any) -> Any:
    from policyengine.native import trino

    try:
        return trino.compile_rules(plan, naming(cfg))
    except trino.NativeError as exc:
        raise fail(f"error: {exc}") from None


def _lines(plan: Any, rules: Any) -> list[str]:
    lines = [f"note: {n}" for n in (*plan.notes, *rules.notes)]
    return lines + [f"refused: {r}" for r in (*plan.refusals, *rules.refusals)]


def _summary(changes: list[Any], path: Path) -> str:
    if not changes:
        return f"No changes: {path} matches the policies."
    count = {a: sum(1 for c in changes if c.action == a) for a in "+~-"}
    return f"Plan: {count['+']} to add, {count['~']} to change, {count['-']} to destroy."


def _deployed(path: Path) -> str | None:
    from policyengine.native import trino

    try:
        return trino.read_deployed(path)
    except trino.NativeError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None


def render(cfg: Any, plan: Any, output: Path) -> None:
    """Write output/rules.json (the whole file) and output/plan.txt (against no deployed file)."""
    from policyengine.native import trino

    rules = _rules(cfg, plan)
    changes = trino.diff(rules.document, None)
    try:
        output.mkdir(parents=True, exist_ok=True)
        (output / "rules.json").write_text(rules.text(), "utf-8")
        (output / "plan.txt").write_text("\n".join([*_lines(plan, rules), *map(str, changes),
                                                    _summary(changes, output / "rules.json")]) + "\n", "utf-8")
    except OSError as exc:
        raise fail(f"{output}: error: cannot write: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"wrote {output}/rules.json and {output}/plan.txt ({len(rules.document['tables'])} table rules, "
               f"{len(plan.refusals) + len(rules.refusals)} refused)")


def _need(path: Path | None) -> Path:
    if path is None:
        raise fail("error: --target trino needs --rules PATH (the file security.config-file names)", EXIT_USAGE)
    return path


def plan_(cfg: Any, plan: Any, path: Path | None, check: bool) -> None:
    """Compare the compiled rules with the deployed file; exit 1 with --check on a difference."""
    from policyengine.native import trino

    path = _need(path)
    rules = _rules(cfg, plan)
    changes = trino.diff(rules.document, _deployed(path))
    for line in [*_lines(plan, rules), *map(str, changes), _summary(changes, path)]:
        typer.echo(line)
    raise typer.Exit(EXIT_FAIL if check and changes else EXIT_OK)


def apply(cfg: Any, plan: Any, path: Path | None) -> None:
    """Write the rules file atomically (temporary file + rename) when it differs."""
    from policyengine.native import trino

    path = _need(path)
    rules = _rules(cfg, plan)
    changes = trino.diff(rules.document, _deployed(path))
    for line in [*_lines(plan, rules), *map(str, changes)]:
        typer.echo(line)
    if not changes:
        typer.echo(f"No changes: {path} matches the policies.")
        return
    try:
        trino.write_atomic(path, rules.text())
    except trino.NativeError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    typer.echo(f"Applied {len(changes)} changes: wrote {path} (Trino reads it within security.refresh-period).")
