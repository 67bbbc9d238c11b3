"""A booking made with a phone number in Chromium, over the whole online path (hall broker
and server, bridge, central broker, portal with its notifier), checked in at a kiosk and
called at a counter: the fake gateway gets 前面还有 1 人 and 请到 1号窗口, each once, with
nothing but the hall's changes to drive the notifier."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notifier.gateway import SmsConfig
from notifier.service import Notifier
from queue_server.client import RequestClient
from tests.notifier.test_notifier import FakeGateway
from tests.portal.cdp import Browser
from tests.portal.online import online_hall
from tests.support.broker import Broker

DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="chromium is not installed")


@pytest.fixture
def online(tmp_path: Path) -> Iterator[tuple[Broker, str, Notifier, FakeGateway]]:
    gw = FakeGateway()
    notifier = Notifier(tmp_path / "portal-sms.db",
                        SmsConfig(url=gw.url, ahead=1, retry_delay_s=0.01, rate_per_s=100))
    try:
        with online_hall(tmp_path, notifier=notifier) as (hall, url):
            yield hall, url, notifier, gw
    finally:
        notifier.close()
        gw.server.shutdown()


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
