"""Digital door plates (数字门牌码): the resident's open page and its API, and the staff side
(plate list, rotation, a plate's QR code, who reported a request and the photos).

The resident side needs no login. The plate link's signature names the unit; every attempt
counts against the client address, every accepted request against the plate; refusals are
answered from memory before anything else is read or written.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from api.deps import Admin, GatewayDep, IdPath, StaffOrGrid
from api.personal import client_address
from api.routes.console import _page
from api.routes.ticket_detail import load
from api.schemas.plates import (
    CategoryChoice,
    PlateOpen,
    PlatePublic,
    PlateReporter,
    RatingBody,
    ReopenBody,
    RequestReceipt,
    TrackStep,
    TrackView,
)
from gateway.plate_requests import LimitedError, PlateDesk, TrackingError
from gateway.plates import (
    PlateLink,
    PlatesNotConfiguredError,
    PlateTokenError,
    label,
    label_en,
    link,
)
from gateway.request_photos import PhotoError, clean_photo
from gateway.storage.audit import AccessRecord
from gateway.storage.plates_repo import PlateReads, PlateRow

pages = APIRouter(include_in_schema=False)
resident = APIRouter(prefix="/plates", tags=["door plates (residents)"])
staff = APIRouter(prefix="/plates", tags=["door plates"])

Token = Annotated[str, Path(min_length=8, max_length=200)]
Track = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")]
GONE = ("此门牌码已失效或不存在，请联系社区更换门牌"
        " (this door-plate code is not valid: ask the community office for a new plate)")
EMERGENCY = "紧急情况请直接拨打 110（报警）、119（火警）、120（急救）"



class Desk:
    """The app's plate desk, built on first use (it needs the gateway's workflow)."""

    def __init__(self, gw: Any) -> None:
        self._gw = gw

    @cached_property
    def desk(self) -> PlateDesk:
        """The service (PlatesNotConfiguredError in production without a key)."""
        return PlateDesk(self._gw)


def get_desk(request: Request) -> PlateDesk:
    """The app's plate desk, or 503 when plates are not configured."""
    holder = getattr(request.app.state, "plate_desk", None)
    if holder is None:
        holder = request.app.state.plate_desk = Desk(request.app.state.gateway)
    try:
        return holder.desk
    except PlatesNotConfiguredError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc


DeskDep = Annotated[PlateDesk, Depends(get_desk)]


def _limited(exc: LimitedError) -> HTTPException:
    wait = max(1, math.ceil(exc.retry_after))
    minutes = max(1, math.ceil(wait / 60))
    per = f"{exc.window_s // 60} 分钟" if exc.window_s < 3600 else (
        f"{exc.window_s // 3600} 小时" if exc.window_s < 86_400 else "一天")
    if exc.scope == "plate":
        text = (f"提交过于频繁：本门牌每 {per}最多提交 {exc.most} 条诉求，"
                f"请约 {minutes} 分钟后再试。{EMERGENCY}。"
                f"(Too many requests from this door plate: at most {exc.most} per "
                f"{exc.window_s // 60} min; try again in about {minutes} min.)")
    else:
        text = (f"此网络提交过于频繁，请约 {minutes} 分钟后再试。{EMERGENCY}。"
                f"(Too many attempts from this network; try again in about {minutes} min.)")
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, text, {"Retry-After": str(wait)})


def _open(desk: PlateDesk, token: str) -> PlateLink:
    try:
        return desk.open(token)
    except PlateTokenError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, GONE) from exc


# -- pages -------------------------------------------------------------------------------


@pages.get("/r/{token}")
def plate_page(token: Token) -> FileResponse:
    """The resident's page a plate's QR code opens (phone first, no login)."""
    return _page("request.html")


@pages.get("/t/{track}")
def track_page(track: Track) -> FileResponse:
    """The resident's tracking page (the receipt's link)."""
    return _page("request.html")


# -- resident API --------------------------------------------------------------------------


@resident.get("/open/{token}", response_model=PlateOpen)
def open_plate(token: Token, request: Request, desk: DeskDep, gw: GatewayDep) -> PlateOpen:
    """The unit a plate link opens, and the categories a resident may choose."""
    try:
        desk.check_address(client_address(request))
    except LimitedError as exc:
        raise _limited(exc) from exc
    found = _open(desk, token)
    catalogue = gw.workflow.catalogue
    return PlateOpen(
        code=found.plate.code, label=label(found.plate), label_en=label_en(found.plate),
        categories=[CategoryChoice(key=c, zh=catalogue.get(c).zh, en=catalogue.get(c).en)
                    for c in desk.categories],
        photo_max_bytes=desk.settings.photo_max_bytes,
        photo_max_side_px=desk.settings.photo_max_side_px, emergency=EMERGENCY)


async def _form(request: Request, desk: PlateDesk) -> Any:
    """The multipart form, refused by its declared size before a byte is parsed."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise HTTPException(status.HTTP_411_LENGTH_REQUIRED, "Content-Length required")
    if int(declared) > desk.settings.max_body_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"提交内容太大（最大 {desk.settings.max_body_bytes // 2**20} MB）"
                            " (the request is too large)")
    return await request.form(max_files=1, max_fields=8,
                              max_part_size=64 * 1024)


# Decoding a photo takes memory by its pixels, not its bytes: a 5 KB PNG of 40 megapixels
# needs about 400 MB and a second and a half to re-encode. At most this many are decoded at
# once (the rest wait up to PHOTO_WAIT_S, then 503), so a burst of such files from many
# addresses cannot exhaust the memory the gateway's ingest shares.
PHOTO_DECODES = 2
PHOTO_WAIT_S = 20.0
BUSY = ("服务器正忙，请稍后再提交照片 (the server is busy with other photos: try again in a "
        "moment)")


@asynccontextmanager
async def _decoding(request: Request) -> AsyncIterator[None]:
    """A place among the PHOTO_DECODES photos being decoded, or 503 after PHOTO_WAIT_S."""
    per_loop = getattr(request.app.state, "photo_slots", None)
    if per_loop is None:  # one event loop serves the app; test clients may start others
        per_loop = request.app.state.photo_slots = weakref.WeakKeyDictionary()
    slots = per_loop.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(PHOTO_DECODES))
    try:
        if slots.locked():
            await asyncio.wait_for(slots.acquire(), PHOTO_WAIT_S)
        else:
            await slots.acquire()  # free: taken at once
    except TimeoutError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, BUSY,
                            {"Retry-After": "10"}) from exc
    try:
        yield
    finally:
        slots.release()


def _plate_lock(request: Request, code: str) -> asyncio.Lock:
    """The lock serialising one plate's submissions (kept while anyone holds or awaits it)."""
    locks = getattr(request.app.state, "plate_locks", None)
    if locks is None:
        locks = request.app.state.plate_locks = weakref.WeakValueDictionary()
    lock = locks.get(code)
    if lock is None:
        lock = locks[code] = asyncio.Lock()
    return lock


def _text(form: Any, name: str, most: int) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} must be text")
    if len(value) > most:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{name}: at most {most} characters")
    return value


@resident.post("/open/{token}/requests", response_model=RequestReceipt,
               status_code=status.HTTP_201_CREATED,
               responses={429: {"description": "Too many requests from this plate or address"},
                          413: {"description": "Larger than plates.max_body_bytes"}})
async def submit(token: Token, request: Request, response: Response, desk: DeskDep,
                 gw: GatewayDep) -> RequestReceipt:
    """Submit a request from a plate (multipart form: `category`, `text`, optional `phone`,
    optional `photo`, optional `submission_id` — a retried submission id gives the same
    receipt). Limits: per address (every attempt), per plate (accepted requests)."""
    from starlette.concurrency import run_in_threadpool

    address = client_address(request)
    try:
        desk.check_address(address)
        found = _open(desk, token)
        desk.check_plate(found.plate.code)
    except LimitedError as exc:
        raise _limited(exc) from exc
    form = await _form(request, desk)
    category = _text(form, "category", 40)
    text = _text(form, "text", 1000).strip()
    if not text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "请描述您的诉求 (describe your request)")
    phone = _text(form, "phone", 24)
    submission_id = _text(form, "submission_id", 64) or None
    upload = form.get("photo")
    photo = None
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(desk.settings.photo_max_bytes + 1)
        async with _decoding(request):
            try:
                photo = await run_in_threadpool(
                    clean_photo, raw, max_bytes=desk.settings.photo_max_bytes,
                    max_side=desk.settings.photo_max_side_px)
            except PhotoError as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    # The plate's limit is checked again, and counted, with no other submission of the same
    # plate in between: parallel submissions cannot all pass the check made before the body
    # was read (each would then open a ticket).
    async with _plate_lock(request, found.plate.code):
        try:
            desk.check_plate(found.plate.code)
            receipt = await run_in_threadpool(
                lambda: desk.submit(found, category=category, text=text, phone=phone,
                                    photo=photo, submission_id=submission_id,
                                    client_addr=address))
        except LimitedError as exc:
            raise _limited(exc) from exc
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if not receipt.created:
        response.status_code = status.HTTP_200_OK
    return RequestReceipt(ticket_code=receipt.ticket.code, track=receipt.track_token,
                          track_url=f"/t/{receipt.track_token}", created=receipt.created)


def _found(desk: PlateDesk, track: str, request: Request) -> Any:
    try:
        desk.check_address(client_address(request))
        return desk.find(track)
    except LimitedError as exc:
        raise _limited(exc) from exc
    except TrackingError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            "未找到该诉求，或链接已过期 (no such request, or the link expired)"
                            ) from exc


@resident.get("/track/{track}", response_model=TrackView)
def follow(track: Track, request: Request, desk: DeskDep, gw: GatewayDep) -> TrackView:
    """The request's steps (收集→派发→处置→反馈→办结), the reported result and the rating."""
    view = desk.view(_found(desk, track, request))
    category = gw.workflow.catalogue.get(view["category"])
    return TrackView(
        code=view["code"], plate=view["plate"], category=category.key,
        category_zh=category.zh, category_en=category.en, text=view["description"],
        state=view["state"], step=view["step"],
        steps=[TrackStep(**s) for s in view["steps"]], result=view["result"],
        rating=view["rating"], can_rate=view["can_rate"], photos=view["photos"],
        created_at=view["created_at"], updated_at=view["updated_at"])


def _not_waiting() -> None:
    raise ValueError("nothing reported to rate yet")


def _workflow(fn: Any) -> None:
    try:
        fn()
    except ValueError as exc:  # TransitionError: not (or no longer) in a state that allows it
        raise HTTPException(status.HTTP_409_CONFLICT, "该诉求当前不能进行此操作"
                            " (the request is not waiting for this)") from exc


@resident.post("/track/{track}/rating", response_model=TrackView)
def rate(track: Track, body: RatingBody, request: Request, desk: DeskDep,
         gw: GatewayDep) -> TrackView:
    """Rate the result 1–5: the request is closed (办结). Only a result the community
    reported can be rated (state `feedback`): a request handed to the 12345 channel is
    closed by the channel's word, not the resident's."""
    found = _found(desk, track, request)
    if not desk.view(found)["can_rate"]:
        _workflow(_not_waiting)
    _workflow(lambda: desk.rate(found, body.rating, body.note))
    return follow(track, request, desk, gw)


@resident.post("/track/{track}/reopen", response_model=TrackView)
def reopen(track: Track, body: ReopenBody, request: Request, desk: DeskDep,
           gw: GatewayDep) -> TrackView:
    """Not solved: the request goes back to the worker with the resident's words."""
    found = _found(desk, track, request)
    _workflow(lambda: desk.reopen(found, body.note))
    return follow(track, request, desk, gw)


# -- staff ---------------------------------------------------------------------------------


def _plate_public(gw: Any, desk: PlateDesk | None, p: PlateRow) -> PlatePublic:
    url = (link(gw.settings, desk.tokens, p.code, p.version, p.secret)
           if desk is not None and p.version is not None and p.secret else None)
    return PlatePublic(code=p.code, label=label(p), site=p.site, building=p.building,
                       unit=p.unit, room=p.room, grid=p.grid, version=p.version,
                       issued_at=p.issued_at, issued_by=p.issued_by, url=url)


@staff.get("", response_model=list[PlatePublic])
def list_plates(gw: GatewayDep, user: Admin, desk: DeskDep, site: str | None = None,
                building: str | None = None, search: str = "") -> list[PlatePublic]:
    """Door plates with their link version and URL (admins: the links are credentials)."""
    rows = PlateReads(gw.store).plates(site=site, building=building, search=search[:64],
                                       limit=2000)
    return [_plate_public(gw, desk, p) for p in rows]


@staff.post("/{code}/rotate", response_model=PlatePublic)
def rotate(code: str, request: Request, gw: GatewayDep, user: Admin,
           desk: DeskDep) -> PlatePublic:
    """A new link for one plate: the printed one stops working (reprint it)."""
    if PlateReads(gw.store).plate(code) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such door plate")
    desk.rotate(code, user.username, user.role, client_address(request))
    plate = PlateReads(gw.store).plate(code)
    assert plate is not None
    return _plate_public(gw, desk, plate)


@staff.get("/{code}/qr.png", response_class=Response)
def plate_qr(code: str, gw: GatewayDep, user: Admin, desk: DeskDep) -> Response:
    """The plate's QR code as a PNG (issues the plate's first key if it had none)."""
    from gateway.plates_export import qr_png

    if PlateReads(gw.store).plate(code) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such door plate")
    version, secret = desk.issue([code], user.username)[code]
    url = link(gw.settings, desk.tokens, code, version, secret)
    return Response(qr_png(url), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


def _reporter_ticket(gw: Any, user: Any, ticket_id: int) -> Any:
    ticket = load(gw, user, ticket_id)  # 404 for what this user may not see
    found = PlateReads(gw.store).request_of_ticket(ticket_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not a door-plate request")
    return ticket, found


@staff.get("/requests/{ticket_id}", response_model=PlateReporter)
def reporter(ticket_id: IdPath, request: Request, gw: GatewayDep,
             user: StaffOrGrid) -> PlateReporter:
    """The call-back phone and photos of a plate request; reading a phone is audited."""
    _, found = _reporter_ticket(gw, user, ticket_id)
    reads = PlateReads(gw.store)
    plate = reads.plate(found.code)
    if found.phone:
        gw.audit.record_access(AccessRecord(
            at=gw.clock.time(), actor=user.username, role=user.role, action="reporter_phone",
            allowed=True, detail=f"ticket {ticket_id} plate {found.code}",
            client_addr=client_address(request)))
    return PlateReporter(ticket_id=ticket_id, plate=found.code,
                         label=label(plate) if plate else found.code, phone=found.phone,
                         photos=reads.photo_ids(ticket_id), created_at=found.created_at)


@staff.get("/photos/{photo_id}", response_class=Response)
def photo(photo_id: IdPath, gw: GatewayDep, user: StaffOrGrid) -> Response:
    """A request's photo (already re-encoded, without metadata)."""
    found = PlateReads(gw.store).photo(photo_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such photo")
    _reporter_ticket(gw, user, found.ticket_id)
    return Response(found.data, media_type=found.media_type,
                    headers={"Cache-Control": "private, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})
