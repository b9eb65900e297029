"""Start a local PostgreSQL (pgserver's binaries, no root) and load the example mesh's samples as
one table per product (`sales.orders` -> table "orders" in schema "sales"); print its DSN.

    .venv/bin/python examples/mesh/load_postgres.py /tmp/pe-pg    # then: export POLICYENGINE_DSN=<printed>

The server keeps running after this script: stop it with `kill $(head -1 /tmp/pe-pg/postmaster.pid)`.
For docs/native.md; needs the `dev` extra (pgserver, psycopg).
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pgserver
import psycopg

SAMPLES = Path(__file__).resolve().parent / "samples"
PG_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision",
            "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz"}


def main(folder: str) -> None:
    server = pgserver.get_server(folder, cleanup_mode=None)  # None: left running for the CLI
    dsn = server.get_uri()
    with psycopg.connect(dsn, autocommit=True) as con:
        for path in sorted(SAMPLES.iterdir()):
            schema, table = path.stem.split(".")
            rel = duckdb.sql("SELECT * FROM " + ("read_parquet" if path.suffix == ".parquet" else "read_csv")
                             + f"('{path}')")
            columns = ", ".join(f'"{n}" {PG_TYPES[str(t)]}' for n, t in zip(rel.columns, rel.types, strict=True))
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE')
            con.execute(f'CREATE TABLE "{schema}"."{table}" ({columns})')
            with con.cursor().copy(f'COPY "{schema}"."{table}" FROM STDIN') as copy:
                for row in rel.fetchall():
                    copy.write_row(row)
    print(dsn)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/pe-pg")
