"""The boards against a real Mosquitto and queue server, on a real Qt event loop:
calls, recalls and pauses shown and spoken; broker and server restarts survived."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from display.app import BoardController
from display.link import BoardLink
from display.model import HallView, WindowView
from display.settings import DisplaySettings
from display.voice import SpeechQueue
from display.widgets import HallBoard, WindowBoard
from queue_server.client import RequestClient
from queue_server.config import load_hall
from queue_server.mqtt import QueueServer
from tests.support.broker import DEMO_HALL, Broker
from tests.support.server import ServerProcess, ok

HALL = load_hall(DEMO_HALL)
SETTINGS = DisplaySettings.from_hall(HALL)


class Spoken:
    """The voice with a fake player: the texts it was asked to play, in order."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.queue = SpeechQueue(lambda text: Path(text), lambda p: self.texts.append(str(p)))


@pytest.fixture
def spoken() -> Iterator[Spoken]:
    s = Spoken()
    yield s
    s.queue.close()


BoardFactory = Callable[..., tuple[BoardLink, WindowBoard | HallBoard]]


@pytest.fixture
def boards(broker: Broker, qtbot: QtBot) -> Iterator[BoardFactory]:
    links: list[BoardLink] = []

    def make(device: str, counter: str | None = None, speech: SpeechQueue | None = None
             ) -> tuple[BoardLink, WindowBoard | HallBoard]:
        link = BoardLink("demo", device, broker.password(device), broker.broker_address)
        board: WindowBoard | HallBoard = WindowBoard() if counter else HallBoard()
        qtbot.addWidget(board)
        BoardController(HALL, SETTINGS, link, board, counter=counter, speech=speech)
        board.resize(960, 540)
        board.show()
        with qtbot.waitSignal(link.connection_changed, timeout=5000):
            link.start()
        links.append(link)
        return link, board

    yield make
    for link in links:
        link.close()


def window(board: WindowBoard | HallBoard) -> WindowView:
    assert isinstance(board.view, WindowView)
    return board.view


def hall(board: WindowBoard | HallBoard) -> HallView:
    assert isinstance(board.view, HallView)
    return board.view


def test_call_recall_pause_are_shown_and_spoken(
    boards: BoardFactory, spoken: Spoken, qtbot: QtBot, server: QueueServer,
    clients: dict[str, RequestClient],
) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-3"]
    _, win = boards("display-3", counter="3")
    _, hb = boards("display-2", speech=spoken.queue)
    qtbot.waitUntil(lambda: window(win).mode == "closed", timeout=5000)
    assert window(win).counter_name == "3号窗口"
    ok(counter.request("open"))
    qtbot.waitUntil(lambda: window(win).headline == "欢迎光临", timeout=5000)
    ok(kiosk.request("issue", {"service": "A", "source": "walk_in"}))
    qtbot.waitUntil(lambda: any(s.code == "A" and s.waiting == 1
                                for s in hall(hb).services), timeout=5000)

    ok(counter.request("call_next"))
    qtbot.waitUntil(lambda: window(win).headline == "A001", timeout=5000)
    assert window(win).detail == "请A001号到本窗口办理"
    qtbot.waitUntil(lambda: bool(hall(hb).calls) and hall(hb).calls[0].number == "A001",
                    timeout=5000)
    assert hall(hb).calls[0].counter_name == "3号窗口"
    # the newest call blinks on both boards
    qtbot.waitUntil(lambda: hall(hb).calls[0].highlight, timeout=2000)
    qtbot.waitUntil(lambda: window(win).highlight, timeout=2000)
    assert spoken.queue.wait_idle(5)
    assert spoken.texts == ["请A001号到3号窗口办理"]

    ok(counter.request("recall"))
    qtbot.waitUntil(lambda: len(spoken.texts) == 2, timeout=5000)
    assert spoken.texts[1] == "请A001号到3号窗口办理"

    ok(counter.request("pause", {"reason": "工间休息"}))
    qtbot.waitUntil(lambda: window(win).mode == "paused", timeout=5000)
    assert (window(win).headline, window(win).detail) == ("暂停服务", "工间休息")
    qtbot.waitUntil(lambda: any(c.name == "3号窗口" and c.text == "暂停"
                                for c in hall(hb).counters), timeout=5000)
    qtbot.waitUntil(lambda: hb.painted_view == hb.view, timeout=2000)  # drawn, too


def test_boards_stay_right_across_broker_and_server_restarts(
    broker: Broker, tmp_path: Path, boards: BoardFactory, spoken: Spoken, qtbot: QtBot
) -> None:
    server = ServerProcess(broker, tmp_path / "data").start()
    kiosk = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                          broker.broker_address).start()
    counter = RequestClient("demo", "counter-3", broker.password("counter-3"),
                            broker.broker_address).start()
    try:
        link, win = boards("display-3", counter="3")
        hlink, hb = boards("display-2", speech=spoken.queue)
        ok(counter.request("open"))
        for _ in range(3):
            ok(kiosk.request("issue", {"service": "A", "source": "walk_in"}))
        ok(counter.request("call_next"))
        qtbot.waitUntil(lambda: window(win).headline == "A001", timeout=5000)

        server.kill()  # kill -9: boards keep showing the retained truth
        server.start()
        ok(counter.request("call_next", timeout=20))
        qtbot.waitUntil(lambda: window(win).headline == "A002", timeout=5000)
        qtbot.waitUntil(lambda: hall(hb).calls[0].number == "A002", timeout=5000)

        broker.restart(crash=True)
        qtbot.waitUntil(lambda: not hlink.connected, timeout=5000)
        qtbot.waitUntil(lambda: hall(hb).offline and window(win).offline, timeout=5000)
        qtbot.waitUntil(lambda: hlink.connected and link.connected, timeout=15000)
        qtbot.waitUntil(lambda: not window(win).offline, timeout=5000)
        ok(counter.request("call_next", timeout=20))
        qtbot.waitUntil(lambda: window(win).headline == "A003", timeout=10000)
        qtbot.waitUntil(lambda: hall(hb).calls[0].number == "A003", timeout=5000)
        qtbot.waitUntil(lambda: next(s for s in hall(hb).services if s.code == "A").waiting
                        == 0, timeout=5000)
        assert spoken.queue.wait_idle(5)
        assert spoken.texts == [f"请A00{i}号到3号窗口办理" for i in (1, 2, 3)]

        # a board started now shows the truth from retained state alone
        _, fresh = boards("display-1", counter="3")  # any display may show counter 3
        qtbot.waitUntil(lambda: window(fresh).headline == "A003", timeout=5000)
    finally:
        kiosk.close()
        counter.close()
        server.close()


class StubLink(QObject):
    """BoardLink's signals without a broker, for what the controller decides alone."""

    connection_changed = Signal(bool)
    message = Signal(str, object, float)

    def snapshot(self) -> dict:
        return {}

    def received_at(self, topic: str) -> float | None:
        return None


def test_a_redelivered_call_is_said_once_and_a_stale_one_not_at_all(
    spoken: Spoken, qtbot: QtBot
) -> None:
    link = StubLink()
    board = HallBoard()
    qtbot.addWidget(board)
    BoardController(HALL, SETTINGS, link, board, speech=spoken.queue,  # type: ignore[arg-type]
                    max_age_s=120)
    now = datetime.now(HALL.tz)

    def call(number: str, at: datetime) -> dict:
        return {"number": number, "service": "A", "counter": "1", "counter_name": "1号窗口",
                "recall": False, "at": at.isoformat(timespec="seconds"),
                "text": f"请{number}号到1号窗口办理"}

    link.message.emit("qms/demo/event/called", call("A001", now), 1.0)
    link.message.emit("qms/demo/event/called", call("A001", now), 1.1)  # QoS 1 duplicate
    link.message.emit("qms/demo/event/called", call("A000", now - timedelta(minutes=5)), 1.2)
    assert spoken.queue.wait_idle(5)
    assert spoken.texts == ["请A001号到1号窗口办理"]
    assert [c.number for c in board.view.calls] == ["A001", "A000"]  # type: ignore[union-attr]


def test_calls_made_while_a_board_was_away_are_delivered_and_spoken(
    boards: BoardFactory, spoken: Spoken, qtbot: QtBot, server: QueueServer,
    clients: dict[str, RequestClient],
) -> None:
    kiosk, counter = clients["kiosk-1"], clients["counter-3"]
    link, hb = boards("display-2", speech=spoken.queue)
    ok(counter.request("open"))
    ok(kiosk.request("issue", {"service": "A", "source": "walk_in"}))
    ok(kiosk.request("issue", {"service": "A", "source": "walk_in"}))
    ok(counter.request("call_next"))
    qtbot.waitUntil(lambda: len(spoken.texts) == 1, timeout=5000)
    with qtbot.waitSignal(link.connection_changed, timeout=5000):
        # the board's network goes away (paho reconnects after a second); its session
        # stays on the broker
        link.client.socket().shutdown(socket.SHUT_RDWR)
    ok(counter.request("call_next"))  # A002 is called while the board is away
    ok(counter.request("recall"))
    qtbot.waitUntil(lambda: len(spoken.texts) == 3, timeout=10000)
    assert spoken.texts == ["请A001号到3号窗口办理", "请A002号到3号窗口办理",
                            "请A002号到3号窗口办理"]
    assert hall(hb).calls[0].number == "A002"
