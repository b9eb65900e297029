"""Loading a project into an Engine (parse, check, compile), and the default engine that the
configuration (policyengine.yaml) describes, behind the module-level `evaluate()`."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from policyengine.catalog.consumers import load_directory
from policyengine.catalog.contracts import Catalog, load_catalog
from policyengine.catalog.scan_tags import scan_tags
from policyengine.catalog.taxonomy import Taxonomy, load_taxonomy
from policyengine.diagnostics import Diagnostic, PolicyError, located_diagnostic
from policyengine.engine.bundle import bundle_version
from policyengine.engine.decision import Decision
from policyengine.engine.evaluator import Engine
from policyengine.engine.semantics import fail_closed
from policyengine.language.files import ProjectCheck, check_paths
from policyengine.language.parser import policy_files
from policyengine.yamlsource import YamlError

log = logging.getLogger("policyengine")


def policy_version(paths: Iterable[Path]) -> str:
    """A short content hash of the policy files: decisions and logs cite it."""
    digest = hashlib.sha256()
    for p in sorted(paths):
        digest.update(str(p.name).encode())
        digest.update(b"\0")
        digest.update(p.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while a load builds its hundreds of thousands of
    objects (each young-generation pass would walk the growing heap again: 10x W1's catalog took
    1.6 s with it, 0.35 s without). Reference counting still frees; the collector's state is
    restored afterwards. Process-wide, for the length of one load.

    `freeze` (a long-running replica's bundle loads): the objects alive at the end, the loaded
    engine among them, are moved to the collector's permanent generation (`gc.freeze`), so no
    collection walks them again (the first one after a 10,000-product load took 0.4 s, and every
    full one would walk them). A previous freeze is undone first and the heap collected once
    (`gc.unfreeze`, `gc.collect`), so a replaced engine held in a reference cycle is reclaimed,
    not frozen again: a reload pays that one collection, a first load (start-up) does not."""
    was = gc.isenabled()
    if freeze and gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was:
            gc.enable()


def load(
    policies: str | Path | Sequence[str | Path] = "policies",
    catalog: str | Path | Sequence[str | Path] | Catalog | None = None,
    *,
    consumers: str | Path | None = None,
    scan: str | Path | Mapping[str, Any] | Any | None = None,
    taxonomy: str | Path | Sequence[str | Path] | Taxonomy | None = None,
    cache_size: int = 65536,
    now: dt.datetime | None = None,
    ownership: ProjectCheck | None = None,
) -> Engine:
    """Parse, check and compile policies against a catalog; raise PolicyError with diagnostics on errors.

    `ownership` (the project's map, `load_config().ownership`) makes a scope its file's path does not
    allow, or a contract outside its domain's paths, an error, as `policyengine check` reports it.
    The cyclic collector is paused while it runs (`collector_paused`)."""
    with collector_paused():
        return _load(policies, catalog, consumers=consumers, scan=scan, taxonomy=taxonomy,
                     cache_size=cache_size, now=now, ownership=ownership)


def _load(
    policies: str | Path | Sequence[str | Path],
    catalog: str | Path | Sequence[str | Path] | Catalog | None,
    *,
    consumers: str | Path | None,
    scan: str | Path | Mapping[str, Any] | Any | None,
    taxonomy: str | Path | Sequence[str | Path] | Taxonomy | None,
    cache_size: int,
    now: dt.datetime | None,
    ownership: ProjectCheck | None,
) -> Engine:
    if catalog is None:
        raise PolicyError([Diagnostic("error", "load() needs catalog=: a folder of ODCS contracts, a list of "
                                      "them, or a Catalog", code="usage")])
    for path in [policies] if isinstance(policies, (str, Path)) else list(policies):
        if not Path(path).exists():
            raise PolicyError([Diagnostic("error", "no such file or folder", file=str(path), code="io")])
    if isinstance(taxonomy, Taxonomy):
        tax = taxonomy
    else:
        tax_paths = [taxonomy] if isinstance(taxonomy, (str, Path)) else list(taxonomy or ())
        tax = load_taxonomy(tax_paths)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(
        [catalog] if isinstance(catalog, (str, Path)) else list(catalog), tax)
    if scan is not None:
        cat = cat.with_extra_tags(scan_tags(scan, cat))
    try:
        directory = load_directory(consumers) if consumers is not None else None
    except YamlError as exc:
        raise PolicyError([located_diagnostic(exc, "consumers", str(consumers))]) from None
    paths = [policies] if isinstance(policies, (str, Path)) else list(policies)
    files = policy_files(paths)
    if not files:
        raise PolicyError([Diagnostic("error", "no policy files found", file=", ".join(map(str, paths)),
                                      code="io")])
    result = check_paths(paths, cat, directory.schema if directory else None, now, ownership)
    result.raise_for_errors()
    for w in result.warnings:
        log.info("%s", w.one_line())
    bundle = bundle_version(files, catalog, consumers, scan, taxonomy if taxonomy is not None else ())
    return Engine(cat, result, policy_version=policy_version(files), cache_size=cache_size,
                  schema=directory.schema if directory else None,
                  consumers=directory.consumers if directory else None, bundle_version=bundle)


_DEFAULT: Engine | None = None
_DEFAULT_LOCK = threading.Lock()


_RETRY_AFTER = 5.0  # seconds: a broken configuration is not reloaded on every call
_FAILED: tuple[float, Exception] | None = None


def default_engine() -> Engine:
    """The engine described by the project configuration (policyengine.yaml), loaded once.

    When loading fails, the error is kept and raised again for `_RETRY_AFTER` seconds instead of
    re-reading every file on each call (a gateway under load must not reload per query)."""
    global _DEFAULT, _FAILED
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                if _FAILED is not None and time.monotonic() - _FAILED[0] < _RETRY_AFTER:
                    raise _FAILED[1]
                from policyengine.config import load_config

                try:
                    cfg = load_config()
                    _DEFAULT = load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers,
                                    taxonomy=list(cfg.taxonomy), ownership=cfg.ownership)
                except Exception as exc:
                    _FAILED = (time.monotonic(), exc)
                    raise
                _FAILED = None
    return _DEFAULT


def reset_default_engine() -> None:
    """Forget the default engine (the next module-level evaluate() reloads the configuration)."""
    global _DEFAULT, _FAILED
    _DEFAULT = None
    _FAILED = None


def evaluate(
    consumer: Any,
    product: str,
    columns: Sequence[str] | None = None,
    purpose: str | None = None,
    at: dt.datetime | None = None,
) -> Decision:
    """Module-level convenience: evaluate with the default engine from the configuration."""
    try:
        engine = default_engine()
    except Exception as exc:  # fail closed
        if getattr(exc, "_policyengine_logged", False):  # the same failure again: one line
            log.error("policyengine: policies still not loaded (%s); denying everything", exc)
        else:
            log.exception("policyengine: cannot load the default engine; denying everything")
            try:
                exc._policyengine_logged = True  # type: ignore[attr-defined]
            except AttributeError:
                pass
        return fail_closed(consumer, product, columns, purpose, at, "", f"cannot load policies: {exc}")
    return engine.evaluate(consumer, product, columns, purpose, at)
