"""The rating pad (评价器) as a state machine. Pure: no Qt, no clock of its own.

The pad learns what to rate from its counter's state (`last_served`, see
docs/protocol-extensions.md). It offers the five levels for `[rating] pad_timeout_s`;
a level at or below `reason_required_at_or_below` asks for a reason (choices from
`[rating] reasons`, optional text). Time arrives as `tick(now)` calls (monotonic
seconds), so timeouts are tested without Qt. Touching the pad restarts its countdown:
an elderly resident choosing a reason is not cut off mid-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from queue_server.config import RatingPolicy

from .model import error_sentence, parse_time

LEVELS: tuple[tuple[int, str], ...] = (
    (5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"),
)
THANKS_S = 4.0
ERROR_S = 6.0


class Screen(StrEnum):
    IDLE = "idle"  # nothing to rate: a welcome
    LEVELS = "levels"  # the five levels
    REASON = "reason"  # why (bad levels)
    SENDING = "sending"
    THANKS = "thanks"


@dataclass
class PadMachine:
    policy: RatingPolicy
    screen: Screen = Screen.IDLE
    number: str | None = None  # the ticket being rated
    service_name: str = ""
    level: int | None = None
    reason: str | None = None
    comment: str = ""
    deadline: float = 0.0  # monotonic second the offer ends
    message: str | None = None  # an error sentence on the levels screen
    done: set[tuple[str, str]] = field(default_factory=set)  # (number, at) offered already
    _until: float = 0.0  # thanks / error shown until

    # ------------------------------------------------------------ inputs

    def counter_state(self, counter: Mapping[str, Any] | None, now: float,
                      wall_now: datetime) -> None:
        """A (retained) counter state arrived: offer its last served ticket if new."""
        last = counter.get("last_served") if counter else None
        if not isinstance(last, Mapping):
            if self.screen in (Screen.LEVELS, Screen.REASON):
                self._idle()
            return
        number, at_text = str(last.get("number", "")), str(last.get("at", ""))
        key = (number, at_text)
        if last.get("rated"):
            self.done.add(key)
            if self.number == number and self.screen in (Screen.LEVELS, Screen.REASON,
                                                          Screen.SENDING):
                # rated elsewhere (a second pad, or our own reply crossed the state)
                self._thank(now)
            return
        if key in self.done or (self.number == number and self.screen is not Screen.IDLE):
            return
        at = parse_time(at_text)
        age = (wall_now - at).total_seconds() if at is not None else 0.0
        left = self.policy.pad_timeout_s - max(0.0, age)
        if left <= 0:  # served long ago (the pad was off): not ours to ask any more
            self.done.add(key)
            return
        self.done.add(key)
        self.screen, self.number = Screen.LEVELS, number
        self.service_name = str(last.get("service_name", ""))
        self.level, self.reason, self.comment, self.message = None, None, "", None
        self.deadline = now + left

    def needs_reason(self, level: int) -> bool:
        return level <= self.policy.reason_required_at_or_below

    def choose_level(self, level: int, now: float) -> dict[str, Any] | None:
        """The `rate` payload to send now, or None when a reason must come first."""
        if self.screen is not Screen.LEVELS or self.number is None:
            return None
        self.level, self.message = level, None
        self.touch(now)
        if self.needs_reason(level):
            self.screen, self.reason = Screen.REASON, None
            return None
        return self._send()

    def choose_reason(self, reason: str, now: float) -> None:
        if self.screen is Screen.REASON:
            self.reason, self.message = reason, None
            self.touch(now)

    def set_comment(self, text: str, now: float) -> None:
        self.comment = text.strip()[:500]
        self.touch(now)

    def submit(self, now: float) -> dict[str, Any] | None:
        if self.screen is not Screen.REASON:
            return None
        if not self.reason:
            self.message = "请先选择不满意的原因。"
            return None
        self.touch(now)
        return self._send()

    def back(self, now: float) -> None:
        if self.screen is Screen.REASON:
            self.screen, self.level, self.reason, self.message = Screen.LEVELS, None, None, None
            self.touch(now)

    def reply(self, reply: Mapping[str, Any], now: float) -> None:
        if self.screen is not Screen.SENDING:
            return
        if reply.get("ok") or (reply.get("error") or {}).get("code") == "ALREADY_RATED":
            self._thank(now)
            return
        code = (reply.get("error") or {}).get("code")
        if code in ("NOT_SERVED_HERE", "UNKNOWN_TICKET"):
            self._idle()
            return
        self.message = error_sentence(reply.get("error"))
        self.screen = Screen.REASON if self.level and self.needs_reason(self.level) \
            else Screen.LEVELS
        self.touch(now)

    def touch(self, now: float) -> None:
        if self.screen in (Screen.LEVELS, Screen.REASON):
            self.deadline = max(self.deadline, now + self.policy.pad_timeout_s)

    def tick(self, now: float) -> None:
        if self.screen in (Screen.LEVELS, Screen.REASON) and now >= self.deadline:
            self._idle()  # no answer: the ticket stays unrated
        elif self.screen is Screen.THANKS and now >= self._until:
            self._idle()

    # ------------------------------------------------------------ outputs

    def seconds_left(self, now: float) -> int:
        return max(0, int(self.deadline - now + 0.999))

    def _send(self) -> dict[str, Any]:
        self.screen = Screen.SENDING
        payload: dict[str, Any] = {"number": self.number, "level": self.level}
        if self.reason:
            payload["reason"] = self.reason
        if self.comment:
            payload["comment"] = self.comment
        return payload

    def _thank(self, now: float) -> None:
        self.screen, self._until, self.message = Screen.THANKS, now + THANKS_S, None

    def _idle(self) -> None:
        self.screen, self.number, self.level, self.reason = Screen.IDLE, None, None, None
        self.comment, self.message = "", None
