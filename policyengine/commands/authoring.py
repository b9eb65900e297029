"""`policyengine check` and `policyengine fmt`: for people writing policy files."""

from __future__ import annotations

import difflib
import json
import os
import stat
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from policyengine.catalog.sample_files import missing_samples, sample_schema_mismatches
from policyengine.commands.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    load_project_catalog,
    load_project_directory,
    print_diagnostics,
    project_config,
)
from policyengine.commands.options import ConfigOpt, OutputFormat
from policyengine.config import Config
from policyengine.diagnostics import MAX_DIAGNOSTICS, Diagnostic, render_all
from policyengine.language.files import check_paths, parse_paths
from policyengine.language.formatter import format_file
from policyengine.language.parser import policy_files
from policyengine.language.subjects import unknown_subjects

PathsArg = Annotated[list[Path] | None, typer.Argument(help="Policy files or folders (default: from policyengine.yaml).")]


def _unbound_scopes_warning(cfg: Config) -> Diagnostic | None:
    """One warning when no ownership map binds scopes to paths: any file may claim any scope."""
    if cfg.ownership is not None:
        return None
    from policyengine.governance.ownership import unbound_warning

    return unbound_warning(str(cfg.source) if cfg.source else None)


def check(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Deprecated: use --policies (policy files or folders).", show_default=False)] = None,
    policies: Annotated[list[Path] | None, typer.Option(
        "--policies", help="Policy files or folders (default: the configured policies).")] = None,
    catalog: Annotated[list[Path] | None, typer.Option("--catalog", help="Folder of product contracts.")] = None,
    consumers: Annotated[Path | None, typer.Option("--consumers", help="Consumers file with the attribute schema.")] = None,
    taxonomy: Annotated[list[Path] | None, typer.Option("--taxonomy", help="Extra tag taxonomy file.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    max_diagnostics: Annotated[int, typer.Option(
        "--max-diagnostics", min=0, help="Show at most this many diagnostics, then '… and N more' (0: all; "
        "JSON output always lists all).")] = MAX_DIAGNOSTICS,
    target: Annotated[str | None, typer.Option(
        "--target", help="Also refuse what this native target (postgres, snowflake, databricks, bigquery) "
                         "cannot express faithfully, at the rule's file:line:col.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Check policy files against the catalog: syntax, products, columns, tags, masks, types, ownership."""
    if paths:  # one convention with `coverage` and `test`: --policies; the old form still works
        typer.echo("warning: policy paths as arguments of `check` are deprecated: use --policies PATH "
                   "(as `coverage` and `test` do)", err=True)
    given = [*(policies or ()), *(paths or ())]
    cfg = project_config(config, needed=not given)
    targets = given or list(cfg.policies)
    # a path named on the command line that does not exist is a usage error (exit 2), like a policy path
    missing = [p for p in [*targets, *(catalog or ()), *([consumers] if consumers else ()), *(taxonomy or ())]
               if not p.exists()]
    if missing:
        typer.echo(f"{missing[0]}: error: no such file or folder", err=True)
        raise typer.Exit(EXIT_USAGE)
    n_files = _require_policy_files(targets)
    if target is not None:
        from policyengine.native.compile import TARGETS

        if target not in TARGETS:
            typer.echo(f"error: unknown --target {target!r} (known: {', '.join(TARGETS)})", err=True)
            raise typer.Exit(EXIT_USAGE)
    cat = load_project_catalog(cfg, catalog, taxonomy, output.value)
    directory = load_project_directory(cfg, consumers, output.value)
    result = check_paths(targets, cat, directory.schema if directory else None, ownership=cfg.ownership)
    diags = [*cat.warnings, *missing_samples(cat), *sample_schema_mismatches(cat), *result.diagnostics, *unknown_subjects(result.files, directory)]
    from policyengine.authoring.workspace import unkeyed_hash_warning  # the editor's, one copy

    diags.extend(w for w in (unkeyed_hash_warning(result, cfg), _unbound_scopes_warning(cfg)) if w is not None)
    if cfg.ownership is not None:
        from policyengine.governance.unmatched import unmatched_paths

        diags.extend(unmatched_paths(cfg.ownership, cfg.source))
    if target is not None and not any(d.severity == "error" for d in diags):
        diags.extend(_target_refusals(target, targets, cfg, catalog, consumers, taxonomy))
    if strict:  # every warning counts: shown and counted as the error it is under --strict
        diags = [replace(d, severity="error") if d.severity == "warning" else d for d in diags]
    print_diagnostics(diags, dict(result.sources), output.value, max_diagnostics or None)
    errors = sum(d.severity == "error" for d in diags)
    if output is OutputFormat.text:
        warnings = len(diags) - errors
        n_rules = sum(len(f.rules) for f in result.files)  # every parsed rule, with or without errors
        typer.echo(f"checked {n_rules} rules in {n_files} files against "
                   f"{len(cat.products)} products: {errors} error(s), {warnings} warning(s)",
                   err=bool(errors))
    raise typer.Exit(EXIT_FAIL if errors else EXIT_OK)


def _target_refusals(target: str, policies: list[Path], cfg: Config, catalog: list[Path] | None,
                     consumers: Path | None, taxonomy: list[Path] | None) -> list[Diagnostic]:
    """What `target` cannot express faithfully, as errors at the deciding rules (the same
    compilation `plan` and `render` refuse with; decided now, with no purpose)."""
    from policyengine.diagnostics import Span
    from policyengine.engine.loading import load
    from policyengine.native.compile import compile_plan, refusal_messages

    engine = load(policies, list(catalog or cfg.catalog), consumers=consumers or cfg.consumers,
                  taxonomy=list(taxonomy or cfg.taxonomy), ownership=cfg.ownership)
    out: list[Diagnostic] = []
    if not engine.consumers:  # native objects are compiled per consumer: none, nothing checked
        out.append(Diagnostic("warning", f"--target {target}: no consumers (a consumers file): no native object "
                              "was compiled, so nothing was checked for the target", code="native-target"))
    for where, message in refusal_messages(compile_plan(engine, target, keyed_hash=cfg.hash_key is not None)):
        file, _, rest = where.rpartition(":")
        file, _, line = file.rpartition(":")
        try:
            span = Span(file, int(line), int(rest), int(line), int(rest) + 1)
        except ValueError:  # "<default deny>", "<evaluation>": no rule to point at
            out.append(Diagnostic("error", message, file=where, code="native-target"))
            continue
        out.append(Diagnostic("error", message, span=span, code="native-target"))
    return out


def _require_policy_files(targets: list[Path]) -> int:
    """How many policy files `targets` hold; none is an input error (exit 2), as it is for `load()`:
    a gate that checked nothing must not pass."""
    n_files = len(policy_files(tuple(targets)))
    if not n_files:
        typer.echo(f"{', '.join(map(str, targets))}: error: no policy files (*.policy) found", err=True)
        raise typer.Exit(EXIT_USAGE)
    return n_files


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step (never half-written), keeping its permission bits."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fmt(
    paths: PathsArg = None,
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 when a file would change; write nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff of the changes; write nothing.")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json (with --check).")] = OutputFormat.text,
    config: ConfigOpt = None,
) -> None:
    """Rewrite policy files in the canonical layout (idempotent; comments kept)."""
    cfg = project_config(config, needed=not paths)
    targets = list(paths or cfg.policies)
    missing = [p for p in targets if not p.exists()]
    if missing:
        typer.echo(f"{missing[0]}: error: no such file or folder", err=True)
        raise typer.Exit(EXIT_USAGE)
    _require_policy_files(targets)
    files, errors, sources = parse_paths(targets)
    if errors:  # write nothing when any file does not parse
        typer.echo(render_all(errors, sources, MAX_DIAGNOSTICS), err=True)
        raise typer.Exit(EXIT_FAIL)
    changed: list[tuple[Path, str, str]] = []
    for f in files:
        new = format_file(f)
        old = sources[f.path]
        if new != old:
            changed.append((Path(f.path), old, new))
    if diff:  # stdout is exactly a patch: every other line goes to stderr
        for path, old, new in changed:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       f"a/{path}", f"b/{path}"))
    if output is OutputFormat.json:
        json.dump({"changed": [str(p) for p, _, _ in changed], "files": len(files)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if check_only or diff:
        if output is OutputFormat.text:
            for path, old, _ in changed:
                typer.echo(f"would reformat {path}{_line_endings(old)}", err=True)
            typer.echo(f"{len(changed)} of {len(files)} files would be reformatted", err=bool(changed) or diff)
        raise typer.Exit(EXIT_FAIL if changed and check_only else EXIT_OK)
    for path, _, new in changed:
        _write_atomically(path, new)
    if output is OutputFormat.text:
        for path, old, _ in changed:
            typer.echo(f"reformatted {path}{_line_endings(old)}")
        typer.echo(f"{len(changed)} of {len(files)} files reformatted")


def _line_endings(old: str) -> str:
    """` (CRLF line endings → LF)` when formatting changes a file's line endings (canonical is LF)."""
    return " (CRLF line endings → LF)" if "\r\n" in old else ""


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(fmt)
