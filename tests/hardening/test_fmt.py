"""`fmt --diff` prints a patch and nothing else on stdout; a CRLF → LF change is said."""

from __future__ import annotations

from .conftest import GOOD, Run


def test_diff_prints_nothing_on_stdout_when_nothing_changes(project: Run) -> None:
    result = project("fmt", "--diff", files={"policies/shop.policy": GOOD})
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "0 of 1 files would be reformatted" in result.stderr


def test_crlf_file_is_reported_in_diff_and_check(project: Run) -> None:
    result = project("fmt", "--diff", files={"policies/shop.policy": GOOD.replace("\n", "\r\n").encode()})
    assert result.exit_code == 0
    assert result.stdout.startswith("--- a/policies/shop.policy\n+++ b/policies/shop.policy\n")
    assert "would reformat policies/shop.policy (CRLF line endings → LF)" in result.stderr
    assert project("fmt", "--check").exit_code == 1


def test_fmt_writes_lf_and_says_so(project: Run) -> None:
    result = project("fmt", files={"policies/shop.policy": GOOD.replace("\n", "\r\n").encode()})
    assert "reformatted policies/shop.policy (CRLF line endings → LF)" in result.stdout
    assert (project.root / "policies/shop.policy").read_bytes() == GOOD.encode()  # type: ignore[attr-defined]
    assert project("fmt", "--check").exit_code == 0
