"""Tag suggestions a reviewer can accept: undeclared PII found by a scan, as a patch to the ODCS
contracts that would declare it.

For each contract with undeclared findings (`drift` items of kind `undeclared`, whose column is in
the contract), the tag is added to the column's `tags` in the contract's own text, keeping every
other line as it is: `tags: []` becomes a block list, an existing block list gets one more item, a
flow list (`tags: [a]`) gets the tag appended, and a property without `tags` gets one. Each added
tag carries a YAML comment with the finding's entity, score and redacted evidence, so the reviewer
sees why (evidence is the scanner's redacted text: never a sampled value).

A patched contract is parsed again and must declare the tag where it was added; otherwise that
contract is left out of the patch and reported, so a suggestion can never produce a broken file.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policyengine.scan.report import DriftItem, Finding, ScanReport

if TYPE_CHECKING:
    from policyengine.catalog.taxonomy import Taxonomy

_ITEM = re.compile(r"^(?P<indent>\s*)-\s")
_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w-]*)\s*:(?P<rest>.*)$")


@dataclass(frozen=True)
class ContractSuggestion:
    """One tag to declare on one column of one contract, and why."""

    contract: str
    line: int  # the line of the column's `name:` in the contract
    column: str
    tag: str
    note: str  # entity, score and redacted evidence


@dataclass(frozen=True)
class ContractPatch:
    """The original and patched text of one contract file."""

    path: str
    before: str
    after: str
    suggestions: tuple[ContractSuggestion, ...]

    def diff(self) -> str:
        """A unified diff (`a/PATH` → `b/PATH`) a reviewer can read or `git apply`."""
        return "".join(difflib.unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=f"a/{self.path}", tofile=f"b/{self.path}"))


@dataclass(frozen=True)
class SuggestResult:
    """Patches per contract, and findings that cannot be patched (with the reason)."""

    patches: tuple[ContractPatch, ...]
    skipped: tuple[str, ...]

    def diff(self) -> str:
        return "".join(p.diff() for p in self.patches)


def suggestions(report: ScanReport) -> tuple[list[ContractSuggestion], list[str]]:
    """The tags to add, from a report whose drift was checked against the catalog."""
    evidence = {(f.source, f.column, f.tag): f for f in report.findings}
    found: list[ContractSuggestion] = []
    skipped: list[str] = []
    seen: set[tuple[str, int, str]] = set()
    for item in report.drift:
        if item.kind != "undeclared" or not item.tag or not item.column:
            continue
        if item.contract is None or item.line is None:
            skipped.append(f"{item.product or item.source}: column '{item.column}' is not in the contract "
                           f"(add it with its type, then tag it {item.tag})")
            continue
        key = (item.contract, item.line, item.tag)
        if key in seen:  # the same column found in several sample files
            continue
        seen.add(key)
        found.append(ContractSuggestion(item.contract, item.line, item.column, item.tag,
                                _note(evidence.get((item.source, item.column, item.tag)), item)))
    return found, skipped


def _note(finding: Finding | None, item: DriftItem) -> str:
    if finding is None:
        return "found by policyengine scan"
    summary = " ".join(str(finding.evidence.get("summary", "")).split())
    text = f"policyengine scan: {finding.entity} {finding.score:.2f}"
    return f"{text}, {summary}" if summary else text


def _property_block(lines: Sequence[str], name_line: int) -> tuple[int, int, str]:
    """(first, end, key indent) of the property whose `name:` is on `name_line` (1-based): the
    lines it spans, up to the next item or key at a lower indentation."""
    first = name_line - 1
    text = lines[first]
    item = _ITEM.match(text)
    key_indent = " " * (len(item.group("indent")) + 2) if item else text[:len(text) - len(text.lstrip())]
    end = first + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#"):
            indent = len(line) - len(line.lstrip())
            if indent < len(key_indent):
                break
        end += 1
    while end > first + 1 and not lines[end - 1].strip():
        end -= 1
    return first, end, key_indent


def _add_tag(lines: list[str], suggestion: ContractSuggestion, newline: str) -> None:
    first, end, indent = _property_block(lines, suggestion.line)
    comment = f"  # {suggestion.note}"
    for i in range(first, end):
        m = _KEY.match(lines[i].rstrip("\r\n"))
        if m is None or m.group("key") != "tags" or len(m.group("indent")) != len(indent) and i != first:
            continue
        rest = m.group("rest").split("#", 1)[0].strip()
        if rest in ("", "[]"):
            items_end = i + 1
            item_indent = indent
            while items_end < end and (item_line := _ITEM.match(lines[items_end])):
                item_indent = item_line.group("indent")
                items_end += 1
            if rest == "[]":
                lines[i] = f"{indent}tags:{newline}"
            lines.insert(items_end, f"{item_indent}- {suggestion.tag}{comment}{newline}")
            return
        if rest.startswith("[") and rest.endswith("]"):
            inner = rest[1:-1].strip()
            listed = f"{inner}, {suggestion.tag}" if inner else suggestion.tag
            lines[i] = f"{indent}tags: [{listed}]{comment}{newline}"
            return
        raise ValueError(f"{suggestion.contract}:{i + 1}: 'tags' of column '{suggestion.column}' is not a list")
    lines[end:end] = [f"{indent}tags:{newline}", f"{indent}- {suggestion.tag}{comment}{newline}"]


def patch_contract(path: str, text: str, items: Iterable[ContractSuggestion]) -> str:
    """`text` (a contract) with each suggested tag added; later lines first so line numbers hold."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    for suggestion in sorted(items, key=lambda s: s.line, reverse=True):
        _add_tag(lines, suggestion, newline)
    return "".join(lines)


def _declares(path: str, text: str, wanted: Sequence[ContractSuggestion], taxonomy: Taxonomy | None) -> str | None:
    """None when the patched text parses and declares every wanted tag; else why not."""
    from policyengine.catalog.contracts import CatalogError, load_catalog

    try:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / Path(path).name
            copy.write_text(text, encoding="utf-8")
            catalog = load_catalog([copy], taxonomy) if taxonomy is not None else load_catalog([copy])
    except (CatalogError, OSError, ValueError) as exc:
        return f"the patched contract does not load ({exc.__class__.__name__})"
    for s in wanted:
        if not any(col.name == s.column and s.tag in col.tags
                   for product in catalog.products.values() for col in product.columns):
            return f"the patched contract does not tag '{s.column}' {s.tag}"
    return None


def _read(path: str) -> str:
    """A contract's text with its own line endings (a BOM from a Windows editor dropped)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return handle.read()


def suggest(report: ScanReport, *, taxonomy: Taxonomy | None = None,
            read: Mapping[str, str] | None = None) -> SuggestResult:
    """Patches declaring every undeclared finding of `report` (checked against a catalog).

    `read` maps a contract path to its text (default: read from disk)."""
    found, skipped = suggestions(report)
    by_contract: dict[str, list[ContractSuggestion]] = {}
    for s in found:
        by_contract.setdefault(s.contract, []).append(s)
    patches: list[ContractPatch] = []
    for path, items in sorted(by_contract.items()):
        before = read[path] if read is not None and path in read else _read(path)
        try:
            after = patch_contract(path, before, items)
        except ValueError as exc:
            skipped.append(str(exc))
            continue
        why = _declares(path, after, items, taxonomy)
        if why is not None:
            skipped.append(f"{path}: {why}; declare {', '.join(sorted({s.tag for s in items}))} by hand")
            continue
        patches.append(ContractPatch(path, before, after, tuple(items)))
    return SuggestResult(tuple(patches), tuple(skipped))


def write_patches(result: SuggestResult) -> list[str]:
    """Apply the patches in place (each file replaced whole, atomically); the paths written."""
    written: list[str] = []
    for patch in result.patches:
        target = Path(patch.path)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(patch.after)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(patch.path)
    return written
