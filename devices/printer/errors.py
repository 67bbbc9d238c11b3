"""Typed printer failures. The kiosk catches PrinterError; `sent` tells it whether any ticket
bytes reached the printer (False: nothing was printed, safe to retry or show the number on
screen; True: a ticket may be half printed)."""

from __future__ import annotations


class PrinterError(Exception):
    """Base of every printer failure; str() is a plain English sentence for logs and CLIs."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class PrinterConfigError(PrinterError, ValueError):
    """A printer setting that cannot be used; names the config key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class TicketError(PrinterError, ValueError):
    """A ticket dict that cannot be laid out; names the field."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"ticket.{key}: {problem}")
        self.key = key


class PrinterUnavailable(PrinterError):
    """The port, USB device or socket could not be opened or written."""


class PrinterNotResponding(PrinterError):
    """No status reply within the timeout: unplugged, powered off, wrong port or baud rate."""


class PrinterOffline(PrinterError):
    """The printer answered that it is offline (cover open, error, paper-end stop)."""


class PaperOut(PrinterOffline):
    """The printer answered that its paper roll is empty."""


class StatusUnsupported(PrinterError):
    """This connection cannot read replies (file: printers), so nothing can be confirmed."""
