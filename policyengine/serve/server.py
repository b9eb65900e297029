"""Building and running the service: settings from `serve:` in policyengine.yaml, uvicorn.

    serve:
      host: 127.0.0.1          # loopback by default; another address needs a token (or --insecure)
      port: 8181
      workers: 1
      token_env: POLICYENGINE_SERVE_TOKEN   # bearer token read from this variable (never from the file)
      watch: true              # reload when policies, contracts or consumers change
      decision_log: {path: logs/decisions.jsonl, max_bytes: 67108864, backups: 5}
      limits: {max_body: 1048576, body_timeout: 5, batch_timeout: 2, max_batch: 1000}
      trino: {...}             # see serve/trino.py TrinoSettings

uvicorn runs the bare ASGI app (serve/app.py) with its httptools parser and uvloop when present;
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

_KEYS = frozenset({"host", "port", "workers", "token_env", "watch", "decision_log", "limits", "trino"})
_LIMITS = frozenset({"max_body", "body_timeout", "batch_timeout", "max_batch"})
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

    @classmethod
    def from_config(cls, config: Config) -> ServeSettings:
        data = dict(config.serve or {})
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise ValueError(f"serve: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        limits = data.get("limits") or {}
        if not isinstance(limits, Mapping) or set(limits) - _LIMITS:
            raise ValueError(f"serve.limits takes {', '.join(sorted(_LIMITS))}")
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
        return cls(str(data.get("host", "127.0.0.1")), port, workers,
                   str(data.get("token_env", "POLICYENGINE_SERVE_TOKEN")), bool(data.get("watch", False)),
                   dlog, dict(limits), TrinoSettings.from_mapping(data.get("trino")))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(config: Config, settings: ServeSettings, *, watch: bool | None = None,
              decision_log: str | None = None, worker_suffix: str = "", freeze_gc: bool = False,
              bundle: str | None = None, public_keys: Sequence[str] = ()) -> App:
    """The ASGI app for a configuration: engine holder, decision log, watcher, Trino settings.
    `freeze_gc`: gc.freeze() after loading and after each reload (a server process's choice:
    see ReloadingEngine and docs/serve.md)."""
    log_cfg = dict(settings.decision_log or {})
    if decision_log is not None:
        log_cfg = {"path": decision_log}
    sink = None
    if log_cfg:
        sink = DecisionLog(Path(log_cfg["path"] + worker_suffix), max_bytes=int(log_cfg.get("max_bytes", 64 << 20)),
                           backups=int(log_cfg.get("backups", 5)))
    if bundle is not None:  # a signed bundle file, polled for changes (docs/serve.md "Bundles")
        from policyengine.engine.bundlefile import bundle_holder, watch_bundle

        holder = bundle_holder(bundle, public_keys, decision_log=sink, freeze_gc=freeze_gc)
        watch_bundle(holder, bundle)
    else:
        holder = ReloadingEngine.from_config(config, decision_log=sink, freeze_gc=freeze_gc)
        if watch if watch is not None else settings.watch:
            holder.watch()
    token = os.environ.get(settings.token_env) or None
    limits = settings.limits
    options = ServeOptions(token=token, max_body=int(limits.get("max_body", 1 << 20)),
                           body_timeout=float(limits.get("body_timeout", 5.0)),
                           batch_timeout=float(limits.get("batch_timeout", 2.0)),
                           max_batch=int(limits.get("max_batch", 1000)))
    return App(holder, settings.trino, options, hash_key=config.hash_key, allow_unkeyed_hash=config.allow_unkeyed_hash)


def create_app() -> App:
    """The factory uvicorn's worker processes call (`policyengine.serve.server:create_app`)."""
    opts = json.loads(os.environ.get(ENV_OPTIONS, "{}"))
    config = load_config(opts.get("config"))
    settings = ServeSettings.from_config(config)
    suffix = f".{os.getpid()}" if opts.get("workers", 1) > 1 else ""
    return build_app(config, settings, watch=opts.get("watch"), decision_log=opts.get("decision_log"),
                     worker_suffix=suffix, freeze_gc=True, bundle=opts.get("bundle"),
                     public_keys=opts.get("public_keys", ()))


def run(config_path: str | None, settings: ServeSettings, *, host: str, port: int, workers: int,
        watch: bool | None, decision_log: str | None, log_level: str = "info", bundle: str | None = None,
        public_keys: Sequence[str] = ()) -> None:
    """Start uvicorn (blocks until SIGTERM/SIGINT, then shuts down gracefully)."""
    import uvicorn

    kw: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": False,
                          "timeout_graceful_shutdown": 10, "lifespan": "on", "server_header": False}
    try:
        import httptools  # noqa: F401

        kw["http"] = "httptools"
    except ImportError:
        kw["http"] = "h11"
    try:
        import uvloop  # noqa: F401

        kw["loop"] = "uvloop"
    except ImportError:
        kw["loop"] = "asyncio"
    if workers > 1:
        os.environ[ENV_OPTIONS] = json.dumps({"config": config_path, "watch": watch, "decision_log": decision_log,
                                              "workers": workers, "bundle": bundle,
                                              "public_keys": list(public_keys)})
        uvicorn.run("policyengine.serve.server:create_app", factory=True, workers=workers, **kw)
        return
    config = load_config(config_path)
    uvicorn.run(build_app(config, settings, watch=watch, decision_log=decision_log, freeze_gc=True,
                          bundle=bundle, public_keys=public_keys), **kw)
