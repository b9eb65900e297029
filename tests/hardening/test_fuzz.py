"""Fuzzing every loader with mutated valid inputs: each input loads or fails with its own located
error type; no other exception (a traceback for the user) escapes, and nothing hangs.

Mutations: byte flips, truncation, insertions of right-to-left marks, zero-width and confusable
characters, NUL bytes, huge literals, deep nesting. The number of examples per test is bounded
for CI (POLICYENGINE_FUZZ_EXAMPLES, default 40); set it higher to fuzz longer.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.catalog.consumers import load_directory
from policyengine.catalog.contracts import CatalogError, load_catalog
from policyengine.catalog.scan_tags import scan_tags
from policyengine.config import load_config
from policyengine.diagnostics import PolicyError
from policyengine.engine.policytest import load_cases
from policyengine.language.checker import check_policies
from policyengine.language.files import parse_paths
from policyengine.scan.config import ConfigError
from policyengine.scan.config import load_scan_config as load_recognizers
from policyengine.yamlsource import YamlError

from .conftest import CONSUMERS, CONTRACT

EXAMPLES = int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None)
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(tempfile.mkdtemp(prefix="pe-fuzz-"))

POLICY = (ROOT / "policies" / "hr.policy").read_text(encoding="utf-8")
SEEDS = {
    "policy": POLICY,
    "contract": CONTRACT.format(sample="orders.csv"),
    "consumers": CONSUMERS,
    "tests": "tests:\n- name: t\n  consumer: {id: a, groups: [g]}\n  product: shop.orders\n"
             "  at: 2026-01-01\n  expect: {columns: {email: deny}}\n",
    "recognizers": "recognizers:\n  - name: emp\n    entity: EMPLOYEE_ID\n    regex: 'EMP-\\d{6}'\n"
                   "    names: [emp_no]\n    min_share: 0.5\n",
    "report": json.dumps({"findings": [{"tag": "pii.email", "source": "orders.csv", "column": "email"}]}),
    "config": "policies: policies/\ncatalog: products/\nconsumers: consumers.yaml\nsamples: [samples/]\n",
}
TRICKY = ["\u200f", "\u202e", "\u200b", "\ufeff", "\u0430", "\x00", "\t", "\r", "\n", ":", "-", "&a ", "*a",
          "[", "{", "}", "'", '"', ";", "#", "\\", "9" * 400, "x" * 5000, "[" * 200, "- " * 100, "é", "\U0001f600"]


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> bytes:
    """`seed` after a few random edits, as bytes (so invalid UTF-8 is among the inputs)."""
    data = bytearray(seed.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(TRICKY)).encode("utf-8")
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 20))]
        elif kind == "repeat":
            data[at:at] = bytes(data[at:at + 30]) * draw(st.integers(2, 50))
    return bytes(data)


def _write(name: str, data: bytes) -> Path:
    path = HERE / name
    path.write_bytes(data)
    return path


@FUZZ
@given(mutated(SEEDS["policy"]))
def test_policy_parser_and_checker(data: bytes) -> None:
    path = _write("fuzz.policy", data)
    files, diags, sources = parse_paths([path])
    assert all(d.severity == "error" and d.location.startswith(str(path)) for d in diags)
    catalog = load_catalog(ROOT / "examples" / "mesh" / "products")
    result = check_policies(files, catalog, None, None, sources)
    assert all(d.location.startswith(str(path)) for d in result.diagnostics)


@FUZZ
@given(mutated(SEEDS["contract"]))
def test_contract_loader(data: bytes) -> None:
    folder = HERE / "contracts"
    folder.mkdir(exist_ok=True)
    (folder / "c.yaml").write_bytes(data)
    try:
        load_catalog(folder)
    except CatalogError as exc:
        assert exc.diagnostics and all("c.yaml" in d.location for d in exc.diagnostics)


@FUZZ
@given(mutated(SEEDS["consumers"]))
def test_consumers_loader(data: bytes) -> None:
    path = _write("consumers.yaml", data)
    try:
        load_directory(path)
    except YamlError as exc:
        assert exc.file == str(path) and "\n" not in str(exc)


@FUZZ
@given(mutated(SEEDS["tests"]))
def test_policy_test_loader(data: bytes) -> None:
    path = _write("t.tests.yaml", data)
    try:
        load_cases(path)
    except YamlError as exc:
        assert exc.file == str(path) and "\n" not in str(exc)


@FUZZ
@given(mutated(SEEDS["recognizers"]))
def test_recognizer_loader(data: bytes) -> None:
    path = _write("recognizers.yaml", data)
    try:
        load_recognizers(path)
    except ConfigError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)


@FUZZ
@given(mutated(SEEDS["report"]))
def test_scan_report_loader(data: bytes) -> None:
    path = _write("report.json", data)
    catalog = load_catalog(ROOT / "examples" / "mesh" / "products")
    try:
        scan_tags(path, catalog)
    except PolicyError as exc:
        assert exc.diagnostics and "\n" not in str(exc)


@FUZZ
@given(mutated(SEEDS["config"]))
def test_project_config_loader(data: bytes) -> None:
    path = _write("policyengine.yaml", data)
    try:
        load_config(path)
    except YamlError as exc:
        assert exc.file is not None and "\n" not in str(exc)


def test_yaml_alias_bomb_and_duplicate_keys_are_errors() -> None:
    lol = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    for text, message in ((lol, "expands to more than"), ("policies: a\npolicies: b\n", "duplicate key 'policies'"),
                          ("a: " + "[" * 100 + "]" * 100, "nested deeper than 64 levels")):
        path = _write("policyengine.yaml", text.encode())
        try:
            load_config(path)
        except YamlError as exc:
            assert message in str(exc) and exc.line is not None
        else:
            raise AssertionError(f"{message!r} was accepted")


def test_oversized_and_binary_files_are_located_errors() -> None:
    from policyengine.yamlsource import read_source

    big = _write("big.policy", b"#" * 100)
    try:
        read_source(big, max_bytes=50)
    except YamlError as exc:
        assert "larger than" in exc.message and exc.line == 1
    binary = _write("bin.policy", b"scope platform\n\xff\xfe\x00")
    files, diags, _ = parse_paths([binary])
    assert not files and diags[0].one_line() == f"{binary}:2:1: error: not UTF-8 text (a binary file?): undecodable byte"
