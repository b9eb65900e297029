"""`policyengine report`: who can see what, as one self-contained HTML file.

Per product, an access matrix (consumers of the consumers file and anyone else, per purpose the
product's rules name, × columns): each cell is `Engine.evaluate`'s decision written as text
(`allow`, `mask(hash)`, `deny`, with a symbol) and coloured, so it reads without colour too; the
row filter of each row; a filter box. Then the PII coverage gaps (`check_coverage`), the scan
findings with redacted evidence (given a scan report), and, given a base version, every matrix
cell that differs from it highlighted, with the access-matrix diff grouped by cause
(`diff_versions`).

The page needs no network: CSS and the few lines of JavaScript (the filter) are inline, and no
external resource is referenced. Every string from a policy, contract, consumers file or scan
report is HTML-escaped where it is written (`_e`); none is placed inside a script.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policyengine.authoring.access import Matrix, access_matrix, rows_for

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine
    from policyengine.governance.coverage import CoverageReport
    from policyengine.governance.diff import DiffReport

SYMBOL = {"allow": "✓", "mask": "◐", "deny": "✗"}


def _e(value: object) -> str:
    """Any value as HTML text, quotes included (safe in element text and attribute values)."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class ScanFinding:
    """A scan finding as the report shows it: never a raw value."""

    source: str
    column: str
    entity: str
    tag: str | None
    score: float
    evidence: str


def _redacted(example: object) -> str:
    """An example from a scan report as shown: reports hold redacted shapes (`***@****.***`);
    anything still holding a letter or digit is redacted here, so a raw value never shows."""
    from policyengine.scan.redact import redact

    text = str(example)
    return redact(text) if any(ch.isalnum() for ch in text) else text


def scan_findings(report: Mapping[str, Any]) -> list[ScanFinding]:
    """The findings of a scan report (its JSON, as `policyengine scan --format json` writes it),
    with evidence rebuilt from its counts and redacted examples (the summary text is not trusted)."""
    out = []
    for f in report.get("findings") or ():
        if not isinstance(f, Mapping):
            continue
        evidence = f.get("evidence")
        ev: Mapping[str, Any] = evidence if isinstance(evidence, Mapping) else {}
        examples = [_redacted(x) for x in (ev.get("examples") or ())[:3]]
        parts = []
        if isinstance(ev.get("matched"), int) and isinstance(ev.get("distinct_sampled"), int):
            parts.append(f"{ev['matched']}/{ev['distinct_sampled']} distinct sampled values matched")
        if ev.get("method"):
            parts.append(f"by {ev['method']}")
        if examples:
            parts.append("e.g. " + ", ".join(examples))
        score = f.get("score")
        out.append(ScanFinding(str(f.get("source", "")), str(f.get("column", "")), str(f.get("entity", "")),
                               None if f.get("tag") is None else str(f.get("tag")),
                               float(score) if isinstance(score, (int, float)) else 0.0, "; ".join(parts)))
    return out


CSS = """
:root { --allow: #cdeccd; --mask: #ffe8a3; --deny: #f6c4c4; --changed: #1f4fbf; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 3rem; color: #111; }
a.skip { position: absolute; left: -999px; } a.skip:focus { left: 1rem; top: 1rem; background: #fff; }
header { border-bottom: 1px solid #999; margin-bottom: 1rem; }
.legend span, td.cell { border: 1px solid #777; padding: 2px 6px; }
.allow { background: var(--allow); } .mask { background: var(--mask); }
.deny { background: var(--deny); font-weight: 600; }
td.changed { outline: 3px solid var(--changed); outline-offset: -3px; }
td.changed .was { display: block; font-size: 11px; font-style: italic; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #777; padding: 2px 6px; text-align: left; vertical-align: top; }
td.cell, tbody th { white-space: nowrap; }
th { background: #eee; } th small { font-weight: normal; color: #333; }
.scroll { overflow-x: auto; } .scroll:focus { outline: 2px solid #1f4fbf; }
details > summary { cursor: pointer; font-size: 1.1rem; font-weight: 600; margin: .5rem 0; }
summary:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #1f4fbf; }
#filter { font-size: 1rem; padding: 4px 8px; width: 24rem; max-width: 100%; }
.muted { color: #444; } code { background: #f3f3f3; padding: 0 3px; }
.hidden { display: none; }
@media print { .controls { display: none; } }
"""

SCRIPT = """
(function () {
  var box = document.getElementById('filter');
  var changedOnly = document.getElementById('changed-only');
  var status = document.getElementById('filter-status');
  function apply() {
    var q = box.value.trim().toLowerCase();
    var onlyChanged = changedOnly && changedOnly.checked;
    var shown = 0;
    document.querySelectorAll('section.product').forEach(function (sec) {
      var productHit = q && sec.dataset.product.toLowerCase().indexOf(q) >= 0;
      var any = 0;
      sec.querySelectorAll('tbody tr').forEach(function (tr) {
        var hit = !q || productHit || tr.dataset.row.toLowerCase().indexOf(q) >= 0;
        if (onlyChanged && !tr.querySelector('td.changed')) { hit = false; }
        tr.classList.toggle('hidden', !hit);
        if (hit) { any += 1; }
      });
      sec.classList.toggle('hidden', any === 0);
      shown += any;
    });
    status.textContent = shown + ' row(s) shown';
  }
  box.addEventListener('input', apply);
  if (changedOnly) { changedOnly.addEventListener('change', apply); }
  apply();
})();
"""


def _cell_html(text: str, effect: str, before: str | None, rule: str | None) -> str:
    title = f"decided by {rule}" if rule else "no rule allows it (default deny)"
    changed = before is not None and before != text
    cls = f"cell {effect}" + (" changed" if changed else "")
    was = f'<span class="was">changed: was {_e(before)}</span>' if changed else ""
    if changed:
        title += f"; in the base: {before}"
    return (f'<td class="{cls}" data-effect="{_e(effect)}" title="{_e(title)}">'
            f'<span aria-hidden="true">{SYMBOL.get(effect, "")}</span> {_e(text)}{was}</td>')


def _matrix_html(m: Matrix, base: Matrix | None, tags: Mapping[str, Sequence[str]], contract: str) -> str:
    head = "".join(f'<th scope="col">{_e(c)}' + (f"<br><small>{_e(', '.join(tags.get(c, ())))}</small>"
                                               if tags.get(c) else "") + "</th>" for c in m.columns)
    rows = []
    for i, row in enumerate(m.rows):
        cells = []
        for j, cell in enumerate(m.cells[i]):
            before = base.cells[i][j].text if base is not None else None
            cells.append(_cell_html(cell.text, cell.effect, before, cell.rule.name if cell.rule else None))
        flt = m.filters[i]
        flt_text = "all rows" if flt is None else f"rows where {flt}"
        flt_before = None if base is None else ("all rows" if base.filters[i] is None else f"rows where {base.filters[i]}")
        changed = flt_before is not None and flt_before != flt_text
        flt_cell = (f'<td class="rows{" changed" if changed else ""}"><code>{_e(flt_text)}</code>'
                    + (f'<span class="was">changed: was {_e(flt_before)}</span>' if changed else "") + "</td>")
        error = f' <em>(error: {_e(m.errors[i])})</em>' if m.errors[i] else ""
        rows.append(f'<tr data-row="{_e(row.label)}"><th scope="row">{_e(row.label)}{error}</th>'
                    + "".join(cells) + flt_cell + "</tr>")
    caption = f"Access to {m.product} (contract {contract})"
    return (f'<div class="scroll" tabindex="0" role="region" aria-label="{_e(caption)}">'
            f'<table><caption class="muted">{_e(caption)}</caption><thead><tr><th scope="col">consumer'
            f'</th>{head}<th scope="col">row filter</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def render_report(engine: Engine, *, title: str = "policyengine access report",
                  at: dt.datetime | None = None, coverage: CoverageReport | None = None,
                  findings: Iterable[ScanFinding] | None = None, base: Engine | None = None,
                  diff: DiffReport | None = None, base_label: str = "base", notes: Sequence[str] = ()) -> str:
    """The report as one HTML document. `engine` decides every cell (at instant `at`, default
    now); `coverage` is a CoverageReport, `findings` the scan's, `base` the base version's engine
    (its cells are compared with the same consumers and purposes) and `diff` its DiffReport."""
    at = at or dt.datetime.now(dt.UTC)
    products = sorted(engine.catalog.products)
    sections, toc = [], []
    changed_total = 0
    for n, name in enumerate(products):
        p = engine.catalog.products[name]
        rows = rows_for(engine, name)
        m = access_matrix(engine, name, rows=rows, at=at)
        b = None
        if base is not None:
            b = access_matrix(base, name, m.columns, at=at, rows=rows)  # same rows, same columns
            changed_total += sum(x.text != y.text for r1, r2 in zip(m.cells, b.cells, strict=True)
                                 for x, y in zip(r1, r2, strict=True))
        tags = {c.name: sorted(c.tags) for c in p.columns}
        contract = f"{p.span.file}:{p.span.line}" if p.span is not None else p.source
        anchor = f"p{n}"
        toc.append(f'<li><a href="#{anchor}">{_e(name)}</a> <span class="muted">({_e(p.domain)})</span></li>')
        sections.append(
            f'<section class="product" id="{anchor}" data-product="{_e(name)}"><details open>'
            f'<summary>{_e(name)} <span class="muted">— domain {_e(p.domain)}, {len(p.columns)} columns'
            f'</span></summary>{_matrix_html(m, b, tags, contract)}</details></section>')
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        '<a class="skip" href="#matrix">Skip to the access matrix</a>',
        f"<header><h1>{_e(title)}</h1><p class=\"muted\">Decisions by the engine at {_e(at.isoformat())}; "
        f"policy version {_e(engine.policy_version or 'unsaved')}. Each cell says its outcome in words "
        "(allow, mask(strategy), deny); colour only repeats it.</p></header>",
        '<p class="legend">Legend: <span class="allow">✓ allow</span> <span class="mask">◐ mask(strategy)'
        '</span> <span class="deny">✗ deny</span>'
        + (' <span class="changed-legend" style="outline:3px solid #1f4fbf">changed: was …</span>' if base is not None else "")
        + "</p>",
        *(f'<p class="muted">{_e(note)}</p>' for note in notes),
        '<div class="controls"><label for="filter">Filter by product or consumer: </label>'
        '<input id="filter" type="search" placeholder="e.g. sales.orders or alice" autocomplete="off">',
        (f' <label><input type="checkbox" id="changed-only"> only rows changed since {_e(base_label)}</label>'
         if base is not None else ""),
        ' <span id="filter-status" role="status" aria-live="polite"></span></div>',
        f'<nav aria-label="Products"><h2>Products</h2><ul>{"".join(toc)}</ul></nav>',
    ]
    if base is not None:
        parts.append(f'<h2 id="changes">Changes since {_e(base_label)}</h2>'
                     f"<p>{changed_total} matrix cell(s) differ (outlined, with the base's value).</p>")
        parts.append(_diff_html(diff))
    parts.append(f'<main id="matrix"><h2>Access matrix</h2>{"".join(sections)}</main>')
    parts.append(_coverage_html(coverage))
    if findings is not None:
        parts.append(_findings_html(list(findings)))
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _diff_html(diff: Any) -> str:
    if diff is None:
        return ""
    if not diff.groups:
        return "<p>The access-matrix diff finds no changed cell.</p>"
    items = []
    for g in diff.groups:
        approved = g.approved
        state = f"approved: {approved}" if approved else ("loosens, not approved" if g.loosened else "")
        cells = "".join(
            f"<li>{_e(c.product)}.{_e(c.column or '(row filter)')} for {_e(c.consumer_label)}: "
            f"{_e(c.before)} → {_e(c.after)} ({_e(c.direction)})</li>" for c in g.cells[:20])
        more = f"<li>… and {len(g.cells) - 20} more</li>" if len(g.cells) > 20 else ""
        items.append(f"<li><strong>{_e(g.label)}</strong> {_e(state)}<ul>{cells}{more}</ul></li>")
    return f"<h3>Grouped by cause</h3><ul>{''.join(items)}</ul>"


def _coverage_html(coverage: Any) -> str:
    if coverage is None:
        return ""
    if not coverage.gaps:
        return ('<h2 id="coverage">Coverage gaps</h2><p>None: every sensitive column is masked or denied '
                f"for every non-privileged consumer ({len(coverage.columns)} sensitive columns checked).</p>")
    rows = "".join(
        f"<tr><td>{_e(g.product)}.{_e(g.column)}</td><td>{_e(', '.join(g.tags))}</td>"
        f"<td>{_e(g.consumer_label)}</td><td>{_e(g.purpose_label)}</td><td>{_e(g.when_label)}</td>"
        f"<td>{_e(g.allowed_by)}</td></tr>" for g in coverage.gaps)
    return ('<h2 id="coverage">Coverage gaps</h2><p>Sensitive columns some non-privileged consumer reads '
            f'unmasked ({len(coverage.gaps)}):</p><div class="scroll" tabindex="0" role="region" '
            'aria-label="Coverage gaps"><table><thead><tr><th scope="col">column</th><th scope="col">tags</th>'
            '<th scope="col">consumer</th><th scope="col">purpose</th><th scope="col">when</th>'
            f'<th scope="col">allowed by</th></tr></thead><tbody>{rows}</tbody></table></div>')


def _findings_html(findings: list[ScanFinding]) -> str:
    if not findings:
        return '<h2 id="scan">Scan findings</h2><p>The scan report has no finding.</p>'
    rows = "".join(
        f"<tr><td>{_e(f.source)}</td><td>{_e(f.column)}</td><td>{_e(f.entity)}</td><td>{_e(f.tag or '')}</td>"
        f"<td>{f.score:.2f}</td><td>{_e(f.evidence)}</td></tr>" for f in findings)
    return ('<h2 id="scan">Scan findings</h2><p class="muted">Evidence is redacted: letters show as *, '
            'digits as #.</p><div class="scroll" tabindex="0" role="region" aria-label="Scan findings">'
            '<table><thead><tr><th scope="col">file</th><th scope="col">column</th><th scope="col">entity'
            '</th><th scope="col">tag</th><th scope="col">score</th><th scope="col">evidence</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></div>")
