"""A bad sample in one contract fails only that product's queries, naming the contract file and line."""

from __future__ import annotations

from .conftest import CONTRACT, GOOD, Run

REFUNDS = (CONTRACT.replace("dataProduct: orders", "dataProduct: refunds").replace("id: shop-orders", "id: shop-refunds")
           .format(sample="../samples/refunds.csv").replace("- name: orders\n", "- name: refunds\n"))


def test_one_bad_sample_breaks_only_its_product(project: Run) -> None:
    files = {"policies/shop.policy": GOOD.replace("shop.orders", "shop.*"),
             "products/shop.refunds.yaml": REFUNDS,
             "samples/refunds.csv": b'order_id,email\n1,"secret@example.org\n\xff\xfe'}
    good = project("query", "SELECT order_id FROM shop.orders", "--consumer", "alice", files=files)
    assert good.exit_code == 0, good.output
    assert "(1 row)" in good.output
    project.root.joinpath("samples/refunds.csv").unlink()  # type: ignore[attr-defined]
    bad = project("query", "SELECT order_id FROM shop.refunds", "--consumer", "alice")
    assert bad.exit_code == 1
    assert "products/shop.refunds.yaml:11:3: error: the sample of shop.refunds (refunds.csv) cannot be read" in bad.stderr
    assert "secret" not in bad.output and "Traceback" not in bad.output
    still = project("query", "SELECT order_id FROM shop.orders", "--consumer", "alice")
    assert still.exit_code == 0 and "(1 row)" in still.output
