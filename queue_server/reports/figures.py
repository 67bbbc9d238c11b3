"""The supervisors' figures, computed from the event log. Pure: no I/O.

Definitions (also printed on the report page):
- A ticket belongs to the day it was issued (its number is unique within that day).
- A *visit* is one call of a ticket at a counter (recalls are the same visit); it
  ends served (`finished`), no-show (`no_show`) or transferred (`transferred`).
- *Wait* is the time in a queue before a call: from issue, requeue or transfer to
  the call. A transferred ticket waits again in its new queue; that is a second wait.
  Per service, a wait counts for the queue it was called from.
- *Service time* runs from `started` (or the call when the clerk never pressed
  start) to `finished`; served visits only.
- *Over SLA* is the share of waits longer than the SLA (hall config [reports]).
- p90 is the nearest-rank 90th percentile.
- There is no clerk login yet: the log's device is the counter, so figures "per
  clerk" are per counter.
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .source import FollowUpRow, LogEvent, ReportData

LEVELS = (5, 4, 3, 2, 1)
ALL = "all"  # the row for the whole date range


@dataclass(frozen=True)
class ReportSettings:
    sla_minutes: float = 20.0

    @classmethod
    def from_hall(cls, hall: Any) -> ReportSettings:
        """The hall's [reports] table; errors name the file and key."""
        section = hall.section("reports")
        r = hall.reader()
        r.no_extra(section, "reports", {"sla_minutes"})
        sla = r.number(section.get("sla_minutes", 20), "reports.sla_minutes", 1, 24 * 60)
        return cls(sla_minutes=sla)


@dataclass
class Visit:
    day: date
    ticket: int
    number: str
    service: str
    counter: str
    queued_at: datetime
    called_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = "open"  # served | no_show | transferred | open

    @property
    def wait_s(self) -> float:
        return max(0.0, (self.called_at - self.queued_at).total_seconds())

    @property
    def service_s(self) -> float | None:
        if self.outcome != "served" or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - (self.started_at or self.called_at)).total_seconds())


@dataclass
class TicketLife:
    id: int
    number: str
    day: date
    origin: str
    source: str
    priority: bool
    elder: bool
    issued_at: datetime
    service: str = ""  # the queue it is in at the end
    queued_at: datetime | None = None
    status: str = "waiting"
    visits: list[Visit] = field(default_factory=list)


def lives(events: Iterable[LogEvent]) -> dict[int, TicketLife]:
    """Each ticket's path through the hall, replayed from its events in log order."""
    out: dict[int, TicketLife] = {}
    for e in events:
        if e.ticket is None:
            continue
        if e.kind == "issued":
            svc = str(e.data.get("service") or (e.number or "?")[0])
            out[e.ticket] = TicketLife(
                id=e.ticket, number=str(e.data.get("number") or e.number or ""),
                day=e.at.date(), origin=svc, source=str(e.data.get("source") or "walk_in"),
                priority=bool(e.data.get("priority")), elder=bool(e.data.get("elder")),
                issued_at=e.at, service=svc, queued_at=e.at)
            continue
        t = out.get(e.ticket)
        if t is None:  # issued outside the loaded range: nothing to attribute it to
            continue
        last = t.visits[-1] if t.visits else None
        live = last if last is not None and last.outcome == "open" else None
        if e.kind == "called":
            if live is not None and live.counter == e.counter:
                continue  # a recall: the same visit
            if live is not None:  # called elsewhere without an end: close it as moved
                live.outcome, live.ended_at = "transferred", e.at
            t.visits.append(Visit(t.day, t.id, t.number, t.service, e.counter or "?",
                                  t.queued_at or t.issued_at, e.at))
            t.status = "called"
        elif e.kind == "started" and live is not None:
            live.started_at = live.started_at or e.at
            t.status = "serving"
        elif e.kind in ("finished", "no_show") and live is not None:
            live.outcome = "served" if e.kind == "finished" else "no_show"
            live.ended_at = e.at
            t.status = "done" if e.kind == "finished" else "no_show"
        elif e.kind == "transferred":
            if live is not None:
                live.outcome, live.ended_at = "transferred", e.at
            t.service = str(e.data.get("service") or t.service)
            t.queued_at, t.status = e.at, "transferred"
        elif e.kind == "requeued":
            t.queued_at, t.status = e.at, "waiting"
    return out


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _minutes(v: float | None) -> float | None:
    return None if v is None else round(v / 60, 1)


@dataclass
class Row:
    """One line of a table: a day, service or counter (day "all": the whole range)."""

    scope: str  # day | service | counter
    day: str
    key: str
    name: str
    issued: int | None = None  # counters issue nothing: None
    served: int = 0
    no_show: int = 0
    transferred: int = 0
    still_open: int = 0
    waits: int = 0
    wait_avg_min: float | None = None
    wait_p90_min: float | None = None
    over_sla_share: float | None = None
    service_avg_min: float | None = None
    service_p90_min: float | None = None
    rating: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    rating_avg: float | None = None
    follow_ups_open: int = 0
    follow_ups_overdue: int = 0
    peak_hour: str = ""
    peak_count: int = 0

    CSV_FIELDS = (
        "day", "key", "name", "issued", "served", "no_show", "transferred", "still_open",
        "waits", "wait_avg_min", "wait_p90_min", "over_sla_share", "service_avg_min",
        "service_p90_min", "rating_5", "rating_4", "rating_3", "rating_2", "rating_1",
        "rating_avg", "follow_ups_open", "follow_ups_overdue", "peak_hour", "peak_count",
    )

    def csv(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.CSV_FIELDS if hasattr(self, k)}
        d.update({f"rating_{lv}": self.rating[lv] for lv in LEVELS})
        if self.over_sla_share is not None:
            d["over_sla_share"] = round(self.over_sla_share, 3)
        return {k: ("" if d.get(k) is None else d[k]) for k in self.CSV_FIELDS}


@dataclass
class HourRow:
    day: str
    hour: int
    issued: int = 0
    called: int = 0
    served: int = 0
    wait_avg_min: float | None = None


@dataclass
class Report:
    first: date
    last: date
    as_of: datetime
    sla_minutes: float
    days: list[Row]
    services: list[Row]
    counters: list[Row]
    hours: list[HourRow]
    follow_ups: list[dict[str, Any]]
    tickets: int

    @property
    def total(self) -> Row:
        return next(r for r in self.days if r.day == ALL)

    def as_dict(self) -> dict[str, Any]:
        """The same figures as JSON-ready data (e.g. for a portal endpoint)."""
        return {
            "first": self.first.isoformat(), "last": self.last.isoformat(),
            "as_of": self.as_of.isoformat(), "sla_minutes": self.sla_minutes,
            "days": [r.csv() for r in self.days],
            "services": [r.csv() for r in self.services],
            "counters": [r.csv() for r in self.counters],
            "hours": [vars(h) for h in self.hours], "follow_ups": self.follow_ups,
        }


def _fill(row: Row, visits: list[Visit], sla_s: float, issued: list[TicketLife] | None,
          ratings: list[FollowUpRow], as_of: datetime) -> Row:
    """Figures of one group; its peak hour is by tickets issued, or by calls for a counter."""
    waits = [v.wait_s for v in visits]
    service = [s for v in visits if (s := v.service_s) is not None]
    row.served = sum(v.outcome == "served" for v in visits)
    row.no_show = sum(v.outcome == "no_show" for v in visits)
    row.transferred = sum(v.outcome == "transferred" for v in visits)
    row.waits = len(waits)
    row.wait_avg_min, row.wait_p90_min = _minutes(_mean(waits)), _minutes(percentile(waits, 90))
    row.over_sla_share = (sum(w > sla_s for w in waits) / len(waits)) if waits else None
    row.service_avg_min = _minutes(_mean(service))
    row.service_p90_min = _minutes(percentile(service, 90))
    if issued is not None:
        row.issued = len(issued)
        row.still_open = sum(t.status not in ("done", "no_show") for t in issued)
        hours = Tally(t.issued_at.hour for t in issued)
    else:
        row.still_open = sum(v.outcome == "open" for v in visits)
        hours = Tally(v.called_at.hour for v in visits)
    if hours:
        hour, n = max(sorted(hours.items()), key=lambda kv: kv[1])
        row.peak_hour, row.peak_count = f"{hour:02d}:00-{hour + 1:02d}:00", n
    for r in ratings:
        if r.level in row.rating:
            row.rating[r.level] += 1
        if r.due is not None and r.handled_at is None:
            row.follow_ups_open += 1
            row.follow_ups_overdue += r.due < as_of
    n = sum(row.rating.values())
    row.rating_avg = round(sum(lv * c for lv, c in row.rating.items()) / n, 2) if n else None
    return row


def compute(
    data: ReportData,
    first: date,
    last: date,
    *,
    settings: ReportSettings | None = None,
    as_of: datetime,
    service_names: Mapping[str, str] | None = None,
    counter_names: Mapping[str, str] | None = None,
) -> Report:
    settings = settings or ReportSettings()
    sla_s = settings.sla_minutes * 60
    snames, cnames = service_names or {}, counter_names or {}
    tickets = [t for t in lives(data.events).values() if first <= t.day <= last]
    ids = {t.id for t in tickets}
    visits = [v for t in tickets for v in t.visits]
    ratings = [r for r in data.ratings if r.ticket in ids]
    rating_service = {v.ticket: v.service for v in visits if v.outcome == "served"}
    day_keys = sorted({t.day for t in tickets})
    ranges: list[tuple[str, set[date]]] = [(d.isoformat(), {d}) for d in day_keys]
    ranges.append((ALL, set(day_keys)))
    ticket_day = {t.id: t.day for t in tickets}

    days, services, counters = [], [], []
    for label, ds in ranges:
        tk = [t for t in tickets if t.day in ds]
        vs = [v for v in visits if v.day in ds]
        rs = [r for r in ratings if ticket_day[r.ticket] in ds]
        days.append(_fill(Row("day", label, label, label), vs, sla_s, tk, rs, as_of))
        codes = sorted({t.origin for t in tk} | {v.service for v in vs}
                       | ({*snames} if label == ALL else set()))
        for code in codes:
            services.append(_fill(
                Row("service", label, code, snames.get(code, code)),
                [v for v in vs if v.service == code], sla_s,
                [t for t in tk if t.origin == code],
                [r for r in rs if rating_service.get(r.ticket) == code], as_of))
        cids = sorted({v.counter for v in vs} | ({*cnames} if label == ALL else set()),
                      key=lambda c: (len(c), c))
        for cid in cids:
            counters.append(_fill(
                Row("counter", label, cid, cnames.get(cid, f"counter {cid}")),
                [v for v in vs if v.counter == cid], sla_s, None,
                [r for r in rs if r.counter == cid], as_of))

    hours: list[HourRow] = []
    for label, ds in ranges:
        by_hour: dict[int, HourRow] = {}
        for t in tickets:
            if t.day in ds:
                by_hour.setdefault(t.issued_at.hour, HourRow(label, t.issued_at.hour)).issued += 1
        waits: dict[int, list[float]] = {}
        for v in visits:
            if v.day in ds:
                h = by_hour.setdefault(v.called_at.hour, HourRow(label, v.called_at.hour))
                h.called += 1
                h.served += v.outcome == "served"
                waits.setdefault(v.called_at.hour, []).append(v.wait_s)
        for h, ws in waits.items():
            by_hour[h].wait_avg_min = _minutes(_mean(ws))
        hours.extend(by_hour[h] for h in sorted(by_hour))

    follow_ups = [
        {"day": ticket_day[r.ticket].isoformat(), "number": r.number, "counter": r.counter,
         "level": r.level, "reason": r.reason or "", "rated_at": r.at.isoformat(),
         "due": r.due.isoformat() if r.due else "",
         "handled_at": r.handled_at.isoformat() if r.handled_at else "",
         "state": ("handled" if r.handled_at else "overdue" if r.due and r.due < as_of
                   else "open")}
        for r in ratings if r.due is not None
    ]
    return Report(first, last, as_of, settings.sla_minutes, days, services, counters, hours,
                  follow_ups, len(tickets))


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
