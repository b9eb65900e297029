"""`governance.diff`: changed cells grouped by the rule change that causes them, approvals, and the
class search (with unchanged products skipped) against brute force over a concrete universe."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.catalog.consumers import Consumer
from policyengine.engine.evaluator import load
from policyengine.governance.diff import diff_versions, rule_changes, rule_sides
from policyengine.governance.matrix import cell_direction

from .test_classes import GROUPS, INSTANTS, LEVELS, PURPOSES, REGIONS, USERS, rule

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"


def _project(rules: list[str], name: str = "shop.policy", extra: dict[str, str] | None = None) -> Path:
    root = Path(tempfile.mkdtemp(prefix="pe-diff-"))
    (root / "policies").mkdir()
    (root / "policies" / name).write_text("scope domain shop\n" + "\n".join(rules) + "\n", encoding="utf-8")
    for file, text in (extra or {}).items():
        (root / "policies" / file).write_text(text, encoding="utf-8")
    return root


def _diff(base_rules: list[str], head_rules: list[str], **kw):
    base_root, head_root = _project(base_rules), _project(head_rules)
    base = load(base_root / "policies", CATALOG)
    head = load(head_root / "policies", CATALOG)
    return diff_versions(base, head, base_root=base_root, head_root=head_root, **kw)


GRANT = "allow read shop.orders to group:g1;"
MASK = '@name("mask-email")\nmask shop.orders.email using hash to everyone;'


def test_a_removed_mask_is_a_loosening_grouped_under_its_removal() -> None:
    report = _diff([GRANT, MASK], [GRANT])
    assert [c.kind for c in report.rule_changes] == ["removed"]
    (group,) = report.groups
    assert group.label == "rule removed: mask-email (policies/shop.policy:3)"
    assert group.location == ("policies/shop.policy", 3)
    assert {c.column for c in group.cells} == {"email"} and {c.direction for c in group.cells} == {"looser"}
    assert report.exit_code() == 1 and report.unapproved == (group,)


def test_a_weaker_mask_is_looser_and_an_approved_one_passes() -> None:
    weaker = '@name("mask-email")\nmask shop.orders.email using null to everyone;'
    report = _diff([GRANT, '@name("mask-email")\nmask shop.orders.email using redact to everyone;'], [GRANT, weaker])
    assert [c.kind for c in report.rule_changes] == ["modified"]
    assert {c.direction for c in report.cells} <= {"looser", "changed", "tighter"}
    approved = _diff([GRANT, MASK], [GRANT, '@approved("GOV-7")\n@name("mask-email")\n'
                                           'mask shop.orders.email using last4 to everyone;'])
    (group,) = approved.groups
    assert group.loosened and group.approved == "GOV-7"
    assert approved.exit_code() == 0 and not approved.unapproved


def test_an_added_deny_is_tighter_and_passes() -> None:
    report = _diff([GRANT], [GRANT, "deny read shop.orders.ssn to everyone;"])
    (group,) = report.groups
    assert group.label.startswith("rule added: deny@")
    assert {c.direction for c in group.cells} == {"tighter"} and report.exit_code() == 0


def test_a_widened_grant_is_looser_grouped_under_the_modified_rule() -> None:
    report = _diff([GRANT, "deny read shop.orders.ssn to everyone;"],
                   ["allow read shop.orders to group:g1, group:g2;", "deny read shop.orders.ssn to everyone;"])
    (change,) = report.rule_changes
    assert change.kind == "modified" and change.base and change.head
    (group,) = report.groups
    assert group.causes[0].rule == change
    assert all(c.subject.groups & {"g2"} and c.direction == "looser" for c in group.cells)
    assert "ssn" not in {c.column for c in group.cells}  # the deny still holds


def test_a_removed_row_filter_is_looser() -> None:
    flt = 'filter shop.orders rows where region == "eu" to group:g1;'
    report = _diff([GRANT, flt], [GRANT])
    rows = [c for c in report.cells if c.column is None]
    assert rows and {c.direction for c in rows} == {"looser"} and rows[0].before == 'rows where region == "eu"'
    assert report.exit_code() == 1


def test_moved_rules_and_annotations_are_no_change() -> None:
    report = _diff([GRANT, MASK, "deny read shop.orders.ssn to everyone;"],
                   ["deny read shop.orders.ssn to everyone;", "", GRANT, MASK])
    assert report.rule_changes == () and report.groups == () and report.products_evaluated == 0


def test_rules_are_matched_by_id_across_files() -> None:
    base_root = _project([GRANT, '@id("m1")\nmask shop.orders.email using hash to everyone;'])
    head_root = _project([GRANT], extra={"masks.policy": 'scope domain shop\n@id("m1")\n'
                                                          'mask shop.orders.email using null to everyone;\n'})
    base, head = load(base_root / "policies", CATALOG), load(head_root / "policies", CATALOG)
    (change,) = rule_changes(rule_sides(base, base_root), rule_sides(head, head_root))
    assert change.kind == "modified" and change.head.path == "policies/masks.policy"


def test_a_tag_removed_in_a_contract_is_the_cause_and_a_breaking_change(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for f in CATALOG.glob("*.yaml"):
        (catalog / f.name).write_text(f.read_text("utf-8"), "utf-8")
    orders = catalog / "shop.orders.yaml"
    orders.write_text(orders.read_text("utf-8").replace("    - pii.email\n", ""), "utf-8")
    rules = [GRANT, "mask tagged pii.email using hash to everyone;"]
    root = _project(rules)
    base, head = load(root / "policies", CATALOG), load(root / "policies", catalog)
    report = diff_versions(base, head, base_root=CATALOG.parent, head_root=tmp_path)
    (group,) = report.groups
    assert group.label == "contract changed: tags of shop.orders.email"
    assert group.location == ("catalog/shop.orders.yaml", 15)
    (change,) = report.contract_changes
    assert change.kind == "tag-removed" and (change.file, change.line) == ("catalog/shop.orders.yaml", 15)
    assert report.exit_code() == 1


# ---------------------------------------------------------------- exhaustive: classes vs brute force


def _named(engine, product: str) -> set[str]:
    rules = engine.compiled.products[product]
    return {p for r in (*rules.rules, *rules.filters) for p in r.purposes}


def _brute(base, head) -> set[tuple]:
    found = set()
    for product in sorted(base.catalog.products):
        named = _named(base, product) | _named(head, product)
        columns = list(base.catalog.products[product].column_names)
        for user, level, region in itertools.product(USERS, LEVELS, REGIONS):
            attrs = {k: v for k, v in (("level", level), ("region", region)) if v is not None}
            for k in range(len(GROUPS) + 1):
                for groups in map(frozenset, itertools.combinations(GROUPS, k)):
                    consumer = Consumer(user, groups, attrs)
                    for purpose, at in itertools.product(PURPOSES, INSTANTS):
                        a = base.evaluate(consumer, product, columns, purpose, at, use_cache=False)
                        b = head.evaluate(consumer, product, columns, purpose, at, use_cache=False)
                        label = purpose if purpose in named else None
                        for col in columns:
                            d = cell_direction(a.columns[col], b.columns[col])
                            if d:
                                found.add((product, col, d, label, at))
    return found


def _classes(report) -> set[tuple]:
    found = set()
    for g in report.groups:
        for c in g.cells:
            if c.column is None:
                continue
            for at in INSTANTS:
                if c.interval.contains(at):
                    found.add((c.product, c.column, c.direction, c.purpose.value, at))
    return found


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule(), min_size=1, max_size=4), st.integers(0, 3), rule())
def test_grouped_classes_find_exactly_what_brute_force_finds(rules: list[str], position: int, changed: str) -> None:
    base_root = _project(rules)
    head_rules = list(rules)
    head_rules[position % len(rules)] = changed  # one rule changed
    head_root = _project(head_rules)
    base, head = load(base_root / "policies", CATALOG), load(head_root / "policies", CATALOG)
    report = diff_versions(base, head, base_root=base_root, head_root=head_root)
    assert _classes(report) == _brute(base, head)
    # every changed cell is attributed to the one rule change (as removed/added, or modified)
    keys = {c.key for c in report.rule_changes}
    assert all(cause.key in keys for g in report.groups for cause in g.causes)
    # skipping products whose fingerprints are equal loses nothing
    full = diff_versions(base, head, base_root=base_root, head_root=head_root, prune=False)
    assert _classes(full) == _classes(report)


def test_the_brute_force_universe_sees_a_change() -> None:
    base_root = _project([GRANT, "mask tagged pii using hash to everyone except group:g3 until 2026-12-31;"])
    head_root = _project([GRANT, "mask tagged pii using hash to everyone except group:g3;"])
    base, head = load(base_root / "policies", CATALOG), load(head_root / "policies", CATALOG)
    report = diff_versions(base, head, base_root=base_root, head_root=head_root)
    brute = _brute(base, head)
    assert brute and _classes(report) == brute and {d for _, _, d, _, _ in brute} == {"tighter"}
