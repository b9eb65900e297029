"""The `policyengine` command line: a thin layer over the library API."""

from __future__ import annotations

import typer

from policyengine.commands import (
    authoring,
    bundle,
    consumers,
    coverage,
    editor,
    evaluate,
    gateway,
    governance,
    query,
    serve,
)
from policyengine.commands import diff as diff_command
from policyengine.commands import init as init_command
from policyengine.commands import native as native_command
from policyengine.commands import scan as scan_command

app = typer.Typer(
    name="policyengine",
    help="Policy-as-code access and compliance for a data mesh.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from policyengine import __version__

        typer.echo(f"policyengine {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Policy-as-code access and compliance for a data mesh."""


authoring.register(app)
governance.register(app)
evaluate.register(app)
scan_command.register(app)
query.register(app)
coverage.register(app)
diff_command.register(app)
serve.register(app)
editor.register(app)
init_command.register(app)
consumers.register(app)
bundle.register(app)
native_command.register(app)
gateway.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
