"""The clerk's terminal (呼叫器) as data: what it shows and which buttons apply. Pure, no Qt.

`terminal_view(inputs)` turns the counter's published state (PROTOCOL.md
`state/counter/{c}` with the extensions), the waiting counts of its services, the
link's health and the intent in flight into a `TerminalView` the widget only draws.
`IntentGate` keeps one request id per intent: a double click is one request, and a
retry after the link drops reuses the id, so the server applies it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from queue_server.client import new_request_id
from queue_server.config import Hall
from queue_server.errors import MESSAGES

OFFLINE_TEXT = "离线"


@dataclass(frozen=True)
class Action:
    op: str  # the protocol op, or a local one that opens a choice (transfer, requeue, pause)
    label: str
    key: str  # Qt key sequence, shown on the button


# The clerk's buttons in the order of the keyboard row, F1..F9.
CALL = Action("call_next", "呼叫下一位", "F1")
RECALL = Action("recall", "重呼", "F2")
START = Action("start", "开始办理", "F3")
FINISH = Action("finish", "完成", "F4")
SKIP = Action("skip", "过号", "F5")
TRANSFER = Action("transfer", "转移", "F6")
REQUEUE = Action("requeue", "回呼", "F7")
PAUSE = Action("pause", "暂停", "F8")
RESUME = Action("resume", "恢复", "F8")
OPEN = Action("open", "开始办公", "F9")
CLOSE = Action("close", "结束办公", "F9")

# Ops that act on the current ticket: sent with `expect_current` (the shown number).
ON_CURRENT = {"call_next", "recall", "start", "skip", "transfer", "finish"}

STATUS_TEXT = {"open": "办公中", "paused": "暂停中", "closed": "未开始办公"}
TICKET_STATUS_TEXT = {"called": "已呼叫，等候群众到窗口", "serving": "正在办理"}

# Sentences for codes the server does not send (local) or where the terminal knows
# better words than the resident-facing table.
LOCAL_MESSAGES = {
    "OFFLINE": "网络中断，正在重试……",
    "NO_WAITING": "当前没有等候的群众，请稍后再呼叫。",
}


def error_sentence(error: Mapping[str, Any] | None) -> str:
    """The Chinese sentence for a refusal; never a bare code."""
    if not error:
        return MESSAGES["INTERNAL"]
    code = str(error.get("code", ""))
    if code in LOCAL_MESSAGES:
        return LOCAL_MESSAGES[code]
    if code in MESSAGES:
        return MESSAGES[code]
    msg = error.get("message")
    return msg if isinstance(msg, str) and msg else MESSAGES["INTERNAL"]


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def duration_text(seconds: float) -> str:
    """`12分钟`, `1小时5分钟`, `不到1分钟`: how long a resident waited, for a clerk."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "不到1分钟"
    if minutes < 60:
        return f"{minutes}分钟"
    return f"{minutes // 60}小时{minutes % 60}分钟" if minutes % 60 else f"{minutes // 60}小时"


@dataclass(frozen=True)
class Intent:
    op: str
    payload: dict[str, Any]
    request_id: str
    label: str
    attempts: int = 1


class IntentGate:
    """At most one intent in flight; its request id stays the same across retries."""

    def __init__(self, device: str, new_id: Callable[[str], str] = new_request_id) -> None:
        self.device = device
        self._new_id = new_id
        self.pending: Intent | None = None

    def begin(self, op: str, payload: dict[str, Any], label: str) -> Intent | None:
        """A new intent, or None while another is in flight (a double click)."""
        if self.pending is not None:
            return None
        self.pending = Intent(op, dict(payload), self._new_id(self.device), label)
        return self.pending

    def retry(self) -> Intent | None:
        if self.pending is None:
            return None
        p = self.pending
        self.pending = Intent(p.op, p.payload, p.request_id, p.label, p.attempts + 1)
        return self.pending

    def settle(self, request_id: str) -> Intent | None:
        """The intent this reply answers (and no longer pending), else None (stale)."""
        if self.pending is not None and self.pending.request_id == request_id:
            done, self.pending = self.pending, None
            return done
        return None

    def abandon(self) -> Intent | None:
        dropped, self.pending = self.pending, None
        return dropped


@dataclass(frozen=True)
class Button:
    action: Action
    enabled: bool

    @property
    def text(self) -> str:
        return f"{self.action.key}  {self.action.label}"


@dataclass(frozen=True)
class TicketCard:
    number: str
    service: str  # "A 综合受理"
    status: str  # 已呼叫… / 正在办理
    waited: str  # 等候12分钟（08:53取号）
    called: str  # 09:05呼叫 · 已重呼1次
    marks: tuple[str, ...]  # 绿色通道, 预约
    filing: str | None = None  # 关联申报 F20261123001 (预登记), when the ticket has one


@dataclass(frozen=True)
class TerminalView:
    title: str
    status: str  # 办公中 / 暂停中（工间休息） / 未开始办公 / 离线 / 正在连接…
    online: bool
    banner: str | None  # connection trouble, in words
    ticket: TicketCard | None
    idle_text: str  # shown where the ticket would be
    waiting: tuple[tuple[str, int], ...]  # ("A 综合受理", 5)
    waiting_total: int
    served_today: int
    no_show_today: int
    buttons: tuple[Button, ...]
    pending: str | None  # 正在呼叫下一位…

    def button(self, op: str) -> Button:
        return next(b for b in self.buttons if b.action.op == op)


@dataclass
class TerminalInputs:
    hall: Hall
    counter_id: str
    counter: Mapping[str, Any] | None = None  # state/counter/{c}, None until it arrives
    services: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # state/service/*
    link_up: bool = False
    server_online: bool | None = None  # status/server; None: not heard yet
    pending: Intent | None = None


def _ticket_card(hall: Hall, t: Mapping[str, Any]) -> TicketCard:
    svc = hall.service(str(t.get("service", "")))
    issued, called = parse_time(t.get("issued_at")), parse_time(t.get("called_at"))
    waited = ""
    if issued is not None:
        waited = f"{issued:%H:%M}取号"
        if called is not None:
            waited = f"等候{duration_text((called - issued).total_seconds())}（{waited}）"
    recalls = int(t.get("recalls") or 0)
    called_text = f"{called:%H:%M}呼叫" if called is not None else ""
    if recalls:
        called_text += f" · 已重呼{recalls}次"
    marks = []
    if t.get("priority") and not t.get("appointment"):
        marks.append("绿色通道")
    if t.get("appointment"):
        marks.append("预约")
    return TicketCard(
        number=str(t.get("number", "")),
        service=f"{svc.code} {svc.name}" if svc else str(t.get("service", "")),
        status=TICKET_STATUS_TEXT.get(str(t.get("status", "called")), ""),
        waited=waited, called=called_text, marks=tuple(marks),
        filing=filing_card_text(t),
    )


def filing_card_text(ticket: Mapping[str, Any]) -> str | None:
    """The card's line for linked filings (numbers only, as the state topic carries)."""
    number = ticket.get("filing")
    if not number:
        return None
    n = len(ticket.get("filings") or [number])
    return f"关联申报 {number}" + (f"（共{n}份）" if n > 1 else "")


def terminal_view(inp: TerminalInputs) -> TerminalView:
    hall, conf = inp.hall, inp.hall.counter(inp.counter_id)
    name = conf.name if conf else f"{inp.counter_id}号窗口"
    c = inp.counter
    server_up = inp.server_online is not False
    online = inp.link_up and server_up and c is not None
    banner = None
    if not inp.link_up:
        banner = "离线：连不上大厅网络，正在重试。恢复后自动显示最新状态。"
    elif not server_up:
        banner = "离线：排队服务器没有响应，正在等待它恢复。"
    elif c is None:
        banner = "正在读取窗口状态……"

    status_key = str(c.get("status", "closed")) if c else "closed"
    if not inp.link_up or not server_up:
        status = OFFLINE_TEXT
    elif c is None:
        status = "正在连接…"
    else:
        status = STATUS_TEXT.get(status_key, status_key)
        if status_key == "paused" and c.get("pause_reason"):
            status += f"（{c['pause_reason']}）"

    t = c.get("ticket") if c else None
    card = _ticket_card(hall, t) if isinstance(t, Mapping) else None
    idle = {"open": "当前没有号，请按 F1 呼叫下一位",
            "paused": "暂停中，按 F8 恢复后再呼叫",
            "closed": "未开始办公，按 F9 开始办公"}.get(status_key, "")

    codes = list(c.get("services") or []) if c else []
    if not codes and conf is not None:
        codes = list(conf.service_codes)
    waiting = []
    for code in codes:
        svc = hall.service(code)
        n = int((inp.services.get(code) or {}).get("waiting") or 0)
        waiting.append((f"{code} {svc.name if svc else ''}".strip(), n))

    has = card is not None
    called = has and isinstance(t, Mapping) and t.get("status") == "called"
    free = online and inp.pending is None
    is_open, paused, closed = status_key == "open", status_key == "paused", status_key == "closed"
    buttons = (
        Button(CALL, free and is_open),
        Button(RECALL, free and has),
        Button(START, free and called),
        Button(FINISH, free and has),
        Button(SKIP, free and called),
        Button(TRANSFER, free and has),
        Button(REQUEUE, free and not closed),
        Button(RESUME, free) if paused else Button(PAUSE, free and is_open),
        Button(OPEN, free) if closed else Button(CLOSE, free and not has),
    )
    pending = f"正在{inp.pending.label}……" if inp.pending is not None else None
    if inp.pending is not None and inp.pending.attempts > 1:
        p = inp.pending
        pending = f"网络中断，正在重试“{p.label}”（第{p.attempts}次）…… Esc 放弃"
    return TerminalView(
        title=f"{name} · 呼叫器", status=status, online=online, banner=banner, ticket=card,
        idle_text=idle, waiting=tuple(waiting), waiting_total=sum(n for _, n in waiting),
        served_today=int(c.get("served_today") or 0) if c else 0,
        no_show_today=int(c.get("no_show_today") or 0) if c else 0,
        buttons=buttons, pending=pending,
    )


def request_payload(op: str, view_counter: Mapping[str, Any] | None,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The payload of `op`, with `expect_current` for ops on the current ticket."""
    payload = dict(extra or {})
    if op in ON_CURRENT:
        t = view_counter.get("ticket") if view_counter else None
        payload["expect_current"] = t.get("number") if isinstance(t, Mapping) else None
    return payload


@dataclass(frozen=True)
class Choice:
    label: str
    value: dict[str, Any]  # payload of the op


def transfer_choices(hall: Hall, counter_id: str, current_service: str | None) -> list[Choice]:
    """Other services, then other counters (same service waits at that window)."""
    out = [Choice(f"业务 {s.code} {s.name}", {"service": s.code})
           for s in hall.services if s.code != current_service]
    out += [Choice(f"窗口 {c.name}（{'、'.join(c.service_codes)}）", {"counter": c.id})
            for c in hall.counters if c.id != counter_id]
    return out


def no_show_choices(hall: Hall, no_shows: list[Mapping[str, Any]],
                    now: datetime | None = None) -> list[Choice]:
    out = []
    for t in no_shows:
        when = parse_time(t.get("no_show_at"))
        issued = parse_time(t.get("issued_at"))
        bits = [str(t.get("number", "")), str(t.get("service_name", ""))]
        if issued is not None:
            bits.append(f"{issued:%H:%M}取号")
        if when is not None:
            bits.append(f"{when:%H:%M}过号")
        if t.get("appointment"):
            bits.append("预约")
        elif t.get("priority"):
            bits.append("绿色通道")
        out.append(Choice("  ".join(b for b in bits if b), {"number": t.get("number")}))
    return out


DEFAULT_PAUSE_REASONS = ("工间休息", "业务咨询", "临时离开", "系统故障", "其他")


def pause_choices(reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS) -> list[Choice]:
    return [Choice(r, {"reason": r}) for r in reasons]
