"""What a language server answers over an `Analysis`, as plain data (no LSP types): the symbol
under a position, completions, hover text, definitions, references, document symbols, the
did-you-mean fixes of diagnostics and the results of policy test files.

Positions are 1-based (line, column) in characters, as `Span`s are; the server converts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyengine.authoring.access import Row, access_matrix, purposes_of
from policyengine.authoring.workspace import Analysis, span_contains
from policyengine.catalog.contracts import Column, Product
from policyengine.diagnostics import Diagnostic, Span
from policyengine.engine.decision import RuleRef
from policyengine.language import ast
from policyengine.language.ast import format_expr
from policyengine.language.checker import pattern_matches
from policyengine.language.masks import STRATEGIES

KEYWORDS = ("allow read", "deny read", "mask", "filter", "using", "rows where", "to", "everyone",
            "except", "for purpose", "when", "from", "until", "tagged", "in", "and", "or", "not",
            "contains", "scope platform", "scope domain")

# ------------------------------------------------------------------ the symbol under a position


@dataclass(frozen=True)
class Symbol:
    """What a position points at: kind is product, column, tag, mask, subject, purpose,
    attribute, rule_name or rule; `product` is the product a column belongs to."""

    kind: str
    name: str
    span: Span
    rule: ast.Rule
    product: str | None = None


def _idents(rule: ast.Rule) -> Iterator[Symbol]:
    """Every named thing a rule mentions, with its span."""
    t = rule.target
    products: list[str] = []
    if isinstance(t, ast.ProductTarget):
        products = [t.product.text]
        yield Symbol("product", t.product.text, t.product.span, rule)
        for c in t.columns or ():
            yield Symbol("column", c.text, c.span, rule, t.product.text)
    else:
        for tag in t.tags:
            yield Symbol("tag", tag.text, tag.span, rule)
        for p in t.products:
            products.append(p.text)
            yield Symbol("product", p.text, p.span, rule)
    if rule.mask is not None:
        yield Symbol("mask", rule.mask.name.text, rule.mask.name.span, rule)
    for s in (*rule.subjects.include, *rule.subjects.exclude):
        yield Symbol("subject", f"{s.kind}:{s.name}" if s.name else s.kind, s.span, rule)
    for p in rule.purposes:
        yield Symbol("purpose", p.text, p.span, rule)
    single = products[0] if len(products) == 1 else None
    for e in (rule.condition, rule.row_filter):
        for node in _walk(e):
            if isinstance(node, ast.ConsumerRef):
                yield Symbol("attribute", node.attribute, node.span, rule)
            elif isinstance(node, ast.ColumnRef):
                yield Symbol("column", node.name, node.span, rule, single)
    for a in rule.annotations:
        if a.key == "name":
            yield Symbol("rule_name", a.value, a.span, rule)


def _walk(e: ast.Expr | None) -> Iterator[ast.Expr]:
    if e is None:
        return
    yield e
    if isinstance(e, ast.Compare):
        yield from _walk(e.left)
        yield from _walk(e.right)
    elif isinstance(e, (ast.And, ast.Or)):
        for o in e.operands:
            yield from _walk(o)
    elif isinstance(e, ast.Not):
        yield from _walk(e.operand)


def symbol_at(analysis: Analysis, path: Path, line: int, column: int) -> Symbol | None:
    """The innermost named thing at (line, column) of a policy file, else the rule there."""
    name = analysis.file_named(path)
    f = analysis.files.get(name) if name else None
    if f is None:
        return None
    for rule in f.rules:
        if not span_contains(rule.span, line, column):
            continue
        for sym in _idents(rule):
            if span_contains(sym.span, line, column):
                return sym
        return Symbol("rule", rule.name, rule.span, rule)
    return None


# ------------------------------------------------------------------ catalog look-ups


def products_named(analysis: Analysis, pattern: str) -> list[Product]:
    """The products a product name or glob (`sales.*`, `*`) names."""
    return [p for n, p in sorted(analysis.catalog.products.items()) if pattern_matches(pattern, n)]


def column_of(analysis: Analysis, product: str | None, name: str) -> tuple[Product, Column] | None:
    if product is None:
        return None
    for p in products_named(analysis, product):
        c = p.column(name)
        if c is not None:
            return p, c
    return None


def checked_rule(analysis: Analysis, rule: ast.Rule) -> Any:
    """The checker's resolution of `rule` (None when it did not check)."""
    for r in analysis.result.rules:
        if r.rule.span == rule.span:
            return r
    return None


# ------------------------------------------------------------------ hover


def _caveat(analysis: Analysis) -> str:
    n = analysis.errors
    return (f"\n\n_The project has {n} error(s): answers leave out the rules that do not check._"
            if n else "")


def _who_reads(analysis: Analysis, product: str, columns: tuple[str, ...]) -> list[str]:
    """Markdown table lines: per consumer (and purpose), the engine's outcome per column."""
    engine = analysis.engine()
    m = access_matrix(engine, product, columns)
    head = "| consumer | " + " | ".join(f"`{c}`" for c in columns) + " | rows |"
    out = [head, "|" + "---|" * (len(columns) + 2)]
    previous: dict[str, tuple] = {}
    for row, cells, flt in zip(m.rows, m.cells, m.filters, strict=True):
        key = (tuple(c.text for c in cells), flt)
        who = row.consumer.id
        if row.purpose is not None and previous.get(who) == key:
            continue  # this purpose changes nothing for this consumer: one line says it
        previous.setdefault(who, key)
        out.append(f"| {_md(row.label)} | " + " | ".join(c.text for c in cells)
                   + f" | {_md(flt) if flt else 'all'} |")
    return out


def _by_group(analysis: Analysis, product: str, column: str) -> list[str]:
    """Per group of the consumers file, its members' outcomes on the column (no purpose given)."""
    m = access_matrix(analysis.engine(), product, (column,))
    by_group: dict[str, dict[str, list[str]]] = {}
    for row, cells in zip(m.rows, m.cells, strict=True):
        if row.purpose is None and row.known:
            for g in row.consumer.groups:
                by_group.setdefault(g, {}).setdefault(cells[0].text, []).append(row.consumer.id)
    if not by_group:
        return []
    lines = ["**By group** (no purpose given):", ""]
    for g, outcomes in sorted(by_group.items()):
        parts = [f"{text} ({', '.join(_md(w) for w in who)})" for text, who in sorted(outcomes.items())]
        lines.append(f"- `{_md(g)}`: " + ("; ".join(parts) if len(parts) > 1 else parts[0]))
    return lines


def _md(text: str) -> str:
    """Text safe inside a markdown table cell (no pipe, no markup)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|])", r"\\\1", text)


def hover(analysis: Analysis, path: Path, line: int, column: int) -> tuple[str, Span] | None:
    """Markdown describing what is under the position, and the span it describes."""
    sym = symbol_at(analysis, path, line, column)
    if sym is None:
        return None
    try:
        text = _hover_text(analysis, sym)
    except Exception as exc:  # an answer we cannot compute is said, never a crash
        text = f"(no description: {exc.__class__.__name__})"
    return (text, sym.span) if text else None


def _hover_text(analysis: Analysis, sym: Symbol) -> str | None:
    if sym.kind == "column":
        found = column_of(analysis, sym.product, sym.name)
        if found is None:
            return None
        p, c = found
        return "\n".join([*_column_lines(p, c), "", "**Who reads it how** (computed by the engine, now):",
                          "", *_who_reads(analysis, p.name, (c.name,)), "", *_by_group(analysis, p.name, c.name)]
                         ) + _caveat(analysis)
    if sym.kind == "product":
        ps = products_named(analysis, sym.name)
        if not ps:
            return None
        lines = []
        for p in ps[:10]:
            lines.append(f"**{_md(p.name)}** (domain `{p.domain}`, {len(p.columns)} columns) — "
                         f"contract `{_md(_where(p.span, p.source))}`")
            if p.description:
                lines.append(f"\n{_md(p.description)}")
        if len(ps) > 10:
            lines.append(f"\n… and {len(ps) - 10} more products")
        return "\n\n".join(lines)
    if sym.kind == "tag":
        return _tag_text(analysis, sym.name)
    if sym.kind == "mask":
        s = STRATEGIES.get(sym.name)
        return f"mask **{s.name}**{_params(s)}: {_md(s.summary)}" if s else None
    if sym.kind in ("rule", "rule_name"):
        return _rule_text(analysis, sym.rule)
    if sym.kind == "attribute":
        schema = analysis.directory.schema if analysis.directory else None
        kind = schema.type_of(sym.name) if schema else None
        return f"consumer attribute `{sym.name}`: {kind or 'not in the consumer schema'}"
    if sym.kind == "subject":
        return _subject_text(analysis, sym.name)
    return None


def _where(span: Span | None, source: str) -> str:
    return f"{span.file}:{span.line}" if span is not None else source


def _column_lines(p: Product, c: Column) -> list[str]:
    tags = ", ".join(f"`{t}`" for t in sorted(c.tags)) or "none"
    lines = [f"**{_md(p.name)}.{_md(c.name)}**: `{c.logical_type}`", "",
             f"tags: {tags}  ", f"domain: `{p.domain}`  ",
             f"contract: `{_md(_where(c.span or p.span, p.source))}`"]
    if c.description:
        lines += ["", _md(c.description)]
    return lines


def _tag_text(analysis: Analysis, tag: str) -> str:
    tax = analysis.catalog.taxonomy
    info = tax.tags.get(tag)
    lines = [f"tag **{_md(tag)}**" + (f": {_md(info.description)}" if info and info.description else "")
             + (" (sensitive)" if tax.is_sensitive(tag) else "")]
    for p in sorted(analysis.catalog.products.values(), key=lambda p: p.name):
        cols = tuple(c.name for c in p.columns if c.has_tag(tag))
        if not cols:
            continue
        lines += ["", f"**{_md(p.name)}**: " + ", ".join(f"`{c}`" for c in cols), "",
                  *_who_reads(analysis, p.name, cols)]
    if len(lines) == 1:
        lines.append("\nno column of the catalog carries it")
    return "\n".join(lines) + _caveat(analysis)


def _params(s: Any) -> str:
    if not s.params:
        return ""
    return "(" + ", ".join(f"{p.name}{'' if p.required else f'={p.default!r}'}" for p in s.params) + ")"


def _subject_text(analysis: Analysis, name: str) -> str | None:
    d = analysis.directory
    if d is None or ":" not in name:
        return None
    kind, _, who = name.partition(":")
    if kind == "group":
        members = sorted(c.id for c in d.consumers.values() if who in c.groups)
        return f"group `{who}`: " + (", ".join(f"`{m}`" for m in members) or "no consumer belongs to it")
    c = d.consumers.get(who)
    if c is None:
        return f"user `{who}`: not in the consumers file"
    return f"user `{who}`: groups " + (", ".join(f"`{g}`" for g in sorted(c.groups)) or "none")


def rule_summary(rule: ast.Rule) -> str:
    """One line saying what a rule decides."""
    t = rule.target
    if isinstance(t, ast.ProductTarget):
        what = t.product.text + (".{" + ", ".join(c.text for c in t.columns) + "}" if t.columns else "")
    else:
        what = "columns tagged " + ", ".join(x.text for x in t.tags)
    subj = ", ".join(f"{s.kind}:{s.name}" if s.name else s.kind for s in rule.subjects.include)
    if rule.subjects.exclude:
        subj += " except " + ", ".join(f"{s.kind}:{s.name}" if s.name else s.kind for s in rule.subjects.exclude)
    verb = {"allow": "allows reading", "deny": "denies reading", "mask": "masks",
            "filter": "filters the rows of"}.get(rule.kind, rule.kind)
    extra = ""
    if rule.mask is not None:
        extra += f" with {rule.mask.name.text}"
    if rule.row_filter is not None:
        extra += f" to rows where {format_expr(rule.row_filter)}"
    if rule.purposes:
        extra += " for purpose " + ", ".join(p.text for p in rule.purposes)
    if rule.condition is not None:
        extra += f" when {format_expr(rule.condition)}"
    return f"{verb} {what}{extra} for {subj}"


def _rule_text(analysis: Analysis, rule: ast.Rule) -> str:
    lines = [f"rule **{_md(rule.name)}** {_md(rule_summary(rule))}"]
    checked = checked_rule(analysis, rule)
    if checked is None:
        return lines[0] + "\n\n_It does not check: no decision uses it._"
    ref = RuleRef.of(rule)
    covered = {p: cols for p, cols in checked.columns.items() if cols}
    lines.append("\ncovers " + "; ".join(f"`{p}` ({len(c)} columns)" for p, c in sorted(covered.items())))
    if rule.kind == "filter":
        return "\n".join(lines) + _caveat(analysis)
    engine = analysis.engine()
    beaten: dict[tuple[str, str], set[str]] = {}
    for product, cols in sorted(covered.items()):
        m = access_matrix(engine, product, cols)
        for row, cells in zip(m.rows, m.cells, strict=True):
            for col, cell in zip(cols, cells, strict=True):
                if ref in cell.applied and cell.rule is not None and cell.rule != ref:
                    key = (cell.rule.name, f"{cell.text}")
                    beaten.setdefault(key, set()).add(f"{_who(row)} on {product}.{col}")
    if beaten:
        lines.append("\n**Rules that win over it** (by the engine's decisions):\n")
        for (name, effect), where in sorted(beaten.items()):
            shown = sorted(where)
            more = f", … {len(shown) - 6} more" if len(shown) > 6 else ""
            lines.append(f"- `{_md(name)}` ({effect}) for " + ", ".join(_md(w) for w in shown[:6]) + more)
    else:
        lines.append("\nNo other rule wins over it for any consumer of the consumers file.")
    return "\n".join(lines) + _caveat(analysis)


def _who(row: Row) -> str:
    return row.consumer.id + (f" for {row.purpose}" if row.purpose else "")


# ------------------------------------------------------------------ definition and references


def definition(analysis: Analysis, path: Path, line: int, column: int) -> list[Span]:
    """Where the thing under the position is declared: a product or column in its contract, a
    rule name at its rule, a group or user in the consumers file."""
    sym = symbol_at(analysis, path, line, column)
    if sym is None:
        return []
    if sym.kind == "product":
        return [p.span for p in products_named(analysis, sym.name) if p.span is not None][:20]
    if sym.kind == "column":
        found = column_of(analysis, sym.product, sym.name)
        return [found[1].span] if found and found[1].span is not None else []
    if sym.kind in ("rule_name", "rule"):
        return [r.span for f in analysis.files.values() for r in f.rules if r.name == sym.name]
    if sym.kind == "subject" and analysis.directory is not None and sym.name.startswith("user:"):
        d = analysis.directory
        who = sym.name.partition(":")[2]
        if who in d.lines and analysis.config.consumers is not None:
            n = d.lines[who]
            return [Span(str(analysis.config.consumers), n, 1, n, 1 + len(who))]
    return []


def rule_named(analysis: Analysis, name: str) -> ast.Rule | None:
    """The rule whose name (`@name`, or its generated one) is `name`."""
    for f in analysis.files.values():
        for r in f.rules:
            if r.name == name:
                return r
    return None


def references(analysis: Analysis, path: Path, line: int, column: int) -> list[Span]:
    """Every place a policy file names the same product, column, tag, mask, subject, purpose or
    attribute; for a column also the rules covering it through a glob or a tag (at their target)."""
    sym = symbol_at(analysis, path, line, column)
    if sym is None:
        return []
    out: list[Span] = []
    target_col = column_of(analysis, sym.product, sym.name) if sym.kind == "column" else None
    for f in analysis.files.values():
        for rule in f.rules:
            named = False
            for other in _idents(rule):
                if other.kind != sym.kind or other.name != sym.name:
                    continue
                if sym.kind == "column" and (column_of(analysis, other.product, other.name) != target_col):
                    continue
                out.append(other.span)
                named = True
            if target_col is not None and not named:
                checked = checked_rule(analysis, rule)
                p, c = target_col
                if checked is not None and c.name in checked.columns.get(p.name, ()):
                    out.append(rule.target.span)
            if sym.kind == "rule" and rule.name == sym.name:
                out.append(rule.span)
    return out


# ------------------------------------------------------------------ document symbols


@dataclass(frozen=True)
class DocSymbol:
    name: str
    detail: str
    kind: str  # rule or scope
    span: Span


def document_symbols(analysis: Analysis, path: Path) -> list[DocSymbol]:
    name = analysis.file_named(path)
    f = analysis.files.get(name) if name else None
    if f is None:
        return []
    out = []
    if f.scope is not None:
        out.append(DocSymbol(f"scope {f.scope.kind}" + (f" {f.scope.domain}" if f.scope.domain else ""),
                             "", "scope", f.scope.span))
    out.extend(DocSymbol(r.name, rule_summary(r), "rule", r.span) for r in f.rules)
    return out


# ------------------------------------------------------------------ code actions

_SUGGESTION = re.compile(r"\(did you mean '([^']+)'\?\)")
_QUOTED = re.compile(r"'([^']+)'")


def quick_fix(diag: Diagnostic, source: str) -> tuple[Span, str] | None:
    """The did-you-mean fix of a diagnostic: the span of the misspelt word and its replacement."""
    m = _SUGGESTION.search(diag.message)
    span = diag.span
    if m is None or span is None or span.line != span.end_line:
        return None
    lines = source.split("\n")
    if not 0 < span.line <= len(lines):
        return None
    text = lines[span.line - 1][span.column - 1:span.end_column - 1]
    for word in _QUOTED.findall(diag.message[:m.start()]):
        at = text.rfind(word)
        if at >= 0 and word != m.group(1):
            col = span.column + at
            return Span(span.file, span.line, col, span.line, col + len(word)), m.group(1)
    return None


# ------------------------------------------------------------------ completion


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # product, column, tag, group, user, mask, purpose, attribute, keyword
    detail: str = ""
    insert: str | None = None  # a snippet (with $1 placeholders) when it differs from the label


_PRODUCT_DOT = re.compile(r"([A-Za-z_][\w\-]*\.[A-Za-z_*][\w\-]*)\.(\{[^}]*,\s*|\{\s*)?([\w\-]*)$")
_CONSUMER_DOT = re.compile(r"consumer\.([\w\-]*)$")
_SUBJECT = re.compile(r"(group|user)\s*:\s*([\w\-]*)$")
_USING = re.compile(r"\busing\s+([\w\-]*)$")
_PURPOSE = re.compile(r"\bfor\s+purposes?\s+(?:[\w\-]+\s*,\s*)*([\w\-]*)$")
_PURPOSES = re.compile(r"\bfor\s+purposes?\s+([\w\-]+(?:\s*,\s*[\w\-]+)*)")
_TAGGED = re.compile(r"\btagged\s+(?:[\w.\-]+\s*,\s*)*([\w.\-]*)$")
_WORD = re.compile(r"([\w.\-]*)$")


def completions(analysis: Analysis, path: Path, line: int, column: int) -> list[Completion]:
    """What may be written at the position, from the catalog, the consumers file, the mask
    registry and the rules (purposes), chosen by the text before the cursor."""
    name = analysis.file_named(path) or str(path)
    text = analysis.sources.get(name)
    if text is None:
        return []
    lines = text.split("\n")
    before = lines[line - 1][:column - 1] if 0 < line <= len(lines) else ""
    cat = analysis.catalog
    d = analysis.directory
    if m := _CONSUMER_DOT.search(before):
        schema = d.schema if d else None
        return [Completion(a, "attribute", t) for a, t in sorted((schema.types if schema else {}).items())]
    if m := _SUBJECT.search(before):
        consumers = d.consumers.values() if d else ()
        if m.group(1) == "group":
            groups = sorted({g for c in consumers for g in c.groups})
            return [Completion(g, "group", f"{sum(g in c.groups for c in consumers)} consumer(s)") for g in groups]
        return [Completion(c.id, "user", ", ".join(sorted(c.groups))) for c in sorted(consumers, key=lambda c: c.id)]
    if _USING.search(before):
        return [_mask_completion(s) for _, s in sorted(STRATEGIES.items())]
    if _PURPOSE.search(before):
        found: set[str] = set()
        engine = analysis.engine()
        for product_name in cat.products:
            found.update(purposes_of(engine, product_name))
        for source in analysis.sources.values():  # files that do not parse (the one typed in) too
            for listed in _PURPOSES.findall(source):
                found.update(x.strip() for x in listed.split(","))
        return [Completion(p, "purpose") for p in sorted(found)]
    if _TAGGED.search(before):
        return [Completion(t, "tag", info.description) for t, info in sorted(cat.taxonomy.tags.items())]
    if m := _PRODUCT_DOT.search(before):
        cols: dict[str, Column] = {}
        for p in products_named(analysis, m.group(1)):
            for c in p.columns:
                cols.setdefault(c.name, c)
        if cols:
            return [Completion(n, "column", f"{c.logical_type} {' '.join(sorted(c.tags))}".strip())
                    for n, c in cols.items()]
    out = [Completion(n, "product", f"domain {p.domain}") for n, p in sorted(cat.products.items())]
    out += [Completion(f"{dom}.*", "product", "every product of the domain") for dom in sorted(cat.domains)]
    out += [Completion(k, "keyword") for k in KEYWORDS]
    return out


def _mask_completion(s: Any) -> Completion:
    if not s.params:
        return Completion(s.name, "mask", s.summary)
    args = ", ".join(f"${{{i}:{p.name if p.required else repr(p.default)}}}" for i, p in enumerate(s.params, 1))
    return Completion(s.name, "mask", f"{s.name}{_params(s)}: {s.summary}", f"{s.name}({args})")
