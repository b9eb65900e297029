"""Privacy-breaking contract changes between two versions of the catalog (issue 11 item 3).

Five kinds, each an error located at the head contract's file:line unless approved:

- **tag removed**: a column keeps its name but loses a sensitive tag (a more specific tag below
  it, `pii` → `pii.email`, is no removal), or is renamed and its successor (a new column of the
  same type at its position, else the first one of that type, else, for a sensitive column, the
  new column at its position or the first new one) lacks a sensitive tag it had;
- **undeclared finding**: a column new in the head (or in a new product) where the scan report
  finds a sensitive tag its contract does not declare;
- **column renamed**: a column is gone and a new one of the same type takes its position, while
  a base rule names the old column and no head rule names the new one (its column rule no longer
  covers it);
- **domain changed**: a product of the same contract (see below) and short name moves to another
  domain (its `domain.product` name, and with it every rule written for it, changes);
- **product renamed**: a product of the same contract takes another name (`dataProduct:
  orders` → `orders_v2`), so rules written for the old name no longer apply and guardrails can
  be dropped beside it.

"The same contract" is the same ODCS contract `id`, else the same file relative to the
version's root (`renamed_products` pairs the two names; `governance.diff`
compares the pair's cells as one product's).

The approval is the ODCS way of recording extra facts: a `customProperties` entry
`{property: policyengine-approved, value: GOV-123}` on the column (or on the contract, for the
product's changes; see `catalog.contracts.approvals`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.diagnostics import path_below
from policyengine.language import ast

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine


@dataclass(frozen=True)
class ContractChange:
    """One privacy-breaking change of a contract."""

    kind: str  # tag-removed | undeclared-finding | column-renamed | domain-changed | product-renamed
    #           | sample-changed | sample-reused | unscanned-column
    product: str
    column: str | None
    message: str
    file: str | None
    line: int | None
    approved: str | None

    @property
    def key(self) -> str:
        return f"contract {self.kind}: {self.product}" + (f".{self.column}" if self.column else "")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "product": self.product, "column": self.column, "message": self.message,
                "file": self.file, "line": self.line, "approved": self.approved}


def _rel(root: Path | None, file: str | None) -> str | None:
    return path_below(root, file) if file else None


def _removed(tag: str, head_tags: Iterable[str]) -> bool:
    return not any(h == tag or h.startswith(tag + ".") for h in head_tags)


def naming_rules(engine: Engine, product: str, column: str, root: Path | None = None) -> list[str]:
    """Rules that name `column` of `product` explicitly (`product.{column}`), as `name (file:line)`."""
    out = []
    for checked in engine.check_result.rules:
        target = checked.rule.target
        if isinstance(target, ast.ProductTarget) and target.columns is not None \
                and column in {c.text for c in target.columns} and column in checked.columns.get(product, ()):
            r = checked.rule
            out.append(f"{r.name} ({_rel(root, r.span.file)}:{r.span.line})")
    return out


def _approval(*pairs: tuple[tuple[str, ...], tuple[str, ...]]) -> str | None:
    """The first approval the head records that the base did not: each pair is (head's, base's).
    An approval already in the base was given for an earlier change, so it approves nothing new."""
    return next((a for head, base in pairs for a in head if a not in base), None)


def _line(product: Any) -> int:
    return product.span.line if product.span else 0


def _pair(bases: list[Any], heads: list[Any]) -> list[tuple[Any, Any]]:
    """Pairs among the products of one contract: one short name first, then the most column
    names shared (file order breaks ties)."""
    bases, out, rest = list(bases), [], []
    for h in heads:
        same = next((b for b in bases if b.name.split(".", 1)[1] == h.name.split(".", 1)[1]), None)
        if same is None:
            rest.append(h)
        else:
            bases.remove(same)
            out.append((same, h))
    for h in rest:
        if not bases:
            break
        shared = [len(set(b.column_names) & set(h.column_names)) for b in bases]
        out.append((bases.pop(shared.index(max(shared))), h))
    return out


def _successor(i: int, gone: Any, added: dict[int, Any]) -> Any:
    """The head column taking the place of a column gone from the base: a new column of the same
    type at its position, else the first new column of the same type (which is consumed)."""
    at = added.get(i)
    if at is not None and at.logical_type == gone.logical_type:
        return added.pop(i)
    for j, c in sorted(added.items()):
        if c.logical_type == gone.logical_type:
            return added.pop(j)
    return None


def renamed_products(base: Engine, head: Any, *, base_root: Path | None = None,
                     head_root: Path | None = None) -> list[tuple[str, str]]:
    """(base name, head name) of each product renamed or moved to another domain: a product only
    the base has and one only the head has, of the same contract — first the same ODCS contract
    `id` (a rename that also moves the file), then, among the rest, the same contract file
    relative to each version's root (a rename that also changes the `id`). Of several such
    products of one contract, those of one short name pair first, then those sharing the most
    column names, then file order."""
    old, new = base.catalog.products, head.catalog.products
    gone = sorted((old[n] for n in set(old) - set(new)), key=lambda p: (_line(p), p.name))
    came = sorted((new[n] for n in set(new) - set(old)), key=lambda p: (_line(p), p.name))
    out: list[tuple[str, str]] = []
    for key_base, key_head in ((lambda p: p.contract_id or None, lambda p: p.contract_id or None),
                               (lambda p: _rel(base_root, p.source), lambda p: _rel(head_root, p.source))):
        by_key: dict[str, list[Any]] = {}
        for b in gone:
            if (k := key_base(b)) is not None:
                by_key.setdefault(k, []).append(b)
        heads: dict[str, list[Any]] = {}
        for h in came:
            if (k := key_head(h)) is not None:
                heads.setdefault(k, []).append(h)
        paired = [pair for key, hs in heads.items() for pair in _pair(by_key.get(key, []), hs)]
        out.extend((b.name, h.name) for b, h in paired)
        gone = [b for b in gone if all(b is not p for p, _ in paired)]
        came = [h for h in came if all(h is not q for _, q in paired)]
    return sorted(out, key=lambda pair: pair[1])


def renamed_changes(base: Engine, head: Any, *, base_root: Path | None = None,
                    head_root: Path | None = None) -> list[ContractChange]:
    """Per product of `renamed_products`: `domain-changed` when only its domain changed (at the
    head's `domain` line), else `product-renamed` (at its `dataProduct` line); approved by a
    `policyengine-approved` the base contract did not record."""
    out = []
    for before, after in renamed_products(base, head, base_root=base_root, head_root=head_root):
        b, h = base.catalog.products[before], head.catalog.products[after]
        if before.split(".", 1)[1] == after.split(".", 1)[1]:
            kind, span = "domain-changed", h.domain_span
            message = f"{b.name} moves from domain {b.domain} to {h.domain}: rules written for {b.name} no longer apply"
        else:
            kind, span = "product-renamed", h.span
            message = f"{before} is renamed {after}: rules written for {before} no longer apply"
        out.append(ContractChange(kind, after, None, message, _rel(head_root, span.file if span else h.source),
                                  span.line if span else None, _approval((h.approvals, b.approvals))))
    return out


def _samples(product: Any) -> list[str]:
    """The product's sample files as its contract names them, relative to the contract's folder
    (normalised: `../samples/./x` is `../samples/x`)."""
    folder = Path(product.source).parent if product.source else Path.cwd()
    return sorted({Path(os.path.relpath(s.path, folder)).as_posix() for s in product.samples})


def _sample_changes(base: Engine, head: Any, renamed: list[tuple[str, str]],
                    head_root: Path | None) -> list[ContractChange]:
    """`sample-changed` for each product whose sample files (relative to each version's root) are
    not the base's: the `servers.path` is the domain's to edit, and a sample swapped for another
    file (another product's, a test extract with the same column names) makes the scan check the
    contract against a file that is not its data; approved by a new `policyengine-approved`."""
    old, new = base.catalog.products, head.catalog.products
    out = []
    for was, name in [(n, n) for n in sorted(set(old) & set(new))] + renamed:
        b, h = old[was], new[name]
        before, after = _samples(b), _samples(h)
        if before == after:
            continue
        span = next((s.span for s in h.samples if s.span is not None), None) or h.span
        message = (f"the sample of {name} changes from {', '.join(before) or 'none'} to {', '.join(after) or 'none'}: "
                   "the scan checks its contract against another file")
        out.append(ContractChange("sample-changed", name, None, message,
                                  _rel(head_root, span.file if span else h.source), span.line if span else None,
                                  _approval((h.approvals, b.approvals))))
    return out


def _reused_samples(base: Engine, head: Any, renamed: list[tuple[str, str]], base_root: Path | None,
                    head_root: Path | None) -> list[ContractChange]:
    """`sample-reused` for each product new in the head whose sample is a file an existing
    product already claimed in the base (same path below each version's root): a new product
    has no base to compare with, so pointing its `servers.path` at another product's (or a
    platform test extract's) file with the same column names would have its real data checked
    by nothing; approved by the new contract's `policyengine-approved`."""
    old, new = base.catalog.products, head.catalog.products
    successors = {after for _, after in renamed}
    claimed: dict[str, str] = {}
    for product in old.values():
        for s in product.samples:
            claimed.setdefault(_rel(base_root, str(s.path)) or "", product.name)
    out = []
    for name in sorted(set(new) - set(old) - successors):
        h = new[name]
        for s in h.samples:
            rel = _rel(head_root, str(s.path)) or ""
            owner = claimed.get(rel)
            if owner is None or owner == name:
                continue
            span = s.span or h.span
            out.append(ContractChange(
                "sample-reused", name, None,
                f"the new product {name} names {rel} as its sample, which is already the sample of {owner}: "
                "the scan would check its contract against another product's file",
                _rel(head_root, span.file if span else h.source), span.line if span else None,
                _approval((h.approvals, ()))))
            break
    return out


def _unscanned_columns(base: Engine, head: Any, renamed: list[tuple[str, str]],
                       head_root: Path | None) -> list[ContractChange]:
    """`unscanned-column` for each column added to a product whose contract names no sample, or
    only samples that do not exist (one waived from the scan, `scan: waive_samples:`): the
    platform reviewed the product once, with its waiver, and no scan will see a column the domain adds later; approved by a new
    `policyengine-approved`."""
    old, new = base.catalog.products, head.catalog.products
    out = []
    for was, name in [(n, n) for n in sorted(set(old) & set(new))] + renamed:
        b, h = old[was], new[name]
        if any(s.path.exists() for s in h.samples):  # a named sample that is not there is none
            continue
        for col in h.columns:
            if b.column(col.name) is not None:
                continue
            span = col.span
            out.append(ContractChange(
                "unscanned-column", name, col.name,
                f"new column {name}.{col.name}: its contract names no sample, so no scan checks what it holds",
                _rel(head_root, span.file if span else h.source), span.line if span else None,
                _approval((col.approvals, ()), (h.approvals, b.approvals))))
    return out


def contract_changes(base: Engine, head: Any, *, base_root: Path | None = None, head_root: Path | None = None,
                     scan: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> list[ContractChange]:
    """Every privacy-breaking contract change from `base` to `head` (engines, or anything with a
    `catalog`; rules are read for renames). `scan`: the head's scan tags by product and column."""
    out: list[ContractChange] = []
    tax = head.catalog.taxonomy
    old, new = base.catalog.products, head.catalog.products
    renamed = renamed_products(base, head, base_root=base_root, head_root=head_root)
    for was, name in sorted([(n, n) for n in set(old) & set(new)] + renamed, key=lambda pair: pair[1]):
        b, h = old[was], new[name]
        for col in h.columns:
            before = b.column(col.name)
            if before is None:
                continue
            lost = sorted(t for t in before.tags if tax.is_sensitive(t) and _removed(t, col.tags))
            if lost:
                span = col.span
                out.append(ContractChange(
                    "tag-removed", name, col.name,
                    f"{name}.{col.name} loses sensitive tag{'s' * (len(lost) > 1)} {', '.join(lost)}",
                    _rel(head_root, span.file if span else h.source), span.line if span else None,
                    _approval((col.approvals, before.approvals), (h.approvals, b.approvals))))
        gone = [(i, c) for i, c in enumerate(b.columns) if h.column(c.name) is None]
        added = {i: c for i, c in enumerate(h.columns) if b.column(c.name) is None}
        for i, c in gone:
            sensitive = [t for t in c.tags if tax.is_sensitive(t)]
            successor = _successor(i, c, added)
            if successor is None and sensitive and added:
                # a sensitive column gone beside a new one of another type: still a possible rename
                successor = added.pop(i) if i in added else added.pop(min(added))
                candidate_only = True
            else:
                candidate_only = False
            if successor is None:
                continue
            lost = sorted(t for t in sensitive if _removed(t, successor.tags))
            if lost:  # renamed and its tag dropped: a `mask tagged …` no longer covers it
                span = successor.span
                out.append(ContractChange(
                    "tag-removed", name, successor.name,
                    f"{name}.{c.name} is renamed {successor.name} and loses sensitive tag"
                    f"{'s' * (len(lost) > 1)} {', '.join(lost)}",
                    _rel(head_root, span.file if span else h.source), span.line if span else None,
                    _approval((successor.approvals, c.approvals), (h.approvals, b.approvals))))
            named = naming_rules(base, was, c.name, base_root)
            if candidate_only or not named or naming_rules(head, name, successor.name):
                continue
            span = successor.span
            out.append(ContractChange(
                "column-renamed", name, successor.name,
                f"{name}.{c.name} is renamed {successor.name}: {', '.join(named)} no longer cover{'s' * (len(named) == 1)} it",
                _rel(head_root, span.file if span else h.source), span.line if span else None,
                _approval((successor.approvals, c.approvals), (h.approvals, b.approvals))))
    out.extend(renamed_changes(base, head, base_root=base_root, head_root=head_root))
    out.extend(_sample_changes(base, head, renamed, head_root))
    out.extend(_unscanned_columns(base, head, renamed, head_root))
    out.extend(_reused_samples(base, head, renamed, base_root, head_root))
    was_named = {after: before for before, after in renamed}
    for name, h in sorted(new.items()):
        found = (scan or {}).get(name, {})
        base_product = old.get(was_named.get(name, name))
        for col in h.columns:
            if base_product is not None and base_product.column(col.name) is not None:
                continue
            undeclared = sorted(t for t in found.get(col.name, ()) if tax.is_sensitive(t) and not col.has_tag(t))
            if undeclared:
                span = col.span
                out.append(ContractChange(
                    "undeclared-finding", name, col.name,
                    f"new column {name}.{col.name}: the scan finds {', '.join(undeclared)}, which its contract "
                    "does not declare",
                    _rel(head_root, span.file if span else h.source), span.line if span else None,
                    _approval((col.approvals, ()), (h.approvals, base_product.approvals if base_product is not None else ()))))
    return sorted(out, key=lambda c: (c.file or "", c.line or 0, c.kind))
