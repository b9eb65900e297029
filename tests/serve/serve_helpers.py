"""Helpers for the decision-service tests: the app over the example mesh, called in-process
(a uniquely named module: `conftest` names collide across test folders)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import yaml

from policyengine.config import load_config
from policyengine.engine.reload import ReloadingEngine
from policyengine.serve.app import App, ServeOptions
from policyengine.serve.trino import TrinoSettings

ROOT = Path(__file__).resolve().parents[2]
PATH_KEYS = ("policies", "catalog", "consumers", "samples", "taxonomy")


def config_copy(directory: Path, **overrides: Any) -> Path:
    """The example mesh's policyengine.yaml written into `directory` with absolute paths and
    `overrides` (e.g. allow_unkeyed_hash=True), for a `serve` subprocess that needs a setting
    the example does not make. The ownership map is left out (its paths are the project's)."""
    data = yaml.safe_load((ROOT / "policyengine.yaml").read_text(encoding="utf-8"))
    for key in PATH_KEYS:
        if key in data:
            data[key] = str((ROOT / data[key]).resolve())
    data.pop("ownership", None)
    data.update(overrides)
    path = directory / "policyengine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return orjson.loads(self.body)


def call(app: App, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None, host: str | None = "127.0.0.1:8181") -> Reply:
    """One HTTP request through the ASGI interface (what uvicorn does, without a socket), with
    a `Host` header (None: without one)."""
    data = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
    sent_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if host is not None:
        sent_headers.append((b"host", host.encode()))
    scope = {"type": "http", "method": method, "path": path, "headers": sent_headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
    return Reply(start["status"], hdrs, b"".join(m.get("body", b"") for m in sent[1:]))


def make_app(*, trino: TrinoSettings | None = None, token: str | None = None,
             hash_key: bytes | None = None, allow_unkeyed_hash: bool = False, **options: Any) -> App:
    cfg = load_config(ROOT / "policyengine.yaml")
    holder = ReloadingEngine.from_config(cfg)
    return App(holder, trino or TrinoSettings(catalogs=("lakehouse",)), ServeOptions(token=token, **options),
               hash_key=hash_key, allow_unkeyed_hash=allow_unkeyed_hash)
