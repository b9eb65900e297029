"""`policyengine gateway`: the PostgreSQL-protocol gateway over the catalog's samples (docs/gateway.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from policyengine.commands.common import EXIT_OK, EXIT_USAGE, fail, project_config
from policyengine.commands.evaluate import project_engine
from policyengine.commands.options import ConfigOpt
from policyengine.config import Config


def gateway_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 5433).")] = None,
    allow_unkeyed_hash: Annotated[bool, typer.Option(
        "--allow-unkeyed-hash",
        help="Run even though 'hash' masks have no HMAC key (plain SHA-256 can be confirmed by guessing).")] = False,
    decision_log: Annotated[str | None, typer.Option(
        "--decision-log", help="Write a JSON Lines decision log: one line per statement (never a value).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the PostgreSQL protocol: psql and drivers log in as a consumer; every statement is enforced."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio
    from importlib.metadata import PackageNotFoundError, version

    from policyengine.enforce.gateway import Gateway, GatewayError
    from policyengine.wire import WireServer, serve_forever, settings_from

    cfg = project_config(config)
    try:
        settings = settings_from(cfg.gateway, host=host, port=port)
    except ValueError as exc:
        raise fail(f"{cfg.source or 'policyengine.yaml'}: error: {exc}", EXIT_USAGE) from None
    credentials = None
    if settings.auth == "scram-sha-256":
        from policyengine.wire.credentials import CredentialError, load_credentials

        try:
            credentials = load_credentials(cfg.root / settings.credentials)
        except CredentialError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    tls_context = None
    if settings.tls is not None:
        from policyengine.wire.tls import TlsError, server_context

        try:
            tls_context = server_context(settings.tls, cfg.root)
        except TlsError as exc:
            raise fail(f"{cfg.source or 'policyengine.yaml'}: error: {exc}", EXIT_USAGE) from None
    engine = project_engine(cfg)
    options: dict[str, Any] = {"hash_key": cfg.hash_key,
                               "allow_unkeyed_hash": allow_unkeyed_hash or cfg.allow_unkeyed_hash,
                               "hash_key_env": cfg.hash_key_env}
    try:
        if settings.backend == "postgres":
            from policyengine.wire.postgres import PostgresGateway

            gateway: Any = PostgresGateway(engine, settings.dsn, table=settings.table, **options)
        else:
            gateway = Gateway(engine, **options)
    except GatewayError as exc:
        raise fail(f"error: {exc}") from None
    except Exception as exc:  # psycopg's connection errors: the class only (a DSN can hold a password)
        raise fail(f"error: cannot connect to the PostgreSQL backend ({type(exc).__name__})") from None
    try:
        release = version("datamesh-policyengine")
    except PackageNotFoundError:  # run from a source tree that is not installed
        release = "unreleased"
    dlog = None
    if decision_log:
        from policyengine.engine.decision_log import DecisionLog

        dlog = DecisionLog(decision_log)
    server = WireServer(gateway, settings, version=release, credentials=credentials, decision_log=dlog,
                        tls_context=tls_context)
    tls = "off" if settings.tls is None else "required" if settings.tls.required else "on"
    typer.echo(f"policyengine gateway on {settings.host}:{settings.port} (auth: {settings.auth}, tls: {tls}); "
               "Ctrl-C stops", err=True)
    try:
        asyncio.run(serve_forever(server))
    except OSError as exc:
        raise fail(f"error: cannot listen on {settings.host}:{settings.port} ({exc.strerror})", EXIT_USAGE) from None
    except KeyboardInterrupt:
        pass
    finally:
        if dlog is not None:
            dlog.close()
    raise typer.Exit(EXIT_OK)


def passwd_command(
    login: Annotated[str, typer.Argument(help="The login (a consumer id of the consumers file).")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input (no prompt).")] = False,
    file: Annotated[str | None, typer.Option(
        "--file", help="The credential file (default: gateway.credentials in policyengine.yaml).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Set LOGIN's password in the gateway's credential store (a SCRAM-SHA-256 verifier, never the password)."""
    import sys

    from policyengine.wire.credentials import (
        CredentialError,
        check_login,
        make_verifier,
        set_password,
    )

    cfg = project_config(config)
    where = file or str(cfg.gateway.get("credentials") or "")
    if not where:
        raise fail("error: no credential file: pass --file or set gateway.credentials in policyengine.yaml",
                   EXIT_USAGE)
    path = cfg.root / where if file is None else Path(where)
    try:
        check_login(login)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        set_password(path, login, make_verifier(password))
    except CredentialError as exc:
        raise fail(f"error: {exc}" if not str(exc).startswith(str(path)) else str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise fail(f"error: cannot write {path} ({exc.strerror})", EXIT_USAGE) from None
    if engine_consumer_unknown(cfg, login):
        typer.echo(f"warning: {login!r} is not a consumer of the consumers file: its logins will be refused",
                   err=True)
    typer.echo(f"{path}: password set for {login}", err=True)
    raise typer.Exit(EXIT_OK)


def engine_consumer_unknown(cfg: Config, login: str) -> bool:
    """Whether the consumers file (if any) lacks `login`."""
    if cfg.consumers is None:
        return True
    from policyengine.catalog.consumers import load_directory

    try:
        return login not in load_directory(cfg.consumers).consumers
    except Exception:  # the gateway itself reports a broken consumers file; here only a hint is lost
        return False


def register(app: typer.Typer) -> None:
    """Add the `gateway` command (and `gateway passwd`) to the CLI."""
    group = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                        help="The PostgreSQL-protocol gateway (docs/gateway.md).")
    group.callback()(gateway_command)
    group.command("passwd")(passwd_command)
    app.add_typer(group, name="gateway")
