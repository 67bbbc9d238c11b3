"""Appointment rules (预约): slots from the hall config, quotas, how far ahead, cancelling.

Pure: reads the hall config and the engine state, raises Refusal. The hall config's
`[appointments]` table (all keys optional):

    slot_minutes = 30            # length of a slot; slots tile each span of the service's hours
    quota = 4                    # bookings per slot per service
    quotas = { C = 2 }           # per-service quota (0: that service takes no bookings)
    min_days_ahead = 1           # 1: from tomorrow on (at least a day ahead)
    max_working_days = 5         # up to the 5th working day (a day the service is open)
    cancel_before_minutes = 120  # cancelling closes 2 hours before the slot starts
    sms_retention_days = 1       # phone numbers kept this long after the slot (notifier)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from ..config import Hall, Service
from ..errors import Refusal
from .model import Appointment, AppointmentStatus, HallState

KEYS = {"slot_minutes", "quota", "quotas", "min_days_ahead", "max_working_days",
        "cancel_before_minutes", "sms_retention_days"}
SERVICE_RE = re.compile(r"^[A-Z]$")


@dataclass(frozen=True)
class BookingPolicy:
    slot_minutes: int = 30
    quota: int = 4
    quotas: dict[str, int] = field(default_factory=dict)
    min_days_ahead: int = 1
    max_working_days: int = 5
    cancel_before: timedelta = timedelta(hours=2)
    sms_retention_days: int = 1

    def quota_of(self, service: str) -> int:
        return self.quotas.get(service, self.quota)


def parse_policy(hall: Hall) -> BookingPolicy:
    """The hall's `[appointments]` table; ConfigError names the file and key."""
    data = hall.section("appointments")
    r = hall.reader()
    r.no_extra(data, "appointments", KEYS)
    quotas: dict[str, int] = {}
    raw = r.table(data.get("quotas", {}), "appointments.quotas")
    for code, q in raw.items():
        key = f"appointments.quotas.{code}"
        r.string(code, key, SERVICE_RE)
        if hall.service(code) is None:
            raise r.fail(key, f"no service {code!r} in this hall")
        quotas[code] = r.integer(q, key, 0, 10_000)
    slot = r.integer(data.get("slot_minutes", 30), "appointments.slot_minutes", 5, 480)
    return BookingPolicy(
        slot_minutes=slot,
        quota=r.integer(data.get("quota", 4), "appointments.quota", 0, 10_000),
        quotas=quotas,
        min_days_ahead=r.integer(data.get("min_days_ahead", 1),
                                 "appointments.min_days_ahead", 0, 30),
        max_working_days=r.integer(data.get("max_working_days", 5),
                                   "appointments.max_working_days", 1, 60),
        cancel_before=timedelta(minutes=r.integer(
            data.get("cancel_before_minutes", 120), "appointments.cancel_before_minutes",
            0, 7 * 24 * 60)),
        sms_retention_days=r.integer(data.get("sms_retention_days", 1),
                                     "appointments.sms_retention_days", 0, 365),
    )


_POLICIES: dict[int, tuple[Hall, BookingPolicy]] = {}


def policy(hall: Hall) -> BookingPolicy:
    """parse_policy, once per Hall object (the engine asks on every booking)."""
    hit = _POLICIES.get(id(hall))
    if hit is None or hit[0] is not hall:
        hit = (hall, parse_policy(hall))
        _POLICIES[id(hall)] = hit
    return hit[1]


# --------------------------------------------------------------------------- slots


def slots_on(svc: Service, p: BookingPolicy, day: date, tz: Any) -> list[tuple[datetime, datetime]]:
    """The slots of `svc` on `day`: each span of its hours cut into slot_minutes pieces
    (a remainder shorter than a slot is not offered)."""
    out = []
    midnight = datetime.combine(day, time(0), tz)
    for span in svc.hours.spans_on(day):
        m = span.start
        while m + p.slot_minutes <= span.end:
            start = midnight + timedelta(minutes=m)
            out.append((start, start + timedelta(minutes=p.slot_minutes)))
            m += p.slot_minutes
    return out


def bookable_days(svc: Service, p: BookingPolicy, today: date) -> list[date]:
    """Days a booking may fall on: from min_days_ahead on, the first max_working_days
    days on which the service is open (weekends and holidays do not count)."""
    days: list[date] = []
    d = today + timedelta(days=p.min_days_ahead)
    for _ in range(400):
        if len(days) >= p.max_working_days:
            break
        if svc.hours.spans_on(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def slot_of(svc: Service, p: BookingPolicy, start: datetime) -> tuple[datetime, datetime] | None:
    """The configured slot a booking starting at `start` counts against."""
    for a, b in slots_on(svc, p, start.date(), start.tzinfo):
        if a <= start < b:
            return a, b
    return None


def booked(s: HallState, service: str, slot: tuple[datetime, datetime]) -> int:
    """Bookings that count against `slot` (those starting within it, not cancelled).

    The portal books whole slots; another client's booking counts against the slot it
    starts in, whatever its length (the hours check keeps it within the service's day)."""
    a, b = slot
    return sum(1 for x in s.appointments.values()
               if x.service == service and a <= x.slot_start < b
               and x.status is not AppointmentStatus.CANCELLED)


def availability(hall: Hall, s: HallState, service: str,
                 now: datetime) -> Iterator[tuple[datetime, datetime, int]]:
    """(start, end, places left) of every bookable slot of `service`."""
    svc = hall.service(service)
    if svc is None:
        return
    p = policy(hall)
    for day in bookable_days(svc, p, now.date()):
        for start, end in slots_on(svc, p, day, now.tzinfo):
            yield start, end, max(0, p.quota_of(service) - booked(s, service, (start, end)))


# --------------------------------------------------------------------------- rules


def check_book(hall: Hall, s: HallState, service: str, start: datetime, end: datetime,
               now: datetime) -> None:
    """Raise Refusal unless a booking of [start, end) for `service` may be made now.

    The caller has already checked that the slot lies in the service's hours."""
    svc = hall.service(service)
    assert svc is not None
    p = policy(hall)
    days = bookable_days(svc, p, now.date())
    if not days or start.date() < days[0]:
        raise Refusal("BOOKING_TOO_SOON", f"{start.date()} is before {days[:1]}")
    if start.date() > days[-1]:
        raise Refusal("BOOKING_TOO_FAR", f"{start.date()} is after {days[-1]}")
    slot = slot_of(svc, p, start)
    if slot is None:
        raise Refusal("BAD_SLOT", f"{start.isoformat()} is not within one of the hall's slots")
    if booked(s, service, slot) >= p.quota_of(service):
        raise Refusal("SLOT_FULL", f"{service} {start.isoformat()} quota "
                      f"{p.quota_of(service)}")


def check_cancel(hall: Hall, a: Appointment, now: datetime) -> None:
    if now > a.slot_start - policy(hall).cancel_before:
        raise Refusal("CANCEL_TOO_LATE", f"{a.code} starts {a.slot_start.isoformat()}")
