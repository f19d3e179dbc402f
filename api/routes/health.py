"""Liveness and readiness (open, for probes) and Prometheus metrics (token or development)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status

from api.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process answers (open: a load balancer's liveness probe)."""
    return {"status": "ok"}


@router.get("/ready")
def ready(gw: GatewayDep, response: Response) -> dict[str, bool]:
    """Ready when the database answers and the broker connection is up (open: a probe;
    it tells nothing beyond those two facts)."""
    db_ok = gw.store.ping()
    broker_ok = gw.mqtt.connected
    if not (db_ok and broker_ok):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"ready": db_ok and broker_ok, "database": db_ok, "broker": broker_ok}


@router.get("/metrics")
def metrics(gw: GatewayDep,
            authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus text exposition: `Authorization: Bearer <api.metrics_token>`; without a
    token configured, open in development only (production: use the token or metrics_port)."""
    token = gw.settings.api.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}".encode()
        if not hmac.compare_digest((authorization or "").encode(), expected):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "metrics need the scrape token",
                                {"WWW-Authenticate": "Bearer"})
    elif gw.settings.environment != "development":
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            "set api.metrics_token or metrics_port to expose metrics")
    return Response(gw.metrics.render(), media_type="text/plain; version=0.0.4")
