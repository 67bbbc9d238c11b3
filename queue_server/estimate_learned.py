"""Wait estimates, learned from the hall's own history, by running the hall forward.

Replaces the first model (tickets ahead × median service time ÷ counters, kept in
estimate.py as the baseline). Two parts:

`Learner` keeps what the hall did, updated per change it sees (O(counters) per look,
not a reread of every ticket):

- the time a call takes at a counter (service, or the wait before a no-show is
  skipped, or until a transfer) per service × counter × hour, shrunk towards the same
  counter over the day, the service over the hall, and the config's typical minutes;
- per earlier day and quarter hour: which counters were open (a lunch break, a counter
  that closes every afternoon) and how many tickets of each service arrived (priority
  ones apart: they go first). A counter that closed with tickets still waiting stopped
  calling before its close (halfway from its last call is taken); one that closed with
  nobody left waiting worked until its queue was empty, and is expected to do so again
  today (延时服务) rather than to close at the hour it happened to run dry.

It learns by comparing the counters with what it saw last (their ticket, ended count,
status and since): the engine stays pure, and a look costs microseconds. Should a
counter have ended more tickets than it could follow, it reads that counter's tickets
once. History from before a restart comes from the store (`seed`).

`Forecast` runs the hall forward from now: counters finish the ticket they have
(called_at + its expected call time), then pick the next one with the engine's own
rule (core.next_for: tickets transferred to that counter, then the classes transferred,
priority, the rest; within a class the head of each served queue by waited time ×
weight), taking the learned call times, opening and closing as on earlier days, while
the usual arrivals join (priority ones ahead). Every waiting ticket's call time comes
out of one run, so shared counters starving a service, priority tickets and transfers
are in the figure. One run per state change is cached; a ticket view reads from it.
"""

from __future__ import annotations

import heapq
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice

from .config import Hall
from .engine.model import CounterStatus, HallState, Ticket, TicketStatus

PRIOR_WEIGHT = 4.0  # samples' worth of trust in the level above (shrinkage)
ENDED = (TicketStatus.DONE, TicketStatus.NO_SHOW)
SLOT_MIN = 15
SLOTS = 24 * 60 // SLOT_MIN
KEEP_DAYS = 28  # earlier days whose rhythm is remembered
MAX_SAMPLE = 4.0  # a call over 4 × typical (left open overnight) counts as 4 ×
PAUSE_GUESS = timedelta(minutes=30)  # a paused counter with no history is back after this
OVERDUE_LEFT = 0.25  # a call past its expected time has this share of it left
HORIZON = timedelta(hours=36)
HORIZON_S = HORIZON.total_seconds()
SLOT_S = SLOT_MIN * 60
NEWCOMER = -10**9  # ids of the newcomers a run adds (one per service, counting down)
MAX_STEPS = 1000  # calls one run simulates at most (~7 ms); beyond, the service pace goes on
RESIM_SHARE = 20  # runs again once 1 in RESIM_SHARE of those waiting joined since
RESIM_AGE = timedelta(seconds=60)
FIRST_DAY_AHEAD = timedelta(hours=1)  # no earlier day: today's pace goes on this long
RECENT_SLOTS = 4  # … measured over the last hour
EXACT_WAITING = 40  # up to this many waiting, a run per change


@dataclass
class Stats:
    n: int = 0
    total: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        self.total += x

    def remove(self, x: float) -> None:
        self.n -= 1
        self.total -= x

    def shrunk(self, prior: float) -> float:
        return (self.total + PRIOR_WEIGHT * prior) / (self.n + PRIOR_WEIGHT)


def slot_of(t: datetime) -> int:
    return (t.hour * 60 + t.minute) // SLOT_MIN


def slot_start(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % SLOT_MIN, second=0, microsecond=0)


@dataclass
class _Seen:
    current: int | None
    began: datetime | None
    ended: tuple[date | None, int]
    status: CounterStatus
    since: datetime | None
    service: str | None  # of the ticket at it: a transfer changes the ticket's
    checked: datetime | None  # the last look that found it so


@dataclass
class Learner:
    hall: Hall
    by_service: dict[str, Stats] = field(default_factory=dict)
    by_counter: dict[tuple[str, str], Stats] = field(default_factory=dict)
    by_hour: dict[tuple[str, str, int], Stats] = field(default_factory=dict)
    # per day: (counter, slot) open at least half the slot; (service, slot) → arrivals
    open_slots: dict[date, set[tuple[str, int]]] = field(default_factory=dict)
    arrivals: dict[date, dict[tuple[str, int], int]] = field(default_factory=dict)
    priority: dict[date, dict[tuple[str, int], int]] = field(default_factory=dict)
    transfers: dict[date, dict[tuple[str, int], int]] = field(default_factory=dict)  # to service
    # per day: counters whose last close left nobody waiting for them (they stayed until
    # the queue was empty, 延时服务, rather than closing at a set time)
    drained: dict[date, set[str]] = field(default_factory=dict)
    # counter → its pauses (start, end): a call left open over lunch took that much less
    pauses: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    # ticket id → (service, counter, hour, seconds, finished_at) it taught: a ticket
    # called back (requeued) and ended again replaces its sample, as a reload would see it
    learned: dict[int, tuple[str, str, int, float, datetime]] = field(default_factory=dict)
    next_id: int = 1
    seen: dict[str, _Seen] = field(default_factory=dict)
    changes: int = 0  # bumped whenever something a forecast depends on changed
    forgot_for: date | None = None  # the day forget_old last ran for (once a day is enough)

    # ------------------------------------------------------------- learning

    def typical_s(self, service: str) -> float:
        svc = self.hall.service(service)
        return (svc.service_minutes if svc else 10.0) * 60.0

    def call_time_s(self, service: str, counter: str, hour: int) -> float:
        p = self.by_service.get(service, Stats()).shrunk(self.typical_s(service))
        p = self.by_counter.get((service, counter), Stats()).shrunk(p)
        return self.by_hour.get((service, counter, hour), Stats()).shrunk(p)

    def _stats(self, service: str, counter: str, hour: int) -> tuple[Stats, ...]:
        return (self.by_service.setdefault(service, Stats()),
                self.by_counter.setdefault((service, counter), Stats()),
                self.by_hour.setdefault((service, counter, hour), Stats()))

    def add_ended(self, t: Ticket, again: bool = False) -> bool:
        """Learn from an ended ticket; False when it taught this already (unless `again`:
        pauses learned since may change what it teaches)."""
        if t.status not in ENDED or t.counter is None or t.finished_at is None:
            return False
        old = self.learned.get(t.id)
        if old is not None and old[4] == t.finished_at and not again:
            return False
        began = t.called_at if t.status is TicketStatus.NO_SHOW else (t.started_at or t.called_at)
        if began is None:
            return False
        if old is not None:
            for st in self._stats(*old[:3]):
                st.remove(old[3])
        # capped against the config's figure, not the learned one: what is learned must
        # not depend on the order it is learned in (a reload learns in another order)
        x = min(max(0.0, (t.finished_at - began).total_seconds()
                    - self.paused_s(t.counter, began, t.finished_at)),
                MAX_SAMPLE * self.typical_s(t.service))
        for st in self._stats(t.service, t.counter, began.hour):
            st.add(x)
        self.learned[t.id] = (t.service, t.counter, began.hour, x, t.finished_at)
        self.changes += 1
        return True

    def add_pause(self, counter: str, start: datetime, end: datetime) -> None:
        self.pauses.setdefault(counter, []).append((start, end))

    def paused_s(self, counter: str, start: datetime, end: datetime) -> float:
        return sum(max(0.0, (min(end, b) - max(start, a)).total_seconds())
                   for a, b in self.pauses.get(counter, ()) if a < end and b > start)

    def add_transfer(self, service: str, at: datetime) -> None:
        day = self.transfers.setdefault(at.date(), {})
        key = (service, slot_of(at))
        day[key] = day.get(key, 0) + 1

    def add_arrival(self, t: Ticket) -> None:
        table = self.priority if t.priority else self.arrivals
        day = table.setdefault(t.issued_at.date(), {})
        key = (t.origin, slot_of(t.issued_at))
        day[key] = day.get(key, 0) + 1
        self.arrivals.setdefault(t.issued_at.date(), {})  # a day the hall issued tickets

    def add_open(self, counter: str, start: datetime, end: datetime) -> None:
        """Counter open from `start` to `end`: the slots it covered at least half of."""
        t = slot_start(start)
        half = timedelta(minutes=SLOT_MIN / 2)
        step = timedelta(minutes=SLOT_MIN)
        for _ in range(SLOTS * 2):  # at most two days: a counter left open overnight
            if t >= end:
                break
            covered = min(end, t + step) - max(start, t)
            if covered >= half:
                self.open_slots.setdefault(t.date(), set()).add((counter, slot_of(t)))
            t += step
        self.changes += 1

    def add_closed(self, counter: str, start: datetime, end: datetime,
                   tickets: Iterable[Ticket]) -> None:
        """Counter open from `start` until it closed at `end`; `tickets` are the hall's
        (of that day at least), to see how it closed.

        With tickets still waiting for it, it closed at a set time: the clerk stopped
        calling somewhere between the last call and the close (finishing that ticket),
        so the span ends halfway. With nobody waiting, it closed when its queue ran dry;
        the day's last such close marks a counter that serves whoever came (延时服务)."""
        services = {cs.code for cs in conf.services} if (
            conf := self.hall.counter(counter)) else set()
        last_call: datetime | None = None
        waiting = False
        for t in tickets:
            if t.counter == counter and t.called_at is not None \
                    and start <= t.called_at <= end:
                last_call = t.called_at if last_call is None else max(last_call, t.called_at)
            if not waiting and t.service in services and t.queued_at <= end \
                    and t.issued_at.date() == end.date() \
                    and (t.called_at is None or t.called_at > end):
                waiting = True
        if waiting and last_call is not None and last_call > start:
            end = last_call + (end - last_call) / 2
        self.add_open(counter, start, end)
        if end - start >= timedelta(minutes=SLOT_MIN / 2):  # not a reopen to clear the day
            day = self.drained.setdefault(end.date(), set())
            if waiting:
                day.discard(counter)
            else:
                day.add(counter)

    def forget_old(self, today: date) -> None:
        if today == self.forgot_for:  # called before every run: the work is once a day
            return
        self.forgot_for = today
        keep = today - timedelta(days=KEEP_DAYS)
        for table in (self.open_slots, self.arrivals, self.priority, self.transfers,
                      self.drained):
            for d in [d for d in table if d < keep]:
                del table[d]
        for spans in self.pauses.values():
            spans[:] = [(a, b) for a, b in spans if b.date() >= keep]

    # ------------------------------------------------------------- following the state

    def bind(self, s: HallState) -> None:
        """First look at a state: learn from every ticket it holds."""
        for t in s.tickets.values():
            self.add_ended(t)
            self.add_arrival(t)
        self.next_id = s.next_id
        for cid in s.counters:
            self.seen[cid] = self._snapshot(s, cid)
        self.changes += 1

    def _snapshot(self, s: HallState, cid: str) -> _Seen:
        ct = s.counters[cid]
        cur = s.tickets.get(ct.current) if ct.current is not None else None
        return _Seen(ct.current, cur.called_at if cur else None,
                     (ct.served_day, ct.served + ct.no_show), ct.status, ct.since,
                     cur.service if cur else None, s.last_at)

    def sync(self, s: HallState) -> None:
        """Catch up with the state: new tickets, and what each counter did since."""
        for tid in range(self.next_id, s.next_id):
            t = s.tickets.get(tid)
            if t is not None:
                self.add_arrival(t)
        if s.next_id != self.next_id:
            self.next_id = s.next_id
            if len(self.learned) > 50_000:  # tickets no longer held are not called back
                self.learned = {k: v for k, v in self.learned.items() if k in s.tickets}
        for cid, ct in s.counters.items():
            seen = self.seen.get(cid)
            ended = (ct.served_day, ct.served + ct.no_show)
            if seen is not None and seen.current == ct.current and seen.ended == ended \
                    and seen.since == ct.since and seen.status is ct.status:
                seen.checked = s.last_at
                continue
            self._counter_changed(s, cid, seen, ended)
            self.seen[cid] = self._snapshot(s, cid)

    def _counter_changed(self, s: HallState, cid: str, seen: _Seen | None,
                         ended: tuple[date | None, int]) -> None:
        self.changes += 1
        if seen is None:
            return
        ct = s.counters[cid]
        explained = 0
        if seen.status is CounterStatus.PAUSED and seen.since is not None \
                and (ct.status is not CounterStatus.PAUSED or ct.since != seen.since):
            # first: a ticket it finishes on coming back was not served while it was away
            until = ct.since if ct.since is not None and ct.since > seen.since else seen.checked
            if until is not None and until > seen.since:
                self.add_pause(cid, seen.since, until)
        if seen.current is not None and seen.current != ct.current:
            t = s.tickets.get(seen.current)
            if t is not None and t.status in ENDED and t.counter == cid:
                explained += self.add_ended(t)
            elif t is not None and t.status is TicketStatus.TRANSFERRED:
                # the time it took is not learned: a reload could not learn it again
                self.add_transfer(t.service, t.queued_at)
        if (seen.since != ct.since or seen.status is not ct.status) \
                and seen.status is CounterStatus.OPEN \
                and seen.since is not None and ct.since is not None:
            # Open → open again means a pause or close this learner did not see: it was
            # open until the last look at most.
            until = ct.since if ct.status is not CounterStatus.OPEN else seen.checked
            if until is not None and until > seen.since:
                if ct.status is CounterStatus.CLOSED:
                    self.add_closed(cid, seen.since, until, s.tickets.values())
                else:
                    self.add_open(cid, seen.since, until)
        before = seen.ended[1] if seen.ended[0] == ended[0] else 0
        if ended[1] - before > explained:
            # It ended tickets this learner never saw at it (no look in between): read
            # them once. Rare on the server, which looks after every batch it publishes.
            for t in s.tickets.values():
                if t.counter == cid and t.status in ENDED:
                    self.add_ended(t)

    # ------------------------------------------------------------- the usual day

    def past_days(self, today: date) -> list[date]:
        return sorted(d for d in self.open_slots if d < today)

    def open_share(self, counter: str, slot: int, days: list[date]) -> float:
        return sum((counter, slot) in self.open_slots[d] for d in days) / len(days)

    def drains(self, counter: str, days: list[date]) -> bool:
        """Whether on most earlier days it was open the counter stayed until nobody was
        left waiting for it."""
        opened = [d for d in days if any(c == counter for c, _ in self.open_slots[d])]
        return bool(opened) and sum(
            counter in self.drained.get(d, ()) for d in opened) * 2 > len(opened)

    def arrival_rate(self, table: dict[date, dict[tuple[str, int], int]], service: str,
                     slot: int, days: list[date]) -> float:
        """Arrivals per slot on the earlier days the hall issued tickets."""
        issued = [d for d in days if d in self.arrivals]
        if not issued:
            return 0.0
        return sum(table.get(d, {}).get((service, slot), 0) for d in issued) / len(issued)


# --------------------------------------------------------------------------- registry

_LEARNERS: dict[int, tuple[weakref.ref[HallState], Learner]] = {}


def learner(hall: Hall, s: HallState) -> Learner:
    """The learner following state `s` (made, and fed what `s` holds, on first use)."""
    hit = _LEARNERS.get(id(s))
    if hit is None or hit[0]() is not s:
        for key in [k for k, (ref, _) in _LEARNERS.items() if ref() is None]:
            del _LEARNERS[key]
        lr = Learner(hall)
        lr.bind(s)
        _LEARNERS[id(s)] = (weakref.ref(s), lr)
        return lr
    return hit[1]


def seed(hall: Hall, s: HallState, tickets: Iterable[Ticket],
         counter_events: Iterable[tuple[str, str, datetime]],
         transfers: Iterable[tuple[str, datetime]] = ()) -> Learner:
    """Start the learner of a freshly loaded state with what the store remembers:
    ended tickets of earlier days no longer in memory, the counters' status events
    (counter, event kind, at) in time order, from which their open hours are rebuilt,
    and the transfers (to service, at)."""
    tickets = list(tickets)
    lr = learner(hall, s)
    for service, at in transfers:
        lr.add_transfer(service, at)
    for t in tickets:
        if t.id not in s.tickets:
            lr.add_ended(t)
            lr.add_arrival(t)
    everyone = [*tickets, *(t for t in s.tickets.values())]
    by_day: dict[date, list[Ticket]] = {}  # 28 days × closes would rescan them all
    for t in everyone:
        by_day.setdefault(t.issued_at.date(), []).append(t)
    opened: dict[str, datetime] = {}
    paused: dict[str, datetime] = {}
    for cid, kind, at in counter_events:
        if cid in paused and kind != "counter_paused":
            lr.add_pause(cid, paused.pop(cid), at)
        if kind in ("counter_opened", "counter_resumed"):
            opened.setdefault(cid, at)
        elif kind == "counter_paused":
            paused.setdefault(cid, at)
            if cid in opened:
                lr.add_open(cid, opened.pop(cid), at)
        elif cid in opened:  # closed
            start = opened.pop(cid)
            lr.add_closed(cid, start, at, by_day.get(at.date(), []))
    for t in everyone:  # again, now that the pauses are known (bind learned the held ones)
        if t.counter in lr.pauses:
            lr.add_ended(t, again=True)
    return lr


# --------------------------------------------------------------------------- forecast


@dataclass
class Forecast:
    now: datetime
    at_ticket: dict[int, datetime]  # a waiting ticket's predicted call
    # predicted calls of a service's waiting tickets in queue order, then a newcomer's, as
    # far as the run reached
    by_service: dict[str, list[datetime]]
    interval: dict[str, float]  # seconds between calls of a service at the end of its queue
    issued: int  # s.next_id when it ran
    key: tuple[object, ...]

    def wait_s(self, service: str, ahead: int, ticket: int | None) -> int:
        at = self.at_ticket.get(ticket) if ticket is not None else None
        if at is None:
            # Beyond the tickets the run reached (a backlog past MAX_STEPS, no counter
            # within the horizon, or tickets issued since): the service's pace goes on.
            calls = self.by_service.get(service) or []
            if ahead < len(calls):
                at = calls[ahead]
            else:
                extra = (ahead - len(calls) + 1) * self.interval.get(service, 600.0)
                at = (calls[-1] if calls else self.now) + timedelta(seconds=extra)
        return max(0, round((at - self.now).total_seconds()))


class _Sim:
    """The hall run forward from `now` with the engine's selection rule.

    Times inside are float seconds after `now` (datetime arithmetic made a run about
    twice as slow); `forecast` turns them back into datetimes."""

    def __init__(self, hall: Hall, s: HallState, lr: Learner, now: datetime) -> None:
        self.hall, self.s, self.lr, self.now = hall, s, lr, now
        self.days = lr.past_days(now.date())
        self.queues: dict[str, tuple[deque, deque, deque]] = {
            svc.code: (deque(), deque(), deque()) for svc in hall.services}
        self.own: dict[str, deque] = {c.id: deque() for c in hall.counters}
        self.conf = {c.id: c for c in hall.counters}
        self.targets = 0
        self.calls: dict[int, float] = {}
        self.service_calls: dict[str, list[float]] = {}
        self.in_order: dict[str, list[float]] = {}  # calls of its waiting tickets, then newcomer
        self._call_time: dict[tuple[str, str, int], float] = {}
        self._open: dict[tuple[str, int], bool] = {}
        # seconds of the day at `now`: a time x after now lies in slot index
        # (day0 + x) // SLOT_S counted from this day's midnight
        self.day0 = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)
                     ).total_seconds()
        self.slot0 = int(self.day0 // SLOT_S)
        self.pause_s = PAUSE_GUESS.total_seconds()
        # counters that, on earlier days, served whoever was waiting past their usual
        # hours: after their usual last slot they stay while there is work, until they
        # open as usual the next day
        self.stays: dict[str, tuple[int, int]] = {}
        for c in hall.counters:
            if self.days and lr.drains(c.id, self.days):
                usual = [i for i in range(SLOTS) if lr.open_share(c.id, i, self.days) >= 0.5]
                if usual:
                    self.stays[c.id] = (usual[-1], SLOTS + usual[0])
        # Counters that stand in when none serving a service is open and no earlier day
        # says when they open (early morning on the first day): residents need a figure.
        # They stand in for those services only.
        self.assume_open: dict[str, set[str]] = {}
        if not self.days:
            for svc in hall.services:
                serving = hall.counters_serving(svc.code)
                if not any(s.counters[c.id].status is CounterStatus.OPEN for c in serving):
                    for c in serving:
                        if s.counters[c.id].status is not CounterStatus.OPEN:
                            self.assume_open.setdefault(c.id, set()).add(svc.code)

    def call_time(self, service: str, cid: str, x: float) -> float:
        hour = int((self.day0 + x) // 3600) % 24
        key = (service, cid, hour)
        v = self._call_time.get(key)
        if v is None:
            v = self._call_time[key] = max(1.0, self.lr.call_time_s(service, cid, hour))
        return v

    def _slot_open(self, cid: str, idx: int, x: float) -> bool:
        if cid in self.assume_open:
            return True
        if idx == self.slot0 or not self.days:
            # now: as it is; with no earlier day to go by, a pause ends after a while
            status = self.s.counters[cid].status
            if status is CounterStatus.PAUSED:
                return x >= self.pause_s
            return status is CounterStatus.OPEN
        key = (cid, idx)
        v = self._open.get(key)
        if v is None:
            v = self.lr.open_share(cid, idx % SLOTS, self.days) >= 0.5
            stays = self.stays.get(cid)
            if not v and stays is not None and stays[0] < idx < stays[1]:
                v = True
            self._open[key] = v
        return v

    def next_open(self, cid: str, x: float) -> float | None:
        idx = int((self.day0 + x) // SLOT_S)
        if self._slot_open(cid, idx, x):
            return x
        if not self.days and self.s.counters[cid].status is CounterStatus.PAUSED:
            return max(x, self.pause_s)
        last = int((self.day0 + HORIZON_S) // SLOT_S)
        for i in range(idx + 1, last):
            u = i * SLOT_S - self.day0
            if self._slot_open(cid, i, u):
                return u
        return None

    def add(self, tid: int, service: str, cls: int, queued: float,
            counter: str | None = None, target: bool = True) -> None:
        item = (queued, tid)
        if counter is not None:
            self.own[counter].append(item)
        elif service in self.queues:
            self.queues[service][cls].append(item)
        else:
            return
        self.targets += target

    def pick(self, cid: str, x: float) -> tuple[str, int, bool] | None:
        """(service, ticket id, whether it was transferred to this very counter)."""
        own = self.own[cid]
        if own:
            tid = own.popleft()[1]
            return self.s.tickets[tid].service, tid, True
        only = self.assume_open.get(cid)
        services = self.conf[cid].services
        for k in range(3):
            best: tuple[float, float, int, str] | None = None
            for cs in services:
                if only is not None and cs.code not in only:
                    continue
                q = self.queues.get(cs.code)
                if not q or not q[k]:
                    continue
                queued, tid = q[k][0]
                key = (-(x - queued) * cs.weight, queued, tid, cs.code)
                if best is None or key < best:
                    best = key
            if best is not None:
                self.queues[best[3]][k].popleft()
                return best[3], best[2], False
        return None

    def arrivals(self) -> list[tuple[float, int, str, int]]:
        """The usual arrivals of earlier days from now on, spread evenly over each slot;
        with no earlier day, today's pace of the last hour for a while."""
        out: list[tuple[float, int, str, int]] = []
        fake = -1
        until = min((timedelta(hours=12) if self.days else FIRST_DAY_AHEAD).total_seconds(),
                    SLOTS * SLOT_S - self.day0)  # today only
        tables = ((0, self.lr.transfers), (1, self.lr.priority), (2, self.lr.arrivals))
        recent: dict[tuple[str, int], float] = {}
        if not self.days:
            today = self.now.date()
            lookback = [self.slot0 - k for k in range(1, RECENT_SLOTS + 1)]
            for cls, table in tables:
                counts = table.get(today, {})
                for svc in self.hall.services:
                    recent[(svc.code, cls)] = sum(
                        counts.get((svc.code, k), 0) for k in lookback) / RECENT_SLOTS
        carry: dict[tuple[str, int], float] = {}
        idx = self.slot0
        while idx * SLOT_S - self.day0 < until:
            start = max(0.0, idx * SLOT_S - self.day0)
            end = (idx + 1) * SLOT_S - self.day0
            share = (end - start) / SLOT_S  # only what is left of the present slot
            for svc in self.hall.services:
                for cls, table in tables:
                    rate = (self.lr.arrival_rate(table, svc.code, idx % SLOTS, self.days)
                            if self.days else recent[(svc.code, cls)])
                    acc = carry.get((svc.code, cls), 0.0) + rate * share
                    n = int(acc)
                    carry[(svc.code, cls)] = acc - n
                    for i in range(n):
                        out.append((start + (end - start) * (i + 0.5) / n, fake, svc.code, cls))
                        fake -= 1
            idx += 1
        out.sort()
        return out

    def run(self) -> None:
        s, now = self.s, self.now

        def rel(t: datetime) -> float:
            return (t - now).total_seconds()

        # the waiting tickets, in the engine's queue order (no more of a class than a run
        # can call: a backlog of thousands costs no more than MAX_STEPS)
        for code, q in s.queues.items():
            for k, cls in enumerate(q.classes()):
                for tid in islice(cls, MAX_STEPS):
                    self.add(tid, code, k, rel(s.tickets[tid].queued_at))
        for cid, q in s.counter_transfers.items():
            for tid in q:
                if cid in self.own:
                    t = s.tickets[tid]
                    self.add(tid, t.service, 0, rel(t.queued_at), cid)
        # a newcomer at the tail of each service: what a service view shows
        for i, svc in enumerate(self.hall.services):
            self.add(NEWCOMER - i, svc.code, 2, 0.0)
        free: list[tuple[float, str]] = []
        for conf in self.hall.counters:
            ct = s.counters[conf.id]
            x = 0.0
            cur = s.tickets.get(ct.current) if ct.current is not None else None
            if cur is not None and cur.called_at is not None:
                began = rel(cur.called_at)
                expected = self.call_time(cur.service, conf.id, began)
                x = began + expected if began + expected > 0 else OVERDUE_LEFT * expected
            free.append((x, conf.id))
        heapq.heapify(free)
        incoming = self.arrivals()
        nxt = 0
        newcomers = NEWCOMER - len(self.hall.services)
        for _ in range(MAX_STEPS):
            if self.targets <= 0 or not free:
                break
            x, cid = heapq.heappop(free)
            when = self.next_open(cid, x)
            if when is None:
                continue  # closed for the rest of the horizon
            if when > x:
                heapq.heappush(free, (when, cid))
                continue
            while nxt < len(incoming) and incoming[nxt][0] <= x:
                at, fid, code, cls = incoming[nxt]
                self.add(fid, code, cls, at, target=False)
                nxt += 1
            picked = self.pick(cid, x)
            if picked is None:
                if nxt < len(incoming):  # idle until the next arrival
                    heapq.heappush(free, (max(x, incoming[nxt][0]), cid))
                continue
            code, tid, own = picked
            if tid >= 0 or newcomers < tid <= NEWCOMER:
                self.calls[tid] = x
                self.targets -= 1
                if not own:  # a service's own tickets are called in its queue order
                    self.in_order.setdefault(code, []).append(x)
            self.service_calls.setdefault(code, []).append(x)
            heapq.heappush(free, (x + self.call_time(code, cid, x), cid))

    def forecast(self, key: tuple[object, ...]) -> Forecast:
        s = self.s
        by_service: dict[str, list[datetime]] = {}
        interval: dict[str, float] = {}
        for svc in self.hall.services:
            interval[svc.code] = self._interval(svc.code, self.service_calls.get(svc.code, []))
            by_service[svc.code] = [self.now + timedelta(seconds=x)
                                    for x in self.in_order.get(svc.code, [])]
        at_ticket = {tid: self.now + timedelta(seconds=x) for tid, x in self.calls.items()}
        return Forecast(self.now, at_ticket, by_service, interval, s.next_id, key)

    def _interval(self, service: str, made: list[float]) -> float:
        if len(made) >= 3:
            tail = made[-10:]
            return max(1.0, (tail[-1] - tail[0]) / (len(tail) - 1))
        serving = self.hall.counters_serving(service) or ()
        open_now = [c for c in serving if service in self.assume_open.get(c.id, ())
                    or self.s.counters[c.id].status is CounterStatus.OPEN]
        serving = open_now or serving
        rate = sum(1.0 / self.call_time(service, c.id, 0.0) for c in serving)
        return 1.0 / rate if rate > 0 else self.lr.typical_s(service)


_FORECASTS: dict[int, tuple[weakref.ref[HallState], Forecast]] = {}


def _structure(s: HallState, lr: Learner) -> tuple[object, ...]:
    """What a forecast depends on besides new tickets: counters, what the learner knows,
    and queue changes other than issues (requeues, transfers)."""
    return (lr.changes, tuple((c.status, c.current) for c in s.counters.values()),
            sum(len(q) for q in s.counter_transfers.values()),
            sum(len(q.transferred) + len(q.priority) for q in s.queues.values()))


def forecast(hall: Hall, s: HallState, now: datetime) -> Forecast:
    lr = learner(hall, s)
    lr.sync(s)
    key = _structure(s, lr)
    hit = _FORECASTS.get(id(s))
    fc = hit[1] if hit is not None and hit[0]() is s else None
    # New tickets at the tails: with few waiting, run again (a figure is then the same
    # whenever it is asked, a restart included); with many, after a share of them have
    # joined (a run costs about the waiting count, so an issue costs about the same
    # whatever the queue), reading the newcomers' figures off the last run in between.
    waiting = sum(len(q.normal) for q in s.queues.values())
    if fc is None or fc.key != key:
        stale = True
    elif waiting <= EXACT_WAITING:
        stale = now != fc.now or s.next_id != fc.issued
    else:
        age = now - fc.now
        stale = s.next_id - fc.issued > waiting // RESIM_SHARE or not (
            timedelta(0) <= age < RESIM_AGE)
    if stale:
        lr.forget_old(now.date())
        sim = _Sim(hall, s, lr, now)
        sim.run()
        fc = sim.forecast(key)
        for k in [k for k, (ref, _) in _FORECASTS.items() if ref() is None]:
            del _FORECASTS[k]
        _FORECASTS[id(s)] = (weakref.ref(s), fc)
    return fc


def wait_s(hall: Hall, s: HallState, service: str, ahead: int,
           ticket: int | None = None, now: datetime | None = None) -> int:
    """Seconds until a ticket of `service` with `ahead` tickets before it (or waiting
    ticket `ticket`) is called, measured from `now` (default: the last event)."""
    when = now or s.last_at
    if when is None:  # nothing happened yet: typical minutes over the configured counters
        lr = learner(hall, s)
        n = len(hall.counters_serving(service)) or 1
        return round(ahead * lr.typical_s(service) / n)
    fc = forecast(hall, s, when)
    return max(0, fc.wait_s(service, ahead, ticket) - round((when - fc.now).total_seconds()))
