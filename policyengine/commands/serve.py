"""`policyengine serve`: the decision service over HTTP (docs/serve.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from policyengine.commands.common import EXIT_FAIL, EXIT_USAGE, fail, project_config
from policyengine.commands.options import ConfigOpt
from policyengine.diagnostics import PolicyError
from policyengine.yamlsource import YamlError


def serve_command(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8181).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (default 1).")] = None,
    watch: Annotated[bool | None, typer.Option("--watch/--no-watch",
                                               help="Reload when policies, contracts or consumers change.")] = None,
    decision_log: Annotated[str | None, typer.Option("--decision-log",
                                                     help="Write a JSON Lines decision log to this file.")] = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Serve a non-loopback address without a bearer token (identity is then "
        "whatever any client on the network claims).")] = False,
    bundle: Annotated[str | None, typer.Option(
        "--bundle", help="Serve a signed policy bundle file (`policyengine build`) instead of the sources; "
        "reloaded when the file changes.")] = None,
    public_key: Annotated[list[str] | None, typer.Option(
        "--public-key", help="PEM public key a bundle must be signed with (repeat for a rotation; "
        "default: bundle.public_keys in policyengine.yaml).")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="A scope the bundle must cover, e.g. 'platform' or 'domain sales' (repeat; the bundle's "
        "scopes must be exactly these; default: bundle.scopes in policyengine.yaml, else any).")] = None,
    bundle_state: Annotated[str | None, typer.Option(
        "--bundle-state", help="Folder keeping the last good bundle and its sequence across restarts "
        "(default: bundle.state_dir).")] = None,
    bundle_interval: Annotated[float, typer.Option(
        "--bundle-interval", help="Seconds between polls of the bundle file or URL.")] = 1.0,
    config: ConfigOpt = None,
) -> None:
    """Serve decisions over HTTP: our JSON API and Trino's OPA access-control plugin API."""
    import os

    from policyengine.serve.server import ServeSettings, is_loopback, run

    cfg = project_config(config)
    try:
        settings = ServeSettings.from_config(cfg)
    except ValueError as exc:
        raise fail(f"{cfg.root / 'policyengine.yaml'}: error: {exc}", EXIT_USAGE) from None
    bind = host or settings.host
    if not is_loopback(bind) and not os.environ.get(settings.token_env) and not insecure:
        raise fail(f"error: refusing to serve {bind} without authentication: set {settings.token_env} to a "
                   "bearer token, bind 127.0.0.1, or pass --insecure-no-auth", EXIT_USAGE)
    needs = settings.needs_token()
    if needs and not os.environ.get(settings.token_env):
        raise fail(f"{cfg.root / 'policyengine.yaml'}: error: {needs} needs a bearer token: set "
                   f"{settings.token_env} (without one any local web page or process could use it)", EXIT_USAGE)
    keys = [str(k) for k in (public_key or cfg.bundle_public_keys)]
    scopes = [" ".join(s.split()) for s in scope] if scope else cfg.bundle_scopes
    state = bundle_state or (str(cfg.bundle_state_dir) if cfg.bundle_state_dir else None)
    if bundle_interval <= 0:
        raise fail("error: --bundle-interval must be positive", EXIT_USAGE)
    n = workers or settings.workers
    if n < 1:
        raise fail("error: --workers must be at least 1", EXIT_USAGE)
    from policyengine.engine.bundlefile import BundleError, bundle_service, shown_location

    def refused(exc: BundleError) -> Exception:
        where = shown_location(bundle or "")
        return fail(f"{where}: error: {exc}" if not str(exc).startswith(where) else str(exc), EXIT_USAGE)

    try:
        from policyengine.engine.reload import ReloadingEngine

        if bundle is not None:
            # fail fast, before binding: a bundle refused is one line, exit 2. One process loads
            # it once, in `run` before it binds; worker processes load it after binding, so it
            # is checked here first (from the source, or the persisted last good bundle)
            if n > 1:
                try:
                    bundle_service(bundle, keys, scopes=scopes, state_dir=state)
                except BundleError as exc:
                    raise refused(exc) from None
        else:
            ReloadingEngine.from_config(cfg)  # fail fast, with diagnostics, before binding
    except PolicyError as exc:
        raise fail(exc.render()) from None
    except YamlError as exc:
        raise fail(str(exc)) from None
    try:
        run(str(config) if config else None, settings, host=bind, port=port if port is not None else settings.port,
            workers=n, watch=watch, decision_log=decision_log, bundle=bundle, public_keys=keys,
            bundle_scopes=scopes, bundle_state=state, bundle_interval=bundle_interval)
    except BundleError as exc:  # one process: refused while building the app, before binding
        raise refused(exc) from None
    except OSError as exc:
        raise fail(f"error: cannot serve on {bind}: {exc.strerror or exc}", EXIT_FAIL) from None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
