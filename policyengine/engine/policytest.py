"""Policy tests: YAML files next to policies that state what a request must decide.

```yaml
tests:
  - name: analysts see eu orders with e-mails masked
    consumer: alice                     # an id from the consumers file, or {id, groups, attributes}
    product: sales.orders
    purpose: reporting                  # optional
    at: 2026-06-01T00:00:00Z            # optional (default: now)
    columns: [order_id, margin]         # optional (default: every column)
    expect:
      columns:                          # allow | deny | mask | mask(<strategy>) | mask(round(digits=-3))
        order_id: allow
        customer_email: mask(email_domain)
        margin: deny
      readable: [order_id, amount]      # optional: exactly the readable columns, in order
      row_filter: 'region == "eu"'      # optional: the filter as text, or null for all rows
```
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policyengine.catalog.consumers import Consumer
from policyengine.engine.decision import Decision, RuleRef
from policyengine.engine.evaluator import Engine
from policyengine.language.masks import MaskStrategy
from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_file

_CASE_KEYS = frozenset({"name", "consumer", "product", "purpose", "at", "columns", "expect"})
_EXPECT_KEYS = frozenset({"columns", "readable", "row_filter"})


@dataclass(frozen=True)
class PolicyTestCase:
    """One test: a request and what its decision must be."""

    name: str
    location: str
    consumer: Any
    product: str
    purpose: str | None
    at: dt.datetime | None
    columns: tuple[str, ...] | None
    expect_columns: Mapping[str, str]
    expect_readable: tuple[str, ...] | None
    expect_filter: str | None
    check_filter: bool


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one test case: the mismatches (empty when it passed) and the decision."""

    case: PolicyTestCase
    failures: tuple[str, ...]
    decision: Decision | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class TestReport:
    """All results, and the rules no test exercised."""

    results: tuple[CaseResult, ...]
    untested: tuple[RuleRef, ...] = field(default=())

    @property
    def untested_rules(self) -> tuple[str, ...]:
        """The untested rules as text: `name (file:line) [kind]`."""
        return tuple(f"{r} [{r.kind}]" for r in self.untested)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "cases": [{"name": r.case.name, "location": r.case.location, "passed": r.passed,
                       "failures": list(r.failures)} for r in self.results],
            "untested_rules": [r.to_dict() for r in self.untested],
        }


def _when(value: Any, path: str | Path, where: tuple[int, int] = (1, 1)) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise YamlError.at(path, where, f"'at' must be a date or timestamp, found {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def load_cases(path: str | Path) -> list[PolicyTestCase]:
    """Read one test file; malformed content raises YamlError with file:line:col."""
    data = load_yaml_file(path)
    if not isinstance(data, LocatedDict) or not isinstance(data.get("tests"), list):
        raise YamlError.at(path, (1, 1), "a policy test file needs a 'tests' list")
    cases = []
    for i, raw in enumerate(data["tests"]):
        if not isinstance(raw, LocatedDict):
            raise YamlError.at(path, data.where("tests"), f"test #{i + 1} must be a mapping")
        where = raw.where()
        line = where[0]
        unknown = set(raw) - _CASE_KEYS
        if unknown:
            raise YamlError.at(path, where, f"unknown key(s) {', '.join(sorted(unknown))} in a test "
                            f"(expected {', '.join(sorted(_CASE_KEYS))})")
        for key in ("consumer", "product", "expect"):
            if key not in raw:
                raise YamlError.at(path, where, f"test needs '{key}'")
        expect = raw["expect"]
        if not isinstance(expect, Mapping) or set(expect) - _EXPECT_KEYS:
            raise YamlError.at(path, where, f"'expect' takes {', '.join(sorted(_EXPECT_KEYS))}")
        exp_cols = {str(k): str(v) for k, v in (expect.get("columns") or {}).items()}
        for col, effect in exp_cols.items():
            if not (effect in ("allow", "deny", "mask") or (effect.startswith("mask(") and effect.endswith(")"))):
                raise YamlError.at(path, where, f"expected effect of '{col}' must be allow, deny, mask or "
                                f"mask(<strategy>), found {effect!r}")
        readable = expect.get("readable")
        cases.append(PolicyTestCase(
            name=str(raw.get("name") or f"test #{i + 1}"),
            location=f"{path}:{line}",
            consumer=raw["consumer"],
            product=str(raw["product"]),
            purpose=None if raw.get("purpose") is None else str(raw["purpose"]),
            at=_when(raw.get("at"), path, raw.where("at")),
            columns=tuple(map(str, raw["columns"])) if raw.get("columns") is not None else None,
            expect_columns=exp_cols,
            expect_readable=tuple(map(str, readable)) if readable is not None else None,
            expect_filter=None if expect.get("row_filter") is None else str(expect["row_filter"]),
            check_filter="row_filter" in expect,
        ))
    return cases


def _effect_text(decision: Decision, column: str, with_args: bool = False) -> str:
    d = decision.columns.get(column)
    if d is None:
        return "absent"
    if d.effect != "mask":
        return d.effect
    if with_args and d.args:
        return f"mask({MaskStrategy(d.strategy or '', tuple(d.args.items()))})"
    return f"mask({d.strategy})"


def run_case(engine: Engine, case: PolicyTestCase) -> CaseResult:
    """Evaluate one case and list every mismatch with expected vs actual."""
    consumer = case.consumer
    if isinstance(consumer, str):
        if consumer not in engine.consumers:
            return CaseResult(case, (f"unknown consumer '{consumer}' (not in the consumers file)",))
        consumer = engine.consumers[consumer]
    else:
        try:
            consumer = Consumer.coerce(consumer)
        except ValueError as exc:
            return CaseResult(case, (str(exc),))
    decision = engine.evaluate(consumer, case.product, case.columns, case.purpose, case.at, use_cache=False)
    failures = []
    for col, want in case.expect_columns.items():
        got = _effect_text(decision, col)
        ok = got == want or (want == "mask" and got.startswith("mask("))
        if not ok and isinstance(want, str) and want.startswith("mask(") and want.count("(") > 1:  # mask(round(digits=-3))
            got = _effect_text(decision, col, with_args=True)
            ok = got.replace(" ", "") == want.replace(" ", "")
        if not ok:
            cd = decision.columns.get(col)
            why = f" ({cd.reason})" if cd is not None and cd.reason else ""
            if cd is None and case.product not in engine.catalog.products:
                from policyengine.diagnostics import did_you_mean

                why = f" (unknown product '{case.product}'{did_you_mean(case.product, engine.catalog.products)})"
            failures.append(f"{col}: expected {want}, got {got}{why}")
    if case.expect_readable is not None and decision.readable_columns != case.expect_readable:
        failures.append(f"readable columns: expected {list(case.expect_readable)}, "
                        f"got {list(decision.readable_columns)}")
    if case.check_filter and decision.row_filter_text != case.expect_filter:
        failures.append(f"row filter: expected {case.expect_filter!r}, got {decision.row_filter_text!r}")
    if decision.error:
        failures.append(f"decision error: {decision.error}")
    return CaseResult(case, tuple(failures), decision)


def test_files(paths: Sequence[str | Path]) -> list[Path]:
    """Policy test files (`*.yaml`/`*.yml`) under the given files and folders."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        elif p.exists():
            out.append(p)
    return out


def run_tests(engine: Engine, cases: Sequence[PolicyTestCase]) -> TestReport:
    """Run every case; report rules that no case's decision cited."""
    results = tuple(run_case(engine, c) for c in cases)
    exercised: set[tuple[str, int]] = set()
    for r in results:
        if r.decision is None:
            continue
        for cd in r.decision.columns.values():
            exercised.update((ref.file, ref.line) for ref in cd.applied)
        exercised.update((ref.file, ref.line) for ref in r.decision.filter_rules)
    untested = tuple(r.ref for r in engine.rules if (r.ref.file, r.ref.line) not in exercised)
    return TestReport(results, untested)


def structural_errors(engine: Engine, cases: Sequence[PolicyTestCase]) -> list[str]:
    """Every mistake in the test files themselves, all at once, each `file:line: error: …` with
    did-you-mean: an expected column the product does not have, an expected
    mask no strategy is called, a consumer id the consumers file does not list. Without this they
    fail only as a mismatch ("expected mask(emial_domain), got mask(email_domain)")."""
    import re

    from policyengine.diagnostics import did_you_mean
    from policyengine.language.masks import STRATEGIES

    out: list[str] = []
    for case in cases:
        where = f"{case.location}: error: in test '{case.name}':"
        if isinstance(case.consumer, str) and case.consumer not in engine.consumers:
            out.append(f"{where} unknown consumer '{case.consumer}'{did_you_mean(case.consumer, engine.consumers)}")
        product = engine.catalog.products.get(case.product)  # an unknown one is a case of its own (denied)
        columns = product.column_names if product is not None else ()
        for col, want in case.expect_columns.items():
            if product is not None and col not in columns:
                out.append(f"{where} {case.product} has no column '{col}'{did_you_mean(col, columns)}")
            m = re.match(r"\s*mask\s*\(\s*([A-Za-z_]\w*)", str(want))
            if m and m.group(1) not in STRATEGIES:
                out.append(f"{where} unknown mask '{m.group(1)}' expected for {col}"
                           f"{did_you_mean(m.group(1), STRATEGIES)}")
            elif not m and str(want) not in ("allow", "deny", "mask"):
                out.append(f"{where} expected effect of {col} must be allow, deny, mask or mask(STRATEGY), "
                           f"found '{want}'")
        for col in case.expect_readable or ():
            if product is not None and col not in columns:
                out.append(f"{where} {case.product} has no column '{col}'{did_you_mean(col, columns)}")
    return out
