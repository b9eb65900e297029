"""`policyengine report` without a browser: every user-written string is escaped (an HTML
injection corpus through each input the report shows), raw scan values never show, nothing is
fetched from the network, and the command's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from policyengine.authoring import report as report_module

PAYLOADS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</td></tr></table><iframe src=javascript:alert(1)>",
    "&lt;script&gt;",
]
RAW_VALUE = "alice.smith@example.com"


class Elements(HTMLParser):
    """Every element and attribute of a document, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def hostile_project(root: Path) -> Path:
    """The example project with attack strings as a consumer id, groups, a rule name, a row
    filter's literal, and a scan report whose evidence holds a raw value and markup."""
    from tests.authoring.conftest import copy_project

    copy_project(root)
    consumers = root / "examples/mesh/consumers.yaml"
    text = consumers.read_text(encoding="utf-8")
    entries = "".join(f"  - id: {json.dumps(p)}\n    groups: [{json.dumps('g' + p)}]\n" for p in PAYLOADS)
    consumers.write_text(text.replace("consumers:\n", "consumers:\n" + entries, 1), encoding="utf-8")
    policy = root / "policies/sales.policy"
    rules = "".join(f"\n@name({json.dumps('r' + p)})\nallow read sales.orders.order_id to "
                    f"group:{json.dumps('g' + p)};\n" for p in PAYLOADS)
    rules += "".join(f"\nfilter sales.orders rows where status == {json.dumps(p)} to group:{json.dumps('g' + p)};\n"
                     for p in PAYLOADS)
    policy.write_text(policy.read_text(encoding="utf-8") + rules, encoding="utf-8")
    scan = {"findings": [{"source": f"examples/mesh/samples/{PAYLOADS[1]}.csv", "column": PAYLOADS[2],
                          "entity": PAYLOADS[3], "tag": None, "score": 0.9,
                          "evidence": {"summary": f"e.g. {RAW_VALUE}", "method": PAYLOADS[4], "matched": 3,
                                       "distinct_sampled": 4, "examples": [RAW_VALUE, "*****@*******.***"]}}]}
    (root / "scan.json").write_text(json.dumps(scan), encoding="utf-8")
    return root


def run_report(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policyengine.cli", "report", *args], cwd=root,
                          capture_output=True, text=True, check=False)


def injected(document: str) -> list[str]:
    """What an attacker's string managed to become: elements or attributes the report never writes."""
    parser = Elements()
    parser.feed(document)
    bad = []
    scripts = [t for t, _ in parser.tags if t == "script"]
    if len(scripts) != 1:
        bad.append(f"{len(scripts)} script elements")
    for tag, attrs in parser.tags:
        if tag in ("img", "svg", "iframe"):
            bad.append(f"<{tag}>")
        bad.extend(f"{tag} {name}=" for name in attrs if name.startswith("on"))
    return bad


def test_every_user_string_is_escaped(tmp_path: Path):
    root = hostile_project(tmp_path)
    done = run_report(root, "-o", "out.html", "--scan", "scan.json")
    assert done.returncode == 0, done.stderr
    document = (root / "out.html").read_text(encoding="utf-8")
    assert injected(document) == []
    parser = Elements()
    parser.feed(document)
    text = "".join(parser.text)
    for p in PAYLOADS[:4]:  # shown as the text they are
        assert p in text
    assert RAW_VALUE not in document and "example.com" not in document  # evidence is redacted
    assert "*****@*******.***" in text


def test_the_injection_check_catches_an_unescaped_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The check above is not vacuous: with escaping switched off, the same inputs inject."""
    root = hostile_project(tmp_path)
    import policyengine

    engine = policyengine.load(root / "policies", root / "examples/mesh/products",
                               consumers=root / "examples/mesh/consumers.yaml")
    monkeypatch.setattr(report_module, "_e", str)
    assert injected(report_module.render_report(engine))


def test_self_contained(tmp_path: Path):
    from tests.authoring.conftest import copy_project

    root = copy_project(tmp_path)
    done = run_report(root, "-o", "access.html")
    assert done.returncode == 0, done.stderr
    assert str((root / "access.html").resolve()) in done.stderr
    parser = Elements()
    document = (root / "access.html").read_text(encoding="utf-8")
    parser.feed(document)
    for tag, attrs in parser.tags:
        for name in ("src", "href", "action", "data"):
            value = attrs.get(name) or ""
            assert not value or value.startswith("#"), (tag, name, value)  # only in-page links
        assert tag not in ("link", "img", "iframe", "object", "embed")
    assert "default-src 'none'" in document  # and the page forbids fetching anything


@pytest.mark.parametrize("args, code, message", [
    (["--scan", "missing.json"], 2, "no such file"),
    (["--scan", "policyengine.yaml"], 2, "not a scan report"),
    (["--at", "yesterday"], 2, "--at"),
    (["--base", "no-such-rev"], 2, "neither a folder nor a git revision"),
    (["-o", "no/such/folder/x.html"], 2, "cannot write"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], code: int, message: str):
    from tests.authoring.conftest import copy_project

    root = copy_project(tmp_path)
    done = run_report(root, *args)
    assert done.returncode == code and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not list(root.glob("*.html"))
