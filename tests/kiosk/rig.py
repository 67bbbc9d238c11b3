"""The kiosk test rig: a real broker and server, device simulators on ptys."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QScrollArea
from pytestqt.qtbot import QtBot

from devices.idcard.sim import ReaderSimulator
from devices.printer.sim import PrinterSimulator
from devices.scanner.sim import ScannerSimulator
from kiosk import machine as m
from kiosk.app import KioskController, assemble
from queue_server.config import load_hall
from queue_server.mqtt import QueueServer
from tests.support.broker import DEMO_HALL, REPO, Broker
from tests.support.server import in_process

CARDS = json.loads((REPO / "assets/samples/idcards.json").read_text("utf-8"))


class Rig:
    def __init__(self, broker: Broker, tmp: Path, qtbot: QtBot) -> None:
        self.broker, self.tmp, self.qtbot = broker, tmp, qtbot
        self.hall = load_hall(DEMO_HALL)
        self.reader = ReaderSimulator(str(tmp / "idcard"))
        self.scanner = ScannerSimulator(str(tmp / "scanner"))
        self.printer = PrinterSimulator(tmp / "printer")
        self.reader.start()
        self.scanner.start()
        self.printer.start()
        self.server: QueueServer | None = None
        self.kiosk: KioskController | None = None

    def start_server(self) -> QueueServer:
        self.server = in_process(self.broker, self.tmp / "server-data")
        return self.server

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def start_kiosk(self, **kw: object) -> KioskController:
        k = assemble(self.hall, "kiosk-1", self.broker.password("kiosk-1"),
                     self.broker.broker_address, self.tmp / "kiosk-data",
                     idcard_port=str(self.tmp / "idcard"), scanner_port=str(self.tmp / "scanner"),
                     printer=f"serial:{self.tmp / 'printer'}",
                     **kw)  # type: ignore[arg-type]
        k.window.resize(1080, 1920)
        k.window.show()
        k.start()
        self.kiosk = k
        self.qtbot.waitUntil(lambda: k.link.connected, timeout=5000)
        return k

    def stop_kiosk(self) -> None:
        if self.kiosk is not None:
            self.kiosk.close()
            self.kiosk.window.close()
            self.kiosk.window.deleteLater()
            self.kiosk.deleteLater()
            self.kiosk = None
            QApplication.processEvents()
            # Qt objects must die on the GUI thread, not in a collection that happens to run
            # on paho's thread in the next test.
            gc.collect()

    @property
    def screen(self) -> m.Screen:
        assert self.kiosk is not None
        return self.kiosk.machine.screen

    def wait_screen(self, kind: type, timeout: int = 8000) -> m.Screen:
        self.qtbot.waitUntil(lambda: isinstance(self.screen, kind), timeout=timeout)
        return self.screen

    def wait_home_live(self) -> None:
        assert self.kiosk is not None
        k = self.kiosk
        self.qtbot.waitUntil(lambda: k.machine.ctx.services["A"].hours != "", timeout=5000)

    def find(self, cls: type, name: str):  # type: ignore[no-untyped-def]
        assert self.kiosk is not None
        w = self.kiosk.window.findChild(cls, name)
        assert w is not None, f"no {cls.__name__} named {name!r} on {self.screen}"
        return w

    def close(self) -> None:
        self.stop_kiosk()
        self.stop_server()
        self.reader.stop()
        self.scanner.stop()
        self.printer.stop()




def click(rig: Rig, qtbot: QtBot, name: str) -> None:
    """Touch a button as a finger would: scrolled into view first (a click is delivered to
    whatever is shown at that spot of the window)."""
    b = rig.find(QPushButton, name)
    area = b.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if area is not None:
        area.ensureWidgetVisible(b)
        QApplication.processEvents()
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)


def open_guide(rig: Rig, qtbot: QtBot, tab: str, item: str) -> m.Screen:
    """From the home page: 办事指南, a tab of the index, an item; its guide page."""
    from kiosk.filing import states as s

    click(rig, qtbot, "guide")
    rig.wait_screen(s.GuideIndex)
    click(rig, qtbot, f"tab-{tab}")
    click(rig, qtbot, f"item-{item}")
    return rig.wait_screen(s.GuideShown)


def card(name: str, birth: str, seq: str = "123") -> dict[str, object]:
    """A resident card with a valid ID number for `birth` (YYYY-MM-DD)."""
    from queue_server.idnumber import check_char

    body = "320582" + birth.replace("-", "") + seq
    return {**CARDS[0], "name": name, "birth": birth, "id_number": body + check_char(body)}


def book(broker: Broker, service: str, start_in_min: float, length_min: float = 30) -> str:
    """A booking made through the portal; returns its code."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from queue_server.client import RequestClient

    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = now + timedelta(minutes=start_in_min)
    with RequestClient("demo", "portal", broker.password("portal"),
                       broker.broker_address) as rc:
        end = start + timedelta(minutes=length_min)
        reply = rc.request("book", {"service": service, "slot_start": start.isoformat(),
                                    "slot_end": end.isoformat()})
    assert reply["ok"], reply
    return str(reply["code"])
