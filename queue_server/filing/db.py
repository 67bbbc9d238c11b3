"""The filing part's tables in the hall database; called by store.Store inside its
transactions (the store stays the only module that opens SQLite).

Tables are additive and created when missing (`CREATE TABLE IF NOT EXISTS`), so a hall
database of schema 1 gains them on the first start without a migration step:
- `filings`: one row per filing. The form's values (names, the ID number, phones,
  addresses, bank accounts) are one Fernet token in `sealed`, under the key in
  DIR/filing.key; every other column is free of personal data. `id_hash` is the keyed
  HMAC of the ID number (idnumber.keyed_hash), as for tickets.
- `documents`: what is known of each stored image (its bytes: documents.DocumentStore).
- `guide_reports`: residents' 纠错 reports on guides, for the supervisor.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.fernet import Fernet

from ..catalogue import for_hall
from ..config import Hall
from ..engine.model import HallState
from .documents import DocumentStore, load_key
from .parse import COUNTER_OPS, KIOSK_OPS
from .state import Document, Filing, FilingEventKind, FilingStatus, GuideReport, book

log = logging.getLogger(__name__)

K = FilingEventKind
# ops whose replies carry filing data (masked or whole): kept sealed in the reply cache
SEALED_OPS = (KIOSK_OPS | COUNTER_OPS) - {"guide", "upload", "report_guide_error"}
ORPHAN_DAYS = 1  # an upload no filing took within a day was a form left half-filled

TABLES = """
CREATE TABLE IF NOT EXISTS filings (
  number TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, day TEXT NOT NULL, seq INTEGER NOT NULL,
  target TEXT NOT NULL, kind TEXT NOT NULL, items TEXT NOT NULL, service TEXT NOT NULL,
  device TEXT NOT NULL, submitted_at TEXT NOT NULL, status TEXT NOT NULL,
  id_hash TEXT NOT NULL, sealed TEXT NOT NULL, documents TEXT NOT NULL,
  consent INTEGER NOT NULL, reused_from TEXT, ticket INTEGER, missing TEXT, reason TEXT,
  note TEXT, updated_at TEXT, history TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS filings_id_hash ON filings (id_hash, submitted_at);
CREATE INDEX IF NOT EXISTS filings_status ON filings (status);
CREATE TABLE IF NOT EXISTS documents (
  sha256 TEXT PRIMARY KEY, bytes INTEGER NOT NULL, width INTEGER NOT NULL,
  height INTEGER NOT NULL, format TEXT NOT NULL, stored_at TEXT NOT NULL,
  devices TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS guide_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, device TEXT NOT NULL,
  item TEXT NOT NULL, version TEXT NOT NULL, choices TEXT NOT NULL, text TEXT,
  handled_at TEXT, handled_note TEXT);
"""


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


class FilingDb:
    def __init__(self, data_dir: Path, db: sqlite_utils.Database) -> None:
        self.db = db
        self.dir = data_dir
        # Made when the store first opens a data directory: backup and restore
        # (queue_server/backup.py) rely on every opened data dir having its key.
        self._fernet: Fernet | None = Fernet(load_key(data_dir))
        self._documents: DocumentStore | None = None

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(load_key(self.dir))
        return self._fernet

    @property
    def documents(self) -> DocumentStore:
        if self._documents is None:
            self._documents = DocumentStore(self.dir, self.fernet)
        return self._documents

    def ensure_tables(self) -> None:
        for stmt in TABLES.split(";"):
            if stmt.strip():
                self.db.execute(stmt)

    # ---------------------------------------------------------------- writing

    def save(self, events: list[Any], s: HallState) -> None:
        """Write what this part's events changed; inside the store's transaction. A
        document's file is on disk (fsynced) before the row that names it commits."""
        b = book(s)
        touched: set[str] = set()
        for e in events:
            k = e.kind
            if not isinstance(k, FilingEventKind):
                continue
            if k is K.DOCUMENT_STORED:
                doc: Document = e.new
                assert doc.data is not None
                self.documents.put(doc.sha256, doc.data)
                known = b.documents[doc.sha256]
                self.db.execute(
                    "INSERT OR REPLACE INTO documents (sha256, bytes, width, height, format,"
                    " stored_at, devices) VALUES (?,?,?,?,?,?,?)",
                    [doc.sha256, doc.size, doc.width, doc.height, doc.format,
                     _iso(known.stored_at), json.dumps(sorted(known.devices))])
            elif k is K.GUIDE_REPORTED:
                r: GuideReport = e.new
                self.db.execute(
                    "INSERT INTO guide_reports (at, device, item, version, choices, text)"
                    " VALUES (?,?,?,?,?,?)",
                    [_iso(r.at), r.device, r.item, r.version,
                     json.dumps(list(r.choices), ensure_ascii=False), r.text])
            elif "number" in e.data and k is not K.FILING_READ:
                touched.add(e.data["number"])
        for number in touched:
            self._save_filing(b.filings[number])

    def _save_filing(self, f: Filing) -> None:
        sealed = self.fernet.encrypt(json.dumps(f.values, ensure_ascii=False).encode("utf-8"))
        self.db.execute(
            "INSERT OR REPLACE INTO filings (number, code, day, seq, target, kind, items,"
            " service, device, submitted_at, status, id_hash, sealed, documents, consent,"
            " reused_from, ticket, missing, reason, note, updated_at, history)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [f.number, f.code, f.day.isoformat(), f.seq, f.target, f.kind, json.dumps(f.items),
             f.service, f.device, _iso(f.submitted_at), str(f.status), f.id_hash,
             sealed.decode("ascii"), json.dumps(f.documents), int(f.consent), f.reused_from,
             f.ticket, json.dumps(list(f.missing), ensure_ascii=False), f.reason, f.note,
             _iso(f.updated_at), json.dumps(f.history, ensure_ascii=False)])

    # ---------------------------------------------------------------- loading

    def load(self, s: HallState, today: date, hall: Hall) -> None:
        """Open filings, those within [filing] prefill_days (prefill looks back that far),
        and what is known of their documents and of recent uploads."""
        keep_days = for_hall(hall)[0].prefill_days
        b = book(s)
        b.reader = self.documents.get
        since = (today - timedelta(days=max(keep_days, 2))).isoformat()
        rows = self.db.execute(
            "SELECT * FROM filings WHERE day >= ? OR status IN ('submitted','accepted',"
            "'needs_more') ORDER BY submitted_at, number", [since])
        cols = [d[0] for d in rows.description]
        wanted: set[str] = set()
        for raw in rows.fetchall():
            r = dict(zip(cols, raw, strict=True))
            values = json.loads(self.fernet.decrypt(r["sealed"].encode("ascii")))
            docs = json.loads(r["documents"])
            wanted.update(sha for v in docs.values() for sha in v)
            b.index(Filing(
                number=r["number"], code=r["code"], day=date.fromisoformat(r["day"]),
                seq=r["seq"], target=r["target"], kind=r["kind"], items=tuple(
                    json.loads(r["items"])), service=r["service"], device=r["device"],
                submitted_at=_dt(r["submitted_at"]),  # type: ignore[arg-type]
                id_hash=r["id_hash"], values=values, documents=docs,
                consent=bool(r["consent"]), reused_from=r["reused_from"],
                status=FilingStatus(r["status"]),
                ticket=r["ticket"] if r["ticket"] in s.tickets else None,
                missing=tuple(json.loads(r["missing"] or "[]")), reason=r["reason"],
                note=r["note"], updated_at=_dt(r["updated_at"]),
                history=json.loads(r["history"])))
        for r in self.db.query("SELECT MAX(seq) AS seq, day FROM filings WHERE day >= ?"
                               " GROUP BY day", [since]):
            d = date.fromisoformat(r["day"])
            b.seq[d] = max(b.seq.get(d, 0), r["seq"])
        recent = (today - timedelta(days=ORPHAN_DAYS)).isoformat()
        for r in self.db.query("SELECT * FROM documents"):
            if r["sha256"] in wanted or r["stored_at"] >= recent:
                b.documents[r["sha256"]] = Document(
                    sha256=r["sha256"], size=r["bytes"], width=r["width"], height=r["height"],
                    format=r["format"], stored_at=_dt(r["stored_at"]),  # type: ignore[arg-type]
                    devices=set(json.loads(r["devices"])))

    # ---------------------------------------------------------------- housekeeping

    def purge_orphans(self, today: date) -> list[str]:
        """Forget uploads no filing took (a form left half-filled is not kept); inside
        the store's transaction. Their files go with delete_files() after the commit."""
        cutoff = (today - timedelta(days=ORPHAN_DAYS)).isoformat()
        used: set[str] = set()
        for (docs,) in self.db.execute("SELECT documents FROM filings"):
            used.update(sha for v in json.loads(docs).values() for sha in v)
        gone = [sha for (sha,) in self.db.execute(
            "SELECT sha256 FROM documents WHERE stored_at < ?", [cutoff]) if sha not in used]
        for sha in gone:
            self.db.execute("DELETE FROM documents WHERE sha256 = ?", [sha])
        return gone

    def delete_files(self, shas: list[str]) -> None:
        """After the commit: a crash in between leaves a file, never a row without one."""
        for sha in shas:
            self.documents.delete(sha)
        if shas:
            log.info("deleted %d uploaded documents no filing used", len(shas))

    def cacheable(self, op: str, reply: dict[str, Any]) -> dict[str, Any]:
        """The reply as kept in `requests` for a repeated request id. A filing op's reply
        (the clerk's full view, the kiosk's masked one) is sealed with the filing key like
        the filing itself; a document's bytes are not kept at all (a lost reply is asked
        for again under a new id)."""
        if op not in SEALED_OPS:
            return reply
        doc = reply.get("document")
        if op == "filing_document" and isinstance(doc, dict) and doc.get("data") is not None:
            reply = {**reply, "document": {**doc, "data": None, "data_omitted": True}}
        token = self.fernet.encrypt(json.dumps(reply, ensure_ascii=False).encode("utf-8"))
        return {"id": reply.get("id"), "ok": reply.get("ok"), "sealed": token.decode("ascii")}

    def uncached(self, reply: dict[str, Any]) -> dict[str, Any]:
        """A kept reply as it was sent."""
        token = reply.get("sealed")
        if not isinstance(token, str):
            return reply
        return json.loads(self.fernet.decrypt(token.encode("ascii")))  # type: ignore[no-any-return]

    def guide_reports(self, *, include_handled: bool = False) -> list[dict[str, Any]]:
        where = "" if include_handled else " WHERE handled_at IS NULL"
        return list(self.db.query(f"SELECT * FROM guide_reports{where} ORDER BY at"))
