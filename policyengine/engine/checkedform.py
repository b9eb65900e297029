"""A checked policy set (`CheckResult`) as JSON-able data and back, for signed bundles.

`policyengine build` checks the policies against the catalog once; a replica that loads the
bundle then rebuilds the parsed files, the rules resolved to the columns they cover and the
checker's warnings from this form instead of parsing (Lark) and checking again, which on a
10,000-product mesh is most of a load. The form holds plain JSON values only: an AST node is
`{"@": class name, "a": [its fields in order]}`, with the class looked up in a fixed table of the
AST's own dataclasses (a `Span` is `{"s": [file, line, column, end line, end column]}`; nothing else can be named, nothing is executed, no pickle); a
tuple is a list; a date or timestamp literal is `{"@": "date"|"datetime", "v": ISO text}`.

A resolved mask is not stored: it is `resolve_mask` of the rule's mask spec, as the checker
computes it. Anything malformed raises `ValueError` (the bundle loader turns it into a one-line
refusal); the form is trusted as far as the signature over it goes, like the sources beside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from policyengine.diagnostics import Diagnostic, Span
from policyengine.language import ast
from policyengine.language.checker import CheckedRule, CheckResult
from policyengine.language.masks import resolve_mask

FORM = 1

_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in [*vars(ast).values(), Span]
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ in (ast.__name__, Span.__module__)
}
_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _CLASSES.values()
}


# ---------------------------------------------------------------- encoding


def _encode(value: Any) -> Any:
    cls = value.__class__
    if cls is Span:  # the most frequent node: a short form
        return {"s": [value.file, value.line, value.column, value.end_line, value.end_column]}
    fields = _FIELDS.get(cls)
    if fields is not None:
        return {"@": cls.__name__, "a": [_encode(getattr(value, f)) for f in fields]}
    if cls is tuple or cls is list:
        return [_encode(v) for v in value]
    if cls is dt.datetime:
        return {"@": "datetime", "v": value.isoformat()}
    if cls is dt.date:
        return {"@": "date", "v": value.isoformat()}
    if value is None or cls in (str, int, bool) or (cls is float and math.isfinite(value)):
        return value
    raise ValueError(f"cannot store a {cls.__name__} in a checked form")


def _diagnostic(d: Diagnostic) -> list[Any]:
    return [d.severity, d.message, _encode(d.span), d.file, d.code, list(d.notes)]


def encode(result: CheckResult, revision: str) -> dict[str, Any]:
    """A checked policy set without errors as JSON-able data (see the module docstring), bound to
    the bundle revision of the inputs it was checked from."""
    if result.errors:
        raise ValueError("only a policy set without errors has a checked form")
    where = {id(rule): (i, j) for i, f in enumerate(result.files) for j, rule in enumerate(f.rules)}
    rules = []
    for checked in result.rules:
        at = where.get(id(checked.rule))
        if at is None:
            raise ValueError(f"rule {checked.name} is not one of the checked files' rules")
        rules.append([at[0], at[1], {p: list(cols) for p, cols in checked.columns.items()}, checked.index])
    return {"form": FORM, "revision": revision, "files": [_encode(f) for f in result.files], "rules": rules,
            "diagnostics": [_diagnostic(d) for d in result.diagnostics]}


# ---------------------------------------------------------------- decoding


class _Decoder:
    """Decodes one form; equal column tuples (as when the checker slices them from the catalog)
    and spans' file names are shared, one object each."""

    __slots__ = ("strings", "columns")

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.columns: dict[tuple[str, ...], tuple[str, ...]] = {}

    def value(self, data: Any) -> Any:
        cls = data.__class__
        if cls is dict:
            span = data.get("s")
            if span is not None:
                file, line, column, end_line, end_column = span
                if not (file.__class__ is str and line.__class__ is column.__class__ is end_line.__class__
                        is end_column.__class__ is int):
                    raise ValueError("malformed checked form: a span")
                return Span(self.strings.setdefault(file, file), line, column, end_line, end_column)
            tag = data["@"]
            if tag == "datetime":
                return dt.datetime.fromisoformat(data["v"])
            if tag == "date":
                return dt.date.fromisoformat(data["v"])
            node = _CLASSES.get(tag)
            if node is None or not isinstance(data["a"], list):
                raise ValueError(f"unknown node {tag!r} in a checked form")
            # a None or a string (half the values) is itself: no call for it
            value = self.value
            return node(*[v if v is None or v.__class__ is str else value(v) for v in data["a"]])
        if cls is list:
            value = self.value
            return tuple([v if v is None or v.__class__ is str else value(v) for v in data])
        if data is None or cls in (str, int, float, bool):
            return data
        raise ValueError("malformed checked form")

    def cols(self, data: Any) -> tuple[str, ...]:
        key = tuple(data)
        found = self.columns.get(key)
        if found is None:  # checked once per distinct tuple
            if data.__class__ is not list or not all(c.__class__ is str for c in data):
                raise ValueError("malformed checked form: a rule's columns")
            found = self.columns[key] = key
        return found


def form_revision(data: Any) -> str | None:
    """The revision a form was checked from (None: not a form this version reads)."""
    if not isinstance(data, Mapping) or data.get("form") != FORM or not isinstance(data.get("revision"), str):
        return None
    return data["revision"]


def decode(data: Mapping[str, Any], sources: Mapping[str, str]) -> CheckResult:
    """The CheckResult a form describes (`sources`: each policy file's text, by the name its
    spans cite). ValueError (or TypeError, KeyError) for a malformed form."""
    if form_revision(data) is None:
        raise ValueError("unknown checked form")
    d = _Decoder()
    files = tuple(d.value(f) for f in data["files"])
    if not all(isinstance(f, ast.PolicyFile) for f in files):
        raise ValueError("malformed checked form: a file is not a policy file")
    rules = []
    for file_index, rule_index, columns, index in data["rules"]:
        f = files[file_index]
        rule = f.rules[rule_index]
        if f.scope is None or not isinstance(index, int) or not isinstance(columns, dict):
            raise ValueError("malformed checked form: a rule")
        mask = resolve_mask(rule.mask) if rule.kind == "mask" and rule.mask is not None else None
        rules.append(CheckedRule(rule, f.scope, MappingProxyType({p: d.cols(c) for p, c in columns.items()}),
                                 mask, index))
    diagnostics = tuple(Diagnostic(s, m, d.value(span), file, code, tuple(notes))
                        for s, m, span, file, code, notes in data["diagnostics"])
    if any(diag.severity == "error" for diag in diagnostics):
        raise ValueError("malformed checked form: it holds errors")
    return CheckResult(files, tuple(rules), diagnostics, MappingProxyType(dict(sources)))
