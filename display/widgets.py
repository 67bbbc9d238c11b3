"""The boards' widgets: they only draw a view (display.model) and say when they painted.

Every text is fitted into its box (the font shrinks until the text fits), so a long
counter name or notice is never clipped, at any screen size.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from .model import HallView, WindowView

BG = "#0b1e3a"  # dark navy: LED-like boards are read from afar on a dark ground
PANEL = "#13294b"
BAND = "#0b5cad"
WHITE = "#ffffff"
YELLOW = "#ffd23f"  # numbers; 12:1 on BG
RED = "#ff6b5e"  # 暂停服务; 5.1:1 on BG
GREY = "#c4cedb"
FLASH_BG = "#ffd23f"
FLASH_FG = "#0b1e3a"


_FIT_CACHE: dict[tuple[str, str, int, int, int, bool], int] = {}


def fit_font(base: QFont, text: str, box: QRectF, max_px: float, bold: bool = False) -> QFont:
    """The largest font (≤ max_px) in which `text` fits `box` on one line (sizes cached:
    boards repaint often and the texts repeat)."""
    key = (base.family(), text, int(box.width()), int(box.height()), int(max_px), bold)
    f = QFont(base)
    if key in _FIT_CACHE:
        f.setBold(bold)
        f.setPixelSize(_FIT_CACHE[key])
        return f
    if len(_FIT_CACHE) > 5000:
        _FIT_CACHE.clear()
    f = _fit(f, text, box, max_px, bold)
    _FIT_CACHE[key] = f.pixelSize()
    return f


def _fit(f: QFont, text: str, box: QRectF, max_px: float, bold: bool) -> QFont:
    f.setBold(bold)
    px = max(8.0, min(max_px, box.height() * 0.8))
    while True:
        f.setPixelSize(int(px))
        m = QFontMetricsF(f)
        if (m.horizontalAdvance(text) <= box.width() and m.height() <= box.height()) or px <= 8:
            return f
        px *= 0.92


# (text, pixel size, fits) of every text of the last full paint: what the screenshot
# checks read to find clipped or too small Chinese text.
DRAWN: list[tuple[str, int, bool]] = []


def common_px(p: QPainter, items: list[tuple[str, QRectF, float, bool]], cap: float) -> float:
    """One size for texts shown side by side: the smallest that each fits its box in."""
    sizes = [fit_font(p.font(), t, b, m, bold).pixelSize() for t, b, m, bold in items]
    return float(min([cap, *sizes]))


def draw_text(p: QPainter, box: QRectF, text: str, color: str, max_px: float,
              bold: bool = False, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> None:
    f = fit_font(p.font(), text, box, max_px, bold)
    DRAWN.append((text, f.pixelSize(),
                  QFontMetricsF(f).horizontalAdvance(text) <= box.width() + 0.5))
    p.setFont(f)
    p.setPen(QColor(color))
    p.drawText(box, int(align | Qt.AlignmentFlag.AlignVCenter), text)


def counter_lines(n: int) -> int:
    """Lines of window chips on the hall board: a big hall's windows wrap, not shrink."""
    return 1 if n <= 8 else 2 if n <= 16 else 3


class Board(QWidget):
    painted = Signal(float)  # time.monotonic() when a paint finished (for the benchmark)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.setMinimumSize(320, 180)
        self.dirty = QRectF()
        self.painted_view: object = None  # the view of the last paint
        self.paint_s = 0.0

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.monotonic()
        self.dirty = QRectF(event.rect())
        if self.dirty.contains(QRectF(self.rect())):
            DRAWN.clear()
        self.painted_view = getattr(self, "view", None)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.fillRect(self.rect(), QColor(BG))
        self.draw(p, QRectF(self.rect()))
        p.end()
        done = time.monotonic()
        self.paint_s = done - started  # how long the last paint took
        self.painted.emit(done)

    def draw(self, p: QPainter, r: QRectF) -> None:
        raise NotImplementedError

    @staticmethod
    def offline_badge(p: QPainter, r: QRectF) -> None:
        h = max(r.height() * 0.06, 36.0)  # readable for staff on a strip-shaped board too
        box = QRectF(r.right() - max(r.width() * 0.21, h * 7) - 4, r.top() + 4,
                     max(r.width() * 0.21, h * 7), h)
        p.fillRect(box, QColor("#b3261e"))
        draw_text(p, box, "网络中断 正在重连", WHITE, box.height() * 0.7, True)


class WindowBoard(Board):
    """窗口屏: counter name, the number being served, 暂停服务 or 欢迎光临."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: WindowView | None = None

    def set_view(self, view: WindowView) -> None:
        if view != self.view:
            self.view = view
            self.update()

    def draw(self, p: QPainter, r: QRectF) -> None:
        v = self.view
        if v is None:
            return
        w, h = r.width(), r.height()
        band = QRectF(0, 0, w, h * 0.2)
        p.fillRect(band, QColor(BAND))
        draw_text(p, band.adjusted(w * 0.03, 0, -w * 0.03, 0), v.counter_name, WHITE, h * 0.15,
                  True)
        main = QRectF(w * 0.04, h * 0.22, w * 0.92, h * 0.52)
        color = {"calling": YELLOW, "serving": YELLOW, "paused": RED, "closed": RED}.get(
            v.mode, WHITE)
        if v.highlight:
            p.fillRect(main.adjusted(-w * 0.02, 0, w * 0.02, 0), QColor(FLASH_BG))
            color = FLASH_FG
        draw_text(p, main, v.headline, color, h * 0.45, True)
        draw_text(p, QRectF(w * 0.04, h * 0.76, w * 0.92, h * 0.2), v.detail, WHITE, h * 0.11)
        if v.offline:
            self.offline_badge(p, r)


class HallBoard(Board):
    """综合屏: the last calls (the newest flashing), waiting per service, counters, a notice."""

    def __init__(self, notice_speed: float = 90.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: HallView | None = None
        self.clock = ""
        self.notice_speed = notice_speed
        self._t0 = time.monotonic()
        self.ticker = QTimer(self)  # the notice scrolls: ~30 frames a second
        self.ticker.timeout.connect(self._scroll)
        self.ticker.start(33)

    def set_view(self, view: HallView, clock: str = "") -> None:
        if view != self.view or clock != self.clock:
            self.view, self.clock = view, clock
            self.update()

    def notice_from_start(self) -> None:
        """Put the notice's start at the left edge (for a still picture)."""
        self._t0 = time.monotonic() - self.width() * 0.97 / self.notice_speed

    def _scroll(self) -> None:
        if self.view is not None and self.view.notice:
            self.update(self._notice_rect().toRect())

    def _notice_rect(self) -> QRectF:
        w, h = self.width(), self.height()
        return QRectF(0, h * 0.92, w, h * 0.08)

    def draw(self, p: QPainter, r: QRectF) -> None:
        v = self.view
        if v is None:
            return
        if self._notice_rect().contains(self.dirty):  # a scroll step: redraw only the notice
            self._draw_notice(p, self._notice_rect(), v.notice)
            return
        w, h = r.width(), r.height()
        portrait = h > w
        # One scale for all text caps: 1.0 on a 1920x1080 (or 1080x1920) screen.
        u = min(w / 1080, h / 1920) if portrait else min(w / 1920, h / 1080)
        bar = QRectF(0, 0, w, h * (0.07 if portrait else 0.1))
        p.fillRect(bar, QColor(BAND))
        draw_text(p, QRectF(w * 0.02, 0, w * 0.62, bar.height()), v.title, WHITE, 70 * u,
                  True, Qt.AlignmentFlag.AlignLeft)
        draw_text(p, QRectF(w * 0.66, 0, w * 0.32, bar.height()), self.clock, WHITE, 54 * u,
                  False, Qt.AlignmentFlag.AlignRight)
        lines = counter_lines(len(v.counters))
        if portrait:  # calls on top, services under them, both full width
            strip = h * (0.09 + 0.06 * (lines - 1))
            calls = QRectF(w * 0.03, h * 0.08, w * 0.94, h * 0.44)
            services = QRectF(w * 0.03, h * 0.53, w * 0.94, h * 0.9 - strip - h * 0.54)
            counters = QRectF(w * 0.03, h * 0.91 - strip, w * 0.94, strip)
        else:
            strip = h * (0.1 + 0.07 * (lines - 1))
            calls = QRectF(w * 0.02, h * 0.12, w * 0.5, h * 0.78 - strip)
            services = QRectF(w * 0.54, h * 0.12, w * 0.44, h * 0.78 - strip)
            counters = QRectF(w * 0.02, h * 0.91 - strip, w * 0.96, strip)
        self._draw_calls(p, calls, v, u)
        self._draw_services(p, services, v, u)
        self._draw_counters(p, counters, v)
        self._draw_notice(p, self._notice_rect(), v.notice)
        if v.offline:
            self.offline_badge(p, r)

    def _draw_calls(self, p: QPainter, box: QRectF, v: HallView, u: float) -> None:
        p.fillRect(box, QColor(PANEL))
        head = QRectF(box.left(), box.top(), box.width(), min(box.height() * 0.12, 80 * u))
        draw_text(p, head, "叫号信息", GREY, 50 * u, True)
        if not v.calls:
            draw_text(p, box.adjusted(0, head.height(), 0, 0), "请留意叫号", GREY, 60 * u)
            return
        rest = max(5, len(v.calls) - 1)
        body = box.height() - head.height()
        first_h = min(body * 0.3, 230 * u)
        # Rows never get too small to read from afar: a small screen lists fewer calls.
        rest_h = min(max((body - first_h) / rest, 48.0, 70 * u), 110 * u)
        pad = box.width() * 0.04
        num_w, text_x = box.width() * 0.38, box.width() * 0.44

        def cells(row_i: int, y: float, rh: float) -> tuple[QRectF, QRectF]:
            return (QRectF(box.left() + pad, y, num_w, rh),
                    QRectF(box.left() + text_x, y, box.width() - text_x - pad, rh))

        # The older calls share one size (the smallest that fits all of them): a list
        # whose rows change size with their text is hard to read.
        ys, y = [], head.bottom()
        for i in range(len(v.calls)):
            ys.append(y)
            y += first_h if i == 0 else rest_h
        fits = sum(1 for y in ys if y + rest_h <= box.bottom() + 1)
        older = v.calls[1:fits]
        num_px = common_px(p, [(c.number, cells(i + 1, ys[i + 1], rest_h)[0], rest_h * 0.7,
                                True) for i, c in enumerate(older)], rest_h * 0.7)
        txt_px = common_px(p, [(f"请到 {c.counter_name}", cells(i + 1, ys[i + 1], rest_h)[1],
                                rest_h * 0.5, False) for i, c in enumerate(older)],
                           rest_h * 0.5)
        for i, row in enumerate(v.calls):
            rh = first_h if i == 0 else rest_h
            if ys[i] + rh > box.bottom() + 1:
                break
            line = QRectF(box.left(), ys[i], box.width(), rh)
            fg_num, fg_text = YELLOW, WHITE
            if row.highlight:
                p.fillRect(line.adjusted(4, 4, -4, -4), QColor(FLASH_BG))
                fg_num = fg_text = FLASH_FG
            num_box, text_box = cells(i, ys[i], rh)
            draw_text(p, num_box, row.number, fg_num, rh * 0.7 if i == 0 else num_px, True,
                      Qt.AlignmentFlag.AlignLeft)
            draw_text(p, text_box, f"请到 {row.counter_name}", fg_text,
                      rh * 0.5 if i == 0 else txt_px, i == 0, Qt.AlignmentFlag.AlignLeft)

    def _draw_services(self, p: QPainter, box: QRectF, v: HallView, u: float) -> None:
        p.fillRect(box, QColor(PANEL))
        head_h = min(box.height() * 0.16, 80 * u)
        cols = (0.04, 0.48, 0.66)  # 业务, 等候, 预计等候
        widths = (0.42, 0.16, 0.32)
        n = max(len(v.services), 4)
        rh = min((box.height() - head_h) / n, 100 * u)

        def boxes(y: float, h: float) -> list[QRectF]:
            return [QRectF(box.left() + box.width() * x, y, box.width() * cw, h)
                    for x, cw in zip(cols, widths, strict=True)]

        head = ("业务", "等候", "预计等候")
        hpx = common_px(p, [(t, b, 50 * u, True) for t, b in zip(head, boxes(box.top(), head_h),
                                                                  strict=True)], 50 * u)
        for t, b in zip(head, boxes(box.top(), head_h), strict=True):
            draw_text(p, b, t, GREY, hpx, True, Qt.AlignmentFlag.AlignLeft)
        rows = [(f"{s.code} {s.name}", f"{s.waiting}人", s.wait_text) for s in v.services]
        y0 = box.top() + head_h
        px = common_px(p, [(t, b, rh * 0.55, False) for i, texts in enumerate(rows)
                           for t, b in zip(texts, boxes(y0 + i * rh, rh), strict=True)],
                       rh * 0.55)
        for i, (s, texts) in enumerate(zip(v.services, rows, strict=True)):
            color = WHITE if s.open else GREY
            colors = (color, YELLOW if s.open else GREY, color)
            for t, b, c in zip(texts, boxes(y0 + i * rh, rh), colors, strict=True):
                draw_text(p, b, t, c, px, False, Qt.AlignmentFlag.AlignLeft)

    def _draw_counters(self, p: QPainter, box: QRectF, v: HallView) -> None:
        n = len(v.counters)
        if not n:
            return
        lines = counter_lines(n)
        per_line = math.ceil(n / lines)
        gap = box.width() * 0.008
        cw = (box.width() - gap * (per_line - 1)) / per_line
        lh = box.height() / lines
        chips = [(chip, QRectF(box.left() + (i % per_line) * (cw + gap),
                               box.top() + (i // per_line) * lh, cw, lh - (2 if lines > 1 else 0)))
                 for i, chip in enumerate(v.counters)]

        def parts(r: QRectF) -> tuple[QRectF, QRectF]:
            return (QRectF(r.left() + 4, r.top(), r.width() - 8, r.height() * 0.45),
                    QRectF(r.left() + 4, r.top() + r.height() * 0.45, r.width() - 8,
                           r.height() * 0.55))

        name_px = common_px(p, [(c.name, parts(r)[0], parts(r)[0].height() * 0.8, False)
                                for c, r in chips], lh)
        text_px = common_px(p, [(c.text, parts(r)[1], parts(r)[1].height() * 0.8, True)
                                for c, r in chips], lh)
        for chip, r in chips:
            p.fillRect(r, QColor(PANEL))
            top, bot = parts(r)
            draw_text(p, top, chip.name, GREY, name_px)
            draw_text(p, bot, chip.text, RED if chip.paused else YELLOW, text_px, True)

    def _draw_notice(self, p: QPainter, box: QRectF, notice: str) -> None:
        p.fillRect(box, QColor("#06152b"))
        if not notice:
            return
        f = QFont(p.font())
        f.setPixelSize(int(box.height() * 0.6))
        p.setFont(f)
        p.setPen(QColor(WHITE))
        text_w = QFontMetricsF(f).horizontalAdvance(notice)
        span = box.width() + text_w
        x = box.right() - ((time.monotonic() - self._t0) * self.notice_speed) % span
        p.setClipRect(box)
        p.drawText(QRectF(x, box.top(), text_w + 10, box.height()),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), notice)
        p.setClipping(False)
