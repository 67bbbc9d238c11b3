"""ID card reader protocol and card layouts, on bytes built by hand from the spec."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.idcard import protocol
from devices.idcard.card import CardDataError, CardType, parse_card_text
from devices.idcard.protocol import ChecksumError, FrameError
from tests.devices.idcard_spec import PREAMBLE, frame, text_block

RESIDENT = {
    0: (30, "张三"),
    30: (2, "1"),
    32: (4, "01"),
    36: (16, "19580315"),
    52: (70, "北京市东城区景山前街4号"),
    122: (36, "110101195803150011"),
    158: (30, "北京市公安局东城分局"),
    188: (16, "20160520"),
    204: (16, "长期"),
}


# --- framing ------------------------------------------------------------------------------


def test_commands_match_the_documented_bytes() -> None:
    assert protocol.build_command(protocol.Command.FIND_CARD) == bytes.fromhex(
        "AAAAAA96690003200122"
    )
    assert protocol.build_command(protocol.Command.SELECT_CARD) == bytes.fromhex(
        "AAAAAA96690003200221"
    )
    assert protocol.build_command(protocol.Command.READ_BASIC) == bytes.fromhex(
        "AAAAAA96690003300132"
    )


def test_find_reply_parses() -> None:
    raw = bytes.fromhex("AAAAAA9669000800009F0000000097")
    reply, rest = protocol.parse_reply(raw)
    assert reply is not None and rest == b""
    assert (reply.sw1, reply.sw2, reply.sw3) == (0, 0, 0x9F)
    assert reply.data == bytes(4)


def test_basic_info_reply_is_1295_bytes_and_splits() -> None:
    text = text_block(RESIDENT)
    photo = bytes(range(256)) * 4
    raw = frame(b"\x00\x00\x90" + b"\x01\x00" + b"\x04\x00" + text + photo)
    assert len(raw) == 1295
    assert raw[5:7] == b"\x05\x08"
    reply, rest = protocol.parse_reply(raw)
    assert reply is not None and reply.sw3 == 0x90 and rest == b""
    got_text, got_photo = protocol.split_basic_info(reply.data)
    assert got_text == text and got_photo == photo


def test_garbage_before_a_frame_is_skipped() -> None:
    raw = b"\x00\xff\xaa\xaa\x96" + frame(b"\x00\x00\x80") + b"\xaa\xaa"
    reply, rest = protocol.parse_reply(raw)
    assert reply is not None and reply.sw3 == 0x80
    assert rest == b"\xaa\xaa"  # could be the next preamble: kept


def test_reply_in_pieces_parses_once_complete() -> None:
    raw = frame(b"\x00\x00\x90" + bytes(8))
    buf = b""
    for i, byte in enumerate(raw):
        buf += bytes([byte])
        reply, buf = protocol.parse_reply(buf)
        if i < len(raw) - 1:
            assert reply is None
    assert reply is not None and reply.sw3 == 0x90 and reply.data == bytes(8)


def test_noise_without_preamble_is_dropped_but_a_partial_preamble_kept() -> None:
    assert protocol.parse_reply(b"\x01\x02\x03") == (None, b"")
    assert protocol.parse_reply(b"\x01\xaa\xaa\xaa\x96") == (None, b"\xaa\xaa\xaa\x96")


def test_bad_checksum_raises_with_the_rest() -> None:
    good = frame(b"\x00\x00\x9f" + bytes(4))
    bad = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(ChecksumError) as info:
        protocol.parse_reply(bad + b"\x42")
    assert info.value.rest == b"\x42"


def test_implausible_length_resynchronises() -> None:
    bogus = PREAMBLE + b"\xff\xff" + b"\x00" * 4
    with pytest.raises(FrameError) as info:
        protocol.parse_reply(bogus + frame(b"\x00\x00\x80"))
    reply, _ = protocol.parse_reply(info.value.rest)
    assert reply is not None and reply.sw3 == 0x80


def test_command_parse_for_the_simulator_side() -> None:
    cmd, rest = protocol.parse_command(bytes.fromhex("AAAAAA96690003300132"))
    assert cmd is not None and (cmd.cmd, cmd.para, cmd.data) == (0x30, 0x01, b"")
    assert rest == b""


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_only_ever_raise_frame_errors(data: bytes) -> None:
    buf = data
    for _ in range(50):
        try:
            reply, buf = protocol.parse_reply(buf)
        except FrameError as exc:
            buf = exc.rest
            continue
        if reply is None:
            break


# --- card layouts -----------------------------------------------------------------------


def test_resident_card() -> None:
    card = parse_card_text(text_block(RESIDENT), b"\x01" * 1024)
    assert card.card_type is CardType.RESIDENT
    assert card.to_json_dict() == {
        "name": "张三",
        "gender": "男",
        "nation": "汉",
        "birth": "1958-03-15",
        "address": "北京市东城区景山前街4号",
        "id_number": "110101195803150011",
        "authority": "北京市公安局东城分局",
        "valid_from": "2016-05-20",
        "valid_to": "长期",
        "card_type": "resident",
    }
    assert card.valid_to is None
    assert card.photo == b"\x01" * 1024
    assert card.age_on(date(2026, 3, 14)) == 67
    assert card.age_on(date(2026, 3, 15)) == 68


def test_rare_character_outside_the_bmp_survives() -> None:
    values = dict(RESIDENT)
    values[0] = (30, "吉𠮷")  # U+20BB7: a surrogate pair in UTF-16
    values[32] = (4, "08")
    values[30] = (2, "2")
    card = parse_card_text(text_block(values))
    assert card.name == "吉𠮷" and card.gender == "女" and card.nation == "壮"


@pytest.mark.parametrize(("code", "name"), [("0", "未知"), ("9", "未说明"), ("", "未知")])
def test_other_gender_codes(code: str, name: str) -> None:
    values = dict(RESIDENT)
    values[30] = (2, code)
    assert parse_card_text(text_block(values)).gender == name


def test_hk_mo_tw_residence_permit() -> None:
    values = dict(RESIDENT)
    del values[32]  # the nation field is blank on these permits
    values[0] = (30, "陈大文")
    values[122] = (36, "810000198511300038")
    values[204] = (16, "20240901")
    values[220] = (18, "H12345678")
    values[238] = (4, "02")
    card = parse_card_text(text_block(values, "J"))
    out = card.to_json_dict()
    assert out["card_type"] == "hk_mo_tw"
    assert out["nation"] == ""
    assert out["pass_number"] == "H12345678"
    assert out["issue_count"] == 2
    assert out["valid_to"] == "2024-09-01"


def test_foreign_permanent_resident_card_2017() -> None:
    values = {
        0: (120, "SMITH, JOHN"),
        120: (2, "1"),
        122: (30, "CAN110070021401"),
        152: (6, "CAN"),
        158: (30, "史密斯"),
        188: (16, "20180616"),
        204: (16, "20280615"),
        220: (16, "19700214"),
        236: (4, "01"),
        240: (8, "1100"),
    }
    out = parse_card_text(text_block(values, "I")).to_json_dict()
    assert out == {
        "name": "史密斯",
        "gender": "男",
        "nation": "",
        "birth": "1970-02-14",
        "address": "",
        "id_number": "CAN110070021401",
        "authority": "",
        "valid_from": "2018-06-16",
        "valid_to": "2028-06-15",
        "card_type": "foreign_permanent",
        "english_name": "SMITH, JOHN",
        "nationality": "CAN",
        "edition": 2017,
        "card_version": "01",
        "authority_code": "1100",
    }


def test_foreign_permanent_resident_card_2023_with_a_long_english_name() -> None:
    english = "WOLFESCHLEGELSTEINHAUSEN, HUBERT BLAINE"  # 39 letters: spills past 35
    values = {
        0: (30, ""),
        30: (2, "2"),
        32: (4, "01"),
        36: (16, "19881224"),
        52: (70, english[:35]),
        122: (36, "933110198812240049"),
        188: (16, "20240301"),
        204: (16, "20340301"),
        220: (22, english[35:]),
        242: (6, "DEU"),
    }
    card = parse_card_text(text_block(values, "Y"))
    assert card.card_type is CardType.FOREIGN_PERMANENT
    assert card.english_name == english
    assert card.name == english  # no Chinese name: the English one stands in
    assert card.id_number == "933110198812240049"
    assert card.nationality == "DEU"
    assert card.edition == 2023
    assert card.renewal_count == 1
    assert card.gender == "女"


def test_unknown_card_type_mark_is_a_data_error() -> None:
    with pytest.raises(CardDataError, match="card type"):
        parse_card_text(text_block(RESIDENT, "Q"))


def test_bad_date_is_a_data_error() -> None:
    values = dict(RESIDENT)
    values[36] = (16, "19581332")
    with pytest.raises(CardDataError, match="birth"):
        parse_card_text(text_block(values))


def test_short_text_block_is_a_data_error() -> None:
    with pytest.raises(CardDataError):
        parse_card_text(b"\x20\x00" * 10)
