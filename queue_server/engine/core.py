"""The queue engine: pure rules, no I/O.

`decide(state, command, ctx)` reads the state and returns the events a command
causes (or raises Refusal); `apply(state, event)` changes the state. The server
applies events, commits them with the reply, and only then answers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .. import estimate
from ..config import Hall
from ..errors import Refusal
from ..filing import rules as filing_rules  # self-service filing (issue 10): its ops and events
from ..idnumber import age_on
from . import booking
from . import commands as c
from .model import (
    QUEUED,
    Appointment,
    AppointmentStatus,
    Counter,
    CounterStatus,
    HallState,
    Rating,
    Source,
    Ticket,
    TicketStatus,
)

CHECKIN_EARLY = timedelta(minutes=30)


class EventKind(StrEnum):
    ISSUED = "issued"
    CALLED = "called"
    STARTED = "started"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    REQUEUED = "requeued"
    TRANSFERRED = "transferred"
    COUNTER_OPENED = "counter_opened"
    COUNTER_CLOSED = "counter_closed"
    COUNTER_PAUSED = "counter_paused"
    COUNTER_RESUMED = "counter_resumed"
    RATED = "rated"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    at: datetime
    ticket: int | None = None
    counter: str | None = None
    appointment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    new: Ticket | Appointment | Rating | None = None


@dataclass(frozen=True)
class Context:
    now: datetime  # aware, in the hall's time zone, never earlier than the last event
    new_code: Callable[[], str]


@dataclass
class Decision:
    events: list[Event]
    refusal: Refusal | None = None  # effects that stand, and yet a refusal to report


# --------------------------------------------------------------------------- decide


def decide(hall: Hall, s: HallState, cmd: c.Command, ctx: Context) -> Decision:
    handler = _DECIDERS.get(type(cmd)) or filing_rules.DECIDERS.get(type(cmd))
    if handler is None:
        raise Refusal("BAD_REQUEST", f"unknown command {type(cmd).__name__}")
    if isinstance(cmd, c.CounterCommand) and cmd.counter not in s.counters:
        raise Refusal("UNKNOWN_COUNTER", cmd.counter)
    if isinstance(cmd, c.CounterCommand) and cmd.expect is not None:
        current = s.counters[cmd.counter].current
        shown = s.tickets[current].number if current is not None else ""
        if shown != cmd.expect:
            raise Refusal("CURRENT_CHANGED", f"{cmd.counter}: {shown or '-'} now")
    out = handler(hall, s, cmd, ctx)
    return out if isinstance(out, Decision) else Decision(out)


def _unique_code(s: HallState, ctx: Context) -> str:
    while True:
        code = ctx.new_code()
        if code not in s.by_code and code not in s.appointments:
            return code


def _new_ticket(
    hall: Hall, s: HallState, ctx: Context, service: str, source: Source, priority: bool,
    id_hash: str | None = None, appointment: str | None = None, ignore_cap: bool = False,
) -> Ticket:
    day = ctx.now.date()
    seq = s.seq.get((day, service), 0) + 1
    svc = hall.service(service)
    assert svc is not None
    if seq > svc.daily_cap and not ignore_cap:
        raise Refusal("DAILY_CAP_REACHED", f"{service} cap {svc.daily_cap}")
    return Ticket(
        id=s.next_id, day=day, seq=seq, origin=service, service=service,
        issued_at=ctx.now, queued_at=ctx.now, source=source, priority=priority,
        code=_unique_code(s, ctx), id_hash=id_hash, appointment=appointment,
    )


def _decide_issue(hall: Hall, s: HallState, cmd: c.Issue, ctx: Context) -> list[Event]:
    svc = hall.service(cmd.service)
    if svc is None:
        raise Refusal("UNKNOWN_SERVICE", cmd.service)
    if not svc.hours.is_open(ctx.now):
        raise Refusal("SERVICE_CLOSED", cmd.service, hours=svc.hours.describe(ctx.now.date()))
    if cmd.id_hash is not None:
        held = s.holders.get((cmd.id_hash, cmd.service))
        if held is not None and s.tickets[held].status in QUEUED:
            raise Refusal("DUPLICATE_TICKET", cmd.service, ticket_id=held)
    elder = cmd.birth is not None and age_on(cmd.birth, ctx.now.date()) >= hall.elder_age
    t = _new_ticket(hall, s, ctx, cmd.service, cmd.source, cmd.priority or elder, cmd.id_hash)
    return [Event(EventKind.ISSUED, ctx.now, ticket=t.id, new=t,
                  data={"service": t.service, "number": t.number, "source": t.source,
                        "priority": t.priority, "elder": elder})]


def _decide_checkin(hall: Hall, s: HallState, cmd: c.Checkin, ctx: Context) -> Decision:
    a = s.appointments.get(cmd.code)
    if a is None:
        raise Refusal("UNKNOWN_APPOINTMENT", cmd.code)
    if a.status is AppointmentStatus.CANCELLED:
        raise Refusal("APPOINTMENT_CANCELLED", cmd.code)
    if a.status is AppointmentStatus.CHECKED_IN and a.ticket is not None:
        return Decision([])  # checked in before: the same ticket again (reprint)
    if ctx.now < a.slot_start - CHECKIN_EARLY:
        raise Refusal("APPOINTMENT_NOT_DUE", cmd.code, slot_start=a.slot_start.isoformat())
    if ctx.now >= a.slot_end:
        raise Refusal("APPOINTMENT_EXPIRED", cmd.code)
    t = _new_ticket(hall, s, ctx, a.service, Source.APPOINTMENT, True, a.id_hash, a.code,
                    ignore_cap=True)
    return Decision([
        Event(EventKind.ISSUED, ctx.now, ticket=t.id, appointment=a.code, new=t,
              data={"service": t.service, "number": t.number, "source": t.source,
                    "priority": True}),
        Event(EventKind.CHECKED_IN, ctx.now, ticket=t.id, appointment=a.code),
    ])


def _decide_lookup(hall: Hall, s: HallState, cmd: c.Lookup, ctx: Context) -> list[Event]:
    if cmd.appointment is not None:
        a = s.appointments.get(cmd.appointment)
        if a is None:
            raise Refusal("UNKNOWN_APPOINTMENT", cmd.appointment)
        if a.status is AppointmentStatus.CANCELLED:
            raise Refusal("APPOINTMENT_CANCELLED", cmd.appointment)
        if a.ticket is None or a.ticket not in s.tickets:
            raise Refusal("APPOINTMENT_NOT_CHECKED_IN", cmd.appointment)
    if find_ticket(s, cmd, ctx) is None:
        raise Refusal("UNKNOWN_TICKET", cmd.number or "")
    return []


def find_ticket(s: HallState, cmd: c.Lookup, ctx: Context) -> Ticket | None:
    if cmd.appointment is not None:
        a = s.appointments.get(cmd.appointment)
        return s.tickets.get(a.ticket) if a is not None and a.ticket is not None else None
    if cmd.code is not None:
        tid = s.by_code.get(cmd.code)
        return s.tickets.get(tid) if tid is not None else None
    return s.ticket_by_number(cmd.number or "", ctx.now.date())


def _decide_book(hall: Hall, s: HallState, cmd: c.Book, ctx: Context) -> list[Event]:
    svc = hall.service(cmd.service)
    if svc is None:
        raise Refusal("UNKNOWN_SERVICE", cmd.service)
    start = cmd.slot_start.astimezone(ctx.now.tzinfo)
    end = cmd.slot_end.astimezone(ctx.now.tzinfo)
    # A slot may cross midnight (a hall open round the clock): hours are checked at both
    # ends below. Requiring one calendar day made bookings fail from 23:30 on.
    if end <= start or start <= ctx.now:
        raise Refusal("BAD_SLOT", "slot must be in the future and end after it starts")
    if not (svc.hours.is_open(start) and svc.hours.is_open(end - timedelta(minutes=1))):
        raise Refusal("BAD_SLOT", "slot outside service hours")
    if cmd.id_hash is not None:
        for a in s.appointments.values():
            if (a.id_hash == cmd.id_hash and a.status is not AppointmentStatus.CANCELLED
                    and a.slot_start.date() == start.date()):
                raise Refusal("DUPLICATE_APPOINTMENT", a.code)
    booking.check_book(hall, s, cmd.service, start, end, ctx.now)
    a = Appointment(code=_unique_code(s, ctx), service=cmd.service, slot_start=start,
                    slot_end=end, booked_at=ctx.now, id_hash=cmd.id_hash)
    return [Event(EventKind.BOOKED, ctx.now, appointment=a.code, new=a,
                  data={"service": a.service, "slot_start": start.isoformat(),
                        "slot_end": end.isoformat()})]


def _decide_cancel(hall: Hall, s: HallState, cmd: c.Cancel, ctx: Context) -> list[Event]:
    a = s.appointments.get(cmd.code)
    if a is None:
        raise Refusal("UNKNOWN_APPOINTMENT", cmd.code)
    if a.status is AppointmentStatus.CHECKED_IN:
        raise Refusal("APPOINTMENT_USED", cmd.code)
    if a.status is AppointmentStatus.CANCELLED:
        return []
    booking.check_cancel(hall, a, ctx.now)
    return [Event(EventKind.CANCELLED, ctx.now, appointment=a.code)]


def _counter_ready(s: HallState, cid: str) -> Counter:
    ct = s.counters[cid]
    if ct.status is CounterStatus.CLOSED:
        raise Refusal("COUNTER_CLOSED", cid)
    if ct.status is CounterStatus.PAUSED:
        raise Refusal("COUNTER_PAUSED", cid)
    return ct


def _current(s: HallState, cid: str) -> Ticket:
    ct = s.counters[cid]
    if ct.current is None:
        raise Refusal("NO_CURRENT", cid)
    return s.tickets[ct.current]


def _decide_open(hall: Hall, s: HallState, cmd: c.Open, ctx: Context) -> list[Event]:
    if s.counters[cmd.counter].status is CounterStatus.OPEN:
        return []
    return [Event(EventKind.COUNTER_OPENED, ctx.now, counter=cmd.counter)]


def _decide_close(hall: Hall, s: HallState, cmd: c.Close, ctx: Context) -> list[Event]:
    ct = s.counters[cmd.counter]
    if ct.current is not None:
        raise Refusal("COUNTER_BUSY", cmd.counter)
    if ct.status is CounterStatus.CLOSED:
        return []
    return [Event(EventKind.COUNTER_CLOSED, ctx.now, counter=cmd.counter)]


def _decide_pause(hall: Hall, s: HallState, cmd: c.Pause, ctx: Context) -> list[Event]:
    ct = s.counters[cmd.counter]
    if ct.status is CounterStatus.CLOSED:
        raise Refusal("COUNTER_CLOSED", cmd.counter)
    if ct.status is CounterStatus.PAUSED and ct.pause_reason == cmd.reason:
        return []
    return [Event(EventKind.COUNTER_PAUSED, ctx.now, counter=cmd.counter,
                  data={"reason": cmd.reason})]


def _decide_resume(hall: Hall, s: HallState, cmd: c.Resume, ctx: Context) -> list[Event]:
    ct = s.counters[cmd.counter]
    if ct.status is CounterStatus.CLOSED:
        raise Refusal("COUNTER_CLOSED", cmd.counter)
    if ct.status is CounterStatus.OPEN:
        return []
    return [Event(EventKind.COUNTER_RESUMED, ctx.now, counter=cmd.counter)]


def next_for(hall: Hall, s: HallState, cid: str, now: datetime) -> Ticket | None:
    """The ticket counter `cid` calls next, or None.

    Tickets transferred to this very counter come first, then the classes in order
    (transferred to a service, priority, the rest). Within a class the head of each
    served queue competes by waited time × the counter's weight for that service, so
    equal weights mean plain first come, first served and no queue starves.
    """
    own = s.counter_transfers.get(cid)
    if own:
        return s.tickets[next(iter(own))]
    counter = hall.counter(cid)
    assert counter is not None
    for k in range(3):
        best: tuple[float, datetime, int] | None = None
        for cs in counter.services:
            q = s.queues.get(cs.code)
            if q is None:
                continue
            cls = q.classes()[k]
            if not cls:
                continue
            t = s.tickets[next(iter(cls))]
            key = (-(now - t.queued_at).total_seconds() * cs.weight, t.queued_at, t.id)
            if best is None or key < best:
                best = key
        if best is not None:
            return s.tickets[best[2]]
    return None


def _call(s: HallState, t: Ticket, cid: str, now: datetime, recall: bool) -> Event:
    return Event(EventKind.CALLED, now, ticket=t.id, counter=cid,
                 data={"number": t.number, "service": t.service, "recall": recall})


def _end_current(s: HallState, cid: str, now: datetime) -> list[Event]:
    ct = s.counters[cid]
    if ct.current is None:
        return []
    t = s.tickets[ct.current]
    return [Event(EventKind.FINISHED, now, ticket=t.id, counter=cid,
                  data={"number": t.number, "service": t.service})]


def _decide_call_next(hall: Hall, s: HallState, cmd: c.CallNext, ctx: Context) -> Decision:
    _counter_ready(s, cmd.counter)
    events = _end_current(s, cmd.counter, ctx.now)
    nxt = next_for(hall, s, cmd.counter, ctx.now)
    if nxt is None:
        return Decision(events, Refusal("NO_WAITING", cmd.counter))
    events.append(_call(s, nxt, cmd.counter, ctx.now, recall=False))
    return Decision(events)


def _decide_recall(hall: Hall, s: HallState, cmd: c.Recall, ctx: Context) -> list[Event]:
    t = _current(s, cmd.counter)
    return [_call(s, t, cmd.counter, ctx.now, recall=True)]


def _decide_start(hall: Hall, s: HallState, cmd: c.Start, ctx: Context) -> list[Event]:
    t = _current(s, cmd.counter)
    if t.status is TicketStatus.SERVING:
        return []
    return [Event(EventKind.STARTED, ctx.now, ticket=t.id, counter=cmd.counter)]


def _decide_skip(hall: Hall, s: HallState, cmd: c.Skip, ctx: Context) -> list[Event]:
    t = _current(s, cmd.counter)
    return [Event(EventKind.NO_SHOW, ctx.now, ticket=t.id, counter=cmd.counter,
                  data={"number": t.number, "service": t.service})]


def _decide_finish(hall: Hall, s: HallState, cmd: c.Finish, ctx: Context) -> list[Event]:
    _current(s, cmd.counter)
    return _end_current(s, cmd.counter, ctx.now)


def _decide_requeue(hall: Hall, s: HallState, cmd: c.Requeue, ctx: Context) -> list[Event]:
    t = s.ticket_by_number(cmd.number, ctx.now.date())
    if t is None:
        raise Refusal("UNKNOWN_TICKET", cmd.number)
    if t.status is not TicketStatus.NO_SHOW or t.day != ctx.now.date():
        raise Refusal("NOT_NO_SHOW", cmd.number)
    return [Event(EventKind.REQUEUED, ctx.now, ticket=t.id, counter=cmd.counter,
                  data={"number": t.number, "service": t.service})]


def _decide_transfer(hall: Hall, s: HallState, cmd: c.Transfer, ctx: Context) -> list[Event]:
    t = _current(s, cmd.counter)
    if cmd.to_counter is not None:
        if cmd.to_counter not in s.counters:
            raise Refusal("UNKNOWN_COUNTER", cmd.to_counter)
        if cmd.to_counter == cmd.counter:
            raise Refusal("TRANSFER_SELF", cmd.to_counter)
        to_service = t.service
    else:
        if cmd.service is None or hall.service(cmd.service) is None:
            raise Refusal("UNKNOWN_SERVICE", cmd.service or "")
        to_service = cmd.service
    return [Event(EventKind.TRANSFERRED, ctx.now, ticket=t.id, counter=cmd.counter,
                  data={"number": t.number, "from_service": t.service,
                        "service": to_service, "to_counter": cmd.to_counter})]


def _decide_rate(hall: Hall, s: HallState, cmd: c.Rate, ctx: Context) -> list[Event]:
    if not 1 <= cmd.level <= 5:
        raise Refusal("BAD_LEVEL", str(cmd.level))
    t = s.ticket_by_number(cmd.number, ctx.now.date())
    if t is None:
        raise Refusal("UNKNOWN_TICKET", cmd.number)
    if t.status is not TicketStatus.DONE or t.counter != cmd.counter:
        raise Refusal("NOT_SERVED_HERE", cmd.number)
    if t.rated or t.id in s.ratings:
        raise Refusal("ALREADY_RATED", cmd.number)
    bad = cmd.level <= hall.rating.reason_required_at_or_below
    if bad and not cmd.reason:
        raise Refusal("REASON_REQUIRED", cmd.number)
    r = Rating(ticket=t.id, number=t.number, counter=cmd.counter, level=cmd.level, at=ctx.now,
               reason=cmd.reason, comment=cmd.comment,
               follow_up_due=ctx.now + timedelta(days=hall.rating.follow_up_days) if bad else None)
    return [Event(EventKind.RATED, ctx.now, ticket=t.id, counter=cmd.counter, new=r,
                  data={"number": t.number, "level": cmd.level, "bad": bad})]


def _decide_no_shows(hall: Hall, s: HallState, cmd: c.NoShows, ctx: Context) -> list[Event]:
    return []  # a read: the result is built from the state (Engine._result)


def no_shows_for(hall: Hall, s: HallState, cid: str, day: Any) -> list[Ticket]:
    """Today's no-show tickets counter `cid` may call back: those of the services it
    serves and those it skipped itself; the most recent first."""
    conf = hall.counter(cid)
    served = set(conf.service_codes) if conf is not None else set()
    found = [t for t in s.tickets.values()
             if t.status is TicketStatus.NO_SHOW and t.day == day
             and (t.service in served or t.counter == cid)]
    found.sort(key=lambda t: (t.finished_at or t.issued_at, t.id), reverse=True)
    return found


_DECIDERS: dict[type, Callable[..., Any]] = {
    c.Issue: _decide_issue, c.Checkin: _decide_checkin, c.Lookup: _decide_lookup,
    c.Book: _decide_book, c.Cancel: _decide_cancel, c.Open: _decide_open,
    c.Close: _decide_close, c.Pause: _decide_pause, c.Resume: _decide_resume,
    c.CallNext: _decide_call_next, c.Recall: _decide_recall, c.Start: _decide_start,
    c.Skip: _decide_skip, c.Finish: _decide_finish, c.Requeue: _decide_requeue,
    c.Transfer: _decide_transfer, c.Rate: _decide_rate, c.NoShows: _decide_no_shows,
}


# --------------------------------------------------------------------------- apply


def enqueue(s: HallState, t: Ticket) -> None:
    if t.status is TicketStatus.TRANSFERRED and t.target_counter is not None:
        s.transfers_to(t.target_counter)[t.id] = None
    else:
        s.queue(t.service).add(t)


def dequeue(s: HallState, t: Ticket) -> None:
    if t.target_counter is not None:
        s.transfers_to(t.target_counter).pop(t.id, None)
    s.queue(t.service).remove(t.id)


def index_ticket(s: HallState, t: Ticket) -> None:
    s.tickets[t.id] = t
    s.by_code[t.code] = t.id
    s.by_number[(t.day, t.number)] = t.id
    s.next_id = max(s.next_id, t.id + 1)
    key = (t.day, t.origin)
    s.seq[key] = max(s.seq.get(key, 0), t.seq)
    if t.id_hash is not None and t.status in QUEUED:
        s.holders[(t.id_hash, t.service)] = t.id
    if t.status in QUEUED:
        enqueue(s, t)


def _release_holder(s: HallState, t: Ticket) -> None:
    if t.id_hash is not None and s.holders.get((t.id_hash, t.service)) == t.id:
        del s.holders[(t.id_hash, t.service)]


def _leave_counter(s: HallState, t: Ticket) -> None:
    if t.counter is not None:
        ct = s.counters[t.counter]
        if ct.current == t.id:
            ct.current = None


def apply(s: HallState, e: Event) -> None:
    s.last_at = e.at if s.last_at is None else max(s.last_at, e.at)
    if filing_rules.apply(s, e):
        return
    t = s.tickets.get(e.ticket) if e.ticket is not None else None
    k = e.kind
    if k is EventKind.ISSUED:
        assert isinstance(e.new, Ticket)
        index_ticket(s, replace(e.new))
    elif k is EventKind.CALLED:
        assert t is not None and e.counter is not None
        if t.status in QUEUED:
            dequeue(s, t)
            _release_holder(s, t)
            t.target_counter = None
        if t.counter is not None and t.counter != e.counter:
            _leave_counter(s, t)
        t.status = TicketStatus.CALLED if t.status is not TicketStatus.SERVING else t.status
        t.counter = e.counter
        if e.data.get("recall"):
            t.recalls += 1
        else:
            t.called_at, t.recalls = e.at, 0
        s.counters[e.counter].current = t.id
    elif k is EventKind.STARTED:
        assert t is not None
        t.status, t.started_at = TicketStatus.SERVING, e.at
    elif k is EventKind.FINISHED:
        assert t is not None and e.counter is not None
        t.status, t.finished_at = TicketStatus.DONE, e.at
        _leave_counter(s, t)
        s.counters[e.counter].count(e.at.date(), served=1)
        s.counters[e.counter].last_served = t.id
        began = t.started_at or t.called_at
        if began is not None:
            times = s.service_times.setdefault(t.service, deque(maxlen=estimate.RECENT))
            times.append(max(0.0, (e.at - began).total_seconds()))
    elif k is EventKind.NO_SHOW:
        assert t is not None and e.counter is not None
        t.status, t.finished_at = TicketStatus.NO_SHOW, e.at
        _leave_counter(s, t)
        s.counters[e.counter].count(e.at.date(), no_show=1)
    elif k is EventKind.REQUEUED:
        assert t is not None
        t.status, t.queued_at, t.finished_at = TicketStatus.WAITING, e.at, None
        t.counter, t.called_at, t.started_at, t.recalls = None, None, None, 0
        enqueue(s, t)
        if t.id_hash is not None:
            s.holders[(t.id_hash, t.service)] = t.id
    elif k is EventKind.TRANSFERRED:
        assert t is not None
        _leave_counter(s, t)
        t.status, t.queued_at = TicketStatus.TRANSFERRED, e.at
        t.service = e.data["service"]
        t.target_counter = e.data.get("to_counter")
        t.called_at, t.started_at, t.recalls = None, None, 0
        t.transfers += 1
        enqueue(s, t)
    elif k is EventKind.COUNTER_OPENED or k is EventKind.COUNTER_RESUMED:
        ct = s.counters[e.counter or ""]
        ct.status, ct.pause_reason, ct.since = CounterStatus.OPEN, None, e.at
    elif k is EventKind.COUNTER_PAUSED:
        ct = s.counters[e.counter or ""]
        ct.status, ct.pause_reason, ct.since = CounterStatus.PAUSED, e.data.get("reason"), e.at
    elif k is EventKind.COUNTER_CLOSED:
        ct = s.counters[e.counter or ""]
        ct.status, ct.pause_reason, ct.since = CounterStatus.CLOSED, None, e.at
    elif k is EventKind.RATED:
        assert isinstance(e.new, Rating) and t is not None
        s.ratings[t.id] = replace(e.new)
        t.rated = True
    elif k is EventKind.BOOKED:
        assert isinstance(e.new, Appointment)
        s.appointments[e.new.code] = replace(e.new)
    elif k is EventKind.CANCELLED:
        s.appointments[e.appointment or ""].status = AppointmentStatus.CANCELLED
    elif k is EventKind.CHECKED_IN:
        a = s.appointments[e.appointment or ""]
        a.status, a.ticket = AppointmentStatus.CHECKED_IN, e.ticket
    else:  # pragma: no cover - every kind is handled above
        raise ValueError(k)


def new_state(hall: Hall) -> HallState:
    s = HallState()
    for ct in hall.counters:
        s.counters[ct.id] = Counter(ct.id)
    return s


def prune(s: HallState, keep_from: Any) -> list[int]:
    """Forget closed tickets issued before `keep_from` (a date); returns their ids."""
    gone = [t.id for t in s.tickets.values() if t.day < keep_from and not t.is_open]
    for tid in gone:
        t = s.tickets.pop(tid)
        s.by_code.pop(t.code, None)
        s.by_number.pop((t.day, t.number), None)
        s.ratings.pop(tid, None)
    for key in [k for k in s.seq if k[0] < keep_from]:
        del s.seq[key]
    return gone

