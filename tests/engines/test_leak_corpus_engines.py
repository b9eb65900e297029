"""The leak corpus (tests/enforce/leak_corpus/leak_attacks.py) on real engines: every attack the
corpus lets run ("safe") is rewritten by `rewrite_query` as consumer `bob` for PostgreSQL
(pgserver) and Spark local (pyspark), run on the seeded tables of the example mesh, and nothing
hidden may come back — neither in the rows nor in the engine's error message.

"Hidden" is the corpus's own notion, computed from the seed data the engines hold: the raw text of
masked and denied columns (6+ characters with a digit, an `@` or a space) and the ids of rows bob's
row filters hide — minus anything bob legitimately sees (every cell of `enforce()` on every product
he reads), since the seed repeats awkward values across columns. The "refuse" attacks never reach
an engine (tests/enforce/leak_corpus/test_leak_corpus.py proves every dialect refuses them).

The hash key: Spark has no HMAC function and pgserver's PostgreSQL has no pgcrypto, so both run
with an unkeyed hash (`allow_unkeyed_hash=True`); Postgres runs keyed when pgcrypto is there.

Error-based probes on hidden rows: a cast that fails on every hidden row (quoting its value) must
run only above the row filter — on Postgres thanks to the `OFFSET 0` fence; on Spark, which has no
fence, because Catalyst merges the user's predicate after the row filter into one short-circuit
`Filter` (measured here on in-memory views and on Parquet files, not a documented guarantee:
docs/enforcement.md, "Evaluation fences"). A failing probe on Spark is a real finding.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import policyengine
from policyengine.enforce import sql as enforce_sql
from policyengine.enforce.arrow import render_type
from policyengine.enforce.gateway import REWRITE_CACHE, GatewayError, rewrite_query
from tests.engines.conftest import source_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "enforce" / "leak_corpus"))
from leak_attacks import ATTACKS, Attack  # noqa: E402  (the corpus is a plain module of its folder)

MESH = "examples/mesh"
KEY = b"leak-corpus-engines-key"
CONSUMER = "bob"
SAFE = [a for a in ATTACKS if a.expect == "safe"]


@pytest.fixture(scope="module")
def mesh() -> Any:
    return policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")


def _distinctive(value: object) -> bool:
    """The corpus's test for a raw text worth looking for (not a word like 'marketing')."""
    return isinstance(value, str) and len(value) >= 6 and any(c.isdigit() or c in "@ " for c in value)


def _texts(table: pa.Table) -> list[str]:
    return [str(v) for column in table.columns for v in column.to_pylist() if v is not None]


def hidden_values(mesh: Any, tables: dict[str, pa.Table]) -> dict[str, frozenset[str]]:
    """By kind ("masked", "denied", "row"), the texts bob must never see, from the seed tables."""
    kinds: dict[str, set[str]] = {"masked": set(), "denied": set(), "row": set()}
    shown: list[str] = []
    for product in mesh.catalog.products:
        raw = tables[source_name(product)]
        decision = mesh.evaluate(CONSUMER, product)
        for column, cd in decision.columns.items():
            if cd.effect != "allow" and column in raw.column_names:
                kinds["masked" if cd.effect == "mask" else "denied"].update(
                    v for v in raw.column(column).to_pylist() if _distinctive(v))
        if decision.error or not decision.readable_columns:
            continue
        visible = policyengine.enforce(raw, decision, hash_key=KEY)
        shown.extend(_texts(visible))
        for column in visible.column_names:
            if column.endswith("_id"):
                seen = {str(v) for v in visible.column(column).to_pylist()}
                kinds["row"].update(str(v) for v in raw.column(column).to_pylist()
                                    if _distinctive(v) and str(v) not in seen)
    everything_shown = "\n".join(shown)
    return {k: frozenset(v for v in values if v not in everything_shown) for k, values in kinds.items()}


@pytest.fixture(scope="module")
def hidden_by_kind(mesh, seed_tables) -> dict[str, frozenset[str]]:
    return hidden_values(mesh, seed_tables)


@pytest.fixture(scope="module")
def hidden(hidden_by_kind) -> frozenset[str]:
    return frozenset().union(*hidden_by_kind.values())


def _leaks(texts: list[str], hidden: frozenset[str]) -> list[str]:
    return sorted({h for t in texts for h in hidden if h in t})[:5]


def test_the_seed_holds_enough_hidden_values(hidden_by_kind) -> None:
    """The checks below are not vacuous: every kind of hidden value is there, in numbers."""
    sizes = {k: len(v) for k, v in hidden_by_kind.items()}
    assert sizes["masked"] >= 20 and sizes["denied"] >= 20 and sizes["row"] >= 10, sizes
    assert sum(sizes.values()) >= 80, sizes


def test_hidden_values_exclude_what_bob_sees(mesh, seed_tables, hidden) -> None:
    """The notion is sound: the DuckDB reference of what bob may see holds none of them."""
    for product in mesh.catalog.products:
        decision = mesh.evaluate(CONSUMER, product)
        if not decision.error and decision.readable_columns:
            visible = policyengine.enforce(seed_tables[source_name(product)], decision, hash_key=KEY)
            assert not _leaks(_texts(visible), hidden), product


def _types(tables: dict[str, pa.Table]) -> dict[str, dict[str, str]]:
    """The physical tables' real column types, as a deployment passes them (time zones kept)."""
    return {p: {f.name: t for f in tables[source_name(p)].schema if (t := render_type(f.type))}
            for p in _products(tables)}


def _products(tables: dict[str, pa.Table]) -> list[str]:
    names = {source_name(p): p for p in ("hr.employees", "hr.payroll", "marketing.campaign_events",
                                          "marketing.leads", "sales.customers", "sales.orders")}
    return [names[t] for t in tables if t in names]


def _key_for(engine: Any) -> bytes | None:
    """Keyed only where the dialect has HMAC: Postgres with pgcrypto; never Spark."""
    return KEY if engine.name == "postgres" and engine.has_pgcrypto else None


def _rewrite(sql: str, mesh: Any, engine: Any, tables: dict[str, pa.Table]) -> Any:
    products = _products(tables)
    source = getattr(engine, "source_name", source_name)
    return rewrite_query(sql, CONSUMER, mesh, dialect=engine.dialect, sources={p: source(p) for p in products},
                         types=_types(tables), hash_key=_key_for(engine), allow_unkeyed_hash=True)


def _engine_errors(engine: Any) -> tuple[type[BaseException], ...]:
    if engine.name == "postgres":
        return (engine.psycopg.Error,)
    from pyspark.errors import PySparkException

    return (PySparkException,)


_OUTCOMES: dict[tuple[str, str], tuple[list[str], list[tuple]] | str] = {}


def _run(sql: str, mesh: Any, engine: Any, tables: dict[str, pa.Table]) -> tuple[list[str], list[tuple]] | str:
    """The rows of the rewritten query, or the refusal / engine error text (run once per engine:
    the tables are read-only, so a second test reuses the outcome)."""
    key = (getattr(engine, "variant", engine.name), sql)
    if key not in _OUTCOMES:
        _OUTCOMES[key] = _outcome(sql, mesh, engine, tables)
    return _OUTCOMES[key]


def _outcome(sql: str, mesh: Any, engine: Any, tables: dict[str, pa.Table]) -> tuple[list[str], list[tuple]] | str:
    try:
        rewritten = _rewrite(sql, mesh, engine, tables)
    except GatewayError as exc:
        return f"refused: {exc}"
    try:
        return engine.run(rewritten.sql, rewritten.bind, "UTC")
    except _engine_errors(engine) as exc:
        return f"engine error: {exc}"


@pytest.fixture(params=["postgres", "spark"])
def real_engine(request) -> Any:
    return request.getfixturevalue(f"{request.param}_engine")


class SparkFiles:
    """The Spark session of `spark_engine` reading the seed tables from Parquet files (a file
    source, as a deployment reads: filters are pushed into the scan) instead of in-memory views,
    which Spark's optimizer evaluates eagerly (`ConvertToLocalRelation`)."""

    name = dialect = "spark"
    variant = "spark-parquet"

    def __init__(self, spark_engine: Any, tables: dict[str, pa.Table], folder: Path) -> None:
        import pyarrow.parquet as pq

        self.engine = spark_engine
        for name, table in tables.items():
            if name == "pe_awkward":
                continue
            path = folder / f"{name}.parquet"
            pq.write_table(table, path)
            spark_engine.spark.read.parquet(str(path)).createOrReplaceTempView(f"pq_{name}")

    @staticmethod
    def source_name(product: str) -> str:
        return "pq_" + source_name(product)

    def run(self, sql: str, params: Any, zone: str) -> tuple[list[str], list[tuple]]:
        return self.engine.run(sql, params, zone)


@pytest.fixture(scope="module")
def spark_files(spark_engine, seed_tables) -> Iterator[SparkFiles]:
    # a folder of its own, not pytest's tmp_path (a concurrent pytest run may delete that while
    # Spark still reads the files lazily)
    with tempfile.TemporaryDirectory(prefix="policyengine-parquet-") as folder:
        yield SparkFiles(spark_engine, seed_tables, Path(folder))


@pytest.fixture(params=["postgres", "spark", "spark-parquet"])
def probe_engine(request) -> Any:
    return request.getfixturevalue("spark_files" if request.param == "spark-parquet" else f"{request.param}_engine")


def _id(attack: Attack) -> str:
    return f"{attack.klass}:{attack.sql[:60]}"


@pytest.mark.parametrize("attack", SAFE, ids=_id)
def test_safe_attacks_return_nothing_hidden(attack: Attack, real_engine, mesh, seed_tables, hidden) -> None:
    outcome = _run(attack.sql, mesh, real_engine, seed_tables)
    if isinstance(outcome, str):
        assert "Traceback" not in outcome
        assert not _leaks([outcome], hidden), f"{real_engine.name} message quotes hidden values: {outcome[:300]}"
        return
    _, rows = outcome
    cells = [v for r in rows for v in r if v is not None]
    assert not any(isinstance(v, bytes | bytearray | memoryview) for v in cells)
    assert not _leaks([str(v) for v in cells], hidden), f"hidden values came back on {real_engine.name}"


def test_the_check_catches_a_raw_read(real_engine, hidden) -> None:
    """The control: the same engine read without the rewrite returns hidden values, and the
    check sees them (in the rows, and in an error quoting a raw value)."""
    _, rows = real_engine.run(f"SELECT customer_email, customer_id FROM {source_name('sales.orders')}", None, "UTC")
    assert len(_leaks([str(v) for r in rows for v in r if v is not None], hidden)) >= 5
    try:
        real_engine.run(f"SELECT CAST(customer_email AS INTEGER) FROM {source_name('sales.orders')}", None, "UTC")
    except _engine_errors(real_engine) as exc:
        assert _leaks([str(exc)], hidden)
    else:
        pytest.fail("the cast of a raw email did not fail")


def test_most_safe_attacks_run(real_engine, mesh, seed_tables) -> None:
    """The corpus is exercised on the engine, not refused wholesale: most safe attacks run."""
    ran = sum(not isinstance(_run(a.sql, mesh, real_engine, seed_tables), str) for a in SAFE)
    assert ran >= len(SAFE) // 2, f"only {ran} of {len(SAFE)} safe attacks ran on {real_engine.name}"


# ---------------------------------------------------------------- error-based probes on hidden rows

# Each probe fails on every hidden order (its id, 'ORD-000123', does not cast to INTEGER and the
# error quotes it) and passes every visible one (bob sees region 'uk' only: in the seed those are
# the awkward rows, whose ids are not 'ORD-…'): run above the row filter it returns what its
# control (the same query without the probe) returns. The test is on the id, not on the region:
# Spark propagates the row filter's `region = 'uk'` into a probe on region and folds it away.
CAST = "CAST(CASE WHEN {v} LIKE 'ORD-%' THEN {v} ELSE '1' END AS INTEGER) = 1"
COUNT = "SELECT count(*) AS n FROM sales.orders"
JOIN = "SELECT count(*) AS n FROM sales.orders o JOIN sales.customers c ON o.customer_id = c.customer_id"
LEFT = "SELECT count(*) AS n FROM sales.customers c LEFT JOIN sales.orders o ON o.customer_id = c.customer_id"
PROBES: list[tuple[str, str, str]] = [
    ("where", f"{COUNT} WHERE " + CAST.format(v="order_id"), COUNT),
    ("where-or", f"{COUNT} WHERE status = 'none' OR " + CAST.format(v="order_id"), COUNT),
    ("where-and", f"{COUNT} WHERE " + CAST.format(v="order_id") + " AND amount IS NOT NULL",
     f"{COUNT} WHERE amount IS NOT NULL"),
    ("join-on", f"{JOIN} AND " + CAST.format(v="o.order_id"), JOIN),
    ("join-where", f"{JOIN} WHERE " + CAST.format(v="o.order_id"), JOIN),
    ("left-join-on", f"{LEFT} AND " + CAST.format(v="o.order_id"), LEFT),
    ("in-subquery", f"{COUNT} WHERE order_id IN (SELECT order_id FROM sales.orders WHERE "
     + CAST.format(v="order_id") + ")", COUNT),
    ("exists", f"{COUNT} AS x WHERE EXISTS (SELECT 1 FROM sales.orders AS y WHERE y.order_id = x.order_id AND "
     + CAST.format(v="y.order_id") + ")", COUNT),
    ("masked-column", f"{COUNT} WHERE CAST(CASE WHEN order_id LIKE 'ORD-%' THEN customer_email ELSE '1' END "
     "AS INTEGER) = 1", COUNT),
    ("cte", "WITH x AS (SELECT * FROM sales.orders) SELECT count(*) AS n FROM x WHERE " + CAST.format(v="order_id"),
     COUNT),
    ("select-list", "SELECT sum(CAST(CASE WHEN order_id LIKE 'ORD-%' THEN order_id ELSE '1' END AS INTEGER)) AS n "
     "FROM sales.orders", COUNT),
    ("aggregate-filter", "SELECT count(*) FILTER (WHERE " + CAST.format(v="order_id") + ") AS n FROM sales.orders",
     COUNT),
    ("having", "SELECT region, count(*) AS n FROM sales.orders GROUP BY region HAVING "
     + CAST.format(v="max(order_id)"), "SELECT region, count(*) AS n FROM sales.orders GROUP BY region"),
    ("derived-table", "SELECT count(*) AS n FROM (SELECT order_id, amount FROM sales.orders) AS t WHERE "
     + CAST.format(v="order_id"), COUNT),
]


def _probe_ids() -> list[str]:
    return [p[0] for p in PROBES]


@pytest.mark.parametrize(("name", "probe", "control"), PROBES, ids=_probe_ids())
def test_error_probes_see_visible_rows_only(probe_engine, mesh, seed_tables, hidden, name, probe, control) -> None:
    engine = probe_engine
    want = _run(control, mesh, engine, seed_tables)
    assert not isinstance(want, str), want
    got = _run(probe, mesh, engine, seed_tables)
    if isinstance(got, str):
        assert not _leaks([got], hidden), f"{engine.name}: the probe ran on a hidden row: {got[:300]}"
        pytest.fail(f"{engine.name}: the probe failed (on a hidden row: a masked value): {got[:300]}")
    assert got[1] == want[1] and want[1], f"{engine.name}: {got[1]} vs control {want[1]}"


def test_the_probe_fails_on_hidden_rows_without_the_rewrite(probe_engine, hidden) -> None:
    """The control: on the raw table the probe reaches the hidden rows and the engine's error quotes
    a hidden id — what the rewrite must prevent (so the probes above can fail)."""
    source = getattr(probe_engine, "source_name", source_name)("sales.orders")
    sql = f"SELECT count(*) AS n FROM {source} WHERE " + CAST.format(v="order_id")
    try:
        probe_engine.run(sql, None, "UTC")
    except _engine_errors(probe_engine) as exc:
        assert _leaks([str(exc)], hidden), str(exc)[:300]
    else:
        pytest.fail("the probe did not reach a hidden row")


def test_postgres_keeps_the_fence_in_the_plan(postgres_engine, mesh, seed_tables, monkeypatch) -> None:
    """The rewrite's `OFFSET 0` keeps the enforced subquery a `Subquery Scan` (never flattened into
    the user's query); the control without the fence is flattened into one scan with both quals."""
    probe = PROBES[0][1]

    def plan() -> str:
        REWRITE_CACHE.clear()
        text = _rewrite(probe, mesh, postgres_engine, seed_tables).sql
        return "\n".join(r[0] for r in postgres_engine.con.execute("EXPLAIN " + text).fetchall())

    assert "Subquery Scan" in plan()
    monkeypatch.setitem(enforce_sql.FENCES, "postgres", None)
    try:
        assert "Subquery Scan" not in plan()
    finally:
        monkeypatch.undo()
        REWRITE_CACHE.clear()
