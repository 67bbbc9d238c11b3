"""Scanner byte handling, HID key mapping and camera de-duplication: pure, no devices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.scanner.camera import Deduper
from devices.scanner.hid import KEYMAP, KeyDecoder
from devices.scanner.protocol import LineDecoder, decode_code

# --- serial framing ---------------------------------------------------------------------


def test_codes_end_at_cr_lf_or_crlf() -> None:
    d = LineDecoder()
    assert d.feed(b"ABC\rDEF\r\nGHI\n") == [b"ABC", b"DEF", b"GHI"]


def test_crlf_split_across_reads_is_one_terminator() -> None:
    d = LineDecoder()
    assert d.feed(b"12345\r") == [b"12345"]
    assert d.feed(b"\n678") == []
    assert d.feed(b"9\r\n") == [b"6789"]


def test_a_code_arriving_byte_by_byte() -> None:
    d = LineDecoder()
    out = []
    for b in b"QMS-APPT:demo\r\n":
        out += d.feed(bytes([b]))
    assert out == [b"QMS-APPT:demo"]


def test_overlong_noise_is_dropped_and_the_next_code_survives() -> None:
    d = LineDecoder(max_len=16)
    assert d.feed(b"x" * 40 + b"\rOK\r") == [b"OK"]
    assert d.dropped == 1


CODE_BYTES = st.binary(min_size=1, max_size=30).filter(lambda b: b"\r" not in b and b"\n" not in b)


@given(st.lists(CODE_BYTES, max_size=8), st.integers(1, 7))
def test_any_chunking_gives_the_same_codes(codes: list[bytes], step: int) -> None:
    stream = b"".join(c + b"\r\n" for c in codes)
    d = LineDecoder()
    out: list[bytes] = []
    for i in range(0, len(stream), step):
        out += d.feed(stream[i : i + step])
    assert out == codes


def test_utf8_then_gb18030_decoding() -> None:
    assert decode_code(bytes.fromhex("E4B8ADE69687")) == "中文"  # UTF-8
    assert decode_code(bytes.fromhex("D6D0CEC4")) == "中文"  # GB18030 / GBK
    assert decode_code(b"A012") == "A012"
    assert decode_code(bytes.fromhex("EFBBBF") + b"X1") == "X1"  # UTF-8 BOM dropped


def test_gbk_bytes_that_happen_to_be_valid_utf8() -> None:
    # 预约 in GBK is D4A4 D4BC, which UTF-8 reads as Armenian "ԤԼ".
    assert decode_code(bytes.fromhex("D4A4D4BC3A42303132")) == "预约:B012"
    # Accented Latin in UTF-8 stays UTF-8.
    assert decode_code("José Müller".encode()) == "José Müller"
    # Mixed text with real multibyte UTF-8 (three-byte CJK) is never taken for GBK.
    assert decode_code("预约 Ив".encode()) == "预约 Ив"


# --- HID keyboard-mode ------------------------------------------------------------------

# Linux key codes, written out from input-event-codes.h.
KEY = {"1": 2, "2": 3, "0": 11, "a": 30, "q": 16, "m": 50, "minus": 12, "slash": 53,
       "semicolon": 39, "space": 57, "enter": 28, "kpenter": 96, "lshift": 42, "rshift": 54,
       "caps": 58, "kp7": 71, "leftctrl": 29, "tab": 15}


def press(d: KeyDecoder, code: int) -> str | None:
    first = d.feed(code, 1)
    second = d.feed(code, 0)
    return first or second


def test_hid_keys_to_text_with_shift_and_enter() -> None:
    d = KeyDecoder()
    assert press(d, KEY["q"]) is None
    d.feed(KEY["lshift"], 1)
    press(d, KEY["a"])
    press(d, KEY["semicolon"])
    press(d, KEY["1"])
    d.feed(KEY["lshift"], 0)
    press(d, KEY["minus"])
    press(d, KEY["slash"])
    press(d, KEY["space"])
    press(d, KEY["0"])
    assert press(d, KEY["enter"]) == "qA:!-/ 0"


def test_hid_caps_lock_keypad_and_ignored_keys() -> None:
    d = KeyDecoder()
    press(d, KEY["caps"])
    press(d, KEY["m"])
    d.feed(KEY["rshift"], 1)
    press(d, KEY["m"])  # shift inverts caps for letters
    press(d, KEY["2"])
    d.feed(KEY["rshift"], 0)
    press(d, KEY["kp7"])
    press(d, KEY["leftctrl"])
    press(d, KEY["tab"])
    assert press(d, KEY["kpenter"]) == "Mm@7\t"
    assert d.unknown_keys == 1


def test_hid_key_repeat_counts_and_empty_enter_is_nothing() -> None:
    d = KeyDecoder()
    assert press(d, KEY["enter"]) is None
    d.feed(KEY["a"], 1)
    d.feed(KEY["a"], 2)
    d.feed(KEY["a"], 0)
    assert press(d, KEY["enter"]) == "aa"


def test_hid_keymap_agrees_with_evdev_names() -> None:
    ecodes = pytest.importorskip("evdev.ecodes")
    for letter in "abcdefghijklmnopqrstuvwxyz":
        assert KEYMAP[getattr(ecodes, f"KEY_{letter.upper()}")] == (letter, letter.upper())
    for digit in "0123456789":
        assert KEYMAP[getattr(ecodes, f"KEY_{digit}")][0] == digit
        assert KEYMAP[getattr(ecodes, f"KEY_KP{digit}")] == (digit, digit)
    assert (KEY["enter"], KEY["kpenter"]) == (ecodes.KEY_ENTER, ecodes.KEY_KPENTER)


# --- camera de-duplication ----------------------------------------------------------------


def test_a_code_held_up_is_one_scan() -> None:
    d = Deduper(hold=1.0)
    assert d.update(["A"], 0.0) == ["A"]
    for i in range(1, 30):
        assert d.update(["A"], i * 0.1) == []  # 3 s in front of the camera


def test_missed_frames_do_not_make_a_second_scan() -> None:
    d = Deduper(hold=1.0)
    d.update(["A"], 0.0)
    assert d.update([], 0.1) == []
    assert d.update(["A"], 0.6) == []


def test_shown_again_after_being_away_is_a_new_scan() -> None:
    d = Deduper(hold=1.0)
    d.update(["A"], 0.0)
    assert d.update(["A", "B"], 2.0) == ["A", "B"]
    assert d.update(["B", "A"], 2.1) == []
