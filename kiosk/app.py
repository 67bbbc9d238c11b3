"""The kiosk window and the controller that runs the state machine's effects.

The controller is the only place where events meet I/O: MQTT (HallLink), the devices
(on their threads, as signals), the durable outbox and a one-second timer whose ticks
drive every page's countdown.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from queue_server.client import new_request_id
from queue_server.config import Hall
from ui.collector import GuiCollector
from ui.link import HallLink
from ui.theme import Theme

from . import machine as m
from .hardware import Devices
from .outbox import Outbox
from .screens import Ui, build

log = logging.getLogger(__name__)

BANNER_OFFLINE = "网络异常，请稍候或到导服台取号"
PRINTER_PAPER_OUT = "打印机缺纸，号码将显示在屏幕上，请拍照后到导服台领取号票"
PRINTER_DOWN = "打印机暂不可用，号码将显示在屏幕上，请拍照后到导服台领取号票"
KIOSK_EXTRA_STYLE = """
QPushButton#elder, QPushButton#assist {{ min-width: 200px; }}
QWidget#topbar, QWidget#bottombar {{ background: {surface}; }}
QWidget#topbar QLabel, QWidget#bottombar QLabel {{ background: transparent; }}
QLabel#countdown {{ color: {text}; font-size: {text_px}px; font-weight: bold; }}
"""


# Effects other flows add (kiosk.filing: capture, receipt and guide printing), by type.
EFFECT_RUNNERS: dict[type, Any] = {}
# Ops whose unanswered requests mean nothing after a restart (kiosk.filing: "upload").
FORGET_AT_START: set[str] = set()

TICKET_OPS = ("issue", "checkin", "filing_ticket")
FILING_OPS = ("file", "filing_supplement")


def outbox_banner(outbox: Outbox) -> list[str]:
    """What the offline banner says is kept: numbers and filings (a filing's page uploads
    are part of it, not requests of their own)."""
    parts = []
    tickets, filings = outbox.count(TICKET_OPS), outbox.count(FILING_OPS)
    if tickets:
        parts.append(f"{tickets} 个取号请求已保存，恢复后自动完成")
    if filings:
        parts.append(f"{filings} 份申报已保存，恢复后自动提交")
    return parts


class KioskWindow(QWidget):
    """A frame (top bar, banner, page, countdown bar) around the current screen's widget."""

    def __init__(self, hall_name: str, send: Any) -> None:
        super().__init__()
        self.setWindowTitle(f"{hall_name} 自助取号")
        self.hall_name = hall_name
        self.send = send
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        self.topbar = QWidget(objectName="topbar")
        top = QHBoxLayout(self.topbar)
        top.setContentsMargins(24, 12, 24, 12)
        self.title = QLabel(hall_name)
        self.title.setProperty("role", "title")
        top.addWidget(self.title, 1)
        self.elder_btn = QPushButton("长辈模式", objectName="elder")
        self.elder_btn.clicked.connect(lambda: self.send(m.Touch("elder")))
        top.addWidget(self.elder_btn)
        self.assist_btn = QPushButton("呼叫工作人员", objectName="assist")
        self.assist_btn.clicked.connect(lambda: self.send(m.Touch("assist")))
        top.addWidget(self.assist_btn)
        outer.addWidget(self.topbar)

        self.banner = QLabel("", objectName="banner")
        self.banner.setProperty("role", "banner")
        self.banner.setWordWrap(True)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        outer.addWidget(self.banner)

        self.body = QVBoxLayout()
        outer.addLayout(self.body, 1)
        self.page: QWidget | None = None
        self._graveyard: list[QWidget] = []

        self.bottombar = QWidget(objectName="bottombar")
        bottom = QHBoxLayout(self.bottombar)
        bottom.setContentsMargins(24, 12, 24, 12)
        self.countdown = QLabel("", objectName="countdown")
        bottom.addWidget(self.countdown, 1)
        extend = QPushButton("延长", objectName="extend")
        extend.setProperty("role", "secondary")
        extend.clicked.connect(lambda: self.send(m.Touch("extend")))
        bottom.addWidget(extend)
        home = QPushButton("返回首页", objectName="home")
        home.clicked.connect(lambda: self.send(m.Touch("home")))
        bottom.addWidget(home)
        outer.addWidget(self.bottombar)
        self.theme: Theme | None = None
        self.on_resize: Any = None
        self._portrait: bool | None = None

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        portrait = self.height() >= self.width()
        if portrait != self._portrait:
            self._portrait = portrait
            if self.on_resize is not None:
                self.on_resize()

    def apply_theme(self, theme: Theme) -> None:
        if theme == self.theme:
            return
        self.theme = theme
        extra = KIOSK_EXTRA_STYLE.format(surface=theme.surface, text=theme.text,
                                         text_px=theme.text_px)
        self.setStyleSheet(theme.stylesheet() + extra)
        self.elder_btn.setText("退出长辈模式" if theme.elder else "长辈模式")

    def show_page(self, widget: QWidget) -> None:
        if self.page is not None:
            self.body.removeWidget(self.page)
            self.page.hide()
            # Out of the window at once (findChild, grabs), deleted by Qt on this thread: a
            # Python-owned widget left to the garbage collector could be freed on paho's
            # thread, which crashes Qt.
            self.page.setParent(None)
            self.page.deleteLater()
            self._graveyard.append(self.page)
            del self._graveyard[:-4]  # nothing of the last resident stays on screen
        self.page = widget
        self.body.addWidget(widget)
        widget.show()

    def set_countdown(self, timed: bool, remaining: float) -> None:
        self.bottombar.setVisible(timed)
        if timed:
            self.countdown.setText(f"{max(0, int(remaining + 0.999))} 秒后返回首页")

    def set_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))


class KioskController(QObject):
    def __init__(self, hall: Hall, device: str, link: HallLink, outbox: Outbox,
                 devices: Devices, *, qr_base: str, request_timeout: float = 10.0,
                 retry_every_s: float = 5.0) -> None:
        super().__init__()
        self.hall, self.device, self.link = hall, device, link
        self.outbox, self.devices = outbox, devices
        self.qr_base = qr_base
        self.request_timeout = request_timeout
        settings = m.Settings(hall.kiosk.page_timeout_s, hall.kiosk.elder_page_timeout_s,
                              hall.elder_age)
        self.machine = m.Kiosk(settings, lambda: new_request_id(device))
        self.known = {s.code: s.name for s in hall.services}
        self.machine.ctx.services = m.services_from_state({}, f"qms/{hall.id}", self.known)
        self.machine.ctx.hall_id = hall.id
        self.window = KioskWindow(hall.name, self.dispatch)
        self.window.on_resize = self.relayout
        self._inflight: set[str] = set()
        self._ops: dict[str, str] = {}
        self._broker_up = False
        self._server_up = True
        self._answering = True  # False after a request went unanswered, until a reply comes
        self._status: dict[str, dict[str, Any]] = {}
        self._rendered: tuple[Any, ...] = ()
        self._home_dirty = False
        self.ready_at: float | None = None
        self._closed = False
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(1000)
        self.tick_timer.timeout.connect(lambda: self.dispatch(m.Tick(1.0)))
        self.retry_timer = QTimer(self)
        self.retry_timer.setInterval(int(retry_every_s * 1000))
        self.retry_timer.timeout.connect(self.resend_outbox)
        self.printer_timer = QTimer(self)  # staff see a printer that died while idle
        self.printer_timer.setInterval(60_000)
        self.printer_timer.timeout.connect(self.devices.query_printer)
        # a Qt widget freed by a collection on paho's or a device's thread crashes Qt
        self.collector = GuiCollector(self)
        self.home_timer = QTimer(self)  # coalesce bursts of state updates into one redraw
        self.home_timer.setSingleShot(True)
        self.home_timer.setInterval(200)
        self.home_timer.timeout.connect(self._refresh_services)

    # ---------------------------------------------------------------- start / stop

    def start(self) -> None:
        lk = self.link
        lk.connection_changed.connect(self._on_connection)
        lk.message.connect(self._on_message)
        lk.replied.connect(self._on_replied)
        lk.watch(f"qms/{self.hall.id}/state/service/+")
        lk.watch(f"qms/{self.hall.id}/status/server")
        d = self.devices
        d.card.connect(lambda info: self.dispatch(m.CardRead(info)))
        d.scan.connect(lambda data: self.dispatch(m.Scanned(data)))
        d.status.connect(lambda dev, ok, msg: self.dispatch(m.DeviceChanged(dev, ok, msg)))
        d.card_error.connect(lambda msg: self.dispatch(m.DeviceChanged("idcard", False, msg)))
        d.printed.connect(self._on_printed)
        self.collector.start()
        self.tick_timer.start()
        self.retry_timer.start()
        self.printer_timer.start()
        self._render(force=True)
        lk.start()
        d.start()
        d.query_printer()
        for intent in self.outbox.pending():
            if intent.op in FORGET_AT_START:
                # e.g. a form's page uploads: the form died with the last run, so no
                # filing will ever take them; they hold personal data
                log.info("outbox: dropping %s %s left by a form that is gone", intent.op,
                         intent.request_id)
                self.outbox.remove(intent.request_id)
        pending = self.outbox.pending()
        if pending:
            log.info("outbox: %d unanswered request(s) from before; sending again", len(pending))
        self.resend_outbox()

    def close(self) -> None:
        self._closed = True
        self.tick_timer.stop()
        self.home_timer.stop()
        self.printer_timer.stop()
        self.retry_timer.stop()
        self.devices.stop()
        self.link.close()
        self.outbox.close()
        self.collector.stop()

    # ---------------------------------------------------------------- events

    def dispatch(self, event: m.Event) -> None:
        if self._closed:
            return  # a late signal from a device or the link during shutdown
        effects = self.machine.handle(event)
        for effect in effects:
            self._run(effect)
        self._render()

    def _run(self, effect: m.Effect) -> None:
        if isinstance(effect, m.Send):
            log.info("request %s %s", effect.op, effect.request_id)
            if effect.durable:
                self.outbox.add(effect.request_id, effect.op, effect.payload)
            self._send(effect.request_id, effect.op, effect.payload)
        elif isinstance(effect, m.PrintTicket):
            ticket = {"hall_name": self.hall.name, **effect.ticket}
            self.devices.print_ticket(effect.print_id, ticket)
        elif isinstance(effect, m.CallStaff):
            self.publish_status("assist", {"requested": effect.requested,
                                           "page": type(self.machine.screen).__name__})
        elif type(effect) in EFFECT_RUNNERS:
            EFFECT_RUNNERS[type(effect)](self, effect)

    def _send(self, rid: str, op: str, payload: dict[str, Any]) -> None:
        self._inflight.add(rid)
        self._ops[rid] = op
        self.link.request(op, payload, request_id=rid, timeout=self.request_timeout)

    def resend_outbox(self) -> None:
        """Send every unanswered intent again under its own id (applied at most once)."""
        if not self.link.connected:
            return
        today = datetime.now(self.hall.tz).date()
        for intent in self.outbox.pending():
            if datetime.fromtimestamp(intent.created, self.hall.tz).date() != today:
                # Request ids are unique per day only, and the resident left long ago: a
                # ticket issued now would be a ticket for nobody.
                log.warning("outbox: dropping %s %s from a previous day, never answered",
                            intent.op, intent.request_id)
                self.outbox.remove(intent.request_id)
                continue
            if intent.request_id not in self._inflight:
                log.info("outbox: sending %s %s again", intent.op, intent.request_id)
                self._send(intent.request_id, intent.op, intent.payload)

    def _on_replied(self, rid: str, reply: dict[str, Any]) -> None:
        if self._closed:
            return  # unanswered as far as the outbox knows: sent again on the next start
        self._inflight.discard(rid)
        op = self._ops.get(rid, "")
        code = (reply.get("error") or {}).get("code")
        if code == "OFFLINE":
            log.warning("request %s unanswered; kept in the outbox", rid)
            self._answering = False
        else:
            self.outbox.remove(rid)  # answered: the ID number it may hold is gone
            self._ops.pop(rid, None)
            self._answering = True
        self.dispatch(m.Replied(rid, reply, op))
        self.dispatch(m.LinkChanged(self._online()))

    def _on_printed(self, print_id: str, ok: bool, problem: str, paper_low: bool,
                    status: dict[str, Any] | None) -> None:
        if status is not None:
            self.publish_status("printer", status)
        if (not ok and problem == "paper_out") or (status or {}).get("paper") == "out":
            self.dispatch(m.DeviceChanged("printer", False, PRINTER_PAPER_OUT))
        elif not ok:
            self.dispatch(m.DeviceChanged("printer", False, PRINTER_DOWN))
        else:
            self.dispatch(m.DeviceChanged("printer", True, ""))
        if print_id:
            self.dispatch(m.Printed(print_id, ok, problem, paper_low))

    def _on_connection(self, up: bool) -> None:
        if self._closed:
            return
        self._broker_up = up
        if up:
            for part, payload in self._status.items():
                self._publish(part, payload)
            self.resend_outbox()
        self.dispatch(m.LinkChanged(self._online()))

    def _online(self) -> bool:
        return self._broker_up and self._server_up and self._answering

    def _on_message(self, topic: str, payload: Any) -> None:
        if self._closed:
            return
        if topic.endswith("/status/server"):
            self._server_up = payload != "offline"
            if self._server_up:
                self._answering = True  # a (re)started server: give it the benefit of the doubt
            self.dispatch(m.LinkChanged(self._online()))
            if self._server_up:
                self.resend_outbox()
            return
        if "/state/service/" in topic:
            self.home_timer.start()

    def _refresh_services(self) -> None:
        self.machine.ctx.services = m.services_from_state(
            dict(self.link.state), f"qms/{self.hall.id}", self.known)
        self._render()

    # ---------------------------------------------------------------- status topics

    def publish_status(self, part: str, payload: dict[str, Any]) -> None:
        now = datetime.now(self.hall.tz).isoformat(timespec="seconds")
        full = {**payload, "at": now}
        self._status[part] = full
        self._publish(part, full)

    def _publish(self, part: str, payload: dict[str, Any]) -> None:
        if not self.link.connected:
            return  # sent again on (re)connect
        topic = f"qms/{self.hall.id}/status/{self.device}/{part}"
        self.link.client.client.publish(topic, json.dumps(payload, ensure_ascii=False), 1,
                                        retain=True)

    # ---------------------------------------------------------------- drawing

    def _banner(self) -> str:
        ctx = self.machine.ctx
        parts = []
        if not ctx.online:
            parts.append(BANNER_OFFLINE)
        if not ctx.online:
            parts.extend(outbox_banner(self.outbox))
        for dev in ("idcard", "scanner", "printer"):
            ok, msg = ctx.devices.get(dev, (True, ""))
            if not ok and msg:
                parts.append(msg)
        return "；".join(parts)

    def _render(self, force: bool = False) -> None:
        ctx, screen = self.machine.ctx, self.machine.screen
        theme = Theme().elder_mode() if ctx.elder else Theme()
        w = self.window
        portrait = w.height() >= w.width()
        key = (id(screen), screen, ctx.elder, portrait,
               tuple(ctx.services.values()) if isinstance(screen, (m.Home, m.ChooseService))
               else (), tuple(sorted(ctx.devices.items())))
        w.apply_theme(theme)
        w.set_banner(self._banner())
        w.set_countdown(screen.timed, ctx.remaining_s)
        if force or key != self._rendered:
            self._rendered = key
            ui = Ui(theme, ctx, self.dispatch, self.hall.name, self.qr_base, portrait,
                    camera=self.devices.capture_frame)
            w.show_page(build(screen, ui))
            if self.ready_at is None and isinstance(screen, m.Home) and any(
                    s.waiting or s.hours for s in ctx.services.values()):
                self.ready_at = time.monotonic()
                log.info("home screen ready with live service state")

    def relayout(self) -> None:
        """Redraw after a resize (portrait/landscape change the grid)."""
        self._render(force=True)


def assemble(hall: Hall, device: str, password: str, broker: Any, data_dir: Any, *,
             idcard_port: str | None = None, scanner_port: str | None = None,
             camera: int | None = None, camera_dir: str | None = None,
             printer: str | None = None, request_timeout: float = 10.0,
             retry_every_s: float = 5.0) -> KioskController:
    """A kiosk for `device` of `hall`: ports given here override the hall config's; the
    printer's other settings (encoding, paper, QR base) come from the config."""
    from dataclasses import replace

    from devices.printer import PrinterSettings, TicketPrinter
    from devices.printer.settings import DEFAULT_QR_BASE

    dev = hall.device(device)
    if dev is None or dev.role != "kiosk":
        raise ValueError(f"{hall.path} lists no kiosk device {device!r}")
    overrides = {k: v for k, v in (("idcard_port", idcard_port), ("scanner_port", scanner_port),
                                   ("printer", printer), ("camera", camera)) if v is not None}
    dev = replace(dev, **overrides)
    ticket_printer = None
    qr_base = dev.printer_qr_base or DEFAULT_QR_BASE
    if dev.printer:
        settings = PrinterSettings.from_config(dev)  # PrinterConfigError names the key
        ticket_printer = TicketPrinter(settings)
        qr_base = settings.qr_base
    link = HallLink(hall.id, device, password, broker)
    devices = Devices(idcard_port=dev.idcard_port, scanner_port=dev.scanner_port,
                      camera=dev.camera, camera_dir=camera_dir, printer=ticket_printer)
    return KioskController(hall, device, link, Outbox(data_dir), devices, qr_base=qr_base,
                           request_timeout=request_timeout, retry_every_s=retry_every_s)


def keep_none_alive(app: QObject) -> QObject:
    """PySide6 6.12.0 on Python 3.11 loses a reference to None per void Qt call; a kiosk
    makes several every second (the countdown) and hundreds per page, so without this it
    aborts ("none_dealloc") within the hour. The guard is the counter's, shared."""
    from counter.nonefix import NoneGuard

    return NoneGuard(app)


from .filing import install as _install_filing  # noqa: E402  (it registers into the above)

_install_filing(EFFECT_RUNNERS, FORGET_AT_START)
