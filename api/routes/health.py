"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(gw: GatewayDep, response: Response) -> dict[str, object]:
    """Ready when the database answers and the broker connection is up."""
    db_ok = gw.store.query("SELECT 1 AS ok")[0]["ok"] == 1
    broker_ok = gw.mqtt.connected
    if not (db_ok and broker_ok):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"database": db_ok, "broker": broker_ok, "queue_depth": gw.pipeline.depth()}


@router.get("/metrics")
def metrics(gw: GatewayDep) -> Response:
    """Prometheus text exposition (bind the API to a private address in production)."""
    return Response(gw.metrics.render(), media_type="text/plain; version=0.0.4")
