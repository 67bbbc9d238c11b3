"""Python's cycle collector, run only on the GUI thread.

CPython runs the cyclic garbage collector on whichever thread happens to allocate when
a generation is due: paho's network thread, a device reader, a request worker. If the
garbage it finds holds a Qt widget (a closed dialog in a reference cycle with its
slots), the widget is destroyed on that thread and Qt crashes the process (SIGSEGV;
seen in CI as a crash inside a paho publish). While a Qt app runs, automatic collection
is off and this timer collects on the GUI thread instead: the young generations every
second, everything once a minute. An app calls `freeze_startup()` once its windows are
built, so the full collection skips the libraries' hundreds of thousands of objects.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

FULL_EVERY = 60  # ticks between full collections


class GuiCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect)
        self._ticks = 0
        self._was_enabled = gc.isenabled()
        self.running = False

    def start(self) -> None:
        """Take over collection from the interpreter."""
        if self.running:
            return
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.running = True
        self._timer.start()

    def stop(self) -> None:
        """Collect once more here, then hand collection back as it was."""
        if not self.running:
            return
        self._timer.stop()
        self.running = False
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect(self) -> int:
        self._ticks += 1
        return gc.collect(2 if self._ticks % FULL_EVERY == 0 else 1)


def freeze_startup() -> None:
    """Move everything alive now (modules, classes, the app's windows) out of the
    collector's sight for good: a full collection then takes ~1 ms, not ~70 ms."""
    gc.collect()
    gc.freeze()
