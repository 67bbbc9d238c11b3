"""The notifier: phone numbers residents gave, checked against their tickets, texts sent
on a worker thread so a slow or failed gateway never holds anything up.

Phone numbers live only here, in one SQLite table on the portal's server (never in MQTT,
never in a page): a row is deleted when its ticket ends (done, no-show) or is no longer
found, and in any case `keep_hours` after it was given. A number given with a booking
is kept under the booking's code until the booking is checked in (then under the
ticket's code), and at the latest `keep_hours` after the booked slot ends.

On the hall side (notifier/hall.py) the same class runs with `phone_of`: the rows hold
filing numbers, and the number is read from the sealed filing only when a text is due.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .gateway import SendFailed, SmsConfig, SmsGateway
from .rules import AHEAD, APPOINTMENT, CALLED, TICKET, Notice, Watch, due, finished, mask_phone

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]
# A booking's refusals after which there will never be a ticket to follow
BOOKING_GONE = {"UNKNOWN_APPOINTMENT", "APPOINTMENT_CANCELLED"}


def _utc(t: datetime) -> str:
    """Stored in UTC: `expire` compares the text, and a booking's slot end comes in the
    hall's offset while the portal's clock may be in another."""
    return t.astimezone(UTC).isoformat()


class Notifier:
    def __init__(self, path: str | Path, config: SmsConfig,
                 gateway: SmsGateway | None = None,
                 phone_of: Callable[[Watch], str | None] | None = None) -> None:
        self.config = config
        self.gateway = gateway or SmsGateway(config)
        self.phone_of = phone_of
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("""CREATE TABLE IF NOT EXISTS watches (
            hall TEXT, code TEXT, phone TEXT, created TEXT,
            ahead_sent INTEGER DEFAULT 0, called_sent INTEGER DEFAULT 0,
            PRIMARY KEY (hall, code))""")
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(watches)")]
        if "kind" not in cols:  # files made before bookings were followed
            self.db.execute(f"ALTER TABLE watches ADD COLUMN kind TEXT DEFAULT '{TICKET}'")
        # Tickets already followed (no phone here): a ticket called, forgotten, then put
        # back in the queue is not texted twice when the hall side sees its filing again.
        self.db.execute("""CREATE TABLE IF NOT EXISTS followed (
            hall TEXT, code TEXT, at TEXT, PRIMARY KEY (hall, code))""")
        self.db.commit()
        self.lock = threading.Lock()
        self.outbox: queue.Queue[Notice | None] = queue.Queue(maxsize=10_000)
        self.sent = 0
        self.failed = 0
        self.worker = threading.Thread(target=self._work, name="sms", daemon=True)
        self.worker.start()

    # ------------------------------------------------------------------ watches

    def watch(self, hall: str, code: str, phone: str, now: datetime) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO watches (hall, code, phone, created, kind) "
                            "VALUES (?, ?, ?, ?, ?)", (hall, code, phone, _utc(now), TICKET))
            self.db.commit()

    def watch_booking(self, hall: str, appointment: str, phone: str,
                      slot_end: datetime) -> None:
        """A number given with a booking: kept under the booking's code until it is
        checked in, and until `keep_hours` after the slot ends at the latest."""
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO watches (hall, code, phone, created, kind) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (hall, appointment, phone, _utc(slot_end), APPOINTMENT))
            self.db.commit()

    def follow(self, hall: str, code: str, ref: str, now: datetime) -> bool:
        """Watch ticket `code` unless it was watched before; True if it is new."""
        with self.lock:
            new = self.db.execute("INSERT OR IGNORE INTO followed (hall, code, at) "
                                  "VALUES (?, ?, ?)", (hall, code, _utc(now))).rowcount
            if new:
                self.db.execute("INSERT OR IGNORE INTO watches (hall, code, phone, created, "
                                "kind) VALUES (?, ?, ?, ?, ?)",
                                (hall, code, ref, _utc(now), TICKET))
            self.db.commit()
        return bool(new)

    def checked_in(self, hall: str, appointment: str, ticket_code: str) -> None:
        """The booking became a ticket: keep the number under the ticket's code."""
        with self.lock:
            self.db.execute("UPDATE OR REPLACE watches SET code = ?, kind = ? "
                            "WHERE hall = ? AND code = ? AND kind = ?",
                            (ticket_code, TICKET, hall, appointment, APPOINTMENT))
            self.db.commit()

    def watches(self, hall: str) -> list[Watch]:
        with self.lock:
            rows = self.db.execute("SELECT hall, code, phone, created, ahead_sent, called_sent, "
                                   "kind FROM watches WHERE hall = ?", (hall,)).fetchall()
        return [Watch(r[0], r[1], r[2], datetime.fromisoformat(r[3]), bool(r[4]), bool(r[5]),
                      r[6] or TICKET) for r in rows]

    def halls(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT hall FROM watches")]

    def forget(self, hall: str, code: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM watches WHERE hall = ? AND code = ?", (hall, code))
            self.db.commit()

    def expire(self, now: datetime) -> int:
        cutoff = _utc(now - timedelta(hours=self.config.keep_hours))
        with self.lock:
            n = self.db.execute("DELETE FROM watches WHERE created < ?", (cutoff,)).rowcount
            self.db.execute("DELETE FROM followed WHERE at < ?", (cutoff,))
            self.db.commit()
        return n

    # ------------------------------------------------------------------ decisions

    def on_ticket(self, w: Watch, ticket: dict[str, Any] | None, hall_name: str) -> None:
        """Queue what `w` is owed; never blocks on the gateway."""
        if ticket is not None:
            notices = due(w, ticket, hall_name, self.config.ahead, self.config.template_ahead,
                          self.config.template_called)
            for n in notices:
                if self.phone_of is not None:
                    phone = self.phone_of(w)
                    if phone is None:  # nothing is sent without a number
                        continue
                    n = Notice(n.kind, phone, n.text)
                col = "ahead_sent" if n.kind == AHEAD else "called_sent"
                # Marked before sending: at most once, even if the process dies mid-send.
                with self.lock:
                    self.db.execute(f"UPDATE watches SET {col} = 1 WHERE hall = ? AND code = ?",
                                    (w.hall, w.code))
                    self.db.commit()
                try:
                    self.outbox.put_nowait(n)
                except queue.Full:
                    self.failed += 1
                    log.error("sms outbox full; dropped a %s notice", n.kind)
        if finished(ticket) or (ticket is not None and ticket.get("status") in
                                ("called", "serving") and self._called(w)):
            self.forget(w.hall, w.code)

    def _called(self, w: Watch) -> bool:
        with self.lock:
            row = self.db.execute("SELECT called_sent FROM watches WHERE hall = ? AND code = ?",
                                  (w.hall, w.code)).fetchone()
        return bool(row and row[0])

    async def check_hall(self, hall: str, hall_name: str, lookup: Lookup,
                         by_appointment: Lookup | None = None) -> None:
        """Look up every watched ticket of `hall` and send what is due; a booking is
        looked up by its code (`by_appointment`) until it has a ticket."""
        for w in self.watches(hall):
            if w.kind == APPOINTMENT:
                if by_appointment is None:
                    continue
                reply = await by_appointment(hall, w.code)
                if reply is None:
                    continue  # hall unreachable: try again on its next change
                if not reply.get("ok"):
                    if reply.get("error", {}).get("code") in BOOKING_GONE:
                        self.forget(hall, w.code)
                    continue  # not checked in yet
                ticket = reply["ticket"]
                self.checked_in(hall, w.code, ticket["code"])
                w = Watch(w.hall, ticket["code"], w.phone, w.created, w.ahead_sent,
                          w.called_sent, TICKET)
                self.on_ticket(w, ticket, hall_name)
                continue
            reply = await lookup(hall, w.code)
            if reply is None:
                continue  # hall unreachable: try again on its next change
            self.on_ticket(w, reply.get("ticket") if reply.get("ok") else None, hall_name)

    # ------------------------------------------------------------------ sending

    def _work(self) -> None:
        while True:
            n = self.outbox.get()
            if n is None:
                return
            try:
                self.gateway.send(n.phone, n.text)
                self.sent += 1
                log.info("sms %s sent to %s", n.kind, mask_phone(n.phone))
            except SendFailed as e:
                self.failed += 1
                log.warning("sms %s to %s failed: %s", n.kind, mask_phone(n.phone), e)
            except Exception:
                self.failed += 1
                log.exception("sms %s to %s failed", n.kind, mask_phone(n.phone))

    def close(self) -> None:
        self.outbox.put(None)
        self.worker.join(5)
        self.gateway.close()
        self.db.close()


__all__ = ["CALLED", "Notifier"]
