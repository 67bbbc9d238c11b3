"""我要申报 end to end at a real kiosk: real broker and server, the ID reader and printer
simulators on ptys, a camera folder with generated page photos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from kiosk import machine as m
from kiosk.filing import states as s
from kiosk.filing.capture import sample_page
from tests.kiosk.rig import Rig, card, click


def type_into(rig: Rig, qtbot: QtBot, key: str, text: str) -> None:
    edit = rig.find(QLineEdit, f"field-{key}")
    edit.clear()
    if text.isascii():
        qtbot.keyClicks(edit, text)
    else:  # Chinese comes from the input method, committed a phrase at a time
        ev = QInputMethodEvent()
        ev.setCommitString(text)
        edit.setFocus()
        QApplication.sendEvent(edit, ev)


def put_page(folder: Path, name: str, title: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sample_page(title).save(folder / name)


def start(rig: Rig, tmp: Path) -> None:
    rig.start_server()
    rig.start_kiosk(camera_dir=str(tmp / "camera"))
    rig.wait_home_live()


def fill_huji(rig: Rig, qtbot: QtBot, resident: dict[str, object]) -> None:
    """Home → 我要申报 → 户籍证明 → card → form (with a live check) → capture → review."""
    click(rig, qtbot, "file")
    rig.wait_screen(s.GuideIndex)
    click(rig, qtbot, "tab-search")
    for ch in "hjzm":  # 户籍证明 by its pinyin initials
        click(rig, qtbot, f"key-{ch.upper()}")
    click(rig, qtbot, "item-huji-zhengming")
    rig.wait_screen(s.SwipeCard)
    rig.reader.present(resident)
    form = rig.wait_screen((s.FormPage, s.PrefillOffer))
    if isinstance(form, s.PrefillOffer):
        return
    # The card's fields are shown read-only, not as inputs.
    assert rig.kiosk is not None
    name = rig.kiosk.window.findChild(QLabel, "field-name")
    assert name is not None and str(resident["name"]) in name.text()
    assert rig.kiosk.window.findChild(QLineEdit, "field-name") is None
    type_into(rig, qtbot, "phone", "1381234")
    err = rig.find(QLabel, "error-phone")
    assert "手机号" in err.text() and not err.isHidden()
    # the rest on the page's keypad (the kiosk has no keyboard)
    edit = rig.find(QLineEdit, "field-phone")
    rig.kiosk.window.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    click(rig, qtbot, "pad-清空")
    for ch in "13812345678":
        click(rig, qtbot, f"pad-{ch}")
    assert edit.hasFocus() and edit.text() == "13812345678"
    assert rig.screen.draft.values["phone"] == "13812345678"  # type: ignore[union-attr]
    assert err.isHidden()
    click(rig, qtbot, "opt-proof_kind-1")
    type_into(rig, qtbot, "purpose", "办理继承公证")
    click(rig, qtbot, "next")
    rig.wait_screen(s.CapturePage)


def capture(rig: Rig, qtbot: QtBot, folder: Path, title: str) -> None:
    put_page(folder, f"{title}.png", title)
    click(rig, qtbot, "shoot")
    rig.qtbot.waitUntil(lambda: getattr(rig.screen, "preview", None) is not None,
                        timeout=5000)
    click(rig, qtbot, "use")
    rig.qtbot.waitUntil(lambda: all(
        p.status == "ok" for ps in rig.screen.draft.pages.values() for p in ps),  # type: ignore[union-attr]
        timeout=8000)


def photograph_pages(rig: Rig, qtbot: QtBot, folder: Path) -> None:
    """The two required pages photographed, the optional 关系证明 left out: the review."""
    capture(rig, qtbot, folder, "居民身份证")
    click(rig, qtbot, "next")
    capture(rig, qtbot, folder, "户口簿")
    click(rig, qtbot, "next")
    click(rig, qtbot, "next")
    rig.wait_screen(s.ReviewPage)


def test_filing_end_to_end_with_receipt_and_ticket(rig: Rig, qtbot: QtBot, tmp_path: Path
                                                    ) -> None:
    start(rig, tmp_path)
    k = rig.kiosk
    assert k is not None
    resident = card("赵桂兰", "1980-04-05")
    fill_huji(rig, qtbot, resident)
    cam = tmp_path / "camera"
    # the viewfinder shows what the camera sees, the page it would crop outlined in green
    put_page(cam, "0-viewfinder.png", "居民身份证")
    view = rig.find(QLabel, "preview")
    qtbot.waitUntil(lambda: not view.pixmap().isNull(), timeout=3000)
    img = view.pixmap().toImage()
    greens = sum(1 for x in range(0, img.width(), 2) for y in (img.height() // 2,)
                 if img.pixelColor(x, y).green() > 150 and img.pixelColor(x, y).red() < 60)
    assert greens >= 2  # the left and right edges of the outline
    capture(rig, qtbot, cam, "居民身份证")
    page = rig.screen.draft.pages["id_card"][0]  # type: ignore[union-attr]
    assert page.width < 1100 and page.height < 950  # cropped to the page, not the table
    assert page.jpeg[:3] == b"\xff\xd8\xff"
    click(rig, qtbot, "next")
    rig.wait_screen(s.CapturePage)
    capture(rig, qtbot, cam, "户口簿")
    click(rig, qtbot, "next")  # the optional 关系证明 is left out
    rig.wait_screen(s.CapturePage)
    click(rig, qtbot, "next")
    rig.wait_screen(s.ReviewPage)
    click(rig, qtbot, "submit")
    shown = rig.wait_screen(s.ReceiptShown)
    assert isinstance(shown, s.ReceiptShown)
    number = shown.filing["number"]
    assert number.startswith("F") and shown.filing["applicant"] == "赵*兰"
    assert k.machine.ctx.card is None
    assert len(k.outbox) == 0  # uploads and file answered: no personal data kept
    rig.qtbot.waitUntil(lambda: rig.screen.print_status == "printed", timeout=8000)  # type: ignore[union-attr]
    receipt = rig.printer.wait_for_tickets(1)[0]
    assert number in receipt.text and "自助申报回执" in receipt.text
    assert "赵*兰" in receipt.text and "赵桂兰" not in receipt.text
    click(rig, qtbot, "take_ticket")
    ticket = rig.wait_screen(m.TicketShown)
    assert isinstance(ticket, m.TicketShown) and ticket.ticket["number"].startswith("E")
    tickets = rig.printer.wait_for_tickets(2)
    assert ticket.ticket["number"] in tickets[1].text
    assert rig.server is not None
    f = rig.server.engine.state.tickets
    assert len(f) == 1


def test_enter_once_offers_the_last_filing(rig: Rig, qtbot: QtBot, tmp_path: Path) -> None:
    start(rig, tmp_path)
    resident = card("钱多多", "1975-09-09")
    fill_huji(rig, qtbot, resident)
    cam = tmp_path / "camera"
    photograph_pages(rig, qtbot, cam)
    click(rig, qtbot, "consent")  # 同意保存，下次沿用
    click(rig, qtbot, "submit")
    first = rig.wait_screen(s.ReceiptShown)
    click(rig, qtbot, "done")
    rig.wait_screen(m.Home)
    rig.reader.remove()
    qtbot.wait(300)
    fill_huji(rig, qtbot, resident)
    offer = rig.wait_screen(s.PrefillOffer)
    d = offer.draft  # type: ignore[union-attr]
    assert d is not None and "phone" in d.reuse_fields and "id_card" in d.reuse_documents
    assert d.prefill["from"] == first.filing["number"]  # type: ignore[union-attr]
    click(rig, qtbot, "next")
    rig.wait_screen(s.FormPage)
    assert rig.kiosk is not None
    assert rig.kiosk.window.findChild(QLineEdit, "field-phone") is None  # reused, masked
    click(rig, qtbot, "opt-proof_kind-0")
    type_into(rig, qtbot, "purpose", "出国")
    click(rig, qtbot, "next")
    rig.wait_screen(s.CapturePage)
    for _ in range(3):
        click(rig, qtbot, "next")
    rig.wait_screen(s.ReviewPage)
    click(rig, qtbot, "submit")
    second = rig.wait_screen(s.ReceiptShown)
    assert second.filing["number"] != first.filing["number"]  # type: ignore[union-attr]


def test_oversized_or_corrupt_page_is_refused_with_a_message(rig: Rig, qtbot: QtBot,
                                                             tmp_path: Path) -> None:
    start(rig, tmp_path)
    fill_huji(rig, qtbot, card("孙小美", "1991-01-01"))
    cam = tmp_path / "camera"
    cam.mkdir(exist_ok=True)
    (cam / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)
    click(rig, qtbot, "shoot")
    rig.qtbot.waitUntil(lambda: bool(getattr(rig.screen, "problem", "")), timeout=5000)
    assert "没有拍到" in rig.find(QLabel, "capture-problem").text()
    # A page the server refuses (too small after cropping is caught here; a corrupt JPEG
    # sent anyway is refused by the server with its own sentence).
    screen = rig.screen
    assert isinstance(screen, s.CapturePage)
    bad = s.Page("x", b"\xff\xd8\xff\xe0" + b"\x00" * 2000, 800, 600)
    k = rig.kiosk
    assert k is not None
    k.machine.screen = replace(screen, preview=bad, problem="")  # a page that got corrupted
    k.relayout()
    click(rig, qtbot, "use")
    rig.qtbot.waitUntil(lambda: any(p.status == "refused" for p in  # type: ignore[union-attr]
                                    rig.screen.draft.pages.get("id_card", [])), timeout=8000)
    shown = rig.screen.draft.pages["id_card"][0]  # type: ignore[union-attr]
    assert shown.message
    assert shown.message in rig.find(QLabel, "page-message-0").text()
    click(rig, qtbot, "next")
    click(rig, qtbot, "next")
    click(rig, qtbot, "next")
    rig.wait_screen(s.ReviewPage)
    click(rig, qtbot, "submit")
    assert "没有通过" in rig.find(QLabel, "review-problem").text()


def test_timeout_mid_form_clears_everything(rig: Rig, qtbot: QtBot, tmp_path: Path) -> None:
    start(rig, tmp_path)
    fill_huji(rig, qtbot, card("周一", "1985-06-06"))
    screen = rig.screen
    draft = screen.draft  # type: ignore[union-attr]
    assert draft is not None and draft.values
    k = rig.kiosk
    assert k is not None
    k.dispatch(m.Tick(10_000))
    rig.wait_screen(m.Home)
    assert not draft.values and not draft.pages and draft.card is None
    assert k.machine.ctx.card is None


@pytest.mark.parametrize("leave", [False, True])
def test_server_killed_mid_filing_loses_nothing_acknowledged(rig: Rig, qtbot: QtBot,
                                                            tmp_path: Path, leave: bool) -> None:
    """Pages the server acknowledged survive a kill -9; the `file` sent while it is down
    waits in the outbox and is answered once it is back, exactly once. If the resident's
    page timed out meanwhile (`leave`), the form is gone but the receipt still prints."""
    from tests.support.server import ServerProcess

    srv = ServerProcess(rig.broker, tmp_path / "server-data").start()
    try:
        rig.start_kiosk(camera_dir=str(tmp_path / "camera"), request_timeout=2.0,
                        retry_every_s=0.5)
        rig.wait_home_live()
        fill_huji(rig, qtbot, card("郑和平", "1970-10-10"))
        cam = tmp_path / "camera"
        photograph_pages(rig, qtbot, cam)
        srv.kill()
        click(rig, qtbot, "submit")
        k = rig.kiosk
        assert k is not None
        assert [i.op for i in k.outbox.pending()] == ["file"]
        rig.qtbot.waitUntil(lambda: getattr(rig.screen, "offline", False), timeout=8000)
        if leave:
            draft = rig.screen.draft  # type: ignore[union-attr]
            k.dispatch(m.Tick(10_000))
            assert isinstance(rig.screen, m.Home) and draft is not None and not draft.values
            assert [i.op for i in k.outbox.pending()] == ["file"]  # still to be answered
        srv.start()
        shown = rig.wait_screen(s.ReceiptShown, timeout=20000)
        assert isinstance(shown, s.ReceiptShown) and shown.filing["number"].endswith("001")
        assert shown.late == leave
        assert shown.filing["number"] in rig.printer.wait_for_tickets(1)[0].text
        rig.qtbot.waitUntil(lambda: len(k.outbox) == 0, timeout=5000)
    finally:
        rig.stop_kiosk()
        srv.close()


def test_receipt_qr_shows_progress_and_takes_supplement_pages(rig: Rig, qtbot: QtBot,
                                                              tmp_path: Path) -> None:
    """The clerk asks for more; the resident scans the receipt's QR at a kiosk, sees what is
    missing and photographs it; the filing is submitted again."""
    from queue_server.client import RequestClient

    start(rig, tmp_path)
    fill_huji(rig, qtbot, card("冯秋菊", "1966-12-12"))
    cam = tmp_path / "camera"
    photograph_pages(rig, qtbot, cam)
    click(rig, qtbot, "submit")
    shown = rig.wait_screen(s.ReceiptShown)
    filing = shown.filing  # type: ignore[union-attr]
    click(rig, qtbot, "take_ticket")
    rig.wait_screen(m.TicketShown)
    click(rig, qtbot, "done")
    rig.wait_screen(m.Home)
    with RequestClient("demo", "counter-1", rig.broker.password("counter-1"),
                       rig.broker.broker_address) as desk:
        assert desk.request("open")["ok"]
        assert desk.request("call_next")["ok"]
        more = desk.request("filing_more", {"number": filing["number"],
                                            "missing": ["户口簿本人页（原件）"]})
        assert more["ok"], more
    rig.scanner.scan(f"https://hall.example/filing/demo/{filing['code']}")
    st = rig.wait_screen(s.FilingStatusShown)
    assert isinstance(st, s.FilingStatusShown) and st.filing["status"] == "needs_more"
    assert "户口簿本人页" in rig.find(QLabel, "filing-missing").text()
    click(rig, qtbot, "supplement")
    rig.wait_screen(s.CapturePage)
    click(rig, qtbot, "next")  # 身份证 is not what was asked for
    capture(rig, qtbot, cam, "户口簿本人页")
    click(rig, qtbot, "next")
    click(rig, qtbot, "next")
    rig.wait_screen(s.SupplementReview)
    click(rig, qtbot, "submit")
    done = rig.wait_screen(s.FilingStatusShown)
    assert isinstance(done, s.FilingStatusShown) and done.filing["status"] == "submitted"
    assert done.notice and done.filing["documents"] == 3


def test_a_restarted_kiosk_drops_page_uploads(rig: Rig, qtbot: QtBot, tmp_path: Path) -> None:
    """After a crash the form is gone: its unanswered page uploads are dropped (personal
    data no filing will take). (A `file` left in the outbox is sent again like any intent;
    its late answer prints the receipt: test_filing_machine.)"""
    import base64

    from kiosk.filing.capture import prepare_page
    from kiosk.outbox import Outbox
    from queue_server.client import new_request_id

    rig.start_server()
    jpeg = prepare_page(sample_page()).jpeg
    box = Outbox(tmp_path / "kiosk-data")
    up = new_request_id("kiosk-1")
    box.add(up, "upload", {"data": base64.b64encode(jpeg).decode()})
    box.close()
    k = rig.start_kiosk()
    assert [i.request_id for i in k.outbox.pending()] == []  # nothing to send
    qtbot.wait(500)
    assert not list((tmp_path / "server-data").glob("documents/*/*"))
