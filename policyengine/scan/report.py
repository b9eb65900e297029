"""The scan report and its three renderings: JSON (for tools), SARIF 2.1.0 (for code scanning),
text (for people). Only redacted evidence ever appears in any of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policyengine.catalog.taxonomy import Taxonomy, builtin_taxonomy
from policyengine.diagnostics import relative_uri
from policyengine.sarif import sarif_log
from policyengine.scan.entities import display_text
from policyengine.scan.headers import redacted_name
from policyengine.scan.pipeline import ScanOutcome

TOOL_NAME = "policyengine-scan"


@dataclass(frozen=True)
class Finding:
    """One entity in one column of one data file."""

    source: str
    column: str
    entity: str
    tag: str | None
    score: float
    evidence: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "column": self.column, "entity": self.entity, "tag": self.tag,
                "score": self.score, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class DriftItem:
    """A difference between the scan and a product's contract."""

    severity: str  # error (undeclared PII) | warning (declared, not found) | info
    kind: str  # undeclared | not-found | no-product | *-sample | unsampled-column
    source: str
    product: str | None
    column: str | None
    tag: str | None
    message: str
    contract: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("severity", "kind", "source", "product", "column", "tag", "message", "contract", "line")}


@dataclass(frozen=True)
class Issue:
    """A file or column that could not be (fully) scanned."""

    source: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class ScanReport:
    """Findings, drift against contracts, problems, and what was scanned."""

    findings: tuple[Finding, ...]
    columns: tuple[Mapping[str, Any], ...]
    issues: tuple[Issue, ...]
    files_scanned: int
    columns_scanned: int
    seconds: float
    model: str | None
    notes: tuple[str, ...] = ()
    drift: tuple[DriftItem, ...] = field(default=())
    settings: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # every file the scan tried to read (found in folders or named)

    @property
    def failed_files(self) -> int:
        return len({i.source for i in self.issues if i.severity == "error"})

    def exit_code(self, fail_on: str = "undeclared") -> int:
        """0 clean; 1 the gate tripped (undeclared PII, or any PII with `any`; with either, a
        product without a sample); 2 a file failed."""
        if self.failed_files:
            return 2
        if fail_on == "any" and (self.findings or any(d.severity == "error" for d in self.drift)):
            return 1
        if fail_on == "undeclared" and any(d.severity == "error" for d in self.drift):
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "columns_scanned": self.columns_scanned,
            "files_scanned": self.files_scanned,
            "seconds": round(self.seconds, 3),
            "model": self.model,
            "notes": list(self.notes),
            "drift": [d.to_dict() for d in self.drift],
            "issues": [i.to_dict() for i in self.issues],
            "columns": [dict(c) for c in self.columns],
            "settings": dict(self.settings),
            "files": list(self.files),
        }


def build_report(outcome: ScanOutcome, taxonomy: Taxonomy | None = None,
                 tag_overrides: Mapping[str, str] | None = None) -> ScanReport:
    """Turn pipeline output into findings with policy tags (entity → tag via the taxonomy)."""
    tax = taxonomy or builtin_taxonomy()
    overrides = dict(tag_overrides or {})
    findings: list[Finding] = []
    columns: list[dict[str, Any]] = []
    issues: list[Issue] = []
    ncols = 0
    for f in outcome.files:
        issues.extend(Issue(i.source, i.severity, i.message) for i in f.issues)
        for cd in f.columns:
            ev = cd.evidence
            column = redacted_name(ev.column)  # a name that is a value (a CSV without a header) is redacted
            ncols += 1
            others = [{"entity": e, "prevalence": p} for e, p in cd.other_matches]
            for d in cd.decisions:
                tag = overrides.get(d.entity) or tax.tag_for_entity(d.entity)
                example = f", e.g. {d.examples[0]}" if d.examples else ""
                where = "sampled values contain" if d.embedded else "sampled values matched"
                summary = f"{d.matched}/{d.checked} distinct {where} {d.entity}{example}"
                if d.note:
                    summary = f"{d.matched}/{d.checked} distinct sampled values: {d.note}"
                if d.method == "name+type":
                    summary = f"column name and {ev.arrow_type} values suggest {d.entity}"
                evidence = {
                    "summary": summary,
                    "method": d.method,
                    "matched": d.matched,
                    "distinct_sampled": d.checked,
                    "rows_sampled": ev.shape.sampled,
                    "prevalence": d.prevalence,
                    "embedded_in_text": d.embedded,
                    "examples": list(d.examples),
                    "name_hint": [e for e, _ in ev.hint.entities] if not ev.hint.negative else [],
                    "data_type": ev.arrow_type,
                    "other_matches": others,
                }
                if d.note:
                    evidence["note"] = d.note
                findings.append(Finding(f.source, column, d.entity, tag, d.score, evidence))
            columns.append({
                "source": f.source, "column": column, "type": ev.arrow_type, "rows": ev.rows,
                "nulls": ev.nulls, "sampled": ev.shape.sampled, "distinct": ev.shape.distinct,
                "entities": [d.entity for d in cd.decisions], "other_matches": others,
            })
    s = outcome.settings
    settings = {"sample_rows": s.sample_rows, "seed": s.seed, "model": s.model, "jobs": s.jobs}
    return ScanReport(tuple(findings), tuple(columns), tuple(issues), len(outcome.files), ncols,
                      outcome.seconds, outcome.model, outcome.notes, (), settings,
                      tuple(f.source for f in outcome.files))


def to_json(report: ScanReport) -> str:
    """The JSON report (keys: findings, columns_scanned, seconds, drift, issues, …)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


class _SarifRules:
    """The run's rule table: each rule id once, in first-use order, referenced by index."""

    def __init__(self) -> None:
        self.rules: dict[str, dict[str, Any]] = {}

    def index(self, rid: str, text: str, tags: list[str]) -> int:
        if rid not in self.rules:
            self.rules[rid] = {"id": rid, "name": rid.replace("_", " ").title().replace(" ", ""),
                               "shortDescription": {"text": text}, "properties": {"tags": tags}}
        return list(self.rules).index(rid)


def _finding_result(f: Finding, d: DriftItem | None, rules: _SarifRules) -> dict[str, Any]:
    """A finding: an `error` at the contract's column line when it is undeclared (`d`, one result
    per product that does not declare it), else a `note` on the data file; the column is the
    logical location."""
    idx = rules.index(f.entity, f"Column holds {display_text(f.entity)}", [t for t in [f.tag] if t])
    text = f"Column '{f.column}' holds {f.entity}" + (f" ({f.tag})" if f.tag else "") + f": {f.evidence.get('summary', '')}"
    if d:
        text += f". Not declared in the contract of {d.product}."
    loc: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": relative_uri(d.contract if d and d.contract else f.source)}},
        "logicalLocations": [{"name": f.column, "fullyQualifiedName": f"{Path(f.source).name}:{f.column}", "kind": "member"}],
    }
    if d and d.contract and d.line:
        loc["physicalLocation"]["region"] = {"startLine": d.line}
    return {
        "ruleId": f.entity, "ruleIndex": idx, "level": "error" if d else "note", "message": {"text": text},
        "locations": [loc],
        "partialFingerprints": {"column/v1": f"{Path(f.source).name}:{f.column}:{f.entity}"
                                + (f":{d.product}" if d else "")},
        "properties": {"score": f.score, "tag": f.tag, "undeclared": bool(d)},
    }


def _drift_result(d: DriftItem, rules: _SarifRules) -> dict[str, Any]:
    """A product without a sample (an `error`), declared-but-not-found (a `warning`) and other
    contract/data differences (`note`s)."""
    idx = rules.index(f"drift/{d.kind}", "Contract and data disagree", ["drift"])
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": relative_uri(d.contract or d.source)}}}
    if d.line:
        loc["physicalLocation"]["region"] = {"startLine": d.line}
    level = {"error": "error", "warning": "warning"}.get(d.severity, "note")
    return {"ruleId": f"drift/{d.kind}", "ruleIndex": idx, "level": level,
            "message": {"text": d.message}, "locations": [loc]}


def _issue_result(i: Issue, rules: _SarifRules) -> dict[str, Any]:
    """A file that could not be read (`error`) or a column that was skipped (`warning`)."""
    rid = "scan/unreadable" if i.severity == "error" else "scan/skipped"
    idx = rules.index(rid, "File or column could not be scanned", ["scan"])
    return {"ruleId": rid, "ruleIndex": idx, "level": "error" if i.severity == "error" else "warning",
            "message": {"text": i.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": relative_uri(i.source)}}}]}


def to_sarif(report: ScanReport, version: str = "0.1.0") -> str:
    """SARIF 2.1.0: one rule per entity plus drift and read-error rules; one result per finding.

    Undeclared PII is an `error` located at the contract's column line when known (so GitHub code
    scanning can annotate the contract); plain findings are `note`s on the data file with the
    column as a logical location; declared-but-not-found is a `warning`.
    """
    rules = _SarifRules()
    undeclared: dict[tuple[str, str | None, str | None], list[DriftItem | None]] = {}
    for d in report.drift:
        if d.kind == "undeclared":
            undeclared.setdefault((d.source, d.column, d.tag), []).append(d)
    results = [_finding_result(f, d, rules) for f in report.findings
               for d in (undeclared.get((f.source, f.column, f.tag)) or [None])]
    results += [_drift_result(d, rules) for d in report.drift if d.kind != "undeclared"]
    results += [_issue_result(i, rules) for i in report.issues]
    driver = {"name": TOOL_NAME, "version": version, "informationUri": "https://github.com/policyengine/policyengine",
              "rules": list(rules.rules.values())}
    return sarif_log(driver, results, invocations=[{"executionSuccessful": report.failed_files == 0}],
                     properties={"columns_scanned": report.columns_scanned, "seconds": round(report.seconds, 3)})


def to_text(report: ScanReport) -> str:
    """A table per file: column, entities, tag, score, redacted evidence; then drift and problems."""
    lines: list[str] = []
    by_file: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_file.setdefault(f.source, []).append(f)
    for source in sorted(by_file):
        lines.append(source)
        rows = [(f.column, f.entity, f.tag or "-", f"{f.score:.2f}", str(f.evidence.get("summary", ""))) for f in by_file[source]]
        widths = [max(len(r[i]) for r in rows + [("column", "entity", "tag", "score", "")]) for i in range(4)]
        head = ("column", "entity", "tag", "score", "evidence")
        lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(head, widths + [0], strict=False)).rstrip())
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths + [0], strict=False)).rstrip())
        lines.append("")
    for d in report.drift:
        where = f"{d.contract}:{d.line}" if d.contract and d.line else (d.contract or d.source)
        lines.append(f"{where}: {d.severity}: {d.message}")
    for i in report.issues:
        lines.append(f"{i.source}: {i.severity}: {i.message}")
    for n in report.notes:
        lines.append(f"note: {n}")
    errors = sum(1 for d in report.drift if d.severity == "error" and d.kind == "undeclared")
    unsampled = len({d.product for d in report.drift if d.severity == "error"
                     and (d.kind.endswith("-sample") or d.kind == "unsampled-column")})
    lines.append(
        f"{len(report.findings)} finding(s) in {report.columns_scanned} column(s) of {report.files_scanned} file(s)"
        + (f", {errors} undeclared" if report.drift or report.settings.get("contracts_checked") else "")
        + (f", {unsampled} product(s) without a scanned sample" if unsampled else "")
        + (f", {report.failed_files} file(s) failed" if report.failed_files else "")
        + f" in {report.seconds:.2f}s"
    )
    return "\n".join(lines) + "\n"
