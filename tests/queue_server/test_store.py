"""The SQLite store keeps everything the engine acknowledged, and gives it back on restart."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

from queue_server.engine import Engine
from queue_server.store import Store
from tests.queue_server.engine_harness import Desk
from tests.queue_server.test_engine_properties import to_command


def _play(d: Desk, store: Store, n: int, seed: int) -> None:
    rnd = random.Random(seed)
    for i in range(n):
        kind = rnd.choice(["issue"] * 4 + ["call"] * 3 + ["counter", "transfer", "requeue"])
        if kind == "issue":
            s = ("issue", rnd.choice("ABCDE"), rnd.random() < 0.2, rnd.choice([None, "p1", "p3"]))
        elif kind == "call":
            s = ("call", rnd.choice("123456"))
        elif kind == "counter":
            s = ("counter", rnd.choice("123456"),
                 rnd.choice(["open", "open", "pause", "resume", "recall", "skip", "finish"]))
        elif kind == "transfer":
            s = ("transfer", rnd.choice("123456"), rnd.choice(["A", "B", "c3"]))
        else:
            s = ("requeue", rnd.choice("123456"), rnd.randint(1, 20), rnd.choice("ABCDE"))
        d.tick(rnd.randint(1, 90))
        out = d.run(to_command(s))
        with store.transaction():
            store.record(device="test", request_id=f"r{i}", op=s[0], at=d.now,
                         events=out.events, state=d.engine.state, reply=out.reply)


def test_reload_gives_back_the_same_hall(tmp_path: Path) -> None:
    d = Desk()
    store = Store(tmp_path, d.hall)
    _play(d, store, 400, seed=7)
    store.close()

    again = Store(tmp_path, d.hall)
    e2 = Engine(d.hall, again.load(d.now.date()))
    e1 = d.engine
    assert {t.number for t in e1.state.tickets.values()} == {
        t.number for t in e2.state.tickets.values()}
    for tid, t in e1.state.tickets.items():
        assert e2.ticket_view(e2.state.tickets[tid]) == e1.ticket_view(t)
    for cid in e1.state.counters:
        assert e2.counter_view(cid, d.now) == e1.counter_view(cid, d.now)
    assert e2.public_wait(d.now) == e1.public_wait(d.now)
    assert e2.state.seq == e1.state.seq
    assert e2.state.next_id == e1.state.next_id
    assert e2.state.last_at == d.now or e2.state.last_at <= d.now


def test_requests_are_remembered_and_events_logged(tmp_path: Path) -> None:
    d = Desk()
    store = Store(tmp_path, d.hall)
    _play(d, store, 50, seed=3)
    assert store.cached_reply("test", "r0") is not None
    assert store.cached_reply("test", "nope") is None
    n_events = store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert n_events > 0
    kinds = {r[0] for r in store.db.execute("SELECT DISTINCT kind FROM events")}
    assert "issued" in kinds
    store.prune_requests(d.now.date() + timedelta(days=5))
    assert store.cached_reply("test", "r0") is None


def test_database_is_wal_with_full_sync_and_no_id_numbers(tmp_path: Path) -> None:
    d = Desk()
    store = Store(tmp_path, d.hall)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    secret = store.secret
    store.close()
    assert Store(tmp_path, d.hall).secret == secret  # the HMAC key survives restarts
    con = sqlite3.connect(tmp_path / "hall.db")
    cols = {r[1] for r in con.execute("PRAGMA table_info(tickets)")}
    assert "id_hash" in cols and not {"id_number", "name"} & cols


def test_the_wal_is_checkpointed_in_the_background_not_in_a_commit(tmp_path: Path) -> None:
    d = Desk()
    store = Store(tmp_path, d.hall)
    checkpointer = store.checkpoint_in_background(interval_s=0.05)
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    _play(d, store, 200, seed=5)
    wal = tmp_path / "hall.db-wal"
    deadline = time.monotonic() + 10
    while checkpointer.behind != 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.behind == 0 and checkpointer.copied > 0  # all in the database file
    time.sleep(0.2)  # a few more (idle) runs: then the next commit restarts the WAL
    size = wal.stat().st_size
    _play(d, store, 5, seed=6)
    assert wal.stat().st_size == size  # the WAL is written again from its start
    store.close()
    assert not any(t.name == "wal-checkpoint" for t in threading.enumerate())
    reopened = sqlite3.connect(tmp_path / "hall.db")
    assert reopened.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] > 0
