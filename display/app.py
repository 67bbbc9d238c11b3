"""A board: its link, what it has seen, the widget it feeds and (on one machine) the voice.

The controller is the only place where MQTT messages, the clock and the widgets meet:
it keeps the call log, asks display.model for a view on every message and every tick,
and hands the widget that view. It also decides what is spoken.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, QTimer

from queue_server.config import Hall

from .link import BoardLink
from .model import Call, CallLog, hall_view, window_view
from .settings import DisplaySettings
from .voice import SpeechQueue
from .widgets import HallBoard, WindowBoard

log = logging.getLogger(__name__)

TICK_MS = 250  # blink phase (2 Hz) and the clock


class BoardController(QObject):
    def __init__(self, hall: Hall, settings: DisplaySettings, link: BoardLink,
                 board: WindowBoard | HallBoard, counter: str | None = None,
                 speech: SpeechQueue | None = None, max_age_s: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(board)
        self.hall, self.settings, self.link, self.board = hall, settings, link, board
        self.counter = counter
        self.speech, self.max_age_s = speech, max_age_s
        self.clock = clock
        self.calls = CallLog()
        self._spoken: list[tuple[str, str, str, bool]] = []  # recent call keys (dedupe)
        self.online = False
        link.message.connect(self.on_message)
        link.connection_changed.connect(self.on_connection)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(TICK_MS)
        self.refresh()

    def on_connection(self, up: bool) -> None:
        self.online = up
        self.refresh()

    def on_message(self, topic: str, payload: Any, seen: float) -> None:
        if topic == f"qms/{self.hall.id}/event/called" and isinstance(payload, dict):
            call = Call.from_event(payload, seen)
            if call is None:
                log.warning("event/called without number or counter: %r", payload)
                return
            key = (call.number, call.counter, call.at, call.recall)
            if key in self._spoken:  # a QoS 1 redelivery: shown and said once
                return
            self._spoken = [*self._spoken[-49:], key]
            self.calls.add(call)
            self._say(call)
        self.refresh()

    def _say(self, call: Call) -> None:
        if self.speech is None:
            return
        try:
            age = (datetime.now(self.hall.tz) - datetime.fromisoformat(call.at)).total_seconds()
        except ValueError:
            age = 0.0
        if age > self.max_age_s:
            # A board back after an outage gets the calls it missed: show them, but a
            # call from minutes ago spoken now would send people to the wrong window.
            log.info("voice: not saying %s, called %.0f s ago", call.text, age)
            return
        self.speech.say(call.text)

    def refresh(self) -> None:
        state = self.link.snapshot()
        now = self.clock()
        if isinstance(self.board, WindowBoard):
            assert self.counter is not None
            conf = self.hall.counter(self.counter)
            self.board.set_view(window_view(
                self.hall.id, state, self.counter,
                counter_name=conf.name if conf else None,
                services={s.code: s.name for s in self.hall.services},
                last_call=self.calls.last_for(self.counter), now=now,
                flash_s=self.settings.flash_s, online=self.online,
                state_seen=self.link.received_at(
                    f"qms/{self.hall.id}/state/counter/{self.counter}")))
        else:
            self.board.set_view(hall_view(
                self.hall.id, state, self.calls.calls, hall_name=self.hall.name,
                notice=self.settings.notice, calls_shown=self.settings.calls_shown,
                service_names={s.code: s.name for s in self.hall.services}, now=now,
                flash_s=self.settings.flash_s, online=self.online),
                clock=datetime.now(self.hall.tz).strftime("%m月%d日 %H:%M"))
