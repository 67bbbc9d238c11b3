"""A stop signal that arrives while an app is still starting is not lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Its own process: exec() and quit() on the suite's shared QApplication would leave it
# closing down for the tests after this one.
APP = """
import os, signal, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ui.lifecycle import quit_on_signals

app = QApplication([])
wake = quit_on_signals(app)
os.kill(os.getpid(), signal.SIGTERM)  # handled here, before exec() runs
QTimer.singleShot(5000, lambda: app.exit(3))  # the signal was lost
sys.exit(app.exec())
"""


def test_sigterm_before_the_loop_runs_still_quits_it() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", APP], env=env, cwd=REPO, timeout=60,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
