"""The canonical formatter: one layout for every policy, idempotent, comments kept.

Layout: header comments, the scope, then each rule separated by one blank line, its leading
comments and annotations above it. A rule that fits in 88 columns stays on one line; otherwise
each clause (`for`, `when`, `from`, `until`) goes on its own line, indented four spaces.
Comments inside a rule move above it; a comment after a rule's `;` stays there.
"""

from __future__ import annotations

from policyengine.language import ast
from policyengine.language.ast import (  # noqa: F401 - the canonical text of names and values
    KEYWORDS,
    PLAIN_NAME,
    format_expr,
    format_literal,
    format_name,
    quote_string,
)

MAX_WIDTH = 88
INDENT = "    "


def _subject(s: ast.Subject) -> str:
    if s.kind == "everyone":
        return "everyone"
    name = s.name or ""
    return f"{s.kind}:{name if PLAIN_NAME.match(name) else quote_string(name)}"


def format_subjects(subjects: ast.Subjects) -> str:
    text = "to " + ", ".join(_subject(s) for s in subjects.include)
    if subjects.exclude:
        text += " except " + ", ".join(_subject(s) for s in subjects.exclude)
    return text


def format_target(target: ast.Target) -> str:
    if isinstance(target, ast.TagTarget):
        text = "tagged " + ", ".join(t.text for t in target.tags)
        if target.products:
            text += " in " + ", ".join(p.text for p in target.products)
        return text
    product = target.product.text
    if target.columns is None:
        return product
    if len(target.columns) == 1:
        return f"{product}.{format_name(target.columns[0].text)}"
    return product + ".{" + ", ".join(format_name(c.text) for c in target.columns) + "}"


def format_mask(spec: ast.MaskSpec) -> str:
    if not spec.args:
        return spec.name.text
    args = ", ".join(
        (f"{a.name}={format_literal(a.value.value)}" if a.name else format_literal(a.value.value))
        for a in spec.args
    )
    return f"{spec.name.text}({args})"


def _head(rule: ast.Rule) -> str:
    subjects = format_subjects(rule.subjects)
    if rule.kind in ("allow", "deny"):
        return f"{rule.kind} read {format_target(rule.target)} {subjects}"
    if rule.kind == "mask":
        assert rule.mask is not None
        return f"mask {format_target(rule.target)} using {format_mask(rule.mask)} {subjects}"
    assert rule.row_filter is not None
    return f"filter {format_target(rule.target)} rows where {format_expr(rule.row_filter)} {subjects}"


def _clauses(rule: ast.Rule) -> list[str]:
    out = []
    if rule.purposes:
        out.append("for purpose " + ", ".join(p.text for p in rule.purposes))
    if rule.condition is not None:
        out.append("when " + format_expr(rule.condition))
    if rule.valid_from is not None:
        out.append("from " + format_literal(rule.valid_from.value))
    if rule.valid_until is not None:
        out.append("until " + format_literal(rule.valid_until.value))
    return out


def format_rule(rule: ast.Rule) -> str:
    """One rule with its annotations, canonically laid out (no comments)."""
    lines = [f"@{a.key}({quote_string(a.value)})" for a in rule.annotations]
    head, clauses = _head(rule), _clauses(rule)
    one_line = " ".join([head, *clauses]) + ";"
    if len(one_line) <= MAX_WIDTH or not clauses:
        lines.append(one_line)
    else:
        lines.append(head)
        lines.extend(INDENT + c for c in clauses)
        lines[-1] += ";"
    return "\n".join(lines)


def format_file(policy: ast.PolicyFile) -> str:
    """The canonical text of a parsed file; `parse(format_file(f))` equals `f`."""
    rules = policy.rules
    scope_line = policy.scope.span.line if policy.scope else None
    scope_column = policy.scope.span.column if policy.scope else 0
    header: list[str] = []
    scope_trailing: str | None = None
    leading: dict[int, list[str]] = {i: [] for i in range(len(rules))}
    trailing: dict[int, list[str]] = {i: [] for i in range(len(rules))}
    footer: list[str] = []
    end_lines: dict[int, int] = {}
    for i, r in enumerate(rules):
        end_lines[r.span.end_line] = i  # last rule ending on that line wins
    for c in policy.comments:
        if scope_line is not None and c.line == scope_line and c.column > scope_column:
            scope_trailing = c.text
            continue
        if scope_line is not None and c.line < scope_line:
            header.append(c.text)
            continue
        if c.line in end_lines and c.column > rules[end_lines[c.line]].span.end_column - 1:
            trailing[end_lines[c.line]].append(c.text)
            continue
        for i, r in enumerate(rules):
            if c.line <= r.span.end_line:
                leading[i].append(c.text)
                break
        else:
            footer.append(c.text)
    blocks: list[str] = []
    if header:
        blocks.append("\n".join(header))
    if policy.scope is not None:
        s = policy.scope
        line = "scope platform" if s.kind == "platform" else f"scope domain {s.domain}"
        blocks.append(line + (f"  {scope_trailing}" if scope_trailing else ""))
    for i, r in enumerate(rules):
        text = format_rule(r)
        if trailing[i]:
            text += "  " + " ".join(trailing[i])
        blocks.append("\n".join([*leading[i], text]))
    if footer:
        blocks.append("\n".join(footer))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def format_text(text: str, path: str = "<input>") -> str:
    """Parse and canonically format policy text (raises PolicyError on syntax errors)."""
    from policyengine.language.parser import parse_policy

    return format_file(parse_policy(text, path))
