"""What the portal knows and shows, with no I/O: the halls' public snapshots and the
sentences a resident reads (前面还有 N 人, 约 M 分钟, 请到 X 号窗口)."""

from __future__ import annotations

import bisect
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

HALL_RE = re.compile(r"^[a-z0-9-]{1,32}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
SERVICE_RE = re.compile(r"^[A-Z]$")

STATUS_TEXT = {"open": "办理中", "paused": "暂停", "closed": "未开放"}


class BadSnapshot(ValueError):
    pass


@dataclass
class HallView:
    """One hall as the portal has it: its last snapshot and whether its link is up."""

    hall: str
    snapshot: dict[str, Any] | None = None
    link_up: bool | None = None  # None: never heard of the bridge's state
    version: int = 0

    @property
    def name(self) -> str:
        return str(self.snapshot.get("name", self.hall)) if self.snapshot else self.hall

    def summary(self) -> dict[str, Any]:
        """The JSON shape of the open API and the live updates (no personal data)."""
        snap = self.snapshot or {}
        return {
            "hall": self.hall,
            "name": self.name,
            "at": snap.get("at"),
            "online": self.link_up is not False,
            "services": [
                {"service": s.get("service"), "name": s.get("name"),
                 "waiting": s.get("waiting", 0), "est_wait_s": s.get("est_wait_s", 0),
                 # Nobody waiting: "no queue", not the few minutes until a busy
                 # counter frees up (which reads as a contradiction on a phone).
                 "est_wait_text": "无需排队" if not s.get("waiting") else
                 minutes_text(s.get("est_wait_s", 0)),
                 "open": s.get("open", True)}
                for s in snap.get("services", [])
            ],
            "counters": [
                {"counter": c.get("counter"), "name": c.get("name"), "status": c.get("status"),
                 "status_text": STATUS_TEXT.get(str(c.get("status")), "未知"),
                 "serving": c.get("serving")}
                for c in snap.get("counters", [])
            ],
        }


def parse_snapshot(hall: str, payload: bytes) -> dict[str, Any]:
    """A `public/wait` payload, checked enough that a page never breaks on it."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as e:
        raise BadSnapshot(f"{hall}: snapshot is not JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("services", []), list) \
            or not isinstance(data.get("counters", []), list):
        raise BadSnapshot(f"{hall}: snapshot is not an object with services and counters")
    data["services"] = [s for s in data.get("services", []) if isinstance(s, dict)]
    data["counters"] = [c for c in data.get("counters", []) if isinstance(c, dict)]
    return data


class SearchIndex:
    """Substring search over many short keys: one string of all keys, scanned by the
    regex engine (C) instead of a Python loop over 40,000 keys (~10x faster)."""

    def __init__(self, names: list[str], keys: list[str]) -> None:
        self.names = names
        self.offsets: list[int] = []
        parts: list[str] = []
        at = 0
        for key in keys:
            self.offsets.append(at)
            clean = key.replace("\n", " ")
            parts.append(clean)
            at += len(clean) + 1
        self.blob = "\n".join(parts)

    def find(self, query: str) -> list[str]:
        if not query or "\n" in query:
            return []
        out: list[str] = []
        last = -1
        for m in re.finditer(re.escape(query), self.blob):
            i = bisect.bisect_right(self.offsets, m.start()) - 1
            if i != last:
                out.append(self.names[i])
                last = i
        return out


@dataclass
class Directory:
    """Every hall heard of on the central broker. Written by the MQTT thread, read by
    the web handlers: a lock guards the dict; HallView objects are replaced, not edited
    in place, so a reader never sees half an update."""

    halls: dict[str, HallView] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sorted: list[str] | None = None
    # "id name" in lower case per hall, in id order, for search; rebuilt when a hall
    # appears or renames (rare), not on every snapshot.
    _index: SearchIndex | None = None

    def put_snapshot(self, hall: str, snapshot: dict[str, Any]) -> HallView:
        with self._lock:
            old = self.halls.get(hall)
            view = HallView(hall, snapshot, old.link_up if old else None,
                            (old.version + 1) if old else 1)
            if old is None:
                self._sorted = None
            if old is None or old.name != view.name:
                self._index = None
            self.halls[hall] = view
            return view

    def put_link(self, hall: str, up: bool) -> HallView:
        with self._lock:
            old = self.halls.get(hall)
            view = HallView(hall, old.snapshot if old else None, up,
                            (old.version + 1) if old else 1)
            if old is None:
                self._sorted = None
                self._index = None
            self.halls[hall] = view
            return view

    def get(self, hall: str) -> HallView | None:
        return self.halls.get(hall)

    def names(self) -> list[str]:
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(self.halls)
            return self._sorted

    def _search_index(self) -> SearchIndex:
        index = self._index
        if index is None:
            names = self.names()
            index = SearchIndex(names, [f"{h} {self.halls[h].name}".lower() for h in names])
            self._index = index
        return index

    def page(self, query: str = "", offset: int = 0, limit: int = 50) -> tuple[list[HallView],
                                                                                int]:
        """Halls whose id or name contains `query`, sorted by id; (page, total)."""
        names = self.names()
        if query:
            q = query.strip().lower()
            names = self._search_index().find(q)
        return [self.halls[h] for h in names[offset:offset + limit]], len(names)


# --------------------------------------------------------------------------- sentences


def minutes_text(seconds: Any) -> str:
    try:
        s = max(0, int(seconds))
    except (TypeError, ValueError):
        return "—"
    if s < 60:
        return "不到1分钟" if s > 0 else "无需等候"
    m = round(s / 60)
    if m < 60:
        return f"约{m}分钟"
    h, m = divmod(m, 60)
    return f"约{h}小时{m}分钟" if m else f"约{h}小时"


@dataclass(frozen=True)
class TicketLine:
    """What a ticket page says in large type, and the smaller line below it."""

    headline: str
    detail: str
    state: str  # css class: waiting, called, done, gone


def ticket_lines(ticket: dict[str, Any]) -> TicketLine:
    status = ticket.get("status")
    ahead = int(ticket.get("ahead") or 0)
    if status in ("waiting", "transferred"):
        if ahead == 0:
            return TicketLine("下一位就是您", "请留意叫号，准备好材料", "waiting")
        return TicketLine(f"前面还有 {ahead} 人", minutes_text(ticket.get("est_wait_s")),
                          "waiting")
    if status == "called":
        where = ticket.get("counter_name") or f"{ticket.get('counter')}号窗口"
        return TicketLine(f"请到 {where} 办理", "正在叫您的号", "called")
    if status == "serving":
        return TicketLine("正在办理", ticket.get("counter_name") or "", "called")
    if status == "done":
        return TicketLine("已办结", "感谢您的耐心，欢迎评价", "done")
    if status == "no_show":
        return TicketLine("已过号", "请到窗口或导服台说明，工作人员可为您重新排队", "gone")
    return TicketLine("状态未知", "", "gone")


WEEKDAYS = "一二三四五六日"


def day_text(d: date) -> str:
    return f"{d.month}月{d.day}日 周{WEEKDAYS[d.weekday()]}"


def slot_text(start: datetime, end: datetime) -> str:
    return f"{day_text(start.date())} {start:%H:%M}-{end:%H:%M}"


def mask_id(number: str) -> str:
    n = number.strip()
    return n[:6] + "*" * max(0, len(n) - 8) + n[-2:] if len(n) > 8 else "*" * len(n)
