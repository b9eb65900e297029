"""Golden-file helpers: a readable dump of the AST (with spans), and compare-or-regenerate.

`UPDATE_GOLDEN=1 pytest tests/language` rewrites every golden file from the current output;
review the diff before committing it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

from policyengine.diagnostics import Span
from policyengine.language import ast

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def span_text(span: Span) -> str:
    return f"@{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def _value(v: object) -> str:
    """A literal value with its type, so 1, 1.0 and true never look alike."""
    if isinstance(v, bool):
        return f"bool:{str(v).lower()}"
    if isinstance(v, dt.datetime):
        return f"timestamp:{v.isoformat()}"
    if isinstance(v, dt.date):
        return f"date:{v.isoformat()}"
    return f"{type(v).__name__}:{v!r}"


def dump(node: object, indent: str = "") -> list[str]:
    """An indented tree of an AST node: class, fields, spans; empty/None fields left out."""
    if isinstance(node, ast.Literal):
        return [f"{indent}Literal {_value(node.value)} {span_text(node.span)}"]
    if isinstance(node, ast.Ident):
        return [f"{indent}Ident {node.text!r} {span_text(node.span)}"]
    if isinstance(node, ast.Comment):
        return [f"{indent}Comment {node.line}:{node.column} {node.text!r}"]
    if isinstance(node, tuple):
        out = []
        for item in node:
            out.extend(dump(item, indent))
        return out
    if not dataclasses.is_dataclass(node):
        return [f"{indent}{node!r}"]
    head = type(node).__name__
    span = getattr(node, "span", None)
    scalars, children = [], []
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        if value is None or value == ():
            continue
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            scalars.append(f"{f.name}={value!r}")
        else:
            children.append((f.name, value))
    line = f"{indent}{head}" + "".join(f" {s}" for s in scalars)
    if isinstance(span, Span):
        line += f" {span_text(span)}"
    out = [line]
    for name, value in children:
        out.append(f"{indent}  {name}:")
        out.extend(dump(value, indent + "    "))
    return out


def dump_file(policy: ast.PolicyFile) -> str:
    lines = []
    if policy.scope is not None:
        lines.extend(dump(policy.scope))
    for rule in policy.rules:
        lines.extend(dump(rule))
    for comment in policy.comments:
        lines.extend(dump(comment))
    return "\n".join(lines) + "\n"


def check_golden(path: Path, actual: str) -> None:
    """Compare `actual` with the golden file (or write it when UPDATE_GOLDEN=1)."""
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(f"missing golden file {path}: run with UPDATE_GOLDEN=1 and review it")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path.name} differs from its golden file (UPDATE_GOLDEN=1 regenerates)"
