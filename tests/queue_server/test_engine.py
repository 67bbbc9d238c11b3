"""The queue engine's rules, on a fake clock (no broker, no disk)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from queue_server.config import load_hall
from queue_server.engine import commands as c
from queue_server.engine.model import Source, TicketStatus
from queue_server.errors import MESSAGES
from tests.queue_server.engine_harness import TOWNSHIP, TZ, Desk


def test_numbers_count_per_service_from_001() -> None:
    d = Desk()
    assert [d.issue("A"), d.issue("A"), d.issue("B"), d.issue("A")] == [
        "A001", "A002", "B001", "A003"]


def test_numbers_restart_at_local_midnight_and_old_tickets_stay_callable() -> None:
    d = Desk(now=datetime(2026, 11, 23, 23, 59, 0, tzinfo=TZ))
    d.open("2")
    assert d.issue("A") == "A001"
    assert d.issue("A") == "A002"
    d.tick(120)  # 00:01 the next day
    assert d.issue("A") == "A001"
    # yesterday's tickets are not voided: they are called first (they came first)
    assert d.call("2") == "A001"
    t = d.engine.state.tickets[d.engine.state.counters["2"].current or 0]
    assert t.day == date(2026, 11, 23)
    assert d.call("2") == "A002"
    assert d.call("2") == "A001"
    assert d.engine.state.tickets[d.engine.state.counters["2"].current or 0].day == date(
        2026, 11, 24)


def test_fifo_then_priority_then_transferred() -> None:
    d = Desk()
    d.open("2")
    a1, a2 = d.issue("A"), d.issue("A")
    p = d.issue("A", priority=True)
    assert d.call("2") == p
    assert d.call("2") == a1
    # a1 is transferred to B and back to A: it waits at the head of A
    d.open("4")
    d.ok(c.Transfer("2", service="B"))
    assert d.call("4") == a1
    d.ok(c.Transfer("4", service="A"))
    a4 = d.issue("A", priority=True)
    assert d.call("2") == a1  # transferred beats priority
    assert d.call("2") == a4
    assert d.call("2") == a2
    assert d.call("2") is None


def test_elder_gets_green_channel_from_id_birth_date() -> None:
    d = Desk()
    old = d.ok(c.Issue("A", Source.ID_CARD, id_hash="h1", birth=date(1950, 1, 1)))
    young = d.ok(c.Issue("A", Source.ID_CARD, id_hash="h2", birth=date(1990, 1, 1)))
    assert old["ticket"]["priority"] is True
    assert young["ticket"]["priority"] is False
    # 70 on the very day counts; one day short does not
    d2 = Desk(now=datetime(2026, 11, 23, 9, tzinfo=TZ))
    assert d2.ok(c.Issue("A", Source.ID_CARD, id_hash="x", birth=date(1956, 11, 23)))[
        "ticket"]["priority"]
    assert not d2.ok(c.Issue("A", Source.ID_CARD, id_hash="y", birth=date(1956, 11, 24)))[
        "ticket"]["priority"]


def test_one_waiting_ticket_per_id_per_service_and_reprint_offered() -> None:
    d = Desk()
    first = d.ok(c.Issue("A", Source.ID_CARD, id_hash="h"))["ticket"]
    reply = d.run(c.Issue("A", Source.ID_CARD, id_hash="h")).reply
    assert reply["error"]["code"] == "DUPLICATE_TICKET"
    assert reply["ticket"]["number"] == first["number"]  # for 补打
    assert d.ok(c.Issue("B", Source.ID_CARD, id_hash="h"))  # another service is fine
    d.open("2")
    d.call("2")  # once called, the person may take a new number
    assert d.ok(c.Issue("A", Source.ID_CARD, id_hash="h"))["ticket"]["number"] == "A002"


def test_service_hours_and_daily_cap() -> None:
    hall = load_hall(TOWNSHIP)
    sat = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
    d = Desk(hall, now=sat)
    reply = d.run(c.Issue("A", Source.WALK_IN)).reply
    assert reply["error"]["code"] == "SERVICE_CLOSED"
    assert reply["error"]["hours"] == "今日不办理"
    assert d.ok(c.Issue("B", Source.WALK_IN))  # social security opens Saturday mornings
    lunch = datetime(2026, 11, 23, 12, 30, tzinfo=TZ)
    assert Desk(hall, now=lunch).refused(c.Issue("A", Source.WALK_IN)) == "SERVICE_CLOSED"
    d = Desk(hall, now=datetime(2026, 11, 23, 9, tzinfo=TZ))
    for _ in range(hall.service("C").daily_cap):  # type: ignore[union-attr]
        d.issue("C")
    assert d.refused(c.Issue("C", Source.WALK_IN)) == "DAILY_CAP_REACHED"


def test_counter_states_and_their_refusals() -> None:
    d = Desk()
    assert d.refused(c.CallNext("1")) == "COUNTER_CLOSED"
    d.open("1")
    assert d.refused(c.CallNext("1")) == "NO_WAITING"
    assert d.refused(c.Recall("1")) == "NO_CURRENT"
    assert d.refused(c.Skip("1")) == "NO_CURRENT"
    d.ok(c.Pause("1", "午休"))
    assert d.engine.counter_view("1", d.now)["pause_reason"] == "午休"
    assert d.refused(c.CallNext("1")) == "COUNTER_PAUSED"
    d.ok(c.Resume("1"))
    d.issue("A")
    d.call("1")
    assert d.refused(c.Close("1")) == "COUNTER_BUSY"
    d.ok(c.Finish("1"))
    d.ok(c.Close("1"))
    assert d.engine.counter_view("1", d.now)["status"] == "closed"
    assert d.refused(c.Open("9")) == "UNKNOWN_COUNTER"


def test_call_next_finishes_the_current_ticket_even_when_none_waits() -> None:
    d = Desk()
    d.open("1")
    n = d.issue("A")
    d.call("1")
    out = d.run(c.CallNext("1"))
    assert out.reply["error"]["code"] == "NO_WAITING"
    assert out.reply["counter"]["ticket"] is None  # the terminal sees it is free
    assert d.ok(c.Lookup(number=n))["ticket"]["status"] == "done"


def test_recall_skip_requeue_and_no_show_counts() -> None:
    d = Desk()
    d.open("2")
    n = d.issue("A")
    d.call("2")
    out = d.run(c.Recall("2"))
    assert out.reply["counter"]["ticket"]["recalls"] == 1
    assert [e.data["recall"] for e in out.events] == [True]
    d.ok(c.Skip("2"))
    assert d.ok(c.Lookup(number=n))["ticket"]["status"] == "no_show"
    assert d.engine.counter_view("2", d.now)["no_show_today"] == 1
    later = d.issue("A")
    d.ok(c.Requeue("2", n))  # back in the queue behind those already waiting
    assert d.call("2") == later
    assert d.call("2") == n
    assert d.refused(c.Requeue("2", n)) == "NOT_NO_SHOW"
    assert d.refused(c.Requeue("2", "A999")) == "UNKNOWN_TICKET"


def test_transfer_to_a_counter_waits_for_that_counter_only() -> None:
    d = Desk()
    d.open("1", "2", "3")
    n = d.issue("A")
    other = d.issue("A")
    d.call("1")
    d.ok(c.Transfer("1", to_counter="3"))
    assert d.ok(c.Lookup(number=n))["ticket"]["status"] == "transferred"
    assert d.call("2") == other  # counter 2 does not get it
    assert d.call("3") == n  # counter 3 does, first
    assert d.refused(c.Transfer("3", to_counter="3")) == "TRANSFER_SELF"
    assert d.refused(c.Transfer("3", to_counter="99")) == "UNKNOWN_COUNTER"
    assert d.refused(c.Transfer("3", service="Z")) == "UNKNOWN_SERVICE"


def test_weights_favour_a_queue_without_starving_the_other() -> None:
    d = Desk()
    d.open("1")  # A weight 2, E weight 1
    e1 = d.issue("E")
    d.tick(60)
    a1 = d.issue("A")
    # E waited 61 s × 1 vs A 1 s × 2: E first
    assert d.call("1") == e1
    e2 = d.issue("E")
    d.tick(1)
    a2 = d.issue("A")
    # A001 waited longest and has the higher weight
    assert d.call("1") == a1
    # A002 (1 s × 2) vs E002 (2 s × 1): a tie on score, the earlier one wins
    assert d.call("1") == e2
    assert d.call("1") == a2


def test_two_counters_never_get_the_same_ticket() -> None:
    d = Desk()
    d.open("1", "2", "3")
    issued = [d.issue("A") for _ in range(5)]
    called = [d.call(cid) for cid in ("1", "2", "3", "1", "2", "3")]
    assert sorted(x for x in called if x) == sorted(issued)


def test_rating_rules() -> None:
    d = Desk()
    d.open("1", "2")
    n = d.issue("A")
    d.call("1")
    assert d.refused(c.Rate("1", n, 5)) == "NOT_SERVED_HERE"  # not finished yet
    d.ok(c.Finish("1"))
    assert d.refused(c.Rate("2", n, 5)) == "NOT_SERVED_HERE"  # another counter
    assert d.refused(c.Rate("1", n, 6)) == "BAD_LEVEL"
    assert d.refused(c.Rate("1", n, 2)) == "REASON_REQUIRED"
    reply = d.ok(c.Rate("1", n, 2, reason="等候时间太长"))
    assert reply["rating"] == {"level": 2, "follow_up": True}
    r = d.engine.state.ratings[1]
    assert r.follow_up_due == d.now + timedelta(days=15)
    assert d.refused(c.Rate("1", n, 5)) == "ALREADY_RATED"


def test_appointments_book_checkin_cancel() -> None:
    d = Desk()
    start = d.now.replace(hour=14)
    code = d.ok(c.Book("C", start, start + timedelta(minutes=30), id_hash="h"))["code"]
    assert d.refused(c.Book("C", start + timedelta(hours=1), start + timedelta(hours=2),
                            id_hash="h")) == "DUPLICATE_APPOINTMENT"
    assert d.refused(c.Checkin(code)) == "APPOINTMENT_NOT_DUE"
    d.now = start - timedelta(minutes=20)
    walk_in = d.issue("C")
    t = d.ok(c.Checkin(code))["ticket"]
    assert t["priority"] and t["appointment"] and t["service"] == "C"
    again = d.ok(c.Checkin(code))  # a second scan reprints, never a second ticket
    assert again["ticket"]["number"] == t["number"] and again["reprint"]
    d.open("5")
    assert d.call("5") == t["number"]  # booked ahead of the walk-in
    assert d.call("5") == walk_in
    assert d.refused(c.Cancel(code)) == "APPOINTMENT_USED"
    late = d.ok(c.Book("C", d.now + timedelta(hours=1), d.now + timedelta(hours=2)))["code"]
    d.ok(c.Cancel(late))
    assert d.refused(c.Checkin(late)) == "APPOINTMENT_CANCELLED"
    gone = d.ok(c.Book("C", d.now + timedelta(hours=3), d.now + timedelta(hours=4)))["code"]
    d.now += timedelta(hours=5)
    assert d.refused(c.Checkin(gone)) == "APPOINTMENT_EXPIRED"
    assert d.refused(c.Checkin("nope")) == "UNKNOWN_APPOINTMENT"
    assert d.refused(c.Book("C", d.now - timedelta(hours=1), d.now)) == "BAD_SLOT"


def test_ahead_and_estimate_follow_the_queue() -> None:
    d = Desk()
    for _ in range(4):
        d.issue("B")
    view = d.engine.service_view("B", d.now)
    assert view["waiting"] == 4
    # no counter open: the two counters configured for B stand in (counter 3 gives B
    # 8/9 of its time, weight 2 against A's 1); 8 typical minutes (estimate_learned.py)
    two = view["est_wait_s"]
    assert round(4 * 8 * 60 / 2) <= two < 4 * 8 * 60
    last = d.ok(c.Lookup(number="B004"))["ticket"]
    assert last["ahead"] == 3
    d.open("4")
    assert d.engine.service_view("B", d.now)["est_wait_s"] == 4 * 8 * 60  # one counter, free
    d.call("4")
    d.tick(60)
    d.call("4")  # B001 served in 61 s: a fast clerk pulls the estimate below typical
    assert d.engine.service_view("B", d.now)["est_wait_s"] < 2 * 8 * 60


def test_every_refusal_has_a_chinese_sentence() -> None:
    for code, text in MESSAGES.items():
        assert code.isupper() and text.endswith("。") and any("\u4e00" <= ch <= "\u9fff"
                                                               for ch in text)


def test_public_snapshot_has_no_personal_data() -> None:
    d = Desk()
    d.ok(c.Issue("A", Source.ID_CARD, id_hash="secret-hash", birth=date(1950, 1, 1)))
    d.open("1")
    d.call("1")
    snap = d.engine.public_wait(d.now)
    text = repr(snap)
    assert "secret-hash" not in text and "1950" not in text and "code-" not in text
    assert snap["counters"][0] == {"counter": "1", "name": "1号窗口", "status": "open",
                                   "serving": "A001"}


@pytest.mark.parametrize("status", [TicketStatus.DONE, TicketStatus.NO_SHOW])
def test_lookup_by_code_finds_closed_tickets(status: TicketStatus) -> None:
    d = Desk()
    d.open("1")
    code = d.ok(c.Issue("A", Source.WALK_IN))["ticket"]["code"]
    d.call("1")
    d.ok(c.Finish("1") if status is TicketStatus.DONE else c.Skip("1"))
    assert d.ok(c.Lookup(code=code))["ticket"]["status"] == str(status)


def test_a_slot_may_cross_midnight_in_a_hall_open_round_the_clock() -> None:
    # from 23:30 on, "10 minutes from now for 30 minutes" crosses midnight: it was refused
    d = Desk(now=datetime(2026, 11, 23, 23, 45, tzinfo=TZ))
    start = d.now + timedelta(minutes=10)
    code = d.ok(c.Book("C", start, start + timedelta(minutes=30)))["code"]
    d.tick(60)
    assert d.ok(c.Checkin(code))["ticket"]["appointment"]
    assert d.refused(c.Book("C", start, start)) == "BAD_SLOT"  # ends when it starts
