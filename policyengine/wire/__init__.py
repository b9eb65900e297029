"""`policyengine gateway`: the reference gateway as a PostgreSQL protocol v3 server that psql,
psycopg and other drivers connect to; every statement is enforced through the gateway's rewrite.

`messages` is the message layer (pure encoders/decoders), `server` the asyncio connections."""

from policyengine.wire.server import (
    WireError,
    WireServer,
    WireSettings,
    serve_forever,
    settings_from,
)

__all__ = ["WireError", "WireServer", "WireSettings", "serve_forever", "settings_from"]
