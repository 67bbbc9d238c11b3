"""The learned wait model: learns per change, runs the hall forward with the engine's rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from queue_server import estimate_learned as el
from queue_server.engine import commands as c
from queue_server.engine.model import Source
from queue_server.store import Store
from tests.queue_server.engine_harness import TZ, Desk


def wait(d: Desk, service: str, ahead: int, ticket: int | None = None) -> int:
    return el.wait_s(d.hall, d.engine.state, service, ahead, ticket)


def recorded(d: Desk, store: Store, look: bool = False) -> Callable[[c.Command], None]:
    """Run a command on the desk and record it in the store, as the server does (and,
    with `look`, look at the estimate after it, as the server publishes)."""
    def run(cmd: c.Command) -> None:
        out = d.run(cmd)
        with store.transaction():
            store.record(device="t", request_id=None, op="x", at=d.now, events=out.events,
                         state=d.engine.state, reply=None)
        if look:
            wait(d, "C", 0)
    return run


def test_learns_the_pace_of_the_counter_and_counts_open_counters() -> None:
    d = Desk()
    d.open("4")
    for _ in range(12):
        d.issue("B")
    for _ in range(4):  # counter 4 serves B in 2 minutes, typical is 8
        d.call("4")
        d.tick(120)
        wait(d, "B", 0)  # a look after every change, as the server publishes
    lr = el.learner(d.hall, d.engine.state)
    fast = lr.call_time_s("B", "4", d.now.hour)
    assert 120 < fast < 8 * 60 / 2
    one = wait(d, "B", 5)
    # 5 ahead and one at counter 4 (called 2 minutes ago, which the figure counts from:
    # it is measured from the last event): about 5 calls and 2 minutes away
    assert 4 * fast < one < 6 * fast + 120
    d.open("3")  # counter 3 (no history: typical 8 min) gives B most of its time
    with_3 = wait(d, "B", 5)
    assert with_3 < one * 0.97
    d.ok(c.Pause("3", "午休"))  # a paused counter adds nothing (now)
    assert wait(d, "B", 5) > with_3


def test_learning_is_the_same_whether_it_looked_after_every_change_or_not() -> None:
    def day(look: bool) -> el.Learner:
        d = Desk()
        d.open("1", "2")
        for _ in range(10):
            d.issue("A")
        lr = el.Learner(d.hall)
        lr.bind(d.engine.state)
        for i in range(8):
            d.call("1" if i % 2 else "2")
            d.tick(90 + 10 * i)
            if look:  # as the server, which looks after every batch it publishes
                lr.sync(d.engine.state)
        d.ok(c.Skip("1"))
        lr.sync(d.engine.state)  # without looks: reads what the counters did, once
        return lr

    a, b = day(True), day(False)
    assert {k: (s.n, round(s.total)) for k, s in a.by_counter.items()} == \
        {k: (s.n, round(s.total)) for k, s in b.by_counter.items()}
    assert sum(s.n for s in a.by_counter.values()) == 7  # 6 ended by a call, 1 skipped


def test_no_counter_open_uses_the_configured_ones() -> None:
    d = Desk()
    d.issue("D")
    # D: counter 6 only; nobody open and no earlier day: counter 6 stands in, free now,
    # so the one ticket is called at once and the next one after a typical 10 minutes
    assert wait(d, "D", 0, ticket=1) == 0
    assert wait(d, "D", 1) == 10 * 60


def test_a_shared_counter_starves_the_lighter_service() -> None:
    d = Desk()
    d.open("6")  # D weight 3, C weight 1
    for _ in range(6):
        d.issue("D")
    d.tick(60)
    c_ticket = d.engine.state.next_id
    d.issue("C")
    # Counter 6 picks by waited time × weight: the C ticket, a minute younger than the
    # D tickets, waits for every one of them (6 × 10 min), not for "0 ahead".
    assert wait(d, "C", 0, ticket=c_ticket) >= 6 * 10 * 60 - 120


def test_priority_and_transferred_tickets_go_first() -> None:
    d = Desk()
    d.open("5")
    for _ in range(3):
        d.issue("C")
    last = d.engine.state.next_id - 1
    before = wait(d, "C", 2, ticket=last)
    d.issue("C", priority=True)
    assert wait(d, "C", 2, ticket=last) >= before + 15 * 60 - 5


def test_earlier_days_closing_is_in_the_figure() -> None:
    d = Desk(now=datetime(2026, 11, 23, 13, 0, tzinfo=TZ))
    s = d.engine.state
    lr = el.learner(d.hall, s)
    # Earlier days: counter 5 (C only) open 08:30-15:00; counter 6 never open.
    for back in (1, 2, 3):
        day = d.now - timedelta(days=back)
        lr.add_open("5", day.replace(hour=8, minute=30), day.replace(hour=15))
        lr.add_open("1", day.replace(hour=8, minute=30), day.replace(hour=17))
    d.open("5")
    for _ in range(12):
        d.issue("C")
    # 12 × 15 min = 3 hours of work, but the counter closes at 15:00 as on earlier days:
    # the last ones are called tomorrow morning
    assert wait(d, "C", 11, ticket=d.engine.state.next_id - 1) > 12 * 3600


@pytest.mark.parametrize("hour", [16, 22])  # 22: the work runs past midnight
def test_a_counter_that_stayed_until_its_queue_was_empty_serves_late_tickets_today(
        hour: int) -> None:
    d = Desk(now=datetime(2026, 11, 23, hour, 0, tzinfo=TZ))
    s = d.engine.state
    lr = el.learner(d.hall, s)
    for back in (1, 2, 3):  # earlier days: counter 5 closed at 18:00 with nobody waiting
        day = d.now - timedelta(days=back)
        lr.add_closed("5", day.replace(hour=8, minute=30), day.replace(hour=18), [])
    d.open("5")
    for _ in range(16):  # 4 hours of work at 15 minutes: past 18:00
        d.issue("C")
    last = wait(d, "C", 15, ticket=s.next_id - 1)
    assert 15 * 15 * 60 - 60 <= last < 5 * 3600  # tonight (延时服务), not tomorrow morning


def test_a_counter_closing_on_the_hour_with_a_queue_stopped_calling_before_it() -> None:
    d = Desk(now=datetime(2026, 11, 22, 8, 30, tzinfo=TZ))
    d.open("5")
    for _ in range(3):
        d.issue("C")
    d.now = d.now.replace(hour=14, minute=40)
    d.call("5")  # the last call; closed at 15:20 with two still waiting
    d.now = d.now.replace(hour=15, minute=20)
    lr = el.Learner(d.hall)
    lr.add_closed("5", d.now.replace(hour=8, minute=30), d.now,
                  d.engine.state.tickets.values())
    slots = lr.open_slots[d.now.date()]
    # it stopped taking tickets about halfway between 14:40 and 15:20
    assert ("5", 14 * 4 + 3) in slots and ("5", 15 * 4) not in slots
    assert "5" not in lr.drained[d.now.date()]


def test_a_call_left_open_over_lunch_teaches_only_the_time_served(tmp_path) -> None:
    d = Desk(now=datetime(2026, 11, 20, 11, 50, tzinfo=TZ))
    store = Store(tmp_path, d.hall)
    run = recorded(d, store, look=True)
    run(c.Open("5"))
    run(c.Issue("C", Source.WALK_IN))
    run(c.CallNext("5"))
    d.tick(10 * 60)
    run(c.Pause("5", "工间休息"))  # lunch with the ticket still at the counter
    d.tick(90 * 60)
    run(c.Resume("5"))
    d.tick(5 * 60)
    run(c.Finish("5"))  # 105 minutes after the call, 15 of them serving
    live = el.learner(d.hall, d.engine.state).by_counter[("C", "5")]
    assert live.n == 1 and round(live.total) == 15 * 60
    d.now = d.now.replace(hour=17)
    run(c.Close("5"))
    for later in (0, 3):  # after a restart the same day (ticket held) or days later
        state = store.load(d.now.date() + timedelta(days=later))
        again = el.learner(d.hall, state).by_counter[("C", "5")]
        assert again.n == 1 and round(again.total) == 15 * 60, later
    store.close()


def test_history_survives_a_restart_from_the_store(tmp_path) -> None:
    d = Desk(now=datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    store = Store(tmp_path, d.hall)
    run = recorded(d, store)
    run(c.Open("5"))
    for _ in range(4):
        d.tick()
        run(c.Issue("C", Source.WALK_IN))
    for _ in range(4):
        d.tick(5 * 60)  # a fast clerk: 5 minutes, typical 15
        run(c.CallNext("5"))
    d.tick(5 * 60)
    run(c.Finish("5"))
    d.now = d.now.replace(hour=15)
    run(c.Close("5"))
    # three days later (the tickets are no longer held in memory), after a restart
    state = store.load(d.now.date() + timedelta(days=3))
    assert not state.tickets
    lr = el.learner(d.hall, state)
    assert lr.by_counter[("C", "5")].n == 4
    assert lr.call_time_s("C", "5", 10) < 15 * 60 * 0.75
    assert ("5", 9 * 4) in lr.open_slots[d.now.date()]
    assert ("5", 16 * 4) not in lr.open_slots[d.now.date()]
    assert "5" in lr.drained[d.now.date()]  # all 4 were served before it closed
    store.close()


def test_a_backlog_beyond_the_run_goes_on_at_the_service_pace(monkeypatch) -> None:
    monkeypatch.setattr(el, "MAX_STEPS", 10)  # the run stops after 10 calls
    d = Desk()
    d.open("5")  # C: counter 5 only, typical 15 minutes
    for _ in range(30):
        d.issue("C")
    s = d.engine.state
    waits = [wait(d, "C", k, ticket=tid) for k, tid in enumerate(s.queue("C").ids())]
    assert waits == sorted(waits)
    # the 30th is about 29 calls away, not a day and a half (the run's horizon)
    assert abs(waits[-1] - 29 * 15 * 60) < 15 * 60
