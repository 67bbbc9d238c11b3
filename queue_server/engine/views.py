"""What the outside sees of the state: the JSON shapes of PROTOCOL.md, with no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import estimate, estimate_learned
from ..config import Hall
from ..filing.state import linked_filings
from .model import QUEUED, CounterStatus, HallState, Ticket, TicketStatus


def iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t is not None else None


def service_time_s(hall: Hall, s: HallState, service: str) -> float:
    svc = hall.service(service)
    typical = svc.service_minutes if svc else 10.0
    return estimate.median_service_s(s.service_times.get(service, ()), typical)


def counters_for(hall: Hall, s: HallState, service: str) -> tuple[int, int]:
    """(open counters serving it, counters configured for it)."""
    configured = hall.counters_serving(service)
    open_now = sum(1 for c in configured if s.counters[c.id].status is CounterStatus.OPEN)
    return open_now, len(configured)


def est_wait_s(hall: Hall, s: HallState, service: str, ahead: int,
               ticket: int | None = None) -> int:
    # The learned model (estimate_learned.py: the hall run forward from its state, with
    # what it learned); estimate.py's first model is the baseline `./qms bench estimate`
    # compares it with. A waiting ticket reads its own predicted call.
    return estimate_learned.wait_s(hall, s, service, ahead, ticket)


def ahead_of(s: HallState, t: Ticket) -> int:
    if t.status not in QUEUED:
        return 0
    if t.target_counter is not None:
        return list(s.transfers_to(t.target_counter)).index(t.id)
    return s.queue(t.service).ahead_of(t.id)


def ticket_view(hall: Hall, s: HallState, t: Ticket) -> dict[str, Any]:
    svc = hall.service(t.service)
    ahead = ahead_of(s, t)
    counter = hall.counter(t.counter) if t.counter else None
    return {
        "number": t.number,
        "service": t.service,
        "service_name": svc.name if svc else t.service,
        "issued_at": iso(t.issued_at),
        "ahead": ahead,
        "est_wait_s": est_wait_s(hall, s, t.service, ahead, t.id) if t.status in QUEUED else 0,
        "priority": t.priority,
        "code": t.code,
        "status": str(t.status),
        # extensions (PROTOCOL additions in docs/protocol-extensions.md)
        "source": str(t.source),
        "appointment": t.appointment is not None,
        "counter": t.counter if t.status in (TicketStatus.CALLED, TicketStatus.SERVING) else None,
        "counter_name": counter.name if counter and t.status in
        (TicketStatus.CALLED, TicketStatus.SERVING) else None,
    }


def counter_view(hall: Hall, s: HallState, cid: str, now: datetime) -> dict[str, Any]:
    ct = s.counters[cid]
    conf = hall.counter(cid)
    assert conf is not None
    current = s.tickets.get(ct.current) if ct.current is not None else None
    ticket = None
    if current is not None:
        ticket = {
            "number": current.number,
            "service": current.service,
            "called_at": iso(current.called_at),
            "recalls": current.recalls,
            "status": str(current.status),
            "issued_at": iso(current.issued_at),
            "priority": current.priority,
            "appointment": current.appointment is not None,
            # the filings (预登记) it carries: numbers only, no personal data (issue 10)
            "filing": (linked_filings(s, current.id) or [None])[-1],
            "filings": linked_filings(s, current.id),
        }
    same_day = ct.served_day == now.date()
    last = s.tickets.get(ct.last_served) if ct.last_served is not None else None
    last_served = None
    if last is not None and last.status is TicketStatus.DONE and last.day == now.date():
        svc = hall.service(last.service)
        last_served = {
            "number": last.number,
            "service": last.service,
            "service_name": svc.name if svc else last.service,
            "at": iso(last.finished_at),
            "rated": last.rated,
        }
    return {
        "counter": cid,
        "name": conf.name,
        "status": str(ct.status),
        "ticket": ticket,
        "at": iso(now),
        "pause_reason": ct.pause_reason if ct.status is CounterStatus.PAUSED else None,
        "services": list(conf.service_codes),
        "served_today": ct.served if same_day else 0,
        "no_show_today": ct.no_show if same_day else 0,
        "last_served": last_served,
    }


def no_show_view(hall: Hall, t: Ticket) -> dict[str, Any]:
    svc = hall.service(t.service)
    return {
        "number": t.number,
        "service": t.service,
        "service_name": svc.name if svc else t.service,
        "issued_at": iso(t.issued_at),
        "no_show_at": iso(t.finished_at),
        "priority": t.priority,
        "appointment": t.appointment is not None,
    }


def service_view(hall: Hall, s: HallState, code: str, now: datetime) -> dict[str, Any]:
    svc = hall.service(code)
    assert svc is not None
    waiting = len(s.queue(code))
    return {
        "service": code,
        "name": svc.name,
        "waiting": waiting,
        "est_wait_s": est_wait_s(hall, s, code, waiting),
        "at": iso(now),
        "open": svc.hours.is_open(now),
        "hours": svc.hours.describe(now.date()),
    }


def public_wait(hall: Hall, s: HallState, now: datetime) -> dict[str, Any]:
    services = []
    for svc in hall.services:
        v = service_view(hall, s, svc.code, now)
        services.append({k: v[k] for k in ("service", "name", "waiting", "est_wait_s", "open")})
    counters = []
    for conf in hall.counters:
        ct = s.counters[conf.id]
        cur = s.tickets.get(ct.current) if ct.current is not None else None
        counters.append({
            "counter": conf.id,
            "name": conf.name,
            "status": str(ct.status),
            "serving": cur.number if cur is not None else None,
        })
    return {"hall": hall.id, "name": hall.name, "at": iso(now), "services": services,
            "counters": counters}
