"""A `domain.*` target is resolved through the catalog's index by name prefix (`by_prefix`), not
by matching every product of the mesh: the same products, in the same order, as the pattern."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from policyengine.catalog.contracts import Column, Product, catalog_of
from policyengine.language.checker import check_policies, pattern_matches
from policyengine.language.parser import parse_policy

PART = st.sampled_from(["sales", "hr", "s", "sales2", "*x", "a.b"])


@given(st.lists(st.tuples(PART, PART), min_size=1, max_size=12, unique=True))
def test_prefix_index_is_the_pattern(names: list[tuple[str, str]]) -> None:
    products = [Product(f"{d}.{p}", d, (Column("id", "string"),)) for d, p in names]
    catalog = catalog_of(products)
    for domain in {d.partition(".")[0] for d, _ in names} | {"nobody"}:
        want = [p for n, p in catalog.products.items() if pattern_matches(f"{domain}.*", n)]
        assert list(catalog.by_prefix.get(domain, ())) == want


def test_a_domain_target_covers_its_domains_products_in_catalog_order() -> None:
    products = [Product(n, n.partition(".")[0], (Column("id", "string"),))
                for n in ("sales.orders", "hr.people", "sales.returns", "salesx.orders")]
    catalog = catalog_of(products)
    text = "scope platform\n\nallow read sales.* to everyone;\n"
    result = check_policies([parse_policy(text, "p.policy")], catalog)
    assert result.ok
    assert list(result.rules[0].columns) == ["sales.orders", "sales.returns"]
