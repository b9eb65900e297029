"""Issue 19, hole 9: user-written strings (rule names, approvals, file paths, product, column
and consumer names, reasons) reached the reports raw: `@approved("GOV-8 <!--")` opened an HTML
comment in the pull-request comment and hid every table after it. Every renderer escapes them
for its format; these attacks go through each one."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

import policyengine
from policyengine.cli import app
from policyengine.engine.loading import load
from policyengine.governance import coverage as cov
from policyengine.governance import diff_render as render
from policyengine.governance.contract_diff import ContractChange
from policyengine.governance.diff import Cause, Group, diff_versions
from policyengine.governance.escape import md_code, md_text, plain, sarif_text

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    "GOV-8 <!--",
    "a | b | c",
    "x`y``z`",
    "line\n::error file=a,line=1::forged\n| forged | row |",
    "[click](javascript:alert(1))",
    "](javascript:alert(1))",
    "<img src=x onerror=alert(1)><b>bold</b>",
    "@example/data-platform please approve",
    "*bold* _it_ ~~gone~~ \\| https://evil.example www.evil.example",
    "\x1b[2J\u202eevil\u200b\r\t",
]
MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _tokens(text: str) -> list:
    out = []
    for t in MD.parse(text):
        out.append(t)
        out.extend(t.children or ())
    return out


def _shape(text: str) -> list[tuple[str, int]]:
    """The markdown's structure: block tokens and their nesting (what a hostile string must not change)."""
    return [(t.type, t.level) for t in MD.parse(text)]


def _assert_inert_markdown(hostile: str, benign: str) -> None:
    tokens = _tokens(hostile)
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_inline", "html_block", "link_open", "image", "em_open", "strong_open", "s_open"} \
        - {t.type for t in _tokens(benign)}, kinds
    assert _shape(hostile) == _shape(benign)  # same tables, rows and cells; no block opened or closed
    prose = re.sub(r"(`+).*?\1", "", hostile)  # inside a code span nothing is interpreted
    assert "<!--" not in prose and "<img" not in prose and "@example/" not in prose
    assert "https://" not in prose and "\x1b" not in hostile and "\u202e" not in hostile


def _diff_report(tmp_path: Path):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    sales = policies / "sales.policy"
    sales.write_text(sales.read_text("utf-8").replace(
        "to everyone except group:sales-leads, group:finance;", "to everyone except group:sales-leads;"), "utf-8")
    catalog = ROOT / "examples/mesh/products"
    return diff_versions(policyengine.load(ROOT / "policies", catalog=catalog),
                         policyengine.load(policies, catalog=catalog), base_root=ROOT, head_root=tmp_path)


def _poisoned(report, s: str):
    """The report with `s` in every user-written field."""
    group = report.groups[0]
    cause = Cause(f"rule modified: {s} ({s}:3)", "rule", s, 3, s)
    cells = tuple(dataclasses.replace(c, product=s, column=s, before=f"deny by {s}", after=f"mask {s}")
                  for c in group.cells)
    change = ContractChange("tag-removed", s, s, f"{s} loses pii", s, 4, s)
    return dataclasses.replace(report, base_label=s, head_label=s, groups=(Group((cause,), cells),),
                               contract_changes=(change, dataclasses.replace(change, approved=None)))


@pytest.fixture(scope="module")
def diff_report(tmp_path_factory: pytest.TempPathFactory):
    return _diff_report(tmp_path_factory.mktemp("diff"))


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_the_diff_markdown_comment_keeps_its_shape(diff_report, s: str) -> None:
    hostile = render.to_markdown(_poisoned(diff_report, s))
    benign = render.to_markdown(_poisoned(diff_report, "x"))
    _assert_inert_markdown(hostile, benign)
    assert hostile.count("\n") == benign.count("\n")


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_the_diff_text_and_sarif_keep_one_line_per_finding(diff_report, s: str) -> None:
    hostile, benign = _poisoned(diff_report, s), _poisoned(diff_report, "x")
    text = render.to_text(hostile)
    assert text.count("\n") == render.to_text(benign).count("\n")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u202e]", text) and "\n::error" not in text
    sarif = json.loads(render.to_sarif(hostile))
    for result in sarif["runs"][0]["results"]:
        message = result["message"]["text"]
        assert "\n" not in message and "\r" not in message
        assert not re.search(r"(?<!\\)[\[\]]", message.replace("\\\\", "")), message  # no embedded link


def _coverage(tmp_path: Path, name: str):
    folder = tmp_path / "policies"
    folder.mkdir(parents=True, exist_ok=True)
    quoted = json.dumps(name, ensure_ascii=True)  # the policy language's string escapes are JSON's
    (folder / "shop.policy").write_text(
        f"scope domain shop\n@name({quoted})\nallow read shop.orders to group:analysts;\n"
        f"@name({json.dumps(name + ' mask')})\nmask shop.orders.email using hash to group:nobody;\n", "utf-8")
    return cov.check_coverage(load(folder, ROOT / "tests/fixtures/catalog"))


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_coverage_text_and_sarif_escape_rule_names(tmp_path: Path, s: str) -> None:
    report = _coverage(tmp_path / "h", s)
    assert report.gaps and all(g.allowed_by.name != "x" for g in report.gaps)
    benign = _coverage(tmp_path / "b", "x")
    assert cov.to_text(report).count("\n") == cov.to_text(benign).count("\n")
    assert "\n::error" not in cov.to_text(report)
    for result in json.loads(cov.to_sarif(report))["runs"][0]["results"]:
        for message in [result["message"]["text"], *(r["message"]["text"] for r in result["relatedLocations"])]:
            assert "\n" not in message
            assert not re.search(r"(?<!\\)[\[\]]", message.replace("\\\\", "")), message
    if s.isprintable():  # (the policy language has no \\u escapes to write the others exactly)
        assert json.loads(cov.to_json(report))["gaps"][0]["allowed_by"]["name"] == s  # JSON: exact


def test_the_ci_log_lines_of_coverage_are_not_forged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a machine format the gaps also go to stderr, the CI log: a rule name holding a line
    break must not start a `::error ...::` workflow command line there."""
    _coverage(tmp_path, "grant\n::error file=x.policy,line=1::all clear")
    shutil.copytree(ROOT / "tests/fixtures/catalog", tmp_path / "catalog")
    (tmp_path / "policyengine.yaml").write_text("policies: policies/\ncatalog: catalog/\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["coverage", "--format", "json"])
    assert result.exit_code == 1, result.output
    assert not any(line.startswith("::") for line in result.stderr.splitlines()), result.stderr
    assert "grant\\n::error" in result.stderr


def test_the_escapers_on_their_own() -> None:
    assert md_text("GOV-8 <!--") == "GOV-8 &lt;!--"
    assert md_text("a|b") == "a\\|b" and md_text("@team") == "&#64;team"
    assert md_code("x`y") == "``x`y``" and md_code("a|b") == "`a\\|b`" and md_code("`") == "`` ` ``"
    assert plain("a\nb\x1b\u202e") == "a\\nb\\x1b\\u202e"
    assert sarif_text("[a](1) \\") == "\\[a\\](1) \\\\"
    assert md_text("mask partial(first=3, last=2) by mask-phones") == "mask partial(first=3, last=2) by mask-phones"
