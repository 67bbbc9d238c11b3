"""ESC/POS ticket printer: layout, driver with status checks, simulator, CLI.

    from devices.printer import PrinterSettings, TicketPrinter
    printer = TicketPrinter(PrinterSettings.from_config(hall.device("kiosk-1")))
    result = printer.print_ticket(ticket)   # raises PaperOut, PrinterOffline, ...
"""

from .driver import PrintResult, TicketPrinter, query_status
from .errors import (
    PaperOut,
    PrinterConfigError,
    PrinterError,
    PrinterNotResponding,
    PrinterOffline,
    PrinterUnavailable,
    StatusUnsupported,
    TicketError,
)
from .layout import Ticket, build_ticket, layout_ticket
from .protocol import PaperState, PrinterStatus
from .settings import PrinterAddress, PrinterSettings, parse_printer_address

__all__ = [
    "PaperOut",
    "PaperState",
    "PrintResult",
    "PrinterAddress",
    "PrinterConfigError",
    "PrinterError",
    "PrinterNotResponding",
    "PrinterOffline",
    "PrinterSettings",
    "PrinterStatus",
    "PrinterUnavailable",
    "StatusUnsupported",
    "Ticket",
    "TicketError",
    "TicketPrinter",
    "build_ticket",
    "layout_ticket",
    "parse_printer_address",
    "query_status",
]
