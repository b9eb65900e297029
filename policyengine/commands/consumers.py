"""`policyengine consumers sync`: the consumers file from an identity provider's SCIM 2.0 export."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer

from policyengine.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail, project_config
from policyengine.commands.options import ConfigOpt

consumers_app = typer.Typer(help="The consumers file: sync it from an identity provider.", no_args_is_help=True)


@consumers_app.command("sync")
def sync_command(
    mapping: Annotated[Path, typer.Option("--mapping", help="Mapping file: id, groups, attributes, removed (, ldap).")],
    scim_users: Annotated[Path | None, typer.Option("--scim-users", help="SCIM 2.0 Users document (ListResponse JSON).")] = None,
    ldap: Annotated[bool, typer.Option("--ldap", help="Read users and groups from the LDAP directory of the mapping's 'ldap:'.")] = False,
    scim_groups: Annotated[Path | None, typer.Option("--scim-groups", help="SCIM 2.0 Groups document.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: the configured consumers file).")] = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; print the diff and exit 1 when the file would change.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Produce the consumers file from SCIM Users/Groups through the mapping, as a reviewable change
    (then `policyengine diff` judges it). Exit 0 written or unchanged, 1 a change under --check, 2 bad input."""
    from policyengine.catalog.consumers import load_directory
    from policyengine.catalog.directory_sync import load_mapping, read_scim, sync_scim
    from policyengine.yamlsource import YamlError, load_yaml_file

    cfg = project_config(config, needed=output is None)
    target = output or cfg.consumers
    if target is None:
        raise fail("error: no consumers file configured (consumers: in policyengine.yaml) and no --output", EXIT_USAGE)
    if (scim_users is None) == (not ldap):
        raise fail("error: give one source: --scim-users FILE (with --scim-groups) or --ldap", EXIT_USAGE)
    try:
        rules = load_mapping(mapping)
        if ldap:
            from policyengine.catalog.ldap_source import read_ldap

            if rules.ldap is None:
                raise YamlError("--ldap needs an 'ldap:' section (url, users, groups, …)", mapping)
            users, groups = read_ldap(rules.ldap)
        else:
            assert scim_users is not None  # one source was checked above: not --ldap, so the file
            users = read_scim(scim_users)
            groups = read_scim(scim_groups) if scim_groups is not None else []
        # compared with (and keeping the schema and approvals of) the configured consumers file
        base = cfg.consumers if cfg.consumers is not None and cfg.consumers.exists() else target
        current = load_directory(base) if base.exists() else None
        raw = load_yaml_file(base) if base.exists() else None
    except YamlError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    result = sync_scim(users, groups, rules, current, raw if isinstance(raw, dict) else None)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    old = base.read_text(encoding="utf-8") if base.exists() else ""
    summary = (f"{target}: {len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed"
               + "".join(f"\n  {k} {', '.join(ids)}" for k, ids in (("added:", result.added),
                         ("removed:", result.removed), ("changed:", result.changed)) if ids))
    if check:
        if old == result.text:
            typer.echo(f"{target}: up to date", err=True)
            raise typer.Exit(EXIT_OK)
        typer.echo("".join(difflib.unified_diff(old.splitlines(True), result.text.splitlines(True),
                                                f"a/{target}", f"b/{target}")), nl=False)
        typer.echo(summary, err=True)
        raise typer.Exit(EXIT_FAIL)
    try:
        target.write_text(result.text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{target}: error: cannot write: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(summary, err=True)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `consumers` command group to the CLI."""
    app.add_typer(consumers_app, name="consumers")
