"""Subjects no known consumer has: `group:suport-agents` (a typo) would silently never apply.

With a consumers file listing consumers, every `user:<id>` a rule names should be one of their
ids and every `group:<name>` one of their groups; anything else is a warning with "did you mean"
(`check --strict` makes it an error). Without listed consumers nothing is known, so nothing is said.
"""

from __future__ import annotations

from collections.abc import Iterable

from policyengine.catalog.consumers import Directory
from policyengine.diagnostics import Diagnostic, did_you_mean
from policyengine.language import ast


def unknown_subjects(files: Iterable[ast.PolicyFile], directory: Directory | None) -> list[Diagnostic]:
    """A warning (code `unknown-subject`) for each user or group a rule names that no consumer of
    `directory` is or belongs to; none when the directory lists no consumers."""
    if directory is None or not directory.consumers:
        return []
    users = frozenset(directory.consumers)
    groups = frozenset(g for c in directory.consumers.values() for g in c.groups)
    out: list[Diagnostic] = []
    for f in files:
        for rule in f.rules:
            for subject in (*rule.subjects.include, *rule.subjects.exclude):
                known = users if subject.kind == "user" else groups if subject.kind == "group" else None
                if known is None or subject.name is None or subject.name in known:
                    continue
                out.append(Diagnostic(
                    "warning",
                    f"{subject.kind} '{subject.name}' of rule '{rule.name}' is not "
                    f"{'a consumer' if subject.kind == 'user' else 'a group of any consumer'} in the "
                    f"consumers file{did_you_mean(subject.name, known)}, so the rule never applies to it",
                    subject.span, code="unknown-subject"))
    return out
