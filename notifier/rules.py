"""When to text whom, with no I/O: once per ticket for 前面还有 N 人, once when called."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers

AHEAD = "ahead"
CALLED = "called"
ENDED = {"done", "no_show"}


def normalise_phone(text: str) -> str | None:
    """'138 0013 8000', '+86 13800138000' → '13800138000'; None if not a mobile number."""
    digits = re.sub(r"[\s-]", "", text or "")
    digits = digits.removeprefix("+86").removeprefix("0086")
    return digits if PHONE_RE.match(digits) else None


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "***"


TICKET = "ticket"  # a watch keyed by the ticket's code (from its QR)
APPOINTMENT = "appointment"  # keyed by a booking's code until it is checked in


@dataclass
class Watch:
    hall: str
    code: str  # the ticket's code, or the booking's code while kind is APPOINTMENT
    phone: str  # the number; on the hall side, the filing number that holds it (sealed)
    created: datetime  # when the keep_hours clock starts (given, or a booking's slot end)
    ahead_sent: bool = False
    called_sent: bool = False
    kind: str = TICKET


@dataclass(frozen=True)
class Notice:
    kind: str
    phone: str
    text: str


def due(w: Watch, ticket: dict[str, Any], hall_name: str, ahead_n: int,
        template_ahead: str, template_called: str) -> list[Notice]:
    """The notices `w` is owed now that its ticket looks like `ticket` (a ticket view)."""
    out = []
    status = ticket.get("status")
    params = {"hall_name": hall_name, "number": ticket.get("number", ""),
              "ahead": ticket.get("ahead", 0),
              "counter_name": ticket.get("counter_name") or f"{ticket.get('counter')}号窗口"}
    if status in ("waiting", "transferred") and not w.ahead_sent and not w.called_sent \
            and int(ticket.get("ahead") or 0) <= ahead_n:
        out.append(Notice(AHEAD, w.phone, template_ahead.format(**params)))
    if status in ("called", "serving") and not w.called_sent:
        out.append(Notice(CALLED, w.phone, template_called.format(**params)))
    return out


def finished(ticket: dict[str, Any] | None) -> bool:
    """Nothing more to send: the ticket ended (or is gone)."""
    return ticket is None or ticket.get("status") in ENDED
