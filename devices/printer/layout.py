"""The ticket (号票) layout and the bytes for it. Pure: a ticket dict in, bytes or elements out.

One layout (a tuple of elements) feeds three outputs: ESC/POS text in GB18030 (Chinese
printers with a font), the same drawn by Pillow and sent as a raster image (printers
without a usable Chinese font), and the PNG preview. python-escpos' Dummy printer builds
the commands; only the Chinese text itself is added by hand (see protocol.chinese_text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from escpos.capabilities import get_profile
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from . import protocol
from .errors import TicketError
from .settings import PrinterSettings

ID_TAIL_MAX = 4  # never print more of an ID number than its last four characters
ID_LENGTH = 18


@dataclass(frozen=True)
class Run:
    text: str
    width: int = 1  # GS ! multipliers, 1..8
    height: int = 1
    bold: bool = False


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]
    align: str = "left"  # left | center | right


@dataclass(frozen=True)
class QRCode:
    data: str
    module: int = 6  # dots per module
    align: str = "center"


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True, eq=False)
class Bitmap:
    """A raster image as received by a printer (the simulator's view of GS v 0)."""

    image: Image.Image  # mode "1", black ink on white


Element = Line | QRCode | Feed | Bitmap


@dataclass(frozen=True)
class Ticket:
    hall_name: str
    number: str
    service_name: str
    issued_at: datetime
    ahead: int
    est_wait_s: int
    code: str
    id_tail: str | None = None
    priority: bool = False
    appointment: bool = False
    qr_url: str | None = None  # base from the server; relative ones resolve against settings

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Ticket:
        """Validate a ticket dict from the server; TicketError names the bad field."""
        if not isinstance(data, Mapping):
            raise TicketError("(root)", "a ticket must be a JSON object")

        def text(key: str, required: bool = True) -> str | None:
            value = data.get(key)
            if value is None or value == "":
                if required:
                    raise TicketError(key, "is missing")
                return None
            if not isinstance(value, str):
                raise TicketError(key, f"must be text, not {type(value).__name__}")
            return value.strip()

        def count(key: str) -> int:
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise TicketError(key, f"must be a number of 0 or more, not {value!r}")
            return int(value)

        issued_text = text("issued_at") or ""
        try:
            issued_at = datetime.fromisoformat(issued_text)
        except ValueError:
            raise TicketError("issued_at", f"{issued_text!r} is not an ISO 8601 time") from None
        if issued_at.tzinfo is None:
            raise TicketError("issued_at", "needs a UTC offset, e.g. 2026-11-23T09:05:00+08:00")
        id_tail = text("id_tail", required=False)
        if id_tail is not None and (
            len(id_tail) > ID_TAIL_MAX or not all(c.isdigit() or c in "Xx" for c in id_tail)
        ):
            raise TicketError("id_tail", f"must be at most {ID_TAIL_MAX} digits or X")
        return cls(
            hall_name=text("hall_name") or "",
            number=text("number") or "",
            service_name=text("service_name") or "",
            issued_at=issued_at,
            ahead=count("ahead"),
            est_wait_s=count("est_wait_s"),
            code=text("code") or "",
            id_tail=id_tail.upper() if id_tail else None,
            priority=bool(data.get("priority")),
            appointment=bool(data.get("appointment")),
            qr_url=text("qr_url", required=False),
        )


def qr_content(ticket: Ticket, settings: PrinterSettings) -> str:
    """<base><code>. A relative base from the server ("/t/") means nothing to a phone that
    scans paper, so it is resolved against the configured absolute base."""
    base = urljoin(settings.qr_base, ticket.qr_url) if ticket.qr_url else settings.qr_base
    return base + ticket.code


def wait_text(seconds: int) -> str:
    """预计等候 wording: whole minutes, rounded up, hours past 60 minutes."""
    if seconds < 60:
        return "不到 1 分钟"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"约 {minutes} 分钟"
    hours, rest = divmod(minutes, 60)
    return f"约 {hours} 小时 {rest} 分钟" if rest else f"约 {hours} 小时"


def wrap(text: str, width: int) -> list[str]:
    """Break text so no line is wider than width columns (CJK counts two)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if protocol.columns(current + ch) > width:
            lines.append(current)
            current = ch
        else:
            current += ch
    lines.append(current)
    return lines


def _centered(
    text: str, columns: int, width: int = 1, height: int = 1, bold: bool = False
) -> list[Element]:
    return [
        Line((Run(part, width, height, bold),), "center")
        for part in wrap(text, max(1, columns // width))
    ]


def layout_ticket(ticket: Ticket, settings: PrinterSettings) -> tuple[Element, ...]:
    cols = settings.columns
    rule = Line((Run("-" * cols),))
    out: list[Element] = []
    out += _centered(ticket.hall_name, cols, 1, 2, bold=True)
    out.append(rule)
    out += _centered(ticket.service_name, cols, 2, 2, bold=True)
    # The number is what residents read from a metre away: as large as the paper allows.
    big = max(1, min(6, cols // max(1, protocol.columns(ticket.number))))
    out += _centered(ticket.number, cols, big, big, bold=True)
    # The server gives every booking priority; 绿色通道 is for the elderly, disabled and
    # pregnant, so a booking's ticket says 预约 only (a resident was puzzled by both).
    marks = [
        mark
        for mark, on in (("【绿色通道】", ticket.priority and not ticket.appointment),
                         ("【预约】", ticket.appointment))
        if on
    ]
    if marks:
        out += _centered(" ".join(marks), cols, 1, 2, bold=True)
    out.append(Feed(1))
    out += _centered(f"前面还有 {ticket.ahead} 人", cols, 2, 2)
    out += _centered(f"预计等候：{wait_text(ticket.est_wait_s)}", cols, 1, 2)
    out += _centered(f"取号时间：{ticket.issued_at:%Y-%m-%d %H:%M}", cols)
    if ticket.id_tail:
        masked = "*" * (ID_LENGTH - len(ticket.id_tail)) + ticket.id_tail
        out += _centered(f"身份证：{masked}", cols)
    out.append(rule)
    out.append(QRCode(qr_content(ticket, settings), module=6 if cols >= 48 else 4))
    out += _centered("扫码查看排队进度", cols)
    out += _centered(f"查询码：{ticket.code}", cols)
    out.append(rule)
    out += _centered("请在休息区等候，留意叫号", cols, bold=True)
    out += _centered("过号请重新取号", cols, bold=True)
    return tuple(out)


def _builder(settings: PrinterSettings) -> Dummy:
    # python-escpos reads the paper width from its profile (and prints a warning on stdout
    # when it is unknown), so give this printer's profile the configured width, on a copy.
    # (Dummy(profile=<object>) fails in 3.1: get_profile checks a different base class.)
    printer = Dummy()
    profile = get_profile("default")
    data = dict(profile.profile_data)
    data["media"] = {"dpi": 203, "width": {"mm": settings.paper_mm, "pixels": settings.dots}}
    profile.profile_data = data
    printer.profile = profile
    return printer


def build_text(elements: tuple[Element, ...], settings: PrinterSettings) -> bytes:
    """ESC/POS for a printer with a Chinese font: FS & once, then GB18030 text."""
    p = _builder(settings)
    p.hw("INIT")
    # Dummy._raw is the one way python-escpos offers to append bytes it cannot build itself.
    p._raw(protocol.CHINESE_MODE_ON)
    for el in elements:
        if isinstance(el, Line):
            p.set(align=el.align)
            for run in el.runs:
                # GS ! (custom_size) sizes Chinese and ASCII alike; ESC ! (double_width/
                # double_height in python-escpos) only sizes ASCII on these printers.
                p.set(custom_size=True, width=run.width, height=run.height, bold=run.bold)
                p._raw(protocol.chinese_text(run.text))
            p._raw(b"\n")
        elif isinstance(el, QRCode):
            p.set(align=el.align)
            p.qr(el.data, ec=QR_ECLEVEL_M, size=el.module, native=True)
        elif isinstance(el, Feed):
            p.print_and_feed(el.lines)
        elif isinstance(el, Bitmap):
            p.image(el.image, impl="bitImageRaster")
    p.set(align="left", custom_size=True, width=1, height=1, bold=False)
    p.cut(mode="PART")
    return p.output


def build_raster(elements: tuple[Element, ...], settings: PrinterSettings) -> bytes:
    """ESC/POS for a printer without a Chinese font: the drawn ticket as GS v 0 images."""
    from .render import render  # Pillow and fonts only when a raster is wanted

    image = render(elements, settings.dots, settings.font_path)
    p = _builder(settings)
    p.hw("INIT")
    p.image(image, impl="bitImageRaster")
    p.cut(mode="PART")
    return p.output


def build_ticket(ticket: Mapping[str, object] | Ticket, settings: PrinterSettings) -> bytes:
    """The bytes to send for one ticket, in the printer's configured mode."""
    t = ticket if isinstance(ticket, Ticket) else Ticket.from_dict(ticket)
    elements = layout_ticket(t, settings)
    if settings.encoding == "raster":
        return build_raster(elements, settings)
    return build_text(elements, settings)
