"""The kiosk's durable outbox: one row per intent (issue, checkin) until the server answers.

The request id is the idempotency key, so an entry sent again after a broker outage or
a kiosk restart is applied once. The row is the only place an ID number is written to
disk, and it is deleted as soon as its reply has arrived. Plain sqlite3: one small table
needs no schema library, and every write is synced (synchronous=FULL) before the request
leaves, so a power cut cannot lose an intent a resident saw accepted.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Intent:
    request_id: str
    op: str
    payload: dict[str, Any]
    created: float


class Outbox:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "outbox.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.parent.chmod(0o700)  # the entries may hold an ID number
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=DELETE")  # no WAL copy lingering after a delete
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")  # deleted ID numbers are overwritten
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, op TEXT NOT NULL,"
            " payload TEXT NOT NULL, created REAL NOT NULL)"
        )
        self.path.chmod(0o600)

    def add(self, request_id: str, op: str, payload: dict[str, Any],
            created: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (id, op, payload, created) VALUES (?, ?, ?, ?)",
                (request_id, op, json.dumps(payload, ensure_ascii=False),
                 time.time() if created is None else created),
            )

    def remove(self, request_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM outbox WHERE id = ?", (request_id,))
            return cur.rowcount > 0

    def pending(self) -> list[Intent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, op, payload, created FROM outbox ORDER BY created").fetchall()
        return [Intent(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def count(self, ops: Collection[str]) -> int:
        """Entries of these ops (the banner counts numbers and filings, not page uploads)."""
        marks = ",".join("?" * len(ops))
        with self._lock:
            return int(self._db.execute(
                f"SELECT count(*) FROM outbox WHERE op IN ({marks})", list(ops)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
