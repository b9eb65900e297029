"""The tag taxonomy: which column tags exist, how they nest, and which scanner entities map to them.

Tags are dotted paths; a tag covers itself and every tag below it (`pii` covers `pii.email`).
The built-in taxonomy ships with the package; a platform team extends it with a YAML file of the
same shape, whose tags are added (never removed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from policyengine.yamlsource import YamlError, load_yaml_file, load_yaml_text


@dataclass(frozen=True, slots=True)
class TagInfo:
    """One tag of the taxonomy."""

    name: str
    description: str = ""
    entities: tuple[str, ...] = ()
    sensitive: bool = False  # `sensitive: true`: the coverage gate checks columns with this tag


@dataclass(frozen=True)
class Taxonomy:
    """All known tags, with the entity → tag map the scanner uses."""

    tags: Mapping[str, TagInfo]
    entity_tags: Mapping[str, str] = field(default_factory=dict)

    def __contains__(self, tag: str) -> bool:
        return tag in self.tags

    def covers(self, parent: str, tag: str) -> bool:
        """True when `parent` is `tag` or one of its ancestors."""
        return tag == parent or tag.startswith(parent + ".")

    def tag_for_entity(self, entity: str) -> str | None:
        """The policy tag for a scanner entity type (e.g. EMAIL_ADDRESS → pii.email)."""
        return self.entity_tags.get(entity)

    def ancestors(self, tag: str) -> tuple[str, ...]:
        """`pii.email` → (`pii`, `pii.email`)."""
        parts = tag.split(".")
        return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))

    def is_sensitive(self, tag: str) -> bool:
        """True when the tag or one of its ancestors is marked `sensitive` (`pii` marks `pii.email`)."""
        return any(self.tags[t].sensitive for t in self.ancestors(tag) if t in self.tags)

    def extended(self, other: Taxonomy) -> Taxonomy:
        """This taxonomy with `other`'s tags added (other wins on descriptions; a tag marked
        sensitive stays sensitive, so an extension can never take a tag out of the coverage gate)."""
        merged = {**self.tags, **other.tags}
        for name, info in self.tags.items():
            if info.sensitive and not merged[name].sensitive:
                merged[name] = TagInfo(merged[name].name, merged[name].description, merged[name].entities, True)
        return _build(merged)


def _parse(data: object, source: str) -> dict[str, TagInfo]:
    if not isinstance(data, Mapping) or not isinstance(data.get("tags"), Mapping):
        raise YamlError("a taxonomy needs a 'tags' mapping", source)
    out: dict[str, TagInfo] = {}
    for name, body in data["tags"].items():
        body = body or {}
        if not isinstance(body, Mapping):
            raise YamlError(f"tag '{name}' must map to a mapping", source)
        entities = body.get("entities") or []
        if isinstance(entities, str):
            entities = [entities]
        sensitive = body.get("sensitive", False)
        if not isinstance(sensitive, bool):
            raise YamlError(f"{source}: error: 'sensitive' of tag '{name}' must be true or false")
        out[str(name)] = TagInfo(str(name), str(body.get("description", "")), tuple(map(str, entities)),
                                 sensitive)
    return out


def _build(tags: Mapping[str, TagInfo]) -> Taxonomy:
    full = dict(tags)
    for name in list(full):  # every ancestor of a tag is a tag
        parts = name.split(".")
        for i in range(1, len(parts)):
            full.setdefault(".".join(parts[:i]), TagInfo(".".join(parts[:i])))
    entity_tags = {e: t.name for t in full.values() for e in t.entities}
    return Taxonomy(MappingProxyType(full), MappingProxyType(entity_tags))


def builtin_taxonomy() -> Taxonomy:
    """The taxonomy that ships with policyengine."""
    text = resources.files("policyengine.catalog").joinpath("taxonomy.yaml").read_text("utf-8")
    return _build(_parse(load_yaml_text(text, "<builtin taxonomy>"), "<builtin taxonomy>"))


def load_taxonomy(paths: Iterable[str | Path] = ()) -> Taxonomy:
    """The built-in taxonomy extended by each given YAML file, in order."""
    tax = builtin_taxonomy()
    for p in paths:
        tax = tax.extended(_build(_parse(load_yaml_file(p), str(p))))
    return tax
