"""The ID card reader driver: pyserial transport around the pure protocol.

Made to run on a background thread: `watch()` yields each card once, reconnects
when the reader is unplugged, and reports a status the kiosk can show.
"""

from __future__ import annotations

import contextlib
import logging
import termios
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import serial

from devices import Device, DeviceState, StatusListener

from . import protocol
from .card import Card, CardDataError, parse_card_text
from .protocol import SAM_SERIAL, SW3, Command, FrameError, PortSettings, Reply

log = logging.getLogger(__name__)


class ReaderError(Exception):
    """Base for errors the reader driver raises; the message is fit for a log or CLI."""


class ReaderOfflineError(ReaderError):
    """The port cannot be opened or went away."""


class ReaderNotRespondingError(ReaderError):
    """The port is open but no valid reply came back after retries."""


class CardReadError(ReaderError):
    """A card is on the reader but could not be read after retries."""


SerialFactory = Callable[..., Any]


class CardReader(Device):
    """A SAM ID card reader on a serial port (or a simulator's pty).

    read_card(timeout) waits for a card not read before; watch() yields cards
    until stop(). A card left on the reader is returned once: it is returned
    again only after the reader has reported no card.
    """

    def __init__(
        self,
        port: str,
        *,
        settings: PortSettings = SAM_SERIAL,
        poll_interval: float = 0.1,
        retries: int = 3,
        reconnect_min: float = 0.25,
        reconnect_max: float = 2.0,
        status_listener: StatusListener | None = None,
        serial_factory: SerialFactory = serial.Serial,
    ) -> None:
        super().__init__(status_listener)
        self.port = port
        self.settings = settings
        self.poll_interval = poll_interval
        self.retries = retries
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self._serial_factory = serial_factory
        self._serial: Any = None
        self._lock = threading.RLock()
        self._holding = False
        self._last_text = b""
        self._gave_up = False
        self._card_error = False
        self._reconnect_delay = reconnect_min

    # --- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._close_port()

    def _close_port(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                self._serial.close()
            self._serial = None

    def _ensure_open(self) -> None:
        if self._serial is not None:
            return
        s = self.settings
        try:
            self._serial = self._serial_factory(
                self.port,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=0.02,
                write_timeout=1.0,
            )
        except (OSError, serial.SerialException, termios.error, ValueError) as exc:
            self._serial = None
            raise ReaderOfflineError(f"ID card reader not available at {self.port}: {exc}") from exc
        log.info("ID card reader port %s open", self.port)

    # --- one exchange ----------------------------------------------------------------------

    def _read_reply(self) -> Reply:
        port = self._serial
        buf = b""
        start = last_byte = time.monotonic()
        while True:
            chunk = port.read(max(1, port.in_waiting))
            now = time.monotonic()
            if chunk:
                last_byte = now
                buf += chunk
                reply, buf = protocol.parse_reply(buf)
                if reply is not None:
                    return reply
            if now - last_byte > self.settings.reply_idle_timeout:
                raise TimeoutError("reader went quiet in the middle of a reply" if buf else "")
            if now - start > self.settings.reply_timeout:
                raise TimeoutError("reply took too long")

    def _transact(self, command: Command) -> Reply:
        """Send a command and return its reply, retrying on line noise.

        A garbled reply (bad checksum, bad frame, or the reader rejecting our frame)
        is retried; I/O errors are not: they mean the port is gone.
        """
        problem = ""
        for _attempt in range(self.retries):
            try:
                self._serial.reset_input_buffer()
                self._serial.write(protocol.build_command(command))
                self._serial.flush()
                reply = self._read_reply()
            except FrameError as exc:
                problem = f"garbled reply ({exc})"
                log.debug("ID card reader: %s; retrying", problem)
                continue
            except TimeoutError as exc:
                problem = str(exc) or "no reply"
                log.debug("ID card reader: %s; retrying", problem)
                continue
            except (OSError, serial.SerialException, termios.error) as exc:
                self._close_port()
                raise ReaderOfflineError(f"ID card reader at {self.port} went away: {exc}") from exc
            if reply.sw3 in (SW3.CHECKSUM_ERROR, SW3.LENGTH_ERROR):
                problem = reply.status_text()
                continue
            return reply
        raise ReaderNotRespondingError(f"ID card reader at {self.port} is not answering: {problem}")

    # --- one card ---------------------------------------------------------------------------

    def _poll(self) -> Card | None:
        """One find/select/read round. None when there is no new card."""
        reply = self._transact(Command.FIND_CARD)
        if reply.sw3 == SW3.NO_CARD:
            self._holding = False
            self._gave_up = False
            return None
        if reply.sw3 != SW3.CARD_FOUND:
            raise ReaderNotRespondingError(f"unexpected reply to find card: {reply.status_text()}")
        if self._gave_up:
            # Do not hammer an unreadable card; wait until it is taken away.
            return None
        failures = 0
        while True:
            reply = self._transact(Command.SELECT_CARD)
            if reply.sw3 == SW3.SELECT_FAILED:
                # The card left the field between find and select.
                return None
            if reply.sw3 == SW3.OK:
                reply = self._transact(Command.READ_BASIC)
                if reply.sw3 == SW3.OK:
                    return self._decode(reply)
            failures += 1
            log.debug("ID card read attempt %d failed: %s", failures, reply.status_text())
            if failures >= self.retries:
                self._gave_up = True
                raise CardReadError(
                    f"the card could not be read ({reply.status_text()} {failures} times); "
                    "take it away and present it again"
                )
            # The chip is deselected after a failed read: start again from find.
            again = self._transact(Command.FIND_CARD)
            if again.sw3 == SW3.NO_CARD:
                self._holding = False
                return None

    def _decode(self, reply: Reply) -> Card | None:
        try:
            text, photo = protocol.split_basic_info(reply.data)
        except FrameError as exc:
            self._gave_up = True
            raise CardReadError(f"the reader sent malformed card data: {exc}") from exc
        # Some readers keep answering "found" for a card left on them; the same card
        # read again without a "no card" in between is not a new presentation.
        if self._holding and text == self._last_text:
            return None
        self._holding, self._last_text = True, text
        try:
            return parse_card_text(text, photo)
        except CardDataError as exc:
            self._gave_up = True
            raise CardReadError(f"the card's data could not be decoded: {exc}") from exc

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True if stopped."""
        return self._stop.wait(seconds)

    def _attempt(self) -> tuple[Card | None, float]:
        """One poll with connection handling: (card, how long to wait before the next).

        Raises only CardReadError.
        """
        with self._lock:
            try:
                self._ensure_open()
                card = self._poll()
            except ReaderOfflineError as exc:
                self._status.set(DeviceState.OFFLINE, str(exc))
                return None, self._backoff()
            except ReaderNotRespondingError as exc:
                self._status.set(DeviceState.ERROR, str(exc))
                # A reader that stopped answering is often a stuck USB-serial bridge;
                # reopening the port is the cheapest thing that fixes it.
                self._close_port()
                return None, self._backoff()
            except CardReadError as exc:
                self._card_error = True
                self._status.set(DeviceState.ERROR, str(exc))
                raise
            self._reconnect_delay = self.reconnect_min
            # A card-read error stays up until a card is read or that card is taken away.
            if card is not None or not self._gave_up:
                self._card_error = False
            if not self._card_error:
                self._status.set(DeviceState.READY)
            return card, self.poll_interval

    def _backoff(self) -> float:
        delay = self._reconnect_delay
        self._reconnect_delay = min(self.reconnect_max, self._reconnect_delay * 2)
        return delay

    def read_card(self, timeout: float | None = None) -> Card | None:
        """Wait up to `timeout` seconds (None: forever) for a new card.

        Returns None on timeout or stop(). Raises CardReadError when a card is
        present but unreadable after retries.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            card, pause = self._attempt()
            if card is not None:
                return card
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                pause = min(pause, left)
            if self._sleep(pause):
                return None
        return None

    def watch(self) -> Iterator[Card]:
        """Yield each card presented until stop(); read errors go to the status and log."""
        while not self._stop.is_set():
            try:
                card = self.read_card(timeout=None)
            except CardReadError as exc:
                log.warning("ID card: %s", exc)
                continue
            if card is not None:
                yield card
