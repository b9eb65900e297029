"""The YAML reader's fast path (yamlsource._Fast) gives what the general path gives: the same
objects, key positions and alias identity, and every error with the same text and location.
Checked over every YAML file of the project and a corpus of unusual documents, and by
hypothesis over generated ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine import yamlsource
from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_text

ROOT = Path(__file__).resolve().parents[1]


def _general(text: str) -> Any:
    return yamlsource._load_general(text, "doc.yaml")


def _outcome(load, text: str) -> tuple[str, Any]:
    try:
        return "ok", load(text)
    except YamlError as exc:
        return "error", str(exc)
    except Exception as exc:  # whatever the general path raises, the fast one must too
        return "raised", exc.__class__.__name__


def _same(a: Any, b: Any) -> bool:
    """Equal values, classes, key positions and mapping starts, at every depth."""
    if a.__class__ is not b.__class__:
        return False
    if isinstance(a, LocatedDict):
        return (a.positions == b.positions and a.start == b.start and list(a) == list(b)
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)  # NaN


def _plain(value: Any) -> Any:
    """A loaded value as PyYAML's own SafeLoader gives it, keys as text (ours are text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def _check(text: str) -> None:
    fast, general = _outcome(lambda t: load_yaml_text(t, "doc.yaml"), text), _outcome(_general, text)
    assert fast[0] == general[0], (text[:200], fast, general)
    if fast[0] == "ok":
        assert _same(fast[1], general[1]), text[:200]
        # and the values are PyYAML's (pure Python parser and resolver): libyaml's loader and our
        # resolver shortcuts change nothing
        assert _plain(fast[1]) == _plain(yaml.load(text, Loader=yaml.SafeLoader)), text[:200]
    else:
        assert fast[1] == general[1]


PROJECT_YAML = sorted(p for p in ROOT.rglob("*.y*ml") if ".venv" not in p.parts and ".git" not in p.parts
                      and p.suffix in (".yaml", ".yml"))


def test_every_yaml_file_of_the_project() -> None:
    assert len(PROJECT_YAML) > 20
    for path in PROJECT_YAML:
        _check(yamlsource.read_source(path))


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(7))

CORPUS = [
    "", "# only a comment\n", "null", "~", "plain", "- a\n- b\n", "a: 1\nb: [1, 2, {c: d}]\n",
    "a: yes\nb: No\nc: on\nd: null\ne: ~\nf: 0x1F\ng: 0o17\nh: 1_000\ni: 1:20\nj: .inf\nk: -.NaN\nl: 1e3\n",
    "t: 2026-01-01\nu: 2026-01-01T10:00:00Z\nv: !!binary aGVsbG8=\nw: !!str 12\nx: !!int '7'\n",
    "a: 1\na: 2\n", "a: 1\nb:\n  c: 1\n  c: 2\n", "{[1]: x}\n", "? {a: 1}\n: x\n", "? !!timestamp 2026-01-01\n: x\n",
    "1: a\n2.5: b\nfalse: c\n~: d\n", "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  z: 3\n",
    "a: &x [1, 2]\nb: *x\nc: *x\n", "a: &x {k: v}\nb: *x\n", "a: &r [*r]\n", "&r {a: *r}\n",
    "s: !!set {a, b}\n", "o: !!omap [a: 1, b: 2]\n", "p: !!pairs [a: 1, a: 2]\n", "x: !custom 1\n",
    "x: !!bool maybe\n", "x: !!python/object:os.system ls\n", "a: [1, 2\n", "a: b: c\n", "- a\nb: c\n",
    "a: 1\n---\nb: 2\n", "key: 'unterminated\n", "\t- tab\n", "a: *nope\n",
    "[" * 70 + "]" * 70, "[" * 64 + "]" * 64, "[" * 63 + "]" * 63, "a:\n" + "".join("  " * i + f"k{i}:\n"
                                                                             for i in range(1, 80)),
    LAUGHS, LAUGHS + "h: [*h]\n",
    "!!map {a: 1}\n", "!!seq [a]\n", "!!str x\n", "a: !!map {b: 1}\n", "a: !!null ''\n",
    "'quoted': \"also\"\nmulti: |\n  line 1\n  line 2\nfolded: >\n  a\n  b\n",
    # plain strings read without a call at the depth bound: still counted, still refused past it
    "[" * 63 + "x" + "]" * 63, "[" * 64 + "x" + "]" * 64, "[" * 62 + "{k: v}" + "]" * 62,
    "[" * 63 + "{k: v}" + "]" * 63, "[" * 63 + "{k: [v]}" + "]" * 63,
]


@pytest.mark.parametrize("text", CORPUS)
def test_unusual_documents(text: str) -> None:
    _check(text)


def test_an_alias_gives_the_same_object() -> None:
    doc = load_yaml_text("a: &x {k: [1]}\nb: *x\nc: &y [z]\nd: *y\n", "doc.yaml")
    assert doc["a"] is doc["b"] and doc["c"] is doc["d"]


_scalars = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(),
                     st.floats(allow_nan=False), st.sampled_from(["yes", "off", "0x10", "1:2", "2026-01-01", "~"]))
_docs = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4)),
    max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(_docs, st.sampled_from([None, True, False]))
def test_generated_documents(doc: Any, flow: bool | None) -> None:
    _check(yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True))


@pytest.mark.parametrize("text, where", [
    ("a: 2026-21-01\n", (1, 4)),           # read as a date: month 21
    ("- x\n- 2026-02-30\n", (2, 3)),       # day out of range
    ("a: {b: 2026-13-01}\n", (1, 8)),
])
def test_a_scalar_the_constructor_cannot_build_is_a_located_error(text: str, where: tuple[int, int]) -> None:
    """PyYAML's timestamp constructor raised a bare ValueError (a traceback from every command
    reading such a file, found by the policy-test-file fuzz test): a located YamlError instead."""
    with pytest.raises(YamlError) as caught:
        load_yaml_text(text, "x.yaml")
    assert (caught.value.line, caught.value.column) == where
    assert "cannot be read" in str(caught.value)
