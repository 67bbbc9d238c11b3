"""SMS reminders for a booking's and a filing's phone number, against a real Mosquitto, the
real queue server (in process), real SQLite files and the local fake gateway."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from notifier.gateway import SmsConfig
from notifier.hall import HallNotifier, HallSource
from notifier.service import Notifier
from portal.app import Portal, create_app
from portal.feed import HallUnreachable
from portal.model import Directory
from queue_server.client import RequestClient, RequestTimeout
from queue_server.config import load_hall
from queue_server.mqtt import QueueServer
from tests.notifier.test_notifier import FakeGateway
from tests.queue_server.filing_support import elder_values, page
from tests.support.broker import DEMO_HALL, REPO, Broker
from tests.support.server import ok

HALL = "示范县政务服务中心"


def ahead_text(number: str) -> str:
    return f"【{HALL}】您的{number}号前面还有1人，请尽快到大厅等候。"


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    gw = FakeGateway()
    yield gw
    gw.server.shutdown()


class HallRequester:
    """The portal's requester over the hall broker as device `portal` (the bridge and
    central broker are tested in tests/portal; here the hall's answers matter)."""

    def __init__(self, rc: RequestClient) -> None:
        self.rc = rc

    async def request(self, hall: str, op: str, payload: dict[str, Any], *,
                      timeout: float = 10.0) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(self.rc.request, op, payload, timeout=timeout)
        except RequestTimeout as e:
            raise HallUnreachable(str(e)) from None


def sms(gw: FakeGateway, **kw: Any) -> SmsConfig:
    return SmsConfig(url=gw.url, ahead=1, retry_delay_s=0.01, rate_per_s=100, **kw)


def texts(gw: FakeGateway, settle: float = 0.2) -> list[tuple[str, str]]:
    time.sleep(settle)  # the worker thread sends; give a wrong extra send time to show
    return [(m["phone"], m["text"]) for m in gw.received]


def two_priority_tickets(kiosk: RequestClient) -> None:
    for _ in range(2):
        ok(kiosk.request("issue", {"service": "A", "priority": True}))


def call(counter: RequestClient) -> dict[str, Any]:
    counter.request("finish")  # the one at the counter, if any
    return ok(counter.request("call_next"))["ticket"]


def test_booking_phone_follows_the_booking_to_its_ticket(
        broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
        gateway: FakeGateway, tmp_path: Path) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-1"]
    notifier = Notifier(tmp_path / "portal-sms.db", sms(gateway))
    d = Directory()
    d.put_snapshot("demo", {"hall": "demo", "name": HALL, "services": [], "counters": []})
    portal = Portal(d, HallRequester(clients["portal"]), {"demo": load_hall(DEMO_HALL)},
                    notifier=notifier)
    app = create_app(portal)
    web = TestClient(app)

    def check() -> None:
        asyncio.run(app.state.check_hall("demo"))

    form = web.get("/book?hall=demo&service=A").text
    assert 'name="phone"' in form and "前面还剩 1 人" in form
    slot = form.split('name="slot" value="')[1].split('"')[0]
    bad = web.post("/book", data={"hall": "demo", "service": "A", "slot": slot,
                                  "phone": "1380013"})
    assert bad.status_code == 409 and "手机号码有误" in bad.text  # and nothing was booked
    r = web.post("/book", data={"hall": "demo", "service": "A", "slot": slot,
                                "phone": "138 0013 8000"})
    assert r.status_code == 200 and "138****8000" in r.text
    code = r.text.split("预约码：<strong>")[1].split("<")[0]
    assert [w.kind for w in notifier.watches("demo")] == ["appointment"]

    check()  # not checked in yet: the number waits under the booking's code
    assert [w.code for w in notifier.watches("demo")] == [code] and texts(gateway) == []

    two_priority_tickets(kiosk)
    ticket = ok(kiosk.request("checkin", {"code": code}))["ticket"]
    check()  # checked in, two ahead: now kept under the ticket's code, nothing due yet
    assert [(w.code, w.kind) for w in notifier.watches("demo")] == [(ticket["code"], "ticket")]
    assert texts(gateway) == []

    ok(counter.request("open"))
    call(counter)
    check()
    check()
    number = ticket["number"]
    assert texts(gateway) == [("13800138000", ahead_text(number))]
    call(counter)
    check()
    assert len(texts(gateway)) == 1  # none ahead: still the one text
    assert call(counter)["number"] == number
    check()
    check()
    assert texts(gateway)[1:] == [("13800138000", f"【{HALL}】请{number}号到1号窗口办理。")]
    assert notifier.watches("demo") == []  # nothing more to send: the number is erased

    # A cancelled booking's number is erased at once.
    r = web.post("/book", data={"hall": "demo", "service": "A", "slot": slot,
                                "phone": "13900139000"})
    other = r.text.split("预约码：<strong>")[1].split("<")[0]
    assert web.post("/book/cancel", data={"hall": "demo", "code": other}).status_code == 200
    assert notifier.watches("demo") == []
    # Booked without a number: nothing kept, nothing sent.
    r = web.post("/book", data={"hall": "demo", "service": "A", "slot": slot})
    assert r.status_code == 200 and "预约成功" in r.text and "各发一条短信" not in r.text
    assert notifier.watches("demo") == [] and len(texts(gateway)) == 2
    notifier.close()


def file_with_ticket(kiosk: RequestClient, **values: str) -> tuple[str, dict[str, Any]]:
    def upload(data: bytes) -> str:
        r = ok(kiosk.request("upload", {"data": base64.b64encode(data).decode("ascii")}))
        return str(r["document"]["sha256"])

    docs = {"id_card": [upload(page(1)), upload(page(2))], "hukou_book": [upload(page(3))],
            "bank_card": [upload(page(4))]}
    f = ok(kiosk.request("file", {"item": "gaoling-jintie", "values": elder_values(**values),
                                  "documents": docs}))["filing"]
    ticket = ok(kiosk.request("filing_ticket", {"number": f["number"]}))["ticket"]
    return f["number"], ticket


def test_filing_phone_is_texted_from_the_hall_side(
        broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
        gateway: FakeGateway, tmp_path: Path) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-1"]
    hall = load_hall(DEMO_HALL)
    hn = HallNotifier(HallSource(tmp_path / "data", hall), tmp_path / "data" /
                      "sms-notifier.db", sms(gateway))
    two_priority_tickets(kiosk)
    _, ticket = file_with_ticket(kiosk)  # phone 13812345678 in the sealed form
    number = ticket["number"]
    now = datetime.now().astimezone()
    assert hn.poll(now) and texts(gateway) == []  # two ahead
    assert not hn.poll(now)  # nothing committed since: no look at all
    raw = (tmp_path / "data" / "sms-notifier.db").read_bytes()
    assert b"13812345678" not in raw  # the notifier keeps the filing number, not the phone

    ok(counter.request("open"))
    call(counter)
    hn.poll(now)
    hn.poll(now)
    assert texts(gateway) == [("13812345678", ahead_text(number))]
    call(counter)
    hn.poll(now)
    assert call(counter)["number"] == number
    hn.poll(now)
    hn.poll(now)
    assert texts(gateway)[1:] == [("13812345678", f"【{HALL}】请{number}号到1号窗口办理。")]
    # Missed the call, put back in the queue: followed once, never texted again.
    ok(counter.request("skip"))
    ok(counter.request("requeue", {"number": number}))
    hn.poll(now)
    ok(counter.request("call_next"))
    hn.poll(now)
    assert len(texts(gateway)) == 2
    hn.close()


def test_filing_without_a_mobile_number_sends_nothing(
        broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
        gateway: FakeGateway, tmp_path: Path) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-1"]
    hn = HallNotifier(HallSource(tmp_path / "data", load_hall(DEMO_HALL)),
                      tmp_path / "n.db", sms(gateway))
    file_with_ticket(kiosk, phone="0571-86001234")  # a landline takes no text
    hn.poll(datetime.now().astimezone())
    ok(counter.request("open"))
    call(counter)
    hn.poll(datetime.now().astimezone())
    assert hn.notifier.watches("demo") == [] and texts(gateway) == []
    hn.close()


def test_gateway_down_never_blocks_the_queue(
        broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
        tmp_path: Path) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-1"]
    dead = SmsConfig(url="http://127.0.0.1:9/send", ahead=5, retries=3, retry_delay_s=0.5)
    hn = HallNotifier(HallSource(tmp_path / "data", load_hall(DEMO_HALL)),
                      tmp_path / "n.db", dead)
    _, ticket = file_with_ticket(kiosk)
    hn.poll(datetime.now().astimezone())  # a text is due (0 ahead): queued, not waited on
    ok(counter.request("open"))
    assert call(counter)["number"] == ticket["number"]
    hn.poll(datetime.now().astimezone())
    # Both polls came back while the first send is still being retried (4 tries, 3.5 s of
    # pauses): nothing has failed or been sent yet, and the queue went on meanwhile.
    assert hn.notifier.failed == 0 and hn.notifier.sent == 0
    assert ok(kiosk.request("issue", {"service": "A"}))["ticket"]["number"] == "A002"
    hn.close()


def test_hall_notifier_command_runs_beside_the_server(
        broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
        gateway: FakeGateway, tmp_path: Path) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-1"]
    conf = tmp_path / "sms.toml"
    conf.write_text(f'[sms]\nurl = "{gateway.url}"\nahead = 0\nretry_delay_s = 0.01\n',
                    "utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier", "--hall", str(DEMO_HALL), "--data",
         str(tmp_path / "data"), "--sms-config", str(conf), "--poll-s", "0.1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _, ticket = file_with_ticket(kiosk)
        ok(counter.request("open"))
        assert call(counter)["number"] == ticket["number"]
        gateway.wait(1, timeout=10)  # 0 ahead was never seen (called first), or was
        deadline = time.monotonic() + 10
        while not any("办理" in m["text"] for m in gateway.received):
            assert time.monotonic() < deadline, gateway.received
            time.sleep(0.05)
        called = [m for m in gateway.received if "办理" in m["text"]]
        assert called == [{"phone": "13812345678",
                           "text": f"【{HALL}】请{ticket['number']}号到1号窗口办理。"}]
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=10)[0].decode("utf-8", "replace")
    assert proc.returncode == 0, out
    assert "following filings of hall demo" in out and "13812345678" not in out


def test_hall_notifier_command_refuses_bad_config(tmp_path: Path) -> None:
    conf = tmp_path / "sms.toml"
    conf.write_text('[sms]\nurl = "ftp://x"\n', "utf-8")
    r = subprocess.run([sys.executable, "-m", "notifier", "--hall", str(DEMO_HALL), "--data",
                        str(tmp_path), "--sms-config", str(conf)], cwd=REPO,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "sms.url" in r.stderr and "http(s) URL" in r.stderr


def test_ticket_called_before_the_first_look_still_gets_its_call_text(
        broker: Broker, server: QueueServer, clients: dict[str, RequestClient],
        gateway: FakeGateway, tmp_path: Path) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-1"]
    _, ticket = file_with_ticket(kiosk)
    ok(counter.request("open"))
    call(counter)  # the hall notifier was down (or slow) all the while it waited
    hn = HallNotifier(HallSource(tmp_path / "data", load_hall(DEMO_HALL)),
                      tmp_path / "n.db", sms(gateway))
    hn.poll(datetime.now().astimezone())
    hn.poll(datetime.now().astimezone())
    assert texts(gateway) == [("13812345678", f"【{HALL}】请{ticket['number']}号到1号窗口办理。")]
    hn.close()
