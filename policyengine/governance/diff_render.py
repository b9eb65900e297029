"""Renderings of a `DiffReport`: text (the CLI default), JSON, SARIF 2.1.0 and a markdown summary
for a pull-request comment. Cells are shown once per distinct (cell, before, after) with the
number of request classes and the simplest consumer class; JSON lists every class."""

from __future__ import annotations

import json
from typing import Any

from policyengine.diagnostics import relative_uri
from policyengine.governance.diff import NEEDS_APPROVAL, DiffReport, Group
from policyengine.governance.escape import md_code, md_text, plain, sarif_text
from policyengine.sarif import sarif_log

TOOL_NAME = "policyengine-diff"
LOOSER_RULE = "diff/loosened-access"
CONTRACT_RULE = "diff/privacy-breaking-contract-change"
MAX_CELLS_SHOWN = 20  # per group, in text and markdown (JSON has every cell)


def _where(file: str | None, line: int | None) -> str:
    return f"{file}:{line}" if file and line else file or "<unknown>"


def _first_consumer(group: Group, cell: str, before: str, after: str) -> str:
    for c in group.cells:
        name = f"{c.product}.{c.column}" if c.column else f"{c.product} (rows)"
        if (name, c.before, c.after) == (cell, before, after):
            return f"{c.consumer_label}, {c.purpose.label}, {c.interval.label}"
    return ""


def headline(report: DiffReport) -> str:
    n = report.counts()
    return (f"{n['looser']} cell(s) looser, {n['tighter']} tighter, {n['changed']} changed otherwise; "
            f"{n['rule_changes']} rule change(s), {n['contract_changes']} privacy-breaking contract change(s); "
            f"{n['unapproved_loosenings']} unapproved loosening(s), {n['unapproved_contract_changes']} "
            "unapproved contract change(s)")


def to_text(report: DiffReport) -> str:
    """One block per group of cells (at its cause's file:line), then the contract changes."""
    out = [f"diff {report.base_label} → {report.head_label}"]
    for g in report.groups:
        file, line = g.location
        loose = len(g.loosened)
        level = "note" if not loose else "warning" if g.approved else "error"
        state = f" (approved: {g.approved})" if loose and g.approved else " (not approved)" if loose else ""
        out.append(f"{_where(file, line)}: {level}: {g.label}: {loose} cell(s) more visible, "
                   f"{len(g.cells) - loose} less{state}")
        rows = g.summary()
        for cell, direction, before, after, classes in rows[:MAX_CELLS_SHOWN]:
            out.append(f"    {direction:<7} {cell}: {before} → {after} ({classes} request class(es), "
                       f"e.g. {_first_consumer(g, cell, before, after)})")
        if len(rows) > MAX_CELLS_SHOWN:
            out.append(f"    … and {len(rows) - MAX_CELLS_SHOWN} more (--format json lists all)")
    for c in report.contract_changes:
        state = f" (approved: {c.approved})" if c.approved else " (not approved)"
        out.append(f"{_where(c.file, c.line)}: {'warning' if c.approved else 'error'}: {c.kind}: {c.message}{state}")
    for rc in report.rule_changes:
        if not any(rc.key in (k.key for k in g.causes) for g in report.groups):
            path, line = rc.location
            out.append(f"{path}:{line}: note: {rc.key} changes no cell")
    out.extend(f"note: {n}" for n in report.notes)
    out.append(f"{headline(report)} ({report.products_compared} product(s) compared, "
               f"{report.products_evaluated} evaluated, {report.seconds:.2f}s)")
    return "\n".join(plain(line) for line in out)  # a name with a line break in it forges no line


def to_json(report: DiffReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def _outcomes(group: Group) -> list[tuple[tuple[str, str, str], int]]:
    """The group's loosened cells by (cell, before, after), the deciding rules left out."""
    out: dict[tuple[str, str, str], int] = {}
    for cell, direction, before, after, classes in group.summary():
        if direction in NEEDS_APPROVAL:
            key = (cell, before.split(" by ")[0], after.split(" by ")[0])
            out[key] = out.get(key, 0) + classes
    return list(out.items())


def to_markdown(report: DiffReport) -> str:
    """A concise pull-request comment: the verdict, counts, loosened cells by change, contract changes."""
    n = report.counts()
    ok = report.exit_code() == 0
    out = [f"### policyengine diff: {md_code(report.base_label)} → {md_code(report.head_label)}", "",
           ("**No unapproved loosening.**" if ok else
            f"**{n['unapproved_loosenings']} cell(s) more visible without approval, "
            f"{n['unapproved_contract_changes']} unapproved privacy-breaking contract change(s).**"), "",
           "A cell is one column (or the row filter) for one class of consumers, purposes and instants.", "",
           "| cells more visible | less visible | changed otherwise | rule changes | contract changes |",
           "|---|---|---|---|---|",
           f"| {n['looser']} | {n['tighter']} | {n['changed']} | {n['rule_changes']} | {n['contract_changes']} |"]
    loose = [g for g in report.groups if g.loosened]
    if loose:
        out += ["", "#### More visible, by change"]
        for g in loose:
            verdict = f"✅ approved: {md_text(g.approved)}" if g.approved else "❌ not approved"
            out += ["", f"**{md_text(g.label)}** — {verdict}", "",
                    "| cell | before → after | request classes |", "|---|---|---|"]
            rows = _outcomes(g)
            for (cell, before, after), classes in rows[:MAX_CELLS_SHOWN]:
                out.append(f"| {md_code(cell)} | {md_text(before)} → {md_text(after)} | {classes} |")
            if len(rows) > MAX_CELLS_SHOWN:
                out.append(f"| … and {len(rows) - MAX_CELLS_SHOWN} more | | |")
    if report.contract_changes:
        out += ["", "#### Privacy-breaking contract changes", "", "| change | where | approval |", "|---|---|---|"]
        for c in report.contract_changes:
            out.append(f"| {md_text(c.message)} | {md_code(_where(c.file, c.line))} | "
                       f"{('✅ ' + md_text(c.approved)) if c.approved else '❌ none'} |")
    return "\n".join(out)


def _location(file: str | None, line: int | None) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": {"uri": relative_uri(file or "policyengine.yaml")}}
    if line:
        loc["region"] = {"startLine": line}
    return {"physicalLocation": loc}


def to_sarif(report: DiffReport) -> str:
    """SARIF 2.1.0: an `error` per unapproved group of loosened cells at its cause's line (a `note`
    when approved), and one per privacy-breaking contract change at the contract's line."""
    results = []
    for g in report.groups:
        loose = g.loosened
        if not loose:
            continue
        rows = [r for r in g.summary() if r[1] in NEEDS_APPROVAL]
        cells = "; ".join(f"{cell}: {before} → {after}" for cell, _d, before, after, _n in rows[:MAX_CELLS_SHOWN])
        results.append({
            "ruleId": LOOSER_RULE, "level": "note" if g.approved else "error",
            "message": {"text": sarif_text(f"{g.label} makes {len(loose)} request class cell(s) more visible"
                                           + (f" (approved: {g.approved})" if g.approved else "") + f": {cells}")},
            "locations": [_location(*g.location)]})
    for c in report.contract_changes:
        results.append({"ruleId": CONTRACT_RULE, "level": "note" if c.approved else "error",
                        "message": {"text": sarif_text(c.message + (f" (approved: {c.approved})" if c.approved else ""))},
                        "locations": [_location(c.file, c.line)]})
    return sarif_log({"name": TOOL_NAME, "informationUri": "https://github.com/policyengine", "rules": [
        {"id": LOOSER_RULE, "shortDescription": {"text": "A policy change makes data more visible without approval"}},
        {"id": CONTRACT_RULE, "shortDescription": {"text": "A contract change breaks privacy protections"}}]}, results)
