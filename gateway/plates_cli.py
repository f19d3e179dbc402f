"""`scgw plates`: print the door plates (QR PNG per unit, A4 PDF per building), list them,
and rotate one plate's link."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

plates_app = typer.Typer(help="Digital door plates (数字门牌码).", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file (same as SCGW_CONFIG)"),
]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@plates_app.command("export")
def plates_export(
    site: Annotated[str, typer.Option(help="Community (site id) whose plates to print")],
    out: Annotated[Path, typer.Option(help="Folder to write PNGs and PDFs into")],
    base_url: Annotated[str | None, typer.Option(
        help="Address printed in the QR codes (default: plates.public_url)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write one QR PNG per unit and one A4 PDF per building (labels in Chinese). Plates
    printed before keep their link; new plates get their first one."""
    from gateway.cli import _settings, _store
    from gateway.clock import SystemClock
    from gateway.plates import PlatesNotConfiguredError
    from gateway.plates_export import FontMissingError, export_plates

    settings = _settings(config)
    with _store(config, LookupError, PlatesNotConfiguredError, FontMissingError) as store:
        done = export_plates(store, settings, site=site, out=out, actor=_actor(),
                             now=SystemClock().time(), base_url=base_url)
    typer.echo(f"{done.plates} plates ({done.issued} newly issued): {len(done.pngs)} PNG, "
               f"{len(done.pdfs)} PDF in {out}")
    typer.echo("The files carry each unit's link: keep them as safe as keys.")


@plates_app.command("list")
def plates_list(site: Annotated[str | None, typer.Option(help="Only this site")] = None,
                config: ConfigOpt = None) -> None:
    """Print plates: code, unit, grid, link version (- when never printed)."""
    from gateway.cli import _store
    from gateway.plates import label
    from gateway.storage.plates_repo import PlateReads

    with _store(config) as store:
        for p in PlateReads(store).plates(site=site):
            typer.echo(f"{p.code}\t{p.site}\t{label(p)}\t{p.grid}\t{p.version or '-'}")


@plates_app.command("rotate")
def plates_rotate(code: str, config: ConfigOpt = None) -> None:
    """Give one plate a new link (the printed one stops working); then reprint it."""
    from gateway.cli import _store
    from gateway.clock import SystemClock
    from gateway.plates import new_secret
    from gateway.storage.plates_repo import PlateReads

    with _store(config) as store:
        if PlateReads(store).plate(code) is None:
            typer.echo(f"no door plate {code!r}", err=True)
            raise typer.Exit(1)
        now = SystemClock().time()
        with store.transaction() as tx:
            version = tx.plates.rotate_key(code, new_secret(), now, _actor())
            tx.audit.record_admin(at=now, actor=_actor(), role="admin", action="plate_rotate",
                                  target=code, detail=f"version={version}", client_addr="cli")
    typer.echo(f"{code}: link version {version}; reprint it with `scgw plates export`")
