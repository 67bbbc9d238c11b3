"""The filing part's commands; parsed by filing.parse, decided by filing.rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..engine.commands import CounterCommand


class FilingCommand:
    """Marker: the engine hands these to filing.rules for their result."""


@dataclass(frozen=True)
class Guide(FilingCommand):
    code: str | None = None  # None: the index of items and bundles


@dataclass(frozen=True)
class Upload(FilingCommand):
    device: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class File(FilingCommand):
    device: str
    target: str
    values: dict[str, str] = field(repr=False)
    documents: dict[str, tuple[str, ...]]
    id_hash: str
    birth: date
    consent: bool = False
    reuse_from: str | None = None
    reuse_fields: tuple[str, ...] = ()
    reuse_documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status(FilingCommand):
    device: str
    number: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Prefill(FilingCommand):
    device: str
    target: str
    id_hash: str = field(repr=False)


@dataclass(frozen=True)
class TicketFor(FilingCommand):
    device: str
    number: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Supplement(FilingCommand):
    """补正: pages of what the clerk asked for, added at a kiosk to a needs_more filing."""

    device: str
    documents: dict[str, tuple[str, ...]]
    number: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class ReportGuide(FilingCommand):
    device: str
    item: str
    choices: tuple[str, ...]
    text: str | None = None


@dataclass(frozen=True)
class Read(CounterCommand, FilingCommand):
    number: str | None = None  # None: the filing linked to the counter's current ticket


@dataclass(frozen=True)
class ListOpen(CounterCommand, FilingCommand):
    """Open filings of the services this counter serves (a resident who filed and came
    to the window without the linked ticket, or with a ticket of another service)."""


@dataclass(frozen=True)
class ReadDocument(CounterCommand, FilingCommand):
    number: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Move(CounterCommand, FilingCommand):
    """filing_accept / filing_more / filing_reject / filing_done."""

    op: str = ""
    number: str | None = None
    missing: tuple[str, ...] = ()
    reason: str | None = None
    note: str | None = None
