"""`policyengine query`: run SQL through the reference gateway as a consumer, printing masked rows."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any

import typer

from policyengine.commands.common import EXIT_OK, fail, project_config
from policyengine.commands.evaluate import project_engine
from policyengine.commands.options import (
    ConfigOpt,
    consumer_from_options,
    parse_at,
    warn_unknown_purpose,
)


class QueryFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def format_table(rows: list[dict[str, Any]], names: list[str]) -> str:
    """A plain aligned text table (header, rule, rows)."""
    cells = [[_cell(r[n]) for n in names] for r in rows]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def query_command(
    sql: Annotated[str, typer.Argument(help="One SELECT over products, e.g. \"SELECT email FROM sales.customers\".")],
    consumer: Annotated[str, typer.Option("--consumer", help="Consumer id (known consumers get their groups and attributes).")],
    group: Annotated[list[str] | None, typer.Option("--group", help="A group of the consumer (repeatable).")] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="An attribute as key=value (repeatable).")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="The request's purpose.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Evaluate policies at this instant (ISO, UTC).")] = None,
    show_sql: Annotated[bool, typer.Option("--show-sql", help="Print the rewritten SQL instead of running it.")] = False,
    output: Annotated[QueryFormat, typer.Option("--format", help="table, csv or json.")] = QueryFormat.table,
    allow_unkeyed_hash: Annotated[bool, typer.Option(
        "--allow-unkeyed-hash",
        help="Run even though 'hash' masks have no HMAC key (plain SHA-256 can be confirmed by guessing).")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run a query as a consumer: every product it reads is replaced by its policy-enforced view."""
    from policyengine.enforce.gateway import Gateway, GatewayError

    cfg = project_config(config)
    engine = project_engine(cfg)
    known = engine.consumers.get(consumer)
    who = consumer_from_options(consumer, known, group, attr, engine.schema)
    warn_unknown_purpose(purpose, engine.rules)
    try:
        gateway = Gateway(engine, hash_key=cfg.hash_key,
                          allow_unkeyed_hash=allow_unkeyed_hash or cfg.allow_unkeyed_hash,
                          hash_key_env=cfg.hash_key_env)
        if show_sql:
            typer.echo(gateway.rewrite(sql, who, purpose, parse_at(at)).sql)
            raise typer.Exit(EXIT_OK)
        result = gateway.query(sql, who, purpose, parse_at(at))
    except GatewayError as exc:
        raise fail(f"error: {exc}") from None
    except typer.Exit:
        raise
    except Exception as exc:  # anything else after the rewrite: its class only (its text may quote a value)
        raise fail(f"error: the query failed: {type(exc).__name__}") from None
    rows, names = result.to_pylist(), result.column_names
    if output is QueryFormat.json:
        json.dump(rows, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif output is QueryFormat.csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows([["" if r[n] is None else r[n] for n in names] for r in rows])
    else:
        typer.echo(format_table(rows, names))
        typer.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `query` command to the CLI."""
    app.command("query")(query_command)
