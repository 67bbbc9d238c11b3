"""Server unreachable: the banner, the durable outbox, and exactly one ticket afterwards."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from kiosk import machine as m
from kiosk.outbox import Outbox
from tests.kiosk.rig import Rig, card


def tickets_on_server(rig: Rig) -> int:
    assert rig.server is not None
    return len(rig.server.engine.state.tickets)


def test_server_down_then_back_completes_the_request_once(rig: Rig, qtbot: QtBot) -> None:
    k = rig.start_kiosk(request_timeout=1.0, retry_every_s=0.5)
    qtbot.mouseClick(rig.find(QPushButton, "service-A"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(rig.screen, "offline", False), timeout=5000)
    assert k.window.banner.isVisible() and "网络异常" in k.window.banner.text()
    assert len(k.outbox) == 1
    qtbot.wait(1500)  # sent again a few times while nobody answers
    rig.start_server()
    shown = rig.wait_screen(m.TicketShown, timeout=10000)
    assert isinstance(shown, m.TicketShown) and shown.ticket["number"] == "A001"
    assert rig.printer.wait_for_tickets(1)[0].text.count("A001") >= 1
    qtbot.waitUntil(lambda: not k.window.banner.isVisible(), timeout=5000)
    assert len(k.outbox) == 0
    qtbot.wait(500)
    assert tickets_on_server(rig) == 1


def test_unanswered_intent_survives_a_kiosk_restart(rig: Rig, qtbot: QtBot) -> None:
    resident = card("赵六", "1985-07-07")
    k = rig.start_kiosk(request_timeout=1.0, retry_every_s=0.5)
    rig.reader.present(resident)
    rig.wait_screen(m.ChooseService)
    qtbot.mouseClick(rig.find(QPushButton, "service-B"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(rig.screen, "offline", False), timeout=5000)
    rig.stop_kiosk()
    db = rig.tmp / "kiosk-data" / "outbox.sqlite"
    pending = Outbox(db.parent).pending()
    assert [p.op for p in pending] == ["issue"]
    assert pending[0].payload["id_number"] == resident["id_number"]
    rid = pending[0].request_id

    rig.start_server()
    rig.reader.remove()
    k = rig.start_kiosk(request_timeout=2.0, retry_every_s=0.5)
    shown = rig.wait_screen(m.TicketShown, timeout=10000)
    assert isinstance(shown, m.TicketShown) and shown.late
    assert shown.ticket["number"] == "B001" and shown.ticket["source"] == "id_card"
    assert "B001" in rig.printer.wait_for_tickets(1)[0].text
    assert len(k.outbox) == 0
    assert tickets_on_server(rig) == 1
    rig.stop_kiosk()
    # the answered entry is gone from the file, ID number and all
    raw = db.read_bytes()
    assert resident["id_number"].encode() not in raw and rid.encode() not in raw


def test_broker_down_shows_the_banner_and_the_intent_completes_after(
        rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk(request_timeout=1.0, retry_every_s=0.5)
    rig.wait_home_live()
    rig.broker.stop()
    qtbot.waitUntil(lambda: "网络异常" in k.window.banner.text(), timeout=8000)
    qtbot.mouseClick(rig.find(QPushButton, "service-D"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(rig.screen, "offline", False), timeout=5000)
    assert len(k.outbox) == 1
    rig.broker.restart()
    shown = rig.wait_screen(m.TicketShown, timeout=20000)
    assert isinstance(shown, m.TicketShown) and shown.ticket["number"] == "D001"
    qtbot.waitUntil(lambda: "网络异常" not in k.window.banner.text(), timeout=5000)
    assert len(k.outbox) == 0 and tickets_on_server(rig) == 1


def test_an_intent_from_a_previous_day_is_dropped_not_issued(rig: Rig, qtbot: QtBot) -> None:
    import time

    old = Outbox(rig.tmp / "kiosk-data")
    old.add("20200101-aaaa", "issue", {"service": "A", "source": "walk_in"},
            created=time.time() - 2 * 86400)
    old.close()
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    qtbot.waitUntil(lambda: len(k.outbox) == 0, timeout=5000)
    qtbot.wait(300)
    assert tickets_on_server(rig) == 0 and rig.printer.tickets == []


def test_the_offline_banner_counts_numbers_and_filings_not_page_uploads(tmp_path) -> None:
    from kiosk.app import outbox_banner

    box = Outbox(tmp_path)
    box.add("r1", "issue", {"service": "A"})
    box.add("r2", "upload", {"filing": "x"})
    box.add("r3", "upload", {"filing": "x"})
    box.add("r4", "file", {"item": "dibao"})
    assert outbox_banner(box) == ["1 个取号请求已保存，恢复后自动完成",
                                  "1 份申报已保存，恢复后自动提交"]
    box.close()
