"""Booking rules (queue_server/engine/booking.py) on the township hall, on a fixed clock:
slots and quotas from [appointments], a day ahead to the fifth working day, one booking
per person per day, cancel up to two hours before."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from queue_server.config import ConfigError, load_hall, parse_hall
from queue_server.engine import booking
from queue_server.engine import commands as c
from tests.queue_server.engine_harness import TOWNSHIP, TZ, Desk

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # a Monday; nothing depends on today


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def book(d: Desk, start: datetime, service: str = "C", minutes: int = 30, **kw: Any) -> Any:
    return d.run(c.Book(service, start, start + timedelta(minutes=minutes), **kw)).reply


def desk() -> Desk:
    return Desk(load_hall(TOWNSHIP), now=MONDAY)


def test_slots_come_from_the_hours_and_skip_weekends() -> None:
    hall = load_hall(TOWNSHIP)
    p = booking.policy(hall)
    svc = hall.service("C")
    assert svc is not None
    days = booking.bookable_days(svc, p, MONDAY.date())
    assert days == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26),
                    date(2026, 11, 27), date(2026, 11, 30)]  # Sat, Sun closed for C
    slots = booking.slots_on(svc, p, date(2026, 11, 24), TZ)
    assert slots[0] == (at(24, 8, 30), at(24, 9, 0))
    assert slots[-1] == (at(24, 17, 0), at(24, 17, 30))
    assert len(slots) == 7 + 7  # 08:30-12:00 and 14:00-17:30 in 30-minute slots
    b = hall.service("B")
    assert b is not None and date(2026, 11, 28) in booking.bookable_days(b, p, MONDAY.date())


def test_a_day_ahead_and_at_most_five_working_days() -> None:
    d = desk()
    assert book(d, at(23, 14))["error"]["code"] == "BOOKING_TOO_SOON"
    assert book(d, at(30, 8, 30))["ok"]
    assert book(d, datetime(2026, 12, 1, 8, 30, tzinfo=TZ))["error"]["code"] == "BOOKING_TOO_FAR"
    assert book(d, at(24, 12, 30))["error"]["code"] == "BAD_SLOT"  # lunch break
    err = book(d, at(23, 14))["error"]
    assert "提前" in err["message"]


def test_quota_per_slot_and_cancel_frees_a_place() -> None:
    d = desk()
    first = book(d, at(24, 8, 30))["code"]
    assert book(d, at(24, 8, 40), minutes=20)["ok"]  # counts against the 08:30 slot
    assert book(d, at(24, 8, 30))["error"]["code"] == "SLOT_FULL"  # quota C = 2
    assert book(d, at(24, 8, 30), service="A")["ok"]  # A has its own quota (3)
    left = {s: n for s, _, n in booking.availability(d.hall, d.engine.state, "C", d.now)}
    assert left[at(24, 8, 30)] == 0 and left[at(24, 9)] == 2
    d.ok(c.Cancel(first))
    assert book(d, at(24, 8, 30))["ok"]


def test_one_booking_per_person_per_day() -> None:
    d = desk()
    assert book(d, at(25, 9), id_hash="h1")["ok"]
    assert book(d, at(25, 15), service="A", id_hash="h1")["error"]["code"] == \
        "DUPLICATE_APPOINTMENT"
    assert book(d, at(26, 9), id_hash="h1")["ok"]  # another day
    assert book(d, at(25, 9), id_hash="h2")["ok"]  # another person


def test_cancel_up_to_two_hours_before() -> None:
    d = desk()
    code = book(d, at(24, 14))["code"]
    other = book(d, at(24, 14, 30))["code"]
    d.now = at(24, 12, 0)  # exactly two hours before 14:00: still allowed
    d.ok(c.Cancel(code))
    d.now = at(24, 12, 31)  # 1 h 59 min before 14:30
    assert d.refused(c.Cancel(other)) == "CANCEL_TOO_LATE"


@pytest.mark.parametrize(("table", "key"), [
    ('quotas = { Z = 1 }', "appointments.quotas.Z"),
    ('slot_minutes = 0', "appointments.slot_minutes"),
    ('colour = "red"', "appointments.colour"),
])
def test_bad_appointments_table_names_the_key(table: str, key: str) -> None:
    text = TOWNSHIP.read_text("utf-8")
    text = text.split("[appointments]")[0] + "[appointments]\n" + table + "\n"
    hall = parse_hall(tomllib.loads(text), "township.toml")
    with pytest.raises(ConfigError) as e:
        booking.parse_policy(hall)
    assert e.value.key == key and "township.toml" in str(e.value)
