"""The counter terminal and the rating pad as a clerk and a resident use them: real
Mosquitto, real queue server (SQLite files), real Qt event loop, keys on the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from counter.pad import Screen
from counter.padwindow import PadWindow
from counter.terminal import TerminalWindow
from queue_server.client import RequestClient
from queue_server.config import load_hall
from queue_server.engine.model import TicketStatus
from queue_server.mqtt import QueueServer
from tests.support.broker import DEMO_HALL, Broker
from tests.support.server import ServerProcess, in_process
from ui.link import HallLink

HALL = load_hall(DEMO_HALL)
WAIT = 8000


@pytest.fixture
def kiosk(broker: Broker) -> Iterator[RequestClient]:
    rc = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"), broker.broker_address)
    yield rc.start()
    rc.close()


def make_link(broker: Broker, device: str, qtbot: QtBot, client_id: str | None = None
              ) -> HallLink:
    link = HallLink("demo", device, broker.password(device), broker.broker_address)
    if client_id is not None:  # a second terminal of the same counter, on its own session
        link.client.client._client_id = client_id.encode()
    with qtbot.waitSignal(link.connection_changed, timeout=WAIT):
        link.start()
    return link


@pytest.fixture
def links(broker: Broker, qtbot: QtBot) -> Iterator[dict[str, HallLink]]:
    made: dict[str, HallLink] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, device: str) -> HallLink:
            made[device] = self[device] = make_link(broker, device, qtbot)
            return self[device]

    yield Lazy()
    for lk in made.values():
        lk.close()


def terminal(links: dict[str, HallLink], qtbot: QtBot, cid: str = "3",
             device: str | None = None) -> TerminalWindow:
    w = TerminalWindow(HALL, cid, links[device or f"counter-{cid}"])
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: w.view is not None and w.view.online, timeout=WAIT)
    return w


def key(qtbot: QtBot, w: Any, k: Qt.Key | str) -> None:
    """A key press as the person at that screen makes it (shortcuts need its window active)."""
    top = w.window()
    if isinstance(top, TerminalWindow):  # the clerk waits for the last op's buttons to return
        qtbot.waitUntil(lambda: idle(top), timeout=WAIT)
    if not top.isActiveWindow():
        top.activateWindow()
        qtbot.waitUntil(top.isActiveWindow, timeout=WAIT)
    if isinstance(k, str):
        qtbot.keyClicks(w, k)
    else:
        qtbot.keyClick(w, k)


def shown_number(w: TerminalWindow) -> str | None:
    return w.view.ticket.number if w.view and w.view.ticket else None


def idle(w: TerminalWindow) -> bool:
    return w.gate.pending is None


def button(w: TerminalWindow, op: str) -> QPushButton:
    return next(b for b in w.slots if b.property("op") == op)


def test_calling_recall_skip_requeue_transfer_pause_finish(
    server: QueueServer, kiosk: RequestClient, links: dict[str, HallLink], qtbot: QtBot
) -> None:
    w = terminal(links, qtbot)
    assert w.view is not None and w.view.status == "未开始办公"
    assert not button(w, "call_next").isEnabled()
    key(qtbot, w, Qt.Key.Key_F9)  # 开始办公
    qtbot.waitUntil(lambda: w.view.status == "办公中", timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: "当前没有等候的群众" in w.notice_label.text(), timeout=WAIT)

    for _ in range(3):
        assert kiosk.request("issue", {"service": "A"})["ok"]
    qtbot.waitUntil(lambda: w.view.waiting_total == 3, timeout=WAIT)

    # a double click is one intent: one ticket called
    b = button(w, "call_next")
    b.click()
    b.click()
    qtbot.waitUntil(lambda: shown_number(w) == "A001" and idle(w), timeout=WAIT)
    assert w.number.text() == "A001"
    qtbot.waitUntil(lambda: w.view.waiting_total == 2, timeout=WAIT)
    assert server.engine.state.tickets[2].status is TicketStatus.WAITING

    key(qtbot, w, Qt.Key.Key_F2)  # 重呼
    qtbot.waitUntil(lambda: "已重呼1次" in w.called.text(), timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F5)  # 过号
    qtbot.waitUntil(lambda: shown_number(w) is None and w.view.no_show_today == 1, timeout=WAIT)

    key(qtbot, w, Qt.Key.Key_F7)  # 回呼: today's no-shows, then choose one by its digit
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.chooser, timeout=WAIT)
    assert w.chooser.list.item(0).text().startswith("1  A001  综合受理")
    key(qtbot, w.chooser, "1")
    qtbot.waitUntil(lambda: "A001 已回到队列" in w.notice_label.text(), timeout=WAIT)
    assert w.pages.currentWidget() is w.main
    qtbot.waitUntil(lambda: w.view.waiting_total == 3, timeout=WAIT)

    key(qtbot, w, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: shown_number(w) == "A002" and idle(w), timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F6)  # 转移: to a service from the list
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.chooser, timeout=WAIT)
    labels = [w.chooser.list.item(i).text() for i in range(w.chooser.list.count())]
    assert labels[0] == "1  业务 B 社保医保" and not any("业务 A" in x for x in labels)
    key(qtbot, w.chooser, Qt.Key.Key_Escape)  # changed mind
    assert w.pages.currentWidget() is w.main and shown_number(w) == "A002"
    key(qtbot, w, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.chooser, timeout=WAIT)
    key(qtbot, w.chooser, Qt.Key.Key_Return)  # the first: service B
    qtbot.waitUntil(lambda: shown_number(w) is None and idle(w), timeout=WAIT)
    assert server.engine.state.tickets[2].service == "B"

    key(qtbot, w, Qt.Key.Key_F1)  # counter 3 serves B first (weight 2): A002 again
    qtbot.waitUntil(lambda: shown_number(w) == "A002" and idle(w), timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F3)  # 开始办理
    qtbot.waitUntil(lambda: w.view.ticket is not None and w.view.ticket.status == "正在办理",
                    timeout=WAIT)
    assert not button(w, "skip").isEnabled()
    assert not button(w, "close").isEnabled()  # a ticket is at the counter
    key(qtbot, w, Qt.Key.Key_F4)  # 完成
    qtbot.waitUntil(lambda: shown_number(w) is None and w.view.served_today == 1, timeout=WAIT)

    key(qtbot, w, Qt.Key.Key_F8)  # 暂停, with a reason
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.chooser, timeout=WAIT)
    key(qtbot, w.chooser, "1")
    qtbot.waitUntil(lambda: w.view.status == "暂停中（工间休息）", timeout=WAIT)
    assert not button(w, "call_next").isEnabled() and button(w, "resume").text() == "F8  恢复"
    key(qtbot, w, Qt.Key.Key_F8)  # 恢复
    qtbot.waitUntil(lambda: w.view.status == "办公中", timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F9)  # 结束办公
    qtbot.waitUntil(lambda: w.view.status == "未开始办公", timeout=WAIT)


def test_two_terminals_of_one_counter_never_call_two_tickets(
    tmp_path: Path, qtbot: QtBot
) -> None:
    # two connections as counter-1: only a broker that does not bind client ids allows it
    with Broker.start(DEMO_HALL, bind_client_ids=False) as broker:
        server = in_process(broker, tmp_path / "data")
        kiosk = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                              broker.broker_address).start()
        la, lb = (make_link(broker, "counter-1", qtbot, "counter-1-a"),
                  make_link(broker, "counter-1", qtbot, "counter-1-b"))
        try:
            a = terminal({"counter-1": la}, qtbot, "1")
            b = terminal({"counter-1": lb}, qtbot, "1")
            assert kiosk.request("issue", {"service": "A"})["ok"]
            assert kiosk.request("issue", {"service": "A"})["ok"]
            key(qtbot, a, Qt.Key.Key_F9)
            qtbot.waitUntil(lambda: a.view.status == b.view.status == "办公中", timeout=WAIT)
            qtbot.waitUntil(lambda: a.view.waiting_total == b.view.waiting_total == 2,
                            timeout=WAIT)
            # both clerks press 呼叫下一位 on a screen that shows no ticket
            button(a, "call_next").click()
            button(b, "call_next").click()
            qtbot.waitUntil(lambda: idle(a) and idle(b), timeout=WAIT)
            qtbot.waitUntil(lambda: shown_number(a) == shown_number(b) == "A001", timeout=WAIT)
            notices = a.notice_label.text() + b.notice_label.text()
            assert "窗口的当前号已经变化" in notices and "已呼叫 A001" in notices
            assert server.engine.state.tickets[2].status is TicketStatus.WAITING
        finally:
            la.close()
            lb.close()
            kiosk.close()
            server.stop()


def pad_window(links: dict[str, HallLink], qtbot: QtBot, now: list[float],
               cid: str = "3") -> PadWindow:
    p = PadWindow(HALL, cid, links[f"pad-{cid}"], clock=lambda: now[0])
    qtbot.addWidget(p)
    p.resize(1024, 600)
    p.show()
    return p


def test_rating_pad_rates_the_served_ticket_with_a_reason_for_bad(
    server: QueueServer, kiosk: RequestClient, links: dict[str, HallLink], qtbot: QtBot
) -> None:
    now = [1000.0]
    w = terminal(links, qtbot)
    pad = pad_window(links, qtbot, now)
    assert pad.machine.screen is Screen.IDLE
    for _ in range(2):
        kiosk.request("issue", {"service": "A"})
    key(qtbot, w, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: w.view.status == "办公中", timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: shown_number(w) == "A001" and idle(w), timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F4)  # 完成: the pad now asks the resident
    qtbot.waitUntil(lambda: pad.machine.screen is Screen.LEVELS, timeout=WAIT)
    assert pad.levels_title.text() == "A001 综合受理"
    assert [b.text() for b in pad.level_buttons.values()] == [
        "5\n非常满意", "4\n满意", "3\n基本满意", "2\n不满意", "1\n非常不满意"]
    assert pad.levels_countdown.text().startswith(("60", "59"))

    key(qtbot, pad, "2")  # 不满意: a reason first
    qtbot.waitUntil(lambda: pad.machine.screen is Screen.REASON, timeout=WAIT)
    assert not pad.submit.isEnabled()
    key(qtbot, pad, Qt.Key.Key_Return)
    assert pad.reason_message.text() == "请先选择不满意的原因。"
    key(qtbot, pad, "1")  # 等候时间太长
    qtbot.waitUntil(lambda: pad.reason_buttons[0].isChecked() and pad.submit.isEnabled(),
                    timeout=WAIT)  # a button's shortcut clicks after its 100 ms animation
    pad.comment.setFocus()
    qtbot.keyClicks(pad.comment, "queue too long")
    key(qtbot, pad, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pad.machine.screen is Screen.THANKS, timeout=WAIT)
    r = server.engine.state.ratings[1]
    assert (r.level, r.reason, r.comment) == (2, "等候时间太长", "queue too long")
    assert r.follow_up_due is not None and r.counter == "3"
    now[0] += 10
    qtbot.waitUntil(lambda: pad.machine.screen is Screen.IDLE, timeout=WAIT)

    # the next resident walks away: no answer within pad_timeout_s leaves it unrated
    key(qtbot, w, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: shown_number(w) == "A002" and idle(w), timeout=WAIT)
    key(qtbot, w, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: pad.machine.screen is Screen.LEVELS, timeout=WAIT)
    now[0] += HALL.rating.pad_timeout_s + 1
    qtbot.waitUntil(lambda: pad.machine.screen is Screen.IDLE, timeout=WAIT)
    assert 2 not in server.engine.state.ratings
    assert not any(b.isEnabled() and b.property("op") == "rate" for b in w.slots)


def test_apps_survive_broker_and_server_restarts(
    broker: Broker, tmp_path: Path, links: dict[str, HallLink], qtbot: QtBot
) -> None:
    proc = ServerProcess(broker, tmp_path / "data").start()
    kiosk = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                          broker.broker_address).start()
    try:
        w = terminal(links, qtbot)
        now = [0.0]
        pad = pad_window(links, qtbot, now)
        for _ in range(3):
            kiosk.request("issue", {"service": "A"}, timeout=20)
        key(qtbot, w, Qt.Key.Key_F9)
        qtbot.waitUntil(lambda: w.view.status == "办公中", timeout=WAIT)
        key(qtbot, w, Qt.Key.Key_F1)
        qtbot.waitUntil(lambda: shown_number(w) == "A001" and idle(w), timeout=WAIT)

        broker.restart()  # the hall's broker goes down and comes back
        qtbot.waitUntil(lambda: w.view.status == "离线", timeout=WAIT)
        assert not button(w, "finish").isEnabled() and pad.offline.isVisible()
        qtbot.waitUntil(lambda: w.view.online and shown_number(w) == "A001", timeout=20000)
        qtbot.waitUntil(lambda: not pad.offline.isVisible(), timeout=20000)

        proc.kill()  # the server crashes: its will says offline
        qtbot.waitUntil(lambda: w.view.status == "离线" and "服务器" in w.banner.text(),
                        timeout=20000)
        proc.start()
        qtbot.waitUntil(lambda: w.view.online and w.view.status == "办公中", timeout=20000)
        assert shown_number(w) == "A001" and w.view.waiting_total == 2

        # a click while the server is down is sent again under the same id, applied once
        proc.kill()
        qtbot.waitUntil(lambda: not w.view.online, timeout=20000)
        w.inputs.server_online = True  # the clerk clicks before the screen says offline
        w.refresh()
        button(w, "finish").click()
        rid = w.gate.pending.request_id if w.gate.pending else None
        assert rid is not None and "正在完成" in w.notice_label.text()
        proc.start()
        qtbot.waitUntil(lambda: idle(w) and shown_number(w) is None, timeout=40000)
        assert w.view.served_today == 1 and "A001 已办结" in w.notice_label.text()
        qtbot.waitUntil(lambda: pad.machine.screen is Screen.LEVELS, timeout=WAIT)
        key(qtbot, pad, "5")
        qtbot.waitUntil(lambda: pad.machine.screen is Screen.THANKS, timeout=WAIT)
        key(qtbot, w, Qt.Key.Key_F1)
        qtbot.waitUntil(lambda: shown_number(w) == "A002" and idle(w), timeout=WAIT)
    finally:
        kiosk.close()
        proc.close()
    QApplication.processEvents()
