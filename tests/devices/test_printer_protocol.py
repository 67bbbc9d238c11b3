"""Status bytes, GB18030 text and the stream tokenizer, against bytes from the ESC/POS spec."""

from __future__ import annotations

import pytest
from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as st

from devices.printer import protocol
from devices.printer.protocol import PaperState

# DLE EOT n replies: fixed bits 1 and 4 set (0x12); n=1 bit 3 offline; n=4 bits 2-3 near end,
# bits 5-6 paper end; n=2 bit 2 cover open, bit 5 stopped by paper end, bit 6 error.


def test_status_queries_are_dle_eot_n():
    assert protocol.STATUS_PRINTER == b"\x10\x04\x01"
    assert protocol.STATUS_OFFLINE_CAUSE == b"\x10\x04\x02"
    assert protocol.STATUS_PAPER == b"\x10\x04\x04"


@pytest.mark.parametrize(
    ("byte", "online"), [(0x12, True), (0x16, True), (0x1A, False), (0x3A, False)]
)
def test_printer_status_byte(byte, online):
    assert protocol.parse_printer_status(byte) is online


@pytest.mark.parametrize(
    ("byte", "paper"),
    [
        (0x12, PaperState.OK),
        (0x1E, PaperState.NEAR_END),
        (0x72, PaperState.OUT),
        (0x7E, PaperState.OUT),
    ],
)
def test_paper_status_byte(byte, paper):
    assert protocol.parse_paper_status(byte) is paper


def test_offline_cause_byte():
    assert protocol.parse_offline_cause(0x16) == (True, False, False)  # cover open
    assert protocol.parse_offline_cause(0x32) == (False, True, False)  # paper end stop
    assert protocol.parse_offline_cause(0x52) == (False, False, True)  # error


@pytest.mark.parametrize("noise", [0x00, 0x11, 0x13, 0xFF, 0x92, 0x10])
def test_bytes_without_the_fixed_bits_are_not_status(noise):
    assert not protocol.is_status_byte(noise)
    with pytest.raises(ValueError):
        protocol.parse_paper_status(noise)


def test_status_reply_is_what_the_spec_says():
    ok, out = PaperState.OK, PaperState.OUT
    assert protocol.status_reply(1, online=True, paper=ok) == b"\x12"
    assert protocol.status_reply(1, online=False, paper=ok) == b"\x1a"
    assert protocol.status_reply(1, online=True, paper=out) == b"\x1a"  # paper end stops it
    assert protocol.status_reply(4, online=True, paper=PaperState.NEAR_END) == b"\x1e"
    assert protocol.status_reply(4, online=True, paper=out) == b"\x7e"
    assert protocol.status_reply(2, online=True, paper=out) == b"\x32"


@given(st.integers(0, 255))
def test_any_status_byte_parses_or_is_refused(value):
    if protocol.is_status_byte(value):
        protocol.parse_printer_status(value)
        assert protocol.parse_paper_status(value) in PaperState
    else:
        with pytest.raises(ValueError):
            protocol.parse_printer_status(value)


def test_full_width_punctuation_in_gb18030():
    # GB 18030 code points: ，A3AC ：A3BA —A1AA 〇A996 【A1BE 】A1BF 前C7B0 人C8CB
    assert protocol.chinese_text("，：——〇【】") == bytes.fromhex("a3aca3baa1aaa1aaa996a1bea1bf")
    assert protocol.chinese_text("前 3 人") == b"\xc7\xb0 3 \xc8\xcb"


def test_python_escpos_still_mangles_punctuation():
    """Why protocol.chinese_text exists: if this starts failing, python-escpos was fixed."""
    p = Dummy()
    p.text("：\n")
    p.text("——\n")
    assert b"\xa3\xba" not in p.output  # sent as "?" after an ESC t code-page switch
    assert b"\xa1\xaa" not in p.output  # sent as CP1252 0x97, another character in GB18030
    assert b"\x1c&" not in p.output  # and Chinese mode is never switched on


def test_columns_count_chinese_double():
    assert protocol.columns("A012") == 4
    assert protocol.columns("前面还有 3 人") == 4 * 2 + 3 + 2


def _cut_all(stream: bytes) -> list[tuple[str, bytes]]:
    out, buf = [], stream
    while buf:
        cmd, used = protocol.next_command(buf)
        assert cmd is not None, buf
        out.append((cmd.name, cmd.data))
        buf = buf[used:]
    return out


def test_tokenizer_skips_status_bytes_inside_an_image():
    # GS v 0, m=0, 1 byte wide, 3 rows: the data happens to be DLE EOT 1.
    image = b"\x1dv0\x00\x01\x00\x03\x00" + b"\x10\x04\x01"
    stream = b"\x1b@\x1c&" + image + b"\x10\x04\x04" + "前".encode("gb18030") + b"\n\x1dV\x01"
    names = [name for name, _ in _cut_all(stream)]
    assert names == ["ESC @", "FS &", "GS v 0", "DLE EOT", "text", "LF", "GS V"]


def test_tokenizer_qr_and_partial_cut():
    store = b"\x1d(k\x06\x001P0abc"  # pL=6: cn fn m + "abc"
    assert _cut_all(store + b"\x1dVB\x00") == [("GS (", store), ("GS V", b"\x1dVB\x00")]


@pytest.mark.parametrize(
    "partial", [b"\x1b", b"\x1d(k\x06\x001P0ab", b"\x1dv0\x00\x01\x00", b"\x10\x04"]
)
def test_tokenizer_waits_for_the_rest(partial):
    assert protocol.next_command(partial) == (None, 0)


@given(st.binary(max_size=200))
def test_tokenizer_never_loops_on_garbage(data):
    buf = data
    while buf:
        cmd, used = protocol.next_command(buf)
        if cmd is None:
            break
        assert used > 0
        buf = buf[used:]


def test_gs_r_paper_status():
    # GS r 1 reply: bits 0-1 near end, bits 2-3 paper end, bits 4 and 7 always 0.
    assert protocol.TRANSMIT_PAPER_STATUS == b"\x1dr\x01"
    assert protocol.parse_gs_r_paper(0x00) is PaperState.OK
    assert protocol.parse_gs_r_paper(0x03) is PaperState.NEAR_END
    assert protocol.parse_gs_r_paper(0x0C) is PaperState.OUT
    assert not protocol.is_gs_r_byte(0x12)  # a DLE EOT reply is never taken for one
    with pytest.raises(ValueError):
        protocol.parse_gs_r_paper(0x12)
