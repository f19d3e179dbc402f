"""The FastAPI application: routers, auth state, the live stream wired to the gateway."""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from api import asyncapi
from api.deps import CurrentUser
from api.headers import SecurityHeaders
from api.interactive import InteractiveRequests
from api.limits import BodyLimit
from api.personal import RefusedReads, RepeatedReads, check_routes
from api.routes import (
    admin,
    admin_pages,
    alerts,
    assets,
    auth,
    console,
    contacts,
    device_detail,
    devices,
    family,
    geofences,
    health,
    live,
    plates,
    sitemap,
    ticket_detail,
    tickets,
    users,
    vendor,
)
from api.security import LoginThrottle, SessionService, TokenService
from api.shared_reads import CommitCount, SharedReads
from api.stream import Broadcaster
from gateway.abuse import SlidingLimiter
from gateway.service import Gateway
from gateway.sign_ins import SignInLog
from gateway.storage.migrate import StoreError
from gateway.users import SessionRepository, UserRepository

log = logging.getLogger(__name__)

VERSION = "0.1.0"
BODY_LIMIT = 1024 * 1024  # bytes of request body, outside the plate page


# A refusal names this many problems, each without the refused input: a body of 60,000
# unknown keys made a 6.6 MB answer echoing it, encoded on the event loop, and four such
# anonymous requests delayed other bands' SOS by seconds (red team round 3b).
ERRORS_SHOWN = 20
_ERROR_TEXT_MAX = 300


def _shown_error(error: Any) -> dict[str, Any]:
    loc = error.get("loc", ()) if isinstance(error, dict) else ()
    return {"type": str(error.get("type", ""))[:60] if isinstance(error, dict) else "",
            "loc": [p if isinstance(p, int) else str(p)[:80] for p in list(loc)[:8]],
            "msg": str(error.get("msg", ""))[:_ERROR_TEXT_MAX] if isinstance(error, dict)
            else str(error)[:_ERROR_TEXT_MAX]}


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with the first validation errors (type, where, why — never the refused input
    itself: it may be huge, or NaN, which JSON cannot carry)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail: list[Any] = [_shown_error(e) for e in errors[:ERRORS_SHOWN]]
    if len(errors) > ERRORS_SHOWN:
        detail.append({"type": "more", "loc": [], "msg": f"and {len(errors) - ERRORS_SHOWN} "
                       "more problems"})
    return JSONResponse(status_code=422, content={"detail": detail})


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After when the database failed or the pipeline did not answer in time
    (a database restart, a replica conflict retried to its limit): the console retries, and
    nothing was half-done, since the transaction rolled back."""
    log.warning("request %s %s answered 503: %s", request.method, request.url.path, exc)
    return JSONResponse(status_code=503, headers={"Retry-After": "2"},
                        content={"detail": "数据库暂不可用，请稍后重试 / the database is "
                                           "unavailable for a moment; retry"})


def create_app(gateway: Gateway) -> FastAPI:
    """An app serving `gateway` (which the caller starts and stops)."""
    settings = gateway.settings
    public = settings.docs_public
    about = {"title": "scgw — smart-community gateway API", "version": VERSION,
             "description": "Devices, alerts, tickets, residents and families. "
                            "The MQTT contract is at /asyncapi.json."}
    # Swagger UI and ReDoc from files shipped in a package, never a CDN: control rooms are
    # often offline. Off in production unless asked for; the JSON documents are then
    # served to logged-in callers only (below).
    app = (FastAPIOffline(**about, static_url="/static-docs") if public else
           FastAPI(**about, docs_url=None, redoc_url=None, openapi_url=None))
    app.state.gateway = gateway
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StoreError, _store_unavailable)
    app.add_exception_handler(FutureTimeout, _store_unavailable)
    app.state.tokens = TokenService(settings.api.jwt_secret.get_secret_value(),
                                    settings.api.token_ttl_s, gateway.clock)
    app.state.users = UserRepository(gateway.store, gateway.clock)
    app.state.throttle = LoginThrottle(gateway.clock, free=settings.api.login_free_failures,
                                       max_s=settings.api.login_backoff_max_s)
    app.state.sign_ins = SignInLog(gateway.store, gateway.clock)
    app.state.sessions = SessionService(SessionRepository(gateway.store), gateway.clock,
                                        settings.api.session_idle_s,
                                        settings.api.session_absolute_s,
                                        key=settings.api.jwt_secret.get_secret_value())
    app.state.alert_views = alerts.AlertViews(gateway)
    app.state.live_sockets = live.LiveSockets()
    # A family account files like a door plate: at most as often as one (red team round 4:
    # 2,300 "SOS requests" from one family login buried a real SOS ticket on the board).
    app.state.request_limits = SlidingLimiter(gateway.clock, settings.plates.per_plate)
    app.state.refused_reads = RefusedReads(gateway.clock)
    app.state.repeated_reads = RepeatedReads(gateway.clock)
    commits = CommitCount()
    gateway.pipeline.on_commit.append(commits)
    app.state.shared_reads = SharedReads(
        lambda: (commits.value, int(gateway.clock.time())), reuse=gateway.replica is None)
    broadcaster = Broadcaster(enrich=app.state.alert_views.enrich, fanout=gateway.live)
    app.state.broadcaster = broadcaster
    gateway.operations.live_clients = broadcaster.count
    if gateway.alerting is not None:
        gateway.alerting.subscribe(broadcaster.on_alert_change)
    gateway.workflow.listeners.append(broadcaster.on_ticket_change)
    gateway.pipeline.on_commit.append(broadcaster.committed)
    gateway.pipeline.before_commit.append(broadcaster.before_commit)
    if gateway.live is not None:
        gateway.live.start(broadcaster.deliver)
    gateway.pipeline.on_rollback.append(broadcaster.rolled_back)
    contract = asyncapi.document(VERSION, settings.broker.device_url or settings.broker.url
                                 or f"mqtt://{settings.embedded_broker.host}:"
                                    f"{settings.embedded_broker.port}")

    if public:
        @app.get("/asyncapi.json", tags=["contract"])
        def asyncapi_json() -> dict:
            """The MQTT contract (AsyncAPI 3.0), from the same models as the JSON Schemas."""
            return contract
    else:
        @app.get("/asyncapi.json", tags=["contract"])
        def asyncapi_json_private(user: CurrentUser) -> dict:
            """The MQTT contract (AsyncAPI 3.0), for logged-in callers."""
            return contract

        @app.get("/openapi.json", include_in_schema=False)
        def openapi_private(user: CurrentUser) -> dict:
            """The OpenAPI document, for logged-in callers."""
            return app.openapi()

    for router in (auth.router, health.router, devices.router, device_detail.router,
                   alerts.router, alerts.silences, tickets.router, ticket_detail.router,
                   family.router,
                   admin.residents, contacts.router, admin.dead_letters, admin.rules,
                   admin.audit_log, live.router, geofences.router, sitemap.router,
                   console.router, users.router, vendor.router,
                   plates.pages, plates.resident, plates.staff,
                   admin_pages.pages, admin_pages.router, admin_pages.audit,
                   assets.router):
        app.include_router(router)
    check_routes(app)
    # Bodies are bounded before anything reads them (JSON is parsed before the login check);
    # the vendor's validator takes a device payload, the plate page a photo.
    app.add_middleware(BodyLimit, default=max(BODY_LIMIT, 4 * settings.limits.max_payload_bytes),
                       larger=settings.plates.max_body_bytes, larger_prefix="/plates/open/")
    app.add_middleware(SecurityHeaders)
    # Outermost: a request counts from its first byte in to its last byte out.
    app.add_middleware(InteractiveRequests, gate=gateway.interactive)
    return app
