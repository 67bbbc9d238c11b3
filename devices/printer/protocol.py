"""ESC/POS bytes the ticket printer needs that python-escpos 3.1 does not build right.

Pure: no I/O. Three things live here:

* real-time status (DLE EOT n): the query bytes and the parsing of the one-byte replies.
  python-escpos has `query_status`, but its `paper_status()` reports "paper adequate" when
  the printer does not answer at all, and its masks do not check the fixed bits that tell a
  status byte from line noise; a kiosk must never take silence for "paper ok".
* Chinese text in GB18030 under FS & (Chinese character mode). python-escpos 3.1 never sends
  FS &, encodes a string as GB18030 only if it contains a character in U+4E00..U+9FA5, and
  sends anything else through its code-page guesser: a line of full-width punctuation such
  as "：" or "——" comes out as "?" or as CP1252 bytes that a Chinese printer reads as a
  different double-byte character.
* a tokenizer for the command stream, used by the simulator to act as the printer does:
  answer status queries and find text, images and cuts in what it was sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
EOT = b"\x04"

INIT = ESC + b"@"
CHINESE_MODE_ON = FS + b"&"
CHINESE_MODE_OFF = FS + b"."

# DLE EOT n, "transmit real-time status" (ESC/POS spec, n = 1..4).
STATUS_PRINTER = DLE + EOT + b"\x01"
STATUS_OFFLINE_CAUSE = DLE + EOT + b"\x02"
STATUS_ERROR_CAUSE = DLE + EOT + b"\x03"
STATUS_PAPER = DLE + EOT + b"\x04"

# GS r 1, "transmit paper sensor status". Unlike DLE EOT it waits its turn in the input
# buffer, so its reply means everything sent before it has been processed (printed).
TRANSMIT_PAPER_STATUS = GS + b"r\x01"

# Every DLE EOT reply has bits 0 and 7 clear and bits 1 and 4 set: 0b0xx1xx10.
_FIXED_MASK = 0x93
_FIXED_VALUE = 0x12
_OFFLINE = 0x08  # n=1, bit 3
_COVER_OPEN = 0x04  # n=2, bit 2
_PAPER_END_STOP = 0x20  # n=2, bit 5
_ERROR = 0x40  # n=2, bit 6
_NEAR_END = 0x0C  # n=4, bits 2-3
_PAPER_END = 0x60  # n=4, bits 5-6


class PaperState(enum.StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself, from its DLE EOT 1 and 4 replies (and 2 if offline)."""

    online: bool
    paper: PaperState
    cover_open: bool = False
    error: bool = False

    @property
    def can_print(self) -> bool:
        return self.online and self.paper is not PaperState.OUT

    def as_dict(self) -> dict[str, object]:
        return {"online": self.online, "paper": self.paper.value}

    def describe(self) -> str:
        if self.paper is PaperState.OUT:
            return "the printer is out of paper"
        if self.cover_open:
            return "the printer cover is open"
        if self.error:
            return "the printer reports an error (cutter jam or head overheat?)"
        if not self.online:
            return "the printer is offline"
        if self.paper is PaperState.NEAR_END:
            return "the printer is online; paper is nearly used up"
        return "the printer is online with paper"


def is_status_byte(value: int) -> bool:
    """True when value has the fixed bits of a DLE EOT reply (anything else is noise)."""
    return value & _FIXED_MASK == _FIXED_VALUE


def _check(value: int, which: str) -> None:
    if not is_status_byte(value):
        raise ValueError(f"0x{value:02x} is not a DLE EOT {which} status byte")


def parse_printer_status(value: int) -> bool:
    """DLE EOT 1 reply -> online."""
    _check(value, "1")
    return not value & _OFFLINE


def parse_offline_cause(value: int) -> tuple[bool, bool, bool]:
    """DLE EOT 2 reply -> (cover_open, stopped_for_paper_end, error)."""
    _check(value, "2")
    return bool(value & _COVER_OPEN), bool(value & _PAPER_END_STOP), bool(value & _ERROR)


def parse_paper_status(value: int) -> PaperState:
    """DLE EOT 4 reply -> paper state; paper end wins over near end."""
    _check(value, "4")
    if value & _PAPER_END:
        return PaperState.OUT
    if value & _NEAR_END:
        return PaperState.NEAR_END
    return PaperState.OK


def status_reply(n: int, *, online: bool, paper: PaperState, cover_open: bool = False) -> bytes:
    """The byte a printer in this state sends for DLE EOT n (the simulator's side)."""
    value = _FIXED_VALUE
    if n == 1 and (not online or paper is PaperState.OUT):
        value |= _OFFLINE
    elif n == 2:
        if cover_open:
            value |= _COVER_OPEN
        if paper is PaperState.OUT:
            value |= _PAPER_END_STOP
    elif n == 4:
        if paper is not PaperState.OK:
            value |= _NEAR_END
        if paper is PaperState.OUT:
            value |= _PAPER_END
    return bytes((value,))


def is_gs_r_byte(value: int) -> bool:
    """GS r 1 replies keep bits 4 and 7 clear, which tells them from DLE EOT replies."""
    return value & 0x90 == 0


def parse_gs_r_paper(value: int) -> PaperState:
    """GS r 1 reply: bits 2-3 paper end, bits 0-1 near end."""
    if not is_gs_r_byte(value):
        raise ValueError(f"0x{value:02x} is not a GS r 1 status byte")
    if value & 0x0C:
        return PaperState.OUT
    if value & 0x03:
        return PaperState.NEAR_END
    return PaperState.OK


def gs_r_reply(paper: PaperState) -> bytes:
    """The byte a printer sends for GS r 1 (the simulator's side)."""
    return {PaperState.OK: b"\x00", PaperState.NEAR_END: b"\x03", PaperState.OUT: b"\x0f"}[paper]


def chinese_text(text: str) -> bytes:
    """Text for a printer in Chinese character mode (FS &): GB18030, one code for everything.

    ASCII stays one byte; every other character, full-width punctuation included, becomes a
    two- or four-byte GB18030 code, so no code-page switch (ESC t) is ever needed.
    """
    return text.encode("gb18030")


def columns(text: str) -> int:
    """Printed width in half-width columns: in Chinese mode every non-ASCII code is double."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


# --- stream tokenizer (simulator side) ---------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command (or one run of text bytes) cut from a printer's input stream."""

    name: str  # e.g. "ESC @", "GS v 0", "DLE EOT", "text", "LF"
    data: bytes  # the whole command, prefix included


# Fixed-length commands: prefix -> total length. Parameters are not interpreted here.
_FIXED: dict[bytes, int] = {
    ESC + b"@": 2, ESC + b"2": 2, ESC + b"!": 3, ESC + b"E": 3, ESC + b"G": 3, ESC + b"-": 3,
    ESC + b"a": 3, ESC + b"t": 3, ESC + b"d": 3, ESC + b"J": 3, ESC + b"3": 3, ESC + b"M": 3,
    ESC + b"{": 3, ESC + b"V": 3, ESC + b"R": 3, ESC + b" ": 3, ESC + b"r": 3, ESC + b"$": 4,
    ESC + b"p": 5, ESC + b"c": 4,
    GS + b"!": 3, GS + b"B": 3, GS + b"H": 3, GS + b"h": 3, GS + b"w": 3, GS + b"f": 3,
    GS + b"r": 3, GS + b"a": 3, GS + b"L": 4, GS + b"W": 4,
    FS + b"&": 2, FS + b".": 2, FS + b"!": 3, FS + b"-": 3, FS + b"C": 3, FS + b"W": 3,
    FS + b"S": 4,
    DLE + EOT: 3, DLE + b"\x14": 5,
}
_NAMES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}


def _name(prefix: bytes) -> str:
    second = prefix[1:2]
    label = "EOT" if second == EOT else second.decode("latin-1")
    return f"{_NAMES[prefix[:1]]} {label}"


def next_command(buf: bytes | bytearray) -> tuple[Command | None, int]:
    """Cut one command off the front of buf: (command, bytes used), or (None, 0) if incomplete.

    Lengths come from the ESC/POS spec, so status queries inside image data are not
    mistaken for queries, which is what a printer does too.
    """
    if not buf:
        return None, 0
    first = buf[0]
    if first == 0x0A:
        return Command("LF", b"\n"), 1
    if bytes((first,)) in _NAMES:
        if len(buf) < 2:
            return None, 0
        prefix = bytes(buf[:2])
        size = _variable_length(buf)
        if size is None:
            size = _FIXED.get(prefix)
            if size is None and prefix == GS + b"V":
                if len(buf) < 3:
                    return None, 0
                size = 4 if buf[2] in (65, 66) else 3
            if size is None:
                # Unknown command: skip the prefix byte alone so the stream resynchronises.
                return Command("unknown", bytes(buf[:1])), 1
        elif size < 0:
            return None, 0
        if len(buf) < size:
            return None, 0
        name = "GS v 0" if prefix == GS + b"v" else _name(prefix)
        return Command(name, bytes(buf[:size])), size
    if first < 0x20:
        return Command("ctl", bytes(buf[:1])), 1
    end = 1
    while end < len(buf) and buf[end] >= 0x20 and bytes(buf[end : end + 1]) not in _NAMES:
        end += 1
    return Command("text", bytes(buf[:end])), end


def _variable_length(buf: bytes | bytearray) -> int | None:
    """Total length of a command that carries its own length; -1 if the header is incomplete."""
    prefix = bytes(buf[:2])
    if prefix in (GS + b"(",):  # GS ( k / GS ( L ...: fn pL pH then pL + 256 * pH bytes
        if len(buf) < 5:
            return -1
        return 5 + buf[3] + 256 * buf[4]
    if prefix == GS + b"v":  # GS v 0 m xL xH yL yH, then (xL + 256 xH) * (yL + 256 yH) bytes
        if len(buf) < 8:
            return -1
        return 8 + (buf[4] + 256 * buf[5]) * (buf[6] + 256 * buf[7])
    return None
