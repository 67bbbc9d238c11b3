"""Whole kiosk flows: Qt offscreen, real broker and server, simulated devices on ptys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from kiosk import machine as m
from tests.kiosk.rig import Rig, book, card, click


def test_touch_a_service_prints_a_ticket(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    qtbot.mouseClick(rig.find(QPushButton, "service-A"), Qt.MouseButton.LeftButton)
    shown = rig.wait_screen(m.TicketShown)
    assert isinstance(shown, m.TicketShown) and shown.ticket["number"] == "A001"
    qtbot.waitUntil(lambda: getattr(rig.screen, "status", "") == "printed", timeout=8000)
    tickets = rig.printer.wait_for_tickets(1)
    assert "A001" in tickets[0].text and "综合受理" in tickets[0].text
    assert rig.find(QLabel, "ticket-number").text() == "A001"
    assert len(k.outbox) == 0


def test_id_card_swipe_gives_the_chosen_service_and_elder_mode(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    rig.reader.present(card("王秀英", "1948-05-02"))
    rig.wait_screen(m.ChooseService)
    assert k.machine.ctx.elder and k.window.theme is not None and k.window.theme.elder
    click(rig, qtbot, "service-B")
    shown = rig.wait_screen(m.TicketShown)
    assert isinstance(shown, m.TicketShown)
    assert shown.ticket["number"] == "B001" and shown.ticket["priority"] is True
    assert k.machine.ctx.card is None  # the ID number left memory with the request
    assert "绿色通道" in rig.printer.wait_for_tickets(1)[0].text
    assert len(k.outbox) == 0


def test_duplicate_ticket_offers_reprint_and_never_issues_twice(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    resident = card("李四", "1990-01-01")
    rig.reader.present(resident)
    rig.wait_screen(m.ChooseService)
    click(rig, qtbot, "service-A")
    rig.wait_screen(m.TicketShown)
    rig.printer.wait_for_tickets(1)
    click(rig, qtbot, "done")
    rig.wait_screen(m.Home)
    rig.reader.remove()
    qtbot.wait(300)
    rig.reader.present(resident)
    rig.wait_screen(m.ChooseService)
    click(rig, qtbot, "service-A")
    dup = rig.wait_screen(m.Duplicate)
    assert isinstance(dup, m.Duplicate) and dup.ticket["number"] == "A001"
    click(rig, qtbot, "reprint")
    shown = rig.wait_screen(m.TicketShown)
    assert isinstance(shown, m.TicketShown) and shown.reprint
    tickets = rig.printer.wait_for_tickets(2)
    assert "A001" in tickets[1].text
    assert rig.server is not None
    assert rig.server.engine.state.tickets and len(rig.server.engine.state.tickets) == 1
    assert len(k.outbox) == 0


def test_booking_check_in_by_scanner_and_its_refusals(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    rig.start_kiosk()
    rig.wait_home_live()
    due = book(rig.broker, "C", start_in_min=5, length_min=5)
    early = book(rig.broker, "D", start_in_min=40, length_min=5)
    click(rig, qtbot, "checkin")
    rig.wait_screen(m.CheckinScan)
    rig.scanner.scan(f"QMS-APPT:demo:20261123:{due}")
    shown = rig.wait_screen(m.TicketShown)
    assert isinstance(shown, m.TicketShown) and shown.ticket["priority"]
    assert shown.ticket["number"] == "C001"
    click(rig, qtbot, "done")
    rig.wait_screen(m.Home)
    rig.scanner.scan(early)  # a scan on the home page checks a booking in too
    err = rig.wait_screen(m.ErrorShown)
    assert isinstance(err, m.ErrorShown) and err.code == "APPOINTMENT_NOT_DUE"
    assert "30分钟" in rig.find(QLabel, "error-message").text()
    click(rig, qtbot, "back")
    rig.wait_screen(m.CheckinScan)
    rig.scanner.scan("nosuchcode12")
    err = rig.wait_screen(m.ErrorShown)
    assert isinstance(err, m.ErrorShown) and err.code == "UNKNOWN_APPOINTMENT"


def test_lookup_by_typed_number_and_by_ticket_qr(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    rig.start_kiosk()
    rig.wait_home_live()
    for _ in range(2):
        click(rig, qtbot, "service-E")
        rig.wait_screen(m.TicketShown)
        click(rig, qtbot, "done")
        rig.wait_screen(m.Home)
    second = rig.printer.wait_for_tickets(2)[1]
    click(rig, qtbot, "lookup")
    rig.wait_screen(m.LookupInput)
    for key in ("key-E", "key-2", "backspace", "key-1"):
        click(rig, qtbot, key)
    assert rig.find(QLabel, "typed").text() == "E1"
    click(rig, qtbot, "submit")
    res = rig.wait_screen(m.LookupResult)
    assert isinstance(res, m.LookupResult) and res.ticket["number"] == "E001"
    assert res.ticket["status"] == "waiting"
    click(rig, qtbot, "home")
    rig.wait_screen(m.Home)
    click(rig, qtbot, "lookup")
    code = rig.server.engine.state.tickets[2].code if rig.server else ""
    assert code and "E002" in second.text
    rig.scanner.scan(f"https://hall.example/t/{code}")
    res = rig.wait_screen(m.LookupResult)
    assert isinstance(res, m.LookupResult) and res.ticket["number"] == "E002"
    assert res.ticket["ahead"] == 1
    assert rig.kiosk is not None
    texts = [w.text() for w in rig.kiosk.window.findChildren(QLabel)]
    assert any("前面还有 1 人" in t for t in texts)


def test_paper_out_shows_the_number_and_qr_and_tells_staff(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    rig.start_kiosk()
    rig.wait_home_live()
    seen = rig.broker.collector("display-1", "qms/demo/status/kiosk-1/printer")
    rig.printer.set_paper("out")
    click(rig, qtbot, "service-A")
    qtbot.waitUntil(lambda: getattr(rig.screen, "status", "") == "failed", timeout=8000)
    assert rig.find(QLabel, "ticket-number").text() == "A001"
    assert "缺纸" in rig.find(QLabel, "print-failed").text()
    assert "导服台" in rig.find(QLabel, "print-failed").text()
    assert not rig.find(QLabel, "ticket-qr").pixmap().isNull()
    seen.wait_for("qms/demo/status/kiosk-1/printer", lambda r: r.json()["paper"] == "out")
    assert rig.printer.tickets == []


def visible_texts(rig: Rig) -> str:
    assert rig.kiosk is not None
    return "\n".join(w.text() for w in rig.kiosk.window.findChildren(QLabel) if w.isVisible())


def test_timeout_clears_the_card_from_memory_and_screen(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    rig.reader.present(card("欧阳娜娜", "1992-02-02"))
    rig.wait_screen(m.ChooseService)
    assert "欧**娜" in visible_texts(rig)
    assert "60 秒后返回首页" in k.window.countdown.text()
    k.dispatch(m.Tick(30))
    assert "30 秒后返回首页" in k.window.countdown.text()
    k.dispatch(m.Tick(30))
    assert isinstance(rig.screen, m.Home) and k.machine.ctx.card is None
    assert "欧" not in visible_texts(rig) and not k.window.bottombar.isVisible()


def sizes(rig: Rig) -> tuple[int, int]:
    """Smallest text (px) and smallest touch side (px) on the visible page."""
    assert rig.kiosk is not None
    w = rig.kiosk.window
    texts = [lb.font().pixelSize() for lb in w.findChildren(QLabel)
             if lb.isVisible() and lb.text() and lb.font().pixelSize() > 0]
    touches = [min(b.width(), b.height()) for b in w.findChildren(QPushButton) if b.isVisible()]
    return min(texts), min(touches)


def test_elder_mode_toggle_and_accessible_sizes(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    qtbot.wait(100)
    text_px, touch_px = sizes(rig)
    assert text_px >= 18 and touch_px >= 60
    click(rig, qtbot, "elder")
    qtbot.wait(100)
    assert k.window.theme is not None and k.window.theme.elder
    text_px, touch_px = sizes(rig)
    assert text_px >= 30 and touch_px >= 90
    assert len(rig.kiosk.window.findChildren(QPushButton, "service-A")) == 1
    click(rig, qtbot, "lookup")
    rig.wait_screen(m.LookupInput)
    assert k.machine.ctx.remaining_s == rig.hall.kiosk.elder_page_timeout_s
    click(rig, qtbot, "home")
    rig.wait_screen(m.Home)
    assert not k.machine.ctx.elder


def test_unplugged_reader_degrades_only_the_card_way(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    rig.reader.unplug()
    qtbot.waitUntil(lambda: "身份证阅读器暂不可用" in k.window.banner.text(), timeout=8000)
    click(rig, qtbot, "service-A")  # touch still works
    shown = rig.wait_screen(m.TicketShown)
    assert isinstance(shown, m.TicketShown) and shown.ticket["number"] == "A001"
    rig.reader.plug()
    qtbot.waitUntil(lambda: "身份证" not in k.window.banner.text(), timeout=8000)


def test_call_staff_is_published_for_the_desk(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    rig.start_kiosk()
    rig.wait_home_live()
    desk = rig.broker.collector("display-1", "qms/demo/status/kiosk-1/assist")
    click(rig, qtbot, "assist")
    rig.wait_screen(m.StaffCalled)
    qtbot.waitUntil(lambda: bool(desk.received()), timeout=5000)
    got = desk.received()[-1]
    assert got.json()["requested"] is True
    click(rig, qtbot, "cancel_assist")
    qtbot.waitUntil(lambda: desk.received()[-1].json()["requested"] is False, timeout=5000)
