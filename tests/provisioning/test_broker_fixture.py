"""The shared `broker` fixture itself: starts fast, passes messages, restarts in place."""

from __future__ import annotations

import time

from tests.support.broker import DEMO_HALL, Broker


def test_fixture_broker_carries_a_request_and_its_reply(broker: Broker) -> None:
    server = broker.collector("server", "qms/demo/cmd/#")
    kiosk = broker.collector("kiosk-1", "qms/demo/reply/kiosk-1/#")
    assert not kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "r1"}).is_failure
    assert server.wait_for("qms/demo/cmd/kiosk-1/issue").json() == {"id": "r1"}
    assert not server.publish("qms/demo/reply/kiosk-1", {"id": "r1", "ok": True}).is_failure
    assert kiosk.wait_for("qms/demo/reply/kiosk-1").json()["ok"] is True


def test_start_is_fast_and_close_removes_the_directory() -> None:
    t0 = time.monotonic()
    b = Broker.start(DEMO_HALL)
    try:
        assert time.monotonic() - t0 < 0.5
        assert b.running and b.address == f"127.0.0.1:{b.port}"
        assert b.dir.stat().st_mode & 0o005 == 0o005  # the mosquitto user can reach it
    finally:
        b.close()
    assert not b.running
    assert not b.dir.exists()


def test_restart_keeps_port_and_collectors_resubscribe(broker: Broker) -> None:
    port = broker.port
    display = broker.collector("display-1", "qms/demo/state/#")
    server = broker.collector("server")
    broker.restart()
    assert broker.port == port
    display.wait_connections(2)
    server.wait_connections(2)
    server.publish("qms/demo/state/counter/1", {"status": "open"}, retain=True)
    assert display.wait_for("qms/demo/state/counter/1").json() == {"status": "open"}
