"""The clerk's terminal window (呼叫器): draws `model.terminal_view` and sends the ops.

All MQTT traffic goes through one HallLink (signals on the GUI thread). The widget
holds no truth of its own: the counter's retained state topic is what it shows; a
reply's `counter` is used at once so the screen does not lag behind the click.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from queue_server.config import Hall
from ui.widgets import label

from . import filingmodel as fm
from . import model
from .filingpanel import FilingPanel, MoveForm, PageViewer
from .model import Choice, IntentGate, TerminalInputs, TerminalView
from .settings import CounterSettings

log = logging.getLogger(__name__)
PAGES_KEPT = 6


class Link(Protocol):
    """What the terminal needs of ui.link.HallLink (a fake in unit tests)."""

    device: str
    connection_changed: Any
    message: Any
    replied: Any
    connected: bool

    def watch(self, topic_filter: str) -> None: ...
    def request(self, op: str, payload: dict[str, Any] | None = None, *,
                request_id: str | None = None, timeout: float = 15.0) -> str: ...


class ChoicePanel(QWidget):
    """A list to choose from (transfer target, no-show to call back, pause reason).

    Keys: 1-9 choose an item at once; ↑/↓ and Enter; Esc cancels."""

    chosen = Signal(object)
    cancelled = Signal()
    entered = Signal(str)  # text typed in the entry line (shown for some lists only)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = label("", "title")
        self.hint = label("按数字键直接选择，或用 ↑↓ 选中后按 Enter 确定；Esc 取消。", "muted")
        self.list = QListWidget()
        self.list.setStyleSheet("QListWidget { font-size: 22px; background: #ffffff; }"
                                " QListWidget::item { padding: 10px; }"
                                " QListWidget::item:selected { background: #0b5cad;"
                                " color: #ffffff; }")
        self.list.itemActivated.connect(lambda _item: self._accept())
        self.empty = label("", size=22)
        self.entry = QLineEdit()  # e.g. a filing number from a receipt
        self.entry.setMinimumHeight(52)
        self.entry.setStyleSheet("font-size: 22px; padding: 4px 8px;")
        self.entry.hide()
        self.entry_error = label("", size=20, bold=True)
        self.entry_error.setStyleSheet("font-size: 20px; font-weight: bold; color: #b3261e;")
        self.entry_error.hide()
        self.ok = QPushButton("Enter  确定")
        self.cancel = QPushButton("Esc  取消")
        self.cancel.setProperty("role", "secondary")
        self.ok.clicked.connect(self._accept)
        self.cancel.clicked.connect(self.cancelled.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel)
        row.addWidget(self.ok)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.hint)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.empty)
        lay.addWidget(self.entry)
        lay.addWidget(self.entry_error)
        lay.addLayout(row)
        self._choices: list[Choice] = []
        for i in range(1, 10):
            sc = QShortcut(QKeySequence(str(i)), self)
            sc.activated.connect(lambda i=i: self._pick(i - 1))
        for key in ("Return", "Enter"):
            QShortcut(QKeySequence(key), self).activated.connect(self._accept)
        QShortcut(QKeySequence("Escape"), self).activated.connect(self.cancelled.emit)

    def show_choices(self, title: str, choices: list[Choice], empty_text: str,
                     entry: str | None = None) -> None:
        """`entry`: placeholder of a line to type into instead of choosing (None: no line)."""
        self.title.setText(title)
        self.entry.clear()
        self.entry.setVisible(entry is not None)
        self.entry.setPlaceholderText(entry or "")
        self.entry_error.hide()
        self._choices = choices
        self.list.clear()
        for i, ch in enumerate(choices):
            prefix = f"{i + 1}  " if i < 9 else "    "
            self.list.addItem(QListWidgetItem(prefix + ch.label))
        self.empty.setText("" if choices else empty_text)
        self.empty.setVisible(not choices)
        self.list.setVisible(bool(choices))
        self.ok.setEnabled(bool(choices) or entry is not None)
        if choices:
            self.list.setCurrentRow(0)
            self.list.setFocus()
        elif entry is not None:
            self.entry.setFocus()

    def show_entry_error(self, text: str) -> None:
        self.entry_error.setText(text)
        self.entry_error.show()
        self.entry.setFocus()

    def _pick(self, i: int) -> None:
        if self.isVisible() and 0 <= i < len(self._choices):
            self.chosen.emit(self._choices[i])

    def _accept(self) -> None:
        if not self.isVisible():
            return
        if self.entry.isVisible() and self.entry.text().strip():
            self.entered.emit(self.entry.text())
        else:
            self._pick(self.list.currentRow())


class TerminalWindow(QWidget):
    """The 呼叫器 of one counter."""

    def __init__(self, hall: Hall, counter_id: str, link: Link,
                 settings: CounterSettings | None = None,
                 clock: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.hall, self.counter_id, self.link = hall, counter_id, link
        self.settings = settings or CounterSettings()
        self.inputs = TerminalInputs(hall, counter_id)
        self.gate = IntentGate(link.device)
        self.notice: tuple[str, str] | None = None  # (kind ok|error, sentence)
        self.view: TerminalView | None = None
        self._after: dict[str, Callable[[Mapping[str, Any]], None]] = {}
        # the filing panel (filing issue): the clerk view shown, the number followed from
        # the current ticket, reads in flight (request id -> handler), pages fetched
        self.filing: Mapping[str, Any] | None = None
        self.filing_view: fm.FilingView | None = None
        self.filing_from_list = False
        self.filing_message: str | None = None  # loading / could not read, instead of a filing
        self._linked: str | None = None
        self._want: str | None = None  # the filing the panel is to show
        self._moment: tuple[Any, ...] | None = None
        self._reads: dict[str, Callable[[Mapping[str, Any]], None]] = {}
        # decoded pages, the latest few only: a 2000 px photo is ~12 MB as a pixmap and a
        # filing may have 30 pages; one more page comes back in well under a second
        self._pages: OrderedDict[str, QPixmap] = OrderedDict()
        self._page_index = 0
        self._clock = clock or (lambda: datetime.now(hall.tz))
        conf = hall.counter(counter_id)
        self.setWindowTitle(f"{conf.name if conf else counter_id} 呼叫器 - {hall.name}")
        self._build()
        root = f"qms/{hall.id}"
        self._counter_topic = f"{root}/state/counter/{counter_id}"
        self._service_prefix = f"{root}/state/service/"
        self._server_topic = f"{root}/status/server"
        link.connection_changed.connect(self._on_connection)
        link.message.connect(self._on_message)
        link.replied.connect(self._on_reply)
        link.watch(self._counter_topic)
        link.watch(self._service_prefix + "+")
        link.watch(self._server_topic)
        self.inputs.link_up = bool(link.connected)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self.refresh)
        self._tick.start(5000)
        self.refresh()

    # ---------------------------------------------------------------- layout

    def _build(self) -> None:
        self.title = label("", "title")
        self.status = label("", size=24, bold=True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.banner = label("", "banner")
        self.banner.setMinimumHeight(48)  # one line with the theme's padding, never clipped
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.status)

        # current ticket
        self.card = QFrame()
        self.card.setObjectName("card")
        self.card.setStyleSheet("#card { background: #ffffff; border: 2px solid #c9d2dc;"
                                " border-radius: 12px; } #card QLabel { background: transparent; }")
        self.number = label("", size=84, bold=True)
        self.number.setStyleSheet("font-size: 84px; font-weight: bold; color: #0b5cad;")
        self.marks = label("", size=22, bold=True)
        self.marks.setStyleSheet("font-size: 22px; font-weight: bold; color: #b3261e;")
        # beside a filing the card is narrow: the marks go under the number, unbroken
        self.marks_below = label("", size=22, bold=True)
        self.marks_below.setStyleSheet(self.marks.styleSheet())
        self.marks_below.hide()
        self.service = label("", size=26)
        self.tstatus = label("", size=22)
        self.waited = label("", size=22)
        self.called = label("", "muted")
        self.filing_line = label("", size=22, bold=True)  # 关联申报 F…, numbers only
        self.filing_line.hide()
        self.waiting_short = label("", size=22)  # the side panel gives way to a filing
        self.waiting_short.hide()
        self.idle = label("", size=26)
        self.idle.setStyleSheet("font-size: 26px; color: #4a5363;")
        card = QVBoxLayout(self.card)
        head = QHBoxLayout()
        head.addWidget(self.number)
        head.addWidget(self.marks, 1, Qt.AlignmentFlag.AlignBottom)
        card.addLayout(head)
        card.addWidget(self.marks_below)
        for w in (self.service, self.tstatus, self.waited, self.called, self.filing_line,
                  self.idle):
            card.addWidget(w)
        card.addStretch(1)
        card.addWidget(self.waiting_short)

        # waiting counts and today's figures
        side = self.side = QFrame()
        side.setObjectName("side")
        side.setStyleSheet("#side { background: #ffffff; border: 2px solid #c9d2dc;"
                           " border-radius: 12px; } #side QLabel { background: transparent; }")
        self.waiting = label("", size=22)
        self.today = label("", size=22)
        sl = QVBoxLayout(side)
        sl.addWidget(label("等候人数", size=24, bold=True))
        sl.addWidget(self.waiting)
        sl.addStretch(1)
        sl.addWidget(label("今日", size=24, bold=True))
        sl.addWidget(self.today)

        middle = self.middle = QHBoxLayout()
        middle.addWidget(self.card, 3)
        middle.addWidget(side, 2)
        self.filing_panel = FilingPanel()
        self.filing_panel.hide()
        self.filing_panel.action.connect(self._filing_action)
        self.filing_panel.page_requested.connect(self._open_page)
        middle.addWidget(self.filing_panel, 6)

        self.notice_label = label("", size=22)
        self.notice_label.setMinimumHeight(40)

        grid = QGridLayout()
        grid.setSpacing(10)
        self.slots: list[QPushButton] = []
        for i in range(9):
            b = QPushButton("")
            b.setMinimumHeight(72)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys are F1-F9, never Space on a button
            b.clicked.connect(lambda _=False, i=i: self._clicked(i))
            grid.addWidget(b, i // 5, i % 5)
            self.slots.append(b)
        self.list_button = QPushButton(f"{fm.LIST.key}  {fm.LIST.label}")
        self.list_button.setMinimumHeight(72)
        self.list_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list_button.setProperty("role", "secondary")
        self.list_button.setProperty("op", fm.LIST.op)
        self.list_button.clicked.connect(self._list_filings)
        grid.addWidget(self.list_button, 1, 4)

        self.main = QWidget()
        ml = QVBoxLayout(self.main)
        ml.addLayout(middle, 1)
        ml.addWidget(self.notice_label)
        ml.addLayout(grid)

        self.chooser = ChoicePanel()
        self.chooser.chosen.connect(self._chosen)
        self.chooser.cancelled.connect(self._close_chooser)
        self.chooser.entered.connect(self._number_entered)
        self.viewer = PageViewer()
        self.viewer.moved.connect(lambda d: self._open_page(self._page_index + d))
        self.viewer.closed.connect(self._back_to_main)
        self.form = MoveForm()
        self.form.submitted.connect(self._move_submitted)
        self.form.cancelled.connect(self._back_to_main)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.main)
        self.pages.addWidget(self.chooser)
        self.pages.addWidget(self.viewer)
        self.pages.addWidget(self.form)
        # filing keys work on the main page and in the page viewer (window-wide)
        for a in fm.MOVE_ACTIONS:
            QShortcut(QKeySequence(a.key), self).activated.connect(
                lambda op=a.op: self._filing_key(op))
        QShortcut(QKeySequence(fm.PAGES.key), self).activated.connect(
            lambda: self._filing_key(fm.PAGES.op))
        QShortcut(QKeySequence(fm.LIST.key), self).activated.connect(self._list_filings)
        QShortcut(QKeySequence(fm.RELOAD.key), self).activated.connect(
            lambda: self._filing_key(fm.RELOAD.op))

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.banner)
        lay.addWidget(self.pages, 1)
        QShortcut(QKeySequence("Escape"), self.main).activated.connect(self._escape)
        for k, step in (("PgUp", -1), ("PgDown", 1)):  # the filing's form, when shown
            QShortcut(QKeySequence(k), self.main).activated.connect(
                lambda step=step: self.filing_panel.scroll_fields(step))
        self._choosing: str | None = None

    # ---------------------------------------------------------------- drawing

    def refresh(self) -> None:
        self._follow_ticket()
        self.inputs.pending = self.gate.pending
        v = self.view = model.terminal_view(self.inputs)
        self.title.setText(v.title)
        self.status.setText(v.status)
        colour = {"办公中": "#1b6e2f", model.OFFLINE_TEXT: "#b3261e"}.get(v.status, "#4a5363")
        self.status.setStyleSheet(f"font-size: 24px; font-weight: bold; color: {colour};")
        self.banner.setText(v.banner or "")
        self.banner.setVisible(v.banner is not None)
        t = v.ticket
        for w in (self.number, self.marks, self.service, self.tstatus, self.waited, self.called):
            w.setVisible(t is not None)
        self.idle.setVisible(t is None)
        self.idle.setText(v.idle_text)
        if t is not None:
            self.number.setText(t.number)
            self.marks.setText("  ".join(f"【{m}】" for m in t.marks))
            self.service.setText(t.service)
            self.tstatus.setText(t.status)
            self.waited.setText(t.waited)
            self.called.setText(t.called)
        self.filing_line.setVisible(t is not None and t.filing is not None)
        self.filing_line.setText(t.filing or "" if t is not None else "")
        self.waiting.setText("\n".join(f"{name}：{n}人" for name, n in v.waiting)
                             + f"\n合计：{v.waiting_total}人")
        self.today.setText(f"已办结 {v.served_today} 件\n过号 {v.no_show_today} 个")
        self.waiting_short.setText(f"等候 {v.waiting_total} 人 · 今日已办结 {v.served_today} 件")
        self._draw_filing(v)
        narrow = self.filing_panel.isVisibleTo(self) and t is not None and bool(t.marks)
        self.marks_below.setText(self.marks.text())
        self.marks_below.setVisible(narrow)
        self.marks.setVisible(t is not None and not narrow)
        self.list_button.setEnabled(v.online and self.pages.currentWidget() is self.main)
        for b, btn in zip(self.slots, v.buttons, strict=True):
            b.setText(btn.text)
            b.setShortcut(QKeySequence(btn.action.key))
            b.setEnabled(btn.enabled and self.pages.currentWidget() is self.main)
            b.setProperty("op", btn.action.op)
        if v.pending:
            self.notice_label.setText(v.pending)
            self.notice_label.setStyleSheet("font-size: 22px; color: #1a1a1a;")
        elif self.notice is not None:
            kind, text = self.notice
            colour = "#b3261e" if kind == "error" else "#1b6e2f"
            self.notice_label.setText(text)
            self.notice_label.setStyleSheet(f"font-size: 22px; color: {colour};"
                                            " font-weight: bold;")
        else:
            self.notice_label.setText("")

    # ---------------------------------------------------------------- MQTT in

    def _on_connection(self, up: bool) -> None:
        self.inputs.link_up = up
        self.refresh()

    def _on_message(self, topic: str, payload: Any) -> None:
        if topic == self._counter_topic:
            self.inputs.counter = payload if isinstance(payload, Mapping) else None
        elif topic.startswith(self._service_prefix):
            code = topic.removeprefix(self._service_prefix)
            if isinstance(payload, Mapping):
                self.inputs.services[code] = payload
            else:
                self.inputs.services.pop(code, None)
        elif topic == self._server_topic:
            self.inputs.server_online = payload == "online"
        else:
            return
        self.refresh()

    def _on_reply(self, request_id: str, reply: Mapping[str, Any]) -> None:
        read = self._reads.pop(request_id, None)
        if read is not None:  # a filing read: not an intent, the gate never held it
            read(reply)
            return
        intent = self.gate.settle(request_id)
        if intent is None:
            return  # a reply to an abandoned intent: the state topic tells the truth
        error = reply.get("error") or {}
        if not reply.get("ok") and error.get("code") == "OFFLINE":
            self.gate.pending = intent  # keep it: retried under the same id
            retried = self.gate.retry()
            QTimer.singleShot(int(self.settings.retry_s * 1000),
                              lambda rid=request_id: self._resend(rid))
            log.info("%s: %s unanswered; retrying (attempt %d)", self.link.device,
                     intent.op, retried.attempts if retried else 0)
            self.refresh()
            return
        counter = reply.get("counter")
        if isinstance(counter, Mapping) and self._newer(counter):
            self.inputs.counter = counter
        after = self._after.pop(request_id, None)
        if reply.get("ok"):
            self.notice = ("ok", self._done_text(intent.op, reply))
            if after is not None:
                after(reply)
        elif intent.op.startswith("filing_"):
            self.notice = ("error", fm.filing_error(error, intent.label))
            number = intent.payload.get("number")
            if number:  # show where the filing is now (another counter may have moved it)
                self._read_filing(str(number), keep=True)
        else:
            self.notice = ("error", model.error_sentence(error))
        self.refresh()

    def _newer(self, counter: Mapping[str, Any]) -> bool:
        mine = self.inputs.counter
        if mine is None:
            return True
        # Strictly newer only: a reply can reach the GUI after the state topic of a later
        # change in the same second (another terminal); the state topic always follows.
        return str(counter.get("at", "")) > str(mine.get("at", ""))

    def _resend(self, request_id: str) -> None:
        p = self.gate.pending
        if p is not None and p.request_id == request_id:
            self.link.request(p.op, p.payload, request_id=p.request_id)

    @staticmethod
    def _done_text(op: str, reply: Mapping[str, Any]) -> str:
        if op.startswith("filing_"):
            return fm.done_text(op, reply.get("filing") or {})
        t = reply.get("ticket") or {}
        n = t.get("number", "")
        return {
            "call_next": f"已呼叫 {n}", "recall": f"已重呼 {n}", "start": f"{n} 开始办理",
            "finish": f"{n} 已办结", "skip": f"{n} 已过号", "transfer": f"{n} 已转移",
            "requeue": f"{n} 已回到队列，等候重新呼叫", "pause": "已暂停", "resume": "已恢复",
            "open": "已开始办公", "close": "已结束办公",
        }.get(op, "完成")

    # ---------------------------------------------------------------- clicks

    def _clicked(self, slot: int) -> None:
        if self.view is None:
            return
        btn = self.view.buttons[slot]
        if not btn.enabled or self.gate.pending is not None:
            return  # double click or key repeat while the first is in flight
        op = btn.action.op
        if op == "transfer":
            t = (self.inputs.counter or {}).get("ticket") or {}
            self._open_chooser("transfer", f"把 {t.get('number', '')} 转到哪里？",
                               model.transfer_choices(self.hall, self.counter_id,
                                                      t.get("service")), "没有可转的业务或窗口。")
        elif op == "pause":
            self._open_chooser("pause", "暂停原因",
                               model.pause_choices(self.settings.pause_reasons), "")
        elif op == "requeue":
            self.send("no_shows", label="读取过号名单", after=self._show_no_shows)
        else:
            self.send(op, label=btn.action.label)

    def _show_no_shows(self, reply: Mapping[str, Any]) -> None:
        self.notice = None
        self._open_chooser("requeue", "回呼：选择今天过号的号票，让其重新排队",
                           model.no_show_choices(self.hall, list(reply.get("no_shows") or [])),
                           "今天没有过号的号票。")

    def _open_chooser(self, op: str, title: str, choices: list[Choice], empty: str,
                      entry: str | None = None) -> None:
        self._choosing = op
        self.chooser.show_choices(title, choices, empty, entry)
        self.pages.setCurrentWidget(self.chooser)
        (self.chooser.list if choices else self.chooser.entry).setFocus()  # now it is shown
        self.refresh()

    def _close_chooser(self) -> None:
        self._choosing = None
        self.pages.setCurrentWidget(self.main)
        self.refresh()

    def _chosen(self, choice: Choice) -> None:
        op = self._choosing
        self._close_chooser()
        if op == "filings":
            self._open_listed(str(choice.value["number"]))
        elif op is not None:
            label = {"transfer": "转移", "pause": "暂停", "requeue": "回呼"}[op]
            self.send(op, choice.value, label=label)

    def _escape(self) -> None:
        if self.gate.pending is not None:
            dropped = self.gate.abandon()
            self.notice = ("error", f"已放弃“{dropped.label}”。" if dropped else "")
            self.refresh()
        elif self.filing_from_list:  # close a filing opened from the list
            self._clear_filing()
            self._linked = None  # the current ticket's own filing (if any) shows again
            self.refresh()

    def send(self, op: str, extra: Mapping[str, Any] | None = None, *, label: str = "",
             after: Callable[[Mapping[str, Any]], None] | None = None) -> str | None:
        """Send `op` as one intent (ignored while another is in flight)."""
        payload = model.request_payload(op, self.inputs.counter, extra)
        intent = self.gate.begin(op, payload, label or op)
        if intent is None:
            return None
        if after is not None:
            self._after[intent.request_id] = after
        self.notice = None
        self.refresh()
        self.link.request(op, payload, request_id=intent.request_id)
        return intent.request_id

    # ---------------------------------------------------------------- filing panel

    def _follow_ticket(self) -> None:
        """Read the filing linked to the current ticket when that link changes, and again
        when the ticket moves on (开始办理, 重呼): the state topic carries numbers only, so
        a 补正 made at a kiosk meanwhile shows then (or with F12)."""
        t = (self.inputs.counter or {}).get("ticket")
        linked = t.get("filing") if isinstance(t, Mapping) else None
        linked = str(linked) if linked else None
        moment = (t.get("number"), t.get("status"), t.get("recalls")) \
            if isinstance(t, Mapping) else None
        if linked == self._linked:
            if linked is not None and moment != self._moment and not self.filing_from_list \
                    and self.filing is not None:
                self._read_filing(linked, keep=True)
            self._moment = moment
            return
        self._moment = moment
        self._linked = linked
        if linked is not None:
            shown = self.filing is not None and self.filing.get("number") == linked
            self.filing_from_list = False
            if not shown:
                self._clear_filing()
                self._read_filing(linked)
        elif not self.filing_from_list:
            self._clear_filing()

    def _clear_filing(self) -> None:
        """Forget the filing and its pages (personal data stays no longer than shown)."""
        self.filing = self.filing_view = None
        self.filing_from_list = False
        self._want = None
        self._pages.clear()
        self.viewer.turns.clear()
        self.filing_message = None
        if self.pages.currentWidget() in (self.viewer, self.form):
            self.pages.setCurrentWidget(self.main)

    def _read_filing(self, number: str, keep: bool = False) -> None:
        """Ask for the clerk view of `number`; `keep` leaves the panel as it is meanwhile."""
        self._want = number
        if not keep:
            self.filing_message = "正在读取申报……"
        rid = self.link.request("filing", {"number": number})
        self._reads[rid] = lambda reply, n=number: self._filing_read(n, reply)

    def _wanted(self, number: str) -> bool:
        return number == self._want

    def _filing_read(self, number: str, reply: Mapping[str, Any]) -> None:
        if not self._wanted(number):
            return  # the ticket (or the clerk) moved on to another filing meanwhile
        f = reply.get("filing")
        if reply.get("ok") and isinstance(f, Mapping):
            if self.filing is None or self.filing.get("number") != f.get("number"):
                self._pages.clear()
                self.viewer.turns.clear()
            self.filing, self.filing_message = f, None
            if self.notice == ("ok", "正在刷新申报……"):
                self.notice = ("ok", f"申报 {f.get('number')} 已刷新：{f.get('status_name')}")
            log.info("%s: filing %s shown", self.link.device, f.get("number"))
        else:
            error = reply.get("error") or {}
            if error.get("code") == "OFFLINE":
                self.filing_message = "网络中断，申报没有读取成功，正在重试……"
                QTimer.singleShot(int(self.settings.retry_s * 1000),
                                  lambda: self._wanted(number) and self._read_filing(number,
                                                                                    keep=True))
            elif self.filing is None:
                self.filing_message = fm.filing_error(error)
            log.info("%s: filing %s not read: %s", self.link.device, number, error.get("code"))
        self.refresh()

    def _draw_filing(self, v: TerminalView) -> None:
        shown = self.filing is not None or self.filing_message is not None
        self.filing_panel.setVisible(shown)
        self.middle.setStretchFactor(self.card, 2 if shown else 3)  # the form needs the room
        self.side.setVisible(not shown)
        self.waiting_short.setVisible(shown)
        if self.filing is not None:
            free = v.online and self.gate.pending is None
            self.filing_view = fm.filing_view(self.filing, self._clock().date(), enabled=free)
            self.filing_panel.show_view(self.filing_view)
        elif self.filing_message is not None:
            self.filing_view = None
            self.filing_panel.show_message(self.filing_message)

    def _filing_key(self, op: str) -> None:
        if self.pages.currentWidget() not in (self.main, self.viewer):
            return
        self._filing_action(op)

    def _filing_action(self, op: str) -> None:
        fv, f = self.filing_view, self.filing
        if fv is None or f is None:
            return
        if op == fm.RELOAD.op:
            self._read_filing(str(f.get("number")), keep=True)
            self.notice = ("ok", "正在刷新申报……")
            self.refresh()
            return
        if op == fm.PAGES.op:
            i = self.filing_panel.current_page()
            if i is not None:
                self._open_page(i)
            return
        if not fv.button(op).enabled or self.gate.pending is not None:
            return
        self.form.open(op, fm.confirm_text(op, fv), fm.missing_choices(f),
                       fm.DEFAULT_REJECT_REASONS)
        self.pages.setCurrentWidget(self.form)
        self.refresh()

    def _move_submitted(self, op: str, payload: Mapping[str, Any]) -> None:
        self._back_to_main()
        if self.filing is None:
            return
        number = str(self.filing.get("number"))
        extra = {**payload, "number": number}
        t = (self.inputs.counter or {}).get("ticket")
        if isinstance(t, Mapping) and number in (t.get("filings") or [t.get("filing")]):
            # acting on the current ticket's filing: refused if the ticket changed meanwhile
            extra["expect_current"] = t.get("number")
        label = next(a.label for a in fm.MOVE_ACTIONS if a.op == op)
        self.send(op, extra, label=label, after=self._filing_moved)

    def _filing_moved(self, reply: Mapping[str, Any]) -> None:
        f = reply.get("filing")
        if isinstance(f, Mapping):
            self.filing = f

    def _back_to_main(self) -> None:
        self.pages.setCurrentWidget(self.main)
        self.refresh()

    def _open_page(self, index: int) -> None:
        fv = self.filing_view
        if fv is None or not fv.pages:
            return
        index = max(0, min(index, len(fv.pages) - 1))
        self._page_index = index
        ref = fv.pages[index]
        position = f"共{len(fv.pages)}张照片中的第{index + 1}张"
        pix = self._pages.get(ref.sha256)
        if pix is not None:
            self._pages.move_to_end(ref.sha256)
        self.viewer.show_page(ref, position, pix)
        if self.pages.currentWidget() is not self.viewer:
            self.pages.setCurrentWidget(self.viewer)
            self.refresh()
        self.viewer.render()
        if pix is None:
            rid = self.link.request("filing_document", {"number": fv.number,
                                                        "sha256": ref.sha256})
            self._reads[rid] = lambda reply, i=index, r=ref: self._page_read(i, r, reply)

    def _page_read(self, index: int, ref: fm.PageRef, reply: Mapping[str, Any]) -> None:
        doc = reply.get("document") or {}
        message = None
        if reply.get("ok") and doc.get("data"):
            pix = QPixmap()
            try:
                ok = pix.loadFromData(base64.b64decode(doc["data"], validate=True))
            except (binascii.Error, ValueError):
                ok = False
            if ok:
                self._pages[ref.sha256] = pix
                while len(self._pages) > PAGES_KEPT:
                    self._pages.popitem(last=False)
            else:
                message = "照片无法显示（文件已损坏），请群众补正该材料。"
        elif reply.get("ok"):
            message = "照片没有读取到，请按 → 再按 ← 重新读取。"
        elif (reply.get("error") or {}).get("code") == "OFFLINE":
            message = "网络中断，照片没有读取成功，正在重试……"
            QTimer.singleShot(int(self.settings.retry_s * 1000),
                              lambda: self._retry_page(index, ref))
        else:
            message = fm.filing_error(reply.get("error"))
        viewer_on = self.pages.currentWidget() is self.viewer
        if viewer_on and self.viewer.ref is not None and self.viewer.ref.sha256 == ref.sha256:
            fv = self.filing_view
            total = len(fv.pages) if fv is not None else 0
            self.viewer.show_page(ref, f"共{total}张照片中的第{index + 1}张",
                                  self._pages.get(ref.sha256), message)

    def _retry_page(self, index: int, ref: fm.PageRef) -> None:
        still = self.viewer.ref is not None and self.viewer.ref.sha256 == ref.sha256
        if still and self.pages.currentWidget() is self.viewer and ref.sha256 not in self._pages:
            self._open_page(index)

    def _list_filings(self) -> None:
        if (self.pages.currentWidget() is not self.main or self.view is None
                or not self.view.online):
            return
        rid = self.link.request("filings", {})
        self.notice = ("ok", "正在读取申报列表……")
        self.refresh()
        self._reads[rid] = self._show_filings

    def _show_filings(self, reply: Mapping[str, Any]) -> None:
        if not reply.get("ok"):
            self.notice = ("error", fm.filing_error(reply.get("error")))
            self.refresh()
            return
        self.notice = None
        if self.pages.currentWidget() is not self.main:
            return
        self._open_chooser("filings", "申报列表：本窗口业务中未办结的申报（最新在前）",
                           fm.list_choices(list(reply.get("filings") or []),
                                           self._clock().date()),
                           "目前没有待处理的申报。可在下面输入回执上的申报编号查找。",
                           entry="或输入回执上的申报编号（今天的可只输序号），按 Enter 查找")

    def _number_entered(self, text: str) -> None:
        if self._choosing != "filings":
            return
        try:
            number = fm.filing_number(text, self._clock().date())
        except fm.InputProblem as e:
            self.chooser.show_entry_error(str(e))
            return
        self._close_chooser()
        self._open_listed(number)

    def _open_listed(self, number: str) -> None:
        if self.filing is not None and self.filing.get("number") == number:
            return
        self._clear_filing()
        self.filing_from_list = number != self._linked
        self._read_filing(number)
        self.refresh()
