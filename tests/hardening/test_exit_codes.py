"""One exit-code convention for every command: 0 ok, 1 findings or policy errors, 2 usage and
input errors (a bad option, a missing path or configuration file, no input to work on)."""

from __future__ import annotations

import pytest

from .conftest import GOOD, Run

UNKNOWN_COLUMN = "scope domain shop\n\nallow read shop.orders.emial to everyone;\n"
TESTS = ("tests:\n- name: analytics reads\n  consumer: alice\n  product: shop.orders\n"
         "  expect: {columns: {order_id: allow}}\n")
FAILING_TESTS = TESTS.replace("order_id: allow", "order_id: deny")

OK = {
    "check": ["check"],
    "fmt": ["fmt", "--check"],
    "eval": ["eval", "--consumer", "alice", "--product", "shop.orders"],
    "test": ["test"],
    "scan": ["scan", "--model", "none"],
    "query": ["query", "SELECT order_id FROM shop.orders", "--consumer", "alice"],
}


@pytest.mark.parametrize("command", sorted(OK))
def test_zero_when_all_is_well(project: Run, command: str) -> None:
    result = project(*OK[command], files={"policies/shop.policy": GOOD, "policies/tests/t.yaml": TESTS})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", sorted(OK))
def test_two_for_a_missing_config_file_and_an_unknown_option(project: Run, command: str) -> None:
    project("check", files={"policies/shop.policy": GOOD, "policies/tests/t.yaml": TESTS})
    missing = project(*OK[command], "--config", "/nope.yaml")
    assert missing.exit_code == 2, missing.output
    assert "/nope.yaml: error: cannot read file" in missing.stderr and "Traceback" not in missing.output
    assert project(*OK[command], "--no-such-option").exit_code == 2


@pytest.mark.parametrize(("command", "files"), [
    ("check", {"policies/shop.policy": UNKNOWN_COLUMN}),
    ("fmt", {"policies/shop.policy": GOOD.replace("\n\n", "\n")}),
    ("eval", {"policies/shop.policy": UNKNOWN_COLUMN}),
    ("test", {"policies/shop.policy": GOOD, "policies/tests/t.yaml": FAILING_TESTS}),
    ("query", {"policies/shop.policy": UNKNOWN_COLUMN}),
])
def test_one_for_findings_and_policy_errors(project: Run, command: str, files: dict[str, str]) -> None:
    result = project(*OK[command], files={"policies/tests/t.yaml": TESTS, **files})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output


def test_scan_one_for_undeclared_pii(project: Run) -> None:
    contract = (project.root / "products/shop.orders.yaml").read_text()  # type: ignore[attr-defined]
    result = project("scan", "--model", "none", files={
        "products/shop.orders.yaml": contract.replace("    tags: [pii.email]\n", ""),
        "samples/orders.csv": "order_id,email\n" + "".join(f"{i},person{i}@example.org\n" for i in range(40))})
    assert result.exit_code == 1, result.output
