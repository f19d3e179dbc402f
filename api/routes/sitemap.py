"""`GET /sitemap`: the compound's geometry (lat/lon) for the console's and family page's maps."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.deps import CurrentUser, GatewayDep

router = APIRouter(tags=["site map"])
log = logging.getLogger(__name__)

_cache: dict[Path, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def load_sitemap(path: Path) -> dict[str, Any]:
    """The parsed file, re-read only when its modification time changes."""
    mtime = path.stat().st_mtime
    with _lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == mtime:
            return hit[1]
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    with _lock:
        _cache[path] = (mtime, data)
    return data


@router.get("/sitemap")
def sitemap(gw: GatewayDep, user: CurrentUser) -> dict[str, Any]:
    """Buildings, fire lanes, gates, places, grids and fixed device positions, in [lat, lon].

    Every signed-in role may read it: it is the map of the compound, not anyone's data.
    """
    path = gw.settings.api.sitemap_file
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no site map configured (api.sitemap_file)")
    # The file's path and the parser's words are for the operations log, not for every
    # signed-in account (a family's phone included).
    try:
        return load_sitemap(Path(path))
    except FileNotFoundError as exc:
        log.error("site map file missing: %s", path)
        raise HTTPException(status.HTTP_404_NOT_FOUND, "site map file missing") from exc
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        log.error("site map file unreadable: %s: %s", path, exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "site map file unreadable") from exc
