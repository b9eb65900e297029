"""Issue 19, hole 7: files the engine and the gates read had no CODEOWNERS line, so their author
approved their own change: `approved: SELF-1` in the consumers file gave bob `pii-cleared`,
reviewed by nobody. `.gitattributes` (what a checkout holds) and the samples (what `scan` reads)
had no owner either. Every file read gets an owner from the ownership map, the platform by
default; `codeowners` writes the lines and `codeowners --check` fails on a read file without one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.governance.ownership import codeowners_owners

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = "@example/data-platform"
PARTS = ("policies", "examples/mesh/products", "examples/mesh/samples", "examples/mesh/consumers.yaml",
         "policyengine.yaml", ".github/CODEOWNERS")


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project as a repository of its own (its CODEOWNERS as committed)."""
    for part in PARTS:
        src, dst = ROOT / part, tmp_path / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    return tmp_path


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def _owners(root: Path, path: str) -> tuple[str, ...] | None:
    return codeowners_owners((root / ".github/CODEOWNERS").read_text("utf-8"), path)


@pytest.mark.parametrize("path", [
    "examples/mesh/consumers.yaml",  # bob's author approved bob's pii-cleared
    ".gitattributes", "policies/.gitattributes", "examples/mesh/products/.gitattributes",
    "examples/mesh/samples/sales.customers.parquet",  # what scan reads
    "policyengine.yaml",  # the map, the privileged list, the approvals pattern
    ".github/workflows/governance.yml", ".gitlab-ci.yml",  # whether the gates run at all
])
def test_every_file_the_gates_read_is_owned_by_the_platform(mesh: Path, path: str) -> None:
    assert _run("codeowners").exit_code == 0
    assert _owners(mesh, path) == (PLATFORM,)


def test_the_committed_example_codeowners_owns_every_read_file() -> None:
    """The repository's own .github/CODEOWNERS (regenerated) gives the consumers file, the samples
    and every .gitattributes to the platform."""
    text = (ROOT / ".github/CODEOWNERS").read_text("utf-8")
    for path in ("examples/mesh/consumers.yaml", ".gitattributes", "policies/.gitattributes",
                 "examples/mesh/samples/hr.payroll.csv"):
        assert codeowners_owners(text, path) == (PLATFORM,), path
    assert codeowners_owners(text, "policies/sales.policy") == ("@example/sales-data",)


def test_check_fails_on_a_read_file_without_an_owner(mesh: Path) -> None:
    assert _run("codeowners").exit_code == 0
    codeowners = mesh / ".github/CODEOWNERS"
    text = codeowners.read_text("utf-8")
    stripped = "\n".join(line for line in text.splitlines() if "consumers.yaml" not in line) + "\n"
    codeowners.write_text(stripped, "utf-8")
    result = _run("codeowners", "--check")
    assert result.exit_code == 1
    assert ("examples/mesh/consumers.yaml: error: the consumers file has no owner in .github/CODEOWNERS"
            in result.output), result.output


def test_check_fails_on_the_codeowners_committed_before_this_fix(mesh: Path) -> None:
    old = "\n".join(line for line in (mesh / ".github/CODEOWNERS").read_text("utf-8").splitlines()
                    if "consumers.yaml" not in line and "samples" not in line and "gitattributes" not in line
                    and "read that the map" not in line) + "\n"
    (mesh / ".github/CODEOWNERS").write_text(old, "utf-8")
    result = _run("codeowners", "--check")
    assert result.exit_code == 1
    for path in ("examples/mesh/consumers.yaml", "examples/mesh/samples"):
        assert f"{path}" in result.output and "has no owner" in result.output


def test_a_taxonomy_and_a_sample_outside_the_samples_folder_are_owned_too(mesh: Path) -> None:
    config = mesh / "policyengine.yaml"
    (mesh / "policies/taxonomy.yaml").write_text("tags:\n  confidential:\n    sensitive: true\n", "utf-8")
    config.write_text(config.read_text("utf-8").replace(
        "# taxonomy: policies/taxonomy.yaml", "taxonomy: policies/taxonomy.yaml"), "utf-8")
    assert _run("codeowners").exit_code == 0
    assert _owners(mesh, "policies/taxonomy.yaml") == (PLATFORM,)


def test_a_domain_path_of_the_map_keeps_its_owner(mesh: Path) -> None:
    """The map decides; the platform owns what it leaves unowned: a contract stays its domain's."""
    assert _run("codeowners").exit_code == 0
    assert _owners(mesh, "examples/mesh/products/sales.orders.yaml")[0] == "@example/sales-data"
    assert _run("codeowners", "--check").exit_code == 0


@pytest.mark.parametrize("pattern, path, hit", [
    ("/a/b.yaml", "a/b.yaml", True), ("/a/b.yaml", "x/a/b.yaml", False),
    ("b.yaml", "x/y/b.yaml", True), ("**/.gitattributes", ".gitattributes", True),
    ("**/.gitattributes", "a/b/.gitattributes", True), ("/samples/", "samples/x/y.csv", True),
    ("/samples/", "samplesx", False), ("/p/*.policy", "p/a.policy", True), ("/p/*.policy", "p/q/a.policy", False),
    ("/p/**", "p/q/a.policy", True), ("a/b", "x/a/b", False), ("*", "anything/at/all", True),
])
def test_codeowners_patterns_match_as_github_reads_them(pattern: str, path: str, hit: bool) -> None:
    assert (codeowners_owners(f"{pattern} @o\n", path) == ("@o",)) is hit


def test_a_policy_file_in_no_path_of_the_map_goes_to_the_platform(mesh: Path) -> None:
    """`check` rejects its scope too; CODEOWNERS must not leave it to its author meanwhile."""
    (mesh / "policies/extra").mkdir()
    (mesh / "policies/extra/notes.policy").write_text("scope domain sales\n", "utf-8")
    result = _run("codeowners", "--check")
    assert result.exit_code == 1
    assert "policies/extra/notes.policy: error: a policy file has no owner" in result.output
    assert _run("codeowners").exit_code == 0
    assert _owners(mesh, "policies/extra/notes.policy") == (PLATFORM,)
    assert _run("codeowners", "--check").exit_code == 0


@pytest.mark.parametrize("path", [
    "sales.orders.yaml",  # the contract itself: the domain writes its own "sample"
    "../../../policies/sales.policy",  # the domain's policy file
])
def test_check_fails_on_a_sample_its_domain_reviews(mesh: Path, path: str) -> None:
    """A contract's `servers.path` is the domain's to edit: pointed at a file the domain owns, the
    domain writes the sample the scan checks, reviewed by itself. Every sample must be the
    platform's (the CODEOWNERS committed before this change is unchanged by it)."""
    assert _run("codeowners", "--check").exit_code == 0
    contract = mesh / "examples/mesh/products/sales.orders.yaml"
    contract.write_text(contract.read_text("utf-8").replace("../samples/sales.orders.parquet", path), "utf-8")
    assert _run("codeowners").output.endswith("is up to date\n")  # the map gives the same lines
    result = _run("codeowners", "--check")
    assert result.exit_code == 1, result.output
    assert "the sample of sales.orders is reviewed by @example/sales-data" in result.output


@pytest.mark.parametrize("name", [
    "sales.a\n* @mallory\n#.yaml",  # a line break forges a line owning everything above the domain
    "sales.a b.yaml",  # a space splits the pattern from its owners
    "sales.a#x.yaml", "sales.*x.yaml", "sales.[x].yaml", "sales.a\\x.yaml",
])
def test_a_contract_file_name_cannot_write_a_codeowners_line(mesh: Path, name: str) -> None:
    """A contract's file name is the domain's to choose, and `codeowners` wrote it into a line: a
    name with a line break in it added `* @mallory`, which then owned the consumers file."""
    src = mesh / "examples/mesh/products/sales.orders.yaml"
    text = src.read_text("utf-8").replace("\ndataProduct: orders\n", "\ndataProduct: orders_copy\n")
    (mesh / "examples/mesh/products" / name).write_text(text.replace("\nid: ", "\nid: x"), "utf-8")
    result = _run("codeowners")
    assert result.exit_code == 2, result.output
    assert "cannot be written in CODEOWNERS" in result.output
    assert "@mallory\n" not in (mesh / ".github/CODEOWNERS").read_text("utf-8")
    assert _run("codeowners", "--check").exit_code == 2
