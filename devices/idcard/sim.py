"""A SAM ID card reader simulator on a pseudo-terminal.

In-process: ReaderSimulator(link).start(); present(card_dict); remove(); inject(...);
stop(). As a program: python -m devices.idcard.sim --link PATH [--card FILE.json],
then commands on stdin (type `help`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from devices import PtyLink

from . import protocol
from .card import Card, CardDataError, card_from_dict, encode_card_text
from .protocol import SW3, Command, FrameError

log = logging.getLogger(__name__)

GARBAGE = b"\x00\xaa\xaa\x13\x96\x69\xff"


@dataclass
class Faults:
    """Faults for the next replies; counts go down as they are used."""

    split: int = 0  # replies that arrive in three pieces with gaps between
    garbage: int = 0  # replies preceded by junk bytes (including a false preamble start)
    bad_checksum: int = 0  # replies with a wrong CHK
    read_failure: int = 0  # READ_BASIC commands answered with 41 (read failed)
    slow: float = 0.0  # seconds to wait before every reply
    silent: int = 0  # commands not answered at all


class ReaderSimulator:
    """Speaks the reader's side of the protocol on a pty, linked at `link`."""

    def __init__(
        self,
        link: str | None = None,
        *,
        baudrate: int = 115200,
        pace: bool = True,
        halt_after_read: bool = True,
    ) -> None:
        self.link = link
        self.baudrate = baudrate
        self.pace = pace
        # Real readers halt the chip after a read: "find" says no card until it is
        # presented again. False models readers that keep reporting it.
        self.halt_after_read = halt_after_read
        self.faults = Faults()
        self.commands: Counter[str] = Counter()
        self._pty = PtyLink(link)
        self._lock = threading.Lock()
        self._card: Card | None = None
        self._text = b""
        self._photo = b""
        self._halted = False
        self._selected = False
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._pty.path

    def start(self) -> str:
        """Open the pty (and link) and start answering; returns the pty's path."""
        path = self._pty.open()
        self._running.set()
        self._thread = threading.Thread(target=self._serve, name="idcard-sim", daemon=True)
        self._thread.start()
        return path

    def stop(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._pty.close()

    def __enter__(self) -> ReaderSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Like pulling the USB cable: the port disappears and open handles fail."""
        with self._lock:
            self._pty.close()

    def plug(self) -> None:
        with self._lock:
            if not self._pty.is_open:
                self._pty.open()

    def present(self, card: Card | Mapping[str, Any]) -> None:
        """Put a card on the reader (a Card, or a dict in the CLI's JSON format)."""
        if not isinstance(card, Card):
            card = card_from_dict(card)
        text = encode_card_text(card)
        with self._lock:
            self._card, self._text, self._photo = card, text, card.photo
            self._halted = False
            self._selected = False

    def present_raw(self, text: bytes, photo: bytes) -> None:
        """Put a card with exactly these text/photo bytes on the reader (for odd cards)."""
        with self._lock:
            self._card, self._text, self._photo = None, bytes(text), bytes(photo)
            self._halted = False
            self._selected = False

    def remove(self) -> None:
        with self._lock:
            self._card, self._text, self._photo = None, b"", b""
            self._selected = False

    def inject(self, **faults: Any) -> None:
        """Set faults: split=N, garbage=N, bad_checksum=N, read_failure=N, silent=N, slow=S."""
        names = {f.name for f in fields(Faults)}
        with self._lock:
            for name, value in faults.items():
                if name not in names:
                    raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(names))}")
                setattr(self.faults, name, value)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = Faults()

    # --- the reader ------------------------------------------------------------------------

    def _answer(self, frame: protocol.CommandFrame) -> bytes:
        """The reply for one command (called with the lock held)."""
        present = bool(self._text) and not self._halted
        key = (frame.cmd, frame.para)
        if key == Command.FIND_CARD.value:
            self.commands["find"] += 1
            self._selected = False
            if present:
                return protocol.build_reply(SW3.CARD_FOUND, b"\x00\x00\x00\x00")
            return protocol.build_reply(SW3.NO_CARD)
        if key == Command.SELECT_CARD.value:
            self.commands["select"] += 1
            if present:
                self._selected = True
                return protocol.build_reply(SW3.OK, bytes(8))
            return protocol.build_reply(SW3.SELECT_FAILED)
        if key == Command.READ_BASIC.value:
            self.commands["read"] += 1
            if not (present and self._selected):
                return protocol.build_reply(SW3.READ_FAILED)
            self._selected = False
            if self.faults.read_failure > 0:
                self.faults.read_failure -= 1
                return protocol.build_reply(SW3.READ_FAILED)
            if self.halt_after_read:
                self._halted = True
            return protocol.build_reply(
                SW3.OK, protocol.build_basic_info(self._text, self._photo)
            )
        self.commands["unknown"] += 1
        return protocol.build_reply(SW3.BAD_COMMAND)

    def _send(self, reply: bytes) -> None:
        with self._lock:
            f = self.faults
            slow = f.slow
            if f.bad_checksum > 0:
                f.bad_checksum -= 1
                reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
            if f.garbage > 0:
                f.garbage -= 1
                reply = GARBAGE + reply
            split = f.split > 0
            if split:
                f.split -= 1
        if slow:
            time.sleep(slow)
        baud = self.baudrate if self.pace else None
        if not split:
            self._pty.write(reply, baud)
            return
        third = max(1, len(reply) // 3)
        for piece in (reply[:third], reply[third : 2 * third], reply[2 * third :]):
            self._pty.write(piece, baud)
            time.sleep(0.02)

    def _serve(self) -> None:
        buf = b""
        while self._running.is_set():
            if not self._pty.is_open:
                buf = b""
                time.sleep(0.02)
                continue
            data = self._pty.read(0.05)
            if not data:
                continue
            buf += data
            while True:
                try:
                    frame, buf = protocol.parse_command(buf)
                except FrameError as exc:
                    buf = exc.rest
                    if isinstance(exc, protocol.ChecksumError):
                        self._send(protocol.build_reply(SW3.CHECKSUM_ERROR))
                    continue
                if frame is None:
                    break
                with self._lock:
                    if self.faults.silent > 0:
                        self.faults.silent -= 1
                        continue
                    reply = self._answer(frame)
                try:
                    self._send(reply)
                except OSError:
                    # Unplugged while answering: the driver sees the port vanish.
                    buf = b""
                    break


# --- command line ------------------------------------------------------------------------

HELP = """commands:
  present [N]     put card N (0-based, default: the next one) from --card on the reader
  remove          take the card away
  next            remove, then present the next card
  fault NAME [V]  split N | garbage N | checksum N | readfail N | silent N | slow SECONDS
  clear           clear all faults
  unplug | plug   simulate pulling and reinserting the USB cable
  stats           commands received so far
  quit"""

FAULT_NAMES = {
    "split": "split",
    "garbage": "garbage",
    "checksum": "bad_checksum",
    "readfail": "read_failure",
    "silent": "silent",
    "slow": "slow",
}


def load_cards(path: str) -> list[dict[str, Any]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cards = data if isinstance(data, list) else [data]
    for card in cards:
        card_from_dict(card)  # validate now, so a bad file fails at start, not mid-demo
    return cards


def _command(
    sim: ReaderSimulator, cards: list[dict[str, Any]], state: dict[str, int], line: str
) -> bool:
    """Run one stdin command; False means quit."""
    words = line.split()
    if not words:
        return True
    verb, args = words[0].lower(), words[1:]
    if verb in ("quit", "exit"):
        return False
    if verb == "help":
        print(HELP, file=sys.stderr)
    elif verb in ("present", "next"):
        if not cards:
            print("no cards loaded (use --card FILE.json)", file=sys.stderr)
            return True
        if verb == "next":
            sim.remove()
            time.sleep(0.3)
        index = int(args[0]) if args and verb == "present" else state["next"]
        index %= len(cards)
        state["next"] = index + 1
        sim.present(cards[index])
        print(f"presented card {index}: {cards[index].get('name', '?')}", file=sys.stderr)
    elif verb == "remove":
        sim.remove()
        print("card removed", file=sys.stderr)
    elif verb == "fault" and args and args[0] in FAULT_NAMES:
        name = FAULT_NAMES[args[0]]
        value: float = float(args[1]) if len(args) > 1 else 1
        sim.inject(**{name: value if name == "slow" else int(value)})
        print(f"fault {name} = {value}", file=sys.stderr)
    elif verb == "clear":
        sim.clear_faults()
    elif verb == "unplug":
        sim.unplug()
        print("unplugged", file=sys.stderr)
    elif verb == "plug":
        sim.plug()
        print(f"plugged in at {sim.path}", file=sys.stderr)
    elif verb == "stats":
        print(dict(sim.commands), file=sys.stderr)
    else:
        print(f"unknown command {line!r}; type help", file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.idcard.sim", description="Simulated SAM ID card reader on a pty."
    )
    parser.add_argument("--link", required=True, help="symlink to create for the pty")
    parser.add_argument("--card", help="JSON file: one card object or a list of cards")
    parser.add_argument("--no-present", action="store_true", help="start with no card")
    parser.add_argument("--cycle", type=float, metavar="S",
                        help="present each card in turn for S seconds (for demos)")
    parser.add_argument("--baud", type=int, default=115200, help="pacing (default 115200)")
    parser.add_argument("--no-pace", action="store_true", help="send replies at pty speed")
    args = parser.parse_args(argv)
    try:
        cards = load_cards(args.card) if args.card else []
    except (OSError, ValueError, CardDataError) as exc:
        print(f"error: cannot load cards from {args.card}: {exc}", file=sys.stderr)
        return 1
    sim = ReaderSimulator(args.link, baudrate=args.baud, pace=not args.no_pace)
    try:
        sim.start()
    except OSError as exc:
        print(f"error: cannot create the pty link at {args.link}: {exc}", file=sys.stderr)
        return 1
    print(f"ID card reader simulator on {sim.path}, linked at {args.link}", file=sys.stderr)
    state = {"next": 0}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if cards and args.cycle:
            while not stop.is_set():
                _command(sim, cards, state, "present")
                if stop.wait(args.cycle):
                    break
                sim.remove()
                stop.wait(1.0)
        else:
            if cards and not args.no_present:
                _command(sim, cards, state, "present")
            if os.isatty(0):
                print("type help for commands", file=sys.stderr)
            for line in sys.stdin:
                try:
                    if not _command(sim, cards, state, line):
                        break
                except (ValueError, CardDataError) as exc:
                    print(f"error: {exc}", file=sys.stderr)
            else:
                # stdin closed (run from a script): keep serving until signalled.
                while not stop.wait(0.5):
                    pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
