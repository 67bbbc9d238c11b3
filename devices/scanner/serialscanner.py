"""Serial and USB-CDC scanners through pyserial, with reconnect and a status."""

from __future__ import annotations

import collections
import contextlib
import logging
import termios
import time
from collections.abc import Callable, Iterator
from typing import Any

import serial

from devices import Device, DeviceState, StatusListener

from .protocol import SCANNER_SERIAL, LineDecoder, Scan, ScannerPortSettings, decode_code

log = logging.getLogger(__name__)

_PORT_ERRORS = (OSError, serial.SerialException, termios.error)


class SerialScanner(Device):
    """A scanner that sends each code followed by CR or CRLF on a serial port.

    read_code(timeout) returns the next code; watch() yields codes until stop().
    Unplugging is survived: the port is reopened when it comes back.
    """

    def __init__(
        self,
        port: str,
        *,
        settings: ScannerPortSettings = SCANNER_SERIAL,
        reconnect_min: float = 0.25,
        reconnect_max: float = 2.0,
        status_listener: StatusListener | None = None,
        serial_factory: Callable[..., Any] = serial.Serial,
    ) -> None:
        super().__init__(status_listener)
        self.port = port
        self.settings = settings
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self._factory = serial_factory
        self._serial: Any = None
        self._decoder = LineDecoder()
        self._pending: collections.deque[Scan] = collections.deque()
        self._delay = reconnect_min

    def close(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                self._serial.close()
            self._serial = None

    def _open(self) -> bool:
        s = self.settings
        try:
            self._serial = self._factory(
                self.port, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity,
                stopbits=s.stopbits, timeout=0.05,
            )
        except (*_PORT_ERRORS, ValueError) as exc:
            self._serial = None
            self._status.set(DeviceState.OFFLINE, f"scanner not available at {self.port}: {exc}")
            return False
        # A half code left from before a disconnect must not glue onto the next one.
        self._decoder.reset()
        self._delay = self.reconnect_min
        self._status.set(DeviceState.READY)
        log.info("scanner port %s open", self.port)
        return True

    def _read_some(self) -> None:
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
        except _PORT_ERRORS as exc:
            self.close()
            self._status.set(DeviceState.OFFLINE, f"scanner at {self.port} went away: {exc}")
            return
        for raw in self._decoder.feed(data):
            self._pending.append(Scan(decode_code(raw), "serial"))

    def read_code(self, timeout: float | None = None) -> Scan | None:
        """The next code, or None after `timeout` seconds (None: wait forever) or stop()."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending and not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if self._serial is None and not self._open():
                wait = self._delay
                self._delay = min(self.reconnect_max, self._delay * 2)
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                self._stop.wait(wait)
                continue
            self._read_some()
        return self._pending.popleft() if self._pending else None

    def watch(self) -> Iterator[Scan]:
        while not self._stop.is_set():
            scan = self.read_code(timeout=None)
            if scan is not None:
                yield scan
