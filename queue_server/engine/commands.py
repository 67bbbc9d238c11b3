"""Commands the engine accepts. Parsed and checked for shape by queue_server.requests;
the engine applies the rules. ID numbers never get here: only their keyed hash and
the birth date derived from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from .model import Source


@dataclass(frozen=True)
class Issue:
    service: str
    source: Source
    id_hash: str | None = None
    birth: date | None = None
    priority: bool = False


@dataclass(frozen=True)
class Checkin:
    code: str


@dataclass(frozen=True)
class Lookup:
    number: str | None = None
    code: str | None = None
    appointment: str | None = None  # portal only: the ticket a booking was checked in as


@dataclass(frozen=True)
class Book:
    service: str
    slot_start: datetime
    slot_end: datetime
    id_hash: str | None = None


@dataclass(frozen=True)
class Cancel:
    code: str


@dataclass(frozen=True)
class CounterCommand:
    counter: str
    # Extension: the number the terminal shows as current ("" for none), or None for no
    # check. Two terminals of one counter, or a click on a stale screen, then cannot
    # act on a ticket the clerk did not see (CURRENT_CHANGED).
    expect: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Open(CounterCommand):
    pass


@dataclass(frozen=True)
class Close(CounterCommand):
    pass


@dataclass(frozen=True)
class CallNext(CounterCommand):
    pass


@dataclass(frozen=True)
class Recall(CounterCommand):
    pass


@dataclass(frozen=True)
class Start(CounterCommand):
    """Extension: the called resident has arrived; service starts (called → serving)."""


@dataclass(frozen=True)
class Skip(CounterCommand):
    pass


@dataclass(frozen=True)
class Requeue(CounterCommand):
    number: str = ""


@dataclass(frozen=True)
class Transfer(CounterCommand):
    service: str | None = None
    to_counter: str | None = None


@dataclass(frozen=True)
class Finish(CounterCommand):
    pass


@dataclass(frozen=True)
class Pause(CounterCommand):
    reason: str | None = None


@dataclass(frozen=True)
class Resume(CounterCommand):
    pass


@dataclass(frozen=True)
class Rate(CounterCommand):
    number: str = ""
    level: int = 0
    reason: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class NoShows(CounterCommand):
    """Extension: today's no-show tickets this counter may call back (回呼); reads only."""


Command = (
    Issue | Checkin | Lookup | Book | Cancel | Open | Close | CallNext | Recall | Start | Skip
    | Requeue | Transfer | Finish | Pause | Resume | Rate | NoShows
)
