"""Wait estimates, learned from the hall's own history.

Replaces the first model (tickets ahead × median service time ÷ counters, kept in
estimate.py as the baseline). What it learns, from every ticket the engine still holds
(today's and the recent days' not yet pruned) that a counter called and ended:

- the time a call takes (service, or the wait before a no-show is skipped) per
  service × counter × hour, shrunk towards the same counter over the day, the service
  over the hall, and the config's typical minutes when there are few samples;

and what it looks at now:

- which counters serving the service are open (paused and closed ones add nothing),
  and how much of each one's time goes to this service (its weight × that queue's
  length against its other queues);
- the tickets ahead, where `ahead` already counts transferred and priority tickets
  of the queue, plus those transferred to one of these counters by name;
- whether a counter is free now (the next call comes at once) or all are busy
  (on average half a call time away);
- the service's pace over the last 30 minutes (calls per minute), blended half and
  half with the per-counter figure when there were at least 4 calls: it catches what
  the shares miss (how the counters' selection really splits their time);
- the hall's usual rhythm from earlier days still held: per 15 minutes of the day, the
  service's calls while it had a queue (what its counters manage then, not what
  arrivals allowed) and the priority tickets that arrived and went first. Beyond the
  next 30 minutes the wait runs on at that pace (within them, half and half with the
  present one), so a lunch break, or a counter that closes every afternoon, is in the
  figure before it happens.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Hall
from .engine.model import CounterStatus, HallState, TicketStatus

PRIOR_WEIGHT = 4.0  # samples' worth of trust in the level above (shrinkage)
ENDED = (TicketStatus.DONE, TicketStatus.NO_SHOW)
WINDOW = timedelta(minutes=30)  # recent calls of a service: its pace right now
MIN_CALLS = 4
OBSERVED_TRUST = 0.5  # blend of the recent pace with the per-counter model (best in bench)
SLOT = timedelta(minutes=15)
ANY = "*"  # slot_calls key for calls of any service
NEAR = timedelta(minutes=30)  # how far ahead the present pace is trusted over history


@dataclass
class Stats:
    n: int = 0
    total: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        self.total += x

    def shrunk(self, prior: float) -> float:
        return (self.total + PRIOR_WEIGHT * prior) / (self.n + PRIOR_WEIGHT)


@dataclass
class History:
    calls: dict[str, list[datetime]] = field(default_factory=dict)  # sorted call times
    by_service: dict[str, Stats] = field(default_factory=dict)
    by_counter: dict[tuple[str, str], Stats] = field(default_factory=dict)
    by_hour: dict[tuple[str, str, int], Stats] = field(default_factory=dict)
    # Earlier days: calls and priority tickets per service per SLOT of the day, and how
    # many days that covers — the hall's usual rhythm (lunch, a counter that closes).
    days: int = 0
    slot_calls: dict[tuple[str, int], int] = field(default_factory=dict)
    slot_priority: dict[tuple[str, int], int] = field(default_factory=dict)

    # Days on which the service had someone waiting in that slot: its calls per such
    # slot are what its counters can do then, not what arrivals allowed.
    slot_backlog: dict[tuple[str, int], int] = field(default_factory=dict)

    def slot_rate(self, table: dict[tuple[str, int], int], service: str,
                  slot: int) -> float:
        return table.get((service, slot), 0) / (self.days * SLOT.total_seconds())

    def capacity(self, service: str, slot: int) -> float | None:
        """Calls per second of `service` in `slot` on earlier days while it had a queue;
        None when it never had one then (nothing learned about its pace)."""
        days = self.slot_backlog.get((service, slot), 0)
        if days == 0:
            return None
        return self.slot_calls.get((service, slot), 0) / (days * SLOT.total_seconds())

    def call_time_s(self, service: str, counter: str, hour: int, typical_s: float) -> float:
        p = self.by_service.get(service, Stats()).shrunk(typical_s)
        p = self.by_counter.get((service, counter), Stats()).shrunk(p)
        return self.by_hour.get((service, counter, hour), Stats()).shrunk(p)


def slot_of(t: datetime) -> int:
    return (t.hour * 60 + t.minute) // int(SLOT.total_seconds() // 60)


def learn(s: HallState) -> History:
    h = History()
    today = s.last_at.date() if s.last_at is not None else None
    past: set[object] = set()
    backlog: set[tuple[str, object, int]] = set()
    for t in s.tickets.values():
        if t.called_at is not None:
            h.calls.setdefault(t.service, []).append(t.called_at)
        if today is not None and t.day < today:
            past.add(t.day)
            if t.called_at is not None and t.called_at.date() == t.day:
                for key in ((t.service, slot_of(t.called_at)), (ANY, slot_of(t.called_at))):
                    h.slot_calls[key] = h.slot_calls.get(key, 0) + 1
                # It waited in its (last) queue from queued_at until called.
                waited_from = min(t.queued_at, t.called_at)
                for slot in range(slot_of(waited_from), slot_of(t.called_at) + 1):
                    backlog.add((t.service, t.day, slot))
            if t.priority:
                key = (t.origin, slot_of(t.issued_at))
                h.slot_priority[key] = h.slot_priority.get(key, 0) + 1
        if t.status not in ENDED or t.counter is None or t.finished_at is None:
            continue
        began = t.called_at if t.status is TicketStatus.NO_SHOW else (t.started_at or t.called_at)
        if began is None:
            continue
        x = max(0.0, (t.finished_at - began).total_seconds())
        h.by_service.setdefault(t.service, Stats()).add(x)
        h.by_counter.setdefault((t.service, t.counter), Stats()).add(x)
        h.by_hour.setdefault((t.service, t.counter, began.hour), Stats()).add(x)
    for times in h.calls.values():
        times.sort()
    h.days = len(past)
    for service, _day, slot in backlog:
        h.slot_backlog[(service, slot)] = h.slot_backlog.get((service, slot), 0) + 1
    return h


# A History per engine state, learned again only when a ticket has ended since.
_CACHE: dict[int, tuple[HallState, tuple[int, tuple[int | None, ...]], History]] = {}


def _ended(s: HallState) -> tuple[int, tuple[int | None, ...]]:
    return (sum(c.served + c.no_show for c in s.counters.values()),
            tuple(c.current for c in s.counters.values()))


def history(s: HallState) -> History:
    key = _ended(s)
    hit = _CACHE.get(id(s))
    if hit is None or hit[0] is not s or hit[1] != key:
        hit = (s, key, learn(s))
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[id(s)] = hit
    return hit[2]


def observed_rate(hist: History, service: str, now: datetime,
                  changed_at: datetime | None = None) -> float | None:
    """Calls per second of `service` over the last WINDOW, if there were enough and
    no counter serving it opened, paused or closed since (`changed_at`)."""
    times = hist.calls.get(service, [])
    first = bisect.bisect_left(times, now - WINDOW)
    n = len(times) - first
    if n < MIN_CALLS or (changed_at is not None and changed_at > times[first]):
        return None
    # Over the time since the first of them: a hall that opened ten minutes ago has
    # not been calling slowly for the other twenty.
    return n / max(60.0, (now - times[first]).total_seconds())


def wait_s(hall: Hall, s: HallState, service: str, ahead: int,
           now: datetime | None = None) -> int:
    """Seconds until a ticket of `service` with `ahead` tickets before it is called."""
    svc = hall.service(service)
    typical = (svc.service_minutes if svc else 10.0) * 60.0
    when = now or s.last_at
    hour = when.hour if when is not None else 10
    hist = history(s)
    configured = hall.counters_serving(service)
    open_now = [c for c in configured if s.counters[c.id].status is CounterStatus.OPEN]
    # With none open (early morning, everyone on break) the configured counters stand
    # in: residents need a figure, and the hall will open them.
    counters = open_now or list(configured)
    rate = 0.0
    extra = 0.0
    free = False
    for c in counters:
        weights = {cs.code: cs.weight for cs in c.services}
        load = {code: w * max(1, len(s.queue(code))) for code, w in weights.items()}
        share = load.get(service, 0) / sum(load.values()) if load else 0.0
        if share <= 0:
            continue
        rate += share / max(1.0, hist.call_time_s(service, c.id, hour, typical))
        extra += len(s.counter_transfers.get(c.id, ())) * share
        if c in open_now and s.counters[c.id].current is None:
            free = True
    if rate <= 0:
        return round(ahead * typical / max(1, len(counters)))
    if when is not None and open_now:
        changes = [s.counters[c.id].since for c in configured]
        changed_at = max((t for t in changes if t is not None), default=None)
        observed = observed_rate(hist, service, when, changed_at)
        if observed is not None:
            rate = OBSERVED_TRUST * observed + (1 - OBSERVED_TRUST) * rate
    residual = 0.0 if free else 0.5 / rate
    if when is None or hist.days == 0:
        return round((ahead + extra) / rate + residual)
    return round(residual + forecast(hist, service, when + timedelta(seconds=residual),
                                     ahead + extra, rate))


def forecast(hist: History, service: str, start: datetime, need: float,
             rate_now: float) -> float:
    """Seconds from `start` until `need` more calls of `service` have been made: at the
    present pace for the near term, then at the pace of earlier days slot by slot;
    priority tickets that earlier days saw arrive in the meantime go first."""
    t = start
    elapsed = 0.0
    for _ in range(4 * 24 * 2):  # at most two days ahead
        slot_end = t.replace(second=0, microsecond=0) + SLOT - timedelta(
            minutes=t.minute % int(SLOT.total_seconds() // 60))
        dt = (slot_end - t).total_seconds()
        slot = slot_of(t)
        usual = hist.capacity(service, slot)
        if elapsed < NEAR.total_seconds():
            rate = rate_now if usual is None else (rate_now + usual) / 2
        elif hist.slot_calls.get((ANY, slot), 0) == 0:
            rate = 0.0  # nobody was called then on earlier days: closed, or lunch
        else:  # the hall was calling; with no queue of this service then: present pace
            rate = usual if usual is not None else rate_now
        need += hist.slot_rate(hist.slot_priority, service, slot) * dt
        if rate > 0 and rate * dt >= need:
            return elapsed + need / rate
        need -= rate * dt
        elapsed += dt
        t = slot_end
    return elapsed
