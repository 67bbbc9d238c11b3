"""The web app: pages for residents (mobile-first, Simplified Chinese, large type) and the
open JSON API (开放接口, OpenAPI at /api/docs), over the Directory and a requester."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import segno
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from notifier.rules import mask_phone, normalise_phone
from notifier.service import Notifier
from queue_server.config import Hall
from queue_server.engine import booking

from .feed import HallUnreachable
from .model import (
    CODE_RE,
    HALL_RE,
    SERVICE_RE,
    Directory,
    HallView,
    day_text,
    slot_text,
    ticket_lines,
)

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

UNREACHABLE = {"code": "HALL_UNREACHABLE",
               "message": "暂时联系不上该服务大厅（网络中断），请稍后再试。"}
BAD_PHONE = "手机号码有误，请输入11位手机号码，例如 13800138000；不需要短信提醒可留空。"
FILING_BY_NUMBER = {
    "code": "USE_RECEIPT_CODE",
    "message": "为保护您的信息，网上只能凭申报回执上的二维码查询进度，请扫描回执二维码。"}


class Requester(Protocol):
    def request(self, hall: str, op: str, payload: dict[str, Any], *,
                timeout: float = ...) -> Awaitable[dict[str, Any]]: ...


class Hub:
    """Fan-out of "hall X changed" from the MQTT thread to the SSE streams (and to
    listeners on the event loop, such as the SMS notifier)."""

    ALL = "*"  # streams that want every hall (open API consumers)

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        # Per hall, so a change wakes only the streams showing that hall: with 40,000
        # halls changing ~1,300 times a second, waking every stream would not scale.
        self.queues: dict[str, set[asyncio.Queue[str]]] = {}
        self.listeners: list[Callable[[str], None]] = []

    def subscribe(self, halls: set[str] | None, q: asyncio.Queue[str]) -> None:
        for h in halls if halls is not None else {self.ALL}:
            self.queues.setdefault(h, set()).add(q)

    def unsubscribe(self, halls: set[str] | None, q: asyncio.Queue[str]) -> None:
        for h in halls if halls is not None else {self.ALL}:
            qs = self.queues.get(h)
            if qs is not None:
                qs.discard(q)
                if not qs:
                    del self.queues[h]

    def changed(self, hall: str) -> None:  # any thread
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, hall)

    def _fan_out(self, hall: str) -> None:
        for listener in self.listeners:
            listener(hall)
        for key in (hall, self.ALL):
            for q in self.queues.get(key, ()):
                if q.qsize() < 1000:  # a stalled reader does not hold memory
                    q.put_nowait(hall)


@dataclass
class Portal:
    directory: Directory
    requester: Requester
    halls: dict[str, Hall] = field(default_factory=dict)  # configs, for booking slots
    hub: Hub = field(default_factory=Hub)
    sse_interval_s: float = 1.0
    request_timeout_s: float = 10.0
    notifier: Notifier | None = None  # SMS notices; None: the form is not offered


# --------------------------------------------------------------------------- API models


class ServiceOut(BaseModel):
    service: str
    name: str
    waiting: int
    est_wait_s: int
    est_wait_text: str
    open: bool


class CounterOut(BaseModel):
    counter: str
    name: str
    status: str
    status_text: str
    serving: str | None


class HallOut(BaseModel):
    hall: str
    name: str
    at: str | None = Field(description="time of the hall's snapshot (hall's UTC offset)")
    online: bool = Field(description="false while the hall's link to the province is down")
    services: list[ServiceOut]
    counters: list[CounterOut]


class HallList(BaseModel):
    total: int
    offset: int
    halls: list[HallOut]


class TicketOut(BaseModel):
    number: str
    service: str
    service_name: str
    status: str
    ahead: int
    est_wait_s: int
    counter_name: str | None = None
    headline: str
    detail: str
    state: str = Field(description="waiting, called, done or gone (for styling)")


class SlotOut(BaseModel):
    start: str
    end: str
    text: str


class BookIn(BaseModel):
    service: str = Field(pattern=SERVICE_RE.pattern)
    slot_start: datetime
    slot_end: datetime
    id_number: str | None = Field(default=None, description="18-character resident ID; "
                                  "kept by the hall only as a keyed hash (one booking "
                                  "per person per day)")


class BookOut(BaseModel):
    code: str
    hall: str
    service: str
    slot_start: str
    slot_end: str


class MaterialOut(BaseModel):
    key: str
    name: str
    original: bool | None = None
    copies: int | None = None


class FilingOut(BaseModel):
    number: str
    status: str
    status_name: str
    item_name: str
    service_name: str
    submitted_at: str | None
    updated_at: str | None
    missing: list[str] = Field(description="what to bring (补正), when status is needs_more")
    reason: str | None = Field(description="why, when rejected (不予受理)")
    promised_limit_days: int | None = None
    materials_to_bring: list[MaterialOut] = []
    ticket: str | None = None


def filing_out(f: dict[str, Any]) -> dict[str, Any]:
    keys = FilingOut.model_fields
    return {k: f.get(k) for k in keys if k in f} | {
        "missing": list(f.get("missing") or []),
        "materials_to_bring": list(f.get("materials_to_bring") or [])}


class ErrorOut(BaseModel):
    code: str
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}}


def api_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def refusal_status(code: str) -> int:
    if code.startswith("UNKNOWN"):
        return 404
    if code in ("BAD_REQUEST", "INVALID_ID_NUMBER", "BAD_SLOT"):
        return 422
    return 409


# --------------------------------------------------------------------------- helpers


def ticket_out(t: dict[str, Any]) -> dict[str, Any]:
    lines = ticket_lines(t)
    return {"number": t.get("number"), "service": t.get("service"),
            "service_name": t.get("service_name"), "status": t.get("status"),
            "ahead": t.get("ahead", 0), "est_wait_s": t.get("est_wait_s", 0),
            "counter_name": t.get("counter_name"), "headline": lines.headline,
            "detail": lines.detail, "state": lines.state}


def booking_qr(hall: str, start: datetime, code: str) -> str:
    """What the booking QR holds: the form kiosk.machine.booking_code reads (a kiosk can
    tell a booking for another hall or day from it)."""
    return f"QMS-APPT:{hall}:{start:%Y%m%d}:{code}"


def qr_svg(text: str) -> str:
    # No fixed size (a viewBox instead), so the page scales it to the phone's width.
    return segno.make(text, error="m").svg_inline(scale=6, border=2, omitsize=True)


def slots_for(hall: Hall, service: str, now: datetime) -> list[dict[str, Any]]:
    svc = hall.service(service)
    if svc is None:
        return []
    p = booking.policy(hall)
    now = now.astimezone(hall.tz)
    out = []
    for day in booking.bookable_days(svc, p, now.date()):
        for start, end in booking.slots_on(svc, p, day, hall.tz):
            if start > now:
                out.append({"start": start.isoformat(timespec="minutes"),
                            "end": end.isoformat(timespec="minutes"),
                            "text": slot_text(start, end), "day": day_text(day),
                            "time": f"{start:%H:%M}-{end:%H:%M}"})
    return out


# --------------------------------------------------------------------------- the app


def create_app(portal: Portal) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        portal.hub.loop = asyncio.get_running_loop()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="政务服务大厅 开放接口",
        version="1",
        description="各服务大厅实时等候人数、预计等候时间、号票查询与预约。"
        " Live waiting figures, ticket lookup and booking for every hall on the provincial "
        "broker. No personal data is ever returned.",
        docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json",
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def hall_or_404(hall: str) -> HallView:
        view = portal.directory.get(hall) if HALL_RE.match(hall) else None
        if view is None or view.snapshot is None:
            raise HTTPException(404, "unknown hall")
        return view

    async def ask(hall: str, op: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return await portal.requester.request(hall, op, payload,
                                                  timeout=portal.request_timeout_s)
        except HallUnreachable:
            return None

    # ------------------------------------------------------------------ SMS notices

    checking: set[str] = set()
    again: set[str] = set()  # halls that changed while being checked

    async def lookup(hall: str, code: str) -> dict[str, Any] | None:
        return await ask(hall, "lookup", {"code": code})

    async def by_appointment(hall: str, code: str) -> dict[str, Any] | None:
        return await ask(hall, "lookup", {"appointment": code})

    async def check_hall(hall: str) -> None:
        notifier = portal.notifier
        assert notifier is not None
        try:
            notifier.expire(datetime.now().astimezone())
            view = portal.directory.get(hall)
            await notifier.check_hall(hall, view.name if view else hall, lookup,
                                      by_appointment)
        except Exception:
            log.exception("sms check of hall %s failed", hall)
        finally:
            checking.discard(hall)
            if hall in again:
                again.discard(hall)
                on_hall_changed(hall)

    def on_hall_changed(hall: str) -> None:
        # One check per hall at a time. A change during a check runs one more check
        # after it: dropped, the last change before a quiet spell (the call itself)
        # would wait for the hall's next change to be texted.
        notifier = portal.notifier
        if notifier is None or not notifier.watches(hall):
            return
        if hall in checking:
            again.add(hall)
            return
        checking.add(hall)
        asyncio.get_running_loop().create_task(check_hall(hall))

    portal.hub.listeners.append(on_hall_changed)
    app.state.check_hall = check_hall

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request, q: str = "", offset: int = Query(0, ge=0)) -> Any:
        halls, total = portal.directory.page(q, offset, 30)
        return page(request, "index.html", halls=[h.summary() for h in halls], total=total,
                    q=q, offset=offset, limit=30)

    @app.get("/h/{hall}", response_class=HTMLResponse, include_in_schema=False)
    async def hall_page(request: Request, hall: str) -> Any:
        view = portal.directory.get(hall) if HALL_RE.match(hall) else None
        if view is None or view.snapshot is None:
            return page(request, "missing.html", 404, title="没有这个服务大厅",
                        text="请检查网址，或回到首页查找。")
        return page(request, "hall.html", h=view.summary(),
                    can_book=hall in portal.halls)

    async def ticket_page(request: Request, hall: str, code: str) -> Any:
        if not HALL_RE.match(hall) or not CODE_RE.match(code):
            return page(request, "missing.html", 404, title="号票码有误",
                        text="请重新扫描号票上的二维码。")
        reply = await ask(hall, "lookup", {"code": code})
        view = portal.directory.get(hall)
        name = view.name if view else hall
        if reply is None:
            return page(request, "missing.html", 503, title="暂时查不到",
                        text=UNREACHABLE["message"], refresh=True)
        if not reply.get("ok"):
            return page(request, "missing.html", 404, title="没有找到这张号票",
                        text="号票只能在取号当天查询。请核对二维码，或到导服台咨询。")
        return page(request, "ticket.html", t=ticket_out(reply["ticket"]), hall=hall,
                    hall_name=name, code=code, sms=portal.notifier is not None,
                    ahead_n=portal.notifier.config.ahead if portal.notifier else 0)

    @app.get("/t/{hall}/{code}", response_class=HTMLResponse, include_in_schema=False)
    async def ticket_in_hall(request: Request, hall: str, code: str) -> Any:
        return await ticket_page(request, hall, code)

    @app.post("/t/{hall}/{code}/sms", response_class=HTMLResponse, include_in_schema=False)
    async def ticket_sms(request: Request, hall: str, code: str,
                         phone: str = Form("")) -> Any:
        if portal.notifier is None or not HALL_RE.match(hall) or not CODE_RE.match(code):
            return page(request, "missing.html", 404, title="短信提醒未开通",
                        text="本大厅暂未开通短信提醒，请留意本页和大厅叫号。")
        number = normalise_phone(phone)
        if number is None:
            return page(request, "missing.html", 422, title="手机号码有误",
                        text="请输入11位手机号码，例如 13800138000。")
        reply = await ask(hall, "lookup", {"code": code})
        if reply is None or not reply.get("ok"):
            return page(request, "missing.html", 404, title="没有找到这张号票",
                        text="只能为当天正在等候的号票登记短信提醒。")
        portal.notifier.watch(hall, code, number, datetime.now().astimezone())
        view = portal.directory.get(hall)
        await portal.notifier.check_hall(hall, view.name if view else hall, lookup)
        return page(request, "missing.html", 200, title="短信提醒已登记",
                    text=f"前面还剩 {portal.notifier.config.ahead} 人时和叫到您时，各发一条短信到 "
                    f"{number[:3]}****{number[-4:]}。号票办结后即删除您的号码。")

    @app.get("/t/{code}", response_class=HTMLResponse, include_in_schema=False)
    async def ticket_by_code(request: Request, code: str, hall: str = "") -> Any:
        # The code alone does not say which hall issued it; halls print
        # <portal>/t/<hall>/<code>, and an older QR with ?hall= works too.
        if hall:
            return await ticket_page(request, hall, code)
        return page(request, "pick_hall.html", code=code,
                    halls=[portal.directory.halls[h].summary()
                           for h in portal.directory.names()[:200]])

    @app.get("/book", response_class=HTMLResponse, include_in_schema=False)
    async def book_form(request: Request, hall: str = "", service: str = "") -> Any:
        h = portal.halls.get(hall)
        slots = slots_for(h, service, datetime.now(h.tz)) if h and service else []
        days: dict[str, list[dict[str, Any]]] = {}
        for s in slots:
            days.setdefault(s["day"], []).append(s)
        return page(request, "book.html", halls=portal.halls, hall=h, service=service,
                    days=days, error=None, **sms_form())

    def sms_form(phone: str = "") -> dict[str, Any]:
        n = portal.notifier
        return {"sms": n is not None, "ahead_n": n.config.ahead if n else 0, "phone": phone}

    @app.post("/book", response_class=HTMLResponse, include_in_schema=False)
    async def book_submit(request: Request, hall: str = Form(...), service: str = Form(...),
                          slot: str = Form(...), id_number: str = Form(""),
                          phone: str = Form("")) -> Any:
        h = portal.halls.get(hall)
        if h is None or not SERVICE_RE.match(service):
            return page(request, "missing.html", 404, title="没有这个服务大厅",
                        text="请回到预约页重新选择。")
        number = normalise_phone(phone) if phone.strip() and portal.notifier else None
        if phone.strip() and portal.notifier and number is None:
            # Checked before booking: a typo must not cost the resident a second booking.
            error: str | None = BAD_PHONE
            reply: dict[str, Any] | None = None
        else:
            error, reply = None, {}
        start_text, _, end_text = slot.partition("/")
        payload: dict[str, Any] = {"service": service, "slot_start": start_text,
                                   "slot_end": end_text}
        if id_number.strip():
            payload["id_number"] = id_number.strip().upper()
        if error is None:
            reply = await ask(hall, "book", payload)
            error = UNREACHABLE["message"] if reply is None else (
                None if reply.get("ok") else reply["error"]["message"])
        if error is not None:
            slots = slots_for(h, service, datetime.now(h.tz))
            days: dict[str, list[dict[str, Any]]] = {}
            for s in slots:
                days.setdefault(s["day"], []).append(s)
            return page(request, "book.html", 409, halls=portal.halls, hall=h,
                        service=service, days=days, error=error, **sms_form(phone))
        assert reply is not None
        start = datetime.fromisoformat(start_text)
        end = datetime.fromisoformat(end_text)
        masked = None
        if number is not None and portal.notifier is not None:
            # The number stays in the portal's notifier (the hall never gets it); it
            # follows the booking to its ticket once checked in at the kiosk.
            portal.notifier.watch_booking(hall, reply["code"], number, end)
            masked = mask_phone(number)
        svc = h.service(service)
        cancel_by = start - booking.policy(h).cancel_before
        return page(request, "booked.html", code=reply["code"],
                    qr=qr_svg(booking_qr(hall, start, reply["code"])),
                    hall=h, service_name=svc.name if svc else service,
                    slot=slot_text(start, end), cancel_by=f"{cancel_by:%m月%d日 %H:%M}",
                    sms_phone=masked, ahead_n=portal.notifier.config.ahead
                    if portal.notifier else 0)

    @app.post("/book/cancel", response_class=HTMLResponse, include_in_schema=False)
    async def cancel_submit(request: Request, hall: str = Form(...),
                            code: str = Form(...)) -> Any:
        if not HALL_RE.match(hall) or not CODE_RE.match(code.strip()):
            return page(request, "missing.html", 404, title="预约码有误", text="请核对预约码。")
        reply = await ask(hall, "cancel", {"code": code.strip()})
        if reply is None:
            return page(request, "missing.html", 503, title="暂时无法取消",
                        text=UNREACHABLE["message"])
        if not reply.get("ok"):
            return page(request, "missing.html", 409, title="不能取消",
                        text=reply["error"]["message"])
        if portal.notifier is not None:
            portal.notifier.forget(hall, code.strip())  # its phone number, if one was given
        return page(request, "missing.html", 200, title="预约已取消",
                    text="名额已释放，欢迎再次预约。")

    @app.get("/filing/{hall}/{code}", response_class=HTMLResponse, include_in_schema=False)
    async def filing_page(request: Request, hall: str, code: str) -> Any:
        if not HALL_RE.match(hall) or not CODE_RE.match(code):
            return page(request, "missing.html", 404, title="回执二维码有误",
                        text="请重新扫描申报回执上的二维码。")
        reply = await ask(hall, "filing_status", {"code": code})
        if reply is None:
            return page(request, "missing.html", 503, title="暂时查不到",
                        text=UNREACHABLE["message"], refresh=True)
        if not reply.get("ok"):
            return page(request, "missing.html", 404, title="没有找到这份申报",
                        text=reply["error"]["message"])
        view = portal.directory.get(hall)
        return page(request, "filing.html", f=filing_out(reply["filing"]),
                    hall_name=view.name if view else hall)

    @app.get("/filing/{no}", response_class=HTMLResponse, include_in_schema=False)
    async def filing_by_number(request: Request, no: str) -> Any:
        # A filing number (F20261123001) is easy to guess; the hall answers the portal
        # only for the unguessable code in the receipt's QR.
        return page(request, "missing.html", 404, title="请扫描回执上的二维码",
                    text=FILING_BY_NUMBER["message"])

    # ------------------------------------------------------------------ live updates

    @app.get("/events", include_in_schema=False)
    async def events(request: Request, halls: str = "") -> StreamingResponse:
        wanted = {h for h in halls.split(",")[:200] if HALL_RE.match(h)} if halls else None
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def stream() -> AsyncIterator[bytes]:
            portal.hub.subscribe(wanted, queue)
            try:
                yield b"retry: 3000\n\n"
                while True:
                    try:
                        first = await asyncio.wait_for(queue.get(), 15)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    changed = {first}
                    # Coalesce: one message per interval however busy the halls are.
                    await asyncio.sleep(portal.sse_interval_s)
                    while not queue.empty():
                        changed.add(queue.get_nowait())
                    for hall in sorted(changed):
                        view = portal.directory.get(hall)
                        if view is None:
                            continue
                        data = json.dumps(view.summary(), ensure_ascii=False)
                        yield f"event: hall\ndata: {data}\n\n".encode()
                    if await request.is_disconnected():
                        break
            finally:
                portal.hub.unsubscribe(wanted, queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    # ------------------------------------------------------------------ open API

    @app.get("/api/v1/halls", response_model=HallList, tags=["halls"],
             summary="服务大厅列表 / halls with live waiting figures")
    async def api_halls(q: str = "", offset: int = Query(0, ge=0),
                        limit: int = Query(50, ge=1, le=500)) -> Any:
        halls, total = portal.directory.page(q, offset, limit)
        return {"total": total, "offset": offset, "halls": [h.summary() for h in halls]}

    @app.get("/api/v1/halls/{hall}", response_model=HallOut, responses=ERRORS,
             tags=["halls"], summary="一个服务大厅 / one hall: services and windows")
    async def api_hall(hall: str) -> Any:
        try:
            return hall_or_404(hall).summary()
        except HTTPException:
            return api_error(404, "UNKNOWN_HALL", "没有这个服务大厅。")

    @app.get("/api/v1/halls/{hall}/tickets/{code}", response_model=TicketOut,
             responses=ERRORS, tags=["tickets"],
             summary="号票状态 / a ticket's status by the code in its QR")
    async def api_ticket(hall: str, code: str) -> Any:
        if not HALL_RE.match(hall) or not CODE_RE.match(code):
            return api_error(404, "UNKNOWN_TICKET", "没有找到这张号票。")
        reply = await ask(hall, "lookup", {"code": code})
        if reply is None:
            return api_error(503, **UNREACHABLE)
        if not reply.get("ok"):
            return api_error(refusal_status(reply["error"]["code"]), **reply["error"])
        return ticket_out(reply["ticket"])

    @app.get("/api/v1/halls/{hall}/services/{service}/slots", response_model=list[SlotOut],
             responses=ERRORS, tags=["appointments"],
             summary="可预约时段 / bookable slots (quota is checked when booking)")
    async def api_slots(hall: str, service: str) -> Any:
        h = portal.halls.get(hall)
        if h is None or h.service(service) is None:
            return api_error(404, "UNKNOWN_SERVICE", "该大厅没有这项业务，或暂不支持网上预约。")
        return [{k: s[k] for k in ("start", "end", "text")}
                for s in slots_for(h, service, datetime.now(h.tz))]

    @app.post("/api/v1/halls/{hall}/appointments", response_model=BookOut, status_code=201,
              responses=ERRORS, tags=["appointments"],
              summary="预约 / book a slot; the code goes into the booking QR")
    async def api_book(hall: str, body: BookIn) -> Any:
        if not HALL_RE.match(hall):
            return api_error(404, "UNKNOWN_HALL", "没有这个服务大厅。")
        payload: dict[str, Any] = {"service": body.service,
                                   "slot_start": body.slot_start.isoformat(),
                                   "slot_end": body.slot_end.isoformat()}
        if body.id_number:
            payload["id_number"] = body.id_number
        reply = await ask(hall, "book", payload)
        if reply is None:
            return api_error(503, **UNREACHABLE)
        if not reply.get("ok"):
            return api_error(refusal_status(reply["error"]["code"]), **reply["error"])
        return {"code": reply["code"], "hall": hall, "service": body.service,
                "slot_start": payload["slot_start"], "slot_end": payload["slot_end"]}

    @app.delete("/api/v1/halls/{hall}/appointments/{code}", status_code=204,
                response_model=None, response_class=Response,
                responses=ERRORS, tags=["appointments"], summary="取消预约 / cancel")
    async def api_cancel(hall: str, code: str) -> Any:
        if not HALL_RE.match(hall) or not CODE_RE.match(code):
            return api_error(404, "UNKNOWN_APPOINTMENT", "没有找到这条预约。")
        reply = await ask(hall, "cancel", {"code": code})
        if reply is None:
            return api_error(503, **UNREACHABLE)
        if not reply.get("ok"):
            return api_error(refusal_status(reply["error"]["code"]), **reply["error"])
        return Response(status_code=204)

    @app.get("/api/v1/halls/{hall}/filings/{code}", response_model=FilingOut,
             responses=ERRORS, tags=["filings"],
             summary="申报进度 / a filing's status by the code in its receipt QR")
    async def api_filing(hall: str, code: str) -> Any:
        if not HALL_RE.match(hall) or not CODE_RE.match(code):
            return api_error(404, "UNKNOWN_FILING", "没有找到这份申报。")
        reply = await ask(hall, "filing_status", {"code": code})
        if reply is None:
            return api_error(503, **UNREACHABLE)
        if not reply.get("ok"):
            return api_error(refusal_status(reply["error"]["code"]), **reply["error"])
        return filing_out(reply["filing"])

    @app.get("/api/v1/filings/{no}", responses={400: {"model": ErrorOut}}, tags=["filings"],
             summary="by filing number: refused, use the receipt's code")
    async def api_filing_by_number(no: str) -> Any:
        return api_error(400, **FILING_BY_NUMBER)

    return app

