"""The learned wait model: learns a counter's pace, counts only open counters."""

from __future__ import annotations

from queue_server import estimate_learned
from queue_server.engine import commands as c
from tests.queue_server.engine_harness import Desk


def test_learns_the_pace_of_the_counter_and_counts_open_counters() -> None:
    d = Desk()
    d.open("4")
    for _ in range(6):
        d.issue("B")
    for _ in range(4):  # counter 4 serves B in 2 minutes, typical is 8
        d.call("4")
        d.tick(120)
    hist = estimate_learned.history(d.engine.state)
    fast = hist.call_time_s("B", "4", d.now.hour, 8 * 60)
    assert 120 < fast < 8 * 60 / 2
    s = d.engine.state
    one = estimate_learned.wait_s(d.hall, s, "B", 5)
    # 5 ahead, busy (half a call until the next), at about the learned pace
    assert 5.5 * 120 * 0.8 < one < 5.5 * fast * 1.2
    d.open("3")  # counter 3 (no history: typical 8 min) gives B most of its time
    with_3 = estimate_learned.wait_s(d.hall, s, "B", 5)
    assert with_3 < one * 0.97
    d.ok(c.Pause("3", "午休"))  # a paused counter adds nothing
    assert estimate_learned.wait_s(d.hall, s, "B", 5) > with_3


def test_no_counter_open_uses_the_configured_ones() -> None:
    d = Desk()
    d.issue("D")
    # D: counter 6 only, 3/4 of its time (weight 3 for D, 1 for C); typical 10 minutes;
    # 2 ahead plus half a call until the counter is free
    per_call = 10 * 60 / 0.75
    assert estimate_learned.wait_s(d.hall, d.engine.state, "D", 2) == round(2.5 * per_call)


def test_forecast_follows_earlier_days_rhythm_across_lunch() -> None:
    from datetime import datetime

    from tests.queue_server.engine_harness import TZ

    h = estimate_learned.History(days=2)
    for slot in range(4 * 8, 4 * 18):  # 08:00-18:00: 4 calls of A per slot, both days
        h.slot_calls[("A", slot)] = h.slot_calls[("*", slot)] = 8
    for slot in range(4 * 12, 4 * 13):  # nobody called at lunch
        h.slot_calls[("A", slot)] = h.slot_calls[("*", slot)] = 0
    rate = 4 / 900
    morning = estimate_learned.forecast(h, "A", datetime(2026, 11, 24, 9, 0, tzinfo=TZ), 8,
                                        rate)
    assert abs(morning - 8 / rate) < 1
    before_lunch = estimate_learned.forecast(
        h, "A", datetime(2026, 11, 24, 11, 15, tzinfo=TZ), 16, rate)
    assert abs(before_lunch - (16 / rate + 3600)) < 1  # the lunch hour adds an hour
    h.slot_priority[("A", 4 * 9)] = 2  # one priority arrival per slot at 09:00-09:15
    assert estimate_learned.forecast(h, "A", datetime(2026, 11, 24, 9, 0, tzinfo=TZ), 8,
                                     rate) > morning


def test_capacity_counts_only_slots_with_a_queue() -> None:
    h = estimate_learned.History(days=4)
    h.slot_calls[("C", 60)] = 2
    h.slot_backlog[("C", 60)] = 1  # a queue on one of the four days: 2 calls then
    assert h.capacity("C", 60) == 2 / 900
    assert h.slot_rate(h.slot_calls, "C", 60) == 2 / (4 * 900)  # arrivals-limited view
    assert h.capacity("C", 61) is None
