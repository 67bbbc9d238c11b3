"""SAM frames and card text blocks built from the spec in the tests (not with the
driver's own code), so the tests check the driver against the spec."""

from __future__ import annotations

PREAMBLE = bytes.fromhex("AAAAAA9669")


def frame(body: bytes) -> bytes:
    """A frame as the spec describes it: LEN counts body + CHK; CHK XORs LEN..body."""
    n = len(body) + 1
    length = bytes([n >> 8, n & 0xFF])
    chk = 0
    for b in length + body:
        chk ^= b
    return PREAMBLE + length + body + bytes([chk])


def text_block(values: dict[int, tuple[int, str]], letter: str = " ") -> bytes:
    """256 bytes of UTF-16LE spaces with `values` {offset: (length, text)} and the type mark."""
    buf = bytearray(b"\x20\x00" * 128)
    for offset, (length, text) in values.items():
        raw = text.encode("utf-16-le")
        assert len(raw) <= length
        buf[offset : offset + len(raw)] = raw
    buf[248:250] = letter.encode("utf-16-le")
    return bytes(buf)
