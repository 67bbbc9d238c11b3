"""Random command sequences never break the queue's promises (hypothesis)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.engine import EventKind
from queue_server.engine import commands as c
from queue_server.engine.model import QUEUED, Source
from tests.queue_server.engine_harness import Desk

COUNTERS = ["1", "2", "3", "4", "5", "6"]
SERVICES = ["A", "B", "C", "D", "E"]
SINGLE_SERVICE = {"2": "A", "4": "B", "5": "C"}

step = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.booleans(),
              st.sampled_from([None, "p1", "p2", "p3"])),
    st.tuples(st.just("call"), st.sampled_from(COUNTERS)),
    st.tuples(st.just("counter"), st.sampled_from(COUNTERS),
              st.sampled_from(["open", "close", "pause", "resume", "recall", "skip", "finish",
                               "start"])),
    st.tuples(st.just("transfer"), st.sampled_from(COUNTERS),
              st.sampled_from([*SERVICES, "c1", "c3", "c6"])),
    st.tuples(st.just("requeue"), st.sampled_from(COUNTERS), st.integers(1, 30),
              st.sampled_from(SERVICES)),
    st.tuples(st.just("wait"), st.integers(1, 4000)),
)

SIMPLE = {"open": c.Open, "close": c.Close, "pause": c.Pause, "resume": c.Resume,
          "recall": c.Recall, "skip": c.Skip, "finish": c.Finish, "start": c.Start}


def to_command(s: tuple[Any, ...]) -> Any:
    kind = s[0]
    if kind == "issue":
        return c.Issue(s[1], Source.ID_CARD if s[3] else Source.WALK_IN, id_hash=s[3],
                       birth=date(1940, 1, 1) if s[3] == "p3" else None, priority=s[2])
    if kind == "call":
        return c.CallNext(s[1])
    if kind == "counter":
        return SIMPLE[s[2]](s[1])
    if kind == "transfer":
        target = s[2]
        return (c.Transfer(s[1], to_counter=target[1:]) if target.startswith("c")
                else c.Transfer(s[1], service=target))
    if kind == "requeue":
        return c.Requeue(s[1], f"{s[3]}{s[2]:03d}")
    return None


def expected_next(d: Desk, counter: str) -> int | None:
    """The rule in plain words, for a counter serving one service: tickets sent to this
    counter first, then the oldest transferred, then the oldest priority, then the oldest."""
    st_ = d.engine.state
    own = [t for t in st_.tickets.values() if t.status.value == "transferred"
           and t.target_counter == counter]
    if own:
        return min(own, key=lambda t: (t.queued_at, t.id)).id
    service = SINGLE_SERVICE[counter]
    waiting = [t for t in st_.tickets.values() if t.status in QUEUED and t.service == service
               and t.target_counter is None]
    for klass in ("transferred", "priority", "normal"):
        members = [t for t in waiting if
                   (klass == "transferred" and t.status.value == "transferred")
                   or (klass == "priority" and t.status.value == "waiting" and t.priority)
                   or (klass == "normal" and t.status.value == "waiting" and not t.priority)]
        if members:
            return min(members, key=lambda t: (t.queued_at, t.id)).id
    return None


def check_invariants(d: Desk, issued: set[tuple[date, str]]) -> None:
    s = d.engine.state
    currents = [ct.current for ct in s.counters.values() if ct.current is not None]
    assert len(currents) == len(set(currents)), "two counters hold the same ticket"
    for tid in currents:
        assert s.tickets[tid].status.value in ("called", "serving")
    queued_ids = [tid for q in s.queues.values() for tid in q.ids()]
    queued_ids += [tid for q in s.counter_transfers.values() for tid in q]
    assert len(queued_ids) == len(set(queued_ids)), "a ticket waits in two places"
    assert set(queued_ids) == {t.id for t in s.tickets.values() if t.status in QUEUED}
    for q in s.queues.values():
        for klass in q.classes():
            times = [s.tickets[tid].queued_at for tid in klass]
            assert times == sorted(times), "a queue class is out of order"
    assert {(t.day, t.number) for t in s.tickets.values()} == issued


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=120))
def test_random_days_keep_the_promises(steps: list[tuple[Any, ...]]) -> None:
    d = Desk()
    issued: set[tuple[date, str]] = set()
    called_from_queue: list[int] = []
    rejoined: dict[int, int] = {}
    for s in steps:
        if s[0] == "wait":
            d.tick(s[1])
            continue
        d.tick(1)
        want = None
        if s[0] == "call" and s[1] in SINGLE_SERVICE:
            ct = d.engine.state.counters[s[1]]
            if ct.status.value == "open":
                want = expected_next(d, s[1])
        out = d.run(to_command(s))
        for e in out.events:
            if e.kind is EventKind.ISSUED:
                t = d.engine.state.tickets[e.ticket or 0]
                key = (t.day, t.number)
                assert key not in issued, f"number {t.number} issued twice"
                issued.add(key)
            if e.kind is EventKind.CALLED and not e.data["recall"]:
                called_from_queue.append(e.ticket or 0)
            if e.kind in (EventKind.REQUEUED, EventKind.TRANSFERRED):
                rejoined[e.ticket or 0] = rejoined.get(e.ticket or 0, 0) + 1
        if s[0] == "call" and s[1] in SINGLE_SERVICE and want is not None:
            assert out.reply["ok"] and d.engine.state.counters[s[1]].current == want
        check_invariants(d, issued)
    # a ticket is called out of a queue at most once per time it joined one
    for tid in set(called_from_queue):
        assert called_from_queue.count(tid) <= 1 + rejoined.get(tid, 0)
