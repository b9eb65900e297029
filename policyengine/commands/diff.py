"""`policyengine diff BASE [HEAD]`: the access-matrix diff between two revisions, grouped by the
rule or contract change that causes each changed cell (see `governance.diff`).

BASE and HEAD are each a folder (a project root holding policyengine.yaml, or a policies folder
read with the current project's catalog) or a git revision, read as its stored blobs (no
attributes, filters or textconv applied: `governance.revision`) into a private temporary folder
(the user's checkout is never touched). HEAD defaults to the working tree. When both sides come
from git, a change of any `.gitattributes` file is a governed change."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer

from policyengine.commands.common import EXIT_USAGE, emit_report, fail
from policyengine.config import CONFIG_NAME, Config


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"


@dataclass(frozen=True)
class Version:
    """One side of the diff: its label, its configuration and the root its paths are relative to."""

    label: str
    config: Config
    root: Path
    attributes: Mapping[str, bytes] | None = None  # its .gitattributes files (a git version only)
    prefix: str = ""  # the project's folder below the repository's top ("" at the top)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def _config_at(path: Path) -> Config:
    from policyengine.config import load_config
    from policyengine.yamlsource import YamlError

    try:
        return load_config(path)
    except YamlError as exc:
        raise fail(str(exc).splitlines()[0], EXIT_USAGE) from None


def _working_config(config: Path | None) -> Config:
    from policyengine.config import load_config
    from policyengine.yamlsource import YamlError

    try:
        return load_config(config)
    except YamlError as exc:
        raise fail(str(exc).splitlines()[0], EXIT_USAGE) from None


def _project_root(cfg: Config) -> Path:
    return cfg.source.resolve().parent if cfg.source is not None else Path.cwd().resolve()


def _from_folder(spec: str, folder: Path, current: Config) -> Version:
    if (folder / CONFIG_NAME).is_file():
        cfg = _config_at(folder / CONFIG_NAME)
        return Version(spec, cfg, folder.resolve())
    # a policies folder: read with the current project's catalog, consumers and taxonomy (not its
    # ownership map, which binds scopes to the project's own paths and has nothing to say here)
    return Version(spec, replace(current, policies=(folder,), ownership=None), folder.resolve().parent)


def _extract(rev: str, top: Path, into: Path, label: str | None = None,
             unread: list[str] | None = None) -> dict[str, bytes]:
    """The revision's tree as committed, written below `into`; its `.gitattributes` files (links
    that leave the tree are left out and named in `unread`)."""
    from policyengine.governance.revision import RevisionError, read_revision

    try:
        return read_revision(top, rev, into, label or rev, unread)
    except RevisionError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    except OSError as exc:
        raise fail(f"error: cannot read git revision '{label or rev}' ({exc.__class__.__name__})",
                   EXIT_USAGE) from None


def _git_top(here: Path) -> Path | None:
    """The repository's top folder, or None outside one (or without git installed)."""
    try:
        run = _git(["rev-parse", "--show-toplevel"], here)
    except OSError:
        return None
    if run.returncode != 0:
        return None
    return Path(run.stdout.decode("utf-8", "replace").strip()).resolve()


def _prefix(project: Path, top: Path) -> str:
    """The project's folder below the repository's top, as a path prefix ("" at the top)."""
    try:
        inside = project.relative_to(top).as_posix()
    except ValueError:
        return ""
    return "" if inside == "." else inside + "/"


def _from_revision(spec: str, current: Config, tmp: Path) -> Version:
    here = Path.cwd().resolve()
    top = _git_top(here)
    if top is None:
        raise fail(f"error: '{spec}' is neither a folder nor a git revision (not in a git repository)", EXIT_USAGE)
    check = _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], top)
    if check.returncode != 0:
        raise fail(f"error: '{spec}' is neither a folder nor a git revision", EXIT_USAGE)
    commit = check.stdout.decode().strip()
    tmp.mkdir(parents=True, exist_ok=True)
    into = Path(tempfile.mkdtemp(prefix=commit[:12] + "-", dir=tmp))  # BASE and HEAD may be one commit
    unread: list[str] = []
    attributes = _extract(commit, top, into, spec, unread)
    project = _project_root(current)
    try:
        inside = project.relative_to(top)
    except ValueError:
        raise fail(f"error: the project ({project}) is not inside the git repository", EXIT_USAGE) from None
    config_name = current.source.name if current.source is not None else CONFIG_NAME
    found = into / inside / config_name
    if not found.is_file():
        raise fail(f"error: revision '{spec}' has no {(inside / config_name).as_posix()}", EXIT_USAGE)
    cfg = _config_at(found)
    _refuse_unread_reads(spec, cfg, into, unread)
    return Version(spec, cfg, (into / inside).resolve(), attributes, _prefix(project, top))


def _refuse_unread_reads(spec: str, cfg: Config, into: Path, unread: list[str]) -> None:
    """A link of the revision that leaves the tree was not written: refused (exit 2) if the gates
    would read at, below or through it (the configuration's paths and `.gitattributes` files:
    reading without it would silently drop a policy, a contract or a consumer), else one note
    on stderr and the diff goes on."""
    if not unread:
        return
    root = into.resolve()
    reads = [cfg.source, *cfg.policies, *cfg.catalog, cfg.consumers, *cfg.taxonomy, *cfg.samples]
    read = [Path(p).resolve() for p in reads if p is not None]
    for path in unread:
        link = root.joinpath(*path.split("/"))
        if PurePosixPath(path).name == ".gitattributes" or any(
                r == link or link in r.parents or r in link.parents for r in read):
            raise fail(f"error: git revision '{spec}' has a link or path that leaves the tree ({path}): not read",
                       EXIT_USAGE)
        typer.echo(f"note: git revision '{spec}' has a link that leaves the tree ({path}): not read "
                   "(nothing the gates read is at, below or above it)", err=True)


def _working_tree(current: Config) -> Version:
    """The working tree, with its `.gitattributes` files when it is in a git repository."""
    from policyengine.governance.revision import RevisionError, working_attributes

    root = _project_root(current)
    top = _git_top(root)
    if top is None:
        return Version("working tree", current, root)
    try:
        attributes = working_attributes(top)
    except RevisionError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    return Version("working tree", current, root, attributes, _prefix(root, top))


def resolve_version(spec: str | None, current: Config, tmp: Path) -> Version:
    """A folder, a git revision, or (None) the working tree, as a Version; exit 2 when it is none."""
    if spec is None:
        return _working_tree(current)
    if not spec.strip() or spec.startswith("-"):
        raise fail(f"error: '{spec}' is neither a folder nor a git revision", EXIT_USAGE)
    folder = Path(spec)
    if folder.is_dir():
        return _from_folder(spec, folder, current)
    if folder.exists():
        raise fail(f"{spec}: error: not a folder (give a project folder, a policies folder or a git revision)",
                   EXIT_USAGE)
    return _from_revision(spec, current, tmp)


def _inputs(version: Version) -> list[tuple[str, bytes]] | None:
    """The catalog's contract and taxonomy files, by path relative to the version's root, with
    their bytes (None when one cannot be read: then nothing is shared)."""
    from policyengine.catalog.contracts import contract_files
    from policyengine.governance.diff import relative_to

    out = []
    for f in [*contract_files(version.config.catalog), *version.config.taxonomy]:
        try:
            out.append((relative_to(version.root, str(f)), Path(f).read_bytes()))
        except OSError:
            return None
    return sorted(out)


def _same_catalog(a: Version, b: Version) -> bool:
    """Both versions read byte-identical contracts and taxonomy files at the same places: one
    catalog serves both (on a large mesh, parsing the contracts is most of the loading)."""
    left = _inputs(a)
    return left is not None and left == _inputs(b)


def _load(version: Version, catalog: Any = None, ownership: bool = True) -> Any:
    from policyengine.diagnostics import PolicyError
    from policyengine.engine.loading import load
    from policyengine.yamlsource import YamlError

    cfg = version.config
    for path in [*cfg.policies, *cfg.catalog]:
        if not Path(path).exists():
            raise fail(f"{version.label}: {path}: error: no such file or folder", EXIT_USAGE)
    try:
        return load(list(cfg.policies), catalog if catalog is not None else list(cfg.catalog), consumers=cfg.consumers, taxonomy=list(cfg.taxonomy),
                    ownership=cfg.ownership if ownership else None)
    except PolicyError as exc:
        raise fail(f"in {version.label}:\n{exc.render()}") from None
    except YamlError as exc:
        raise fail(f"in {version.label}: {str(exc).splitlines()[0]}", EXIT_USAGE) from None


@contextmanager
def _private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="policyengine-diff-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def diff_command(
    base: Annotated[str, typer.Argument(help="The base: a git revision, a project folder or a policies folder.")],
    head: Annotated[str | None, typer.Argument(
        help="The head (same forms as BASE; default: the working tree).")] = None,
    scan: Annotated[Path | None, typer.Option(
        "--scan", help="The head's scan report (JSON): new columns it tags sensitive must declare the tag.")] = None,
    output_format: Annotated[DiffFormat, typer.Option(
        "--format", help="text, json, sarif or markdown (a pull-request comment).")] = DiffFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Project configuration file.")] = None,
) -> None:
    """Every access-matrix cell that changes between two versions, grouped by the rule or contract
    change causing it; fails on a loosening or privacy-breaking contract change without approval.

    Exit codes: 0 no unapproved loosening, 1 one (or the policies do not load), 2 usage or input errors."""
    from policyengine.catalog.scan_tags import scan_tags
    from policyengine.diagnostics import PolicyError
    from policyengine.governance.classes import ClassesError
    from policyengine.governance.diff import diff_versions
    from policyengine.governance.diff_render import (
        headline,
        to_json,
        to_markdown,
        to_sarif,
        to_text,
    )
    from policyengine.governance.escape import plain

    current = _working_config(config)
    if scan is not None and not scan.is_file():
        raise fail(f"{scan}: error: no such file", EXIT_USAGE)
    with _private_dir() as tmp:
        base_version = resolve_version(base, current, tmp)
        head_version = resolve_version(head, current, tmp)
        head_engine = _load(head_version)
        # the base is the version already accepted: only the head is checked against the ownership map
        shared = (head_engine.catalog.relocated(head_version.root, base_version.root)
                  if _same_catalog(base_version, head_version) else None)
        base_engine = _load(base_version, shared, ownership=False)
        found = None
        if scan is not None:
            try:
                found = scan_tags(scan, head_engine.catalog)
            except PolicyError as exc:
                raise fail(exc.render().splitlines()[0], EXIT_USAGE) from None
        try:
            report = diff_versions(base_engine, head_engine, base_root=base_version.root,
                                   head_root=head_version.root, base_label=base_version.label,
                                   head_label=head_version.label, scan=found,
                                   base_consumers=base_version.config.consumers,
                                   head_consumers=head_version.config.consumers,
                                   base_attributes=base_version.attributes,
                                   head_attributes=head_version.attributes, attributes_prefix=head_version.prefix,
                                   approval_pattern=base_version.config.approval_pattern)
        except ClassesError as exc:
            raise fail(f"error: {exc}", EXIT_USAGE) from None
    render = {DiffFormat.text: to_text, DiffFormat.json: to_json, DiffFormat.sarif: to_sarif,
              DiffFormat.markdown: to_markdown}[output_format]
    emit_report(render(report), output)
    if output is not None or output_format is not DiffFormat.text:
        for g in report.unapproved:  # a CI log shows the outcome whatever the format
            file, line = g.location
            typer.echo(plain(f"{file}:{line}: error: {g.label} makes {len(g.loosened)} cell(s) more visible "
                             "without approval"), err=True)
        for c in report.breaking:
            typer.echo(plain(f"{c.file}:{c.line}: error: {c.message} (not approved)"), err=True)
        for n in report.notes:  # why an approval was refused
            typer.echo(plain(f"note: {n}"), err=True)
        typer.echo(headline(report), err=True)
    raise typer.Exit(report.exit_code())


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_command)
