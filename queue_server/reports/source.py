"""Reading the hall's database for reports: read-only, never through the server.

The database is opened with SQLite's `mode=ro` URI, so a report can run beside a
live server (WAL readers do not block the writer) and can never change the hall's
data. Only the columns reports need are read; ID-number hashes are never selected.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


class ReportSourceError(RuntimeError):
    """The data directory holds no readable hall database."""


@dataclass(frozen=True)
class LogEvent:
    """One row of the append-only `events` table."""

    seq: int
    at: datetime
    device: str
    kind: str
    ticket: int | None
    number: str | None
    counter: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUpRow:
    """A rating row: level and, for bad ratings, the follow-up state."""

    ticket: int
    number: str
    counter: str
    level: int
    at: datetime
    reason: str | None
    due: datetime | None
    handled_at: datetime | None


@dataclass(frozen=True)
class ReportData:
    events: list[LogEvent]
    ratings: list[FollowUpRow]


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def open_readonly(data_dir: str | Path) -> sqlite3.Connection:
    path = Path(data_dir) / "hall.db"
    if not path.is_file():
        raise ReportSourceError(f"{path}: no hall database (is --data the server's data dir?)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("SELECT 1 FROM events LIMIT 1")
    except sqlite3.Error as e:
        raise ReportSourceError(f"{path}: cannot read the hall database: {e}") from None
    return conn


def load(data_dir: str | Path, first: date, last: date) -> ReportData:
    """Every event of the tickets issued on days first..last, and their ratings."""
    conn = open_readonly(data_dir)
    try:
        days = (first.isoformat(), last.isoformat())
        picked = "SELECT id FROM tickets WHERE day BETWEEN ? AND ?"
        rows = conn.execute(
            "SELECT seq, at, device, kind, ticket, number, counter, data FROM events"
            f" WHERE ticket IN ({picked}) ORDER BY seq", days,
        ).fetchall()
        events = [
            LogEvent(seq=r[0], at=datetime.fromisoformat(r[1]), device=r[2] or "", kind=r[3],
                     ticket=r[4], number=r[5], counter=r[6],
                     data=json.loads(r[7]) if r[7] else {})
            for r in rows
        ]
        ratings = [
            FollowUpRow(ticket=r[0], number=r[1], counter=r[2], level=r[3],
                        at=datetime.fromisoformat(r[4]), reason=r[5], due=_dt(r[6]),
                        handled_at=_dt(r[7]))
            for r in conn.execute(
                "SELECT ticket, number, counter, level, at, reason, follow_up_due, handled_at"
                f" FROM ratings WHERE ticket IN ({picked}) ORDER BY at", days,
            )
        ]
    except sqlite3.Error as e:
        raise ReportSourceError(f"{data_dir}: cannot read the hall database: {e}") from None
    finally:
        conn.close()
    return ReportData(events, ratings)
