"""GuiCollector: while a Qt app runs, cycles are collected on the GUI thread only."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

from pytestqt.qtbot import QtBot

from ui.collector import GuiCollector


class Cycle:
    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


def test_cycles_are_freed_on_the_gui_thread_not_the_allocating_one(qtbot: QtBot) -> None:
    was = gc.isenabled()
    gc.enable()  # as in an app, before the collector takes over
    try:
        collector = GuiCollector(interval_ms=50)
        collector.start()
        assert not gc.isenabled()
        Cycle.freed_on.clear()
        Cycle()

        def churn() -> None:  # enough live allocations to make every generation due
            kept = [[i] for i in range(50_000)]
            del kept
        worker = threading.Thread(target=churn, name="paho-like")
        worker.start()
        worker.join()
        assert Cycle.freed_on == []  # nothing was collected on the worker
        qtbot.waitUntil(lambda: Cycle.freed_on == [threading.current_thread().name],
                        timeout=2000)
        collector.stop()
        assert gc.isenabled()  # handed back as it was
    finally:
        if not was:
            gc.disable()
