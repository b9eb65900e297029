"""`policyengine render`, `plan` and `apply --target postgres|trino`: the policy set compiled into
an engine's own objects, Terraform-style (docs/native.md). Thin over `policyengine.native`; the
Trino rules file is handled in `native_trino.py`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from policyengine.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail, project_config
from policyengine.commands.evaluate import project_engine
from policyengine.commands.options import ConfigOpt, parse_at


class Target(str, Enum):
    postgres = "postgres"
    trino = "trino"
    snowflake = "snowflake"
    databricks = "databricks"
    bigquery = "bigquery"


RENDERED = ("snowflake", "databricks", "bigquery")  # rendered for review, never applied by us
TargetOpt = Annotated[Target, typer.Option(
    "--target", help="The engine to compile for: postgres or trino (plan/apply), or snowflake, databricks, "
                     "bigquery (render only).")]
SchemaOpt = Annotated[str | None, typer.Option(
    "--policy-schema", help="Rendered targets: the schema holding the policies, functions and mapping tables.")]
PrincipalOpt = Annotated[str | None, typer.Option(
    "--principal", help="Rendered targets: each consumer's role, account group or principal ({consumer}).")]
DsnOpt = Annotated[str, typer.Option("--dsn", envvar="POLICYENGINE_DSN",
                                     help="libpq connection string of the database (or $POLICYENGINE_DSN; "
                                          "--target postgres).")]
RulesOpt = Annotated[Path | None, typer.Option(
    "--rules", envvar="POLICYENGINE_TRINO_RULES",
    help="The deployed Trino rules file, security.config-file (or $POLICYENGINE_TRINO_RULES; --target trino).")]
TableOpt = Annotated[str, typer.Option(
    "--table", help="The base table of each product: {product}, {schema}, {table} (split at the first dot).")]
PrefixOpt = Annotated[str, typer.Option("--role-prefix", help="Prefix of each consumer's role and schema.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Compile as at this instant (ISO, UTC; default now).")]


def _compiled(config: Path | None, at: str | None, target: str = "postgres") -> tuple[Any, Any]:
    from policyengine.native import compile_plan

    cfg = project_config(config)
    engine = project_engine(cfg)
    return cfg, compile_plan(engine, target, at=parse_at(at), keyed_hash=cfg.hash_key is not None)


def _rendered_only(target: Target, command: str) -> None:
    if target.value in RENDERED:
        raise fail(f"error: --target {target.value} is rendered, not applied, by policyengine: use "
                   f"`policyengine render --target {target.value} -o DIR` and deploy the files", EXIT_USAGE)


def _render_other(target: str, output: Path, table: str, policy_schema: str | None, principal: str | None,
                  at: str | None, config: Path | None) -> None:
    """Render a target policyengine does not apply (Snowflake, Databricks, BigQuery) to files."""
    import importlib
    from dataclasses import replace

    from policyengine.native.rendered import RenderedError, base_table, dotted, fill

    module = importlib.import_module(f"policyengine.native.{target}")
    options = replace(module.DEFAULTS, table=table, **{k: v for k, v in (
        ("policy_schema", policy_schema), ("principal", principal)) if v is not None})
    try:  # the options first: a bad template is a usage error (exit 2), before any compiling
        fill(options.principal, {"consumer": "c"}, "--principal")
        base_table("d.p", options.table, module.DIALECT)
        dotted(options.policy_schema, module.DIALECT)
    except RenderedError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    cfg, plan = _compiled(config, at, target)
    try:
        files = module.render_files(plan, options, keyed=cfg.hash_key is not None)
    except RenderedError as exc:
        raise fail(f"error: {exc}") from None
    lines = [f"note: {target}: rendered, not executed: review and deploy with your own tooling",
             *_header(plan)]
    try:
        output.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (output / name).write_text(text, "utf-8")
        (output / "plan.txt").write_text("\n".join(lines) + "\n", "utf-8")
    except OSError as exc:
        raise fail(f"{output}: error: cannot write: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"wrote {', '.join(f'{output}/{n}' for n in [*files, 'plan.txt'])} ({len(plan.tables)} consumer x "
               f"product objects compiled, {len(plan.refusals)} refused; rendered, not executed)")


def _header(plan: Any) -> list[str]:
    lines = [f"note: {n}" for n in plan.notes]
    lines += [f"refused: {r}" for r in plan.refusals]
    return lines


def _summary(changes: list[Any]) -> str:
    count = {a: sum(1 for c in changes if c.action == a) for a in "+~-"}
    if not changes:
        return "No changes: the database matches the policies."
    return f"Plan: {count['+']} to add, {count['~']} to change, {count['-']} to destroy."


def _desired(cfg: Any, plan: Any, prefix: str, table: str, con: Any = None) -> Any:
    from policyengine.native import postgres as pg

    types = pg.live_types(con, sorted({t.product for t in plan.tables}), table) if con is not None else None
    return pg.desired_state(plan, prefix=prefix, table_template=table, types=types, hash_key=cfg.hash_key)


def _connect(dsn: str) -> Any:
    if not dsn:
        raise fail("error: --target postgres needs --dsn (or $POLICYENGINE_DSN)", EXIT_USAGE)
    try:
        import psycopg
    except ImportError:
        raise fail("error: --target postgres needs psycopg (pip install 'datamesh-policyengine[postgres]')",
                   EXIT_USAGE) from None
    try:
        return psycopg.connect(dsn)
    except Exception as exc:  # the DSN may hold a password: name the failure, never the DSN
        raise fail(f"error: cannot connect to the database: {type(exc).__name__}", EXIT_USAGE) from None


def render_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the files to.")],
    target: TargetOpt = Target.postgres,
    table: TableOpt = "{schema}.{table}",
    prefix: PrefixOpt = "pe_",
    at: AtOpt = None,
    policy_schema: SchemaOpt = None,
    principal: PrincipalOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the native objects as files (for review or a deployment tool): as applied to an
    empty database (postgres), or Trino's rules.json (trino), with the plan's notes and refusals in plan.txt. Snowflake, Databricks and
    BigQuery are rendered only (never applied by policyengine)."""
    from policyengine.native import postgres as pg

    if target is Target.trino:
        from policyengine.commands import native_trino

        return native_trino.render(*_compiled(config, at, "trino"), output)
    if target.value in RENDERED:
        _render_other(target.value, output, table, policy_schema, principal, at, config)
        return
    cfg, plan = _compiled(config, at)
    try:
        desired = _desired(cfg, plan, prefix, table)
        changes = pg.plan_changes(desired, pg.Live.empty())
    except pg.UnsafeState as exc:
        raise fail(f"error: {exc}") from None
    except pg.NativeError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    try:
        output.mkdir(parents=True, exist_ok=True)
        for name, text in pg.render_files(desired, changes).items():
            (output / name).write_text(text, "utf-8")
        (output / "plan.txt").write_text("\n".join([*_header(plan), *map(str, changes), _summary(changes)]) + "\n",
                                         "utf-8")
    except OSError as exc:
        raise fail(f"{output}: error: cannot write: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"wrote {output}/apply.sql and {output}/plan.txt ({len(changes)} changes, "
               f"{len(plan.refusals)} refused)")


def plan_command(
    dsn: DsnOpt = "",
    target: TargetOpt = Target.postgres,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the live state differs (drift).")] = False,
    rules: RulesOpt = None,
    table: TableOpt = "{schema}.{table}",
    prefix: PrefixOpt = "pe_",
    at: AtOpt = None,
    config: ConfigOpt = None,
) -> None:
    """What `apply` would change, read back from the database's catalogs (postgres) or the deployed
    rules file (trino); nothing is changed."""
    from policyengine.native import postgres as pg

    if target is Target.trino:
        from policyengine.commands import native_trino

        return native_trino.plan_(*_compiled(config, at, "trino"), rules, check)
    _rendered_only(target, "plan")
    cfg, plan = _compiled(config, at)
    con = _connect(dsn)
    try:
        desired = _desired(cfg, plan, prefix, table, con)
        changes = pg.plan_changes(desired, pg.read_live(con, desired))
    except pg.UnsafeState as exc:
        raise fail(f"error: {exc}") from None
    except pg.NativeError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    finally:
        con.close()
    for line in [*_header(plan), *map(str, changes), _summary(changes)]:
        typer.echo(line)
    raise typer.Exit(EXIT_FAIL if check and changes else EXIT_OK)


def apply_command(
    dsn: DsnOpt = "",
    target: TargetOpt = Target.postgres,
    rules: RulesOpt = None,
    table: TableOpt = "{schema}.{table}",
    prefix: PrefixOpt = "pe_",
    at: AtOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Apply the plan: postgres, in one transaction (all or nothing); trino, the rules file written
    atomically. A second plan is then empty."""
    from policyengine.native import postgres as pg

    if target is Target.trino:
        from policyengine.commands import native_trino

        return native_trino.apply(*_compiled(config, at, "trino"), rules)
    _rendered_only(target, "apply")
    cfg, plan = _compiled(config, at)
    con = _connect(dsn)
    try:
        desired = _desired(cfg, plan, prefix, table, con)
        changes = pg.apply(con, desired)
    except pg.UnsafeState as exc:
        raise fail(f"error: {exc}") from None
    except pg.NativeError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    except Exception as exc:  # the engine's text may quote a value: its class only
        raise fail(f"error: apply failed and was rolled back: {type(exc).__name__}") from None
    finally:
        con.close()
    for line in [*_header(plan), *map(str, changes)]:
        typer.echo(line)
    typer.echo(f"Applied {len(changes)} changes." if changes else "No changes: the database matches the policies.")


def capabilities_command(
    markdown: Annotated[bool, typer.Option("--markdown", help="The Markdown table docs/native.md holds.")] = True,
) -> None:
    """What each native target can express (generated from policyengine.native.TARGETS)."""
    from policyengine.native.compile import capability_table

    typer.echo(capability_table(), nl=False)


def register(app: typer.Typer) -> None:
    """Add `render`, `plan`, `apply` and `capabilities` to the CLI."""
    app.command("capabilities")(capabilities_command)
    app.command("render")(render_command)
    app.command("plan")(plan_command)
    app.command("apply")(apply_command)
