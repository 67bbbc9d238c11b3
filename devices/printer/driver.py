"""The ticket printer as the kiosk sees it: ask, print, confirm.

print_ticket() returns only when the printer said it was online with paper both before and
after it was sent the ticket; anything else raises a PrinterError whose `sent` tells the
kiosk whether a (partial) ticket may have come out.

A limit worth knowing: DLE EOT is answered in real time, as soon as it arrives, possibly
while the printer is still working through its buffer. A roll that runs out in the last
centimetres after the after-check is therefore not seen; the paper near-end sensor
(reported as paper "near_end") is the warning for that, and the kiosk should call staff on it.
With confirm = "sync" the driver also sends GS r 1, whose reply comes only after everything
before it has printed, and reports the ticket only once that reply arrived.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import protocol
from .errors import (
    PaperOut,
    PrinterError,
    PrinterNotResponding,
    PrinterOffline,
    PrinterUnavailable,
    StatusUnsupported,
)
from .layout import Ticket, build_ticket
from .protocol import PaperState, PrinterStatus
from .settings import PrinterAddress, PrinterSettings
from .transport import Transport, open_transport, read_until

log = logging.getLogger(__name__)


def _ask(transport: Transport, query: bytes, timeout: float) -> int | None:
    transport.write(query)
    return read_until(transport, protocol.is_status_byte, timeout)


def query_status(transport: Transport, timeout: float) -> PrinterStatus:
    """DLE EOT 1 and 4 (and 2 when offline, for the reason), each waiting at most `timeout`."""
    transport.discard_input()
    printer = _ask(transport, protocol.STATUS_PRINTER, timeout)
    if printer is None:
        raise PrinterNotResponding(
            f"the printer at {transport.address} did not answer a status query within "
            f"{timeout:g} s (is it switched on, connected, and set to this baud rate?)"
        )
    paper = _ask(transport, protocol.STATUS_PAPER, timeout)
    if paper is None:
        raise PrinterNotResponding(
            f"the printer at {transport.address} answered the first status query but not the "
            f"paper query within {timeout:g} s"
        )
    online = protocol.parse_printer_status(printer)
    cover_open = error = False
    if not online:
        cause = _ask(transport, protocol.STATUS_OFFLINE_CAUSE, timeout)
        if cause is not None:
            cover_open, _, error = protocol.parse_offline_cause(cause)
    return PrinterStatus(online, protocol.parse_paper_status(paper), cover_open, error)


def check_can_print(status: PrinterStatus, *, sent: bool) -> None:
    """Raise PaperOut or PrinterOffline unless the status allows printing."""
    if status.can_print:
        return
    if sent:
        what = f"{status.describe()} after the ticket was sent; the ticket may be incomplete"
    else:
        what = f"{status.describe()}; nothing was printed"
    if status.paper is PaperState.OUT:
        raise PaperOut(what, sent=sent)
    raise PrinterOffline(what, sent=sent)


@dataclass(frozen=True)
class PrintResult:
    """A ticket the printer confirmed (or, with verify=False, only wrote)."""

    number: str
    bytes_sent: int
    mode: str  # "gb18030" | "raster"
    status: PrinterStatus | None  # the after-check; None when not verified
    verified: bool
    seconds: float

    @property
    def paper_low(self) -> bool:
        return self.status is not None and self.status.paper is PaperState.NEAR_END


class TicketPrinter:
    """One configured printer. Opens the connection per call, so a replugged printer works."""

    def __init__(
        self,
        settings: PrinterSettings,
        *,
        verify: bool = True,
        opener: Callable[[PrinterAddress], Transport] = open_transport,
    ) -> None:
        self.settings = settings
        self.verify = verify
        self._open = opener
        # One job at a time: a status reply must not be read by another caller's query.
        self._lock = threading.Lock()

    def _wait_printed(self, transport: Transport) -> bool:
        """Send GS r 1 and wait for its reply, which the printer sends once everything before
        it has printed; False if none came (stopped mid-ticket, or no GS r support)."""
        transport.write(protocol.TRANSMIT_PAPER_STATUS)
        reply = read_until(transport, protocol.is_gs_r_byte, self.settings.print_timeout_s)
        return reply is not None

    def status(self) -> PrinterStatus:
        with self._lock, self._open(self.settings.address) as transport:
            if not transport.can_read:
                raise StatusUnsupported(f"{self.settings.address} cannot report its status")
            return query_status(transport, self.settings.status_timeout_s)

    def print_ticket(self, ticket: Mapping[str, object]) -> PrintResult:
        """Print one ticket or raise PrinterError (TicketError before the printer is touched)."""
        parsed = Ticket.from_dict(ticket)
        return self.print_bytes(build_ticket(parsed, self.settings), parsed.number)

    def print_bytes(self, data: bytes, label: str, what: str = "ticket") -> PrintResult:
        """Send built bytes (a ticket, or a receipt or guide by `what`) or raise PrinterError:
        the status checked before (nothing sent to a printer that cannot print) and after
        (with confirm = "sync", also the end of printing)."""
        started = time.monotonic()
        timeout = self.settings.status_timeout_s
        with self._lock, self._open(self.settings.address) as transport:
            if not transport.can_read and self.verify:
                raise StatusUnsupported(
                    f"{self.settings.address} cannot report its status, so a {what} could not "
                    "be confirmed; nothing was printed"
                )
            if transport.can_read:
                check_can_print(query_status(transport, timeout), sent=False)
            try:
                transport.write(data)
                transport.flush()
            except PrinterError as e:
                raise PrinterUnavailable(f"{e}; the {what} may be incomplete", sent=True) from e
            after = None
            if transport.can_read:
                synced = self.settings.confirm != "sync" or self._wait_printed(transport)
                try:
                    after = query_status(transport, timeout)
                except PrinterError as e:
                    raise type(e)(f"{e}; the {what} may be incomplete", sent=True) from e
                check_can_print(after, sent=True)
                if not synced:
                    raise PrinterNotResponding(
                        f"the printer did not confirm the end of printing (GS r 1) within "
                        f"{self.settings.print_timeout_s:g} s; the {what} may be incomplete",
                        sent=True,
                    )
        seconds = time.monotonic() - started
        log.info(
            "printed %s %s (%d bytes, %s) on %s in %.2f s",
            what,
            label,
            len(data),
            self.settings.encoding,
            self.settings.address,
            seconds,
        )
        return PrintResult(label, len(data), self.settings.encoding, after, after is not None,
                           seconds)
