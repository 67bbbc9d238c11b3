"""USB HID (keyboard-mode) scanners through evdev, grabbed so keystrokes stay ours.

A keyboard-mode scanner "types" each code as US-layout key presses followed by
Enter. It can only type what a US keyboard can: ASCII. Chinese text in a QR code
cannot come through this way; set such scanners to serial/USB-CDC mode (see
devices/README.md). The key mapping is pure (KeyDecoder); only HidScanner needs
the evdev package, imported when a device is opened.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import select
import time
from collections.abc import Iterator
from typing import Any

from devices import Device, DeviceState, StatusListener

from .protocol import MAX_CODE_LEN, Scan

log = logging.getLogger(__name__)

# Linux input-event-codes.h key codes (a stable kernel ABI), US layout:
# code -> (unshifted, shifted).
_ROWS = {
    2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(",
    11: "0)", 12: "-_", 13: "=+",
    16: "qQ", 17: "wW", 18: "eE", 19: "rR", 20: "tT", 21: "yY", 22: "uU", 23: "iI",
    24: "oO", 25: "pP", 26: "[{", 27: "]}",
    30: "aA", 31: "sS", 32: "dD", 33: "fF", 34: "gG", 35: "hH", 36: "jJ", 37: "kK",
    38: "lL", 39: ";:", 40: "'\"", 41: "`~", 43: "\\|",
    44: "zZ", 45: "xX", 46: "cC", 47: "vV", 48: "bB", 49: "nN", 50: "mM", 51: ",<",
    52: ".>", 53: "/?", 57: "  ",
    # Keypad: scanners set to "numeric keypad" mode type digits with these.
    55: "**", 71: "77", 72: "88", 73: "99", 74: "--", 75: "44", 76: "55", 77: "66",
    78: "++", 79: "11", 80: "22", 81: "33", 82: "00", 83: "..", 98: "//",
}
KEYMAP: dict[int, tuple[str, str]] = {code: (pair[0], pair[1]) for code, pair in _ROWS.items()}

KEY_ENTER, KEY_KPENTER, KEY_TAB = 28, 96, 15
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2
TERMINATORS = frozenset({KEY_ENTER, KEY_KPENTER})


class KeyDecoder:
    """Turns key events (code, value) into codes; a code ends at Enter.

    Tab is kept as a character: some scanners separate fields with it.
    """

    def __init__(self, max_len: int = MAX_CODE_LEN) -> None:
        self.max_len = max_len
        self._chars: list[str] = []
        self._shift: set[int] = set()
        self._caps = False
        self.unknown_keys = 0

    def feed(self, code: int, value: int) -> str | None:
        """One key event; returns a finished code at Enter, else None."""
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value == KEY_UP:
                self._shift.discard(code)
            else:
                self._shift.add(code)
            return None
        if value == KEY_UP:
            return None
        if code == KEY_CAPSLOCK:
            if value == KEY_DOWN:
                self._caps = not self._caps
            return None
        if code in TERMINATORS:
            text, self._chars = "".join(self._chars), []
            return text or None
        if code == KEY_TAB:
            char = "\t"
        elif code in KEYMAP:
            lower, upper = KEYMAP[code]
            shifted = bool(self._shift)
            if self._caps and lower.isalpha():
                shifted = not shifted
            char = upper if shifted else lower
        else:
            # Ctrl, Alt, F-keys...: scanners send them only as prefixes we do not use.
            self.unknown_keys += 1
            return None
        if len(self._chars) < self.max_len:
            self._chars.append(char)
        return None

    def reset(self) -> None:
        self._chars.clear()
        self._shift.clear()


class EvdevMissingError(RuntimeError):
    pass


def _evdev() -> Any:
    try:
        import evdev
    except ImportError as exc:
        raise EvdevMissingError(
            "the evdev package is not installed; run ./qms setup (HID scanners need it)"
        ) from exc
    return evdev


class HidScanner(Device):
    """A keyboard-mode scanner at /dev/input/eventN (better: a /dev/input/by-id link).

    The device is grabbed (EVIOCGRAB) so its keystrokes do not also reach the
    kiosk window or a console; reading needs permission on the event device
    (the udev rule grants it to the kiosk user).
    """

    def __init__(
        self,
        device: str,
        *,
        grab: bool = True,
        reconnect_min: float = 0.25,
        reconnect_max: float = 2.0,
        status_listener: StatusListener | None = None,
    ) -> None:
        super().__init__(status_listener)
        self.device = device
        self.grab = grab
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self._dev: Any = None
        self._decoder = KeyDecoder()
        self._pending: list[Scan] = []
        self._delay = reconnect_min

    def close(self) -> None:
        if self._dev is not None:
            with contextlib.suppress(OSError):
                if self.grab:
                    self._dev.ungrab()
            with contextlib.suppress(OSError):
                self._dev.close()
            self._dev = None

    def _open(self) -> bool:
        evdev = _evdev()
        try:
            dev = evdev.InputDevice(self.device)
            if self.grab:
                dev.grab()
        except OSError as exc:
            hint = " (is another program grabbing it?)" if exc.errno == errno.EBUSY else ""
            self._status.set(
                DeviceState.OFFLINE, f"HID scanner not available at {self.device}: {exc}{hint}"
            )
            return False
        self._dev = dev
        self._decoder.reset()
        self._delay = self.reconnect_min
        self._status.set(DeviceState.READY)
        return True

    def _read_some(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self._dev.fd], [], [], timeout)
            if not ready:
                return
            for event in self._dev.read():
                if event.type != EV_KEY:
                    continue
                text = self._decoder.feed(event.code, event.value)
                if text is not None:
                    self._pending.append(Scan(text, "hid"))
        except OSError as exc:
            self.close()
            self._status.set(DeviceState.OFFLINE, f"HID scanner {self.device} went away: {exc}")

    def read_code(self, timeout: float | None = None) -> Scan | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending and not self._stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if self._dev is None and not self._open():
                wait = self._delay if left is None else min(self._delay, left)
                self._delay = min(self.reconnect_max, self._delay * 2)
                self._stop.wait(wait)
                continue
            self._read_some(0.1 if left is None else min(0.1, left))
        return self._pending.pop(0) if self._pending else None

    def watch(self) -> Iterator[Scan]:
        while not self._stop.is_set():
            scan = self.read_code(timeout=None)
            if scan is not None:
                yield scan
