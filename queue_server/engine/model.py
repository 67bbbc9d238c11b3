"""The hall's state as the engine sees it: tickets, queues, counters, appointments, ratings."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"


class CounterStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"


class Source(StrEnum):
    WALK_IN = "walk_in"
    ID_CARD = "id_card"
    APPOINTMENT = "appointment"


QUEUED = (TicketStatus.WAITING, TicketStatus.TRANSFERRED)
AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)
OPEN_STATUSES = (*QUEUED, *AT_COUNTER)


@dataclass
class Ticket:
    id: int
    day: date  # the local day it was issued; its number is unique within that day
    seq: int
    origin: str  # service letter it was issued for: the prefix of its number
    service: str  # queue it is in now (changes on transfer)
    issued_at: datetime
    queued_at: datetime  # when it (re)joined its queue: issue, requeue or transfer
    source: Source
    priority: bool
    code: str
    status: TicketStatus = TicketStatus.WAITING
    id_hash: str | None = None
    appointment: str | None = None
    counter: str | None = None  # the counter that called it last
    target_counter: str | None = None  # set while transferred to one counter
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    recalls: int = 0
    transfers: int = 0
    rated: bool = False

    @property
    def number(self) -> str:
        return f"{self.origin}{self.seq:03d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class Counter:
    id: str
    status: CounterStatus = CounterStatus.CLOSED
    current: int | None = None  # ticket id being called or served
    pause_reason: str | None = None
    since: datetime | None = None
    served_day: date | None = None
    served: int = 0
    no_show: int = 0
    last_served: int | None = None  # ticket id last finished here: what the rating pad rates

    def count(self, day: date, *, served: int = 0, no_show: int = 0) -> None:
        if self.served_day != day:
            self.served_day, self.served, self.no_show = day, 0, 0
        self.served += served
        self.no_show += no_show


@dataclass
class Appointment:
    code: str
    service: str
    slot_start: datetime
    slot_end: datetime
    booked_at: datetime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    id_hash: str | None = None
    ticket: int | None = None


@dataclass
class Rating:
    ticket: int
    number: str
    counter: str
    level: int
    at: datetime
    reason: str | None = None
    comment: str | None = None
    follow_up_due: datetime | None = None
    handled_at: datetime | None = None
    handled_note: str | None = None


class ServiceQueue:
    """One service's waiting tickets in three classes, each in the order they joined.

    Tickets join at the tail of their class with a non-decreasing `queued_at` (the
    server's clock never steps back), so insertion order is queue order.
    """

    def __init__(self) -> None:
        self.transferred: OrderedDict[int, None] = OrderedDict()
        self.priority: OrderedDict[int, None] = OrderedDict()
        self.normal: OrderedDict[int, None] = OrderedDict()

    def classes(self) -> tuple[OrderedDict[int, None], ...]:
        return (self.transferred, self.priority, self.normal)

    def add(self, t: Ticket) -> None:
        self.class_of(t)[t.id] = None

    def class_of(self, t: Ticket) -> OrderedDict[int, None]:
        if t.status is TicketStatus.TRANSFERRED:
            return self.transferred
        return self.priority if t.priority else self.normal

    def remove(self, ticket_id: int) -> None:
        for c in self.classes():
            c.pop(ticket_id, None)

    def __len__(self) -> int:
        return sum(len(c) for c in self.classes())

    def ahead_of(self, ticket_id: int) -> int:
        n = 0
        for c in self.classes():
            if ticket_id in c:
                if next(reversed(c)) == ticket_id:  # a new ticket is last: O(1)
                    return n + len(c) - 1
                for tid in c:
                    if tid == ticket_id:
                        return n
                    n += 1
            n += len(c)
        return n

    def ids(self) -> list[int]:
        return [tid for c in self.classes() for tid in c]


@dataclass
class HallState:
    tickets: dict[int, Ticket] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    by_number: dict[tuple[date, str], int] = field(default_factory=dict)
    queues: dict[str, ServiceQueue] = field(default_factory=dict)
    counter_transfers: dict[str, OrderedDict[int, None]] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    seq: dict[tuple[date, str], int] = field(default_factory=dict)
    holders: dict[tuple[str, str], int] = field(default_factory=dict)  # (id_hash, service)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    ratings: dict[int, Rating] = field(default_factory=dict)
    service_times: dict[str, deque[float]] = field(default_factory=dict)
    next_id: int = 1
    last_at: datetime | None = None

    def queue(self, service: str) -> ServiceQueue:
        q = self.queues.get(service)
        if q is None:
            q = self.queues[service] = ServiceQueue()
        return q

    def transfers_to(self, counter: str) -> OrderedDict[int, None]:
        q = self.counter_transfers.get(counter)
        if q is None:
            q = self.counter_transfers[counter] = OrderedDict()
        return q

    def ticket_by_number(self, number: str, day: date | None = None) -> Ticket | None:
        """Today's ticket with that number, else the newest still-open one with it."""
        if day is not None and (day, number) in self.by_number:
            return self.tickets[self.by_number[(day, number)]]
        found = [self.tickets[i] for (d, n), i in self.by_number.items() if n == number]
        found.sort(key=lambda t: t.day, reverse=True)
        open_ones = [t for t in found if t.is_open]
        return (open_ones or found or [None])[0]
