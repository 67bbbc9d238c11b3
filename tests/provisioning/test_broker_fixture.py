"""The shared `broker` fixture itself: starts fast, passes messages, restarts in place."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

import tests.support.broker as support
from tests.support.broker import DEMO_HALL, Broker, BrokerError


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


def test_a_broker_that_cannot_start_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(support, "free_port", lambda host="127.0.0.1": taken.getsockname()[1])
        with pytest.raises(BrokerError) as failed:
            Broker.start(DEMO_HALL)
    assert "on start; its log (" in str(failed.value)
    assert "Error: Address already in use" in str(failed.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="the root case needs root")
def test_a_workdir_the_broker_user_cannot_reach_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="cannot enter"):
        Broker.start(DEMO_HALL, workdir=tmp_path / "broker")
