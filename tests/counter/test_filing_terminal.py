"""The filing panel's wiring with a stand-in link (no broker): which requests go out and
what comes back on screen when the network drops or the clerk wanders through the list."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from counter.filingsample import sample_filing
from counter.settings import CounterSettings
from counter.shots import DEMO, StillLink, sample_page, terminal_states
from counter.terminal import TerminalWindow
from queue_server.config import load_hall

HALL = load_hall(DEMO)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=HALL.tz)
ROOT = f"qms/{HALL.id}"


def last(link: StillLink, op: str) -> tuple[dict[str, Any], str]:
    payload, rid = next((p, r) for o, p, r in reversed(link.sent) if o == op)
    return payload, rid


def answer(link: StillLink, op: str, reply: dict[str, Any], ok: bool = True) -> None:
    _, rid = last(link, op)
    link.replied.emit(rid, {"id": rid, "ok": ok, **reply})


def ops(link: StillLink) -> list[str]:
    return [o for o, _, _ in link.sent]


def called_with_filing(qtbot: QtBot) -> tuple[TerminalWindow, StillLink, dict[str, Any]]:
    link = StillLink("counter-3")
    w = TerminalWindow(HALL, "3", link, settings=CounterSettings(retry_s=0.05),
                       clock=lambda: NOW)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    link.connection_changed.emit(True)
    link.message.emit(f"{ROOT}/status/server", "online")
    f = sample_filing(NOW)
    state = terminal_states(HALL, NOW)["called"]
    state["ticket"] = {**state["ticket"], "filing": f["number"], "filings": [f["number"]]}
    link.message.emit(f"{ROOT}/state/counter/3", state)
    assert last(link, "filing")[0] == {"number": f["number"]}
    answer(link, "filing", {"filing": f})
    assert w.filing_view is not None and w.filing_view.number == f["number"]
    return w, link, f


def test_a_filing_from_the_list_then_esc_shows_the_tickets_own_again(qtbot: QtBot) -> None:
    w, link, f = called_with_filing(qtbot)
    w._list_filings()
    answer(link, "filings", {"filings": [{"number": "F20261120002", "status": "submitted",
                                          "item_name": "残疾人证申领", "ticket": None}]})
    assert w.pages.currentWidget() is w.chooser
    w.chooser._pick(0)
    assert last(link, "filing")[0] == {"number": "F20261120002"}
    other = {**sample_filing(NOW), "number": "F20261120002", "ticket": None}
    answer(link, "filing", {"filing": other})
    assert w.filing_view is not None and w.filing_view.number == "F20261120002"
    # a move on a listed filing is not tied to the current ticket
    w._move_submitted("filing_accept", {})
    payload, _ = last(link, "filing_accept")
    assert payload == {"number": "F20261120002"}
    answer(link, "filing_accept", {"filing": {**other, "status": "accepted"}})
    w._escape()
    assert last(link, "filing")[0] == {"number": f["number"]}
    answer(link, "filing", {"filing": f})
    assert w.filing_view.number == f["number"]


def test_a_move_on_the_tickets_filing_is_one_intent_with_expect_current(qtbot: QtBot) -> None:
    w, link, f = called_with_filing(qtbot)
    w._filing_action("filing_more")
    assert w.pages.currentWidget() is w.form
    w.form.list.item(0).setCheckState(Qt.CheckState.Checked)
    w.form._submit()
    w._move_submitted("filing_more", {"missing": ["居民身份证"]})  # a second Enter: ignored
    sent = [p for o, p, _ in link.sent if o == "filing_more"]
    assert sent == [{"missing": ["居民身份证"], "number": f["number"], "expect_current": "B017"}]
    assert not w.filing_panel.buttons["filing_accept"].isEnabled()  # in flight
    answer(link, "filing_more", {"error": {"code": "CURRENT_CHANGED", "message": "x"}}, ok=False)
    assert w.notice is not None and w.notice[0] == "error" and "x" not in w.notice[1]
    assert ops(link)[-1] == "filing"  # the panel re-reads where the filing is


def test_pages_retry_after_the_network_drops(qtbot: QtBot) -> None:
    w, link, f = called_with_filing(qtbot)
    w._filing_action("pages")
    assert w.pages.currentWidget() is w.viewer
    assert w.viewer.image.text() == "正在读取照片……"
    sha = f["documents"][0]["pages"][0]["sha256"]
    assert last(link, "filing_document")[0] == {"number": f["number"], "sha256": sha}
    answer(link, "filing_document", {"error": {"code": "OFFLINE"}}, ok=False)
    assert "网络中断，照片没有读取成功" in w.viewer.image.text()
    first = last(link, "filing_document")[1]
    qtbot.waitUntil(lambda: last(link, "filing_document")[1] != first, timeout=2000)
    data = base64.b64encode(sample_page((600, 800))).decode("ascii")
    answer(link, "filing_document", {"document": {"sha256": sha, "data": data}})
    assert w.viewer.pixmap is not None and w.viewer.pixmap.width() == 600
    # R turns a sideways photo; Ctrl + wheel zooms
    qtbot.keyClick(w.viewer, Qt.Key.Key_R)
    assert (w.viewer.pixmap.width(), w.viewer.pixmap.height()) == (800, 600)
    assert w.viewer.zoom_label.text().startswith("适应窗口")
    vp = w.viewer.scroll.viewport()
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    QApplication.sendEvent(vp, QWheelEvent(
        centre, vp.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase, False))
    assert not w.viewer.zoom_label.text().startswith("适应窗口")
    # a damaged page is a sentence, not a crash
    w.viewer.closed.emit()
    w._open_page(1)
    answer(link, "filing_document", {"document": {"sha256": "x", "data": "bm90IGFuIGltYWdl"}})
    assert "照片无法显示" in w.viewer.image.text()


def test_filing_read_refused_or_offline_is_a_sentence_in_the_panel(qtbot: QtBot) -> None:
    link = StillLink("counter-3")
    w = TerminalWindow(HALL, "3", link, settings=CounterSettings(retry_s=0.05),
                       clock=lambda: NOW)
    qtbot.addWidget(w)
    w.show()
    link.connection_changed.emit(True)
    link.message.emit(f"{ROOT}/status/server", "online")
    state = terminal_states(HALL, NOW)["called"]
    state["ticket"] = {**state["ticket"], "filing": "F20261123001", "filings": ["F20261123001"]}
    link.message.emit(f"{ROOT}/state/counter/3", state)
    assert w.filing_panel.message.text() == "正在读取申报……"
    answer(link, "filing", {"error": {"code": "OFFLINE"}}, ok=False)
    assert "网络中断，申报没有读取成功" in w.filing_panel.message.text()
    n = ops(link).count("filing")
    qtbot.waitUntil(lambda: ops(link).count("filing") > n, timeout=2000)
    answer(link, "filing", {"error": {"code": "UNKNOWN_FILING", "message": "没有找到"}}, ok=False)
    assert w.filing_panel.message.text() == "没有找到这份申报，请核对申报编号。"
    # the ticket ends: the panel goes
    link.message.emit(f"{ROOT}/state/counter/3", {**state, "ticket": None,
                                                   "at": "2026-11-23T10:01:00+08:00"})
    assert not w.filing_panel.isVisible()


def test_a_number_typed_from_the_receipt_opens_that_filing(qtbot: QtBot) -> None:
    w, link, f = called_with_filing(qtbot)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    w._list_filings()
    answer(link, "filings", {"filings": []})
    assert w.pages.currentWidget() is w.chooser and w.chooser.entry.hasFocus()
    assert "目前没有待处理的申报" in w.chooser.empty.text()
    qtbot.keyClicks(w.chooser.entry, "A01")
    qtbot.keyClick(w.chooser.entry, Qt.Key.Key_Return)
    assert "申报编号是字母F" in w.chooser.entry_error.text()
    assert w.pages.currentWidget() is w.chooser
    w.chooser.entry.clear()
    qtbot.keyClicks(w.chooser.entry, "9")  # a digit goes into the line, not a list choice
    qtbot.keyClick(w.chooser.entry, Qt.Key.Key_Return)
    assert w.pages.currentWidget() is w.main
    assert last(link, "filing")[0] == {"number": "F20261123009"}
    answer(link, "filing", {"error": {"code": "UNKNOWN_FILING"}}, ok=False)
    assert w.filing_panel.message.text() == "没有找到这份申报，请核对申报编号。"
    w._escape()
    assert last(link, "filing")[0] == {"number": f["number"]}  # back to the ticket's own


def test_only_the_latest_pages_stay_decoded(qtbot: QtBot) -> None:
    w, link, f = called_with_filing(qtbot)
    pages = [{"sha256": f"{i:064x}", "width": 600, "height": 800} for i in range(1, 10)]
    f = {**f, "documents": [{"material": "id_card", "name": "居民身份证", "pages": pages}]}
    w._read_filing(f["number"], keep=True)
    answer(link, "filing", {"filing": f})
    data = base64.b64encode(sample_page((600, 800))).decode("ascii")
    for i in range(9):
        w._open_page(i)
        answer(link, "filing_document", {"document": {"sha256": pages[i]["sha256"],
                                                      "data": data}})
    assert list(w._pages) == [p["sha256"] for p in pages[3:]]
    n = ops(link).count("filing_document")
    w._open_page(8)  # kept: no request
    assert ops(link).count("filing_document") == n
    w._open_page(0)  # dropped: asked again
    assert ops(link).count("filing_document") == n + 1


def test_a_late_reply_for_the_previous_ticket_is_not_shown(qtbot: QtBot) -> None:
    link = StillLink("counter-3")
    w = TerminalWindow(HALL, "3", link, clock=lambda: NOW)
    qtbot.addWidget(w)
    link.connection_changed.emit(True)
    link.message.emit(f"{ROOT}/status/server", "online")
    state = terminal_states(HALL, NOW)["called"]
    for n, (number, filing) in enumerate((("B017", "F20261123007"), ("B018", "F20261123008"))):
        ticket = {**state["ticket"], "number": number, "filing": filing, "filings": [filing]}
        link.message.emit(f"{ROOT}/state/counter/3", {
            **state, "ticket": ticket, "at": f"2026-11-23T10:0{n}:00+08:00"})
    (_, first), (_, second) = [(p, r) for o, p, r in link.sent if o == "filing"]
    f = sample_filing(NOW)
    link.replied.emit(first, {"id": first, "ok": True, "filing": f})  # B017's, answered late
    assert w.filing is None and w.filing_panel.message.text() == "正在读取申报……"
    link.replied.emit(second, {"id": second, "ok": True,
                               "filing": {**f, "number": "F20261123008"}})
    assert w.filing_view is not None and w.filing_view.number == "F20261123008"
