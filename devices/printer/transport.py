"""Connections to a printer, built on python-escpos' Serial, Usb, Network and File printers.

python-escpos opens, writes and closes; reading is done here, because its readers wait
wrongly for a status reply: Usb._read has no timeout, Network._read waits the socket's
60 s connect timeout, Serial._read waits for 16 bytes, File and Dummy cannot read at all.
`read(n, timeout)` returns what arrived within `timeout` seconds, b"" if nothing did.
"""

from __future__ import annotations

import logging
import os
import re
import select
import socket
import time
from typing import Any

from escpos.exceptions import DeviceNotFoundError

from .errors import PrinterUnavailable, StatusUnsupported
from .settings import PrinterAddress

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 10.0  # a 600-line raster ticket at 9600 baud takes about 8 s


class Transport:
    """An open connection to one printer. Use as a context manager; close() always runs."""

    can_read = True

    def __init__(self, address: PrinterAddress) -> None:
        self.address = address
        self._printer: Any = None

    def __enter__(self) -> Transport:
        if self._printer is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        try:
            self._printer._raw(data)
        except Exception as e:  # pyserial, socket and pyusb each raise their own types
            raise PrinterUnavailable(f"could not write to the printer {self.address}: {e}") from e

    def flush(self) -> None:
        """Wait until written bytes have left this machine (where the OS can tell)."""

    def read(self, n: int, timeout: float) -> bytes:
        raise NotImplementedError

    def discard_input(self) -> None:
        """Drop bytes that arrived unasked (late replies, automatic status) before a query."""
        for _ in range(64):  # bounded: a printer streaming automatic status never stops
            if not self.read(64, 0.0):
                return

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception as e:  # closing a vanished device must not hide the real error
                log.debug("closing %s: %s", self.address, e)


class SerialTransport(Transport):
    def open(self) -> None:
        from escpos.printer import Serial

        # dsrdtr=False: most USB-serial POS printers have no DSR line wired; with DTR/DSR
        # flow control pyserial would wait for a signal that never comes.
        self._printer = Serial(
            self.address.path, baudrate=self.address.baudrate, timeout=0, dsrdtr=False
        )
        try:
            self._printer.open()
        except DeviceNotFoundError as e:
            self._printer = None
            # python-escpos wraps pyserial's error, whose first argument is the errno.
            cause = e.__context__
            code = cause.args[0] if cause is not None and cause.args else None
            reason = os.strerror(code) if isinstance(code, int) else str(e).splitlines()[-1]
            raise PrinterUnavailable(
                f"cannot open serial port {self.address.path}: {reason}"
            ) from e

    def write(self, data: bytes) -> None:
        import serial

        # pyserial's write timeout covers the whole write: allow for the line speed (a raster
        # ticket of 68 kB takes 71 s at 9600 baud, 6 s at 115200), plus the usual margin.
        seconds = len(data) * 10 / self.address.baudrate
        self._printer.device.write_timeout = WRITE_TIMEOUT_S + 1.5 * seconds
        try:
            self._printer._raw(data)
        except serial.SerialTimeoutException as e:
            raise PrinterUnavailable(
                f"the printer at {self.address.path} stopped taking data (flow control held "
                f"for {self._printer.device.write_timeout:.0f} s)"
            ) from e
        except (OSError, serial.SerialException) as e:
            raise PrinterUnavailable(f"could not write to {self.address.path}: {e}") from e

    def flush(self) -> None:
        self._printer.device.flush()

    def read(self, n: int, timeout: float) -> bytes:
        device = self._printer.device
        device.timeout = timeout
        return device.read(n)


class NetworkTransport(Transport):
    CONNECT_TIMEOUT_S = 3.0

    def open(self) -> None:
        from escpos.printer import Network

        self._printer = Network(
            self.address.host, port=self.address.port, timeout=self.CONNECT_TIMEOUT_S
        )
        try:
            self._printer.open()
        except DeviceNotFoundError as e:
            self._printer = None
            raise PrinterUnavailable(
                f"cannot connect to the printer at {self.address.host}:{self.address.port}"
            ) from e
        self._printer.device.settimeout(WRITE_TIMEOUT_S)

    def read(self, n: int, timeout: float) -> bytes:
        sock: socket.socket = self._printer.device
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            return b""
        data = sock.recv(n)
        if not data:
            raise PrinterUnavailable(f"the printer at {self.address} closed the connection")
        return data


class UsbTransport(Transport):
    def open(self) -> None:
        try:
            from escpos.printer import Usb

            self._printer = Usb(
                self.address.vendor_id,
                self.address.product_id,
                timeout=int(WRITE_TIMEOUT_S * 1000),
                in_ep=self.address.in_ep,
                out_ep=self.address.out_ep,
            )
            self._printer.open()
        except RuntimeError as e:  # python-escpos says so when pyusb is not installed
            self._printer = None
            raise PrinterUnavailable(f"USB printers need pyusb: {e}") from e
        except Exception as e:  # DeviceNotFoundError, USBError, NoBackendError (no libusb)
            self._printer = None
            hint = " (is libusb-1.0 installed?)" if type(e).__name__ == "NoBackendError" else ""
            raise PrinterUnavailable(f"cannot open USB printer {self.address}: {e}{hint}") from e
        if not self._printer.device:
            self._printer = None
            raise PrinterUnavailable(f"USB printer {self.address} is not connected")

    def read(self, n: int, timeout: float) -> bytes:
        import usb.core

        ms = max(1, int(timeout * 1000))
        try:
            return bytes(self._printer.device.read(self.address.in_ep, max(n, 64), ms))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as e:
            raise PrinterUnavailable(f"could not read from USB printer {self.address}: {e}") from e


class FileTransport(Transport):
    can_read = False

    def open(self) -> None:
        from escpos.printer import File

        self._printer = File(self.address.path)
        try:
            self._printer.open()
        except DeviceNotFoundError as e:
            self._printer = None
            raise PrinterUnavailable(f"cannot open {self.address.path} for writing") from e

    def flush(self) -> None:
        self._printer.flush()

    def read(self, n: int, timeout: float) -> bytes:
        raise StatusUnsupported(
            f"{self.address} is write-only: a file: printer cannot report its status; "
            "use serial:, usb: or tcp:"
        )

    def discard_input(self) -> None:
        pass


class LinePrinterTransport(Transport):
    """A USB printer-class device (/dev/usb/lpN, the kernel's usblp): not a tty, but
    bidirectional printers answer DLE EOT through read(), so status works as on serial."""

    def __init__(self, address: PrinterAddress) -> None:
        super().__init__(address)
        self._fd = -1

    def open(self) -> None:
        try:
            self._fd = os.open(self.address.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as e:
            raise PrinterUnavailable(f"cannot open {self.address.path}: {e.strerror}") from e
        self._printer = self  # marks the transport open for __enter__

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + WRITE_TIMEOUT_S
        while view:
            _, ready, _ = select.select([], [self._fd], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise PrinterUnavailable(f"{self.address.path} stopped taking data")
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                continue
            except OSError as e:
                raise PrinterUnavailable(f"could not write to {self.address.path}: {e}") from e

    def read(self, n: int, timeout: float) -> bytes:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self._fd, n)
        except BlockingIOError:
            return b""
        except OSError as e:
            raise PrinterUnavailable(f"could not read from {self.address.path}: {e}") from e

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
        self._printer = None


_LP_DEVICE = re.compile(r"^/dev/(usb/)?lp\d+$")

_KINDS: dict[str, type[Transport]] = {
    "serial": SerialTransport,
    "tcp": NetworkTransport,
    "usb": UsbTransport,
    "file": FileTransport,
}


def open_transport(address: PrinterAddress) -> Transport:
    """An opened transport for the address; PrinterUnavailable if it cannot be opened."""
    kind = _KINDS[address.kind]
    # /dev/qms-printer may point at a usblp node rather than a tty: same config, other I/O.
    if address.kind == "serial" and _LP_DEVICE.match(os.path.realpath(address.path)):
        kind = LinePrinterTransport
    transport = kind(address)
    transport.open()
    return transport


def read_until(transport: Transport, accept, timeout: float) -> int | None:
    """Read bytes until one satisfies accept(byte) or timeout passes; the byte or None."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        chunk = transport.read(1, left)
        for value in chunk:
            if accept(value):
                return value
            log.debug("ignoring byte 0x%02x from %s", value, transport.address)
