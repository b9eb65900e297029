"""`governance.diff`: changed cells grouped by the rule change that causes them, approvals, and the
class search (with unchanged products skipped) against brute force over a concrete universe."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.catalog.consumers import Consumer
from policyengine.engine.loading import load
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
    weaker = '@name("mask-email")\nmask shop.orders.email using last4 to everyone;'
    report = _diff([GRANT, MASK], [GRANT, weaker])
    (change,) = report.rule_changes
    assert change.kind == "modified"
    (group,) = report.groups
    assert group.causes[0].rule == change and {c.direction for c in group.cells} == {"looser"}
    assert group.cells[0].before.startswith("mask hash") and group.cells[0].after.startswith("mask last4")
    assert report.exit_code() == 1
    approved = _diff([GRANT, MASK], [GRANT, '@approved("GOV-7")\n' + weaker])
    (group,) = approved.groups
    assert group.loosened and group.approved == "GOV-7"
    assert approved.exit_code() == 0 and not approved.unapproved


def test_a_deny_turned_into_a_mask_is_looser() -> None:
    report = _diff([GRANT, '@name("ssn")\ndeny read shop.orders.ssn to everyone;'],
                   [GRANT, '@name("ssn")\nmask shop.orders.ssn using hash to everyone;'])
    (group,) = report.groups
    assert group.label == "rule modified: ssn (policies/shop.policy:3)"  # matched by its @name
    assert {(c.column, c.direction, c.before.split(" by ")[0], c.after.split(" by ")[0]) for c in group.cells} == \
        {("ssn", "looser", "deny", "mask hash")}
    assert report.exit_code() == 1


def test_a_changed_row_filter_needs_approval() -> None:
    eu = 'filter shop.orders rows where region == "eu" to group:g1;'
    wider = 'filter shop.orders rows where region in ["eu", "uk"] to group:g1;'
    report = _diff([GRANT, eu], [GRANT, wider])
    rows = [c for c in report.cells if c.column is None]
    assert rows and {c.direction for c in rows} == {"changed"} and report.exit_code() == 1
    assert _diff([GRANT, eu], [GRANT, '@approved("GOV-8")\n' + wider]).exit_code() == 0


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


# ---------------------------------------------------------------- privacy-breaking contract changes


def _catalog_copy(root: Path, edit=None) -> Path:
    catalog = root / "catalog"
    catalog.mkdir(parents=True)
    for f in CATALOG.glob("*.yaml"):
        text = f.read_text("utf-8")
        (catalog / f.name).write_text(edit(f.name, text) if edit else text, "utf-8")
    # the sample the fixture's contract names exists in each version (a named sample that does not
    # exist is none: every new column would be `unscanned-column`, which these tests are not about)
    (root / "samples").mkdir()
    (root / "samples" / "shop.orders.parquet").write_bytes(b"PAR1")
    return catalog


def _contract_diff(edit, rules: list[str], scan=None):
    from policyengine.catalog.scan_tags import scan_tags

    base_root, head_root = Path(tempfile.mkdtemp(prefix="pe-diff-base-")), Path(tempfile.mkdtemp(prefix="pe-diff-"))
    base_cat, head_cat = _catalog_copy(base_root), _catalog_copy(head_root, edit)
    policies = _project(rules) / "policies"
    base, head = load(policies, base_cat), load(policies, head_cat)
    found = scan_tags({"findings": [{"source": str(head_root / "samples" / s), "column": c, "tag": t}
                                    for s, c, t in scan]}, head.catalog) if scan else None
    return diff_versions(base, head, base_root=base_root, head_root=head_root, scan=found)


def _orders(edit):
    return lambda name, text: edit(text) if name == "shop.orders.yaml" else text


def test_a_new_column_with_an_undeclared_scan_finding_is_breaking() -> None:
    add = _orders(lambda t: t.replace("  - name: notes\n", "  - name: contact\n    logicalType: string\n"
                                                           "    tags: []\n  - name: notes\n"))
    report = _contract_diff(add, [GRANT], scan=[("shop.orders.parquet", "contact", "pii.email")])
    (change,) = report.contract_changes
    assert change.kind == "undeclared-finding" and change.column == "contact"
    assert (change.file, change.line) == ("catalog/shop.orders.yaml", 36) and "pii.email" in change.message
    assert report.exit_code() == 1
    # declared: no finding; and a finding on an old column is the scan gate's business, not the diff's
    declared = _orders(lambda t: t.replace("  - name: notes\n", "  - name: contact\n    logicalType: string\n"
                                                                "    tags: [pii.email]\n  - name: notes\n"))
    assert _contract_diff(declared, [GRANT], scan=[("shop.orders.parquet", "contact", "pii.email")]).contract_changes == ()


def test_a_renamed_column_a_rule_names_is_breaking_unless_approved() -> None:
    # `shop.*.{email}` still loads after the rename (shop.users has an email column), so only the
    # diff sees that shop.orders' renamed column is no longer masked
    mask = '@name("mask-emails")\nmask shop.*.{email} using hash to everyone;'
    rename = _orders(lambda t: t.replace("  - name: email\n", "  - name: contact_email\n"))
    report = _contract_diff(rename, [GRANT, mask])
    (change,) = report.contract_changes
    assert change.kind == "column-renamed" and change.column == "contact_email"
    assert (change.file, change.line) == ("catalog/shop.orders.yaml", 15)
    assert "mask-emails (" in change.message and "shop.policy:3)" in change.message and report.exit_code() == 1
    approved = _orders(lambda t: t.replace("  - name: email\n", "  - name: contact_email\n    customProperties:\n"
                                                                "    - property: policyengine-approved\n"
                                                                "      value: GOV-9\n"))
    ok = _contract_diff(approved, [GRANT, mask])
    assert [c.approved for c in ok.contract_changes] == ["GOV-9"] and ok.exit_code() == 0
    # a rename no column rule names breaks no rule
    assert _contract_diff(rename, [GRANT, "mask tagged pii.email using hash to everyone;"]).contract_changes == ()


def test_a_changed_domain_and_a_removed_tag_are_breaking() -> None:
    moved = _orders(lambda t: t.replace("domain: shop\n", "domain: retail\n"))
    (change,) = _contract_diff(moved, ["allow read shop.* to group:g1;"]).contract_changes
    assert change.kind == "domain-changed" and change.product == "retail.orders"
    assert (change.file, change.line) == ("catalog/shop.orders.yaml", 7)
    untagged = _orders(lambda t: t.replace("    - pii.national_id\n", ""))
    (change,) = _contract_diff(untagged, [GRANT]).contract_changes
    assert change.kind == "tag-removed" and change.column == "ssn" and "pii.national_id" in change.message
    refined = _orders(lambda t: t.replace("    - pii.email\n", "    - pii.email.work\n"))
    assert not [c for c in _contract_diff(refined, [GRANT]).contract_changes if c.kind == "tag-removed"]


def test_approved_and_id_annotations_are_known_and_must_not_be_empty() -> None:
    import pytest

    from policyengine.diagnostics import PolicyError

    engine = load(_project(['@id("r1")\n@approved("GOV-1")\n' + GRANT]) / "policies", CATALOG)
    assert not [d for d in engine.check_result.diagnostics if "annotation" in d.message]
    for key in ("approved", "id"):
        with pytest.raises(PolicyError, match="cannot be empty"):
            load(_project([f'@{key}("  ")\n' + GRANT]) / "policies", CATALOG)


def test_a_contract_cause_is_approved_by_the_columns_custom_property() -> None:
    untag = _orders(lambda t: t.replace("    - pii.email\n", "    customProperties:\n"
                                                            "    - property: policyengine-approved\n"
                                                            "      value: GOV-5\n"))
    report = _contract_diff(untag, [GRANT, "mask tagged pii.email using hash to everyone;"])
    (group,) = report.groups
    assert group.label == "contract changed: tags of shop.orders.email" and group.loosened
    assert group.approved == "GOV-5" and [c.approved for c in report.contract_changes] == ["GOV-5"]
    assert report.exit_code() == 0


def test_an_approval_carried_over_from_the_base_approves_nothing_new() -> None:
    """Attack: a rule approved once (GOV-1) is loosened again, keeping its old annotation."""
    approved_mask = '@name("mask-email")\n@approved("GOV-1")\nmask shop.orders.email using hash to everyone;'
    weaker = '@name("mask-email")\n@approved("GOV-1")\nmask shop.orders.email using last4 to everyone;'
    report = _diff([GRANT, approved_mask], [GRANT, weaker])
    (group,) = report.groups
    assert group.loosened and group.approved is None and report.exit_code() == 1
    fresh = _diff([GRANT, approved_mask], [GRANT, weaker.replace("GOV-1", "GOV-2")])
    assert fresh.groups[0].approved == "GOV-2" and fresh.exit_code() == 0


def test_one_approved_cause_does_not_approve_an_unapproved_one_beside_it() -> None:
    """Attack: remove a mask (unapprovable) and, in the same change, touch an approved grant that
    applies to the same cells: the loosening has two causes and only one is approved."""
    grant = '@name("grant")\nallow read shop.orders to group:g1;'
    wider = '@name("grant")\n@approved("GOV-9")\nallow read shop.orders to group:g1, group:g2;'
    report = _diff([grant, MASK], [wider])
    email = [g for g in report.groups if any(c.column == "email" for c in g.cells)]
    assert email and all(len(g.causes) == 1 or g.approved is None for g in email)
    assert any(g.loosened and g.approved is None for g in email) and report.exit_code() == 1


def test_a_contract_approval_already_in_the_base_approves_nothing_new() -> None:
    approval = "    customProperties:\n    - property: policyengine-approved\n      value: GOV-5\n"
    base_root, head_root = Path(tempfile.mkdtemp(prefix="pe-diff-base-")), Path(tempfile.mkdtemp(prefix="pe-diff-"))
    both = _orders(lambda t: t.replace("    - pii.email\n", "    - pii.email\n" + approval))
    untagged = _orders(lambda t: t.replace("    - pii.email\n", approval))
    base_cat, head_cat = _catalog_copy(base_root, both), _catalog_copy(head_root, untagged)
    policies = _project([GRANT, "mask tagged pii.email using hash to everyone;"]) / "policies"
    report = diff_versions(load(policies, base_cat), load(policies, head_cat), base_root=base_root,
                           head_root=head_root)
    assert [c.approved for c in report.contract_changes if c.kind == "tag-removed"] == [None]
    assert all(g.approved is None for g in report.groups) and report.exit_code() == 1


def test_a_duplicate_id_cannot_hide_an_edited_rule() -> None:
    """Attack (review): the edited rule keeps its @id and a harmless approved decoy reuses it, so
    the base rule matched the decoy and the edit vanished. A repeated @id is a check error, and
    rule matching never drops a head rule it did not match."""
    import pytest

    from policyengine.diagnostics import PolicyError

    with pytest.raises(PolicyError, match="duplicate rule id 'm'"):
        load(_project(['@id("m")\n' + MASK, '@id("m")\ndeny read shop.orders.ssn to group:g9;', GRANT])
             / "policies", CATALOG)
    base = [_side('@id("m")', "mask shop.orders.email using hash to everyone;")]
    head = [_side('@id("m")', "mask shop.orders.email using hash to group:g2;"),
            _side('@id("m")', "deny read shop.orders.ssn to group:g9;", line=9)]
    changes = rule_changes(base, head)
    assert sorted(c.kind for c in changes) == ["added", "modified"]
    assert {c.head.text for c in changes} == {h.text for h in head}


def _side(ident: str, text: str, line: int = 3):
    from policyengine.engine.decision import RuleRef
    from policyengine.governance.diff import RuleSide

    return RuleSide(RuleRef("r", "policies/shop.policy", line, text.split()[0]), "policies/shop.policy", text,
                    ident[5:-2], None)


def test_an_approved_rule_edit_does_not_carry_a_contract_change_of_the_same_cells() -> None:
    """Attack (review): untag a column and, in the same change, touch an approved grant that
    applies to the same cells; the cells' causes are both, and the contract one is unapproved."""
    base_root, head_root = Path(tempfile.mkdtemp(prefix="pe-diff-base-")), Path(tempfile.mkdtemp(prefix="pe-diff-"))
    base_cat = _catalog_copy(base_root)
    head_cat = _catalog_copy(head_root, _orders(lambda t: t.replace("    - pii.email\n", "")))
    mask = "mask tagged pii.email using hash to everyone;"
    base = load(_project(['@name("grant")\nallow read shop.orders to group:g1;', mask]) / "policies", base_cat)
    head = load(_project(['@name("grant")\n@approved("GOV-7")\nallow read shop.orders to group:g1, group:g2;',
                          mask]) / "policies", head_cat)
    report = diff_versions(base, head, base_root=base_root, head_root=head_root)
    email = [g for g in report.groups if any(c.column == "email" and c.direction == "looser" for c in g.cells)]
    assert email and all(g.approved is None for g in email)
    assert any({c.kind for c in g.causes} == {"rule", "contract"} for g in email)
