"""The server's one serving thread and the broker: outages, bursts, the state behind them."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from queue_server.client import RequestClient
from queue_server.config import load_hall
from queue_server.mqtt import QueueServer
from queue_server.store import Store
from tests.support.broker import DEMO_HALL, Broker
from tests.support.server import ok


def test_the_server_rides_out_a_broker_crash(
    broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="queue_server")
    ok(clients["kiosk-1"].request("issue", {"service": "A"}))
    broker.restart(crash=True)  # retained state may be lost with it
    again = ok(clients["kiosk-1"].request("issue", {"service": "A"}, timeout=30))
    assert again["ticket"]["number"] == "A002"
    assert server.wait_connected(10) and server.alive()
    board = broker.collector("display-1", "qms/demo/state/service/A")
    board.wait_for("qms/demo/state/service/A", lambda m: m.json()["waiting"] == 2)
    late = broker.collector("display-2", "qms/demo/state/service/A")  # retained again
    assert late.wait_for("qms/demo/state/service/A", lambda m: m.json()["waiting"] == 2).retain
    assert "lost the broker" in caplog.text


def test_a_server_started_before_its_broker_connects_when_it_comes(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="queue_server")
    broker.stop()
    hall = load_hall(DEMO_HALL)
    s = QueueServer(hall, Store(tmp_path / "data", hall), broker.broker_address,
                    broker.password("server"))
    s.start()
    try:
        assert not s.wait_connected(2.5)  # dialled at 0 and 1 s: refused each time
        broker.restart()
        assert s.wait_connected(15)
        with RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                           broker.broker_address) as kiosk:
            assert ok(kiosk.request("issue", {"service": "B"}))["ticket"]["number"] == "B001"
    finally:
        s.stop()
    warnings = [r for r in caplog.records if "cannot reach broker" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING  # once, not per dial
    assert not s.alive()


def test_after_a_burst_the_boards_see_the_final_state(
    broker: Broker, server: QueueServer
) -> None:
    """Under load the state is published at most every 100 ms; when the burst ends the
    last of it must still go out, with nothing more arriving to trigger it."""
    board = broker.collector("display-1", "qms/demo/state/service/A", "qms/demo/public/wait")
    kiosks = [RequestClient("demo", f"kiosk-{n}", broker.password(f"kiosk-{n}"),
                            broker.broker_address).start() for n in (1, 2)]
    per_kiosk = 150

    def issue(rc: RequestClient) -> None:
        for _ in range(per_kiosk):
            ok(rc.request("issue", {"service": "A"}))

    threads = [threading.Thread(target=issue, args=(rc,)) for rc in kiosks]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        total = per_kiosk * len(kiosks)
        board.wait_for("qms/demo/state/service/A", lambda m: m.json()["waiting"] == total)
        board.wait_for("qms/demo/public/wait", lambda m: any(
            s["service"] == "A" and s["waiting"] == total for s in m.json()["services"]))
        # coalesced: far fewer state messages than requests, and none after the last
        states = board.received("qms/demo/state/service/A")
        assert len(states) < total
        assert json.loads(states[-1].payload)["waiting"] == total
    finally:
        for rc in kiosks:
            rc.close()


def test_a_refused_password_is_retried_with_back_off_not_hammered(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="queue_server")
    hall = load_hall(DEMO_HALL)
    s = QueueServer(hall, Store(tmp_path / "data", hall), broker.broker_address, "wrong")
    s.start()
    try:
        assert not s.wait_connected(3.5)
    finally:
        s.stop()
    refused = [r for r in caplog.records if "refused the server's connection" in r.getMessage()]
    assert 2 <= len(refused) <= 4  # dialled at 0, 1 and 3 s
