"""HidScanner's device handling with a stand-in for evdev (no /dev/uinput in CI)."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import pytest

from devices import DeviceState
from devices.scanner import hid

# Linux key codes, from input-event-codes.h.
KEYS = {"A": 30, "1": 2, "2": 3, "enter": 28, "shift": 42}
EV_KEY, EV_SYN, EV_MSC = 1, 0, 4


@dataclass
class Event:
    type: int
    code: int
    value: int


class FakeDevice:
    """An input device: events queued by the test, a pipe fd so select() works."""

    instances: ClassVar[list[FakeDevice]] = []
    present: ClassVar[bool] = True

    def __init__(self, path: str) -> None:
        if not FakeDevice.present:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.path = path
        self._r, self._w = os.pipe()
        self.fd = self._r
        self.events: list[Event] = []
        self.grabbed = False
        self.closed = False
        self.gone = False
        self.lock = threading.Lock()
        FakeDevice.instances.append(self)

    def push(self, events: list[Event]) -> None:
        with self.lock:
            self.events += events
        os.write(self._w, b"x")

    def unplug(self) -> None:
        self.gone = True
        os.write(self._w, b"x")

    def read(self) -> Iterator[Event]:
        os.read(self._r, 4096)
        if self.gone:
            raise OSError(errno.ENODEV, "No such device")
        with self.lock:
            events, self.events = self.events, []
        return iter(events)

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        self.closed = True
        for fd in (self._r, self._w):
            os.close(fd)


def typed(text: str) -> list[Event]:
    """What a keyboard-mode scanner sends for `text` + Enter (with SYN and MSC noise)."""
    out: list[Event] = []
    for ch in text:
        shifted = ch in "!@"
        code = KEYS[{"!": "1", "@": "2"}.get(ch, ch.upper())]
        if shifted or ch.isupper():
            out.append(Event(EV_KEY, KEYS["shift"], 1))
        out += [Event(EV_MSC, 4, 0x70004), Event(EV_KEY, code, 1), Event(EV_SYN, 0, 0),
                Event(EV_KEY, code, 0), Event(EV_SYN, 0, 0)]
        if shifted or ch.isupper():
            out.append(Event(EV_KEY, KEYS["shift"], 0))
    out += [Event(EV_KEY, KEYS["enter"], 1), Event(EV_KEY, KEYS["enter"], 0)]
    return out


@pytest.fixture
def fake_evdev(monkeypatch: pytest.MonkeyPatch) -> type[FakeDevice]:
    FakeDevice.instances = []
    FakeDevice.present = True
    monkeypatch.setattr(hid, "_evdev", lambda: SimpleNamespace(InputDevice=FakeDevice))
    return FakeDevice


def test_codes_from_a_grabbed_device(fake_evdev: type[FakeDevice]) -> None:
    scanner = hid.HidScanner("/dev/input/event7", reconnect_min=0.02)
    assert scanner.read_code(timeout=0.05) is None
    dev = fake_evdev.instances[0]
    assert dev.grabbed and scanner.status.state is DeviceState.READY
    dev.push(typed("Aa1!") + typed("@2"))
    assert scanner.read_code(timeout=1).data == "Aa1!"  # type: ignore[union-attr]
    assert scanner.read_code(timeout=1).data == "@2"  # type: ignore[union-attr]
    scanner.close()
    assert dev.closed and not dev.grabbed


def test_unplugged_hid_scanner_comes_back(fake_evdev: type[FakeDevice]) -> None:
    scanner = hid.HidScanner("/dev/input/event7", reconnect_min=0.02, reconnect_max=0.05)
    scanner.read_code(timeout=0.05)
    fake_evdev.present = False
    fake_evdev.instances[0].unplug()
    assert scanner.read_code(timeout=0.2) is None
    assert scanner.status.state is DeviceState.OFFLINE
    assert "went away" in scanner.status.message or "not available" in scanner.status.message
    fake_evdev.present = True
    assert scanner.read_code(timeout=0.3) is None
    assert scanner.status.state is DeviceState.READY
    fake_evdev.instances[-1].push(typed("A1"))
    assert scanner.read_code(timeout=1).data == "A1"  # type: ignore[union-attr]
    scanner.close()


def test_without_evdev_the_error_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_evdev(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if name == "evdev":
            raise ImportError("No module named 'evdev'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_evdev)
    with pytest.raises(hid.EvdevMissingError, match="qms setup"):
        hid.HidScanner("/dev/input/event0").read_code(timeout=0.1)
