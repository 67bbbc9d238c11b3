"""The queue server against a real Mosquitto provisioned as a hall's broker."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from queue_server.client import RequestClient
from queue_server.mqtt import QueueServer
from tests.support.broker import Broker
from tests.support.server import ServerProcess, in_process, ok

TZ = ZoneInfo("Asia/Shanghai")


def test_every_op_over_mqtt(server: QueueServer, clients: dict[str, RequestClient]) -> None:
    kiosk, c1, c3, portal = (clients[d] for d in ("kiosk-1", "counter-1", "counter-3", "portal"))
    t1 = ok(kiosk.request("issue", {"service": "A", "source": "walk_in"}))["ticket"]
    assert t1["number"] == "A001" and t1["status"] == "waiting" and len(t1["code"]) >= 12
    t2 = ok(kiosk.request("issue", {"service": "A", "source": "id_card",
                                    "id_number": "11010519491231002X"}))["ticket"]
    assert t2["priority"] is True  # born 1949: the green channel
    assert ok(kiosk.request("lookup", {"number": "A001"}))["ticket"]["ahead"] == 1
    assert ok(portal.request("lookup", {"code": t1["code"]}))["ticket"]["number"] == "A001"

    start = datetime.now(TZ) + timedelta(minutes=10)
    booking = ok(portal.request("book", {"service": "B", "slot_start": start.isoformat(),
                                         "slot_end": (start + timedelta(minutes=30)).isoformat()}))
    t3 = ok(kiosk.request("checkin", {"code": booking["code"]}))["ticket"]
    assert t3["number"] == "B001" and t3["priority"] and t3["appointment"]
    spare = ok(portal.request("book", {"service": "B", "slot_start": start.isoformat(),
                                       "slot_end": (start + timedelta(minutes=30)).isoformat()}))
    ok(portal.request("cancel", {"code": spare["code"]}))

    assert c1.request("call_next")["error"]["code"] == "COUNTER_CLOSED"
    assert ok(c1.request("open"))["counter"]["status"] == "open"
    r = ok(c1.request("call_next"))
    assert r["ticket"]["number"] == "A002" and r["counter"]["ticket"]["number"] == "A002"
    assert ok(c1.request("recall"))["counter"]["ticket"]["recalls"] == 1
    ok(c1.request("skip"))
    assert ok(c1.request("call_next"))["ticket"]["number"] == "A001"
    ok(c1.request("start"))
    assert [t["number"] for t in ok(c1.request("no_shows"))["no_shows"]] == ["A002"]
    ok(c1.request("requeue", {"number": "A002"}))
    assert ok(c1.request("no_shows"))["no_shows"] == []
    ok(c1.request("transfer", {"service": "B"}))
    ok(c3.request("open"))
    assert ok(c3.request("call_next"))["ticket"]["number"] == "A001"  # transferred first
    done = ok(c3.request("finish"))
    assert done["ticket"]["status"] == "done" and done["counter"]["ticket"] is None
    # the clerk's terminal cannot rate for the resident: only the window's pad may
    assert c3.request("rate", {"number": "A001", "level": 5})["error"]["code"] == "FORBIDDEN"
    assert done["counter"]["last_served"]["number"] == "A001"
    rated = ok(clients["pad-3"].request("rate", {"number": "A001", "level": 1,
                                                  "reason": "等候时间太长"}))
    assert rated["rating"]["follow_up"] is True
    assert rated["counter"]["last_served"] == {**done["counter"]["last_served"], "rated": True}
    assert ok(c3.request("pause", {"reason": "系统维护"}))["counter"]["status"] == "paused"
    assert ok(c3.request("resume"))["counter"]["status"] == "open"
    ok(c3.request("call_next"))  # B001, the booked ticket
    ok(c3.request("finish"))
    assert ok(c3.request("close"))["counter"]["status"] == "closed"
    err = clients["pad-1"].request("rate", {"number": "A001", "level": 5})
    assert err["error"]["code"] == "NOT_SERVED_HERE" and "评价" in err["error"]["message"]


def test_state_is_retained_and_calls_are_announced(
    broker: Broker, server: QueueServer, clients: dict[str, RequestClient]
) -> None:
    board = broker.collector("display-1", "qms/demo/state/#", "qms/demo/event/#",
                             "qms/demo/public/#")
    ok(clients["kiosk-1"].request("issue", {"service": "A"}))
    board.wait_for("qms/demo/state/service/A", lambda m: m.json()["waiting"] == 1)
    ok(clients["counter-1"].request("open"))
    ok(clients["counter-1"].request("call_next"))
    called = board.wait_for("qms/demo/event/called").json()
    assert called["text"] == "请A001号到1号窗口办理"
    assert called["counter_name"] == "1号窗口" and called["recall"] is False
    board.wait_for("qms/demo/state/counter/1",
                   lambda m: (m.json()["ticket"] or {}).get("number") == "A001")
    snap = board.wait_for("qms/demo/public/wait",
                          lambda m: m.json()["counters"][0]["serving"] == "A001").json()
    assert snap["hall"] == "demo" and {s["service"] for s in snap["services"]} >= set("ABCD")
    # a board that starts now sees the truth at once, from retained messages
    late = broker.collector("display-2", "qms/demo/state/#")
    m = late.wait_for("qms/demo/state/counter/1")
    assert m.retain and m.json()["ticket"]["number"] == "A001"


def test_same_request_id_is_applied_once(broker: Broker, server: QueueServer) -> None:
    kiosk = broker.collector("kiosk-1", "qms/demo/reply/kiosk-1/#")
    for _ in range(3):
        kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "tap-1", "service": "A"})
    replies = [kiosk.wait_for("qms/demo/reply/kiosk-1")]
    kiosk.wait_for("qms/demo/reply/kiosk-1", lambda m: len(kiosk.received("#")) >= 3)
    bodies = {m.payload for m in kiosk.received("qms/demo/reply/kiosk-1")}
    assert len(bodies) == 1, "a retry must get the first reply again"
    assert json.loads(replies[0].payload)["ticket"]["number"] == "A001"
    kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "tap-2", "service": "A"})
    nxt = kiosk.wait_for("qms/demo/reply/kiosk-1", lambda m: m.json()["id"] == "tap-2")
    assert nxt.json()["ticket"]["number"] == "A002"


@pytest.mark.parametrize("payload", [
    b"\xff\xfe\x00", b"not json", b"[]", b'{"service": "A"}', b'{"id": 5}',
    b"{" * 5000, json.dumps({"id": "x" * 100}).encode(), b"",
])
def test_malformed_requests_get_bad_request_and_the_server_goes_on(
    broker: Broker, server: QueueServer, payload: bytes
) -> None:
    kiosk = broker.collector("kiosk-1", "qms/demo/reply/kiosk-1/#")
    kiosk.publish("qms/demo/cmd/kiosk-1/issue", payload)
    bad = kiosk.wait_for("qms/demo/reply/kiosk-1").json()
    assert bad == {"id": None, "ok": False, "error": bad["error"]}
    assert bad["error"]["code"] == "BAD_REQUEST" and bad["error"]["message"]
    kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "after", "service": "A"})
    assert kiosk.wait_for("qms/demo/reply/kiosk-1",
                          lambda m: m.json()["id"] == "after").json()["ok"]


def test_bad_fields_keep_the_request_id(broker: Broker, server: QueueServer) -> None:
    kiosk = broker.collector("kiosk-1", "qms/demo/reply/kiosk-1/#")
    kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "r1", "service": "ZZ"})
    kiosk.publish("qms/demo/cmd/kiosk-1/fly", {"id": "r2"})
    kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "r3", "service": "A",
                                                 "id_number": "110105194912310021"})
    got = {m.json()["id"]: m.json() for m in (
        kiosk.wait_for("qms/demo/reply/kiosk-1", lambda m, i=i: m.json()["id"] == i)
        for i in ("r1", "r2", "r3"))}
    assert got["r1"]["error"]["code"] == "BAD_REQUEST"
    assert got["r2"]["error"]["code"] == "BAD_REQUEST"
    assert got["r3"]["error"]["code"] == "INVALID_ID_NUMBER"


def test_response_topic_only_inside_the_requesters_reply_tree(
    broker: Broker, server: QueueServer
) -> None:
    spy = broker.collector("display-1", "qms/demo/state/#")
    other = broker.collector("kiosk-2", "qms/demo/reply/kiosk-2/#")
    kiosk = broker.collector("kiosk-1", "qms/demo/reply/kiosk-1/#")

    def ask(rid: str, response_topic: str, corr: bytes | None = None) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = response_topic
        if corr:
            props.CorrelationData = corr
        kiosk.publish("qms/demo/cmd/kiosk-1/lookup", {"id": rid, "number": "A001"},
                      properties=props)

    spy.clear()
    ask("into-state", "qms/demo/state/counter/1")
    ask("into-other", "qms/demo/reply/kiosk-2")
    ask("wildcard", "qms/demo/reply/kiosk-1/#")
    ask("own", "qms/demo/reply/kiosk-1/session-7", b"\x01corr")
    for rid in ("into-state", "into-other", "wildcard"):
        m = kiosk.wait_for("qms/demo/reply/kiosk-1", lambda m, r=rid: m.json()["id"] == r)
        assert m.topic == "qms/demo/reply/kiosk-1"
    own = kiosk.wait_for("qms/demo/reply/kiosk-1/session-7")
    assert own.json()["id"] == "own" and own.properties.CorrelationData == b"\x01corr"
    other.assert_nothing("qms/demo/reply/kiosk-2/#", within=0.2)
    assert not [m for m in spy.received("#") if b'"into-state"' in m.payload]


def test_two_counters_calling_at_once_never_share_a_ticket(
    server: QueueServer, clients: dict[str, RequestClient]
) -> None:
    issued = {ok(clients["kiosk-1"].request("issue", {"service": "A"}))["ticket"]["number"]
              for _ in range(30)}
    counters = [clients[f"counter-{n}"] for n in (1, 2, 3)]
    for c in counters:
        ok(c.request("open"))
    called: list[str] = []
    lock = threading.Lock()

    def work(c: RequestClient) -> None:
        while True:
            r = c.request("call_next")
            if not r["ok"]:
                assert r["error"]["code"] == "NO_WAITING"
                return
            with lock:
                called.append(r["ticket"]["number"])

    threads = [threading.Thread(target=work, args=(c,)) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(called) == sorted(issued)


def test_kill_9_right_after_a_reply_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    proc = ServerProcess(broker, tmp_path / "data").start()
    status = broker.collector("display-1", "qms/demo/status/server")
    try:
        with RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                           broker.broker_address) as kiosk:
            first = ok(kiosk.request("issue", {"service": "C"}, request_id="k-1"))
            proc.kill()  # SIGKILL, straight after the reply
            status.wait_for("qms/demo/status/server", lambda m: m.payload == b"offline")
            proc.start()
            again = ok(kiosk.request("issue", {"service": "C"}, request_id="k-1"))
            assert again == first  # the retry is answered from disk, not issued again
            assert ok(kiosk.request("lookup", {"number": "C001"}))["ticket"]["code"] == \
                first["ticket"]["code"]
            assert ok(kiosk.request("issue", {"service": "C"}))["ticket"]["number"] == "C002"
    finally:
        proc.close()


def test_request_sent_while_the_server_is_down_is_answered_when_it_starts(
    broker: Broker, tmp_path: Path
) -> None:
    proc = ServerProcess(broker, tmp_path / "data").start()
    proc.stop()  # its persistent session stays in the broker
    try:
        with RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                           broker.broker_address) as kiosk:
            result: list[dict] = []  # type: ignore[type-arg]
            t = threading.Thread(target=lambda: result.append(
                kiosk.request("issue", {"service": "D"}, timeout=30, retry_every=60)))
            t.start()  # sent once, to a broker with no server connected
            t.join(1.0)
            assert t.is_alive()
            proc.start()
            t.join(30)
            assert result and result[0]["ok"] and result[0]["ticket"]["number"] == "D001"
    finally:
        proc.close()


def test_a_call_committed_but_never_announced_is_announced_after_a_restart(
    broker: Broker, tmp_path: Path
) -> None:
    """A crash between the commit of a call and its event/called: the resident must still
    hear their number (found by ./qms bench reliability: 65 of 1,654 calls were silent)."""
    from itertools import count

    from queue_server.config import load_hall
    from queue_server.engine import Context, Engine
    from queue_server.engine import commands as c
    from queue_server.engine.model import Source
    from queue_server.store import Store
    from tests.support.broker import DEMO_HALL

    hall = load_hall(DEMO_HALL)
    store = Store(tmp_path / "data", hall)
    engine = Engine(hall, store.load(datetime.now(TZ).date()))
    codes = count()
    called_at = datetime.now(TZ).replace(microsecond=123000)
    for i, cmd in enumerate([c.Issue("A", Source.WALK_IN), c.Open("2"), c.CallNext("2")]):
        out = engine.handle(cmd, Context(called_at, lambda: f"code{next(codes)}"))
        with store.transaction():  # committed, as before a crash; nothing published
            store.record(device="counter-2", request_id=f"r{i}", op="x", at=called_at,
                         events=out.events, state=engine.state, reply=out.reply)
    store.close()

    board = broker.collector("display-1", "qms/demo/event/called")
    s = in_process(broker, tmp_path / "data")
    try:
        call = board.wait_for("qms/demo/event/called").json()
        assert call["number"] == "A001" and call["counter"] == "2"
        assert call["at"] == called_at.isoformat(timespec="milliseconds")  # the original call
        assert len(board.received("qms/demo/event/called")) == 1
    finally:
        s.stop()


def test_a_request_lost_with_the_brokers_queue_is_retried_and_applied_once(
    broker: Broker, tmp_path: Path
) -> None:
    """The hall's broker saves its database every 100 changes, so a broker crash may lose
    what it queued for a server that was down too. Nothing acknowledged is lost: the
    client retries under the same id until answered, and the server applies it once."""
    proc = ServerProcess(broker, tmp_path / "data").start()
    proc.kill()  # the server is down: the request waits in the broker
    try:
        with RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                           broker.broker_address) as kiosk:
            result: list[dict] = []  # type: ignore[type-arg]
            t = threading.Thread(target=lambda: result.append(
                kiosk.request("issue", {"service": "D"}, timeout=60, retry_every=2)))
            t.start()
            time.sleep(0.5)
            broker.restart(crash=True)  # the broker dies too, its queue with it
            proc.start()
            t.join(60)
            assert result and ok(result[0])["ticket"]["number"] == "D001"
            again = ok(kiosk.request("issue", {"service": "D"}))
            assert again["ticket"]["number"] == "D002"  # the first was applied once
    finally:
        proc.close()
