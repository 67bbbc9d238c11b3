"""The hall-side notifier: texts for tickets linked to a self-service filing whose form
gave a phone number (the `phone` field).

A filing's phone number never leaves the hall (DESIGN.md: personal data stays in the
server), so these texts cannot come from the portal. This process runs beside the queue
server on the hall's server machine and reads the server's data directory READ-ONLY:
`hall.db` opened in SQLite's read-only mode (WAL lets it read while the server writes)
and `filing.key` to unseal a filing's form when, and only when, a text is due. It needs
no MQTT device, no new op and no ACL change, and it cannot change anything the server
keeps. Its own SQLite (`sms-notifier.db`) holds ticket codes, filing numbers and sent
flags, never a phone number.

Queue positions are computed as the server computes them on a restart: the open tickets
in (queued_at, id) order through the engine's own queues (engine.core.index_ticket).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from queue_server.config import Hall
from queue_server.engine.core import index_ticket, new_state
from queue_server.engine.model import HallState, Source, Ticket, TicketStatus
from queue_server.engine.views import ahead_of

from .gateway import SmsConfig, SmsGateway
from .rules import Watch, normalise_phone
from .service import Notifier

log = logging.getLogger(__name__)

OPEN = ("waiting", "transferred", "called", "serving")
PHONE_FIELD = "phone"  # the resident's own number in every catalogue form that asks one


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


class NotReady(RuntimeError):
    """The server has not made its data directory yet (started before the server)."""


class HallSource:
    """Read-only view of the queue server's data directory."""

    def __init__(self, data_dir: str | Path, hall: Hall) -> None:
        self.dir = Path(data_dir)
        self.hall = hall
        path = self.dir / "hall.db"
        key = self.dir / "filing.key"
        if not path.exists() or not key.exists():
            raise NotReady(f"{self.dir}: no hall.db / filing.key yet (is the server started "
                           "with --data here?)")
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=5000")
        self.fernet = Fernet(key.read_bytes().strip())

    def version(self) -> int:
        """Changes whenever the server commits (SQLite's data_version)."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def state(self) -> HallState:
        """The open tickets in the engine's own queues (for `ahead`)."""
        s = new_state(self.hall)
        marks = ",".join("?" * len(OPEN))
        rows = self.db.execute(
            "SELECT id, day, seq, origin, service, issued_at, queued_at, source, priority,"
            " code, status, counter, target_counter FROM tickets"
            f" WHERE status IN ({marks}) ORDER BY queued_at, id", OPEN)
        for r in rows.fetchall():
            index_ticket(s, Ticket(
                id=r[0], day=datetime.fromisoformat(r[1]).date(), seq=r[2], origin=r[3],
                service=r[4], issued_at=_dt(r[5]),  # type: ignore[arg-type]
                queued_at=_dt(r[6]),  # type: ignore[arg-type]
                source=Source(r[7]), priority=bool(r[8]), code=r[9],
                status=TicketStatus(r[10]), counter=r[11], target_counter=r[12]))
        return s

    def ticket(self, s: HallState, code: str) -> dict[str, Any] | None:
        """What the notice rules need of ticket `code`; None if the server has no such."""
        tid = s.by_code.get(code)
        if tid is None:
            row = self.db.execute("SELECT number, status FROM tickets WHERE code = ?",
                                  (code,)).fetchone()
            return {"number": row[0], "status": row[1], "ahead": 0} if row else None
        t = s.tickets[tid]
        at_counter = t.status in (TicketStatus.CALLED, TicketStatus.SERVING)
        counter = self.hall.counter(t.counter) if t.counter and at_counter else None
        return {"number": t.number, "status": str(t.status), "ahead": ahead_of(s, t),
                "counter": t.counter if at_counter else None,
                "counter_name": counter.name if counter else None}

    def linked(self) -> list[tuple[str, str]]:
        """(ticket code, filing number) of every filing linked to an open ticket (one
        already called counts: this process may have been down while it waited)."""
        marks = ",".join("?" * len(OPEN))
        try:
            return [(r[0], r[1]) for r in self.db.execute(
                "SELECT t.code, f.number FROM filings f JOIN tickets t ON t.id = f.ticket"
                f" WHERE t.status IN ({marks}) ORDER BY f.number", OPEN)]
        except sqlite3.OperationalError:  # a database from before filings existed
            return []

    def phone(self, filing: str) -> str | None:
        """The mobile number the filing's form gave, unsealed here and kept nowhere."""
        row = self.db.execute("SELECT sealed FROM filings WHERE number = ?",
                              (filing,)).fetchone()
        if row is None:
            return None
        try:
            values = json.loads(self.fernet.decrypt(row[0].encode("ascii")))
        except (InvalidToken, ValueError):
            log.error("filing %s: sealed form cannot be read with this filing.key", filing)
            return None
        return normalise_phone(str(values.get(PHONE_FIELD) or ""))

    def close(self) -> None:
        self.db.close()


class HallNotifier:
    """Follows the tickets of filings that gave a number; one `poll` per server commit."""

    def __init__(self, source: HallSource, notifier_db: str | Path, config: SmsConfig,
                 gateway: SmsGateway | None = None) -> None:
        self.source = source
        self.hall = source.hall
        self.notifier = Notifier(notifier_db, config, gateway, phone_of=self._phone_of)
        self.last_version: int | None = None

    def _phone_of(self, w: Watch) -> str | None:
        return self.source.phone(w.phone)  # w.phone holds the filing number here

    def poll(self, now: datetime) -> bool:
        """Look again if the server committed since the last look; True if it looked."""
        self.notifier.expire(now)
        version = self.source.version()
        if version == self.last_version:
            return False
        self.last_version = version
        for code, filing in self.source.linked():
            if self.source.phone(filing) is not None:  # nothing without a number
                self.notifier.follow(self.hall.id, code, filing, now)
        watches = self.notifier.watches(self.hall.id)
        if watches:
            s = self.source.state()
            for w in watches:
                self.notifier.on_ticket(w, self.source.ticket(s, w.code), self.hall.name)
        return True

    def close(self) -> None:
        self.notifier.close()
        self.source.close()
