"""`policyengine diff BASE [HEAD]` on a git copy of the example mesh: revisions and folders, the
four formats, approvals, exit codes, and the user's checkout left as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

from .gitmesh import git as _git

ROOT = Path(__file__).resolve().parents[2]
PHONES = ('@name("mask-phones")\nmask tagged pii.phone using partial(first=3, last=2) to everyone except '
          'group:pii-cleared;\n')


def _drop_phone_mask(root: Path, approved: str | None = None) -> None:
    platform = root / "policies" / "platform.policy"
    text = platform.read_text("utf-8")
    assert PHONES in text
    replacement = "" if approved is None else PHONES.replace(
        "to everyone except group:pii-cleared", "to everyone except group:pii-cleared, group:support").replace(
        '@name("mask-phones")', f'@approved("{approved}")\n@name("mask-phones")')
    platform.write_text(text.replace(PHONES, replacement), "utf-8")


def test_no_change_passes(mesh: Path) -> None:
    result = CliRunner().invoke(app, ["diff", "HEAD"])
    assert result.exit_code == 0, result.output
    assert "0 cell(s) looser" in result.stdout and "6 product(s) compared, 0 evaluated" in result.stdout


def test_a_removed_mask_fails_with_its_rule_and_line(mesh: Path) -> None:
    _drop_phone_mask(mesh)
    before = _git(mesh, "status", "--porcelain")
    result = CliRunner().invoke(app, ["diff", "main"])
    assert result.exit_code == 1, result.output
    first = result.stdout.splitlines()[1]
    assert first.startswith("policies/platform.policy:") and ": error: rule removed: mask-phones (" in first
    assert "sales.customers.phone: mask partial" in result.stdout and "(not approved)" in result.stdout
    assert _git(mesh, "status", "--porcelain") == before  # the checkout is untouched


def test_an_approved_loosening_passes_and_says_so(mesh: Path) -> None:
    _drop_phone_mask(mesh, approved="GOV-123")
    result = CliRunner().invoke(app, ["diff", "HEAD", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (group,) = data["groups"]
    assert group["approved"] == "GOV-123" and group["loosened"] > 0
    assert group["causes"][0]["rule_change"]["kind"] == "modified"
    assert data["summary"]["unapproved_loosenings"] == 0


def test_sarif_and_markdown(mesh: Path) -> None:
    _drop_phone_mask(mesh)
    sarif = CliRunner().invoke(app, ["diff", "HEAD", "--format", "sarif"])
    assert sarif.exit_code == 1
    (result,) = json.loads(sarif.stdout)["runs"][0]["results"]
    assert result["ruleId"] == "diff/loosened-access" and result["level"] == "error"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "policies/platform.policy" and loc["region"]["startLine"] > 0
    assert "error: rule removed: mask-phones" in sarif.stderr  # the CI log shows the outcome
    md = CliRunner().invoke(app, ["diff", "HEAD", "--format", "markdown"])
    assert md.exit_code == 1
    assert md.stdout.startswith("### policyengine diff: `HEAD` → `working tree`")
    assert "**rule removed: mask-phones (policies/platform.policy:" in md.stdout and "❌ not approved" in md.stdout


def test_two_folders_and_a_policies_folder(mesh: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    old = tmp_path_factory.mktemp("old")
    shutil.copytree(mesh, old / "project", ignore=shutil.ignore_patterns(".git"))
    _drop_phone_mask(mesh)
    both = CliRunner().invoke(app, ["diff", str(old / "project"), str(mesh)])
    assert both.exit_code == 1 and "rule removed: mask-phones" in both.stdout
    policies = CliRunner().invoke(app, ["diff", str(old / "project" / "policies")])
    assert policies.exit_code == 1 and "rule removed: mask-phones (policies/platform.policy:" in policies.stdout


def test_a_privacy_breaking_contract_change_is_located(mesh: Path) -> None:
    contract = mesh / "examples/mesh/products/sales.customers.yaml"
    contract.write_text(contract.read_text("utf-8").replace("    - pii.phone\n", "", 1), "utf-8")
    result = CliRunner().invoke(app, ["diff", "HEAD"])
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if "tag-removed" in x)
    assert line.startswith("examples/mesh/products/sales.customers.yaml:") and "pii.phone" in line


@pytest.mark.parametrize("args, message", [
    (["no-such-revision"], "error: 'no-such-revision' is neither a folder nor a git revision"),
    (["HEAD", "policyengine.yaml"],
     "policyengine.yaml: error: not a folder (give a project folder, a policies folder or a git revision)"),
    (["HEAD", "--scan", "missing.json"], "missing.json: error: no such file"),
])
def test_bad_input_is_one_line_and_exit_2(mesh: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["diff", *args])
    assert result.exit_code == 2
    assert result.stderr.strip() == message and "Traceback" not in result.output


def test_a_revision_without_the_configuration_is_exit_2(mesh: Path) -> None:
    (mesh / "policyengine.yaml").rename(mesh / "moved.yaml")
    _git(mesh, "add", "-A")
    _git(mesh, "commit", "-q", "-m", "moved")
    result = CliRunner().invoke(app, ["diff", "HEAD~1", "--config", "moved.yaml"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: revision 'HEAD~1' has no moved.yaml"


def test_a_base_with_policy_errors_is_exit_1(mesh: Path) -> None:
    platform = mesh / "policies" / "platform.policy"
    platform.write_text(platform.read_text("utf-8") + "\nallow read nowhere.nothing to everyone;\n", "utf-8")
    _git(mesh, "commit", "-qam", "broken")
    platform.write_text(platform.read_text("utf-8").replace("\nallow read nowhere.nothing to everyone;\n", ""), "utf-8")
    result = CliRunner().invoke(app, ["diff", "HEAD"])
    assert result.exit_code == 1 and result.stderr.startswith("in HEAD:")


def _doc_example(root: Path) -> None:
    """The change docs/governance.md shows: an approved exception to mask-phones, an unapproved
    one to the margin deny."""
    platform = root / "policies" / "platform.policy"
    platform.write_text(platform.read_text("utf-8").replace(PHONES, PHONES.replace(
        '@name("mask-phones")', '@approved("GOV-123")\n@name("mask-phones")').replace(
        "except group:pii-cleared;", "except group:pii-cleared, group:support;")), "utf-8")
    sales = root / "policies" / "sales.policy"
    deny = "deny read sales.orders.margin to everyone except group:sales-leads, group:finance;"
    text = sales.read_text("utf-8")
    assert deny in text
    sales.write_text(text.replace(deny, deny.replace("group:finance;", "group:finance, group:analytics;")), "utf-8")


def test_the_documented_pr_comment_is_the_tools_output(mesh: Path) -> None:
    """The markdown block in docs/governance.md is what the tool prints for the documented change
    (POLICYENGINE_UPDATE_DOCS=1 rewrites it)."""
    import os
    import re

    _doc_example(mesh)
    result = CliRunner().invoke(app, ["diff", "main", "--format", "markdown"])
    assert result.exit_code == 1
    block = "<!-- diff-example:start -->\n" + result.stdout + "<!-- diff-example:end -->"
    doc_path = ROOT / "docs" / "governance.md"
    doc = doc_path.read_text("utf-8")
    pattern = re.compile(r"<!-- diff-example:start -->\n.*?<!-- diff-example:end -->", re.S)
    if os.environ.get("POLICYENGINE_UPDATE_DOCS") == "1":
        doc_path.write_text(pattern.sub(lambda _: block, doc), "utf-8")
        doc = doc_path.read_text("utf-8")
    found = pattern.search(doc)
    assert found is not None and found.group(0) == block
    assert "✅ approved: GOV-123" in block and "❌ not approved" in block


def test_one_commit_twice_and_a_link_out_of_the_tree(mesh: Path) -> None:
    """`diff HEAD HEAD` reads one commit twice (two folders, no clash); a link that leaves the
    tree is never followed: where the gates read nothing, it is left out with one note (issue 27:
    it used to make the whole revision unreadable); at or below a path they read, the revision is
    refused with one line and exit 2, never a traceback."""
    same = CliRunner().invoke(app, ["diff", "HEAD", "HEAD"])
    assert same.exit_code == 0, same.output
    (mesh / "outside").symlink_to("/etc/passwd")
    _git(mesh, "add", "outside")
    _git(mesh, "commit", "-q", "-m", "a link")
    linked = CliRunner().invoke(app, ["diff", "HEAD"])
    assert linked.exit_code == 0, linked.output
    assert "note: git revision 'HEAD' has a link that leaves the tree (outside): not read" in linked.output
    (mesh / "policies/outside.policy").symlink_to("/etc/passwd")
    _git(mesh, "add", "policies/outside.policy")
    _git(mesh, "commit", "-q", "-m", "a link where policies are read")
    refused = CliRunner().invoke(app, ["diff", "HEAD"])
    assert refused.exit_code == 2, refused.output
    [line] = [x for x in refused.output.strip().splitlines() if not x.startswith("note:")]
    assert line.startswith("error: git revision 'HEAD' has a link or path that leaves the tree "
                           "(policies/outside.policy)")
    assert "Traceback" not in refused.output
