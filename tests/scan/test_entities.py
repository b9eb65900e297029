"""The entity registry: every built-in entity is declared completely, in one place."""

from __future__ import annotations

import pytest

from policyengine.catalog.taxonomy import builtin_taxonomy
from policyengine.scan.entities import BUILTIN, ENTITIES, NUMERIC_ENTITIES, PRECEDENCE, display_text
from policyengine.scan.names import STRONG, name_hint
from policyengine.scan.recognizers import check_pattern
from policyengine.scan.validators import VALIDATORS

NER_OR_TYPE_ONLY = {"PERSON", "DATE_OF_BIRTH"}  # decided from NER or a date column's name, not patterns


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.name)
def test_every_entity_is_complete(entity) -> None:
    assert entity.name.isupper() and entity.text and entity.text != entity.name
    assert display_text(entity.name) == entity.text
    assert builtin_taxonomy().tag_for_entity(entity.name), f"{entity.name} has no taxonomy tag"
    if entity.name not in NER_OR_TYPE_ONLY:
        assert entity.patterns, f"{entity.name} has no pattern"
    for p in entity.patterns:
        assert check_pattern(p.regex) is None, f"{p.name}: not RE2"
        assert p.validator is None or p.validator in VALIDATORS or p.validator == "url"
        if p.validator is None:
            assert p.whole_only, f"{p.name}: an unvalidated pattern must match whole values"
        if p.needs_hint:
            assert entity.hints, f"{p.name} needs a name hint but {entity.name} has no hint words"
    for word in entity.hints.split():
        assert word == word.lower()


def test_hint_words_name_their_entity() -> None:
    for entity in ENTITIES:
        for word in entity.hints.split():
            hint = name_hint(word)
            assert hint.strength(entity.name) >= STRONG or hint.negative or hint.not_person, (entity.name, word)


def test_registry_derivations() -> None:
    names = [e.name for e in ENTITIES]
    assert len(names) == len(set(names))
    recognizer_names = [r.name for r in BUILTIN]
    assert len(recognizer_names) == len(set(recognizer_names))
    assert set(PRECEDENCE) == {r.entity for r in BUILTIN}
    assert set(names) >= NUMERIC_ENTITIES
    assert display_text("MY_CUSTOM_ID") == "MY_CUSTOM_ID"
