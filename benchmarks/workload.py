"""Seeded generator of the evaluator workload W1 (and its 10x version), for our engine, Cedar and Casbin.

W1: 200 products x 20 columns (every 5th column tagged pii.*), 20 domains with one team group
each and a domain grant to it, 1 platform deny on `pii` except group `pii-cleared`, and 200
purpose-conditional grants (group g_i on product p_(i mod 200) for purpose `analytics`).
The request: a consumer in 3 groups asks for all 20 columns of one product, purpose analytics.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

PII_TAGS = ("pii.email", "pii.name", "pii.phone", "pii.address")


@dataclass(frozen=True)
class Workload:
    """Names of everything in one generated workload."""

    domains: tuple[str, ...]
    products: tuple[str, ...]  # "domain.product"
    columns: tuple[str, ...]
    pii_columns: frozenset[str]
    purpose_grants: tuple[tuple[str, str], ...]  # (group, product)
    consumer_groups: tuple[str, ...]
    target_product: str
    seed: int


def make_workload(products: int = 200, domains: int = 20, purpose_grants: int = 200, seed: int = 7) -> Workload:
    rng = random.Random(seed)
    doms = tuple(f"d{k:03d}" for k in range(domains))
    prods = tuple(f"{doms[j % domains]}.p{j:04d}" for j in range(products))
    cols = tuple(f"c{k:02d}" for k in range(20))
    pii = frozenset(c for k, c in enumerate(cols) if k % 5 == 4)
    grants = tuple((f"g{i:04d}", prods[i % products]) for i in range(purpose_grants))
    target_index = rng.randrange(purpose_grants)
    group, target = grants[target_index]
    domain_group = f"{target.split('.')[0]}-team"
    groups = (group, domain_group, "staff")
    return Workload(doms, prods, cols, pii, grants, groups, target, seed)


# ---------------------------------------------------------------- policyengine


def write_policyengine(w: Workload, root: Path) -> tuple[Path, Path]:
    """Write ODCS contracts and policy files; return (policies folder, catalog folder)."""
    catalog, policies = root / "catalog", root / "policies"
    catalog.mkdir(parents=True, exist_ok=True)
    policies.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(w.products):
        domain, product = name.split(".")
        props = [{"name": c, "logicalType": "string",
                  "tags": [PII_TAGS[(i + k) % len(PII_TAGS)]] if c in w.pii_columns else []}
                 for k, c in enumerate(w.columns)]
        doc = {"apiVersion": "v3.0.2", "kind": "DataContract", "id": name, "name": product, "version": "1.0.0",
               "status": "active", "domain": domain, "dataProduct": product,
               "schema": [{"name": product, "properties": props}]}
        (catalog / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (policies / "platform.policy").write_text(
        "scope platform\n\ndeny read tagged pii to everyone except group:pii-cleared;\n", encoding="utf-8")
    by_domain: dict[str, list[str]] = {d: [] for d in w.domains}
    for group, product in w.purpose_grants:
        by_domain[product.split(".")[0]].append(
            f"allow read {product} to group:{group} for purpose analytics;")
    for d, grants in by_domain.items():
        text = f"scope domain {d}\n\nallow read {d}.* to group:{d}-team;\n\n" + "\n\n".join(grants) + "\n"
        (policies / f"{d}.policy").write_text(text, encoding="utf-8")
    return policies, catalog


# ---------------------------------------------------------------- Cedar


def cedar_policies(w: Workload) -> str:
    lines = [f'permit(principal in Group::"{d}-team", action == Action::"read", resource in Domain::"{d}");'
             for d in w.domains]
    lines.append('forbid(principal, action == Action::"read", resource in Tag::"pii") '
                 'unless { principal in Group::"pii-cleared" };')
    lines += [f'permit(principal in Group::"{g}", action == Action::"read", resource in Product::"{p}") '
              f'when {{ context.purpose == "analytics" }};' for g, p in w.purpose_grants]
    return "\n".join(lines)


def cedar_entities(w: Workload) -> list[dict]:
    ents: list[dict] = [{"uid": {"type": "Domain", "id": d}, "attrs": {}, "parents": []} for d in w.domains]
    ents.append({"uid": {"type": "Tag", "id": "pii"}, "attrs": {}, "parents": []})
    for p in w.products:
        ents.append({"uid": {"type": "Product", "id": p}, "attrs": {},
                     "parents": [{"type": "Domain", "id": p.split(".")[0]}]})
        for c in w.columns:
            parents = [{"type": "Product", "id": p}]
            if c in w.pii_columns:
                parents.append({"type": "Tag", "id": "pii"})
            ents.append({"uid": {"type": "Column", "id": f"{p}.{c}"}, "attrs": {}, "parents": parents})
    groups = {f"{d}-team" for d in w.domains} | {g for g, _ in w.purpose_grants} | {"pii-cleared", "staff"}
    ents += [{"uid": {"type": "Group", "id": g}, "attrs": {}, "parents": []} for g in sorted(groups)]
    ents.append({"uid": {"type": "User", "id": "consumer"}, "attrs": {},
                 "parents": [{"type": "Group", "id": g} for g in w.consumer_groups]})
    return ents


def cedar_requests(w: Workload) -> list[dict]:
    return [{"principal": 'User::"consumer"', "action": 'Action::"read"',
             "resource": f'Column::"{w.target_product}.{c}"', "context": {"purpose": "analytics"}}
            for c in w.columns]


# ---------------------------------------------------------------- Casbin

CASBIN_MODEL = """
[request_definition]
r = sub, obj, act, purpose

[policy_definition]
p = sub, obj, act, purpose, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = ((p.sub == "except-pii-cleared" && !g(r.sub, "pii-cleared")) || g(r.sub, p.sub)) && regexMatch(r.obj, p.obj) \
&& r.act == p.act && (p.purpose == "*" || p.purpose == r.purpose)
"""


def casbin_policies(w: Workload) -> tuple[list[list[str]], list[list[str]]]:
    """(policy rows, grouping rows). Objects are `domain/product/column`, pii columns end in `#pii`."""
    rows = [[f"{d}-team", f"^{d}/", "read", "*", "allow"] for d in w.domains]
    rows.append(["except-pii-cleared", ".*#pii$", "read", "*", "deny"])
    rows += [[g, f"^{p.replace('.', '/')}/", "read", "analytics", "allow"] for g, p in w.purpose_grants]
    grouping = [["consumer", g] for g in w.consumer_groups]
    return rows, grouping


def casbin_objects(w: Workload) -> list[str]:
    base = w.target_product.replace(".", "/")
    return [f"{base}/{c}#pii" if c in w.pii_columns else f"{base}/{c}" for c in w.columns]
