"""Stopping a Qt app on SIGTERM/SIGINT (systemd stop, Ctrl+C), even right at start."""

from __future__ import annotations

import signal

from PySide6.QtCore import QCoreApplication, QTimer


def quit_on_signals(app: QCoreApplication, wake_ms: int = 300) -> QTimer:
    """Quit `app`'s loop on SIGTERM or SIGINT; returns the timer to keep.

    QApplication.quit() called before exec() does nothing, so a stop that arrives while
    the app is still starting (a service stopped at once, a test) was lost and the app
    ran on: the handler posts the quit instead, which the loop runs once it starts.
    Python runs signal handlers only between bytecodes; the returned timer wakes the
    interpreter while Qt waits in C++."""
    def stop(*_: object) -> None:
        QTimer.singleShot(0, app.quit)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(wake_ms)
    return wake
