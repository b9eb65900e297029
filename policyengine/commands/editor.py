"""`policyengine lsp` (the language server for editors) and `policyengine report` (the access
report as one HTML file): the authoring stage (policyengine/authoring) behind a thin CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from policyengine.commands.common import EXIT_USAGE, fail
from policyengine.commands.options import ConfigOpt

if TYPE_CHECKING:
    from policyengine.config import Config
    from policyengine.engine.evaluator import Engine
    from policyengine.governance.diff import DiffReport


def lsp_command(config: ConfigOpt = None) -> None:
    """Run the language server on stdin/stdout (for editors; see docs/authoring.md).

    The project is the editor's workspace folder's policyengine.yaml, or --config."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        raise fail("error: the language server needs pygls: pip install 'policyengine[lsp]'",
                   EXIT_USAGE) from None
    if config is not None:
        if not config.is_file():
            raise fail(f"{config}: error: no such file", EXIT_USAGE)
        os.environ["POLICYENGINE_CONFIG"] = str(config.resolve())
    from importlib.metadata import PackageNotFoundError, version

    from policyengine.authoring.lsp import main

    try:
        mine = version("policyengine")
    except PackageNotFoundError:  # run from a source tree that is not installed
        mine = ""
    main(mine)


def report_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("access.html"),
    scan: Annotated[Path | None, typer.Option(
        "--scan", help="A scan report (JSON): its tags count for coverage, its findings are listed (redacted).")] = None,
    base: Annotated[str | None, typer.Option(
        "--base", help="A git revision or project folder: highlight every cell that differs from it.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Decide at this instant (ISO, UTC; default now).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the access report: one self-contained HTML file (works opened from disk) with the
    access matrix per product, the coverage gaps, the scan findings and, with --base, the changes."""
    import datetime as dt
    import json

    from policyengine.authoring.report import render_report, scan_findings
    from policyengine.commands.common import project_config
    from policyengine.commands.evaluate import project_engine
    from policyengine.governance.classes import ClassesError
    from policyengine.governance.coverage import check_coverage

    cfg = project_config(config)
    when = None
    if at is not None:
        try:
            when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise fail(f"error: --at: not an ISO date or timestamp: {at!r}", EXIT_USAGE) from None
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    findings = None
    if scan is not None:
        if not scan.is_file():
            raise fail(f"{scan}: error: no such file", EXIT_USAGE)
        try:
            data = json.loads(scan.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            raise fail(f"{scan}: error: not a scan report (JSON)", EXIT_USAGE) from None
        if not isinstance(data, dict) or not isinstance(data.get("findings", []), list):
            raise fail(f"{scan}: error: not a scan report (a JSON object with a 'findings' list)", EXIT_USAGE)
        findings = scan_findings(data)
    engine = project_engine(cfg, scan=scan)
    try:
        coverage = check_coverage(engine, privileged=cfg.privileged, now=when)
    except ClassesError as exc:
        raise fail(f"error: {exc}", EXIT_USAGE) from None
    base_engine = diff = None
    notes = []
    if base is not None:
        base_engine, diff = _base_version(base, cfg, engine)
        notes.append(f"Compared with {base}.")
    html_text = render_report(engine, at=when, coverage=coverage, findings=findings, base=base_engine,
                              diff=diff, base_label=base or "base", notes=notes)
    try:
        write_atomically(output, html_text)
    except OSError as exc:
        raise fail(f"{output}: error: cannot write ({exc.strerror or exc.__class__.__name__})", EXIT_USAGE) from None
    typer.echo(f"wrote the access report to {output.resolve()} ({len(engine.catalog.products)} products, "
               f"{len(coverage.gaps)} coverage gap(s)); open it in a browser", err=True)


def _base_version(spec: str, cfg: Config, head: Engine) -> tuple[Engine, DiffReport]:
    """The base version's engine and the access-matrix diff against it (`policyengine diff`'s)."""
    import shutil
    import tempfile

    from policyengine.commands.diff import resolve_version
    from policyengine.diagnostics import PolicyError
    from policyengine.engine.loading import load
    from policyengine.governance.classes import ClassesError
    from policyengine.governance.diff import diff_versions
    from policyengine.yamlsource import YamlError

    tmp = Path(tempfile.mkdtemp(prefix="policyengine-report-"))
    try:
        version = resolve_version(spec, cfg, tmp)
        head_version = resolve_version(None, cfg, tmp)
        bc = version.config
        try:
            base = load(list(bc.policies), list(bc.catalog), consumers=bc.consumers, taxonomy=list(bc.taxonomy))
        except PolicyError as exc:
            raise fail(f"in {spec}:\n{exc.render()}") from None
        except YamlError as exc:
            raise fail(f"in {spec}: {str(exc).splitlines()[0]}", EXIT_USAGE) from None
        try:
            diff = diff_versions(base, head, base_root=version.root, head_root=head_version.root,
                                 base_label=spec, head_label="working tree",
                                 base_consumers=bc.consumers, head_consumers=head_version.config.consumers)
        except ClassesError as exc:
            raise fail(f"error: {exc}", EXIT_USAGE) from None
        return base, diff
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step: a reader never sees half a report."""
    import tempfile

    folder = path.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def register(app: typer.Typer) -> None:
    app.command("lsp")(lsp_command)
    app.command("report")(report_command)
