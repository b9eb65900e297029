"""Load a whole policy project: parse every file (collecting all syntax errors), then check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from policyengine.catalog.consumers import AttributeSchema
from policyengine.catalog.contracts import Catalog
from policyengine.diagnostics import Diagnostic, PolicyError, located_diagnostic
from policyengine.language import ast
from policyengine.language.checker import CheckResult, check_policies
from policyengine.language.parser import parse_policy, policy_files
from policyengine.language.recovery import recover
from policyengine.yamlsource import YamlError, read_source


class ProjectCheck(Protocol):
    """A check over the whole project, run after the language's own: the ownership map
    (governance.ownership.Ownership) binding each scope and each contract's domain to paths."""

    def check(self, files: Sequence[ast.PolicyFile], catalog: Catalog) -> Sequence[Diagnostic]: ...


def parse_paths(paths: Sequence[str | Path]) -> tuple[list[ast.PolicyFile], list[Diagnostic], dict[str, str]]:
    """Parse every `.policy` file under `paths`; syntax errors of all files are returned, not raised."""
    files: list[ast.PolicyFile] = []
    diags: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for path in policy_files(list(paths)):
        name = str(path)
        try:
            text = read_source(path)
        except YamlError as exc:
            diags.append(located_diagnostic(exc, "io", name))
            continue
        sources[name] = text
        try:
            files.append(parse_policy(text, name, disk_cache=True))
        except PolicyError as exc:
            first = exc.diagnostics[0] if len(exc.diagnostics) == 1 else None
            if first is None:
                diags.extend(exc.diagnostics)
                continue
            errors, partial = recover(text, name, first)
            diags.extend(errors)
            if partial is not None:  # its statements that parsed are checked too (the file still fails)
                files.append(partial)
    return files, diags, sources


def check_paths(
    paths: Sequence[str | Path],
    catalog: Catalog,
    schema: AttributeSchema | None = None,
    now: dt.datetime | None = None,
    ownership: ProjectCheck | None = None,
) -> CheckResult:
    """Parse and check a set of policy files; the result holds syntax and check diagnostics.

    With an ownership map, a file whose path does not allow its scope and a contract whose path
    does not bind its domain are errors too: `check` and `load()` both call this, so a project
    that check rejects does not load either."""
    files, syntax, sources = parse_paths(paths)
    result = check_policies(files, catalog, schema, now, sources)
    owned = tuple(ownership.check(files, catalog)) if ownership is not None else ()
    return CheckResult(result.files, result.rules, tuple(syntax) + result.diagnostics + owned, result.sources)
