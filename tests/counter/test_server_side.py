"""What the counter terminal and rating pad need from the server: last served ticket,
today's no-shows, bad-rating follow-ups (list, mark handled), on real SQLite files."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from queue_server.engine import Context, Engine
from queue_server.engine import commands as c
from queue_server.engine.model import Source
from queue_server.store import Store
from tests.queue_server.engine_harness import DEMO, TZ, Desk

REPO = Path(__file__).resolve().parents[2]


def test_counter_state_names_the_last_served_ticket_until_rated() -> None:
    d = Desk()
    d.open("1")
    n = d.issue("A")
    d.call("1")
    assert d.engine.counter_view("1", d.now)["last_served"] is None
    d.tick(30)
    d.ok(c.Finish("1"))
    last = d.engine.counter_view("1", d.now)["last_served"]
    assert last["number"] == n and last["rated"] is False and last["service_name"] == "综合受理"
    d.ok(c.Rate("1", n, 4))
    assert d.engine.counter_view("1", d.now)["last_served"]["rated"] is True
    # call_next ends the current ticket as served: that one is what the pad rates next
    n2, n3 = d.issue("A"), d.issue("A")
    d.call("1")
    d.call("1")
    assert d.engine.counter_view("1", d.now)["last_served"]["number"] == n2
    assert d.engine.counter_view("1", d.now)["ticket"]["number"] == n3
    # another day: nothing to rate
    assert d.engine.counter_view("1", d.now + timedelta(days=1))["last_served"] is None


def test_no_shows_are_today_s_of_served_services_newest_first() -> None:
    d = Desk()
    d.open("1", "4")
    a1, a2, b1 = d.issue("A"), d.issue("A"), d.issue("B")
    for cid in ("1", "1", "4"):
        d.call(cid)
        d.tick(5)
        d.ok(c.Skip(cid))
    assert [t["number"] for t in d.ok(c.NoShows("1"))["no_shows"]] == [a2, a1]
    assert [t["number"] for t in d.ok(c.NoShows("4"))["no_shows"]] == [b1]
    assert [t["number"] for t in d.ok(c.NoShows("3"))["no_shows"]] == [b1, a2, a1]  # B and A
    first = d.ok(c.NoShows("1"))["no_shows"][0]
    assert first["service_name"] == "综合受理" and first["no_show_at"] and first["issued_at"]
    d.ok(c.Requeue("1", a1))
    assert [t["number"] for t in d.ok(c.NoShows("1"))["no_shows"]] == [a2]
    assert not d.run(c.NoShows("1")).events  # a read: nothing to store or publish


def _served_and_rated(data: Path) -> tuple[Store, datetime]:
    """A001 served at counter 2 and rated 1 (follow-up), A002 served and rated 5, on disk."""
    d = Desk()
    store = Store(data, d.hall)
    engine = Engine(d.hall)
    now = datetime.now(TZ).replace(microsecond=0)
    codes = iter(range(10**6))
    rid = iter(range(10**6))

    def run(cmd: c.Command) -> None:
        nonlocal now
        now += timedelta(seconds=10)
        out = engine.handle(cmd, Context(now, lambda: f"code-{next(codes)}"))
        assert out.reply["ok"], out.reply
        with store.transaction():
            store.record(device="t", request_id=str(next(rid)), op="x", at=now,
                         events=out.events, state=engine.state, reply=out.reply)

    run(c.Open("2"))
    for _ in range(2):
        run(c.Issue("A", Source.WALK_IN))
    run(c.CallNext("2"))
    run(c.Finish("2"))
    run(c.Rate("2", "A001", 1, reason="服务态度不好", comment="态度生硬"))
    run(c.CallNext("2"))
    run(c.Finish("2"))
    run(c.Rate("2", "A002", 5))
    return store, now


def test_last_served_survives_a_restart(tmp_path: Path) -> None:
    store, now = _served_and_rated(tmp_path)
    store.close()
    hall = Desk().hall
    again = Store(tmp_path, hall)
    view = Engine(hall, again.load(now.date())).counter_view("2", now)
    assert view["last_served"]["number"] == "A002" and view["last_served"]["rated"] is True
    again.close()


def test_follow_ups_list_and_mark_handled(tmp_path: Path) -> None:
    store, now = _served_and_rated(tmp_path)
    open_ = store.follow_ups()
    assert [(r["number"], r["level"], r["reason"]) for r in open_] == [("A001", 1, "服务态度不好")]
    row = store.handle_follow_up("A001", "已电话回访，致歉并说明材料要求", now, by="supervisor")
    assert row["handled_at"] and row["handled_note"].startswith("已电话回访")
    assert store.follow_ups() == [] and len(store.follow_ups(include_handled=True)) == 1
    audit = list(store.db.query("SELECT * FROM events WHERE kind = 'follow_up_handled'"))
    assert audit[0]["number"] == "A001" and audit[0]["device"] == "supervisor"
    for number, words in (("A001", "already"), ("A002", "no bad rating")):
        try:
            store.handle_follow_up(number, "x", now, by="s")
        except LookupError as e:
            assert words in str(e)
        else:
            raise AssertionError("expected LookupError")
    store.close()


def test_followups_cli(tmp_path: Path) -> None:
    store, _ = _served_and_rated(tmp_path)
    store.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "queue_server", "followups", "--config",
                               str(DEMO), "--data", str(tmp_path), *args], cwd=REPO,
                              capture_output=True, text=True, timeout=30)

    r = cli()
    assert r.returncode == 0, r.stderr
    assert "A001" in r.stdout and "非常不满意" in r.stdout and "1 follow-up(s) open" in r.stdout
    assert cli("--handle", "A001").returncode == 2  # --note is required
    r = cli("--handle", "A001", "--note", "已回访")
    assert r.returncode == 0 and "marked handled" in r.stdout
    r = cli("--handle", "A001", "--note", "again")
    assert r.returncode == 1 and "already" in r.stderr
    assert "0 follow-up(s) open" in cli().stdout
    assert "已回访" in cli("--all").stdout


def test_expect_current_stops_acting_on_a_ticket_the_clerk_did_not_see() -> None:
    # two terminals of counter 1 both show "no ticket" and both press 呼叫下一位
    d = Desk()
    d.open("1")
    a1, _a2 = d.issue("A"), d.issue("A")
    first = d.ok(c.CallNext("1", expect=""))
    assert first["ticket"]["number"] == a1
    assert d.refused(c.CallNext("1", expect="")) == "CURRENT_CHANGED"  # a1 not ended
    assert d.engine.counter_view("1", d.now)["ticket"]["number"] == a1
    assert d.refused(c.Skip("1", expect="A999")) == "CURRENT_CHANGED"
    d.ok(c.Finish("1", expect=a1))
    assert c.CallNext("1") == c.CallNext("1", expect=None)  # absent: no check (the contract)


def test_expect_current_on_the_wire() -> None:
    from datetime import date

    from queue_server import requests as rq

    def parse(payload: str) -> c.Command:
        return rq.parse("counter-1", "call_next", payload.encode(), secret=b"s",
                        today=date(2026, 11, 23), tz=TZ).command

    assert parse('{"id": "r"}') == c.CallNext("1")
    assert parse('{"id": "r", "expect_current": null}') == c.CallNext("1", expect="")
    assert parse('{"id": "r", "expect_current": "A001"}') == c.CallNext("1", expect="A001")
    try:
        parse('{"id": "r", "expect_current": 5}')
    except rq.BadRequest as e:
        assert "expect_current" in str(e)
    else:
        raise AssertionError("expected BadRequest")
