"""A stop signal that arrives while an app is still starting is not lost."""

from __future__ import annotations

import os
import signal

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.lifecycle import quit_on_signals


def test_sigterm_before_the_loop_runs_still_quits_it(qapp: QApplication) -> None:
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        wake = quit_on_signals(qapp)
        os.kill(os.getpid(), signal.SIGTERM)  # handled here, before exec() runs
        timed_out: list[bool] = []
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(lambda: (timed_out.append(True), qapp.quit()))
        guard.start(5000)
        qapp.exec()
        guard.stop()
        wake.stop()
        assert not timed_out  # the loop ended on the signal, not on the guard
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
