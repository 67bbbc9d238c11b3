"""Filings, documents and guide reports as the engine holds them, beside the hall state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.model import HallState


class FilingStatus(StrEnum):
    SUBMITTED = "submitted"  # 已提交，待受理
    ACCEPTED = "accepted"  # 已受理
    NEEDS_MORE = "needs_more"  # 需补正
    REJECTED = "rejected"  # 不予受理
    DONE = "done"  # 已办结


STATUS_NAMES = {
    FilingStatus.SUBMITTED: "已提交，待受理",
    FilingStatus.ACCEPTED: "已受理",
    FilingStatus.NEEDS_MORE: "需补正材料",
    FilingStatus.REJECTED: "不予受理",
    FilingStatus.DONE: "已办结",
}

# Which status may follow which; the same status again is a no-op (idempotent).
MOVES: dict[FilingStatus, frozenset[FilingStatus]] = {
    FilingStatus.SUBMITTED: frozenset({FilingStatus.ACCEPTED, FilingStatus.NEEDS_MORE,
                                       FilingStatus.REJECTED}),
    # back to submitted only by the resident's `filing_supplement` (补正材料 at a kiosk)
    FilingStatus.NEEDS_MORE: frozenset({FilingStatus.ACCEPTED, FilingStatus.REJECTED,
                                        FilingStatus.SUBMITTED}),
    FilingStatus.ACCEPTED: frozenset({FilingStatus.DONE}),
    FilingStatus.REJECTED: frozenset(),
    FilingStatus.DONE: frozenset(),
}
CLOSED = (FilingStatus.REJECTED, FilingStatus.DONE)


class FilingEventKind(StrEnum):
    DOCUMENT_STORED = "document_stored"
    FILED = "filed"
    FILING_LINKED = "filing_linked"  # a ticket now carries the filing
    FILING_SUPPLEMENTED = "filing_supplemented"  # the resident sent what was missing
    FILING_ACCEPTED = "filing_accepted"
    FILING_NEEDS_MORE = "filing_needs_more"
    FILING_REJECTED = "filing_rejected"
    FILING_DONE = "filing_done"
    FILING_READ = "filing_read"  # a clerk opened a filing or one of its documents (audit)
    GUIDE_REPORTED = "guide_reported"


STATUS_EVENTS = {
    FilingEventKind.FILING_ACCEPTED: FilingStatus.ACCEPTED,
    FilingEventKind.FILING_NEEDS_MORE: FilingStatus.NEEDS_MORE,
    FilingEventKind.FILING_REJECTED: FilingStatus.REJECTED,
    FilingEventKind.FILING_DONE: FilingStatus.DONE,
}


@dataclass
class Document:
    """A stored image, known by the SHA-256 of its bytes. The bytes ride on the
    DOCUMENT_STORED event only until the store has written them to disk."""

    sha256: str
    size: int
    width: int
    height: int
    format: str  # JPEG | PNG
    stored_at: datetime
    devices: set[str] = field(default_factory=set)  # kiosks that uploaded it
    data: bytes | None = field(default=None, repr=False)


@dataclass
class Filing:
    number: str  # F20261123001: F, the local day, a count per day
    code: str  # unguessable token for the receipt's status QR
    day: date
    seq: int
    target: str  # item or bundle code
    kind: str  # item | bundle
    items: tuple[str, ...]
    service: str
    device: str  # the kiosk that submitted it: the only kiosk that reads it in full
    submitted_at: datetime
    id_hash: str
    values: dict[str, str]  # the form as filled (personal data: encrypted at rest)
    documents: dict[str, list[str]]  # material key -> SHA-256 of its pages
    consent: bool  # may be offered again at the person's next filing (一次录入)
    reused_from: str | None = None
    status: FilingStatus = FilingStatus.SUBMITTED
    ticket: int | None = None  # the linked ticket's id
    missing: tuple[str, ...] = ()
    reason: str | None = None
    note: str | None = None
    updated_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED


@dataclass
class GuideReport:
    at: datetime
    device: str
    item: str
    version: str
    choices: tuple[str, ...]
    text: str | None


@dataclass
class FilingBook:
    filings: dict[str, Filing] = field(default_factory=dict)
    by_code: dict[str, str] = field(default_factory=dict)
    by_ticket: dict[int, list[str]] = field(default_factory=dict)  # ticket id -> numbers
    # the latest filing made with consent to reuse, per person (keyed ID hash)
    latest: dict[str, str] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    seq: dict[date, int] = field(default_factory=dict)
    # reads a stored document's bytes; injected by the store (the rules do no I/O)
    reader: Callable[[str], bytes] | None = None

    def index(self, f: Filing) -> None:
        self.filings[f.number] = f
        self.by_code[f.code] = f.number
        self.seq[f.day] = max(self.seq.get(f.day, 0), f.seq)
        if f.ticket is not None:
            linked = self.by_ticket.setdefault(f.ticket, [])
            if f.number not in linked:
                linked.append(f.number)
        if f.consent:
            had = self.filings.get(self.latest.get(f.id_hash, ""))
            if had is None or had.submitted_at <= f.submitted_at:
                self.latest[f.id_hash] = f.number


def book(s: HallState) -> FilingBook:
    """The filings of a hall state. Kept in the state object's own attributes so the
    engine's model needs no change for this part (and a fresh state starts empty)."""
    b = s.__dict__.get("filings")
    if b is None:
        b = s.__dict__["filings"] = FilingBook()
    return b


def linked_filings(s: HallState, ticket_id: int) -> list[str]:
    """The numbers of the filings linked to a ticket, oldest first: no personal data, fit
    for state topics."""
    b = s.__dict__.get("filings")
    return list(b.by_ticket.get(ticket_id, ())) if b is not None else []
