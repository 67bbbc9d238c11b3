"""The kiosk's screens as a state machine with no Qt and no I/O (photobooth style).

One state class per screen. Everything that happens arrives as an event (a touch, a
card, a scan, a reply, a printer result, a one-second `Tick`); `Kiosk.handle(event)`
moves to the next screen and returns effects (send a request, print a ticket, call
staff) for the Qt side to carry out. Timeouts are Ticks, so a page that times out
and the personal data it clears are tested without Qt.

Other flows (self-service filing, the 办事指南) add their own screens: subclass
`Screen`, and put an entry on the home page with `register_entry`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------ events


@dataclass(frozen=True)
class Tick:
    seconds: float = 1.0


@dataclass(frozen=True)
class Touch:
    action: str  # "service", "extend", "home", "elder", "assist", "back", "key", ...
    arg: str = ""


@dataclass(frozen=True)
class CardInfo:
    """What the kiosk keeps of an ID card, in memory only, until the page ends."""

    id_number: str
    name: str
    age: int
    # The rest of the card, for the filing form (read-only fields); "" when not read.
    gender: str = ""
    birth: str = ""  # YYYY-MM-DD
    address: str = ""
    nation: str = ""

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def __repr__(self) -> str:  # never put an ID number in a log line
        return f"CardInfo(name={self.masked_name!r}, age={self.age})"


@dataclass(frozen=True)
class CardRead:
    card: CardInfo


@dataclass(frozen=True)
class Scanned:
    data: str


@dataclass(frozen=True)
class Replied:
    request_id: str
    reply: dict[str, Any]
    op: str = ""  # the request's op, when the controller knows it (late answers)


@dataclass(frozen=True)
class Printed:
    print_id: str
    ok: bool
    problem: str = ""  # "" | "paper_out" | "offline" | "not_responding" | "error"
    paper_low: bool = False


@dataclass(frozen=True)
class LinkChanged:
    up: bool  # broker connected and server online


@dataclass(frozen=True)
class DeviceChanged:
    device: str  # "idcard" | "scanner" | "camera" | "printer"
    ok: bool
    message: str = ""


Event = Tick | Touch | CardRead | Scanned | Replied | Printed | LinkChanged | DeviceChanged

# ------------------------------------------------------------------------ effects


@dataclass(frozen=True)
class Send:
    request_id: str
    op: str
    payload: dict[str, Any]
    durable: bool  # kept in the outbox until answered (issue, checkin)

    def __repr__(self) -> str:
        shown = {k: ("***" if k == "id_number" else v) for k, v in self.payload.items()}
        return f"Send({self.request_id!r}, {self.op!r}, {shown!r})"


@dataclass(frozen=True)
class PrintTicket:
    print_id: str
    ticket: dict[str, Any]


@dataclass(frozen=True)
class CallStaff:
    requested: bool


Effect = Send | PrintTicket | CallStaff

# ------------------------------------------------------------------------ context


@dataclass(frozen=True)
class ServiceInfo:
    """One service as the home page shows it, from its retained state topic."""

    code: str
    name: str
    waiting: int = 0
    est_wait_s: int = 0
    open: bool = True
    hours: str = ""

    @property
    def est_minutes(self) -> int:
        return (self.est_wait_s + 59) // 60


@dataclass
class Settings:
    page_timeout_s: int = 60
    elder_page_timeout_s: int = 120
    elder_age: int = 70


@dataclass
class Context:
    """What every screen may read; `card` is the only personal data, cleared on leaving."""

    settings: Settings
    new_id: Callable[[], str]
    services: dict[str, ServiceInfo] = field(default_factory=dict)
    elder: bool = False
    card: CardInfo | None = None
    online: bool = True
    devices: dict[str, tuple[bool, str]] = field(default_factory=dict)
    remaining_s: float = 0.0
    effects: list[Effect] = field(default_factory=list)
    hall_id: str = ""  # for addresses the kiosk builds (a filing receipt's QR)
    cache: dict[str, Any] = field(default_factory=dict)  # flows' non-personal data (guides)

    @property
    def page_timeout_s(self) -> int:
        s = self.settings
        return s.elder_page_timeout_s if self.elder else s.page_timeout_s

    def device_ok(self, name: str) -> bool:
        return self.devices.get(name, (True, ""))[0]

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def clear_personal(self) -> None:
        self.card = None


# ------------------------------------------------------------------------ screens


class Screen:
    """A page. `handle` returns the next screen (self to stay, None if not handled)."""

    timed = True  # shows a countdown and returns home when it runs out
    takes_card = False  # True: a card read here goes to the screen, not to ChooseService

    def left(self, ctx: Context) -> None:
        """The kiosk went home from this page: forget what it held (filing drafts)."""

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        return None


@dataclass(frozen=True)
class Home(Screen):
    timed = False

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Touch):
            if event.action == "service":
                return issue(ctx, event.arg, card=None)
            entry = ENTRIES.get(event.action)
            if entry is not None:
                return entry.start(ctx)
        if isinstance(event, Scanned):
            return scanned_at_home(ctx, event.data)
        return None


@dataclass(frozen=True)
class ChooseService(Screen):
    """An ID card was read: the resident picks the service for their ticket."""

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Touch) and event.action == "service":
            return issue(ctx, event.arg, card=ctx.card)
        return None


@dataclass(frozen=True)
class Busy(Screen):
    """A request is on its way; `offline` once it went unanswered (it stays in the outbox
    and is sent again, so the reply may still come while the resident waits)."""

    request_id: str
    op: str
    text: str
    offline: bool = False
    service: str = ""  # the service code of an issue

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Replied) and event.request_id == self.request_id:
            return answered(self, event.reply, ctx)
        if isinstance(event, (CardRead, Scanned)):
            return self  # one intent at a time: a card or scan now would start a second
        return None


@dataclass(frozen=True)
class TicketShown(Screen):
    """A ticket: printing, printed, or (printer trouble) shown large with its QR."""

    ticket: dict[str, Any]
    print_id: str
    status: str = "printing"  # "printing" | "printed" | "failed"
    problem: str = ""
    reprint: bool = False
    late: bool = False  # answered after the resident had left (outbox), printed now

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Printed) and event.print_id == self.print_id:
            if event.ok:
                return replace(self, status="printed")
            return replace(self, status="failed", problem=event.problem)
        if isinstance(event, Touch) and event.action == "done":
            return go_home(ctx)
        return None


@dataclass(frozen=True)
class Duplicate(Screen):
    """The ID already holds a waiting ticket for that service: offer 补打."""

    ticket: dict[str, Any]
    message: str

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Touch) and event.action == "reprint":
            pid = ctx.new_id()
            ctx.emit(PrintTicket(pid, self.ticket))
            return TicketShown(self.ticket, pid, reprint=True)
        return None


@dataclass(frozen=True)
class CheckinScan(Screen):
    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Scanned):
            return checkin(ctx, booking_code(event.data))
        return None


@dataclass(frozen=True)
class LookupInput(Screen):
    typed: str = ""

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Scanned):
            return lookup(ctx, {"code": ticket_code(event.data)})
        if isinstance(event, Touch):
            if event.action == "key" and len(self.typed) < 5:
                return replace(self, typed=self.typed + event.arg)
            if event.action == "backspace":
                return replace(self, typed=self.typed[:-1])
            if event.action == "submit":
                number = normalise_number(self.typed)
                if number is None:
                    return ErrorShown("号码格式不对", "请输入号票上的号码，例如 A012。",
                                      back=self)
                return lookup(ctx, {"number": number})
        return None


@dataclass(frozen=True)
class LookupResult(Screen):
    ticket: dict[str, Any]


@dataclass(frozen=True)
class ErrorShown(Screen):
    title: str
    message: str
    code: str = ""
    back: Screen | None = None  # 返回: the screen to try again from

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Touch) and event.action == "back":
            return self.back if self.back is not None else go_home(ctx)
        return None


@dataclass(frozen=True)
class StaffCalled(Screen):
    back: Screen | None = None

    def handle(self, event: Event, ctx: Context) -> Screen | None:
        if isinstance(event, Touch) and event.action == "cancel_assist":
            ctx.emit(CallStaff(False))
            return self.back if self.back is not None else go_home(ctx)
        return None


@dataclass(frozen=True)
class Placeholder(Screen):
    """An entry whose flow another part provides (办事指南 until it is registered)."""

    title: str
    message: str


# ------------------------------------------------------------------------ home entries


@dataclass(frozen=True)
class Entry:
    label: str
    start: Callable[[Context], Screen]
    order: int = 50


ENTRIES: dict[str, Entry] = {}


def register_entry(action: str, label: str, start: Callable[[Context], Screen],
                   order: int = 50) -> None:
    """Put a button on the home page (action name, label) that opens `start(ctx)`."""
    ENTRIES[action] = Entry(label, start, order)


register_entry("checkin", "预约签到", lambda ctx: CheckinScan(), order=10)
register_entry("lookup", "查询", lambda ctx: LookupInput(), order=20)
register_entry("guide", "办事指南", lambda ctx: Placeholder(
    "办事指南", "办事指南和自助申报即将上线。\n请到导服台咨询，工作人员会告诉您要带哪些材料。"),
    order=30)


# ------------------------------------------------------------------------ flows


def go_home(ctx: Context) -> Home:
    ctx.clear_personal()
    return Home()


def issue(ctx: Context, code: str, card: CardInfo | None) -> Screen:
    svc = ctx.services.get(code)
    if svc is None:
        return ErrorShown("没有这项业务", "请重新选择业务。", "UNKNOWN_SERVICE")
    if not svc.open:
        return closed_error(svc.name, svc.hours)
    payload: dict[str, Any] = {"service": code, "source": "walk_in"}
    if card is not None:
        payload.update(source="id_card", id_number=card.id_number)
    rid = ctx.new_id()
    ctx.emit(Send(rid, "issue", payload, durable=True))
    ctx.clear_personal()  # the ID number now lives only in the outbox entry
    return Busy(rid, "issue", f"正在为您取{svc.name}的号，请稍候…", service=code)


def checkin(ctx: Context, code: str) -> Screen:
    if not code:
        return ErrorShown("没有读到预约码", "请把预约二维码对准扫描口，再试一次。",
                          back=CheckinScan())
    rid = ctx.new_id()
    ctx.emit(Send(rid, "checkin", {"code": code}, durable=True))
    return Busy(rid, "checkin", "正在为您签到，请稍候…")


def lookup(ctx: Context, query: dict[str, str]) -> Screen:
    rid = ctx.new_id()
    ctx.emit(Send(rid, "lookup", query, durable=False))
    return Busy(rid, "lookup", "正在查询，请稍候…")


# Other flows' answers that arrive after their page is gone (the filing receipt): each
# emits what must still happen and returns a screen to show, or None.
LATE_REPLIES: list[Callable[[Context, Replied, Screen], Screen | None]] = []

# Other flows' QR codes, asked first: each returns its screen, or None when not theirs.
SCAN_ROUTES: list[Callable[[Context, str], Screen | None]] = []


def scanned_at_home(ctx: Context, data: str) -> Screen:
    """A ticket's QR is a web address ending in its code; anything else is a booking."""
    for route in SCAN_ROUTES:
        routed = route(ctx, data)
        if routed is not None:
            return routed
    if "://" in data:
        return lookup(ctx, {"code": ticket_code(data)})
    return checkin(ctx, booking_code(data))


def closed_error(name: str, hours: str) -> ErrorShown:
    when = f"今天的办理时间：{hours}。" if hours else "今天不办理该业务。"
    return ErrorShown(f"{name}现在不办理", f"{when}\n请在办理时间内取号，或到导服台咨询。",
                      "SERVICE_CLOSED")


def answered(busy: Busy, reply: dict[str, Any], ctx: Context) -> Screen:
    if reply.get("ok"):
        ticket = reply.get("ticket") or {}
        if busy.op == "lookup":
            return LookupResult(ticket)
        pid = ctx.new_id()
        ctx.emit(PrintTicket(pid, ticket))
        return TicketShown(ticket, pid, reprint=bool(reply.get("reprint")))
    error = reply.get("error") or {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    if code == "OFFLINE":
        if busy.op == "lookup":
            return ErrorShown("网络异常", "网络异常，暂时查不到，请稍候再试或到导服台查询。", code)
        return replace(busy, offline=True)
    if code == "DUPLICATE_TICKET" and reply.get("ticket"):
        return Duplicate(reply["ticket"], message)
    if code == "SERVICE_CLOSED":
        svc = ctx.services.get(busy.service)
        return closed_error(svc.name if svc else "该业务", str(error.get("hours") or ""))
    title = ERROR_TITLES.get(code, "没有办成")
    back: Screen | None = CheckinScan() if busy.op == "checkin" else None
    return ErrorShown(title, message or "请稍候再试，或到导服台咨询。", code, back=back)


ERROR_TITLES = {
    "DAILY_CAP_REACHED": "今日号票已取完",
    "INVALID_ID_NUMBER": "身份证号码有误",
    "UNKNOWN_APPOINTMENT": "没有找到这条预约",
    "APPOINTMENT_NOT_DUE": "还没到签到时间",
    "APPOINTMENT_EXPIRED": "预约已过期",
    "APPOINTMENT_CANCELLED": "预约已取消",
    "UNKNOWN_TICKET": "没有找到这张号票",
    "UNKNOWN_SERVICE": "没有这项业务",
    "INTERNAL": "系统暂时出错",
    "FORBIDDEN": "本机无权办理",
}

# ------------------------------------------------------------------------ the machine


class Kiosk:
    """Holds the current screen and the context; `handle` returns the effects to run."""

    def __init__(self, settings: Settings, new_id: Callable[[], str]) -> None:
        self.ctx = Context(settings, new_id)
        self.screen: Screen = Home()

    def handle(self, event: Event) -> list[Effect]:
        ctx = self.ctx
        ctx.effects = []
        before = self.screen
        nxt = self._common(event)
        if nxt is None:
            nxt = before.handle(event, ctx)
        if nxt is None:
            nxt = self._unhandled(event)
        if nxt is not None and nxt is not before:
            self.screen = nxt
            ctx.remaining_s = ctx.page_timeout_s
            if isinstance(nxt, Home):
                for gone in (before, getattr(before, "back", None)):
                    if isinstance(gone, Screen):
                        gone.left(ctx)
                ctx.elder = False
                ctx.clear_personal()
        return ctx.effects

    def _common(self, event: Event) -> Screen | None:
        ctx, screen = self.ctx, self.screen
        if isinstance(event, Tick):
            if not screen.timed:
                return None
            ctx.remaining_s -= event.seconds
            if ctx.remaining_s <= 0:
                if isinstance(screen, StaffCalled):
                    ctx.emit(CallStaff(False))
                log.info("page %s timed out; personal data cleared", type(screen).__name__)
                return go_home(ctx)
            return screen
        if isinstance(event, Touch):
            if event.action == "extend":
                ctx.remaining_s = ctx.page_timeout_s
                return screen
            if event.action == "home":
                if isinstance(screen, StaffCalled):
                    ctx.emit(CallStaff(False))
                return go_home(ctx)
            if event.action == "elder":
                ctx.elder = not ctx.elder
                ctx.remaining_s = ctx.page_timeout_s
                return screen
            if event.action == "assist" and not isinstance(screen, StaffCalled):
                ctx.emit(CallStaff(True))
                return StaffCalled(back=None if isinstance(screen, Home) else screen)
        if isinstance(event, CardRead) and not isinstance(screen, Busy) \
                and not screen.takes_card:
            ctx.card = event.card
            if event.card.age >= ctx.settings.elder_age:
                ctx.elder = True
            return ChooseService()
        if isinstance(event, LinkChanged):
            ctx.online = event.up
            return screen
        if isinstance(event, DeviceChanged):
            ctx.devices[event.device] = (event.ok, event.message)
            return screen
        return None

    def _unhandled(self, event: Event) -> Screen | None:
        ctx = self.ctx
        if isinstance(event, Replied):
            for late in LATE_REPLIES:  # other flows' answers whose page is gone
                nxt = late(ctx, event, self.screen)
                if nxt is not None or ctx.effects:
                    return nxt
        if isinstance(event, Replied) and event.reply.get("ok") and event.reply.get("ticket"):
            # An answer to an intent whose page is gone (timed out, or sent again after a
            # restart): the ticket exists, so it is printed, never dropped.
            pid = ctx.new_id()
            ctx.emit(PrintTicket(pid, event.reply["ticket"]))
            log.info("late reply %s: printing its ticket", event.request_id)
            if isinstance(self.screen, Home):
                return TicketShown(event.reply["ticket"], pid, late=True)
            return None
        log.debug("ignored %s on %s", type(event).__name__, type(self.screen).__name__)
        return None


# ------------------------------------------------------------------------ small helpers


def mask_name(name: str) -> str:
    """张*三 (DESIGN.md's masked form): first and last character, the rest starred."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def ticket_code(data: str) -> str:
    """The code of a ticket's QR (`<base><code>`), or the text itself."""
    data = data.strip()
    if "://" in data:
        data = data.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return data[:64]


def booking_code(data: str) -> str:
    """A booking QR holds the appointment code, bare or as `QMS-APPT:<hall>:<day>:<code>`."""
    data = data.strip()
    if data.upper().startswith("QMS-APPT:"):
        data = data.rsplit(":", 1)[-1]
    return data[:64]


def normalise_number(typed: str) -> str | None:
    """'a12' -> 'A012'; None when it is not a letter and 1-4 digits."""
    t = typed.strip().upper()
    if len(t) < 2 or not t[0].isalpha() or not t[1:].isdigit() or len(t) > 5:
        return None
    return t[0] + t[1:].zfill(3)


def services_from_state(state: dict[str, Any], hall_prefix: str,
                        known: dict[str, str]) -> dict[str, ServiceInfo]:
    """ServiceInfo per service from the retained `state/service/*` payloads (`known` gives the
    configured names and order, so a service shows even before its first state arrives)."""
    out: dict[str, ServiceInfo] = {}
    for code, name in known.items():
        p = state.get(f"{hall_prefix}/state/service/{code}")
        if isinstance(p, dict):
            out[code] = ServiceInfo(
                code, str(p.get("name") or name), int(p.get("waiting") or 0),
                int(p.get("est_wait_s") or 0), bool(p.get("open", True)), str(p.get("hours") or ""))
        else:
            out[code] = ServiceInfo(code, name)
    return out
