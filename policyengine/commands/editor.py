"""`policyengine lsp` (the language server for editors) and `policyengine report` (the access
report as one HTML file): the authoring stage (policyengine/authoring) behind a thin CLI."""

from __future__ import annotations

import os

import typer

from policyengine.commands.common import EXIT_USAGE, fail
from policyengine.commands.options import ConfigOpt


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


def register(app: typer.Typer) -> None:
    app.command("lsp")(lsp_command)
