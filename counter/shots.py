"""Screenshots of the terminal and the pad in their typical states, and a clipping check.

    xvfb-run -a .venv/bin/python -m counter.shots docs/

writes docs/counter-*.png from canned states (no broker needed) and fails if any
label or button text does not fit its widget (clipped Chinese).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from queue_server.config import Hall, load_hall

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "halls" / "demo.toml"
TERMINAL_SIZE = QSize(1280, 800)
PAD_SIZE = QSize(1024, 600)


class StillLink(QObject):
    """A HallLink stand-in that delivers canned state and records requests."""

    connection_changed = Signal(bool)
    message = Signal(str, object)
    replied = Signal(str, object)

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device, self.connected = device, True
        self.sent: list[tuple[str, dict[str, Any], str]] = []

    def watch(self, topic_filter: str) -> None:
        pass

    def request(self, op: str, payload: dict[str, Any] | None = None, *,
                request_id: str | None = None, timeout: float = 15.0) -> str:
        rid = request_id or f"r{len(self.sent) + 1}"
        self.sent.append((op, payload or {}, rid))
        return rid


def clipped(root: QWidget) -> list[str]:
    """Texts of visible labels and buttons that do not fit their widget."""
    out = []
    for w in root.findChildren(QWidget):
        if not w.isVisible():
            continue
        if isinstance(w, QPushButton) and w.text():
            fm = w.fontMetrics()
            lines = w.text().split("\n")
            need_w = max(fm.horizontalAdvance(x) for x in lines) + 16
            need_h = fm.height() * len(lines)
            if need_w > w.width() or need_h > w.height():
                out.append(f"button {w.text()!r}: needs {need_w}x{need_h}, has "
                           f"{w.width()}x{w.height()}")
        elif isinstance(w, QLabel) and w.text():
            if w.wordWrap():
                need = w.heightForWidth(w.width())  # the whole widget, padding included
                if need > w.height() + 1:
                    out.append(f"label {w.text()[:30]!r}: needs {need} px high, has "
                               f"{w.height()}")
            elif w.sizeHint().width() > w.width() + 1:
                out.append(f"label {w.text()[:30]!r}: needs {w.sizeHint().width()} px wide")
    return out


def _settle(w: QWidget, size: QSize) -> None:
    w.resize(size)
    w.show()
    for _ in range(5):
        QApplication.processEvents()


def terminal_states(hall: Hall, now: datetime) -> dict[str, dict[str, Any]]:
    base = {"counter": "3", "name": "3号窗口", "at": now.isoformat(timespec="seconds"),
            "services": ["B", "A"], "served_today": 23, "no_show_today": 2,
            "pause_reason": None, "last_served": None}
    called = {"number": "B017", "service": "B", "status": "called", "recalls": 1,
              "issued_at": (now - timedelta(minutes=38)).isoformat(timespec="seconds"),
              "called_at": (now - timedelta(minutes=1)).isoformat(timespec="seconds"),
              "priority": True, "appointment": False}
    return {
        "called": {**base, "status": "open", "ticket": called},
        "paused": {**base, "status": "paused", "pause_reason": "工间休息", "ticket": None},
    }


def shoot(out_dir: Path) -> list[str]:
    """Write the screenshots; returns clipping problems (empty when all text fits)."""
    from .pad import Screen
    from .padwindow import PadWindow
    from .terminal import TerminalWindow

    hall = load_hall(DEMO)
    now = datetime.now(hall.tz).replace(microsecond=0)
    problems: list[str] = []
    root = f"qms/{hall.id}"

    def check(name: str, w: QWidget, size: QSize) -> None:
        _settle(w, size)
        problems.extend(f"{name}: {p}" for p in clipped(w))
        path = out_dir / f"{name}.png"
        if not w.grab().save(str(path)):
            raise OSError(f"could not write {path}")

    link = StillLink("counter-3")
    term = TerminalWindow(hall, "3", link)
    link.connection_changed.emit(True)
    link.message.emit(f"{root}/status/server", "online")
    for code, n in (("A", 6), ("B", 3)):
        link.message.emit(f"{root}/state/service/{code}", {"service": code, "waiting": n})
    states = terminal_states(hall, now)
    link.message.emit(f"{root}/state/counter/3", states["called"])
    term.notice = ("ok", "已重呼 B017")
    term.refresh()
    check("counter-terminal", term, TERMINAL_SIZE)
    term._clicked(5)  # 转移: the chooser
    check("counter-transfer", term, TERMINAL_SIZE)
    term._close_chooser()
    link.message.emit(f"{root}/state/counter/3", states["paused"])
    link.connection_changed.emit(False)
    check("counter-offline", term, TERMINAL_SIZE)
    term.close()

    plink = StillLink("pad-3")
    pad = PadWindow(hall, "3", plink, clock=lambda: 100.0, wall=lambda: now)
    pad._timer.stop()
    plink.message.emit(f"{root}/state/counter/3", {"last_served": {
        "number": "B016", "service": "B", "service_name": "社保医保",
        "at": now.isoformat(), "rated": False}})
    check("counter-pad-levels", pad, PAD_SIZE)
    pad.choose_level(1)
    pad.choose_reason("没有一次性告知")
    check("counter-pad-reason", pad, PAD_SIZE)
    pad.machine.screen = Screen.THANKS
    pad.refresh()
    check("counter-pad-thanks", pad, PAD_SIZE)
    pad.machine.screen = Screen.IDLE
    pad.refresh()
    check("counter-pad-idle", pad, PAD_SIZE)
    pad.close()
    return problems


def main(argv: list[str]) -> int:
    from ui.theme import Theme, install_fonts

    from .nonefix import top_up

    out = Path(argv[0]) if argv else REPO / "docs"
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    top_up()
    install_fonts(app)  # type: ignore[arg-type]
    app.setStyleSheet(Theme().stylesheet())  # type: ignore[union-attr]
    problems = shoot(out)
    for p in problems:
        print(f"clipped: {p}", file=sys.stderr)
    print(f"screenshots in {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
