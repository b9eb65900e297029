"""Gates that used to pass when they should not: each case is a mistake a new user makes."""

from __future__ import annotations

import json

from .conftest import CONTRACT, GOOD, Run


def test_good_project_passes(project: Run) -> None:
    result = project("check", "--strict", files={"policies/shop.policy": GOOD})
    assert result.exit_code == 0, result.output


def test_unknown_group_is_a_warning_with_did_you_mean(project: Run) -> None:
    policy = "scope domain shop\n\ndeny read shop.orders.email to group:suport-agents;\n" + GOOD.split("\n", 2)[2]
    result = project("check", files={"policies/shop.policy": policy})
    assert result.exit_code == 0, result.output
    assert "policies/shop.policy:3:38: warning: group 'suport-agents'" in result.output
    assert "did you mean 'support-agents'?" in result.output


def test_unknown_group_fails_under_strict(project: Run) -> None:
    policy = "scope domain shop\n\nallow read shop.orders to user:alcie, group:analytics;\n"
    result = project("check", "--strict", "--format", "json", files={"policies/shop.policy": policy})
    assert result.exit_code == 1
    diags = json.loads(result.stdout)["diagnostics"]
    assert [d["code"] for d in diags] == ["unknown-subject"]
    assert "did you mean 'alice'?" in diags[0]["message"]


def test_known_subjects_say_nothing(project: Run) -> None:
    policy = "scope domain shop\n\nallow read shop.orders to user:bob, group:support-agents except user:alice;\n"
    result = project("check", "--strict", files={"policies/shop.policy": policy})
    assert result.exit_code == 0, result.output


def test_strict_counts_the_unkeyed_hash_warning(project: Run, monkeypatch) -> None:
    monkeypatch.delenv("POLICYENGINE_HASH_KEY", raising=False)
    policy = GOOD + "mask shop.orders.email using hash to everyone;\n"
    assert project("check", files={"policies/shop.policy": policy}).exit_code == 0
    result = project("check", "--strict")
    assert result.exit_code == 1, result.output
    assert "1 error(s), 0 warning(s)" in result.output


def test_empty_policy_folder_is_an_error_in_check_and_fmt(project: Run) -> None:
    for command in ("check", "fmt"):
        result = project(command)
        assert result.exit_code == 2, (command, result.output)
        assert "policies: error: no policy files (*.policy) found" in result.stderr


def test_sample_path_matching_no_file_is_reported_by_check(project: Run) -> None:
    typo = CONTRACT.format(sample="../samples/order.csv")
    result = project("check", files={"policies/shop.policy": GOOD, "products/shop.orders.yaml": typo})
    assert result.exit_code == 0
    assert "products/shop.orders.yaml:11:3: warning: the sample path of shop.orders matches no file" in result.output
    assert project("check", "--strict").exit_code == 1


def test_unknown_config_key_is_an_error_with_did_you_mean(project: Run) -> None:
    result = project("check", files={"policies/shop.policy": GOOD,
                                     "policyengine.yaml": "policies: policies/\ncatalgo: products/\n"})
    assert result.exit_code == 2
    assert result.stderr.startswith("policyengine.yaml:2:1: error: unknown key 'catalgo' in the configuration "
                                    "(did you mean 'catalog'?)")


def test_keys_of_other_commands_are_accepted(project: Run) -> None:
    from policyengine.config import KNOWN_KEYS

    assert {"ownership", "privileged", "decision_log", "serve"} <= set(KNOWN_KEYS)
    assert all(KNOWN_KEYS.values())


def test_missing_config_file_is_an_input_error(project: Run) -> None:
    result = project("check", "--config", "/nope.yaml", files={"policies/shop.policy": GOOD})
    assert result.exit_code == 2
    assert result.stderr == "/nope.yaml: error: cannot read file: No such file or directory\n"


def test_tagged_finding_without_source_is_an_error(project: Run) -> None:
    import pytest

    import policyengine
    from policyengine.diagnostics import PolicyError

    project("check", files={"policies/shop.policy": GOOD})
    root = project.root  # type: ignore[attr-defined]
    report = root / "scan.json"
    report.write_text('{"findings": [{"tag": "pii.email", "column": "email"}]}', encoding="utf-8")
    with pytest.raises(PolicyError, match="finding 0 has a tag but no 'source' and 'column'"):
        policyengine.load(root / "policies", catalog=root / "products", scan=report)
    report.write_text('{"findings": [', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        policyengine.load(root / "policies", catalog=root / "products", scan=report)
    assert info.value.diagnostics[0].one_line().endswith("scan.json:1:15: error: malformed scan report: "
                                                         "not JSON (Expecting value)")
