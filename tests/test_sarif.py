"""The one SARIF writer (policyengine/sarif.py): a valid SARIF 2.1.0 log, members in a fixed order
(what the scan, coverage and diff reports' goldens and code scanning read), non-ASCII kept."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from policyengine.sarif import SARIF_SCHEMA, sarif_log

SCHEMA = json.loads((Path(__file__).parent / "scan" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))


def test_the_envelope_is_valid_sarif_in_a_fixed_order() -> None:
    text = sarif_log({"name": "t", "rules": [{"id": "r"}]},
                     [{"ruleId": "r", "level": "error", "message": {"text": "naïve"}}],
                     invocations=[{"executionSuccessful": True}], properties={"n": 1})
    log = json.loads(text)
    jsonschema.validate(log, SCHEMA)
    assert list(log) == ["$schema", "version", "runs"] and log["$schema"] == SARIF_SCHEMA
    assert list(log["runs"][0]) == ["tool", "results", "invocations", "properties"]
    assert "naïve" in text and text.startswith('{\n  "$schema"')


def test_a_run_without_extra_members_has_tool_and_results_only() -> None:
    log = json.loads(sarif_log({"name": "t"}, []))
    jsonschema.validate(log, SCHEMA)
    assert log["runs"] == [{"tool": {"driver": {"name": "t"}}, "results": []}]
