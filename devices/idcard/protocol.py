"""SAM (second-generation ID card) reader framing. Pure: bytes in, bytes out.

Frame: AA AA AA 96 69 | LEN (2 bytes, big endian) | body | CHK. LEN counts the
bytes after itself, CHK included; CHK is the XOR of LEN's two bytes and the body.
Commands carry CMD PARA [DATA]; replies carry SW1 SW2 SW3 [DATA].
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import reduce

from .card import PHOTO_LEN, TEXT_LEN

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2
# The longest reply we know (basic info with fingerprint) is under 0x0A00; anything
# larger is noise that happens to follow a preamble, so we resynchronise past it.
MAX_BODY_LEN = 0x1000


class Command(enum.Enum):
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_BASIC = (0x30, 0x01)


class SW3(enum.IntEnum):
    OK = 0x90
    CARD_FOUND = 0x9F
    NO_CARD = 0x80
    SELECT_FAILED = 0x81
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    BAD_COMMAND = 0x21
    READ_FAILED = 0x41


SW3_TEXT = {
    SW3.OK: "ok",
    SW3.CARD_FOUND: "card found",
    SW3.NO_CARD: "no card",
    SW3.SELECT_FAILED: "card select failed",
    SW3.CHECKSUM_ERROR: "reader saw a checksum error in our command",
    SW3.LENGTH_ERROR: "reader saw a length error in our command",
    SW3.BAD_COMMAND: "reader does not know the command",
    SW3.READ_FAILED: "card read failed",
}


@dataclass(frozen=True)
class PortSettings:
    """How to open the port and how long to wait; one constant per reader model."""

    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    # Silence after which a reply in progress is given up on.
    reply_idle_timeout: float = 0.5
    # Whole-reply cap, generous for the 1295-byte basic-info reply at 115200 baud (~0.11 s).
    reply_timeout: float = 2.0


SAM_SERIAL = PortSettings()


class FrameError(ValueError):
    """Bytes that cannot be a frame. `rest` is where parsing should resume."""

    def __init__(self, message: str, rest: bytes) -> None:
        super().__init__(message)
        self.rest = rest


class ChecksumError(FrameError):
    pass


@dataclass(frozen=True)
class CommandFrame:
    cmd: int
    para: int
    data: bytes = b""


@dataclass(frozen=True)
class Reply:
    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    def status_text(self) -> str:
        try:
            return SW3_TEXT[SW3(self.sw3)]
        except ValueError:
            return f"unknown status 0x{self.sw3:02X}"


def checksum(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def _frame(body: bytes) -> bytes:
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([checksum(length + body)])


def build_command(command: Command | tuple[int, int], data: bytes = b"") -> bytes:
    cmd, para = command.value if isinstance(command, Command) else command
    return _frame(bytes([cmd, para]) + data)


def build_reply(sw3: int, data: bytes = b"", sw1: int = 0x00, sw2: int = 0x00) -> bytes:
    return _frame(bytes([sw1, sw2, sw3]) + data)


def build_basic_info(text: bytes, photo: bytes) -> bytes:
    """The data part of a successful READ_BASIC reply."""
    return len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo


def _parse_body(buf: bytes) -> tuple[bytes | None, bytes]:
    """Find the next frame in `buf`: (body without CHK, rest) or (None, buf to keep)."""
    start = buf.find(PREAMBLE)
    if start < 0:
        # Keep a tail that could be the start of a preamble split across reads.
        for keep in range(len(PREAMBLE) - 1, 0, -1):
            if buf.endswith(PREAMBLE[:keep]):
                return None, buf[-keep:]
        return None, b""
    buf = buf[start:]
    if len(buf) < HEADER_LEN:
        return None, buf
    length = int.from_bytes(buf[5:7], "big")
    if length < 2 or length > MAX_BODY_LEN:
        raise FrameError(f"implausible frame length {length}", buf[1:])
    end = HEADER_LEN + length
    if len(buf) < end:
        return None, buf
    frame, rest = buf[:end], buf[end:]
    if checksum(frame[5:-1]) != frame[-1]:
        raise ChecksumError(
            f"checksum 0x{frame[-1]:02X}, expected 0x{checksum(frame[5:-1]):02X}", rest
        )
    return frame[HEADER_LEN:-1], rest


def parse_reply(buf: bytes) -> tuple[Reply | None, bytes]:
    """Parse the first reply in `buf`, skipping garbage before it.

    Returns (reply, unparsed rest) or (None, bytes to keep) if more bytes are
    needed. Raises FrameError / ChecksumError; their `rest` is where to resume.
    """
    body, rest = _parse_body(buf)
    if body is None:
        return None, rest
    if len(body) < 3:
        raise FrameError(f"reply too short ({len(body)} bytes)", rest)
    return Reply(body[0], body[1], body[2], body[3:]), rest


def parse_command(buf: bytes) -> tuple[CommandFrame | None, bytes]:
    """Like parse_reply, for the reader's side (used by the simulator)."""
    body, rest = _parse_body(buf)
    if body is None:
        return None, rest
    return CommandFrame(body[0], body[1], body[2:]), rest


def split_basic_info(data: bytes) -> tuple[bytes, bytes]:
    """Split READ_BASIC reply data into (text, photo), checking the declared lengths."""
    if len(data) < 4:
        raise FrameError(f"basic info is {len(data)} bytes, too short", b"")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len != TEXT_LEN or photo_len != PHOTO_LEN:
        raise FrameError(f"unexpected text/photo lengths {text_len}/{photo_len}", b"")
    if len(data) < 4 + text_len + photo_len:
        raise FrameError(f"basic info truncated at {len(data)} bytes", b"")
    return data[4 : 4 + text_len], data[4 + text_len : 4 + text_len + photo_len]
