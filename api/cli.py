"""The `scgw` console script: the gateway's commands, with the HTTP API served by run/demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.cli import Extra, make_app

if TYPE_CHECKING:
    from gateway.runtime import Runtime


def _api(runtime: Runtime) -> list[Extra]:
    from api.server import ApiServer

    server = ApiServer(runtime.gateway)
    runtime.banner.append(f"API and console: {server.url}  (OpenAPI: {server.url}/docs)")
    return [server]


app = make_app(_api)


def main() -> None:
    """Console-script entry point."""
    app()
