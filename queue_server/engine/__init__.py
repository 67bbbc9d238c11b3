"""The hall's queue engine: pure rules over an in-memory state (no I/O, no clock).

    engine = Engine(hall)
    outcome = engine.handle(Issue("A", Source.WALK_IN), Context(now, new_code))
    outcome.reply  # {"ok": True, "ticket": {...}} without the request id
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import Hall
from ..errors import Refusal
from ..filing import rules as filing_rules
from ..filing.commands import FilingCommand
from . import commands
from .core import (
    Context,
    Event,
    EventKind,
    apply,
    decide,
    find_ticket,
    new_state,
    next_for,
    no_shows_for,
)
from .model import HallState, Ticket, TicketStatus
from .views import counter_view, no_show_view, public_wait, service_view, ticket_view

__all__ = [
    "Context", "Engine", "Event", "EventKind", "HallState", "Outcome", "Ticket", "TicketStatus",
    "commands", "next_for",
]


@dataclass
class Outcome:
    events: list[Event]
    reply: dict[str, Any]  # {"ok": ..., ...}; the caller adds the request id
    services: set[str] = field(default_factory=set)  # whose published state changed
    counters: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.events)


class Engine:
    def __init__(self, hall: Hall, state: HallState | None = None) -> None:
        self.hall = hall
        self.state = state if state is not None else new_state(hall)

    def handle(self, cmd: commands.Command, ctx: Context) -> Outcome:
        try:
            decision = decide(self.hall, self.state, cmd, ctx)
        except Refusal as r:
            return Outcome([], self._refused(r, ctx))
        for e in decision.events:
            apply(self.state, e)
        out = Outcome(decision.events, {})
        self._touch(out)
        if decision.refusal is not None:
            out.reply = self._refused(decision.refusal, ctx)
            if isinstance(cmd, commands.CounterCommand):
                out.reply["counter"] = counter_view(self.hall, self.state, cmd.counter, ctx.now)
        else:
            out.reply = {"ok": True, **self._result(cmd, decision.events, ctx)}
        return out

    # ---------------------------------------------------------------- results

    def _refused(self, r: Refusal, ctx: Context) -> dict[str, Any]:
        reply: dict[str, Any] = {"ok": False, "error": r.as_error()}
        held = r.extra.get("ticket_id")
        if held is not None:
            reply["ticket"] = ticket_view(self.hall, self.state, self.state.tickets[held])
        if "hours" in r.extra:
            reply["error"]["hours"] = r.extra["hours"]
        return reply

    def _result(self, cmd: Any, events: list[Event], ctx: Context) -> dict[str, Any]:
        s, hall = self.state, self.hall
        if isinstance(cmd, FilingCommand):  # self-service filing (issue 10)
            return filing_rules.result(hall, s, cmd, events, ctx)
        if isinstance(cmd, commands.Lookup):
            t = find_ticket(s, cmd, ctx)
            assert t is not None
            return {"ticket": ticket_view(hall, s, t)}
        if isinstance(cmd, commands.Checkin):
            a = s.appointments[cmd.code]
            assert a.ticket is not None
            result = {"ticket": ticket_view(hall, s, s.tickets[a.ticket])}
            if not events:
                result["reprint"] = True
            return result
        if isinstance(cmd, commands.Issue):
            return {"ticket": ticket_view(hall, s, s.tickets[events[0].ticket or 0])}
        if isinstance(cmd, commands.Book):
            a = s.appointments[events[0].appointment or ""]
            return {"code": a.code, "service": a.service,
                    "slot_start": a.slot_start.isoformat(), "slot_end": a.slot_end.isoformat()}
        if isinstance(cmd, commands.Cancel):
            return {}
        assert isinstance(cmd, commands.CounterCommand)
        result: dict[str, Any] = {"counter": counter_view(hall, s, cmd.counter, ctx.now)}
        ticket: Ticket | None = None
        current = s.counters[cmd.counter].current
        if current is not None:
            ticket = s.tickets[current]
        touched = [e.ticket for e in events if e.ticket is not None]
        if touched and (ticket is None or isinstance(cmd, commands.Rate | commands.Requeue)):
            ticket = s.tickets.get(touched[-1])
        if ticket is not None:
            result["ticket"] = ticket_view(hall, s, ticket)
        if isinstance(cmd, commands.NoShows):
            result["no_shows"] = [no_show_view(hall, t)
                                  for t in no_shows_for(hall, s, cmd.counter, ctx.now.date())]
        if isinstance(cmd, commands.Rate):
            r = s.ratings[events[0].ticket or 0]
            result["rating"] = {"level": r.level, "follow_up": r.follow_up_due is not None}
        return result

    def _touch(self, out: Outcome) -> None:
        for e in out.events:
            if e.counter is not None:
                out.counters.add(e.counter)
            if e.ticket is not None:
                t = self.state.tickets.get(e.ticket)
                if t is not None:
                    out.services.add(t.service)
                    if t.counter is not None:
                        out.counters.add(t.counter)
            for key in ("service", "from_service"):
                if isinstance(e.data.get(key), str):
                    out.services.add(e.data[key])
            if e.kind in (EventKind.COUNTER_OPENED, EventKind.COUNTER_CLOSED,
                          EventKind.COUNTER_PAUSED, EventKind.COUNTER_RESUMED,
                          EventKind.FINISHED):
                # open counters and service times feed every estimate of its services
                conf = self.hall.counter(e.counter or "")
                if conf is not None:
                    out.services.update(conf.service_codes)

    # ---------------------------------------------------------------- views

    def ticket_view(self, t: Ticket) -> dict[str, Any]:
        return ticket_view(self.hall, self.state, t)

    def counter_view(self, cid: str, now: datetime) -> dict[str, Any]:
        return counter_view(self.hall, self.state, cid, now)

    def service_view(self, code: str, now: datetime) -> dict[str, Any]:
        return service_view(self.hall, self.state, code, now)

    def public_wait(self, now: datetime) -> dict[str, Any]:
        return public_wait(self.hall, self.state, now)
