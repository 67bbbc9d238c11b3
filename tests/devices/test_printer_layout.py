"""Ticket bytes (text and raster), settings parsing and ticket validation."""

from __future__ import annotations

import pytest

from devices.printer import (
    PrinterAddress,
    PrinterConfigError,
    PrinterSettings,
    TicketError,
    build_ticket,
    parse_printer_address,
)
from devices.printer.layout import Ticket, layout_ticket, wait_text
from devices.printer.render import render

TICKET = {
    "hall_name": "示范县政务服务中心",
    "number": "A012",
    "service_name": "综合受理",
    "issued_at": "2026-11-23T09:05:00+08:00",
    "ahead": 3,
    "est_wait_s": 740,
    "code": "K7Q2M9",
    "id_tail": None,
    "priority": False,
}

# ESC/POS commands written out from the spec, not taken from the code under test.
INIT, CHINESE = b"\x1b@", b"\x1c&"
LF = b"\n"


def line(align: int, size: int, bold: int, text: str) -> bytes:
    """ESC a n, GS ! n, ESC E n, the GB18030 text, LF."""
    return (
        bytes([0x1B, 0x61, align, 0x1D, 0x21, size, 0x1B, 0x45, bold]) + text.encode("gb18030") + LF
    )


def gs_k(fn: int, payload: bytes) -> bytes:
    """GS ( k pL pH cn=49 fn payload."""
    body = bytes([0x31, fn]) + payload
    return b"\x1d(k" + bytes([len(body) % 256, len(body) // 256]) + body


def test_text_mode_bytes_for_a_plain_ticket():
    rule = line(0, 0x00, 0, "-" * 48)
    url = b"https://hall.example/t/K7Q2M9"
    expected = (
        INIT
        + CHINESE
        + line(1, 0x01, 1, "示范县政务服务中心")  # 1 wide, 2 high, bold
        + rule
        + line(1, 0x11, 1, "综合受理")
        + line(1, 0x55, 1, "A012")  # 6 x 6
        + b"\x1bd\x01"
        + line(1, 0x11, 0, "前面还有 3 人")
        + line(1, 0x01, 0, "预计等候：约 13 分钟")
        + line(1, 0x00, 0, "取号时间：2026-11-23 09:05")
        + rule
        + b"\x1ba\x01"
        + gs_k(0x41, b"\x32\x00")  # model 2
        + gs_k(0x43, b"\x06")  # 6 dots a module
        + gs_k(0x45, b"\x31")  # error correction M
        + gs_k(0x50, b"0" + url)
        + gs_k(0x51, b"0")
        + line(1, 0x00, 0, "扫码查看排队进度")
        + line(1, 0x00, 0, "查询码：K7Q2M9")
        + rule
        + line(1, 0x00, 1, "请在休息区等候，留意叫号")
        + line(1, 0x00, 1, "过号请重新取号")
        + b"\x1d!\x00\x1bE\x00\x1ba\x00"
        + b"\x1bd\x06\x1dV\x01"  # feed 6 lines, partial cut
    )
    assert build_ticket(TICKET, PrinterSettings()) == expected


def test_marks_and_masked_id_tail():
    data = build_ticket({**TICKET, "id_tail": "012x", "priority": "elder"}, PrinterSettings())
    assert line(1, 0x01, 1, "【绿色通道】") in data
    assert line(1, 0x00, 0, "身份证：**************012X") in data
    assert b"elder" not in data  # why someone has priority is not printed


def test_a_booking_ticket_is_marked_booked_not_green_channel():
    # every booking gets priority from the server; it is not the green channel
    data = build_ticket({**TICKET, "priority": True, "appointment": True}, PrinterSettings())
    assert line(1, 0x01, 1, "【预约】") in data
    assert "绿色通道".encode("gb18030") not in data


def test_58mm_paper_wraps_and_shrinks_the_number():
    settings = PrinterSettings(paper_mm=58)
    data = build_ticket({**TICKET, "number": "A0123"}, settings)
    assert line(0, 0x00, 0, "-" * 32) in data
    assert line(1, 0x55, 1, "A0123") in data  # 5 x 12 x 6 = 360 dots fit 384
    assert gs_k(0x43, b"\x04") in data


def test_raster_mode_is_one_image_and_no_text():
    settings = PrinterSettings(encoding="raster")
    data = build_ticket(TICKET, settings)
    # ESC @, then GS v 0 m=0, 72 bytes (576 dots) wide.
    assert data.startswith(INIT + b"\x1dv0\x00\x48\x00")
    assert CHINESE not in data
    assert data.endswith(b"\x1bd\x06\x1dV\x01")


def test_raster_image_is_paper_wide_and_has_ink():
    image = render(layout_ticket(Ticket.from_dict(TICKET), PrinterSettings()), 576)
    assert image.mode == "1" and image.width == 576
    assert 0 < image.histogram()[0] < image.width * image.height // 3  # black dots, not all


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "不到 1 分钟"),
        (60, "约 1 分钟"),
        (61, "约 2 分钟"),
        (3600, "约 1 小时"),
        (4000, "约 1 小时 7 分钟"),
    ],
)
def test_wait_wording(seconds, text):
    assert wait_text(seconds) == text


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"number": None}, "number"),
        ({"ahead": -1}, "ahead"),
        ({"ahead": "3"}, "ahead"),
        ({"issued_at": "yesterday"}, "issued_at"),
        ({"issued_at": "2026-11-23T09:05:00"}, "issued_at"),  # no offset
        ({"id_tail": "110105199001011234"}, "id_tail"),  # a whole ID must never print
    ],
)
def test_bad_ticket_names_the_field(change, key):
    with pytest.raises(TicketError) as info:
        build_ticket({**TICKET, **change}, PrinterSettings())
    assert info.value.key == key and key in str(info.value)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("serial:/dev/qms-printer", PrinterAddress("serial", path="/dev/qms-printer")),
        ("serial:/dev/ttyUSB0?baud=115200", PrinterAddress("serial", "/dev/ttyUSB0", 115200)),
        ("usb:0416:5011", PrinterAddress("usb", vendor_id=0x0416, product_id=0x5011)),
        (
            "usb:0x04b8:0x0e15?in=0x81&out=0x02",
            PrinterAddress("usb", vendor_id=0x04B8, product_id=0x0E15, in_ep=0x81, out_ep=0x02),
        ),
        ("tcp:192.168.1.60:9100", PrinterAddress("tcp", host="192.168.1.60", port=9100)),
        ("tcp:printer.local", PrinterAddress("tcp", host="printer.local", port=9100)),
        ("file:/tmp/t.bin", PrinterAddress("file", path="/tmp/t.bin")),
    ],
)
def test_printer_address(text, address):
    assert parse_printer_address(text) == address


@pytest.mark.parametrize(
    "text",
    [
        "",
        "/dev/ttyUSB0",
        "serial:",
        "usb:0416",
        "usb:zz:11",
        "tcp::9100",
        "tcp:h:99999",
        "lpt:1",
        "serial:/dev/x?baud=fast",
    ],
)
def test_bad_printer_address(text):
    with pytest.raises(PrinterConfigError) as info:
        parse_printer_address(text)
    assert info.value.key == "printer"


def test_settings_from_hall_device_entry():
    settings = PrinterSettings.from_config(
        {
            "id": "kiosk-1",
            "printer": "serial:/dev/qms-printer",
            "printer_encoding": "raster",
            "printer_qr_base": "https://zw.example.gov.cn/q/",
        }
    )
    assert settings.address.path == "/dev/qms-printer"
    assert settings.encoding == "raster" and settings.dots == 576
    assert settings.qr_base == "https://zw.example.gov.cn/q/"
    with pytest.raises(PrinterConfigError, match="printer_encoding"):
        PrinterSettings.from_config({"printer": "serial:/dev/x", "printer_encoding": "utf8"})
    with pytest.raises(PrinterConfigError, match="no printer"):
        PrinterSettings.from_config({"id": "counter-1"})


@pytest.mark.parametrize(
    ("qr_url", "content"),
    [
        (None, b"https://hall.example/t/K7Q2M9"),
        ("https://zw.example.gov.cn/q/", b"https://zw.example.gov.cn/q/K7Q2M9"),
        ("/t/", b"https://hall.example/t/K7Q2M9"),  # relative: resolved against the setting
    ],
)
def test_qr_content_is_base_and_code(qr_url, content):
    data = build_ticket({**TICKET, "qr_url": qr_url}, PrinterSettings())
    assert gs_k(0x50, b"0" + content) in data


@pytest.mark.parametrize("base", ["/t/", "hall.example/t/", ""])
def test_qr_base_setting_must_be_absolute(base):
    with pytest.raises(PrinterConfigError, match="printer_qr_base"):
        PrinterSettings(qr_base=base)
