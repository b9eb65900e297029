"""Building and running the service: settings from `serve:` in policyengine.yaml, uvicorn.

    serve:
      host: 127.0.0.1          # loopback by default; another address needs a token (or --insecure)
      allowed_hosts: []        # Host header names answered besides loopback names and `host`
      allow_caller_time: false # may an authenticated caller set `at` (needs a token)
      port: 8181
      workers: 1
      token_env: POLICYENGINE_SERVE_TOKEN   # bearer token read from this variable (never from the file)
      watch: true              # reload when policies, contracts or consumers change
      decision_log: {path: logs/decisions.jsonl, max_bytes: 67108864, backups: 5}
      limits: {max_body: 1048576, body_timeout: 5, batch_timeout: 2, max_batch: 1000,
               header_timeout: 10, max_connections: 1000, keep_alive_timeout: 5}
      trino: {...}             # see serve/trino.py TrinoSettings

uvicorn runs the bare ASGI app (serve/app.py) with its httptools parser and uvloop when present;
its protocols are uvicorn's with a header deadline and a connection limit (serve/protocols.py);
it shuts down gracefully on SIGTERM/SIGINT (in-flight requests finish, the lifespan shutdown
flushes the decision log). With several workers each is its own process with its own engine,
reload watcher, metrics and decision-log file (`<path>.<pid>`).
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policyengine.config import Config, load_config
from policyengine.engine.decision_log import DecisionLog
from policyengine.engine.reload import ReloadingEngine
from policyengine.serve.app import App, ServeOptions
from policyengine.serve.trino import TrinoSettings

_KEYS = frozenset({"host", "port", "workers", "token_env", "watch", "decision_log", "limits", "trino",
                   "allowed_hosts", "allow_caller_time"})
_LIMITS = frozenset({"max_body", "body_timeout", "batch_timeout", "max_batch", "header_timeout", "max_connections",
                     "keep_alive_timeout"})
_POSITIVE = {"max_body": int, "body_timeout": float, "batch_timeout": float, "max_batch": int, "header_timeout": float,
             "max_connections": int, "keep_alive_timeout": float}
ENV_OPTIONS = "POLICYENGINE_SERVE_OPTIONS"  # the CLI's choices, handed to worker processes


@dataclass(frozen=True)
class ServeSettings:
    """The `serve:` section, validated (ValueError with a one-line message otherwise)."""

    host: str = "127.0.0.1"
    port: int = 8181
    workers: int = 1
    token_env: str = "POLICYENGINE_SERVE_TOKEN"
    watch: bool = False
    decision_log: Mapping[str, Any] | None = None
    limits: Mapping[str, Any] = field(default_factory=dict)
    trino: TrinoSettings = field(default_factory=TrinoSettings)
    allowed_hosts: tuple[str, ...] = ()
    allow_caller_time: bool = False

    @classmethod
    def from_config(cls, config: Config) -> ServeSettings:
        data = dict(config.serve or {})
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise ValueError(f"serve: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        limits = data.get("limits") or {}
        if not isinstance(limits, Mapping) or set(limits) - _LIMITS:
            raise ValueError(f"serve.limits takes {', '.join(sorted(_LIMITS))}")
        for key, value in limits.items():
            kind = _POSITIVE[key]
            if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) \
                    or value <= 0:
                raise ValueError(f"serve.limits.{key} must be a positive "
                                 f"{'number (seconds)' if kind is float else 'integer'}")
        dlog = data.get("decision_log")
        if dlog is not None:
            if not isinstance(dlog, Mapping) or not isinstance(dlog.get("path"), str) \
                    or set(dlog) - {"path", "max_bytes", "backups"}:
                raise ValueError("serve.decision_log is {path, max_bytes?, backups?}")
            dlog = {**dlog, "path": str(config.root / dlog["path"])}
        port, workers = data.get("port", 8181), data.get("workers", 1)
        if not isinstance(port, int) or not 0 <= port < 65536:
            raise ValueError("serve.port must be a port number")
        if not isinstance(workers, int) or workers < 1:
            raise ValueError("serve.workers must be a positive integer")
        hosts = data.get("allowed_hosts") or []
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() for h in hosts):
            raise ValueError("serve.allowed_hosts must be a list of host names (or ['*'])")
        caller_time = data.get("allow_caller_time", False)
        if not isinstance(caller_time, bool):
            raise ValueError("serve.allow_caller_time must be true or false")
        return cls(str(data.get("host", "127.0.0.1")), port, workers,
                   str(data.get("token_env", "POLICYENGINE_SERVE_TOKEN")), bool(data.get("watch", False)),
                   dlog, dict(limits), TrinoSettings.from_mapping(data.get("trino")), tuple(hosts), caller_time)

    def needs_token(self) -> str | None:
        """Why this configuration needs a bearer token, or None."""
        if self.allow_caller_time:
            return "serve.allow_caller_time"
        if "*" in self.allowed_hosts:
            return "serve.allowed_hosts: ['*']"
        return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _named(bind: str) -> tuple[str, ...]:
    """The bound address as a Host name, unless it is a wildcard (0.0.0.0, ::), which names no host."""
    try:
        return () if ipaddress.ip_address(bind.strip("[]")).is_unspecified else (bind,)
    except ValueError:
        return (bind,)


def build_app(config: Config, settings: ServeSettings, *, watch: bool | None = None,
              decision_log: str | None = None, worker_suffix: str = "", freeze_gc: bool = False,
              host: str | None = None, bundle: str | None = None,
              public_keys: Sequence[str] = (), bundle_scopes: Sequence[str] | None = None,
              bundle_state: str | None = None, bundle_interval: float = 1.0) -> App:
    """The ASGI app for a configuration: engine holder, decision log, watcher, Trino settings.
    `host`: the address bound (default `settings.host`); the app answers it as a Host name.
    `freeze_gc`: gc.freeze() after loading and after each reload (a server process's choice:
    see ReloadingEngine and docs/serve.md)."""
    log_cfg = dict(settings.decision_log or {})
    if decision_log is not None:
        log_cfg = {"path": decision_log}
    sink = None
    if log_cfg:
        sink = DecisionLog(Path(log_cfg["path"] + worker_suffix), max_bytes=int(log_cfg.get("max_bytes", 64 << 20)),
                           backups=int(log_cfg.get("backups", 5)))
    if bundle is not None:  # a signed bundle file or URL, polled (docs/serve.md "Bundles")
        from policyengine.engine.bundlefile import bundle_service

        poller = bundle_service(bundle, public_keys, scopes=bundle_scopes, state_dir=bundle_state,
                                interval=bundle_interval, decision_log=sink, freeze_gc=freeze_gc)
        poller.start()  # stopped by the app's lifespan shutdown (holder.close())
        holder = poller.holder
    else:
        holder = ReloadingEngine.from_config(config, decision_log=sink, freeze_gc=freeze_gc)
        if watch if watch is not None else settings.watch:
            holder.watch()
    token = os.environ.get(settings.token_env) or None
    limits = settings.limits
    options = ServeOptions(token=token, max_body=int(limits.get("max_body", 1 << 20)),
                           body_timeout=float(limits.get("body_timeout", 5.0)),
                           batch_timeout=float(limits.get("batch_timeout", 2.0)),
                           max_batch=int(limits.get("max_batch", 1000)),
                           allowed_hosts=(*settings.allowed_hosts, *_named(host or settings.host)),
                           allow_caller_time=settings.allow_caller_time)
    return App(holder, settings.trino, options, hash_key=config.hash_key, allow_unkeyed_hash=config.allow_unkeyed_hash)


def uvicorn_options(settings: ServeSettings, *, host: str, port: int, log_level: str = "info") -> dict[str, Any]:
    """uvicorn's settings for `serve` (also used by the tests): our bounded protocols (see
    serve/protocols.py, configured here for this process), httptools and uvloop when present."""
    from policyengine.serve.protocols import HTTP_PROTOCOLS

    limits = settings.limits
    configure_connections(settings)
    kw: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": False,
                          "timeout_graceful_shutdown": 10, "lifespan": "on", "server_header": False,
                          "timeout_keep_alive": float(limits.get("keep_alive_timeout", 5))}
    try:
        import httptools  # noqa: F401

        kw["http"] = HTTP_PROTOCOLS["httptools"]
    except ImportError:
        kw["http"] = HTTP_PROTOCOLS["h11"]
    try:
        import uvloop  # noqa: F401

        kw["loop"] = "uvloop"
    except ImportError:
        kw["loop"] = "asyncio"
    return kw


def configure_connections(settings: ServeSettings) -> None:
    """The header deadline and connection limit of this process's connections."""
    from policyengine.serve.protocols import configure

    configure(float(settings.limits.get("header_timeout", 10.0)), int(settings.limits.get("max_connections", 1000)))


def create_app() -> App:
    """The factory uvicorn's worker processes call (`policyengine.serve.server:create_app`)."""
    opts = json.loads(os.environ.get(ENV_OPTIONS, "{}"))
    config = load_config(opts.get("config"))
    settings = ServeSettings.from_config(config)
    configure_connections(settings)  # this worker's protocols
    suffix = f".{os.getpid()}" if opts.get("workers", 1) > 1 else ""
    return build_app(config, settings, watch=opts.get("watch"), decision_log=opts.get("decision_log"),
                     worker_suffix=suffix, freeze_gc=True, host=opts.get("host"), bundle=opts.get("bundle"),
                     public_keys=opts.get("public_keys", ()), bundle_scopes=opts.get("bundle_scopes"),
                     bundle_state=opts.get("bundle_state"), bundle_interval=opts.get("bundle_interval", 1.0))


def run(config_path: str | None, settings: ServeSettings, *, host: str, port: int, workers: int,
        watch: bool | None, decision_log: str | None, log_level: str = "info", bundle: str | None = None,
        public_keys: Sequence[str] = (), bundle_scopes: Sequence[str] | None = None,
        bundle_state: str | None = None, bundle_interval: float = 1.0) -> None:
    """Start uvicorn (blocks until SIGTERM/SIGINT, then shuts down gracefully)."""
    import uvicorn

    kw = uvicorn_options(settings, host=host, port=port, log_level=log_level)
    if workers > 1:
        os.environ[ENV_OPTIONS] = json.dumps({"config": config_path, "watch": watch, "decision_log": decision_log,
                                              "workers": workers, "host": host, "bundle": bundle,
                                              "public_keys": list(public_keys),
                                              "bundle_scopes": None if bundle_scopes is None else list(bundle_scopes),
                                              "bundle_state": bundle_state, "bundle_interval": bundle_interval})
        uvicorn.run("policyengine.serve.server:create_app", factory=True, workers=workers, **kw)
        return
    config = load_config(config_path)
    uvicorn.run(build_app(config, settings, watch=watch, decision_log=decision_log, freeze_gc=True, host=host,
                          bundle=bundle, public_keys=public_keys, bundle_scopes=bundle_scopes,
                          bundle_state=bundle_state, bundle_interval=bundle_interval), **kw)
