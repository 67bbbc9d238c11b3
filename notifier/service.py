"""The notifier: phone numbers residents gave, checked against their tickets, texts sent
on a worker thread so a slow or failed gateway never holds anything up.

Phone numbers live only here, in one SQLite table on the portal's server (never in MQTT,
never in a page): a row is deleted when its ticket ends (done, no-show) or is no longer
found, and in any case `keep_hours` after it was given.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .gateway import SendFailed, SmsConfig, SmsGateway
from .rules import AHEAD, CALLED, Notice, Watch, due, finished, mask_phone

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]


class Notifier:
    def __init__(self, path: str | Path, config: SmsConfig,
                 gateway: SmsGateway | None = None) -> None:
        self.config = config
        self.gateway = gateway or SmsGateway(config)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("""CREATE TABLE IF NOT EXISTS watches (
            hall TEXT, code TEXT, phone TEXT, created TEXT,
            ahead_sent INTEGER DEFAULT 0, called_sent INTEGER DEFAULT 0,
            PRIMARY KEY (hall, code))""")
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
            self.db.execute("INSERT OR REPLACE INTO watches (hall, code, phone, created) "
                            "VALUES (?, ?, ?, ?)", (hall, code, phone, now.isoformat()))
            self.db.commit()

    def watches(self, hall: str) -> list[Watch]:
        with self.lock:
            rows = self.db.execute("SELECT hall, code, phone, created, ahead_sent, called_sent "
                                   "FROM watches WHERE hall = ?", (hall,)).fetchall()
        return [Watch(r[0], r[1], r[2], datetime.fromisoformat(r[3]), bool(r[4]), bool(r[5]))
                for r in rows]

    def halls(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT hall FROM watches")]

    def forget(self, hall: str, code: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM watches WHERE hall = ? AND code = ?", (hall, code))
            self.db.commit()

    def expire(self, now: datetime) -> int:
        cutoff = (now - timedelta(hours=self.config.keep_hours)).isoformat()
        with self.lock:
            n = self.db.execute("DELETE FROM watches WHERE created < ?", (cutoff,)).rowcount
            self.db.commit()
        return n

    # ------------------------------------------------------------------ decisions

    def on_ticket(self, w: Watch, ticket: dict[str, Any] | None, hall_name: str) -> None:
        """Queue what `w` is owed; never blocks on the gateway."""
        if ticket is not None:
            notices = due(w, ticket, hall_name, self.config.ahead, self.config.template_ahead,
                          self.config.template_called)
            for n in notices:
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

    async def check_hall(self, hall: str, hall_name: str, lookup: Lookup) -> None:
        """Look up every watched ticket of `hall` and send what is due."""
        for w in self.watches(hall):
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
