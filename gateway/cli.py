"""The `scgw` command: run the gateway, manage devices, export schemas, run the demo."""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, runtime_checkable

import typer
from pydantic import ValidationError

from gateway import logs, schemas
from gateway.settings import Settings
from gateway.stop_signal import StopSignal

devices_app = typer.Typer(help="Register and manage devices.", no_args_is_help=True)
schemas_app = typer.Typer(help="JSON Schemas of the MQTT payloads.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts for the API and console.", no_args_is_help=True)
settings_app = typer.Typer(help="The settings reference.", no_args_is_help=True)
broker_app = typer.Typer(help="The gateway's own broker account.", no_args_is_help=True)


@settings_app.command("doc")
def settings_doc(
    out: Annotated[Path, typer.Option(help="File to write")] = Path("docs/settings.md"),
) -> None:
    """Write the table of every setting (name, environment variable, default, meaning)."""
    from gateway.settings_doc import render

    out.write_text(render(), encoding="utf-8")
    typer.echo(str(out))

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.storage.common import SqlStore

log = logging.getLogger("scgw")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file (same as SCGW_CONFIG)"),
]


def _settings(config: Path | None) -> Settings:
    if config is not None:
        os.environ["SCGW_CONFIG"] = str(config)
    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from exc
    logs.setup(settings.log_level, settings.log_json)
    return settings


def _wait_for_signal() -> None:
    StopSignal().wait()


@contextmanager
def _store(config: Path | None, *refused: type[Exception]) -> Iterator[SqlStore]:
    """The configured database for one command; the listed errors exit 1 with their message."""
    from gateway.storage.factory import store_for

    store = store_for(_settings(config))
    try:
        yield store
    except refused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()


@devices_app.command("import")
def devices_import(
    file: Annotated[Path, typer.Argument(help="CSV (header row) or YAML list of devices")],
    config: ConfigOpt = None,
) -> None:
    """Register or update devices from a file; all-or-nothing, every bad row reported."""
    from rich.progress import Progress

    from gateway.clock import SystemClock
    from gateway.namespace import device_id_refusal, service_accounts
    from gateway.registry import DeviceRegistry, RegistryError, read_import_file

    settings = _settings(config)
    if not file.exists():
        typer.echo(f"{file}: no such file", err=True)
        raise typer.Exit(1)
    try:
        from devices.vendors import codecs_for

        configs = read_import_file(file, codecs_for(settings.dialects.folder))
    except RegistryError as exc:
        problems = str(exc).splitlines()
        typer.echo("\n".join(problems), err=True)
        typer.echo(f"{len(problems)} problem(s); nothing imported", err=True)
        raise typer.Exit(1) from exc
    accounts = service_accounts(settings.broker, settings.provisioning)
    refused = [f"{file}: {r}" for r in (device_id_refusal(c.id, accounts) for c in configs) if r]
    if refused:
        typer.echo("\n".join(refused), err=True)
        typer.echo(f"{len(refused)} problem(s); nothing imported", err=True)
        raise typer.Exit(1)
    chunk = 2000
    with _store(config, RegistryError) as store:
        registry = DeviceRegistry(store, SystemClock())
        before = registry.load()
        with Progress(transient=True) as progress:
            task = progress.add_task("registering", total=len(configs))
            for start in range(0, len(configs), chunk):
                registry.register(configs[start:start + chunk])
                progress.advance(task, len(configs[start:start + chunk]))
        added = len(registry) - before
    typer.echo(f"imported {len(configs)} devices into {store.location}: {added} new, "
               f"{len(configs) - added} updated")


@devices_app.command("list")
def devices_list(config: ConfigOpt = None) -> None:
    """Print registered devices, one per line."""
    with _store(config) as store:
        for d in store.load_devices():
            typer.echo(f"{d.id}\t{d.kind}\t{d.status}\t{d.site}/{d.building}/{d.unit}\t{d.grid}")


def _set_status(device_id: str, status: str, config: Path | None) -> None:
    """The same service the API uses: the broker account follows the registry."""
    from gateway.clock import SystemClock
    from gateway.device_admin import Actor, BrokerUnavailableError, DeviceConflictError
    from gateway.provisioning import DynsecProvisioner
    from gateway.registry import DeviceRegistry, RegistryError
    from gateway.service import build_device_admin
    from gateway.storage.audit import AuditRepository

    settings = _settings(config)
    provisioner = (DynsecProvisioner(settings.broker, settings.provisioning)
                   if settings.provisioning.enabled else None)
    refused = (RegistryError, LookupError, BrokerUnavailableError, DeviceConflictError)
    try:
        with _store(config, *refused) as store:
            registry = DeviceRegistry(store, SystemClock())
            registry.load()
            admin = build_device_admin(settings, store, registry, SystemClock(), provisioner,
                                       AuditRepository(store))
            admin.set_status(device_id, status,  # type: ignore[arg-type]
                             Actor(f"cli:{getpass.getuser()}", "admin", client_addr="cli"))
    finally:
        if provisioner is not None:
            provisioner.close()
    typer.echo(f"{device_id}: {status}"
               + (" (broker account too)" if provisioner is not None else ""))


@devices_app.command("disable")
def devices_disable(device_id: str, config: ConfigOpt = None) -> None:
    """Stop accepting a device's messages; with provisioning on, its broker account is
    disabled too (the broker drops its connection and refuses its logins)."""
    _set_status(device_id, "disabled", config)


@devices_app.command("enable")
def devices_enable(device_id: str, config: ConfigOpt = None) -> None:
    """Accept a disabled or pending device's messages again (and re-enable its broker
    account)."""
    _set_status(device_id, "active", config)


@broker_app.command("provision")
def broker_provision(config: ConfigOpt = None) -> None:
    """Create or update the gateway's broker account (idempotent), bound to its client id.

    Uses the dynamic-security admin (`provisioning.admin_username` and
    SCGW_PROVISIONING__ADMIN_PASSWORD) to give `broker.username` the gateway role, the
    password SCGW_BROKER__PASSWORD and the client id `broker.client_id`. It does not log in
    as the gateway (that would take over a running gateway's session); the gateway itself
    names a refused login or subscription at start-up. A replica (`gateway.replica_id`)
    provisions `<username>-<replica>` bound to `<client_id>-<replica>`; run it once per replica,
    with the password every replica shares. With `broker.event_lane` (the default) the event
    lane's account `<username>-events` (client id `<client_id>-events`) is made as well.
    """
    from gateway.provisioning import DynsecProvisioner, ProvisioningError

    settings = _settings(config)
    broker = settings.replica_broker(settings.gateway.replica_id)
    if not broker.url or not broker.username or broker.password is None:
        typer.echo("set broker.url, broker.username and SCGW_BROKER__PASSWORD first", err=True)
        raise typer.Exit(2)
    admin = DynsecProvisioner(broker, settings.provisioning)
    try:
        from devices.vendors import codecs_for

        # The gateway also reads the dialects' own topics (owntracks/+/+, …).
        filters = codecs_for(settings.dialects.folder).vendor_filters()
        logins = [broker, broker.event_lane_login()] if broker.event_lane else [broker]
        done = [(login, admin.ensure_gateway_account(
            login.username or "", broker.password.get_secret_value(), login.client_id, filters))
            for login in logins]
    except ProvisioningError as exc:
        typer.echo(f"broker provision failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        admin.close()
    for login, what in done:
        typer.echo(f"gateway account {login.username!r} {what}, bound to client id "
                   f"{login.client_id!r}")


@broker_app.command("sync-acls")
def broker_sync_acls(config: ConfigOpt = None) -> None:
    """Make every provisioned device's broker ACL the current one (run after an upgrade).

    Since session 31 a device may publish on its four channels only, not anywhere under its
    prefix; accounts created before keep their wider ACL until this runs. A device behind a
    hub (Zigbee2MQTT) has no account of its own since then: one made before is removed (its
    hub speaks for it). Idempotent.
    """
    from devices.vendors import codecs_for
    from gateway.clock import SystemClock
    from gateway.device_admin import BrokerUnavailableError, DeviceRefusedError
    from gateway.provisioning import DynsecProvisioner
    from gateway.registry import DeviceRegistry
    from gateway.service import build_device_admin
    from gateway.storage.audit import AuditRepository

    settings = _settings(config)
    if not settings.provisioning.enabled:
        typer.echo("provisioning is off: the broker's device accounts are not ours", err=True)
        raise typer.Exit(2)
    provisioner = DynsecProvisioner(settings.broker, settings.provisioning)
    try:
        with _store(config, BrokerUnavailableError, DeviceRefusedError) as store:
            # The configured dialects too: their topics are part of a device's ACL.
            registry = DeviceRegistry(store, SystemClock(), codecs_for(settings.dialects.folder))
            registry.load()
            admin = build_device_admin(settings, store, registry, SystemClock(), provisioner,
                                       AuditRepository(store))
            changed, removed = admin.sync_broker_acls()
    finally:
        provisioner.close()
    typer.echo(f"device ACLs: {changed} changed; {removed} accounts of devices behind a hub "
               "removed")


@schemas_app.command("export")
def schemas_export(
    out: Annotated[Path, typer.Option(help="Folder to write into")] = schemas.SCHEMA_DIR,
) -> None:
    """Write one JSON Schema per payload type into docs/schemas/."""
    for path in schemas.export(out):
        typer.echo(str(path))


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, operator, grid_worker, family or vendor")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                          envvar="SCGW_NEW_PASSWORD", help="At least 8 characters")
    ],
    display_name: Annotated[str, typer.Option(help="Name shown in the console")] = "",
    grid: Annotated[str | None, typer.Option(help="Grid of a grid worker")] = None,
    vendor: Annotated[str | None, typer.Option(help="Vendor name of a vendor account")] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite an existing account")] = False,
    config: ConfigOpt = None,
) -> None:
    """Create an account (the password is hashed with argon2)."""
    from gateway.clock import SystemClock
    from gateway.users import AccountError, UserRepository

    with _store(config, AccountError) as store:
        user = UserRepository(store, SystemClock()).add(
            username, password, role, display_name=display_name, grid=grid, vendor=vendor,
            replace=replace)
    typer.echo(f"user {user.username} ({user.role}) saved")


class Extra(Protocol):
    """Something a runtime starts after the gateway and stops before it (the HTTP API)."""

    def start(self) -> None:
        """Start serving."""
        ...

    def stop(self) -> None:
        """Stop serving."""
        ...


@runtime_checkable
class Verifiable(Protocol):
    """An extra that can tell whether the running demo shows what it should."""

    def verify(self, runtime: Runtime, timeout: float) -> bool:
        """True once the expected activity is visible, False after `timeout` seconds."""
        ...


ExtrasFactory = Callable[["Runtime"], list[Extra]]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            typer.echo(f"scgw {installed('scgw')}")
        except PackageNotFoundError:
            typer.echo("scgw (not installed)")
        raise typer.Exit()


def make_app(extras: ExtrasFactory | None = None) -> typer.Typer:
    """The `scgw` command; `extras` adds services layered on top (the API adds its server)."""
    app = typer.Typer(help="Smart-community device gateway.", no_args_is_help=True)

    @app.callback()
    def main(version: Annotated[bool, typer.Option(
            "--version", is_eager=True, callback=_print_version,
            help="Print the version and exit")] = False) -> None:
        """Smart-community device gateway (智慧社区设备网关)."""
    app.add_typer(devices_app, name="devices")
    app.add_typer(schemas_app, name="schemas")
    app.add_typer(users_app, name="users")
    app.add_typer(settings_app, name="settings")
    app.add_typer(broker_app, name="broker")
    from gateway.bridges.cli import bridge_app
    from gateway.dialects_cli import dialects_app
    from gateway.plates_cli import plates_app
    from gateway.users_cli import users_list  # noqa: F401  (adds list/passwd/disable/enable)

    app.add_typer(dialects_app, name="dialects")
    app.add_typer(bridge_app, name="bridge")
    app.add_typer(plates_app, name="plates")

    def _serve(config: Path | None, demo: bool, check_s: float | None = None) -> None:
        from gateway.runtime import Runtime, RuntimeSetupError

        try:
            runtime = Runtime(_settings(config), demo=demo)
            added = extras(runtime) if extras else []
            for extra in added:  # ports checked before anything starts
                check = getattr(extra, "check", None)
                if check is not None:
                    check()
            runtime.start()
        except RuntimeSetupError as exc:
            typer.echo(f"cannot start: {exc}", err=True)
            raise typer.Exit(1) from exc
        for extra in added:
            extra.start()
        typer.echo(f"broker {runtime.broker_url}, database {runtime.database}")
        for line in runtime.banner:
            typer.echo(line)
        ok = True
        try:
            if check_s is None:
                typer.echo("Ctrl-C stops everything.")
                _wait_for_signal()
            else:
                checks = [e for e in added if isinstance(e, Verifiable)]
                ok = all(e.verify(runtime, check_s) for e in checks) if checks else False
                typer.echo("check passed: alerts and tickets are visible through the API"
                           if ok else f"check failed within {check_s:.0f} s")
        finally:
            for extra in reversed(added):
                extra.stop()
            runtime.stop()
        if not ok:
            raise typer.Exit(1)

    @app.command()
    def run(config: ConfigOpt = None) -> None:
        """Run until SIGINT/SIGTERM (embedded broker when no broker URL is set)."""
        _serve(config, demo=False)

    @app.command()
    def demo(
        config: ConfigOpt = None,
        check: Annotated[bool, typer.Option(
            help="Exit 0 once an alert and a ticket are visible through the API")] = False,
        timeout: Annotated[float, typer.Option(help="Seconds --check waits")] = 60.0,
    ) -> None:
        """Embedded broker, gateway, API and the simulated community producing live traffic."""
        _serve(config, demo=True, check_s=timeout if check else None)

    return app


app = make_app()


def main() -> None:
    """Console-script entry point (gateway only; `api.cli` adds the HTTP API)."""
    app()
