"""One Qt widget per kiosk screen, built from the state machine's screen and context.

A widget only draws a screen and turns touches into events (`ui.send(Touch(...))`); it
holds no state of its own, so a new page is simply a new widget. Other flows add their
pages with `@register_widget(TheirScreen)`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.theme import Theme
from ui.widgets import label

from . import machine as m

# ------------------------------------------------------------------------ registry


@dataclass
class Ui:
    """What a widget factory gets besides its screen."""

    theme: Theme
    ctx: m.Context
    send: Callable[[m.Event], None]
    hall_name: str
    qr_base: str
    portrait: bool
    camera: Callable[[], Any] | None = None  # a still from the camera (filing viewfinder)


WidgetFactory = Callable[[Any, Ui], QWidget]
WIDGETS: dict[type, WidgetFactory] = {}


def register_widget(screen_type: type) -> Callable[[WidgetFactory], WidgetFactory]:
    def deco(fn: WidgetFactory) -> WidgetFactory:
        WIDGETS[screen_type] = fn
        return fn
    return deco


def build(screen: m.Screen, ui: Ui) -> QWidget:
    for cls in type(screen).__mro__:
        if cls in WIDGETS:
            return WIDGETS[cls](screen, ui)
    return message_page(ui, type(screen).__name__, "请返回首页。")


# ------------------------------------------------------------------------ pieces


def button(text: str, on_click: Callable[[], None], *, secondary: bool = False,
           name: str = "", big: bool = False, theme: Theme | None = None) -> QPushButton:
    b = QPushButton(text)
    if secondary:
        b.setProperty("role", "secondary")
    if name:
        b.setObjectName(name)
    if big and theme is not None:
        b.setMinimumHeight(theme.touch_px + 40)
        b.setStyleSheet(f"font-size: {theme.title_px}px;")
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    b.clicked.connect(on_click)
    return b


def touch(ui: Ui, action: str, arg: str = "") -> Callable[[], None]:
    return lambda: ui.send(m.Touch(action, arg))


def page(ui: Ui, title: str) -> tuple[QWidget, QVBoxLayout]:
    w = QWidget()
    lay = QVBoxLayout(w)
    lay.setContentsMargins(32, 24, 32, 24)
    lay.setSpacing(20 if not ui.theme.elder else 28)
    if title:
        lay.addWidget(label(title, "title", center=True))
    return w, lay


def message_page(ui: Ui, title: str, text: str, *, color: str | None = None) -> QWidget:
    w, lay = page(ui, title)
    lay.addStretch(1)
    lay.addWidget(label(text, size=ui.theme.title_px - 4, color=color, center=True))
    lay.addStretch(2)
    return w


def qr_pixmap(content: str, size: int) -> QPixmap:
    qr = segno.make(content, error="m")
    pm = QPixmap()
    out = io.BytesIO()
    qr.save(out, kind="png", scale=max(1, size // qr.symbol_size(border=2)[0]), border=2)
    pm.loadFromData(out.getvalue(), "PNG")
    return pm


def wait_text(ticket: dict[str, Any]) -> str:
    ahead = int(ticket.get("ahead") or 0)
    minutes = (int(ticket.get("est_wait_s") or 0) + 59) // 60
    text = f"前面还有 {ahead} 人"
    if ahead and minutes:
        text += f"，约 {minutes} 分钟"
    return text


def ticket_qr_content(ticket: dict[str, Any], qr_base: str) -> str:
    from urllib.parse import urljoin

    base = urljoin(qr_base, ticket["qr_url"]) if ticket.get("qr_url") else qr_base
    return base + str(ticket.get("code") or "")


# ------------------------------------------------------------------------ home


class ServiceTile(QPushButton):
    """One big button per service: letter and name, 等候 N 人, 约 M 分钟 (or closed + hours)."""

    def __init__(self, svc: m.ServiceInfo, ui: Ui) -> None:
        super().__init__()
        t = ui.theme
        self.setObjectName(f"service-{svc.code}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 14, 20, 14)
        lay.setSpacing(10)
        lay.addStretch(1)
        fg = t.on_primary if svc.open else t.text
        head = label(f"{svc.code}  {svc.name}", size=t.title_px, bold=True, color=fg)
        lay.addWidget(head)
        if svc.open:
            line = f"等候 {svc.waiting} 人"
            if svc.waiting and svc.est_minutes:
                line += f" · 约 {svc.est_minutes} 分钟"
        else:
            line = "暂停取号" + (f" · 办理时间 {svc.hours}" if svc.hours else "")
        lay.addWidget(label(line, size=t.text_px + 4, color=fg))
        lay.addStretch(1)
        for child in self.findChildren(QLabel):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            child.setStyleSheet(child.styleSheet() + " background: transparent;")
        self.setMinimumHeight(t.touch_px + (80 if t.elder else 56))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        if not svc.open:
            self.setStyleSheet(f"QPushButton {{ background: {t.surface}; color: {t.text};"
                               f" border: 2px dashed {t.muted}; }}")
        self.clicked.connect(touch(ui, "service", svc.code))


def grid_columns(n: int, *, elder: bool, portrait: bool) -> int:
    """Few services: wide tiles (elder mode: one column upright); many: more columns, so
    the page never grows past the screen."""
    if portrait:
        return (1 if n <= 5 else 2) if elder else (2 if n <= 10 else 3)
    return (2 if n <= 6 else 3) if elder else (3 if n <= 9 else 4)


def service_grid(ui: Ui, services: list[m.ServiceInfo]) -> QWidget:
    w = QWidget()
    grid = QGridLayout(w)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setSpacing(18)
    cols = grid_columns(len(services), elder=ui.theme.elder, portrait=ui.portrait)
    for i, svc in enumerate(services):
        grid.addWidget(ServiceTile(svc, ui), i // cols, i % cols)
    return w


@register_widget(m.Home)
def home_page(screen: m.Home, ui: Ui) -> QWidget:
    w, lay = page(ui, "")
    lay.addWidget(label("请选择业务取号，或刷身份证取号", size=ui.theme.title_px, bold=True,
                        center=True))
    hints = []
    if ui.ctx.device_ok("idcard"):
        hints.append("老年人刷身份证自动进入绿色通道")
    if hints and not ui.theme.elder:
        lay.addWidget(label(" · ".join(hints), "muted", center=True))
    lay.addWidget(service_grid(ui, list(ui.ctx.services.values())), 1)
    row = QHBoxLayout()
    row.setSpacing(18)
    for action, entry in sorted(m.ENTRIES.items(), key=lambda kv: kv[1].order):
        row.addWidget(button(entry.label, touch(ui, action), secondary=True, name=action,
                             big=True, theme=ui.theme))
    lay.addLayout(row)
    return w


@register_widget(m.ChooseService)
def choose_page(screen: m.ChooseService, ui: Ui) -> QWidget:
    card = ui.ctx.card
    who = f"{card.masked_name}，您好" if card else "您好"
    w, lay = page(ui, who)
    lay.addWidget(label("已读取您的身份证，请选择要办理的业务", center=True))
    if ui.ctx.elder:
        lay.addWidget(label("已为您开启长辈模式", center=True, color=ui.theme.ok))
    lay.addWidget(service_grid(ui, list(ui.ctx.services.values())), 1)
    return w


@register_widget(m.Busy)
def busy_page(screen: m.Busy, ui: Ui) -> QWidget:
    if screen.offline:
        return message_page(
            ui, "网络异常",
            "网络异常，请稍候或到导服台取号。\n您的请求已保存，网络恢复后会自动出票，不会重复取号。",
            color=ui.theme.accent)
    return message_page(ui, "", screen.text)


# ------------------------------------------------------------------------ tickets


@register_widget(m.TicketShown)
def ticket_page(screen: m.TicketShown, ui: Ui) -> QWidget:
    t, th = screen.ticket, ui.theme
    title = "取号成功"
    if screen.status == "failed":
        title = "已取号，号票未打印"
    elif screen.reprint:
        title = "补打号票"
    elif screen.late:
        title = "网络恢复，为您补出号票"
    w, lay = page(ui, title)
    lay.addStretch(1)
    main = QVBoxLayout()  # the number; beside it (landscape) or below, the printer warning
    main.addWidget(label(str(t.get("service_name") or ""), size=th.title_px, center=True))
    number = label(str(t.get("number") or ""), size=180 if th.elder else 150, bold=True,
                   center=True, color=th.primary)
    number.setObjectName("ticket-number")
    main.addWidget(number)
    if t.get("priority"):
        kind = "预约" if t.get("appointment") else "绿色通道"
        main.addWidget(label(f"{kind} · 优先办理", center=True, color=th.ok, bold=True))
    main.addWidget(label(wait_text(t), size=th.title_px - 4, center=True))
    if screen.status == "printing":
        main.addWidget(label("正在打印号票…", center=True))
    elif screen.status == "printed":
        main.addWidget(label("请取走号票，留意叫号屏幕和广播", center=True, color=th.ok))
    if screen.status != "failed":
        lay.addLayout(main)
    else:
        side = QVBoxLayout()
        why = {"paper_out": "打印机缺纸"}.get(screen.problem, "打印机暂时故障")
        warn = label(f"{why}，号票没有打印出来。\n请拍下本页号码和二维码，到导服台出示。"
                     "\n您的号已取好，不会作废。", size=th.title_px - 6, center=True,
                     color=th.accent, bold=True)
        warn.setObjectName("print-failed")
        side.addWidget(warn)
        qr = QLabel()
        qr.setObjectName("ticket-qr")
        qr.setPixmap(qr_pixmap(ticket_qr_content(t, ui.qr_base), 300))
        qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        side.addWidget(qr)
        if ui.portrait:
            lay.addLayout(main)
            lay.addLayout(side)
        else:
            row = QHBoxLayout()
            row.addLayout(main, 1)
            row.addLayout(side, 1)
            lay.addLayout(row)
    lay.addStretch(1)
    lay.addWidget(button("完成", touch(ui, "done"), name="done", big=True, theme=th))
    return w


@register_widget(m.Duplicate)
def duplicate_page(screen: m.Duplicate, ui: Ui) -> QWidget:
    t, th = screen.ticket, ui.theme
    w, lay = page(ui, "您已取过号")
    lay.addStretch(1)
    lay.addWidget(label(f"您已有{t.get('service_name') or ''}的号，正在等候中，无需重复取号。",
                        size=th.title_px - 4, center=True))
    lay.addWidget(label(str(t.get("number") or ""), size=120, bold=True, center=True,
                        color=th.primary))
    lay.addWidget(label(wait_text(t), center=True))
    lay.addStretch(1)
    lay.addWidget(button("补打号票", touch(ui, "reprint"), name="reprint", big=True, theme=th))
    return w


# ------------------------------------------------------------------------ check-in, lookup


@register_widget(m.CheckinScan)
def checkin_page(screen: m.CheckinScan, ui: Ui) -> QWidget:
    ok = ui.ctx.device_ok("scanner") or ui.ctx.device_ok("camera")
    text = ("请打开预约短信或“预约凭证”中的二维码，\n对准下方扫描口" if ok else
            "扫码器暂不可用，预约签到请到导服台办理。")
    return message_page(ui, "预约签到", text, color=None if ok else ui.theme.accent)


KEYS_DIGITS = "1234567890"


@register_widget(m.LookupInput)
def lookup_page(screen: m.LookupInput, ui: Ui) -> QWidget:
    th = ui.theme
    w, lay = page(ui, "查询号票")
    lay.addWidget(label("扫描号票上的二维码，或输入号票上的号码", center=True))
    entry = QVBoxLayout()  # the typed number and its buttons; the keypad below or beside
    shown = label(screen.typed or "—", size=96, bold=True, center=True, color=th.primary)
    shown.setObjectName("typed")
    entry.addWidget(shown)
    grid = QGridLayout()
    grid.setSpacing(12)
    letters = list(ui.ctx.services)
    cols = 5
    for i, ch in enumerate(letters):
        grid.addWidget(button(ch, touch(ui, "key", ch), secondary=True, name=f"key-{ch}",
                              big=True, theme=th),
                       0 + i // cols, i % cols)
    base = (len(letters) + cols - 1) // cols
    for i, ch in enumerate(KEYS_DIGITS):
        grid.addWidget(button(ch, touch(ui, "key", ch), name=f"key-{ch}", big=True, theme=th),
                       base + i // cols, i % cols)
    row = QHBoxLayout()
    row.addWidget(button("删除", touch(ui, "backspace"), secondary=True, name="backspace",
                         big=True, theme=th))
    row.addWidget(button("查询", touch(ui, "submit"), name="submit", big=True, theme=th))
    if ui.portrait:
        lay.addLayout(entry)
        lay.addLayout(grid)
        lay.addLayout(row)
    else:
        entry.addLayout(row)
        side = QHBoxLayout()
        side.addLayout(entry, 2)
        side.addLayout(grid, 3)
        lay.addLayout(side)
    lay.addStretch(1)
    return w


STATUS_TEXT = {
    "waiting": "等候中", "called": "正在叫号", "serving": "正在办理", "done": "已办结",
    "no_show": "已过号", "transferred": "已转窗口",
}


@register_widget(m.LookupResult)
def lookup_result_page(screen: m.LookupResult, ui: Ui) -> QWidget:
    t, th = screen.ticket, ui.theme
    w, lay = page(ui, "查询结果")
    lay.addStretch(1)
    lay.addWidget(label(f"{t.get('number', '')}  {t.get('service_name', '')}", size=80,
                        bold=True, center=True, color=th.primary))
    status = str(t.get("status") or "")
    lay.addWidget(label(STATUS_TEXT.get(status, status), size=th.title_px, center=True))
    if status == "waiting":
        lay.addWidget(label(wait_text(t), size=th.title_px, center=True, bold=True))
    elif status in ("called", "serving") and t.get("counter_name"):
        lay.addWidget(label(f"请到{t['counter_name']}办理", size=th.title_px, center=True,
                            color=th.accent, bold=True))
    elif status == "no_show":
        lay.addWidget(label("您的号已过号，请到导服台或原窗口说明，工作人员可为您重新排队。",
                            center=True))
    lay.addStretch(2)
    return w


# ------------------------------------------------------------------------ errors, staff


@register_widget(m.ErrorShown)
def error_page(screen: m.ErrorShown, ui: Ui) -> QWidget:
    th = ui.theme
    w, lay = page(ui, screen.title)
    lay.addStretch(1)
    msg = label(screen.message, size=th.title_px - 4, center=True)
    msg.setObjectName("error-message")
    lay.addWidget(msg)
    lay.addStretch(2)
    if screen.back is not None:
        lay.addWidget(button("返回重试", touch(ui, "back"), name="back", big=True, theme=th))
    return w


@register_widget(m.StaffCalled)
def staff_page(screen: m.StaffCalled, ui: Ui) -> QWidget:
    w = message_page(ui, "已呼叫工作人员", "工作人员马上过来，请在本机旁稍候。")
    lay = w.layout()
    assert isinstance(lay, QVBoxLayout)
    lay.addWidget(button("取消呼叫", touch(ui, "cancel_assist"), secondary=True,
                         name="cancel_assist", big=True, theme=ui.theme))
    return w


@register_widget(m.Placeholder)
def placeholder_page(screen: m.Placeholder, ui: Ui) -> QWidget:
    return message_page(ui, screen.title, screen.message)
