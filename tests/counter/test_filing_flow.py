"""The clerk's side of self-service filing as a clerk uses it: a resident files at a kiosk
(ops over MQTT, generated JPEG pages) and takes the linked ticket; the clerk calls it on
the real terminal (real Mosquitto, real server with SQLite files, real Qt event loop,
keys on the keyboard), reads the filing, views a page, asks for 补正, accepts, finishes;
rejects another; a stale screen gets a Chinese sentence. Nothing personal in the logs."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from counter.shots import clipped
from counter.terminal import TerminalWindow
from queue_server.client import RequestClient
from queue_server.mqtt import QueueServer
from tests.counter.test_flows import WAIT, key, kiosk, links, terminal
from tests.queue_server.filing_support import ELDER_ID, PERSONAL, elder_values, page
from tests.support.broker import Broker
from tests.support.server import ok
from ui.link import HallLink

__all__ = ["kiosk", "links"]  # fixtures shared with test_flows (server: tests/conftest.py)

HOUSEHOLD = "居民户口簿（户主页及本人页）"


def upload(kiosk: RequestClient, seed: int) -> str:
    data = base64.b64encode(page(seed)).decode("ascii")
    return str(ok(kiosk.request("upload", {"data": data}))["document"]["sha256"])


def file_at_kiosk(kiosk: RequestClient, seed: int = 1) -> dict[str, Any]:
    docs = {"id_card": [upload(kiosk, seed), upload(kiosk, seed + 1)],
            "hukou_book": [upload(kiosk, seed + 2)], "bank_card": [upload(kiosk, seed + 3)]}
    return ok(kiosk.request("file", {"item": "gaoling-jintie", "values": elder_values(),
                                     "documents": docs}))["filing"]


def type_chinese(w: QWidget, text: str) -> None:
    """Chinese arrives as an input method's commit (拼音输入法), not as key codes."""
    w.setFocus()
    ev = QInputMethodEvent()
    ev.setCommitString(text)
    QApplication.sendEvent(w, ev)


def shown_status(w: TerminalWindow) -> str | None:
    return w.filing_view.status if w.filing_view is not None else None


def panel_text(w: TerminalWindow) -> str:
    labels = [lb.text() for lb in w.filing_panel.findChildren(QLabel) if lb.isVisible()]
    return "\n".join([*labels, w.filing_panel.fields_text()])


def ctrl(qtbot: QtBot, w: TerminalWindow, digit: str) -> None:
    qtbot.waitUntil(lambda: w.gate.pending is None, timeout=WAIT)
    qtbot.keyClick(w.pages.currentWidget(), digit, Qt.KeyboardModifier.ControlModifier)


def open_counter(w: TerminalWindow, qtbot: QtBot) -> None:
    key(qtbot, w, Qt.Key.Key_F9)  # 开始办公
    qtbot.waitUntil(lambda: w.view is not None and w.view.status == "办公中", timeout=WAIT)


def test_clerk_reads_views_asks_for_more_accepts_and_finishes(
        server: QueueServer, kiosk: RequestClient, links: dict[str, HallLink], qtbot: QtBot,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    f = file_at_kiosk(kiosk)
    number = f["number"]
    ticket = ok(kiosk.request("filing_ticket", {"number": number}))["ticket"]["number"]

    w = terminal(links, qtbot, "2")
    open_counter(w, qtbot)
    assert not w.filing_panel.isVisible()
    key(qtbot, w, Qt.Key.Key_F1)  # 呼叫下一位: the resident who filed
    qtbot.waitUntil(lambda: w.view.ticket is not None and w.view.ticket.number == ticket,
                    timeout=WAIT)
    assert w.filing_line.text() == f"关联申报 {number}"
    qtbot.waitUntil(lambda: shown_status(w) == "submitted", timeout=WAIT)
    assert w.filing_panel.isVisible() and not w.side.isVisible()
    text = panel_text(w)
    assert ELDER_ID in text and "13812345678" in text and "高龄津贴申领" in text  # full values
    assert "已提交，待受理" in text
    assert [m.state for m in w.filing_view.materials][:3] == ["已拍2页", "已拍1页", "已拍1页"]
    assert not w.filing_panel.buttons["filing_done"].isEnabled()  # not accepted yet
    assert clipped(w.filing_panel) == []  # the real catalogue's long labels keep values in view
    bar = w.filing_panel.fields.verticalScrollBar()
    key(qtbot, w, Qt.Key.Key_PageDown)  # the rest of the form
    assert bar.maximum() > 0 and bar.value() > 0

    # F10: the first page, fetched with filing_document, scaled to fit; zoom; next page
    key(qtbot, w, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.viewer, timeout=WAIT)
    qtbot.waitUntil(lambda: w.viewer.pixmap is not None, timeout=WAIT)
    assert (w.viewer.pixmap.width(), w.viewer.pixmap.height()) == (900, 1200)
    assert w.viewer.title.text().startswith("居民身份证  第1/2页")
    fitted = w.viewer.image.pixmap().height()
    assert fitted <= w.viewer.scroll.viewport().height()
    assert w.viewer.zoom_label.text().startswith("适应窗口")
    qtbot.keyClick(w.viewer, Qt.Key.Key_Plus)
    assert w.viewer.image.pixmap().height() > fitted
    qtbot.keyClick(w.viewer, Qt.Key.Key_0)
    assert w.viewer.image.pixmap().height() == fitted
    qtbot.keyClick(w.viewer, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.viewer.title.text().startswith("居民身份证  第2/2页")
                    and w.viewer.pixmap is not None, timeout=WAIT)
    qtbot.keyClick(w.viewer, Qt.Key.Key_Escape)
    assert w.pages.currentWidget() is w.main

    # 补正 (Ctrl+2): Enter with nothing chosen is a sentence, not a request
    ctrl(qtbot, w, "2")
    assert w.pages.currentWidget() is w.form and w.form.isVisible()
    qtbot.keyClick(w.form.list, Qt.Key.Key_Return)
    assert "请至少选择一项需要补正的材料" in w.form.error.text()
    qtbot.keyClick(w.form.list, Qt.Key.Key_Down)  # the household register
    qtbot.keyClick(w.form.list, Qt.Key.Key_Space)
    assert w.form.checked() == [HOUSEHOLD]
    type_chinese(w.form.note, "户主页照片反光")
    qtbot.keyClick(w.form.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_status(w) == "needs_more", timeout=WAIT)
    assert w.notice_label.text() == f"申报 {number} 已通知补正：{HOUSEHOLD}"
    assert f"需补正：{HOUSEHOLD}" in panel_text(w) and "备注：户主页照片反光" in panel_text(w)
    status = ok(kiosk.request("filing_status", {"number": number}))["filing"]
    assert status["status"] == "needs_more" and status["missing"] == [HOUSEHOLD]
    ctrl(qtbot, w, "2")  # no second 补正 while one is open: nothing opens
    assert w.pages.currentWidget() is w.main

    # the resident photographs it at the kiosk; 开始办理 (F3) re-reads the filing
    extra = upload(kiosk, 40)
    ok(kiosk.request("filing_supplement", {"number": number,
                                           "documents": {"hukou_book": [extra]}}))
    key(qtbot, w, Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: shown_status(w) == "submitted", timeout=WAIT)
    assert w.filing_view.materials[1].state == "已拍2页"
    assert "群众在自助终端  已提交，待受理（补正材料）" in w.filing_view.history[-1]

    ctrl(qtbot, w, "1")  # 受理: confirm with Enter
    assert "确认受理申报" in w.form.title.text()
    qtbot.keyClick(w.form.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_status(w) == "accepted", timeout=WAIT)
    assert w.notice_label.text() == f"申报 {number} 已受理"
    ctrl(qtbot, w, "4")  # 办结, with a note
    type_chinese(w.form.note, "已录入民政系统")
    qtbot.keyClick(w.form.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_status(w) == "done", timeout=WAIT)
    assert not any(b.isEnabled() for op, b in w.filing_panel.buttons.items() if op != "pages")
    assert ok(kiosk.request("filing_status", {"number": number}))["filing"]["status"] == "done"

    key(qtbot, w, Qt.Key.Key_F4)  # 完成: the ticket ends, the panel goes with it
    qtbot.waitUntil(lambda: w.view.ticket is None, timeout=WAIT)
    qtbot.waitUntil(lambda: not w.filing_panel.isVisible(), timeout=WAIT)
    assert w.filing is None and not w._pages and w.side.isVisible()

    for secret in PERSONAL:  # the clerk saw them; no log line (terminal, link, server) did
        assert secret not in caplog.text, secret


def test_list_reject_and_a_stale_screen(
        broker: Broker, server: QueueServer, kiosk: RequestClient, links: dict[str, HallLink],
        qtbot: QtBot) -> None:
    first, second = file_at_kiosk(kiosk, 1), file_at_kiosk(kiosk, 10)
    w = terminal(links, qtbot, "2")
    open_counter(w, qtbot)
    key(qtbot, w, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: "当前没有等候的群众" in w.notice_label.text(), timeout=WAIT)

    # F11: open filings of this counter's services, newest first; 2 opens the older one
    key(qtbot, w, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.chooser, timeout=WAIT)
    rows = [w.chooser.list.item(i).text() for i in range(w.chooser.list.count())]
    assert [r.split()[1] for r in rows] == [second["number"], first["number"]]
    assert "王秀英" in rows[0] and rows[0].endswith("未取号")
    qtbot.keyClicks(w.chooser, "2")
    qtbot.waitUntil(lambda: w.filing_view is not None
                    and w.filing_view.number == first["number"], timeout=WAIT)

    # 不予受理 (Ctrl+3): the reason is required; a common reason is one click
    ctrl(qtbot, w, "3")
    w.form.text.clear()
    qtbot.keyClick(w.form.text, Qt.Key.Key_Return)
    assert "请写明不予受理的理由" in w.form.error.text()
    item = w.form.list.item(0)
    qtbot.mouseClick(w.form.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=w.form.list.visualItemRect(item).center())
    assert w.form.text.text() == "不符合申请条件"
    qtbot.keyClick(w.form.text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_status(w) == "rejected", timeout=WAIT)
    assert "不予受理理由：不符合申请条件" in panel_text(w)
    assert ok(kiosk.request("filing_status", {"number": first["number"]}))["filing"][
        "reason"] == "不符合申请条件"
    key(qtbot, w, Qt.Key.Key_Escape)  # close a filing opened from the list
    qtbot.waitUntil(lambda: not w.filing_panel.isVisible(), timeout=WAIT)

    # a stale screen: counter 1 accepts the second filing; this clerk still sees it
    # submitted and rejects it: a Chinese sentence naming the state, the screen catches up
    key(qtbot, w, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.chooser, timeout=WAIT)
    qtbot.keyClicks(w.chooser, "1")
    qtbot.waitUntil(lambda: shown_status(w) == "submitted", timeout=WAIT)
    clerk1 = RequestClient("demo", "counter-1", broker.password("counter-1"),
                           broker.broker_address).start()
    try:
        ok(clerk1.request("filing_accept", {"number": second["number"]}))
    finally:
        clerk1.close()
    ctrl(qtbot, w, "3")
    type_chinese(w.form.text, "材料不全")
    qtbot.keyClick(w.form.text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "不能不予受理" in w.notice_label.text(), timeout=WAIT)
    assert w.notice_label.text() == "这份申报现在是“已受理”，不能不予受理。屏幕已刷新为最新状态。"
    qtbot.waitUntil(lambda: shown_status(w) == "accepted", timeout=WAIT)
