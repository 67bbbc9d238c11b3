"""The portal's pages and open API over a filled Directory and a scripted hall."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal.app import Portal, create_app
from portal.feed import HallUnreachable
from portal.model import Directory, minutes_text, ticket_lines
from queue_server.config import load_hall
from tests.queue_server.engine_harness import DEMO, TOWNSHIP

SNAP = {"hall": "demo", "name": "示范县政务服务中心", "at": "2026-11-23T09:05:03+08:00",
        "services": [{"service": "A", "name": "综合受理", "waiting": 7, "est_wait_s": 840,
                      "open": True},
                     {"service": "C", "name": "不动产登记", "waiting": 0, "est_wait_s": 0,
                      "open": False}],
        "counters": [{"counter": "1", "name": "1号窗口", "status": "open", "serving": "A012"},
                     {"counter": "2", "name": "2号窗口", "status": "paused", "serving": None}]}


class ScriptedHall:
    """Answers portal requests as a hall server would; None means the link is down."""

    def __init__(self) -> None:
        self.replies: dict[str, dict[str, Any] | None] = {}
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def request(self, hall: str, op: str, payload: dict[str, Any], *,
                      timeout: float = 10.0) -> dict[str, Any]:
        self.sent.append((hall, op, payload))
        reply = self.replies.get(op)
        if reply is None:
            raise HallUnreachable("down")
        return reply


@pytest.fixture
def setup() -> tuple[TestClient, ScriptedHall, Directory]:
    d = Directory()
    d.put_snapshot("demo", json.loads(json.dumps(SNAP)))
    hall = ScriptedHall()
    portal = Portal(d, hall, {"demo": load_hall(DEMO), "township": load_hall(TOWNSHIP)})
    return TestClient(create_app(portal)), hall, d


def test_index_and_hall_pages_show_the_figures(setup: Any) -> None:
    client, _, _ = setup
    r = client.get("/")
    assert r.status_code == 200 and "示范县政务服务中心" in r.text
    assert 'data-service="A"' in r.text and "约14分钟" in r.text and "今日已停办" in r.text
    r = client.get("/h/demo")
    assert "1号窗口" in r.text and "正在办理 A012" in r.text and "暂停" in r.text
    assert client.get("/h/nowhere").status_code == 404
    assert "没有找到" in client.get("/?q=上海").text


def test_api_matches_the_pages_and_has_openapi(setup: Any) -> None:
    client, _, _ = setup
    h = client.get("/api/v1/halls/demo").json()
    assert h["services"][0]["waiting"] == 7 and h["online"] is True
    assert h["services"][1]["est_wait_text"] == "无需排队"  # nobody waiting
    assert client.get("/api/v1/halls").json()["total"] == 1
    assert client.get("/api/v1/halls/x").json()["code"] == "UNKNOWN_HALL"
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/halls/{hall}/appointments" in spec["paths"]
    assert client.get("/api/docs").status_code == 200


def test_ticket_page_says_how_many_ahead_and_where_to_go(setup: Any) -> None:
    client, hall, _ = setup
    hall.replies["lookup"] = {"ok": True, "ticket": {
        "number": "A015", "service": "A", "service_name": "综合受理", "status": "waiting",
        "ahead": 3, "est_wait_s": 420}}
    r = client.get("/t/demo/abcdef123456")
    assert "前面还有 3 人" in r.text and "约7分钟" in r.text
    assert hall.sent[-1] == ("demo", "lookup", {"code": "abcdef123456"})
    assert client.get("/t/abcdef123456?hall=demo").text.count("前面还有 3 人") == 1
    assert "这张号票是哪个大厅的" in client.get("/t/abcdef123456").text
    hall.replies["lookup"] = {"ok": True, "ticket": {
        "number": "A015", "service": "A", "service_name": "综合受理", "status": "called",
        "counter_name": "3号窗口", "ahead": 0, "est_wait_s": 0}}
    assert client.get("/api/v1/halls/demo/tickets/abcdef123456").json()["headline"] == \
        "请到 3号窗口 办理"
    hall.replies["lookup"] = {"ok": False, "error": {"code": "UNKNOWN_TICKET", "message": "x"}}
    assert client.get("/t/demo/abcdef123456").status_code == 404
    assert client.get("/api/v1/halls/demo/tickets/abcdef123456").status_code == 404
    hall.replies.pop("lookup")
    r = client.get("/t/demo/abcdef123456")
    assert r.status_code == 503 and "网络中断" in r.text


def test_booking_form_offers_slots_and_shows_the_qr(setup: Any) -> None:
    client, hall, _ = setup
    r = client.get("/book?hall=township&service=C")
    assert r.status_code == 200 and 'name="slot"' in r.text
    slot = r.text.split('name="slot" value="')[1].split('"')[0]
    hall.replies["book"] = {"ok": True, "code": "bk-0123456789abcdef"}
    r = client.post("/book", data={"hall": "township", "service": "C", "slot": slot,
                                   "id_number": "11010519491231002x"})
    assert r.status_code == 200 and "预约成功" in r.text and "<svg" in r.text
    assert "bk-0123456789abcdef" in r.text
    sent = hall.sent[-1][2]
    assert sent["id_number"] == "11010519491231002X" and sent["slot_start"] == slot.split("/")[0]
    hall.replies["book"] = {"ok": False, "error": {"code": "SLOT_FULL",
                                                   "message": "该时段已约满，请选择其他时段。"}}
    r = client.post("/book", data={"hall": "township", "service": "C", "slot": slot})
    assert r.status_code == 409 and "该时段已约满" in r.text and 'name="slot"' in r.text


def test_api_booking_and_cancel(setup: Any) -> None:
    client, hall, _ = setup
    slots = client.get("/api/v1/halls/township/services/C/slots").json()
    assert slots and datetime.fromisoformat(slots[0]["start"]) > datetime.now().astimezone()
    hall.replies["book"] = {"ok": True, "code": "bk-1"}
    r = client.post("/api/v1/halls/township/appointments",
                    json={"service": "C", "slot_start": slots[0]["start"],
                          "slot_end": slots[0]["end"]})
    assert r.status_code == 201 and r.json()["code"] == "bk-1"
    hall.replies["cancel"] = {"ok": False, "error": {"code": "CANCEL_TOO_LATE", "message": "m"}}
    assert client.delete("/api/v1/halls/township/appointments/bk-0001").status_code == 409
    hall.replies["cancel"] = {"ok": True}
    assert client.delete("/api/v1/halls/township/appointments/bk-0001").status_code == 204
    assert client.post("/api/v1/halls/township/appointments",
                       json={"service": "c", "slot_start": "x"}).status_code == 422


FILING = {"number": "F20261123001", "code": "fc-0123456789ab", "status": "needs_more",
          "status_name": "需补正材料", "item": "X1", "item_name": "城乡居民养老保险参保登记",
          "kind": "item", "service": "B", "service_name": "社保医保",
          "submitted_at": "2026-11-23T09:10:00+08:00", "updated_at": "2026-11-23T10:02:00+08:00",
          "missing": ["户口簿原件"], "reason": None, "promised_limit_days": 5,
          "materials_to_bring": [{"key": "hukou", "name": "户口簿", "original": True,
                                  "copies": 1}], "ticket": "B007"}


def test_filing_status_by_receipt_code(setup: Any) -> None:
    client, hall, _ = setup
    hall.replies["filing_status"] = {"ok": True, "filing": FILING}
    r = client.get("/filing/demo/fc-0123456789ab")
    assert r.status_code == 200 and "需补正材料" in r.text and "户口簿原件" in r.text
    assert hall.sent[-1] == ("demo", "filing_status", {"code": "fc-0123456789ab"})
    api = client.get("/api/v1/halls/demo/filings/fc-0123456789ab").json()
    assert api["status"] == "needs_more" and api["missing"] == ["户口簿原件"]
    assert "code" not in api  # the code stays with whoever holds the receipt
    hall.replies["filing_status"] = {"ok": False, "error": {"code": "UNKNOWN_FILING",
                                                            "message": "没有找到这份申报。"}}
    assert client.get("/filing/demo/fc-0123456789ab").status_code == 404
    assert client.get("/api/v1/halls/demo/filings/fc-0123456789ab").status_code == 404
    # By number alone: refused with the reason (numbers are guessable).
    r = client.get("/filing/F20261123001")
    assert r.status_code == 404 and "二维码" in r.text
    assert client.get("/api/v1/filings/F1").json()["code"] == "USE_RECEIPT_CODE"


def test_offline_hall_is_marked(setup: Any) -> None:
    client, _, d = setup
    d.put_link("demo", False)
    assert client.get("/api/v1/halls/demo").json()["online"] is False
    assert "网络暂时中断" in client.get("/h/demo").text


def test_sentences() -> None:
    assert minutes_text(0) == "无需等候" and minutes_text(30) == "不到1分钟"
    assert minutes_text(3900) == "约1小时5分钟" and minutes_text("x") == "—"
    assert ticket_lines({"status": "waiting", "ahead": 0}).headline == "下一位就是您"
    assert ticket_lines({"status": "no_show"}).state == "gone"
    assert timedelta(0) == timedelta(0)


def test_sms_reminder_form_and_notices_through_a_fake_gateway(tmp_path: Any) -> None:
    from notifier.gateway import SmsConfig
    from notifier.service import Notifier
    from tests.notifier.test_notifier import FakeGateway

    gw = FakeGateway()
    d = Directory()
    d.put_snapshot("demo", json.loads(json.dumps(SNAP)))
    hall = ScriptedHall()
    notifier = Notifier(tmp_path / "sms.db", SmsConfig(url=gw.url, ahead=2, rate_per_s=100))
    portal = Portal(d, hall, {}, notifier=notifier)
    app = create_app(portal)
    with TestClient(app) as client:
        hall.replies["lookup"] = {"ok": True, "ticket": {
            "number": "A015", "service": "A", "service_name": "综合受理", "status": "waiting",
            "ahead": 5, "est_wait_s": 600}}
        page = client.get("/t/demo/abcdef123456").text
        assert "到号短信提醒" in page
        assert client.post("/t/demo/abcdef123456/sms", data={"phone": "12"}).status_code == 422
        r = client.post("/t/demo/abcdef123456/sms", data={"phone": "138 0013 8000"})
        assert r.status_code == 200 and "138****8000" in r.text
        assert "13800138000" not in r.text  # the number is never shown back in full
        assert gw.received == []  # 5 ahead: nothing yet
        hall.replies["lookup"]["ticket"]["ahead"] = 2
        import asyncio
        asyncio.run(app.state.check_hall("demo"))
        gw.wait(1)
        assert "前面还有2人" in gw.received[0]["text"]
    notifier.close()
    gw.server.shutdown()


def test_cli_refuses_bad_input_with_a_sentence(tmp_path: Any, capsys: Any) -> None:
    from portal.__main__ import load_halls, main

    assert main(["--central", "127.0.0.1:1", "--credentials", str(tmp_path / "none.json")]) == 2
    assert "cannot read credentials file" in capsys.readouterr().err
    creds = tmp_path / "c.json"
    creds.write_text('{"portal-1": "pw"}')
    assert main(["--central", "127.0.0.1:1", "--credentials", str(creds),
                 "--halls", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert set(load_halls([str(DEMO), str(TOWNSHIP)])) == {"demo", load_hall(TOWNSHIP).id}
    assert len(load_halls([str(TOWNSHIP.parent)])) >= 2


def test_booking_qr_scans_to_what_the_kiosk_checks_in() -> None:
    import io

    import segno
    from PIL import Image
    from pyzbar.pyzbar import decode

    from kiosk.machine import booking_code
    from portal.app import booking_qr

    text = booking_qr("demo", datetime(2026, 11, 24, 9, 0), "bk-0123456789abcdef")
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=2)
    scanned = decode(Image.open(io.BytesIO(buf.getvalue())))[0].data.decode()
    assert scanned == "QMS-APPT:demo:20261124:bk-0123456789abcdef"
    assert booking_code(scanned) == "bk-0123456789abcdef"


def test_hub_wakes_only_the_streams_showing_a_hall() -> None:
    import asyncio

    from portal.app import Hub

    async def run() -> None:
        hub = Hub()
        hub.loop = asyncio.get_running_loop()
        mine: asyncio.Queue[str] = asyncio.Queue()
        every: asyncio.Queue[str] = asyncio.Queue()
        hub.subscribe({"demo"}, mine)
        hub.subscribe(None, every)
        hub.changed("other")
        hub.changed("demo")
        await asyncio.sleep(0.01)
        assert [mine.get_nowait()] == ["demo"] and mine.empty()
        assert {every.get_nowait(), every.get_nowait()} == {"demo", "other"}
        hub.unsubscribe({"demo"}, mine)
        assert "demo" not in hub.queues

    asyncio.run(run())


def test_search_finds_by_id_or_name_in_order() -> None:
    d = Directory()
    for i, name in enumerate(["青水镇便民服务中心", "示范县政务服务中心", "青山乡便民服务中心"]):
        d.put_snapshot(f"h{i}", {"name": name, "services": [], "counters": []})
    assert [h.hall for h in d.page("便民")[0]] == ["h0", "h2"]
    assert [h.hall for h in d.page("H1")[0]] == ["h1"]
    assert d.page("中心\nh1")[1] == 0  # never across two halls
    d.put_snapshot("h1", {"name": "示范县政务服务大厅", "services": [], "counters": []})
    assert d.page("大厅")[1] == 1  # a rename is found at once
