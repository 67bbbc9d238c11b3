"""The terminal widget's handling of replies, on a stand-in link (no broker): retry under
the same id after OFFLINE, Esc gives up, an older reply never hides a newer state."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from counter.settings import CounterSettings
from counter.shots import StillLink
from counter.terminal import TerminalWindow
from queue_server.config import load_hall
from tests.support.broker import DEMO_HALL

HALL = load_hall(DEMO_HALL)
TOPIC = "qms/demo/state/counter/3"


def state(at: str, number: str | None) -> dict[str, object]:
    ticket = None if number is None else {"number": number, "service": "A", "status": "called",
                                          "recalls": 0, "issued_at": at, "called_at": at}
    return {"counter": "3", "status": "open", "ticket": ticket, "at": at, "services": ["B", "A"]}


def window(qtbot: QtBot) -> tuple[TerminalWindow, StillLink]:
    link = StillLink("counter-3")
    w = TerminalWindow(HALL, "3", link, CounterSettings(retry_s=0.05))
    qtbot.addWidget(w)
    link.connection_changed.emit(True)
    link.message.emit("qms/demo/status/server", "online")
    link.message.emit(TOPIC, state("2026-11-23T09:00:05+08:00", None))
    return w, link


def test_offline_reply_retries_under_the_same_id_and_esc_gives_up(qtbot: QtBot) -> None:
    w, link = window(qtbot)
    rid = w.send("call_next", label="呼叫下一位")
    assert rid is not None and link.sent[-1] == ("call_next", {"expect_current": None}, rid)
    assert w.send("call_next") is None  # in flight: a second click is no new request
    link.replied.emit(rid, {"id": rid, "ok": False, "error": {"code": "OFFLINE"}})
    assert "正在重试" in w.notice_label.text() and "Esc" in w.notice_label.text()
    qtbot.waitUntil(lambda: len(link.sent) == 2, timeout=2000)
    assert link.sent[-1][2] == rid  # the same intent, the same id
    w._escape()
    assert w.gate.pending is None and "已放弃" in w.notice_label.text()
    link.replied.emit(rid, {"id": rid, "ok": True, "counter": state("2026-11-23T09:00:09+08:00",
                                                                     "A001")})
    assert w.view is not None and w.view.ticket is None  # a late reply changes nothing


def test_an_older_reply_does_not_hide_a_newer_state(qtbot: QtBot) -> None:
    w, link = window(qtbot)
    rid = w.send("call_next", label="呼叫下一位")
    assert rid is not None
    link.message.emit(TOPIC, state("2026-11-23T09:00:07+08:00", "A002"))  # another terminal
    link.replied.emit(rid, {"id": rid, "ok": True, "ticket": {"number": "A001"},
                            "counter": state("2026-11-23T09:00:07+08:00", "A001")})
    assert w.view is not None and w.view.ticket is not None
    assert w.view.ticket.number == "A002" and w.notice_label.text() == "已呼叫 A001"
