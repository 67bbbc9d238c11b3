"""What the boards draw, computed from published state only (no Qt, no MQTT).

A board keeps the last payload per topic (retained state) and the `event/called`
messages it saw; `window_view` and `hall_view` turn those into plain values that a
widget draws. Because the list of calls is rebuilt from the counters' retained
state as well, a board that restarts or reconnects shows the truth at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATE_COUNTER = "state/counter/"
STATE_SERVICE = "state/service/"


@dataclass(frozen=True)
class Call:
    """One call of a ticket to a counter, as a board lists it."""

    number: str
    service: str
    counter: str
    counter_name: str
    text: str
    at: str  # ISO time with offset, as published
    recall: bool = False
    seen: float = 0.0  # monotonic time the board received it (0: from retained state)

    @classmethod
    def from_event(cls, payload: Mapping[str, Any], seen: float) -> Call | None:
        """The call in an `event/called` payload, or None if it lacks what a board needs."""
        try:
            number, counter = str(payload["number"]), str(payload["counter"])
        except (KeyError, TypeError):
            return None
        name = str(payload.get("counter_name") or f"{counter}号窗口")
        return cls(number=number, service=str(payload.get("service", number[:1])),
                   counter=counter, counter_name=name,
                   text=str(payload.get("text") or f"请{number}号到{name}办理"),
                   at=str(payload.get("at", "")), recall=bool(payload.get("recall")),
                   seen=seen)


def _under(hall: str, kind: str, state: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The retained payloads under qms/{hall}/{kind}, by the rest of their topic."""
    prefix = f"qms/{hall}/{kind}"
    return {topic[len(prefix):]: payload for topic, payload in state.items()
            if topic.startswith(prefix) and isinstance(payload, Mapping)}


def counters_in(hall: str, state: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return _under(hall, STATE_COUNTER, state)


def services_in(hall: str, state: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return _under(hall, STATE_SERVICE, state)


def _sort_key(counter_id: str) -> tuple[int, str]:
    return (int(counter_id), "") if counter_id.isdigit() else (10**9, counter_id)


# ------------------------------------------------------------------ window board


@dataclass(frozen=True)
class WindowView:
    counter_name: str
    mode: str  # "calling" | "serving" | "idle" | "paused" | "closed" | "unknown"
    headline: str  # the big line: the number, 欢迎光临 or 暂停服务
    detail: str  # the line under it
    number: str | None = None
    highlight: bool = False  # blink phase while a (re)call is fresh
    offline: bool = False  # the board has lost the broker: what it shows may be stale


def window_view(hall: str, state: Mapping[str, Any], counter_id: str, *,
                counter_name: str | None = None, services: Mapping[str, str] | None = None,
                last_call: Call | None = None, now: float = 0.0, flash_s: float = 10.0,
                online: bool = True, state_seen: float | None = None) -> WindowView:
    """The window board (窗口屏) of `counter_id`.

    `state_seen` is when the counter's state was received: a call received after it is
    newer than that state (the server publishes `event/called` before the state), so
    the board shows the called number at once instead of waiting for the state.

    `services` maps service codes to names (from config) for when the retained service
    state has not arrived yet; `last_call` is the newest `event/called` for this counter,
    which makes the number blink for `flash_s` seconds after a call or recall.
    """
    c = counters_in(hall, state).get(counter_id)
    name = str((c or {}).get("name") or counter_name or f"{counter_id}号窗口")
    offline = not online
    if c is None:
        return WindowView(name, "unknown", "欢迎光临", "正在连接叫号系统…", offline=offline)
    status = c.get("status")
    ticket = c.get("ticket")
    if (last_call is not None and state_seen is not None and last_call.counter == counter_id
            and last_call.seen > state_seen):
        ticket = {"number": last_call.number, "service": last_call.service,
                  "status": "called"}
        status = "open"
    if status == "paused":
        reason = str(c.get("pause_reason") or "").strip()
        return WindowView(name, "paused", "暂停服务", reason or "请稍候，或到其他窗口办理",
                          offline=offline)
    if status == "closed" and not ticket:
        return WindowView(name, "closed", "暂停服务", "本窗口暂未开放，请到其他窗口办理",
                          offline=offline)
    if isinstance(ticket, Mapping) and ticket.get("number"):
        number = str(ticket["number"])
        svc_names = {code: str(s.get("name", "")) for code, s in services_in(hall, state).items()}
        svc_names = {**(services or {}), **{k: v for k, v in svc_names.items() if v}}
        svc = svc_names.get(str(ticket.get("service", number[:1])), "")
        fresh = (last_call is not None and last_call.number == number
                 and last_call.counter == counter_id and last_call.seen > 0
                 and 0 <= now - last_call.seen < flash_s)
        highlight = fresh and _blink(now)
        if ticket.get("status") == "serving":
            return WindowView(name, "serving", number, f"正在办理 {svc}".strip(), number,
                              highlight, offline)
        return WindowView(name, "calling", number, f"请{number}号到本窗口办理", number,
                          highlight, offline)
    return WindowView(name, "idle", "欢迎光临", "请留意叫号", offline=offline)


def _blink(now: float) -> bool:
    return int(now * 2) % 2 == 0  # 2 Hz: on for half a second, off for half a second


# ------------------------------------------------------------------ hall board


@dataclass(frozen=True)
class CallRow:
    number: str
    counter_name: str
    text: str
    newest: bool
    highlight: bool  # blink phase of the newest, fresh call


@dataclass(frozen=True)
class ServiceRow:
    code: str
    name: str
    waiting: int
    wait_text: str  # 约15分钟 / 无需等候 / 已停止取号
    open: bool


@dataclass(frozen=True)
class CounterChip:
    name: str
    text: str  # the number at the counter, 空闲 or 暂停
    paused: bool


@dataclass(frozen=True)
class HallView:
    title: str
    calls: tuple[CallRow, ...]
    services: tuple[ServiceRow, ...]
    counters: tuple[CounterChip, ...]
    notice: str
    offline: bool = False


def wait_text(est_wait_s: Any, waiting: int, open_: bool, hours: str = "") -> str:
    if not open_:
        # The hours would not fit the column at a readable size; the kiosk shows them.
        return "已停止取号"
    if waiting <= 0:
        return "无需等候"
    try:
        minutes = max(1, math.ceil(float(est_wait_s) / 60))
    except (TypeError, ValueError):
        return "—"
    if minutes >= 120:
        return f"约{minutes // 60}小时{minutes % 60:02d}分"
    return f"约{minutes}分钟"


def recent_calls(hall: str, state: Mapping[str, Any], events: Iterable[Call]) -> list[Call]:
    """The calls a hall board lists, newest first: what it saw on `event/called`, plus
    each counter's current ticket from retained state (so a fresh board is not empty).
    One row per counter and number; a ticket's latest call wins."""
    merged: dict[tuple[str, str], Call] = {}
    for cid, c in counters_in(hall, state).items():
        t = c.get("ticket")
        if isinstance(t, Mapping) and t.get("number") and t.get("called_at"):
            number = str(t["number"])
            name = str(c.get("name") or f"{cid}号窗口")
            merged[(cid, number)] = Call(number, str(t.get("service", number[:1])), cid, name,
                                         f"请{number}号到{name}办理", str(t["called_at"]))
    for call in events:
        key = (call.counter, call.number)
        old = merged.get(key)
        if old is None or _time(call.at) >= _time(old.at):
            merged[key] = call
    return sorted(merged.values(), key=lambda c: (_time(c.at), c.seen), reverse=True)


def _time(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return 0.0


def hall_view(hall: str, state: Mapping[str, Any], events: Iterable[Call], *,
              hall_name: str = "", notice: str = "", calls_shown: int = 6,
              service_names: Mapping[str, str] | None = None,
              now: float = 0.0, flash_s: float = 10.0, online: bool = True) -> HallView:
    """The hall board (综合屏)."""
    public = state.get(f"qms/{hall}/public/wait")
    title = str(public.get("name")) if isinstance(public, Mapping) and public.get("name") \
        else hall_name
    calls = recent_calls(hall, state, events)[:calls_shown]
    rows = []
    for i, call in enumerate(calls):
        fresh = i == 0 and call.seen > 0 and 0 <= now - call.seen < flash_s
        rows.append(CallRow(call.number, call.counter_name, call.text, i == 0,
                            fresh and _blink(now)))
    services = []
    known = services_in(hall, state)
    for code in sorted(set(known) | set(service_names or {})):
        s = known.get(code, {})
        name = str(s.get("name") or (service_names or {}).get(code, code))
        waiting = int(s.get("waiting", 0) or 0)
        open_ = bool(s.get("open", True))
        text = wait_text(s.get("est_wait_s"), waiting, open_, str(s.get("hours", "") or "")) \
            if s else "—"
        services.append(ServiceRow(code, name, waiting, text, open_))
    chips = []
    for cid, c in sorted(counters_in(hall, state).items(), key=lambda kv: _sort_key(kv[0])):
        t = c.get("ticket")
        status = c.get("status")
        if status == "paused":
            text = "暂停"
        elif isinstance(t, Mapping) and t.get("number"):
            text = str(t["number"])
        elif status == "closed":
            text = "未开放"
        else:
            text = "空闲"
        chips.append(CounterChip(str(c.get("name") or f"{cid}号窗口"), text, status != "open"))
    return HallView(title or "叫号信息", tuple(rows), tuple(services), tuple(chips), notice,
                    offline=not online)


# ------------------------------------------------------------------ the events a board keeps


class CallLog:
    """The `event/called` messages a board has seen, newest last, bounded."""

    def __init__(self, keep: int = 50) -> None:
        self.keep = keep
        self.calls: list[Call] = []

    def add(self, call: Call) -> None:
        self.calls.append(call)
        del self.calls[:-self.keep]

    def last_for(self, counter: str) -> Call | None:
        return next((c for c in reversed(self.calls) if c.counter == counter), None)
