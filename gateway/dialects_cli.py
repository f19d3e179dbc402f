"""`scgw dialects …`: list the loaded dialects, run a file's examples, try a message, hubs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError

from devices.dialects.errors import DialectError
from gateway.settings import Settings

dialects_app = typer.Typer(help="Vendor dialect files (payload formats as data).",
                           no_args_is_help=True)
hub_app = typer.Typer(help="Hub accounts (one per Zigbee2MQTT instance).", no_args_is_help=True)
dialects_app.add_typer(hub_app, name="hub")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file (same as SCGW_CONFIG)")]


def _settings(config: Path | None) -> Settings:
    if config is not None:
        os.environ["SCGW_CONFIG"] = str(config)
    try:
        return Settings()
    except ValidationError as exc:
        typer.echo(f"invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from exc


def _fail(exc: DialectError) -> typer.Exit:
    typer.echo(str(exc), err=True)
    return typer.Exit(1)


@dialects_app.command("list")
def dialects_list(config: ConfigOpt = None) -> None:
    """Every dialect the gateway loads (built-in and `dialects.folder`), with its topics."""
    from devices.vendors import codecs_for

    try:
        codecs = codecs_for(_settings(config).dialects.folder)
    except DialectError as exc:
        raise _fail(exc) from exc
    for name, codec in sorted(codecs.dialects.items()):
        topics = ", ".join(t.spec.pattern for t in codec.topics) or "scgw/v1 topics"
        typer.echo(f"{name}\t{','.join(codec.dialect.kinds)}\t{topics}\t{codec.source}")


@dialects_app.command("test")
def dialects_test(file: Annotated[Path, typer.Argument(help="A dialect file (.yaml)")]) -> None:
    """Validate a dialect file and run its examples; exit 1 on any failure."""
    from devices.dialects.examples import run_examples
    from devices.dialects.loader import load_file

    try:
        codec = load_file(file)
    except DialectError as exc:
        raise _fail(exc) from exc
    results = run_examples(codec)
    for name, problem in results:
        typer.echo(f"{'ok  ' if problem is None else 'FAIL'} {name}"
                   + ("" if problem is None else f": {problem}"))
    failed = sum(1 for _, p in results if p is not None)
    typer.echo(f"{codec.name}: {len(results) - failed} of {len(results)} examples pass")
    if failed or not results:
        if not results:
            typer.echo("a dialect needs examples", err=True)
        raise typer.Exit(1)


@dialects_app.command("try")
def dialects_try(
    file: Annotated[Path, typer.Argument(help="A dialect file, or the name of a loaded one")],
    topic: Annotated[str, typer.Option(help="Topic the message arrives on")],
    payload: Annotated[str, typer.Option(help="The payload (JSON or text)")],
    kind: Annotated[str | None, typer.Option(help="Device kind (default: the first served)")]
    = None,
    config: ConfigOpt = None,
) -> None:
    """Decode one message with a dialect and print the outcome; nothing is stored."""
    from devices.dialects.examples import decode_sample
    from devices.dialects.loader import load_file
    from devices.vendors import codecs_for

    try:
        if file.suffix in (".yaml", ".yml") or file.exists():
            codec = load_file(file)
        else:
            found = codecs_for(_settings(config).dialects.folder).dialects.get(str(file))
            if found is None:
                typer.echo(f"no dialect file or loaded dialect {str(file)!r}", err=True)
                raise typer.Exit(1)
            codec = found
    except DialectError as exc:
        raise _fail(exc) from exc
    outcome = decode_sample(codec, topic, payload.encode(), kind=kind)
    body = ({"outcome": "accepted", "device_id": outcome.device_id, "channel": outcome.channel,
             "decoded": outcome.payload} if outcome.reason is None else
            {"outcome": "refused", "reason": outcome.reason, "detail": outcome.detail})
    typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    if outcome.reason is not None:
        raise typer.Exit(1)


@dialects_app.command("reference")
def dialects_reference() -> None:
    """Print the dialect-file reference (Markdown, generated from the model)."""
    from devices.dialects.reference import render

    typer.echo(render(), nl=False)


@hub_app.command("add")
def hub_add(
    hub: Annotated[str, typer.Argument(help="Hub name: its MQTT username and client id")],
    dialect: Annotated[str | None, typer.Option(
        help="Dialect whose hub topics it publishes; without it, the one loaded dialect that "
        "has hub topics (several: name one)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a hub's broker account (or give it a new password); prints the password.

    The hub may publish and subscribe under its own base topic only (e.g.
    `zigbee2mqtt/<hub>/#`), so it can speak for the devices named `<hub>-<name>` and no
    others. Needs provisioning (the dynamic-security admin) to be configured.
    """
    from devices.vendors import codecs_for
    from gateway.provisioning import DynsecProvisioner, ProvisioningError
    from gateway.storage.factory import store_for

    settings = _settings(config)
    try:
        loaded = codecs_for(settings.dialects.folder).dialects
    except DialectError as exc:
        raise _fail(exc) from exc
    if dialect is None:
        # Vendor round 5: the default was zigbee2mqtt whatever the site ran, and a vendor's
        # box was granted topics it never uses — its smoke alarms were dropped unseen.
        hubs = sorted(name for name, c in loaded.items() if any(t.hub for t in c.topics))
        if len(hubs) != 1:
            typer.echo("name the hub's dialect with --dialect (dialects with hub topics: "
                       f"{', '.join(hubs) or 'none'})", err=True)
            raise typer.Exit(1)
        dialect = hubs[0]
    codec = loaded.get(dialect)
    topics = [t for t in codec.topics if t.hub] if codec else []
    if not topics:
        typer.echo(f"dialect {dialect!r} has no hub topics", err=True)
        raise typer.Exit(1)
    if not settings.provisioning.enabled:
        typer.echo("hub accounts need provisioning.enabled (the dynsec admin)", err=True)
        raise typer.Exit(2)
    store = store_for(settings)
    try:
        if store.get_device(hub) is not None:
            typer.echo(f"{hub!r} is a device id; a hub needs a name of its own", err=True)
            raise typer.Exit(1)
    finally:
        store.close()
    bases = sorted({t.hub_base(hub) for t in topics})
    admin = DynsecProvisioner(settings.broker, settings.provisioning)
    try:
        password, created = admin.provision_hub(hub, bases)
    except ProvisioningError as exc:
        typer.echo(f"hub {hub}: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        admin.close()
    typer.echo(f"hub {hub} {'created' if created else 'password rotated'} for dialect "
               f"{dialect}; may publish on {', '.join(bases)}")
    typer.echo(f"password: {password}")
