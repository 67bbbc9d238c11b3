"""Device drivers and simulators: idcard, scanner, printer.

Shared here: the status every driver reports, so the kiosk can show one kind of
device state whatever the device, and the lifecycle every reading driver has (`Device`).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self


class DeviceState(enum.Enum):
    CONNECTING = "connecting"
    READY = "ready"
    ERROR = "error"
    OFFLINE = "offline"


@dataclass(frozen=True)
class DeviceStatus:
    state: DeviceState
    message: str = ""
    since: float = 0.0


StatusListener = Callable[[DeviceStatus], None]


class StatusHolder:
    """Thread-safe current status with an optional listener.

    An error or offline status stays until a driver reports ready after an
    operation that succeeded, so a transient good poll cannot hide a fault the
    operator has not seen yet.
    """

    def __init__(self, listener: StatusListener | None = None) -> None:
        self._lock = threading.Lock()
        self._status = DeviceStatus(DeviceState.CONNECTING, "", time.monotonic())
        self._listener = listener

    @property
    def current(self) -> DeviceStatus:
        with self._lock:
            return self._status

    def set(self, state: DeviceState, message: str = "") -> None:
        with self._lock:
            if self._status.state is state and self._status.message == message:
                return
            self._status = DeviceStatus(state, message, time.monotonic())
            status = self._status
        if self._listener is not None:
            # A listener that fails must not take the device thread down with it.
            try:
                self._listener(status)
            except Exception:
                logging.getLogger(__name__).exception("status listener failed")


class Device:
    """What every reading driver shares: its status for staff, stop() from any thread,
    and `with` closing it. Subclasses close their own port or camera in close()."""

    def __init__(self, status_listener: StatusListener | None = None) -> None:
        self._status = StatusHolder(status_listener)
        self._stop = threading.Event()

    @property
    def status(self) -> DeviceStatus:
        return self._status.current

    def stop(self) -> None:
        """Make the driver's waits (watch, read) return soon; safe from any thread."""
        self._stop.set()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PtyLink:
    """A pseudo-terminal standing in for a device's serial port.

    Simulators own the master side; drivers open the slave by the symlink at
    `link`, as they would open /dev/ttyUSB0 or a udev name. The simulator keeps
    the slave open too, so the master never reads EIO while no driver is attached.
    """

    def __init__(self, link: str | None = None) -> None:
        self.link = link
        self.master: int | None = None
        self._slave: int | None = None
        self.path = ""

    def open(self) -> str:
        master, slave = os.openpty()
        # Raw: no echo, no CR/LF translation, no line buffering; bytes are bytes.
        tty.setraw(slave)
        tty.setraw(master)
        self.master, self._slave = master, slave
        self.path = os.ttyname(slave)
        if self.link:
            tmp = f"{self.link}.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.path, tmp)
            # Atomic swap, so a driver never sees a missing or half-made link on replug.
            os.replace(tmp, self.link)
        return self.path

    def close(self) -> None:
        if self.link and os.path.islink(self.link):
            with contextlib.suppress(OSError):
                if os.readlink(self.link) == self.path:
                    os.unlink(self.link)
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None

    @property
    def is_open(self) -> bool:
        return self.master is not None

    def read(self, timeout: float) -> bytes:
        """Bytes the driver wrote, or b"" after `timeout` seconds."""
        fd = self.master
        if fd is None:
            time.sleep(timeout)
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            return os.read(fd, 4096) if ready else b""
        except (OSError, ValueError):
            return b""

    def write(self, data: bytes, baudrate: int | None = None) -> None:
        """Write `data`; with a baudrate, at the pace of an 8N1 line (10 bits a byte)."""
        fd = self.master
        if fd is None:
            return
        if not baudrate:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            return
        rate = baudrate / 10.0
        chunk = max(1, int(rate / 1000))  # about one millisecond of line time per write
        start = time.monotonic()
        for sent in range(0, len(data), chunk):
            piece = memoryview(data)[sent : sent + chunk]
            while piece:
                piece = piece[os.write(fd, piece) :]
            due = start + (sent + chunk) / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
