"""A report read beside a running server: read-only, sees what is committed, blocks nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from queue_server.client import RequestClient
from queue_server.config import load_hall
from queue_server.reports import build
from tests.support.broker import DEMO_HALL, Broker
from tests.support.server import in_process


def test_report_beside_a_live_server(broker: Broker, tmp_path: Path) -> None:
    server = in_process(broker, tmp_path)
    hall = load_hall(DEMO_HALL)
    try:
        with RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                           broker.broker_address) as kiosk:
            kiosk.start()
            first = kiosk.request("issue", {"service": "B"})
            assert first["ok"]
            today = datetime.now(hall.tz).date()
            report = build(tmp_path, today, today, hall=hall)
            assert report.total.issued == 1 and report.total.still_open == 1
            # the server still writes while a report has read: nothing is locked
            assert kiosk.request("issue", {"service": "B"}, timeout=5)["ok"]
            assert build(tmp_path, today, today, hall=hall).total.issued == 2
    finally:
        server.stop()
