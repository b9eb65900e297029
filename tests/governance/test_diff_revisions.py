"""Issue 19, hole 6: `diff` read git revisions through `git archive`, which applies the committed
`.gitattributes` (export-subst, export-ignore, eol and encoding conversions), so the diff compared
versions the checkout never holds. Revisions are read as stored blobs now, and a change of any
`.gitattributes` is a governed change: reported, and failing unless approved in the file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from policyengine.cli import app

from .gitmesh import git

SALES = "policies/sales.policy"
CONSUMERS = "examples/mesh/consumers.yaml"
MARGIN = '@name("margin-for-leads-and-finance")\n' \
    "deny read sales.orders.margin to everyone except group:sales-leads, group:finance;\n"
BOB = "  - id: bob\n    groups: [sales-reps]\n"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), "utf-8")


def _diff(*args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["diff", *args, "--format", "json"])
    assert result.exit_code in (0, 1) and result.stdout.startswith("{"), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def _branch(root: Path, name: str = "pr") -> None:
    git(root, "checkout", "-q", "-b", name)


def test_export_subst_cannot_show_the_diff_a_deny_the_checkout_does_not_have(mesh: Path) -> None:
    """The head comments the margin guardrail out; `$Format:%n$` would put it back in an archive."""
    _branch(mesh)
    (mesh / ".gitattributes").write_text("*.policy export-subst\n", "utf-8")
    _edit(mesh / SALES, MARGIN, "".join("# $Format:%n$" + line for line in MARGIN.splitlines(True)))
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "a comment")
    code, data, err = _diff("main", "pr")
    assert code == 1
    loosened = [c for g in data["groups"] for c in g["cells"] if c["direction"] == "looser"]
    assert {c["column"] for c in loosened} == {"margin"}
    (change,) = data["contract_changes"]
    assert change["kind"] == "gitattributes-changed" and change["file"] == ".gitattributes"
    assert change["line"] == 1 and change["approved"] is None
    assert ".gitattributes:1: error:" in err


def test_a_two_step_export_subst_cannot_hide_a_privilege_in_the_base(mesh: Path) -> None:
    """Step one (merged) makes the archived consumers file give bob `pii-cleared` in a comment;
    step two grants it for real, and the archived base already "had" it."""
    (mesh / ".gitattributes").write_text(f"{CONSUMERS} export-subst\n", "utf-8")
    _edit(mesh / CONSUMERS, BOB, "  - id: bob\n    # $Format:%n$    groups: [sales-reps, pii-cleared]\n"
          "    groups: [sales-reps]\n")
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "step one")
    _branch(mesh)
    _edit(mesh / CONSUMERS, "pii-cleared]\n    groups: [sales-reps]\n", "pii-cleared]\n    groups: [sales-reps, pii-cleared]\n")
    git(mesh, "commit", "-q", "-am", "step two")
    code, data, _ = _diff("main", "pr")
    assert code == 1
    (group,) = data["groups"]
    assert group["causes"][0]["cause"].startswith("consumer changed: bob (")
    assert data["contract_changes"] == []  # the attributes did not change in this step


def test_export_ignore_cannot_drop_a_file_from_a_revision(mesh: Path) -> None:
    (mesh / ".gitattributes").write_text(f"{SALES} export-ignore\n", "utf-8")
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "ignore")
    _branch(mesh)
    _edit(mesh / SALES, MARGIN, "")
    git(mesh, "commit", "-q", "-am", "drop the guardrail")
    code, data, _ = _diff("main", "pr")
    assert code == 1 and data["summary"]["unapproved_loosenings"] > 0


def test_a_gitattributes_change_in_the_working_tree_is_governed_and_approvable(mesh: Path) -> None:
    nested = mesh / "policies/.gitattributes"
    nested.write_text("*.policy text eol=crlf\n", "utf-8")
    code, data, err = _diff("main")
    assert code == 1
    (change,) = data["contract_changes"]
    assert (change["kind"], change["file"], change["line"]) == ("gitattributes-changed", "policies/.gitattributes", 1)
    assert "policies/.gitattributes:1: error:" in err
    nested.write_text("# policyengine-approved: GOV-12\n*.policy text eol=crlf\n", "utf-8")
    code, data, _ = _diff("main")
    assert code == 0 and data["contract_changes"][0]["approved"] == "GOV-12"
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "approved attributes")
    nested.write_text("# policyengine-approved: GOV-12\n*.policy export-subst\n", "utf-8")
    code, data, _ = _diff("main")  # the base's approval approved the base's change, not this one
    assert code == 1 and data["contract_changes"][0]["approved"] is None
    nested.unlink()
    code, data, _ = _diff("main")  # removing the file is a change too
    assert code == 1 and data["contract_changes"][0]["file"] == "policies/.gitattributes"


def test_unchanged_attributes_are_no_change(mesh: Path) -> None:
    (mesh / ".gitattributes").write_text("*.parquet binary\n", "utf-8")
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "attributes")
    code, data, _ = _diff("main")
    assert code == 0 and data["contract_changes"] == []
    _branch(mesh)
    code, data, _ = _diff("main", "pr")
    assert code == 0 and data["contract_changes"] == [] and data["groups"] == []


def test_a_revision_is_read_byte_for_byte(mesh: Path) -> None:
    """CRLF conversion, `ident` and a working-tree encoding do not apply: a revision's files are
    its blobs (here a policy the archive would have re-encoded to UTF-16, so it would not parse)."""
    (mesh / ".gitattributes").write_text("*.policy working-tree-encoding=UTF-16 ident eol=crlf\n", "utf-8")
    git(mesh, "add", ".gitattributes")
    git(mesh, "commit", "-q", "-m", "encodings")
    _branch(mesh)
    code, data, _ = _diff("main", "pr")
    assert code == 0 and data["groups"] == [] and data["contract_changes"] == []


def test_a_link_that_leaves_the_tree_through_another_link_is_refused(mesh: Path) -> None:
    """Each link's target stays inside when read alone; `x -> s/..` with `s -> .` does not."""
    import os

    os.symlink(".", mesh / "policies/s")
    os.symlink("s/../..", mesh / "policies/x")  # policies/s/../.. is the repository's parent
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "links")
    result = CliRunner().invoke(app, ["diff", "HEAD"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "has a link or path that leaves the tree (policies/x): not read" in result.output


def test_links_that_stay_inside_are_kept(mesh: Path) -> None:
    import os

    os.symlink("policies", mesh / "rules")
    os.symlink("../examples/mesh/consumers.yaml", mesh / "policies/consumers-link.yaml")
    git(mesh, "add", "-A")
    git(mesh, "commit", "-q", "-m", "links inside")
    code, data, _ = _diff("HEAD")
    assert code == 0 and data["groups"] == []
