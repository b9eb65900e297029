"""The mask registry: every strategy is declared once, with every implementation or an explicit
"not supported" entry, and a new strategy is one declaration away from working end to end."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pytest
from sqlglot import exp

from policyengine.enforce import DIALECTS, RenderError, enforce, to_sql
from policyengine.enforce.sql import mask_expression
from policyengine.language import masks
from policyengine.language.masks import STRATEGIES, MaskStrategy, Strategy, apply_mask
from tests.enforce.conftest import col, decision

# one argument set per strategy that takes required arguments
ARGS = {"partial": (("first", 1), ("last", 2))}
LOGICAL = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "date": "date",
           "timestamp": "timestamp", "time": None, "object": None, "array": None}


def _strategy(name: str) -> MaskStrategy:
    definition = STRATEGIES[name]
    defaults = tuple((p.name, p.default) for p in definition.params if not p.required)
    return MaskStrategy(name, ARGS.get(name, defaults))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_declares_every_part(name: str) -> None:
    definition = STRATEGIES[name]
    assert definition.name == name
    assert isinstance(definition.level, int) and definition.summary and definition.fits
    assert type(definition).reference is not Strategy.reference, f"{name} has no Python reference"
    assert type(definition).sql is not Strategy.sql, f"{name} has no SQL form"
    assert definition.iceberg is None or definition.iceberg.replace("-", "").isalnum()
    for p in definition.params:
        assert p.required or p.default is not None, f"{name}.{p.name} needs a default or to be required"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_dialect_renders_or_says_why_not(name: str, dialect: str, keyed: bool) -> None:
    """For each type the strategy fits: SQL comes out, or the registry's 'not supported' reason is
    the RenderError — never silently something else."""
    definition = STRATEGIES[name]
    strategy = _strategy(name)
    why = definition.sql_unsupported(dialect, keyed)
    column = exp.column("c", quoted=True)
    for logical in sorted(definition.fits):
        if LOGICAL.get(logical) is None:
            continue
        if why is not None:
            with pytest.raises(RenderError) as raised:
                mask_expression(strategy, column, dialect, logical_type=logical, keyed=keyed, column="c")
            assert str(raised.value) == why and dialect in why
        else:
            node = mask_expression(strategy, column, dialect, logical_type=logical, keyed=keyed, column="c")
            assert isinstance(node, exp.Expression) and node.sql(dialect=dialect)


def test_unknown_strategy_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="unknown mask strategy 'nope'"):
        mask_expression(MaskStrategy("nope"), exp.column("c"), "duckdb")


def test_a_new_strategy_is_one_declaration() -> None:
    """Registering one class makes a strategy checkable, renderable in SQL and enforceable on Arrow,
    agreeing with its own reference."""

    class Initial(Strategy):
        name, level, fits, summary = "initial_test_only", 3, frozenset({"string"}), "first letter and a dot"
        iceberg: ClassVar[str | None] = None

        def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
            return masks.keep_characters(masks.value_text(value), 1, 0)

        def sql(self, sql_masks: Any, column: Any, strategy: MaskStrategy) -> Any:
            return sql_masks.keep(column, 1, 0)

    masks.register(Initial)
    try:
        strategy = MaskStrategy("initial_test_only")
        assert masks.fits(strategy, "string") and not masks.fits(strategy, "date")
        d = decision([col("name", "mask", "initial_test_only")])
        table = pa.table({"name": ["Alice", "Bo", None]})
        got = enforce(table, d).column("name").to_pylist()
        assert got == [apply_mask(strategy, v) for v in table.column("name").to_pylist()] == ["A****", "B*", None]
        assert "LEFT" in to_sql(d, "t", "duckdb", types={"name": "string"})
    finally:
        del STRATEGIES["initial_test_only"]


def test_declaring_a_strategy_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        masks.register(type(STRATEGIES["hash"]))
