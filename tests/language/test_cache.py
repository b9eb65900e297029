"""The parse cache: an unchanged file is not parsed again, in this process or (from the on-disk
cache) in the next; corrupt or foreign entries are ignored; the cache can be turned off."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.diagnostics import PolicyError
from policyengine.language import parser

TEXT = "scope domain shop\n\n# kept\nallow read shop.orders to group:a;  # trailing\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(folder))
    parser.clear_cache()
    return folder


def _entries(folder: Path) -> list[Path]:
    return [p for p in (folder / "parse").glob("*/*") if not p.name.startswith(".tmp-")]


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(text, path):
        raise AssertionError("parsed again")

    monkeypatch.setattr(parser, "_parse_uncached", fail)


def test_unchanged_file_is_read_from_disk_in_a_new_process(cache: Path, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "shop.policy"
    path.write_text(TEXT, encoding="utf-8")
    first = parser.parse_file(path)
    assert len(_entries(cache)) == 1
    parser.clear_cache(memory=True)  # as if a new process started
    _forbid_parsing(monkeypatch)
    again = parser.parse_file(path)
    assert again == first and again.comments == first.comments
    assert again.rules[0].span == first.rules[0].span and again.rules[0].span.file == str(path)


def test_changed_file_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "shop.policy"
    path.write_text(TEXT, encoding="utf-8")
    parser.parse_file(path)
    path.write_text(TEXT.replace("group:a", "group:b"), encoding="utf-8")
    parser.clear_cache(memory=True)
    assert parser.parse_file(path).rules[0].subjects.include[0].name == "b"
    assert len(_entries(cache)) == 2


def test_corrupt_entry_is_ignored_and_replaced(cache: Path, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "shop.policy"
    path.write_text(TEXT, encoding="utf-8")
    expected = parser.parse_file(path)
    (entry,) = _entries(cache)
    entry.write_bytes(b"\x80\x05not a pickle")
    parser.clear_cache(memory=True)
    assert parser.parse_file(path) == expected
    assert entry.read_bytes() != b"\x80\x05not a pickle"  # rewritten
    parser.clear_cache(memory=True)
    _forbid_parsing(monkeypatch)
    assert parser.parse_file(path) == expected  # and readable: the next process parses nothing


def test_entry_of_another_path_is_not_used(cache: Path, monkeypatch) -> None:
    """An entry holding another file's AST (copied there, or a collision) is parsed again, not used:
    its spans would name the other file."""
    parser.parse_policy(TEXT, "a.policy", disk_cache=True)
    (entry_a,) = _entries(cache)
    parser.parse_policy(TEXT, "b.policy", disk_cache=True)
    (entry_b,) = set(_entries(cache)) - {entry_a}
    entry_b.write_bytes(entry_a.read_bytes())
    parser.clear_cache(memory=True)
    again = parser.parse_policy(TEXT, "b.policy", disk_cache=True)
    assert again.path == "b.policy" and again.rules[0].span.file == "b.policy"
    parser.clear_cache(memory=True)
    _forbid_parsing(monkeypatch)  # the foreign entry was replaced by b's own
    assert parser.parse_policy(TEXT, "b.policy", disk_cache=True).rules[0].span.file == "b.policy"


def test_disk_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "off")
    assert parser.cache_dir() is None
    path = tmp_path / "shop.policy"
    path.write_text(TEXT, encoding="utf-8")
    parser.clear_cache()
    parser.parse_file(path)
    assert not any(tmp_path.rglob("*/parse"))


def test_text_parses_are_not_written_to_disk_by_default(cache: Path) -> None:
    parser.parse_policy(TEXT, "x.policy")
    assert _entries(cache) == []


def test_syntax_errors_are_raised_every_time(cache: Path) -> None:
    for _ in range(2):
        with pytest.raises(PolicyError):
            parser.parse_policy("scope platform\nallow read x to everyone;", "bad.policy", disk_cache=True)
    assert _entries(cache) == []


def test_clear_cache_on_disk(cache: Path) -> None:
    parser.parse_policy(TEXT, "a.policy", disk_cache=True)
    parser.clear_cache(memory=True, disk=True)
    assert _entries(cache) == []
