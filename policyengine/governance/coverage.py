"""The PII coverage gate: every sensitive column is masked or denied for every consumer that is
not privileged, for every purpose, at every instant.

A column is *sensitive* when it carries a tag the taxonomy marks `sensitive: true` (`pii` and
everything below it in the built-in taxonomy), declared in its contract or found by a scan
report. *Privileged* subjects (`privileged:` in policyengine.yaml) are not checked, for every
sensitive tag or only for the tags listed with them.

"Every consumer" is exhaustive: requests are reduced to equivalence classes (see
`governance.classes`) and each class is evaluated through `Engine.evaluate`, the function
enforcement calls, so the gate and enforcement cannot disagree. A *gap* is a class for which a
sensitive column comes out `allow` (readable, unmasked); it is reported with the allowing rule
and, for each deny or mask that covers the column, why it did not apply.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from policyengine.diagnostics import relative_uri
from policyengine.engine.compiler import CompiledRule
from policyengine.engine.decision import RuleRef
from policyengine.governance.classes import (
    AttributeClass,
    Interval,
    PurposeClass,
    SubjectClass,
    merge_intervals,
    request_space,
    rule_asts,
)
from policyengine.governance.escape import plain, sarif_text
from policyengine.sarif import sarif_log

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine

TOOL_NAME = "policyengine-coverage"
UNDECLARED_RULE = "coverage/undeclared-sensitive-column"
GAP_RULE = "coverage/unprotected-column"


# ---------------------------------------------------------------- privileged subjects


@dataclass(frozen=True)
class Privilege:
    """A subject the gate does not check: for every sensitive tag (`tags` empty) or these."""

    subject: str  # group:NAME or user:ID
    tags: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.subject.partition(":")[0]

    @property
    def name(self) -> str:
        return self.subject.partition(":")[2]

    def held_by(self, user: str, groups: frozenset[str]) -> bool:
        return (self.kind == "user" and self.name == user) or (self.kind == "group" and self.name in groups)

    def covers(self, tag: str) -> bool:
        return not self.tags or any(tag == t or tag.startswith(t + ".") for t in self.tags)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "tags": list(self.tags)}


def privileges(items: Iterable[tuple[str, Sequence[str]] | str | Privilege]) -> tuple[Privilege, ...]:
    """Privileges from the configuration's `(subject, tags)` pairs (or subjects, or Privileges)."""
    out = []
    for item in items:
        if isinstance(item, Privilege):
            out.append(item)
        elif isinstance(item, str):
            out.append(Privilege(item))
        else:
            subject, tags = item
            out.append(Privilege(subject, tuple(tags)))
    return tuple(out)


# ---------------------------------------------------------------- what is checked


@dataclass(frozen=True)
class SensitiveColumn:
    """A column the gate checks, with its sensitive tags and where each comes from."""

    product: str
    column: str
    tags: tuple[str, ...]
    sources: Mapping[str, str]  # tag → "contract" | "scan"
    contract: str | None = None
    line: int | None = None


def sensitive_columns(catalog: Any, scan: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
                      tags: Sequence[str] | None = None) -> list[SensitiveColumn]:
    """Columns carrying a sensitive tag: one the taxonomy marks sensitive, or (with `tags`) one
    of those tags or below; tags from the contracts and from the scan report (`scan_tags`)."""
    tax = catalog.taxonomy

    def sensitive(tag: str) -> bool:
        if tags:
            return any(tag == t or tag.startswith(t + ".") for t in tags)
        return tax.is_sensitive(tag)

    out = []
    for name in sorted(catalog.products):
        product = catalog.products[name]
        found = (scan or {}).get(name, {})
        for col in product.columns:
            sources = {t: "contract" for t in sorted(col.tags) if sensitive(t)}
            for t in sorted(found.get(col.name, ())):
                if sensitive(t):
                    sources.setdefault(t, "scan")
            if sources:
                span = col.span
                out.append(SensitiveColumn(name, col.name, tuple(sources), sources,
                                           span.file if span else product.source or None,
                                           span.line if span else None))
    return out


# ---------------------------------------------------------------- gaps


@dataclass(frozen=True)
class Miss:
    """Why a deny or mask covering the column did not apply to the request."""

    rule: RuleRef
    reasons: tuple[tuple[str, str], ...]  # (dimension, text): subject | purpose | window | condition

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.to_dict(),
                "reasons": [{"dimension": d, "text": t} for d, t in self.reasons]}

    @property
    def text(self) -> str:
        return "; ".join(t for _, t in self.reasons)


@dataclass(frozen=True)
class Gap:
    """A sensitive column readable unmasked by a class of consumers, for a purpose, at some instants."""

    product: str
    column: str
    tags: tuple[str, ...]
    sources: Mapping[str, str]
    subject: SubjectClass
    attributes: AttributeClass
    purposes: tuple[PurposeClass, ...]
    instants: tuple[Interval, ...]
    allowed_by: RuleRef
    unprotected: tuple[Miss, ...]
    classes: int = 1
    contract: str | None = None
    line: int | None = None
    every_purpose: bool = False  # the gap holds whatever the purpose

    @property
    def consumer_label(self) -> str:
        attrs = self.attributes.label
        return self.subject.label + (f" with {attrs}" if attrs else "")

    @property
    def purpose_label(self) -> str:
        if self.every_purpose:
            return "any purpose"
        if len(self.purposes) == 1:
            return self.purposes[0].label
        named = [p.value for p in self.purposes if p.value is not None]
        text = "purpose " + ", ".join(named) if named else ""
        if any(p.value is None for p in self.purposes):
            text += (" or " if text else "") + "no purpose (or one no rule names)"
        return text

    @property
    def when_label(self) -> str:
        return ", ".join(i.label for i in merge_intervals(self.instants))

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product, "column": self.column, "tags": list(self.tags),
            "tag_sources": dict(self.sources),
            "consumer": {"user": self.subject.user if self.subject.named_user else None,
                         "groups": sorted(self.subject.groups),
                         "attributes": {k: _jsonable(v) for k, v in self.attributes.values.items()},
                         "missing_attributes": list(self.attributes.missing),
                         "label": self.consumer_label},
            "purposes": [p.value for p in self.purposes], "purpose_label": self.purpose_label,
            "instants": [i.to_dict() for i in merge_intervals(self.instants)], "when": self.when_label,
            "allowed_by": self.allowed_by.to_dict(),
            "unprotected": [m.to_dict() for m in self.unprotected],
            "classes": self.classes,
            "contract": {"file": self.contract, "line": self.line} if self.contract else None,
        }

    def headline(self) -> str:
        tags = ", ".join(self.tags)
        return (f"{self.product}.{self.column} ({tags}) is readable unmasked by {self.consumer_label}, "
                f"for {self.purpose_label}, {self.when_label}: allowed by {self.allowed_by}")


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, tuple):
        return list(v)
    return v


def _subjects_text(r: CompiledRule) -> str:
    inc = (["everyone"] if r.everyone else []) + [f"user:{u}" for u in sorted(r.users)] + \
        [f"group:{g}" for g in sorted(r.groups)]
    return ", ".join(inc) or "nobody"


def why_rule_missed(r: CompiledRule, condition_text: str | None, user: str, groups: frozenset[str],
                    attrs: Mapping[str, Any], purpose: str | None, at: dt.datetime) -> tuple[tuple[str, str], ...]:
    """Each test of semantics line 1 that `r` fails for this request, in words."""
    reasons: list[tuple[str, str]] = []
    if user in r.except_users:
        reasons.append(("subject", f"it excepts user:{user}"))
    hit = sorted(r.except_groups & groups)
    if hit:
        reasons.append(("subject", "it excepts " + ", ".join(f"group:{g}" for g in hit)
                        + " (the consumer's group)" * (len(hit) == 1) + " (the consumer's groups)" * (len(hit) > 1)))
    if not (r.everyone or user in r.users or not r.groups.isdisjoint(groups)):
        reasons.append(("subject", f"it is only for {_subjects_text(r)}"))
    if r.purposes and (purpose is None or purpose not in r.purposes):
        asked = f"purpose {purpose}" if purpose else "no purpose"
        reasons.append(("purpose", f"it is only for purpose {', '.join(sorted(r.purposes))} (not {asked})"))
    if r.valid_from is not None and at < r.valid_from:
        reasons.append(("window", f"it starts at {_iso(r.valid_from)}"))
    if r.valid_until is not None and at >= r.valid_until:
        reasons.append(("window", f"it ended at {_iso(r.valid_until)}"))
    if r.condition is not None and not r.condition(attrs):
        text = f"`{condition_text}`" if condition_text else "its condition"
        missing = sorted(a for a in r.reads if a not in ("id", "groups") and attrs.get(a) is None)
        why = f" (the consumer lacks {', '.join(missing)})" if missing else ""
        reasons.append(("condition", f"its condition {text} is false for this consumer{why}"))
    return tuple(reasons)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Undeclared:
    """A sensitive tag the scan finds in a sample column its product's contract does not declare."""

    product: str
    column: str
    tag: str
    source: str
    contract: str | None
    line: int | None

    @property
    def text(self) -> str:
        return (f"the scan finds {self.tag} in column '{self.column}' of the sample of {self.product}, which its "
                "contract does not declare (renamed or left out?): declare the column with its tag")

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "column": self.column, "tag": self.tag, "source": self.source,
                "contract": self.contract, "line": self.line}


def undeclared_columns(catalog: Any, findings: Iterable[Any], tags: Sequence[str] | None = None) -> list[Undeclared]:
    """The `scan_findings` of undeclared sample columns whose tag is sensitive (or, with `tags`,
    one of those or below), each located at its product's contract."""
    tax = catalog.taxonomy
    out = []
    for f in findings:
        sensitive = any(f.tag == t or f.tag.startswith(t + ".") for t in tags) if tags else tax.is_sensitive(f.tag)
        product = catalog.products.get(f.product)
        if not sensitive or product is None:
            continue
        span = product.span
        out.append(Undeclared(f.product, f.column, f.tag, f.source, product.source or None,
                              span.line if span else None))
    return sorted(out, key=lambda u: (u.product, u.column, u.tag))


@dataclass(frozen=True)
class CoverageReport:
    """Gaps, and what was checked."""

    gaps: tuple[Gap, ...]
    columns: tuple[SensitiveColumn, ...]
    privileged: tuple[Privilege, ...]
    sensitive_tags: tuple[str, ...]
    evaluations: int
    classes: int
    seconds: float
    notes: tuple[str, ...] = field(default=())
    # sensitive scan findings in sample columns the contract does not declare (a column renamed
    # away with its tag dropped): each one fails the gate, as its tag reaches no column
    undeclared: tuple[Undeclared, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.undeclared

    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "gaps": [g.to_dict() for g in self.gaps],
            "summary": {"gaps": len(self.gaps), "sensitive_columns": len(self.columns),
                        "products": len({c.product for c in self.columns}),
                        "request_classes": self.classes, "evaluations": self.evaluations,
                        "seconds": round(self.seconds, 3)},
            "columns": [{"product": c.product, "column": c.column, "tags": list(c.tags),
                         "tag_sources": dict(c.sources)} for c in self.columns],
            "sensitive_tags": list(self.sensitive_tags),
            "privileged": [p.to_dict() for p in self.privileged],
            "undeclared": [u.to_dict() for u in self.undeclared],
            "notes": list(self.notes),
        }


def check_coverage(engine: Engine, *, privileged: Iterable[Any] = (),
                   scan: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
                   tags: Sequence[str] | None = None, products: Iterable[str] | None = None,
                   now: dt.datetime | None = None, undeclared: Iterable[Any] = (),
                   on_hit: Callable[[str, str, SubjectClass, AttributeClass, PurposeClass, Interval, RuleRef],
                                    None] | None = None) -> CoverageReport:
    """Search every request class of every product with a sensitive column for a consumer that
    reads it unmasked. `scan` adds tags found by a scan (`engine.scan_tags(report, catalog)`);
    `tags` replaces the taxonomy's `sensitive` marks; `products` limits the products checked.
    `undeclared`: the scan's findings in sample columns no contract declares
    (`scan_findings(report, catalog)[1]`); each sensitive one fails the report.
    `on_hit(product, column, subject, attributes, purpose, interval, allowing rule)` sees every
    class that is a gap, before gaps are grouped (the brute-force comparison uses it)."""
    started = time.perf_counter()
    privs = privileges(privileged)
    columns = sensitive_columns(engine.catalog, scan, tags)
    if products is not None:
        wanted = set(products)
        columns = [c for c in columns if c.product in wanted]
    full_users = {p.name for p in privs if p.kind == "user" and not p.tags}
    full_groups = {p.name for p in privs if p.kind == "group" and not p.tags}
    partial = {p.subject for p in privs if p.tags}
    asts = rule_asts(engine)
    cond_text = {i: str(r.condition) for i, r in asts.items() if r.condition is not None}
    by_product: dict[str, list[SensitiveColumn]] = {}
    for c in columns:
        by_product.setdefault(c.product, []).append(c)
    gaps: dict[tuple, Gap] = {}
    evaluations = classes = 0
    for product, cols in by_product.items():
        names = [c.column for c in cols]
        space = request_space(engine, product, names, excluded_users=full_users,
                              excluded_groups=full_groups, distinct=partial, now=now, asts=asts)
        classes += space.size
        protective = {c.column: [r for r in space.rules if r.kind in ("deny", "mask")
                                 and c.column in r.columns.get(product, ())] for c in cols}
        for subject, attrs, consumer, purpose, interval in space.requests():
            held = [p for p in privs if p.held_by(subject.user, subject.groups)]
            decision = engine.evaluate(consumer, product, names, purpose.value, interval.at, use_cache=False)
            evaluations += 1
            for c in cols:
                cd = decision.columns.get(c.column)
                if cd is None or cd.effect != "allow" or cd.rule is None:
                    continue
                open_tags = tuple(t for t in c.tags if not any(p.covers(t) for p in held))
                if not open_tags:
                    continue
                if on_hit is not None:
                    on_hit(product, c.column, subject, attrs, purpose, interval, cd.rule)
                full_attrs = dict(attrs.values)
                full_attrs["id"], full_attrs["groups"] = subject.user, tuple(sorted(subject.groups))
                misses = tuple(Miss(r.ref, why_rule_missed(r, cond_text.get(r.index), subject.user, subject.groups,
                                                           full_attrs, purpose.value, interval.at))
                               for r in protective[c.column])
                signature = tuple((m.rule, tuple(d for d, _ in m.reasons)) for m in misses)
                key = (product, c.column, cd.rule, signature)
                found = gaps.get(key)
                if found is None:
                    gaps[key] = Gap(product, c.column, open_tags, {t: c.sources[t] for t in open_tags},
                                    subject, attrs, (purpose,), (interval,), cd.rule, misses, 1,
                                    c.contract, c.line, len(space.purposes) == 1)
                    continue
                # the same gap for another class: the simplest consumer stays; purposes and instants
                # of that consumer are gathered
                same_consumer = found.subject == subject and found.attributes == attrs
                purposes, instants = found.purposes, found.instants
                if same_consumer:
                    if purpose not in purposes:
                        purposes = (*purposes, purpose)
                    if interval not in instants:
                        instants = (*instants, interval)
                gaps[key] = replace(found, purposes=purposes, instants=instants, classes=found.classes + 1,
                                    every_purpose=len(purposes) == len(space.purposes))
    tag_names = tuple(tags) if tags else tuple(sorted(t for t in engine.catalog.taxonomy.tags
                                                      if engine.catalog.taxonomy.tags[t].sensitive))
    notes = []
    if not columns:
        notes.append("no column carries a sensitive tag: nothing to check")
    ordered = sorted(gaps.values(), key=lambda g: (g.product, g.column, g.allowed_by.file, g.allowed_by.line))
    return CoverageReport(tuple(ordered), tuple(columns), privs, tag_names, evaluations, classes,
                          time.perf_counter() - started, tuple(notes),
                          tuple(u for u in undeclared_columns(engine.catalog, undeclared, tags)
                                if products is None or u.product in set(products)))


# ---------------------------------------------------------------- renderings


def to_text(report: CoverageReport) -> str:
    """One located line per gap, then one line per deny or mask that did not protect it."""
    lines: list[str] = [f"{u.contract or u.product}:{u.line or 1}: error: {u.text}" for u in report.undeclared]
    for g in report.gaps:
        lines.append(f"{g.allowed_by.file}:{g.allowed_by.line}: gap: {g.headline()}")
        if g.classes > 1:
            lines.append(f"    ({g.classes} request classes in all; this is the simplest)")
        if not g.unprotected:
            lines.append("    no deny or mask rule covers this column")
        for m in g.unprotected:
            lines.append(f"    not protected by {m.rule.kind} {m.rule}: {m.text}")
        if "scan" in g.sources.values():
            lines.append("    the tag comes from the scan report only: declare it in the contract "
                         f"({g.contract or 'the product contract'})")
    for n in report.notes:
        lines.append(f"note: {n}")
    products = len({c.product for c in report.columns})
    lines.append(f"{len(report.gaps)} gap(s) in {len(report.columns)} sensitive column(s) of {products} "
                 f"product(s); {report.classes:,} request classes, {report.evaluations:,} evaluations "
                 f"in {report.seconds:.2f}s")
    return "\n".join(plain(line) for line in lines) + "\n"  # a name with a line break forges no line


def to_json(report: CoverageReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def to_sarif(report: CoverageReport, version: str = "0.1.0") -> str:
    """SARIF 2.1.0: one `error` per gap, located at the allowing rule (so code scanning annotates
    the policy line), with the contract column and the rules that did not protect it as related
    locations."""
    rule = {"id": GAP_RULE, "name": "UnprotectedSensitiveColumn",
            "shortDescription": {"text": "A sensitive column is readable unmasked by a non-privileged consumer"},
            "fullDescription": {"text": "Every column with a sensitive tag must resolve to mask or deny for "
                                        "every consumer that is not privileged, every purpose and every instant."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["privacy", "coverage"]}}
    undeclared_rule = {"id": UNDECLARED_RULE, "name": "UndeclaredSensitiveColumn",
                       "shortDescription": {"text": "The scan finds a sensitive tag in a sample column the "
                                                    "contract does not declare"},
                       "defaultConfiguration": {"level": "error"}, "properties": {"tags": ["privacy", "coverage"]}}
    results: list[dict[str, Any]] = []
    for u in report.undeclared:
        where: dict[str, Any] = {"artifactLocation": {"uri": relative_uri(u.contract or u.source)}}
        if u.line:
            where["region"] = {"startLine": u.line}
        results.append({"ruleId": UNDECLARED_RULE, "ruleIndex": 1, "level": "error",
                        "message": {"text": sarif_text(f"{u.product}: {u.text}.")},
                        "locations": [{"physicalLocation": where}]})
    for g in report.gaps:
        related: list[dict[str, Any]] = []
        if g.contract:
            loc: dict[str, Any] = {"artifactLocation": {"uri": relative_uri(g.contract)}}
            if g.line:
                loc["region"] = {"startLine": g.line}
            related.append({"id": len(related), "physicalLocation": loc,
                            "message": {"text": sarif_text(f"{g.product}.{g.column} is tagged {', '.join(g.tags)}")}})
        for m in g.unprotected:
            related.append({"id": len(related),
                            "physicalLocation": {"artifactLocation": {"uri": relative_uri(m.rule.file)},
                                                 "region": {"startLine": m.rule.line}},
                            "message": {"text": sarif_text(f"{m.rule.name} did not apply: {m.text}")}})
        text = g.headline() + "."
        if g.unprotected:
            text += " Not protected by: " + "; ".join(f"{m.rule.name} ({m.text})" for m in g.unprotected) + "."
        else:
            text += " No deny or mask rule covers this column."
        results.append({
            "ruleId": GAP_RULE, "ruleIndex": 0, "level": "error", "message": {"text": sarif_text(text)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": relative_uri(g.allowed_by.file)},
                                                "region": {"startLine": g.allowed_by.line}},
                           "logicalLocations": [{"name": g.column, "fullyQualifiedName": f"{g.product}.{g.column}",
                                                 "kind": "member"}]}],
            "relatedLocations": related,
            "partialFingerprints": {"gap/v1": f"{g.product}.{g.column}:{g.allowed_by.name}:"
                                              + ",".join(f"{m.rule.name}/{'+'.join(d for d, _ in m.reasons)}"
                                                         for m in g.unprotected)},
            "properties": {"tags": list(g.tags), "purposes": [p.value for p in g.purposes],
                           "consumer": g.consumer_label,
                           "classes": g.classes},
        })
    driver = {"name": TOOL_NAME, "version": version, "informationUri": "https://github.com/policyengine/policyengine",
              "rules": [rule, undeclared_rule]}
    return sarif_log(driver, results, invocations=[{"executionSuccessful": True}],
                     properties={"sensitive_columns": len(report.columns), "request_classes": report.classes,
                                 "evaluations": report.evaluations})
