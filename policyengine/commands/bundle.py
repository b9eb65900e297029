"""`policyengine build` (a signed policy bundle) and `policyengine keys generate` (docs/serve.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from policyengine.commands.common import EXIT_USAGE, fail, project_config
from policyengine.commands.options import ConfigOpt
from policyengine.diagnostics import PolicyError
from policyengine.yamlsource import YamlError

keys_app = typer.Typer(help="Ed25519 key pairs that sign policy bundles.", no_args_is_help=True)


def build_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle file to write.")],
    signing_key: Annotated[Path | None, typer.Option(
        "--signing-key", help="PEM private key file (default: the POLICYENGINE_SIGNING_KEY variable's PEM).")] = None,
    sequence: Annotated[int | None, typer.Option(
        "--sequence", help="Sequence number; must grow from bundle to bundle (default: now in milliseconds).")] = None,
    expires_in: Annotated[str | None, typer.Option(
        "--expires-in", help="Refuse the bundle after this long: e.g. 30d, 12h, 90m.")] = None,
    scan: Annotated[Path | None, typer.Option(
        "--scan", help="Scan report whose tags are added to the catalog (carried in the bundle).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Check the project, then write its policies, catalog and consumers as one signed bundle."""
    from policyengine.engine.bundlefile import BundleError, build_bundle, parse_duration
    from policyengine.engine.keys import KeyProblem
    from policyengine.engine.keys import signing_key as read_signing_key

    cfg = project_config(config)
    try:
        ttl = parse_duration(expires_in) if expires_in is not None else None
    except ValueError as exc:
        raise fail(f"error: --expires-in: {exc}", EXIT_USAGE) from None
    if sequence is not None and sequence < 0:
        raise fail("error: --sequence must not be negative", EXIT_USAGE)
    try:
        key = read_signing_key(signing_key)
    except KeyProblem as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    try:
        data, manifest = build_bundle(cfg, key, sequence=sequence, expires_in=ttl, scan=scan)
    except PolicyError as exc:
        raise fail(exc.render()) from None
    except (YamlError, BundleError) as exc:
        raise fail(str(exc)) from None
    tmp = output.with_name(output.name + ".tmp")
    try:  # written aside, then renamed: a replica polling the file never reads half a bundle
        tmp.write_bytes(data)
        tmp.replace(output)
    except OSError as exc:
        raise fail(f"{output}: error: cannot write the bundle: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"{output}: bundle {manifest.revision}, sequence {manifest.sequence}, {len(manifest.files)} "
               f"files, signed by key {key.key_id}"
               + (f", expires {manifest.expires}" if manifest.expires else ""))


@keys_app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for <key id>.key and <key id>.pub.")],
) -> None:
    """Write a new Ed25519 key pair (the private key readable by its owner only)."""
    from policyengine.engine.keys import generate

    try:
        key_path, pub_path, kid = generate(out)
    except FileExistsError:
        raise fail(f"{out}: error: a key with this id already exists", EXIT_USAGE) from None
    except OSError as exc:
        raise fail(f"{out}: error: cannot write the key pair: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"key id {kid}: private key {key_path} (keep it secret: a CI secret), public key {pub_path}")


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)
    app.add_typer(keys_app, name="keys")
