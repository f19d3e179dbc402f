"""The web console: operator console at `/`, grid worker view `/grid`, family page `/family`,
ticket detail `/ticket?id=`, device detail `/device?id=`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from api.deps import GatewayDep
from devices.catalogue import CATALOGUE

ASSETS = Path(__file__).resolve().parent.parent / "console"
# Everything is served from here; nothing is fetched from the internet (offline sites).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
_ASSET_NAME = re.compile(r"^[a-z0-9_-]+\.(js|css)$")
_MEDIA = {"js": "text/javascript", "css": "text/css"}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    # no-cache: browsers revalidate (ETag) so a deployed fix shows on the next load.
    return FileResponse(ASSETS / name, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


@router.get("/")
def operator_console() -> FileResponse:
    """The control-room console (admin, operator)."""
    return _page("index.html")


@router.get("/grid")
def grid_view() -> FileResponse:
    """The grid worker's tickets."""
    return _page("grid.html")


@router.get("/family")
def family_page() -> FileResponse:
    """The family page (phone first)."""
    return _page("family.html")


@router.get("/ticket")
def ticket_page() -> FileResponse:
    """One ticket: timeline, place, actions (operators and grid workers)."""
    return _page("ticket.html")


@router.get("/device")
def device_page() -> FileResponse:
    """One device: twin, chart, messages, dead letters, commands (operators)."""
    return _page("device.html")


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    """A committed JS/CSS asset (a flat folder: no path traversal to worry about)."""
    if not _ASSET_NAME.match(name) or not (ASSETS / name).is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset")
    return FileResponse(ASSETS / name, media_type=_MEDIA[name.rsplit(".", 1)[1]],
                        headers={"Cache-Control": "no-cache"})


@router.get("/console/config")
def config(gw: GatewayDep) -> dict[str, Any]:
    """The gateway's clock (pages compute "today", countdowns and SLA time left as the server
    does), the incident grouping window, and the names of ticket categories and device kinds
    in both languages (from the catalogues the gateway runs with, so an operator's own
    categories file and a new kind are named on every page without a second list)."""
    names = {f"cat.{c.key}": [c.zh, c.en] for c in gw.workflow.catalogue.categories}
    names.update({f"kind.{k.key}": [k.name_zh, k.name_en] for k in CATALOGUE.kinds.values()})
    return {"now": gw.clock.time(), "incident_window_s": gw.settings.api.incident_window_s,
            "names": names}
