"""The rating pad window (评价器), facing the resident: draws `pad.PadMachine`.

Large type (the theme's elder mode), five big level buttons with their keys
shown (5 … 1), reason buttons (1 … 9), a visible countdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from queue_server.config import Hall
from ui.theme import Theme

from .pad import LEVELS, PadMachine, Screen
from .terminal import Link

LEVEL_COLOURS = {5: "#1b6e2f", 4: "#2e7d32", 3: "#0b5cad", 2: "#9a4d00", 1: "#9e0000"}


def _label(text: str, size: int, bold: bool = False, colour: str = "#000000") -> QLabel:
    lb = QLabel(text)
    lb.setWordWrap(True)
    lb.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lb.setStyleSheet(f"font-size: {size}px; color: {colour};"
                     + (" font-weight: bold;" if bold else ""))
    return lb


class PadWindow(QWidget):
    def __init__(self, hall: Hall, counter_id: str, link: Link,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.hall, self.counter_id, self.link = hall, counter_id, link
        self.clock = clock
        self.wall = wall or (lambda: datetime.now(hall.tz))
        self.machine = PadMachine(hall.rating)
        self._rid: str | None = None
        self._online = bool(link.connected)
        conf = hall.counter(counter_id)
        self.counter_name = conf.name if conf else f"{counter_id}号窗口"
        self.setWindowTitle(f"{self.counter_name} 评价器 - {hall.name}")
        self.setStyleSheet(Theme().elder_mode().stylesheet())  # it faces the resident: 适老化
        self._build()
        self._counter_topic = f"qms/{hall.id}/state/counter/{counter_id}"
        link.connection_changed.connect(self._on_connection)
        link.message.connect(self._on_message)
        link.replied.connect(self._on_reply)
        link.watch(self._counter_topic)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(250)
        self.refresh()

    # ---------------------------------------------------------------- layout

    def _build(self) -> None:
        self.header = _label(f"{self.hall.name} · {self.counter_name}", 26, colour="#222222")
        self.offline = _label("网络中断，评价暂不可用", 26, True, "#9e0000")
        self.pages = QStackedWidget()

        idle = QWidget()
        il = QVBoxLayout(idle)
        il.addStretch(1)
        il.addWidget(_label("您好，欢迎来办事", 52, True, "#003f7f"))
        il.addWidget(_label("办理完成后，请在这里对我们的服务进行评价", 32))
        il.addStretch(1)
        self.idle = idle

        levels = QWidget()
        ll = QVBoxLayout(levels)
        self.levels_title = _label("", 40, True, "#003f7f")
        ll.addWidget(self.levels_title)
        ll.addWidget(_label("请您对本次服务进行评价", 34))
        row = QHBoxLayout()
        row.setSpacing(12)
        self.level_buttons: dict[int, QPushButton] = {}
        for level, text in LEVELS:
            b = QPushButton(f"{level}\n{text}")
            b.setMinimumSize(150, 150)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            b.setStyleSheet(f"QPushButton {{ background: {LEVEL_COLOURS[level]};"
                            " color: #ffffff; font-size: 32px; font-weight: bold;"
                            " border-radius: 14px; padding: 8px; }")
            b.setShortcut(QKeySequence(str(level)))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, lv=level: self.choose_level(lv))
            row.addWidget(b)
            self.level_buttons[level] = b
        ll.addLayout(row, 1)
        self.levels_message = _label("", 28, True, "#9e0000")
        ll.addWidget(self.levels_message)
        self.levels_countdown = _label("", 26, colour="#222222")
        ll.addWidget(self.levels_countdown)

        reason = QWidget()
        rl = QVBoxLayout(reason)
        rl.addWidget(_label("很抱歉让您不满意，请选择原因", 38, True, "#9e0000"))
        grid = QGridLayout()
        grid.setSpacing(10)
        self.reason_buttons: list[QPushButton] = []
        for i, text in enumerate(self.hall.rating.reasons[:9]):
            b = QPushButton(f"{i + 1}  {text}")
            b.setCheckable(True)
            b.setMinimumHeight(96)
            b.setStyleSheet("QPushButton { background: #ffffff; color: #003f7f;"
                            " border: 3px solid #003f7f; border-radius: 12px; font-size: 30px; }"
                            " QPushButton:checked { background: #003f7f; color: #ffffff; }")
            b.setShortcut(QKeySequence(str(i + 1)))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, r=text: self.choose_reason(r))
            grid.addWidget(b, i // 3, i % 3)
            self.reason_buttons.append(b)
        rl.addLayout(grid)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("其他意见（可不填）")
        self.comment.setMaxLength(500)
        self.comment.setMinimumHeight(64)
        self.comment.setStyleSheet("font-size: 28px; background: #ffffff;"
                                   " border: 2px solid #222222;")
        self.comment.textEdited.connect(
            lambda text: self.machine.set_comment(text, self.clock()))
        rl.addWidget(self.comment)
        self.reason_message = _label("", 28, True, "#9e0000")
        rl.addWidget(self.reason_message)
        bottom = QHBoxLayout()
        self.reason_countdown = _label("", 26, colour="#222222")
        self.back = QPushButton("Esc  返回")
        self.back.setProperty("role", "secondary")
        self.submit = QPushButton("Enter  提交评价")
        for b in (self.back, self.submit):
            b.setMinimumHeight(96)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back.clicked.connect(self.go_back)
        self.submit.clicked.connect(self.submit_reason)
        bottom.addWidget(self.reason_countdown, 1)
        bottom.addWidget(self.back)
        bottom.addWidget(self.submit)
        rl.addLayout(bottom)

        sending = QWidget()
        sl = QVBoxLayout(sending)
        sl.addWidget(_label("正在提交……", 44, True, "#003f7f"))

        thanks = QWidget()
        tl = QVBoxLayout(thanks)
        tl.addStretch(1)
        tl.addWidget(_label("感谢您的评价！", 60, True, "#0d4d1c"))
        tl.addWidget(_label("您的意见将帮助我们改进服务", 32))
        tl.addStretch(1)

        self.page_of = {Screen.IDLE: idle, Screen.LEVELS: levels, Screen.REASON: reason,
                        Screen.SENDING: sending, Screen.THANKS: thanks}
        for w in self.page_of.values():
            self.pages.addWidget(w)

        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(self.offline)
        lay.addWidget(self.pages, 1)
        for key in ("Return", "Enter"):
            QShortcut(QKeySequence(key), self).activated.connect(self.submit_reason)
        QShortcut(QKeySequence("Escape"), self).activated.connect(self.go_back)

    # ---------------------------------------------------------------- drawing

    def refresh(self) -> None:
        m, now = self.machine, self.clock()
        self.offline.setVisible(not self._online)
        self.pages.setCurrentWidget(self.page_of[m.screen])
        left = f"{m.seconds_left(now)} 秒后自动关闭（不评价）"
        if m.screen is Screen.LEVELS:
            self.levels_title.setText(f"{m.number} {m.service_name}".strip())
            self.levels_message.setText(m.message or "")
            self.levels_countdown.setText(left)
        elif m.screen is Screen.REASON:
            for b in self.reason_buttons:
                b.setChecked(b.text().split("  ", 1)[1] == m.reason)
            self.reason_message.setText(m.message or "")
            self.reason_countdown.setText(left)
            self.submit.setEnabled(bool(m.reason))
        if m.screen is not Screen.REASON and self.comment.text():
            self.comment.clear()

    # ---------------------------------------------------------------- inputs

    def choose_level(self, level: int) -> None:
        self._send(self.machine.choose_level(level, self.clock()))

    def choose_reason(self, reason: str) -> None:
        self.machine.choose_reason(reason, self.clock())
        self.refresh()

    def submit_reason(self) -> None:
        if self.machine.screen is Screen.REASON:
            self.machine.set_comment(self.comment.text(), self.clock())
            self._send(self.machine.submit(self.clock()))

    def go_back(self) -> None:
        self.machine.back(self.clock())
        self.refresh()

    def _send(self, payload: dict[str, Any] | None) -> None:
        if payload is not None:
            self._rid = self.link.request("rate", payload)
        self.refresh()

    def _tick(self) -> None:
        self.machine.tick(self.clock())
        self.refresh()

    def _on_connection(self, up: bool) -> None:
        self._online = up
        self.refresh()

    def _on_message(self, topic: str, payload: Any) -> None:
        if topic == self._counter_topic:
            self.machine.counter_state(payload if isinstance(payload, Mapping) else None,
                                       self.clock(), self.wall())
            self.refresh()

    def _on_reply(self, request_id: str, reply: Mapping[str, Any]) -> None:
        if request_id == self._rid:
            self._rid = None
            self.machine.reply(reply, self.clock())
            self.refresh()
