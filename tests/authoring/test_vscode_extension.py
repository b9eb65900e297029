"""The VS Code extension (editors/vscode/): its TextMate grammar knows every keyword of the
language's grammar, its manifest wires the language, grammar and client together, and, where npm
is available, `npm ci`, the grammar tests (vscode-tmgrammar-test) and the packaging into a .vsix
(@vscode/vsce) run on a copy. Without npm that last test skips (locally and in CI alike)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXT = REPO / "editors" / "vscode"


def _keywords() -> set[str]:
    """Every word the Lark grammar reserves: its keyword terminals and the quoted words of rules."""
    text = (REPO / "grammar" / "policy.lark").read_text(encoding="utf-8")
    text = "\n".join(line.split("//")[0] for line in text.splitlines())
    return set(re.findall(r'"([a-z]+)"', text))


def _patterns(node: object) -> list[tuple[str, str]]:
    """(regex, scope name) of every `match` rule in the grammar, with capture scopes too."""
    out = []
    if isinstance(node, dict):
        if "match" in node:
            names = [node.get("name", "")] + [c.get("name", "") for c in node.get("captures", {}).values()]
            out.append((node["match"], " ".join(names)))
        for value in node.values():
            out.extend(_patterns(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_patterns(value))
    return out


def test_grammar_highlights_every_keyword():
    grammar = json.loads((EXT / "syntaxes" / "policy.tmLanguage.json").read_text(encoding="utf-8"))
    rules = [(re.compile(m.replace("(?<![\\w.])", "")), scope) for m, scope in _patterns(grammar["repository"])]
    missing = []
    for word in sorted(_keywords()):
        hit = next((scope for rx, scope in rules if rx.fullmatch(word) and
                    ("keyword" in scope or "constant" in scope or "storage" in scope)), None)
        if hit is None and word in ("group", "user"):  # only before ':'
            hit = next((s for rx, s in rules if rx.fullmatch(f"{word}:")), None)
        if hit is None:
            missing.append(word)
    assert not missing, f"keywords the TextMate grammar does not highlight: {missing}"


def test_manifest_wires_language_grammar_and_client():
    manifest = json.loads((EXT / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "policy" and ".policy" in language["extensions"]
    assert (EXT / language["configuration"]).is_file()
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["language"] == "policy" and (EXT / grammar["path"]).is_file()
    assert json.loads((EXT / grammar["path"]).read_text())["scopeName"] == grammar["scopeName"]
    assert (EXT / manifest["main"]).is_file()
    client = (EXT / manifest["main"]).read_text(encoding="utf-8")
    assert "vscode-languageclient/node" in client and '"lsp"' in json.dumps(
        manifest["contributes"]["configuration"]["properties"]["policyengine.args"]["default"])
    # versions are pinned exactly (and locked), so a build is reproducible
    for deps in (manifest["dependencies"], manifest["devDependencies"]):
        for name, version in deps.items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
    assert (EXT / "package-lock.json").is_file()
    json.loads((EXT / "language-configuration.json").read_text(encoding="utf-8"))


def test_build_the_vsix(tmp_path: Path):
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the extension is not built here")
    work = tmp_path / "vscode"
    shutil.copytree(EXT, work, ignore=shutil.ignore_patterns("node_modules", "*.vsix"))

    def run(*args: str) -> str:
        done = subprocess.run([npm, *args], cwd=work, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"npm {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    run("ci", "--no-audit", "--no-fund")
    out = run("test")  # exits non-zero on any failed assertion; says which files ran
    assert "tests/rules.policy" in out
    run("run", "package")
    with zipfile.ZipFile(work / "policyengine.vsix") as vsix:
        names = set(vsix.namelist())
        manifest = json.loads(vsix.read("extension/package.json"))
    assert manifest["name"] == "policyengine"
    for f in ("extension/extension.js", "extension/syntaxes/policy.tmLanguage.json",
              "extension/language-configuration.json", "extension/readme.md"):
        assert f in names
    assert any(n.startswith("extension/node_modules/vscode-languageclient/") for n in names)
    assert not any(n.startswith("extension/tests/") for n in names)
