"""A booking made with a phone number in Chromium, over the whole online path (hall broker
and server, bridge, central broker, portal with its notifier), checked in at a kiosk and
called at a counter: the fake gateway gets 前面还有 1 人 and 请到 1号窗口, each once, with
nothing but the hall's changes to drive the notifier."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from notifier.gateway import SmsConfig
from notifier.service import Notifier
from portal.app import Portal, create_app
from portal.feed import Feed
from portal.model import Directory
from provisioning.bridge import provision_bridge
from queue_server.client import RequestClient
from queue_server.config import load_hall
from queue_server.mqttlink import BrokerAddress
from tests.notifier.test_notifier import FakeGateway
from tests.portal.cdp import Browser
from tests.provisioning.test_bridge import Central
from tests.support.broker import DEMO_HALL, Broker, free_port
from tests.support.server import in_process

DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="chromium is not installed")


@pytest.fixture
def online(tmp_path: Path) -> Iterator[tuple[Broker, str, Notifier, FakeGateway]]:
    cdir = Path(tempfile.mkdtemp(prefix="qms-central-"))
    os.chmod(cdir, 0o755)
    hall = Broker.start()
    central_addr = BrokerAddress("127.0.0.1", free_port())
    provision_bridge("demo", cdir, central_addr, hall_dir=hall.dir, retry_s=1)
    central = Central(cdir / "mosquitto.conf")
    central.start(central_addr.port)
    hall.restart()
    server = in_process(hall, tmp_path / "data")
    gw = FakeGateway()
    notifier = Notifier(tmp_path / "portal-sms.db",
                        SmsConfig(url=gw.url, ahead=1, retry_delay_s=0.01, rate_per_s=100))
    creds = json.loads((cdir / "credentials.json").read_text())
    directory = Directory()
    holder: list[Portal] = []
    feed = Feed(directory, central_addr, "portal-1", creds["portal-1"],
                on_change=lambda h: holder[0].hub.changed(h))
    portal = Portal(directory, feed, {"demo": load_hall(DEMO_HALL)}, sse_interval_s=0.3,
                    notifier=notifier)
    holder.append(portal)
    feed.start()
    port = free_port()
    web = uvicorn.Server(uvicorn.Config(create_app(portal), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while directory.get("demo") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield hall, f"http://127.0.0.1:{port}", notifier, gw
    finally:
        web.should_exit = True
        thread.join(5)
        feed.stop()
        server.stop()
        notifier.close()
        gw.server.shutdown()
        central.kill()
        hall.close()
        shutil.rmtree(cdir, ignore_errors=True)


def wait_texts(gw: FakeGateway, n: int, timeout: float = 15.0) -> list[str]:
    gw.wait(n, timeout)
    time.sleep(0.5)  # a second text for the same step would show by now
    return [m["text"] for m in gw.received]


def test_booking_with_phone_in_chromium_then_texts_on_the_hall_changes(
        online: Any, tmp_path: Path) -> None:
    hall, base, notifier, gw = online
    shots = os.environ.get("QMS_DOCS_SHOTS")
    browser = Browser(f"{base}/book?hall=demo&service=A", tmp_path)
    try:
        browser.wait_for("document.querySelector('input[name=slot]') !== null")
        browser.eval("document.querySelector('input[name=slot]').checked = true;"
                     "document.getElementById('phone').value = '138 0013 8000';"
                     "document.getElementById('phone').scrollIntoView({block: 'center'})")
        if shots:
            browser.screenshot(DOCS / "notifier-book-phone.png")
        browser.eval("document.getElementById('phone').form.submit()")
        browser.wait_for("document.querySelector('.booked svg') !== null")
        code = browser.eval("document.querySelector('.code strong').textContent")
        text = browser.eval("document.querySelector('.booked').innerText")
        assert "138****8000" in text and "13800138000" not in text
        if shots:
            browser.eval("document.querySelector('.code').scrollIntoView({block: 'center'})")
            browser.screenshot(DOCS / "notifier-booked-phone.png")
    finally:
        browser.close()

    with RequestClient("demo", "kiosk-1", hall.password("kiosk-1"),
                       hall.broker_address) as kiosk, \
            RequestClient("demo", "counter-1", hall.password("counter-1"),
                          hall.broker_address) as counter:
        for _ in range(2):
            assert kiosk.request("issue", {"service": "A", "priority": True})["ok"]
        ticket = kiosk.request("checkin", {"code": code})["ticket"]
        number = ticket["number"]
        deadline = time.monotonic() + 15
        while [w.kind for w in notifier.watches("demo")] != ["ticket"]:
            assert time.monotonic() < deadline, notifier.watches("demo")
            time.sleep(0.1)
        assert gw.received == []  # two ahead
        assert counter.request("open")["ok"]
        assert counter.request("call_next")["ok"]
        assert wait_texts(gw, 1) == [
            f"【示范县政务服务中心】您的{number}号前面还有1人，请尽快到大厅等候。"]
        counter.request("finish")
        assert counter.request("call_next")["ok"]
        counter.request("finish")
        assert counter.request("call_next")["ticket"]["number"] == number
        assert wait_texts(gw, 2)[1:] == [f"【示范县政务服务中心】请{number}号到1号窗口办理。"]
    assert {m["phone"] for m in gw.received} == {"13800138000"}
    assert notifier.watches("demo") == []
