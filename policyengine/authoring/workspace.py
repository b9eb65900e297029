"""The project as an editor sees it: policyengine.yaml, the catalog and the consumers file read
from disk, and the policy files' texts, where a file open in the editor counts with its unsaved
text instead of the one on disk.

`Workspace.analyze()` checks the whole project the way `policyengine check` does (syntax, the
checker, the ownership map, unknown users and groups, unkeyed hashes) and returns a frozen
`Analysis`. It is incremental where it pays: a file whose text did not change is not parsed
again (the parser caches by path and content), a rule target resolved before is not resolved
again (the checker's `TargetMemo`, one per catalog), files on disk are re-read only when their size or
modification time changed, and the catalog and consumers are read once (and again on
`reload_project`, when the editor reports a change to one of them). It never raises for a
mistake in what it reads: a broken file, contract or configuration is a diagnostic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policyengine.catalog.consumers import Directory, load_directory
from policyengine.catalog.contracts import Catalog, load_catalog
from policyengine.catalog.sample_files import missing_samples
from policyengine.catalog.taxonomy import load_taxonomy
from policyengine.config import CONFIG_NAME, Config, load_config
from policyengine.diagnostics import Diagnostic, PolicyError, Span, located_diagnostic
from policyengine.engine.evaluator import Engine
from policyengine.language import ast
from policyengine.language.checker import CheckResult, TargetMemo, check_policies
from policyengine.language.parser import parse_policy, policy_files
from policyengine.language.recovery import syntax_errors
from policyengine.language.subjects import unknown_subjects
from policyengine.yamlsource import YamlError, read_source


@dataclass(frozen=True)
class Analysis:
    """One check of the whole project: every diagnostic, the parsed files and their texts, the
    catalog and consumers it was checked against. `engine()` compiles the rules that checked."""

    config: Config
    catalog: Catalog
    directory: Directory | None
    result: CheckResult
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, str]  # policy file name (as spans name it) -> text
    files: Mapping[str, ast.PolicyFile]  # the files that parsed, by name
    _engine: list[Any] = field(default_factory=list, compare=False, repr=False)

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)

    def engine(self) -> Engine:
        """The engine over the rules that checked (built once per analysis). With errors in the
        project it lacks the rules that did not check: callers say so next to its answers."""
        if not self._engine:
            d = self.directory
            self._engine.append(Engine(self.catalog, self.result, cache_size=4096,
                                       schema=d.schema if d else None,
                                       consumers=d.consumers if d else None))
        return self._engine[0]

    def file_named(self, path: Path) -> str | None:
        """The name spans use for the policy file at `path` (None when it is not one)."""
        want = path.resolve()
        for name in self.sources:
            if Path(name).resolve() == want:
                return name
        return None


def unkeyed_hash_warning(result: CheckResult, cfg: Config) -> Diagnostic | None:
    """The warning `check` gives when `hash` masks run without an HMAC key (see commands/authoring)."""
    hashed = [r for r in result.rules if r.mask is not None and r.mask.name == "hash"]
    if not hashed or cfg.hash_key is not None:
        return None
    first = hashed[0].rule
    span = first.mask.span if first.mask is not None else first.span
    return Diagnostic("warning", f"{len(hashed)} rule(s) mask with 'hash' but no HMAC key is set "
                      f"(${cfg.hash_key_env}): plain SHA-256 of guessable values (IP addresses, phone "
                      "numbers, names) can be reversed by hashing candidates; set the key where "
                      "queries are enforced", span=span, code="unkeyed-hash")


class Workspace:
    """The project under `config` (a policyengine.yaml; None: found from the current folder) with
    the editor's open files laid over the disk. Not thread-safe: one editor session drives it."""

    def __init__(self, config: str | Path | None = None) -> None:
        self.config_path = Path(config) if config is not None else None
        self.overlays: dict[Path, str] = {}
        self._disk: dict[Path, tuple[int, int, str]] = {}
        self.reload_project()

    # ------------------------------------------------------------ the project's inputs

    def reload_project(self) -> None:
        """Read policyengine.yaml, the taxonomy, the contracts and the consumers file again; a
        mistake in any of them becomes a diagnostic (the catalog is then empty or partial)."""
        self.project_diagnostics: list[Diagnostic] = []
        try:
            self.config = load_config(self.config_path)
        except YamlError as exc:
            self.project_diagnostics.append(located_diagnostic(exc, "config"))
            root = (self.config_path.parent if self.config_path else Path.cwd()).resolve()
            self.config = Config(policies=(root / "policies",), catalog=(), root=root)
        cfg = self.config
        try:
            self.catalog = load_catalog(list(cfg.catalog), load_taxonomy(cfg.taxonomy))
        except PolicyError as exc:
            self.project_diagnostics.extend(exc.diagnostics)
            self.catalog = Catalog({})
        except YamlError as exc:
            self.project_diagnostics.append(located_diagnostic(exc, "yaml"))
            self.catalog = Catalog({})
        self.memo = TargetMemo(self.catalog)  # targets resolved against this catalog, kept across checks
        self.directory: Directory | None = None
        if cfg.consumers is not None:
            try:
                self.directory = load_directory(cfg.consumers)
            except YamlError as exc:
                self.project_diagnostics.append(located_diagnostic(exc, "consumers", str(cfg.consumers)))
        self._inputs = {p.resolve() for p in (*(q for q in (cfg.source, cfg.consumers) if q is not None),
                                              *cfg.taxonomy)}
        self._input_dirs = tuple(p.resolve() for p in cfg.catalog)

    def is_project_input(self, path: Path) -> bool:
        """Whether a change to `path` changes the catalog, the consumers or the configuration."""
        p = path.resolve()
        if p in self._inputs or p.name == CONFIG_NAME:  # a configuration that failed to load has no source
            return True
        return p.suffix in (".yaml", ".yml", ".json") and any(
            p == d or d in p.parents for d in self._input_dirs)

    def is_policy_file(self, path: Path) -> bool:
        """Whether `path` is (or, unsaved, would be) one of the project's policy files."""
        p = path.resolve()
        return p.suffix == ".policy" and any(p == d or d in p.parents for d in
                                             (q.resolve() for q in self.config.policies))

    # ------------------------------------------------------------ the editor's texts

    def set_text(self, path: Path, text: str) -> None:
        """The editor's text of `path` (opened or changed), used instead of the disk's."""
        self.overlays[path.resolve()] = text

    def close(self, path: Path) -> None:
        """The editor closed `path`: its text on disk counts again."""
        self.overlays.pop(path.resolve(), None)

    def text_of(self, path: Path) -> str | None:
        """The editor's text of `path`, else the disk's (None when unreadable)."""
        p = path.resolve()
        if p in self.overlays:
            return self.overlays[p]
        try:
            st = p.stat()
        except OSError:
            return None
        cached = self._disk.get(p)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        try:
            text = read_source(p)
        except YamlError:
            return None
        self._disk[p] = (st.st_mtime_ns, st.st_size, text)
        return text

    # ------------------------------------------------------------ the check

    def policy_names(self) -> list[str]:
        """The policy files' names as `check` names them, plus unsaved ones open in the editor."""
        names = [str(p) for p in policy_files(list(self.config.policies))]
        known = {Path(n).resolve() for n in names}
        names.extend(str(p) for p in sorted(self.overlays) if p not in known and self.is_policy_file(p))
        return names

    def analyze(self, now: dt.datetime | None = None) -> Analysis:
        """Check the whole project as `policyengine check` does, with the editor's texts."""
        cfg = self.config
        files: list[ast.PolicyFile] = []
        sources: dict[str, str] = {}
        syntax: list[Diagnostic] = []
        for name in self.policy_names():
            text = self.text_of(Path(name))
            if text is None:
                syntax.append(Diagnostic("error", "cannot read this file (missing, unreadable or not UTF-8)",
                                         file=name, code="io"))
                continue
            sources[name] = text
            try:
                files.append(parse_policy(text, name))
            except PolicyError as exc:
                first = exc.diagnostics[0] if len(exc.diagnostics) == 1 else None
                syntax.extend(syntax_errors(text, name, first) if first is not None else exc.diagnostics)
        schema = self.directory.schema if self.directory else None
        checked = check_policies(files, self.catalog, schema, now, sources, self.memo)
        owned: tuple[Diagnostic, ...] = ()
        if cfg.ownership is not None:
            try:
                owned = tuple(cfg.ownership.check(files, self.catalog))
            except Exception as exc:  # the map is the project's; its failure is a diagnostic, not a crash
                owned = (Diagnostic("error", f"ownership check failed: {exc.__class__.__name__}",
                                    file=str(cfg.source), code="ownership"),)
        result = CheckResult(checked.files, checked.rules, (*syntax, *checked.diagnostics, *owned),
                             checked.sources)
        diags = [*self.project_diagnostics, *self.catalog.warnings, *missing_samples(self.catalog),
                 *result.diagnostics, *unknown_subjects(result.files, self.directory)]
        hashed = unkeyed_hash_warning(result, cfg)
        if hashed is not None:
            diags.append(hashed)
        if cfg.ownership is None:
            from policyengine.governance.ownership import unbound_warning

            diags.append(unbound_warning(str(cfg.source) if cfg.source else None))
        if any(d.severity == "error" for d in self.project_diagnostics):
            # as `check`: a configuration, catalog or consumers file that does not load is the one
            # thing to fix (every rule would otherwise name an "unknown" product or group)
            diags = list(self.project_diagnostics)
        return Analysis(cfg, self.catalog, self.directory, result, tuple(diags),
                        MappingProxyType(sources), MappingProxyType({f.path: f for f in files}))


def span_contains(span: Span | None, line: int, column: int) -> bool:
    """Whether the 1-based position (line, column) lies in `span` (end inclusive, so a cursor
    just after a word is still on it)."""
    if span is None:
        return False
    if (line, column) < (span.line, span.column):
        return False
    return (line, column) <= (span.end_line, span.end_column)
