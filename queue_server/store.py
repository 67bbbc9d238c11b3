"""The only module that touches SQLite.

One file per hall (`DIR/hall.db`), WAL mode with synchronous=FULL: a commit returns
once the WAL is fsynced, and the server replies only after that. Several requests
share one transaction (group commit) so one fsync covers a burst. Tables hold the
current state; `events` is the append-only audit log; `requests` maps a device's
request id to the reply it got (idempotency). ID numbers are never stored: only
an HMAC under a per-hall secret kept in `meta`.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from . import estimate, estimate_learned
from .checkpoint import INTERVAL_S as CHECKPOINT_S
from .checkpoint import WalCheckpointer
from .config import Hall
from .engine import Event, HallState
from .engine.core import EventKind, index_ticket, new_state
from .engine.model import (
    Appointment,
    AppointmentStatus,
    CounterStatus,
    Rating,
    Source,
    Ticket,
    TicketStatus,
)
from .filing.db import FilingDb

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
OPEN = ("waiting", "transferred", "called", "serving")


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


class Store:
    def __init__(self, data_dir: str | Path, hall: Hall) -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "hall.db"
        self.hall = hall
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._in_tx = False
        self._checkpointer: WalCheckpointer | None = None
        self._create()
        self.secret = self._secret()
        self.filing = FilingDb(self.dir, self.db)  # filings, documents, guide reports
        with self.transaction():
            self.filing.ensure_tables()

    # ---------------------------------------------------------------- schema

    def _create(self) -> None:
        db = self.db
        if "meta" not in db.table_names():
            with self.transaction():
                db["meta"].create({"key": str, "value": str}, pk="key")
                db["tickets"].create({
                    "id": int, "day": str, "seq": int, "origin": str, "service": str,
                    "number": str, "issued_at": str, "queued_at": str, "source": str,
                    "priority": int, "code": str, "status": str, "id_hash": str,
                    "appointment": str, "counter": str, "target_counter": str,
                    "called_at": str, "started_at": str, "finished_at": str,
                    "recalls": int, "transfers": int, "rated": int,
                }, pk="id", not_null={"day", "seq", "origin", "number", "code", "status"})
                db["tickets"].create_index(["day", "origin", "seq"], unique=True)
                db["tickets"].create_index(["code"], unique=True)
                db["tickets"].create_index(["status"])
                db["counters"].create({
                    "id": str, "status": str, "current": int, "pause_reason": str, "since": str,
                }, pk="id")
                db["appointments"].create({
                    "code": str, "service": str, "slot_start": str, "slot_end": str,
                    "booked_at": str, "status": str, "id_hash": str, "ticket": int,
                }, pk="code")
                db["appointments"].create_index(["slot_start"])
                db["ratings"].create({
                    "ticket": int, "number": str, "counter": str, "level": int, "at": str,
                    "reason": str, "comment": str, "follow_up_due": str, "handled_at": str,
                    "handled_note": str,
                }, pk="ticket")
                db["events"].create({
                    "seq": int, "at": str, "device": str, "request_id": str, "kind": str,
                    "ticket": int, "number": str, "counter": str, "appointment": str,
                    "data": str,
                }, pk="seq")
                db["events"].create_index(["at"])
                db["requests"].create({
                    "device": str, "request_id": str, "day": str, "op": str, "reply": str,
                }, pk=("device", "request_id"))
                db["requests"].create_index(["day"])
                db["meta"].insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})
        version = int(db["meta"].get("schema_version")["value"])
        if version != SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: schema version {version}, expected {SCHEMA_VERSION}")

    def _secret(self) -> bytes:
        rows = list(self.db.query("SELECT value FROM meta WHERE key = 'id_secret'"))
        if rows:
            return bytes.fromhex(rows[0]["value"])
        value = secrets.token_bytes(32)
        with self.transaction():
            self.db["meta"].insert({"key": "id_secret", "value": value.hex()})
        return value

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT; the COMMIT returns after the WAL is on disk."""
        if self._in_tx:  # nested use joins the open transaction
            yield
            return
        conn = self.db.conn  # not sqlite-utils' execute: it parses each statement (per request)
        conn.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self._in_tx = False
            conn.execute("ROLLBACK")
            raise
        self._in_tx = False
        conn.execute("COMMIT")

    # ---------------------------------------------------------------- idempotency

    def cached_reply(self, device: str, request_id: str) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            "SELECT reply FROM requests WHERE device = ? AND request_id = ?", [device, request_id]
        ).fetchone()
        return self.filing.uncached(json.loads(row[0])) if row else None

    def record(
        self,
        *,
        device: str,
        request_id: str | None,
        op: str,
        at: datetime,
        events: list[Event],
        state: HallState,
        reply: dict[str, Any] | None,
    ) -> None:
        """Write one request's effects; call inside transaction()."""
        conn = self.db.conn
        if events:
            conn.executemany(
                "INSERT INTO events (at, device, request_id, kind, ticket, number, counter,"
                " appointment, data) VALUES (?,?,?,?,?,?,?,?,?)",
                [self._event_row(e, device, request_id, state) for e in events],
            )
            self._save_entities(events, state)
        if request_id is not None and reply is not None:
            conn.execute(
                "INSERT OR REPLACE INTO requests (device, request_id, day, op, reply)"
                " VALUES (?,?,?,?,?)",
                [device, request_id, at.date().isoformat(), op,
                 json.dumps(self.filing.cacheable(op, reply), ensure_ascii=False)],
            )

    def _event_row(self, e: Event, device: str, rid: str | None, s: HallState) -> tuple:
        t = s.tickets.get(e.ticket) if e.ticket is not None else None
        return (
            _iso(e.at), device, rid, str(e.kind), e.ticket, t.number if t else None, e.counter,
            e.appointment, json.dumps(e.data, ensure_ascii=False, default=str),
        )

    def _save_entities(self, events: list[Event], s: HallState) -> None:
        conn = self.db.conn
        tickets = {e.ticket for e in events if e.ticket is not None}
        counters = {e.counter for e in events if e.counter is not None}
        for tid in tickets:
            t = s.tickets.get(tid)
            if t is None:
                continue
            if t.counter:
                counters.add(t.counter)
            conn.execute(
                "INSERT OR REPLACE INTO tickets (id, day, seq, origin, service, number,"
                " issued_at, queued_at, source, priority, code, status, id_hash, appointment,"
                " counter, target_counter, called_at, started_at, finished_at, recalls,"
                " transfers, rated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (t.id, t.day.isoformat(), t.seq, t.origin, t.service, t.number,
                 _iso(t.issued_at), _iso(t.queued_at), str(t.source), int(t.priority), t.code,
                 str(t.status), t.id_hash, t.appointment, t.counter, t.target_counter,
                 _iso(t.called_at), _iso(t.started_at), _iso(t.finished_at), t.recalls,
                 t.transfers, int(t.rated)),
            )
        for cid in counters:
            ct = s.counters[cid]
            conn.execute(
                "INSERT OR REPLACE INTO counters (id, status, current, pause_reason, since)"
                " VALUES (?,?,?,?,?)",
                (ct.id, str(ct.status), ct.current, ct.pause_reason, _iso(ct.since)),
            )
        for e in events:
            if e.appointment is not None and e.appointment in s.appointments:
                a = s.appointments[e.appointment]
                conn.execute(
                    "INSERT OR REPLACE INTO appointments (code, service, slot_start, slot_end,"
                    " booked_at, status, id_hash, ticket) VALUES (?,?,?,?,?,?,?,?)",
                    (a.code, a.service, _iso(a.slot_start), _iso(a.slot_end), _iso(a.booked_at),
                     str(a.status), a.id_hash, a.ticket),
                )
            if e.kind is EventKind.RATED and e.ticket in s.ratings:
                r = s.ratings[e.ticket]
                conn.execute(
                    "INSERT OR REPLACE INTO ratings (ticket, number, counter, level, at, reason,"
                    " comment, follow_up_due, handled_at, handled_note)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (r.ticket, r.number, r.counter, r.level, _iso(r.at), r.reason, r.comment,
                     _iso(r.follow_up_due), _iso(r.handled_at), r.handled_note),
                )
        self.filing.save(events, s)

    # ---------------------------------------------------------------- loading

    def load(self, today: date) -> HallState:
        """Today's and yesterday's tickets, every still-open one, counters, appointments."""
        s = new_state(self.hall)
        since = (today - timedelta(days=1)).isoformat()
        marks = ",".join("?" * len(OPEN))
        rows = self.db.execute(
            f"SELECT * FROM tickets WHERE day >= ? OR status IN ({marks})"
            " ORDER BY queued_at, id", [since, *OPEN],
        )
        cols = [d[0] for d in rows.description]
        for raw in rows:
            r = dict(zip(cols, raw, strict=True))
            index_ticket(s, Ticket(
                id=r["id"], day=date.fromisoformat(r["day"]), seq=r["seq"], origin=r["origin"],
                service=r["service"], issued_at=_dt(r["issued_at"]),  # type: ignore[arg-type]
                queued_at=_dt(r["queued_at"]),  # type: ignore[arg-type]
                source=Source(r["source"]), priority=bool(r["priority"]), code=r["code"],
                status=TicketStatus(r["status"]), id_hash=r["id_hash"],
                appointment=r["appointment"], counter=r["counter"],
                target_counter=r["target_counter"], called_at=_dt(r["called_at"]),
                started_at=_dt(r["started_at"]), finished_at=_dt(r["finished_at"]),
                recalls=r["recalls"] or 0, transfers=r["transfers"] or 0, rated=bool(r["rated"]),
            ))
        # numbering survives even if every ticket of the day was pruned from memory
        for day, origin, seq in self.db.execute(
            "SELECT day, origin, MAX(seq) FROM tickets WHERE day >= ? GROUP BY day, origin",
            [since],
        ):
            key = (date.fromisoformat(day), origin)
            s.seq[key] = max(s.seq.get(key, 0), seq)
        max_id = self.db.execute("SELECT MAX(id) FROM tickets").fetchone()[0]
        s.next_id = max(s.next_id, (max_id or 0) + 1)

        for r in self.db["counters"].rows:
            ct = s.counters.get(r["id"])
            if ct is None:
                log.warning("counter %s in the database is not in the config; ignored", r["id"])
                continue
            ct.status = CounterStatus(r["status"])
            ct.current = r["current"] if r["current"] in s.tickets else None
            ct.pause_reason, ct.since = r["pause_reason"], _dt(r["since"])
        for cid, status, n in self.db.execute(
            "SELECT counter, status, COUNT(*) FROM tickets WHERE status IN ('done','no_show')"
            " AND substr(finished_at, 1, 10) = ? GROUP BY counter, status", [today.isoformat()],
        ):
            if cid in s.counters:
                s.counters[cid].count(today, **({"served": n} if status == "done" else
                                               {"no_show": n}))

        # what each counter's rating pad rates: its latest served ticket of today
        for cid, tid in self.db.execute(
            "SELECT counter, id FROM tickets t WHERE status = 'done' AND day = ?"
            " AND finished_at = (SELECT MAX(finished_at) FROM tickets u WHERE u.status = 'done'"
            " AND u.day = t.day AND u.counter = t.counter)", [today.isoformat()],
        ):
            if cid in s.counters and tid in s.tickets:
                s.counters[cid].last_served = tid
        for r in self.db.query(
            "SELECT * FROM appointments WHERE status = 'booked' OR slot_end >= ?", [since]
        ):
            s.appointments[r["code"]] = Appointment(
                code=r["code"], service=r["service"],
                slot_start=_dt(r["slot_start"]),  # type: ignore[arg-type]
                slot_end=_dt(r["slot_end"]),  # type: ignore[arg-type]
                booked_at=_dt(r["booked_at"]),  # type: ignore[arg-type]
                status=AppointmentStatus(r["status"]), id_hash=r["id_hash"], ticket=r["ticket"],
            )
        for r in self.db.query("SELECT * FROM ratings WHERE at >= ?", [since]):
            s.ratings[r["ticket"]] = Rating(
                ticket=r["ticket"], number=r["number"], counter=r["counter"], level=r["level"],
                at=_dt(r["at"]), reason=r["reason"], comment=r["comment"],  # type: ignore[arg-type]
                follow_up_due=_dt(r["follow_up_due"]), handled_at=_dt(r["handled_at"]),
                handled_note=r["handled_note"],
            )
        for svc in self.hall.services:
            recent = self.db.execute(
                "SELECT started_at, called_at, finished_at FROM tickets WHERE service = ?"
                " AND status = 'done' AND finished_at IS NOT NULL"
                " ORDER BY finished_at DESC LIMIT ?", [svc.code, estimate.RECENT],
            ).fetchall()
            times: deque[float] = deque(maxlen=estimate.RECENT)
            for started, called, finished in reversed(recent):
                began = _dt(started or called)
                if began is not None:
                    times.append(max(0.0, (_dt(finished) - began).total_seconds()))  # type: ignore[operator]
            if times:
                s.service_times[svc.code] = times
        self.filing.load(s, today, self.hall)
        last = self.db.execute("SELECT MAX(at) FROM events").fetchone()[0]
        s.last_at = _dt(last)
        estimate_learned.seed(self.hall, s, *self.estimate_history(today))
        return s

    def estimate_history(self, today: date, days: int = estimate_learned.KEEP_DAYS,
                         ) -> tuple[list[Ticket], list[tuple[str, str, datetime]],
                                    list[tuple[str, datetime]]]:
        """What the wait model learns from beyond the tickets held in memory: ended
        tickets of the `days` before yesterday, and of those days and since, the
        counters' open/pause/close events (their open hours) and the transfers (to
        service, at), oldest first."""
        since = (today - timedelta(days=days)).isoformat()
        held = (today - timedelta(days=1)).isoformat()
        rows = self.db.execute(
            "SELECT id, day, seq, origin, service, issued_at, queued_at, source, priority,"
            " code, status, counter, called_at, started_at, finished_at FROM tickets"
            " WHERE day >= ? AND day < ? AND status IN ('done', 'no_show')", [since, held])
        tickets = [Ticket(
            id=r[0], day=date.fromisoformat(r[1]), seq=r[2], origin=r[3], service=r[4],
            issued_at=_dt(r[5]), queued_at=_dt(r[6]),  # type: ignore[arg-type]
            source=Source(r[7]), priority=bool(r[8]), code=r[9], status=TicketStatus(r[10]),
            counter=r[11], called_at=_dt(r[12]), started_at=_dt(r[13]),
            finished_at=_dt(r[14])) for r in rows]
        events = [(cid, kind, _dt(at)) for cid, kind, at in self.db.execute(
            "SELECT counter, kind, at FROM events WHERE at >= ? AND kind IN"
            " ('counter_opened', 'counter_resumed', 'counter_paused', 'counter_closed')"
            " ORDER BY seq", [since])]
        transfers = [(json.loads(data).get("service"), _dt(at)) for at, data in self.db.execute(
            "SELECT at, data FROM events WHERE at >= ? AND kind = 'transferred' ORDER BY seq",
            [since])]
        return tickets, events, transfers  # type: ignore[return-value]

    # ---------------------------------------------------------------- follow-ups

    def follow_ups(self, *, include_handled: bool = False) -> list[dict[str, Any]]:
        """Bad ratings flagged for follow-up (差评回访), the earliest due first."""
        where = "follow_up_due IS NOT NULL" + ("" if include_handled else
                                               " AND handled_at IS NULL")
        return list(self.db.query(
            "SELECT r.*, t.day AS day, t.service AS service FROM ratings r"
            f" LEFT JOIN tickets t ON t.id = r.ticket WHERE {where}"
            " ORDER BY follow_up_due, r.ticket"))

    def handle_follow_up(self, number: str, note: str, at: datetime, *, by: str,
                         day: date | None = None) -> dict[str, Any]:
        """Mark the follow-up of ticket `number`'s bad rating handled, with the audit event.

        Safe while the server runs: the server writes a rating row only once, when it is
        made, and never reads handled_at back into its rules. Raises LookupError with an
        English sentence when there is nothing (open) to mark."""
        sql = ("SELECT r.ticket, r.handled_at, t.day FROM ratings r JOIN tickets t"
               " ON t.id = r.ticket WHERE r.number = ? AND r.follow_up_due IS NOT NULL")
        args: list[Any] = [number]
        if day is not None:
            sql += " AND t.day = ?"
            args.append(day.isoformat())
        rows = self.db.execute(sql + " ORDER BY t.day DESC", args).fetchall()
        if not rows:
            raise LookupError(f"no bad rating of ticket {number} needs a follow-up"
                              + (f" on {day}" if day else ""))
        open_rows = [r for r in rows if r[1] is None]
        if not open_rows:
            raise LookupError(f"the follow-up of ticket {number} was already marked handled")
        if len(open_rows) > 1:
            days = ", ".join(r[2] for r in open_rows)
            raise LookupError(f"ticket {number} has open follow-ups on several days ({days});"
                              " give --day")
        ticket = open_rows[0][0]
        with self.transaction():
            self.db.execute("UPDATE ratings SET handled_at = ?, handled_note = ?"
                            " WHERE ticket = ?", [_iso(at), note, ticket])
            self.db.execute(
                "INSERT INTO events (at, device, request_id, kind, ticket, number, counter,"
                " appointment, data) VALUES (?,?,?,?,?,?,?,?,?)",
                [_iso(at), by, None, "follow_up_handled", ticket, number, None, None,
                 json.dumps({"note": note}, ensure_ascii=False)])
        row = self.db.execute("SELECT * FROM ratings WHERE ticket = ?", [ticket])
        cols = [d[0] for d in row.description]
        return dict(zip(cols, row.fetchone(), strict=True))

    def prune_requests(self, today: date, keep_days: int = 2) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM requests WHERE day < ?",
                            [(today - timedelta(days=keep_days)).isoformat()])
            unused = self.filing.purge_orphans(today)
        self.filing.delete_files(unused)

    def checkpoint_in_background(self, interval_s: float = CHECKPOINT_S) -> WalCheckpointer:
        """For the server: no checkpoint inside a request's COMMIT (see checkpoint.py)."""
        if self._checkpointer is None:
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = WalCheckpointer(self.path, interval_s).start()
        return self._checkpointer

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.conn.close()

