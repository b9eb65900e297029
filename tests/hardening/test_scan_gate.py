"""The scan gate: a sample no contract claims fails it; --config is the project file."""

from __future__ import annotations

import os

from .conftest import CONTRACT, Run


def _scan(project: Run, *args: str):
    os.environ.pop("POLICYENGINE_CONFIG", None)
    return project("scan", "--model", "none", *args)


def test_a_claimed_sample_passes(project: Run) -> None:
    result = _scan(project, "samples")
    assert result.exit_code == 0, result.output
    assert "no contract claims" not in result.stderr


def test_an_unclaimed_sample_fails_the_gate_unless_allowed(project: Run) -> None:
    typo = CONTRACT.format(sample="../samples/order.csv")
    result = project("scan", "--model", "none", "samples", files={"products/shop.orders.yaml": typo})
    assert result.exit_code == 1, result.output
    assert "orders.csv: error: no contract claims this file as a sample" in result.stderr
    allowed = _scan(project, "samples", "--allow-unclaimed")
    assert "warning: no contract claims this file" in allowed.stderr
    # the unclaimed file is allowed, but the product whose sample path has the typo has no sample
    assert allowed.exit_code == 1, allowed.output
    assert "error: the sample of shop.orders does not exist (order.csv)" in allowed.output


def test_scan_defaults_to_the_project_samples_and_config_means_the_project_file(project: Run) -> None:
    root = project.root  # type: ignore[attr-defined]
    result = project("scan", "--model", "none", "--config", str(root / "policyengine.yaml"))
    assert result.exit_code == 0, result.output
    missing = project("scan", "--model", "none", "--config", "/nope.yaml")
    assert missing.exit_code == 2 and "/nope.yaml: error: cannot read file" in missing.stderr


def test_a_contract_yaml_error_is_one_located_line_not_a_repr(project: Run) -> None:
    result = project("scan", "--model", "none", files={"products/shop.orders.yaml": "kind: [\n"})
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("products/shop.orders.yaml:2:1: error: malformed YAML: "
                                          "did not find expected node content")
    assert "PosixPath" not in result.output
