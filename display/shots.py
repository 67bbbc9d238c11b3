"""Screenshots of the boards for docs/ and for a person to check (run under Xvfb):

    xvfb-run -a .venv/bin/python -m display.shots docs

The boards are fed the retained state and calls a demo-hall morning publishes
(payloads as the queue server sends them); each picture lists every text it drew
with its size, and any text that did not fit its box is an error.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

from queue_server.config import load_hall
from tests.support.broker import DEMO_HALL
from ui.shots import grab
from ui.theme import install_fonts

from .model import Call, hall_view, window_view
from .settings import DisplaySettings
from .widgets import DRAWN, HallBoard, WindowBoard

AT = "2026-11-23T09:4{}:00+08:00"


def sample_state() -> dict[str, Any]:
    counters = [
        ("1", "open", {"number": "A012", "service": "A", "status": "serving"}, None),
        ("2", "open", {"number": "A013", "service": "A", "status": "called"}, None),
        ("3", "open", {"number": "B007", "service": "B", "status": "called"}, None),
        ("4", "paused", None, "工间休息"),
        ("5", "open", {"number": "C003", "service": "C", "status": "serving"}, None),
        ("6", "open", None, None),
    ]
    state: dict[str, Any] = {}
    for i, (cid, status, ticket, reason) in enumerate(counters):
        if ticket:
            ticket = {**ticket, "called_at": AT.format(i), "recalls": 0}
        state[f"qms/demo/state/counter/{cid}"] = {
            "counter": cid, "name": f"{cid}号窗口", "status": status, "ticket": ticket,
            "pause_reason": reason, "at": AT.format(6)}
    for code, name, waiting, est, open_ in (
            ("A", "综合受理", 14, 1260, True), ("B", "社保医保", 6, 840, True),
            ("C", "不动产登记", 2, 1500, True), ("D", "税务办理", 0, 0, True),
            ("E", "户籍证明", 0, 0, False)):
        state[f"qms/demo/state/service/{code}"] = {
            "service": code, "name": name, "waiting": waiting, "est_wait_s": est,
            "open": open_, "hours": "08:30-12:00" if not open_ else "00:00-24:00"}
    return state


def shoot(out_dir: Path) -> list[tuple[Path, list[tuple[str, int, bool]]]]:
    hall = load_hall(DEMO_HALL)
    settings = DisplaySettings.from_hall(hall)
    state = sample_state()
    now = float(int(time.monotonic()))  # + 0.1: the blink's "on" half-second
    newest = Call("B007", "B", "3", "3号窗口", "请B007号到3号窗口办理", AT.format(9),
                  seen=now)
    shots: list[tuple[Path, list[tuple[str, int, bool]]]] = []

    def take(board: WindowBoard | HallBoard, name: str, size: QSize) -> None:
        path = grab(board, out_dir / name, size)
        shots.append((path, list(DRAWN)))

    hb = HallBoard()
    hb.ticker.stop()  # a still picture: the notice at its start
    hb.resize(1920, 1080)
    hb.notice_from_start()
    hb.set_view(hall_view("demo", state, [newest], hall_name=hall.name, notice=settings.notice,
                          now=now + 0.1, flash_s=10), clock="11月23日 09:49")
    take(hb, "display-hall.png", QSize(1920, 1080))
    win = WindowBoard()
    win.set_view(window_view("demo", state, "3", last_call=newest, now=now + 0.1))
    take(win, "display-window.png", QSize(1280, 720))
    win.set_view(window_view("demo", state, "4"))
    take(win, "display-window-paused.png", QSize(1280, 720))
    win.set_view(window_view("demo", state, "6"))
    take(win, "display-window-idle.png", QSize(1280, 720))
    return shots


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs")
    app = QApplication(sys.argv[:1])
    if not install_fonts(app):
        print("no CJK font: install fonts-wqy-microhei", file=sys.stderr)
        return 1
    bad = 0
    for path, drawn in shoot(out):
        print(f"{path}: " + ", ".join(f"{t}@{px}px" for t, px, _ in drawn))
        for text, px, fits in drawn:
            if not fits or px < 18:
                print(f"  CLIPPED OR TOO SMALL: {text!r} at {px}px", file=sys.stderr)
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
