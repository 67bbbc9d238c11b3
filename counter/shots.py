"""Screenshots of the terminal and the pad in their typical states, and a clipping check.

    xvfb-run -a .venv/bin/python -m counter.shots docs/

writes docs/counter-*.png (counter-filing*.png: the filing panel) from canned states (no
broker needed) and fails if any
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
            cut = _cut_by_scroll_area(w)
            if cut:
                out.append(f"label {w.text()[:30]!r}: {cut}")
            elif w.wordWrap():
                need = w.heightForWidth(w.width())  # the whole widget, padding included
                if need > w.height() + 1:
                    out.append(f"label {w.text()[:30]!r}: needs {need} px high, has "
                               f"{w.height()}")
            elif w.sizeHint().width() > w.width() + 1:
                out.append(f"label {w.text()[:30]!r}: needs {w.sizeHint().width()} px wide")
    return out


def _cut_by_scroll_area(w: QWidget) -> str | None:
    """A label pushed past the right edge of a scroll area that never scrolls sideways."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QScrollArea

    p = w.parentWidget()
    while p is not None and not isinstance(p, QScrollArea):
        p = p.parentWidget()
    if p is None or p.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff:
        return None
    right = w.mapTo(p.viewport(), QPoint(w.width(), 0)).x()
    if right > p.viewport().width() + 1:
        return f"ends at {right} px, its scroll area shows {p.viewport().width()}"
    return None


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


def sample_page(size: tuple[int, int] = (1200, 1600)) -> bytes:
    """A photographed ID-card-like page (drawn, no one's data) as JPEG bytes."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("RGB", size, (236, 233, 224))
    d = ImageDraw.Draw(im)
    w, h = size
    d.rounded_rectangle([w // 10, h // 6, w * 9 // 10, h // 2], 30, fill=(214, 226, 238),
                        outline=(120, 140, 160), width=6)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 46)
    except OSError:
        font = ImageFont.load_default()
    for i, text in enumerate(("姓名  示例老人", "性别  女    民族  汉", "出生  1949年12月31日",
                              "住址  示范县清水镇溪口村", "公民身份号码  （样例）")):
        d.text((w // 10 + 60, h // 6 + 50 + i * 90), text, fill=(30, 30, 40), font=font)
    d.rectangle([w * 69 // 100, h // 6 + 60, w * 87 // 100, h // 2 - 60], fill=(180, 186, 196))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


def shoot_filing(out_dir: Path, size: QSize = TERMINAL_SIZE) -> list[str]:
    """The filing panel, a page in the viewer, the 补正 form and the filing list."""
    import base64

    from .filingsample import sample_filing
    from .terminal import TerminalWindow

    hall = load_hall(DEMO)
    now = datetime.now(hall.tz).replace(microsecond=0)
    problems: list[str] = []
    root = f"qms/{hall.id}"

    def check(name: str, w: QWidget) -> None:
        _settle(w, size)
        problems.extend(f"{name}: {p}" for p in clipped(w))
        path = out_dir / f"{name}.png"
        if not w.grab().save(str(path)):
            raise OSError(f"could not write {path}")

    def answer(link: StillLink, op: str, reply: dict[str, Any]) -> None:
        rid = next(r for o, _, r in reversed(link.sent) if o == op)
        link.replied.emit(rid, {"id": rid, "ok": True, **reply})

    link = StillLink("counter-3")
    term = TerminalWindow(hall, "3", link, clock=lambda: now)
    link.connection_changed.emit(True)
    link.message.emit(f"{root}/status/server", "online")
    for code, n in (("A", 6), ("B", 3)):
        link.message.emit(f"{root}/state/service/{code}", {"service": code, "waiting": n})
    state = terminal_states(hall, now)["called"]
    f = sample_filing(now)
    state["ticket"] = {**state["ticket"], "filing": f["number"], "filings": [f["number"]]}
    link.message.emit(f"{root}/state/counter/3", state)
    answer(link, "filing", {"filing": f})
    term.notice = ("ok", "已呼叫 B017")
    term.refresh()
    check("counter-filing", term)
    term._filing_action("pages")
    answer(link, "filing_document", {"document": {
        "sha256": f["documents"][0]["pages"][0]["sha256"], "number": f["number"],
        "format": "JPEG", "width": 1200, "height": 1600,
        "data": base64.b64encode(sample_page()).decode("ascii")}})
    check("counter-filing-page", term)
    term._back_to_main()
    term._filing_action("filing_more")
    term.form.list.item(1).setCheckState(term.form.list.item(0).checkState().Checked)
    term.form.note.setText("户主页照片反光，看不清")
    check("counter-filing-more", term)
    term._back_to_main()
    term._list_filings()
    other = {"number": f"F{now:%Y%m%d}009", "status": "needs_more", "status_name": "需补正材料",
             "item": "canji-zheng", "item_name": "残疾人证申领", "service": "A",
             "submitted_at": (now - timedelta(days=2)).isoformat(timespec="seconds"),
             "applicant": "李建国", "ticket": None, "ticket_status": None}
    listed = {k: f[k] for k in ("number", "status", "status_name", "item", "item_name",
                                "service", "submitted_at", "applicant")}
    answer(link, "filings", {"filings": [{**listed, "ticket": "B017", "ticket_status": "called"},
                                         other]})
    check("counter-filing-list", term)
    term.close()
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
    problems = shoot(out) + shoot_filing(out)
    for p in problems:
        print(f"clipped: {p}", file=sys.stderr)
    print(f"screenshots in {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
