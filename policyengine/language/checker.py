"""Check parsed policies against the catalog and resolve every rule to the columns it covers.

The result (`CheckResult`) is what the compiler consumes: each rule with its scope, its mask
strategy resolved, and, per product, the columns it covers in the product's column order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from policyengine.catalog.consumers import AttributeSchema
from policyengine.catalog.contracts import Catalog, Product
from policyengine.diagnostics import Diagnostic, PolicyError, Span, did_you_mean
from policyengine.language import ast
from policyengine.language.masks import MaskSpecError, MaskStrategy, fits, resolve_mask
from policyengine.language.values import type_name

KNOWN_ANNOTATIONS = frozenset({"name", "description", "owner", "ticket", "id", "approved"})
# `@id` identifies a rule across revisions and `@approved` records the approval of a loosening
# (both read by `policyengine diff`): an empty value would identify or approve nothing
_NON_EMPTY = {"name": "a rule name", "id": "a rule id", "approved": "an approval"}


@dataclass(frozen=True)
class CheckedRule:
    """A rule resolved against the catalog.

    `columns[product]` are the columns the rule covers in that product (for `filter` rules: the
    products it filters, with every column). `index` is the rule's position over all files.
    """

    rule: ast.Rule
    scope: ast.Scope
    columns: Mapping[str, tuple[str, ...]]
    mask: MaskStrategy | None
    index: int

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True)
class CheckResult:
    """All rules resolved, with every diagnostic and the source texts for rendering them."""

    files: tuple[ast.PolicyFile, ...]
    rules: tuple[CheckedRule, ...]
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise PolicyError(self.diagnostics, dict(self.sources))


def pattern_matches(pattern: str, product: str) -> bool:
    """`*` matches every product; `sales.*` every sales product; `*.orders` every domain's orders."""
    if pattern == "*":
        return True
    pd, _, pp = pattern.partition(".")
    d, _, p = product.partition(".")
    return (pd == "*" or pd == d) and (pp == "*" or pp == p)


def _a(kind: str) -> str:
    """`a string`, `an integer`: the article for a type name in messages."""
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _compatible(a: str, b: str) -> bool:
    numeric = {"integer", "number"}
    return a == b or (a in numeric and b in numeric) or "any" in (a, b)


class TargetMemo:
    """What the checker resolved each rule target to, kept between checks against one catalog:
    the language server re-checks the whole project on every keystroke, and resolving targets
    (globs and tags over every product) is most of a check on a large mesh. A target is looked up
    by (target, scope, rule name), everything its resolution reads besides the catalog."""

    LIMIT = 200_000  # entries; then it starts over (a long session edits many targets)

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.entries: dict[tuple, tuple[dict[str, tuple[str, ...]], tuple[Diagnostic, ...], int]] = {}


class _Checker:
    def __init__(self, catalog: Catalog, schema: AttributeSchema | None, now: dt.datetime,
                 memo: TargetMemo | None = None):
        self.catalog = catalog
        self.schema = schema
        self.now = now
        self.diags: list[Diagnostic] = []
        self.n_errors = 0  # counted as they come: re-counting per rule made checking quadratic
        self.memo = memo.entries if memo is not None and memo.catalog is catalog else None

    def covered(self, rule: ast.Rule, scope: ast.Scope) -> dict[str, tuple[str, ...]]:
        """`coverage`, through the memo when there is one (its diagnostics replayed on a hit)."""
        memo = self.memo
        if memo is None:
            return self.coverage(rule, scope)
        key = (rule.target, scope, rule.name)
        hit = memo.get(key)
        if hit is not None:
            columns, diags, errors = hit
            self.diags.extend(diags)
            self.n_errors += errors
            return dict(columns)
        before, errors_before = len(self.diags), self.n_errors
        columns = self.coverage(rule, scope)
        if len(memo) >= TargetMemo.LIMIT:
            memo.clear()
        memo[key] = (dict(columns), tuple(self.diags[before:]), self.n_errors - errors_before)
        return columns

    def error(self, msg: str, span: Span | None, code: str) -> None:
        self.n_errors += 1
        self.diags.append(Diagnostic("error", msg, span, code=code))

    def warn(self, msg: str, span: Span | None, code: str) -> None:
        self.diags.append(Diagnostic("warning", msg, span, code=code))

    # ---- products
    def products_for(self, pattern: ast.Ident, scope: ast.Scope, rule_name: str) -> list[Product]:
        text = pattern.text
        if scope.kind == "domain":
            dom = text.partition(".")[0]
            if text == "*" or dom != scope.domain:
                self.error(
                    f"rule '{rule_name}' targets '{text}', outside domain '{scope.domain}': a domain file "
                    f"may only govern its own products (put cross-domain rules in a platform file)",
                    pattern.span, "ownership")
                return []
        if "*" not in text:
            product = self.catalog.get(text)
            if product is None:
                self.error(f"unknown product '{text}'{did_you_mean(text, self.catalog.products)}",
                           pattern.span, "unknown-product")
                return []
            return [product]
        domain, _, rest = text.partition(".")
        if domain != "*" and rest == "*":  # `sales.*`: the domain's products, not a scan of the mesh
            found = list(self.catalog.by_prefix.get(domain, ()))
        else:
            found = [p for n, p in self.catalog.products.items() if pattern_matches(text, n)]
        if not found:
            self.warn(f"'{text}' matches no product in the catalog", pattern.span, "empty-target")
        return found

    # ---- targets
    def coverage(self, rule: ast.Rule, scope: ast.Scope) -> dict[str, tuple[str, ...]]:
        target = rule.target
        out: dict[str, tuple[str, ...]] = {}
        if isinstance(target, ast.ProductTarget):
            products = self.products_for(target.product, scope, rule.name)
            for product in products:
                if target.columns is None:
                    out[product.name] = product.column_names
                    continue
                names = {c.text for c in target.columns}
                out[product.name] = tuple(c for c in product.column_names if c in names)
            if target.columns is not None:
                for col in target.columns:
                    if products and not any(p.column(col.text) for p in products):
                        where = products[0].name if len(products) == 1 else target.product.text
                        candidates = {c for p in products for c in p.column_names}
                        self.error(f"unknown column '{col.text}' in {where}{did_you_mean(col.text, candidates)}",
                                   col.span, "unknown-column")
            return {p: cols for p, cols in out.items() if cols}
        # tag target
        tax = self.catalog.taxonomy
        errors_before = self.n_errors
        for tag in target.tags:
            if tag.text not in tax:
                self.error(f"unknown tag '{tag.text}'{did_you_mean(tag.text, tax.tags)}", tag.span, "unknown-tag")
        patterns = target.products
        if not patterns:
            if scope.kind == "domain":
                products = [p for p in self.catalog.products.values() if p.domain == scope.domain]
            else:
                products = list(self.catalog.products.values())
        else:
            products = []
            for pat in patterns:
                for p in self.products_for(pat, scope, rule.name):
                    if p not in products:
                        products.append(p)
        tags = [t.text for t in target.tags]
        for product in products:
            cols = tuple(c.name for c in product.columns if any(c.has_tag(t) for t in tags))
            if cols:
                out[product.name] = cols
        if not out and self.n_errors == errors_before:  # not after an unknown tag, product or ownership error
            self.warn(f"no column carries {' or '.join(tags)} in the products this rule covers",
                      target.span, "empty-target")
        return out

    # ---- expressions
    def attribute_type(self, ref: ast.ConsumerRef) -> str:
        if self.schema is None:
            from policyengine.catalog.consumers import BUILTIN_ATTRIBUTES

            return BUILTIN_ATTRIBUTES.get(ref.attribute, "any")
        kind = self.schema.type_of(ref.attribute)
        if kind is None:
            known = list(self.schema.types) + ["id", "groups"]
            self.error(f"unknown consumer attribute '{ref.attribute}'{did_you_mean(ref.attribute, known)}",
                       ref.span, "unknown-attribute")
            return "any"
        return kind

    def expr_type(self, e: ast.Expr, product: Product | None, context: str) -> str:
        if isinstance(e, ast.Literal):
            return type_name(e.value)
        if isinstance(e, ast.ListExpr):
            return "list"
        if isinstance(e, ast.ConsumerRef):
            return self.attribute_type(e)
        if isinstance(e, ast.ColumnRef):
            if product is None:
                self.error(f"'{e.name}' is not a consumer attribute: conditions read consumer.<attribute> "
                           f"(columns can only be used in row filters)", e.span, "column-in-condition")
                return "any"
            col = product.column(e.name)
            if col is None:
                self.error(f"unknown column '{e.name}' in {product.name}"
                           f"{did_you_mean(e.name, product.column_names)}", e.span, "unknown-column")
                return "any"
            return col.logical_type
        if isinstance(e, ast.Compare):
            lt = self.expr_type(e.left, product, context)
            rt = self.expr_type(e.right, product, context)
            if product is not None and _date_against_timestamp(e, lt, rt):
                return "boolean"  # a date literal against a timestamp column: midnight UTC of that day
            self.check_compare(e, lt, rt)
            self.check_values(e)
            return "boolean"
        if isinstance(e, (ast.And, ast.Or)):
            for o in e.operands:
                self.expect_boolean(o, product, context)
            return "boolean"
        if isinstance(e, ast.Not):
            self.expect_boolean(e.operand, product, context)
            return "boolean"
        return "any"

    def expect_boolean(self, e: ast.Expr, product: Product | None, context: str) -> None:
        t = self.expr_type(e, product, context)
        if not _compatible(t, "boolean"):
            self.error(f"expected a true/false expression in {context}, found {_a(t)} value", e.span, "type")

    def check_values(self, e: ast.Compare) -> None:
        """Warn when a consumer attribute with declared `values:` is compared with another value."""
        if self.schema is None or not self.schema.allowed_values or e.op == "contains":
            return
        for ref, other in ((e.left, e.right), (e.right, e.left)):
            if not isinstance(ref, ast.ConsumerRef):
                continue
            allowed = self.schema.allowed_values.get(ref.attribute)
            if not allowed:
                continue
            if isinstance(other, ast.Literal):
                literals: tuple[ast.Literal, ...] = (other,)
            elif isinstance(other, ast.ListExpr) and other is e.right and e.op in ("in", "not in"):
                literals = other.items
            else:
                continue
            for lit in literals:
                if type_name(lit.value) == type_name(allowed[0]) and lit.value not in allowed:
                    listed = ", ".join(str(v) for v in allowed)
                    self.warn(f"{lit} is not a declared value of consumer.{ref.attribute} ({listed})",
                              lit.span, "attribute-value")

    def check_compare(self, e: ast.Compare, lt: str, rt: str) -> None:
        def element_type(x: ast.Expr) -> str:
            if isinstance(x, ast.ListExpr):
                kinds = {type_name(i.value) for i in x.items}
                return kinds.pop() if len(kinds) == 1 else "any"
            return "any"

        if e.op in ("in", "not in"):
            if not _compatible(rt, "list"):
                self.error(f"'{e.op}' needs a list on its right, found {_a(rt)} value", e.right.span, "type")
            elif not _compatible(lt, element_type(e.right)):
                self.error(f"'{e.op}' compares {_a(lt)} value with a list of {element_type(e.right)}",
                           e.span, "type")
        elif e.op == "contains":
            if not (_compatible(lt, "list") or _compatible(lt, "string")):
                self.error(f"'contains' needs a list or a string on its left, found {_a(lt)} value",
                           e.left.span, "type")
        elif not _compatible(lt, rt):
            self.error(f"'{e.op}' compares {_a(lt)} value with {_a(rt)} value (never true)", e.span, "type")
        elif e.op in ("<", "<=", ">", ">=") and lt in ("boolean", "list"):
            self.error(f"'{e.op}' cannot order {lt} values", e.span, "type")

    def nested_ok(self, e: ast.Expr) -> bool:
        """False (with an error) for an expression nested deeper than the parser accepts: one built
        in code rather than parsed would otherwise exhaust Python's stack in the checks below."""
        stack = [(e, 1)]
        while stack:
            node, depth = stack.pop()  # depth counts compound nodes only, as the parser does
            if depth > ast.MAX_EXPR_DEPTH and isinstance(node, (ast.Compare, ast.And, ast.Or, ast.Not)):
                self.error(f"expression nested too deeply (more than {ast.MAX_EXPR_DEPTH} levels): split it "
                           f"into simpler conditions", e.span, "nesting")
                return False
            if isinstance(node, ast.Compare):
                stack += ((node.left, depth + 1), (node.right, depth + 1))
            elif isinstance(node, (ast.And, ast.Or)):
                stack.extend((o, depth + 1) for o in node.operands)
            elif isinstance(node, ast.Not):
                stack.append((node.operand, depth + 1))
        return True

    def check_subjects(self, rule: ast.Rule) -> None:
        """Warn when `except` takes away every subject the rule names."""
        include, exclude = rule.subjects.include, rule.subjects.exclude
        if not exclude:
            return
        everyone = next((s for s in exclude if s.kind == "everyone"), None)
        if everyone is not None or set(include) <= set(exclude):
            span = everyone.span if everyone is not None else next(s for s in exclude if s in include).span
            self.warn(f"rule '{rule.name}' can never apply: every subject it names is also excluded "
                      f"by 'except'", span, "never-applies")

    # ---- windows
    @staticmethod
    def instant(lit: ast.Literal, end: bool) -> dt.datetime:
        v = lit.value
        if isinstance(v, dt.datetime):
            return v
        assert isinstance(v, dt.date)
        start = dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end else start

    # ---- rules
    def check_rule(self, rule: ast.Rule, scope: ast.Scope, index: int) -> CheckedRule | None:
        errors_before = self.n_errors
        seen: dict[str, ast.Annotation] = {}
        for a in rule.annotations:
            if a.key in seen:
                first = seen[a.key].span
                self.error(f"duplicate annotation '@{a.key}' on one rule (first at line {first.line})", a.span,
                           "duplicate-annotation")
            seen.setdefault(a.key, a)
            if a.key in _NON_EMPTY and not a.value.strip():
                self.error(f"{_NON_EMPTY[a.key]} cannot be empty", a.span, "name" if a.key == "name" else "annotation")
            if a.key not in KNOWN_ANNOTATIONS:
                known = ["@" + k for k in sorted(KNOWN_ANNOTATIONS)]
                self.warn(f"unknown annotation '@{a.key}'{did_you_mean('@' + a.key, known)}", a.span,
                          "unknown-annotation")
        if not rule.subjects.include:
            self.error("a rule needs at least one subject", rule.span, "subjects")
        else:
            self.check_subjects(rule)
        columns = self.covered(rule, scope)
        mask = None
        if rule.kind == "mask" and rule.mask is not None:
            try:
                mask = resolve_mask(rule.mask)
            except MaskSpecError as exc:  # say which rule and what it would mask, as the docs promise
                self.error(f"{exc}, in rule '{rule.name}' masking {_mask_target(rule.target, columns)}",
                           exc.span or rule.mask.span, "mask")
            if mask is not None:
                for pname, cols in columns.items():
                    product = self.catalog.products[pname]
                    for cname in cols:
                        col = product.column(cname)
                        if col is not None and not fits(mask, col.logical_type):
                            self.error(f"mask '{mask.name}' in rule '{rule.name}' does not fit column "
                                       f"{pname}.{cname} ({col.logical_type})", rule.mask.name.span, "mask-type")
        if rule.condition is not None:
            if self.nested_ok(rule.condition):
                self.expect_boolean(rule.condition, None, "a 'when' condition")
                if _constant(rule.condition) is False:
                    self.warn(f"rule '{rule.name}' can never apply: its 'when' condition is always false",
                              rule.condition.span, "never-applies")
        if rule.kind == "filter" and rule.row_filter is not None and self.nested_ok(rule.row_filter):
            for pname in columns:
                self.expect_boolean(rule.row_filter, self.catalog.products[pname], "a row filter")
        if rule.valid_from is not None and rule.valid_until is not None:
            if self.instant(rule.valid_from, False) >= self.instant(rule.valid_until, True):
                self.error(f"rule '{rule.name}' is never valid: 'from' is not before 'until'",
                           rule.valid_from.span, "window")
        if rule.valid_until is not None and self.instant(rule.valid_until, True) <= self.now:
            self.warn(f"rule '{rule.name}' expired on {rule.valid_until.value}", rule.valid_until.span, "expired")
        if self.n_errors > errors_before:
            return None
        return CheckedRule(rule, scope, MappingProxyType(columns), mask, index)


def _date_against_timestamp(e: ast.Compare, lt: str, rt: str) -> bool:
    """A timestamp column compared with a date literal (or `in` a list of them): allowed in row
    filters, where the date means midnight UTC of that day (as SQL compares them)."""
    if e.op == "contains":
        return False
    if e.op in ("in", "not in"):
        items = e.right.items if isinstance(e.right, ast.ListExpr) else ()
        return (lt == "timestamp" and isinstance(e.left, ast.ColumnRef) and bool(items)
                and all(type_name(i.value) == "date" for i in items))
    for col, other, kind in ((e.left, e.right, lt), (e.right, e.left, rt)):
        if kind == "timestamp" and isinstance(col, ast.ColumnRef) and isinstance(other, ast.Literal) \
                and type_name(other.value) == "date":
            return True
    return False


def _constant(e: ast.Expr) -> bool | None:
    """The value of a condition that reads no attribute (`false`, `x in []`...), else None."""
    if isinstance(e, ast.Literal):
        return e.value if isinstance(e.value, bool) else None
    if isinstance(e, ast.Compare):
        if isinstance(e.right, ast.ListExpr) and not e.right.items and e.op in ("in", "not in"):
            return e.op == "not in"
        if isinstance(e.left, ast.ListExpr) and not e.left.items and e.op == "contains":
            return False
        return None
    if isinstance(e, ast.Not):
        inner = _constant(e.operand)
        return None if inner is None else not inner
    if isinstance(e, (ast.And, ast.Or)):
        values = [_constant(o) for o in e.operands]
        stop = isinstance(e, ast.Or)  # the value that decides: true for or, false for and
        if stop in values:
            return stop
        return (not stop) if all(v is not None for v in values) else None
    return None


def _unconditional(rule: ast.Rule) -> bool:
    return rule.condition is None and not rule.purposes and rule.valid_from is None and rule.valid_until is None


def _subjects_cover(outer: ast.Subjects, inner: ast.Subjects) -> bool:
    """Whether everyone `inner` selects is also selected by `outer` (conservative)."""
    if outer.exclude:
        if not inner.exclude or set(outer.exclude) - set(inner.exclude):
            return False
    if any(s.kind == "everyone" for s in outer.include):
        return True
    return set(inner.include) <= set(outer.include) and not any(s.kind == "everyone" for s in inner.include)


def _shadowed_allows(rules: Sequence[CheckedRule]) -> list[Diagnostic]:
    """Allows whose every granted column is denied, unconditionally, to the same subjects.

    Denies are indexed by product, so each allow is only compared with the denies that cover
    one of its products (10,000 rules check in milliseconds, not in seconds).
    """
    by_product: dict[str, list[tuple[CheckedRule, dict[str, frozenset[str]]]]] = {}
    for r in rules:
        if r.rule.kind == "deny" and _unconditional(r.rule):
            cols = {p: frozenset(c) for p, c in r.columns.items()}
            for p in cols:
                by_product.setdefault(p, []).append((r, cols))
    out = []
    for allow in rules:
        if allow.rule.kind != "allow" or not allow.columns:
            continue
        first = next(iter(allow.columns))
        for deny, denied in by_product.get(first, ()):
            if not all(p in denied and denied[p].issuperset(cols) for p, cols in allow.columns.items()):
                continue
            if not _subjects_cover(deny.rule.subjects, allow.rule.subjects):
                continue
            out.append(Diagnostic(
                "warning",
                f"allow '{allow.name}' can never apply: every column it grants is denied to the same "
                f"subjects by '{deny.name}' ({deny.rule.location})",
                allow.rule.span, code="shadowed"))
            break
    return out


def check_policies(
    files: Iterable[ast.PolicyFile],
    catalog: Catalog,
    schema: AttributeSchema | None = None,
    now: dt.datetime | None = None,
    sources: Mapping[str, str] | None = None,
    memo: TargetMemo | None = None,
) -> CheckResult:
    """Check every rule of every file against the catalog; never raises for policy mistakes.

    `memo` (for a caller that checks again and again against the same catalog, the language
    server) keeps resolved targets between calls; the result is the same with or without it."""
    files = tuple(files)
    checker = _Checker(catalog, schema, now or dt.datetime.now(dt.UTC), memo)
    checked: list[CheckedRule] = []
    names: dict[str, ast.Rule] = {}
    ids: dict[str, ast.Rule] = {}
    index = 0
    for f in files:
        scope = f.scope
        if scope is None:
            checker.error("a policy file must start with 'scope platform' or 'scope domain <name>'",
                          Span(f.path, 1, 1, 1, 2), "scope")
            continue
        if scope.kind == "domain" and scope.domain not in catalog.domains:
            checker.warn(f"domain '{scope.domain}' has no product in the catalog"
                         f"{did_you_mean(scope.domain or '', catalog.domains)}", scope.span, "unknown-domain")
        for rule in f.rules:
            explicit = rule.explicit_name
            if explicit:  # an empty name is an error of its own (check_rule)
                if explicit in names:
                    checker.error(f"duplicate rule name '{explicit}' (also at {names[explicit].location})",
                                  rule.span, "duplicate-name")
                names[explicit] = rule
            ident = next((a.value.strip() for a in rule.annotations if a.key == "id" and a.value.strip()), None)
            if ident:  # `policyengine diff` matches rules across versions by @id: it must be unique
                if ident in ids:
                    checker.error(f"duplicate rule id '{ident}' (also at {ids[ident].location})",
                                  rule.span, "duplicate-id")
                ids[ident] = rule
            result = checker.check_rule(rule, scope, index)
            index += 1
            if result is not None:
                checked.append(result)
    diags = checker.diags + _shadowed_allows(checked)
    # one mistake reached through several targets (`filter sales.* ...`) is reported once
    first: dict[tuple, Diagnostic] = {}
    for d in diags:
        first.setdefault((d.severity, d.message, d.span, d.file, d.code), d)
    diags = list(first.values())
    return CheckResult(files, tuple(checked), tuple(diags), MappingProxyType(dict(sources or {})))


def _mask_target(target: ast.Target, columns: Mapping[str, Iterable[str]]) -> str:
    """What a mask rule would mask, for its errors: the tag(s) and the columns that carry them, or
    the columns named (at most five, then a count)."""
    names = [f"{p}.{c}" for p, cols in sorted(columns.items()) for c in sorted(cols)]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if isinstance(target, ast.TagTarget):
        tags = ", ".join(t.text for t in target.tags)
        return f"tag {tags} ({shown or 'no column yet'})"
    return shown or target.product.text

