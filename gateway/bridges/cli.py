"""`scgw bridge watch3g --listen HOST:PORT`: run the 3G-watch bridge until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from gateway.settings import Settings
from gateway.stop_signal import StopSignal

bridge_app = typer.Typer(help="Bridges for watches that do not speak MQTT.",
                         no_args_is_help=True)
log = logging.getLogger(__name__)


def read_credentials(path: Path | None) -> dict[str, str]:
    """The watch id → MQTT password map of `bridge.credentials_file` (YAML)."""
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise typer.BadParameter(f"{path}: expected a map of watch id → password")
    return {str(k): v for k, v in data.items()}


def _tls(settings: Settings) -> ssl.SSLContext | None:
    broker = settings.broker
    if not broker.tls:
        return None
    context = ssl.create_default_context(
        cafile=str(broker.tls_ca_file) if broker.tls_ca_file else None)
    if broker.tls_insecure:
        context.check_hostname = False
    return context


@bridge_app.command("watch3g")
def watch3g(
    listen: Annotated[str | None, typer.Option(help="HOST:PORT (default: bridge.listen)")]
    = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML settings file")]
    = None,
) -> None:
    """Accept 3G-protocol watches on TCP and speak MQTT as each registered watch.

    A watch must be registered as a wristband with codec `watch3g`; its MQTT password comes
    from `bridge.credentials_file`. Reads the gateway's database for registrations.
    """
    from gateway import logs
    from gateway.bridges.watch3g import Watch3gBridge
    from gateway.clock import SystemClock
    from gateway.registry import DeviceRegistry
    from gateway.storage.factory import store_for

    if config is not None:
        os.environ["SCGW_CONFIG"] = str(config)
    try:
        settings = Settings(**({"bridge": {"listen": listen}} if listen else {}))
    except ValidationError as exc:
        typer.echo(f"invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from exc
    logs.setup(settings.log_level, settings.log_json)
    if settings.environment == "production" and not settings.bridge.allowed_networks:
        typer.echo("set bridge.allowed_networks (SCGW_BRIDGE__ALLOWED_NETWORKS='[\"10.0.0.0/8\"]'"
                   ", the private APN's range): the 3G protocol carries only a watch's id, so "
                   "anyone who can reach the port can speak as any watch; '[\"0.0.0.0/0\"]' "
                   "accepts that knowingly", err=True)
        raise typer.Exit(2)
    host, _, port = settings.bridge.listen.rpartition(":")
    broker = settings.broker
    broker_host, broker_port = ((broker.host, broker.port) if broker.url else
                                (settings.embedded_broker.host, settings.embedded_broker.port))
    store = store_for(settings)
    registry = DeviceRegistry(store, SystemClock())
    registry.load()
    bridge = Watch3gBridge(settings.bridge, broker_host=broker_host, broker_port=broker_port,
                           lookup=registry.get,
                           credentials=read_credentials(settings.bridge.credentials_file),
                           clock=SystemClock(), ssl=_tls(settings))
    try:
        bound = bridge.start(host, int(port))
    except OSError as exc:
        typer.echo(f"cannot start: {exc}", err=True)
        store.close()
        raise typer.Exit(1) from exc
    typer.echo(f"3G watch bridge on {host}:{bound} → broker {broker_host}:{broker_port}")
    stop = StopSignal()
    while not stop.wait(60):
        log.info("3g bridge", extra={"connections": bridge.connections,
                                     **dict(bridge.counters)})
    bridge.stop()
    store.close()
