"""`policyengine gateway`: the PostgreSQL-protocol gateway over the catalog's samples (docs/gateway.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from policyengine.commands.common import EXIT_OK, EXIT_USAGE, fail, project_config
from policyengine.commands.evaluate import project_engine
from policyengine.commands.options import ConfigOpt


def gateway_command(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 5433).")] = None,
    allow_unkeyed_hash: Annotated[bool, typer.Option(
        "--allow-unkeyed-hash",
        help="Run even though 'hash' masks have no HMAC key (plain SHA-256 can be confirmed by guessing).")] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve the PostgreSQL protocol: psql and drivers log in as a consumer; every statement is enforced."""
    import asyncio
    from importlib.metadata import PackageNotFoundError, version

    from policyengine.enforce.gateway import Gateway, GatewayError
    from policyengine.wire import WireServer, serve_forever, settings_from

    cfg = project_config(config)
    try:
        settings = settings_from(cfg.gateway, host=host, port=port)
    except ValueError as exc:
        raise fail(f"{cfg.source or 'policyengine.yaml'}: error: {exc}", EXIT_USAGE) from None
    engine = project_engine(cfg)
    try:
        gateway = Gateway(engine, hash_key=cfg.hash_key,
                          allow_unkeyed_hash=allow_unkeyed_hash or cfg.allow_unkeyed_hash,
                          hash_key_env=cfg.hash_key_env)
    except GatewayError as exc:
        raise fail(f"error: {exc}") from None
    try:
        release = version("datamesh-policyengine")
    except PackageNotFoundError:  # run from a source tree that is not installed
        release = "unreleased"
    server = WireServer(gateway, settings, version=release)
    typer.echo(f"policyengine gateway on {settings.host}:{settings.port} (auth: {settings.auth}); "
               "Ctrl-C stops", err=True)
    try:
        asyncio.run(serve_forever(server))
    except OSError as exc:
        raise fail(f"error: cannot listen on {settings.host}:{settings.port} ({exc.strerror})", EXIT_USAGE) from None
    except KeyboardInterrupt:
        pass
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `gateway` command to the CLI."""
    app.command("gateway")(gateway_command)
