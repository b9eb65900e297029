"""The CI recipes cannot drift: the YAML in docs/governance.md ("In CI") and .pre-commit-hooks.yaml
parse, and every `policyengine` command and option they name exists in the CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer.main
import yaml

from policyengine.cli import app

ROOT = Path(__file__).resolve().parents[2]
CLI = typer.main.get_command(app)


def _ci_blocks() -> list[object]:
    doc = (ROOT / "docs" / "governance.md").read_text("utf-8")
    section = doc[doc.index("## In CI"):doc.index("## `policyengine diff`")]
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def _invocations(script: str) -> list[list[str]]:
    """Each `policyengine …` command line of a shell snippet, as argv (GitHub expressions become words)."""
    script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", script)
    out = []
    for part in re.split(r"\|\||&&|\n|;", script):
        words = shlex.split(part)
        if words and words[0] == "policyengine":
            out.append(words[1:])
    return out


def _check(argv: list[str]) -> None:
    command = CLI.commands.get(argv[0])  # type: ignore[attr-defined]
    assert command is not None, f"no command policyengine {argv[0]}"
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in argv[1:]:
        if word.startswith("-"):
            assert word.split("=")[0] in options, f"policyengine {argv[0]} has no option {word}"
    ctx = command.make_context(f"policyengine {argv[0]}", list(argv[1:]), resilient_parsing=True)
    assert ctx is not None


def test_the_documented_workflow_runs_real_commands() -> None:
    blocks = _ci_blocks()
    workflow = next(b for b in blocks if isinstance(b, dict) and "jobs" in b)
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    runs = [argv for s in steps if "run" in s for argv in _invocations(s["run"])]
    assert {argv[0] for argv in runs} >= {"scan", "coverage", "diff"}
    for argv in runs:
        _check(argv)
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    uploads = [s["with"]["sarif_file"] for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    outputs = {argv[argv.index("--output") + 1] for argv in runs if "--output" in argv}
    assert set(uploads) == {"coverage.sarif", "diff.sarif"} and set(uploads) <= outputs
    diff = next(argv for argv in runs if argv[0] == "diff" and "markdown" in argv)
    assert any("--body-file" in s.get("run", "") and diff[diff.index("--output") + 1] in s["run"] for s in steps)


def test_the_pre_commit_hooks_run_real_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    ids = {h["id"] for h in hooks}
    assert {"policyengine-check", "policyengine-fmt", "policyengine-coverage", "policyengine-diff"} <= ids
    for h in hooks:
        words = shlex.split(h["entry"]) + list(h.get("args", []))
        assert words[0] == "policyengine"
        _check(words[1:])
    documented = next(b for b in _ci_blocks() if isinstance(b, dict) and "repos" in b)
    assert {h["id"] for r in documented["repos"] for h in r["hooks"]} <= ids
