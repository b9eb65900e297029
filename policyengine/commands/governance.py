"""`policyengine codeowners`: the CODEOWNERS file the ownership map and the contracts' owners give."""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from policyengine.commands.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    load_project_catalog,
    project_config,
)
from policyengine.governance.escape import plain
from policyengine.governance.ownership import (
    CodeownersPathError,
    read_files,
    render_codeowners,
    samples_not_platform_owned,
    unowned_read_files,
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Project configuration file.")]


def _shown(path: Path) -> Path:
    """`path` relative to the working folder when it is below it (shorter in messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _write(path: Path, text: str) -> None:
    """Write the file in one step (a reader never sees half of it), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; CODEOWNERS is an ordinary committed file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def codeowners(
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 (and print the diff) when the committed "
                                             "file differs from what would be written; write nothing.")] = False,
    output: Annotated[Path | None, typer.Option("--output", help="Where to write (default: the map's "
                                                "'codeowners', else the repository's .github/CODEOWNERS).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write CODEOWNERS from the ownership map: platform files to the platform team, each domain's
    policies and contracts to that domain's team (and the owners its contracts name), and every
    other file the gates read (consumers, taxonomy, samples, .gitattributes) to the platform.
    `--check` also fails on a read file the committed CODEOWNERS gives no owner."""
    cfg = project_config(config)
    own = cfg.ownership
    if own is None:
        raise fail(f"{cfg.source or 'policyengine.yaml'}: error: no 'ownership:' map to write CODEOWNERS from "
                   "(see docs/governance-federated.md)", EXIT_USAGE)
    catalog = load_project_catalog(cfg, None, None)
    read = read_files(catalog, consumers=cfg.consumers, taxonomy=cfg.taxonomy, samples=cfg.samples,
                      policies=cfg.policies)
    try:
        text = render_codeowners(own, catalog, read=read)
    except CodeownersPathError as exc:  # a line break in a file name would write a line of its own
        raise fail(f"{plain(str(exc))}: error: this file name cannot be written in CODEOWNERS (a space, line "
                   "break or control character, or one of # * ? [ ] \\): rename the file", EXIT_USAGE) from None
    path = _shown(output or own.codeowners_file())
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: error: cannot read file: {exc.__class__.__name__}", EXIT_USAGE) from None
    if check_only:
        unowned = unowned_read_files(own, old, read) if old is not None else []
        for rel, what in unowned:  # an approval in a file nobody owns is approved by its author
            typer.echo(f"{rel}: error: {what} has no owner in {path}: anyone may approve their own change to it",
                       err=True)
        foreign = samples_not_platform_owned(own, old, read) if old is not None else []
        for rel, what, owners in foreign:  # a sample its domain reviews is a sample its domain writes
            typer.echo(f"{rel}: error: {what} is reviewed by {' '.join(owners)}, not the platform team: "
                       "a sample must be a platform file (point the contract at one in the samples folder)",
                       err=True)
        if old == text:
            if unowned:
                raise fail(f"{path}: error: {len(unowned)} file(s) the gates read have no owner", EXIT_FAIL)
            if foreign:
                raise fail(f"{path}: error: {len(foreign)} sample file(s) not owned by the platform", EXIT_FAIL)
            typer.echo(f"{path} is up to date")
            raise typer.Exit(EXIT_OK)
        sys.stdout.writelines(difflib.unified_diff((old or "").splitlines(True), text.splitlines(True),
                                                   f"a/{path}" if old is not None else "/dev/null", f"b/{path}"))
        what = "differs from" if old is not None else "is missing; it would hold"
        raise fail(f"{path}: error: {what} what the ownership map gives: run `policyengine codeowners` "
                   "and commit the result", EXIT_FAIL)
    if old == text:
        typer.echo(f"{path} is up to date")
        return
    try:
        _write(path, text)
    except OSError as exc:
        raise fail(f"{path}: error: cannot write file: {exc.__class__.__name__}", EXIT_USAGE) from None
    typer.echo(f"wrote {path} ({text.count(chr(10))} lines)")


def register(app: typer.Typer) -> None:
    app.command()(codeowners)
