"""Serial/USB-CDC barcode scanners: codes end with CR, LF or CRLF. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

# A code longer than this without a terminator is line noise or a scanner with its
# suffix switched off; either way there is nothing sensible to emit.
MAX_CODE_LEN = 4096


@dataclass(frozen=True)
class Scan:
    """One code read by any scanner. `source` is serial, hid, camera or image."""

    data: str
    source: str = "serial"

    def to_json_dict(self) -> dict[str, str]:
        return {"data": self.data}


@dataclass(frozen=True)
class ScannerPortSettings:
    # Most serial scanners ship at 9600 8N1; USB-CDC ones ignore the rate.
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1


SCANNER_SERIAL = ScannerPortSettings()


def _plausible(text: str) -> bool:
    """Text a hall's codes are made of: ASCII, Latin letters, CJK and its punctuation."""
    for ch in text:
        o = ord(ch)
        if not (
            0x20 <= o < 0x7F
            or ch in "\t"
            or 0xA0 <= o <= 0x24F  # Latin-1 supplement, Latin extended A/B
            or 0x3000 <= o <= 0x303F  # CJK punctuation
            or 0x3400 <= o <= 0x9FFF  # CJK unified ideographs (+ extension A)
            or 0xFF00 <= o <= 0xFFEF  # full-width forms
            or 0x20000 <= o <= 0x3FFFF  # CJK extensions B and later
        ):
            return False
    return True


def decode_code(raw: bytes) -> str:
    """Scanner bytes to text: UTF-8 if valid, else GB18030 (scanners set to GBK output).

    Some GBK text is also valid UTF-8 (two-byte pairs with leads 0xCA-0xDF read as
    Greek, Cyrillic, Armenian...), so valid UTF-8 made only of such two-byte letters
    goes to GB18030 when that reading is plausible CJK text. The price: a code of pure
    Cyrillic or Greek in UTF-8 comes out as Chinese characters. GB18030 maps almost every byte
    sequence; the last resort only replaces the few invalid tails.
    """
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        text = None
    # Three- and four-byte UTF-8 sequences almost never occur by chance in GBK text.
    if text is not None and (_plausible(text) or any(ord(ch) >= 0x800 for ch in text)):
        return text
    try:
        gb = raw.decode("gb18030")
    except UnicodeDecodeError:
        return text if text is not None else raw.decode("gb18030", errors="replace")
    if text is None or _plausible(gb):
        return gb
    return text


class LineDecoder:
    """Cuts a byte stream into codes at CR, LF or CRLF (also split across reads)."""

    def __init__(self, max_len: int = MAX_CODE_LEN) -> None:
        self.max_len = max_len
        self._buf = bytearray()
        self._overflow = False
        self.dropped = 0  # codes dropped for being too long (for logs and tests)

    def feed(self, data: bytes) -> list[bytes]:
        codes: list[bytes] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                # An empty line is the LF of a CRLF (or a blank scan): nothing to emit.
                if self._overflow:
                    self.dropped += 1
                elif self._buf:
                    codes.append(bytes(self._buf))
                self._buf.clear()
                self._overflow = False
                continue
            if self._overflow:
                continue
            if len(self._buf) >= self.max_len:
                self._overflow = True
                self._buf.clear()
                continue
            self._buf.append(byte)
        return codes

    def reset(self) -> None:
        self._buf.clear()
        self._overflow = False
