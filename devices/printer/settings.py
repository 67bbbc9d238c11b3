"""Printer settings from a hall config device entry, and the parser for its `printer` string.

printer = "serial:/dev/qms-printer"          # optional ?baud=115200 (default 9600)
printer = "usb:0416:5011"                    # VID:PID in hex; optional ?in=0x81&out=0x03
printer = "tcp:192.168.1.60:9100"            # port defaults to 9100
printer = "file:/tmp/ticket.bin"             # write-only: no status, for tests and dumps
printer_encoding = "gb18030"                 # or "raster"
printer_paper_mm = 80                        # or 58
printer_qr_base = "https://hall.example/t/"  # QR content is <base><ticket code>
printer_confirm = "status"                   # or "sync": wait for GS r 1 after the ticket
printer_font = "/path/to/font.ttc"           # raster/preview font; default: WenQuanYi Micro Hei
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from .errors import PrinterConfigError

KINDS = ("serial", "usb", "tcp", "file")
ENCODINGS = ("gb18030", "raster")
CONFIRMS = ("status", "sync")
PAPER_DOTS = {80: 576, 58: 384}  # printable dots across at 8 dots/mm
# A placeholder that is obviously not a real site: every hall sets its own portal address.
DEFAULT_QR_BASE = "https://hall.example/t/"
_HEX16 = re.compile(r"^(0x)?[0-9a-fA-F]{1,4}$")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


@dataclass(frozen=True)
class PrinterAddress:
    """Where the printer is: one of serial, usb, tcp, file."""

    kind: str
    path: str = ""  # serial device or file path
    baudrate: int = 9600
    vendor_id: int = 0
    product_id: int = 0
    in_ep: int = 0x82
    out_ep: int = 0x01
    host: str = ""
    port: int = 9100

    def __str__(self) -> str:
        if self.kind == "usb":
            return f"usb:{self.vendor_id:04x}:{self.product_id:04x}"
        if self.kind == "tcp":
            return f"tcp:{self.host}:{self.port}"
        return f"{self.kind}:{self.path}"


def _int(text: str, what: str, key: str, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise PrinterConfigError(key, f"{what} {text!r} is not a number") from None


def parse_printer_address(value: str, key: str = "printer") -> PrinterAddress:
    """Parse "serial:/dev/x", "usb:VID:PID", "tcp:HOST[:PORT]" or "file:/path"."""
    if not isinstance(value, str) or ":" not in value:
        raise PrinterConfigError(
            key,
            f"{value!r} is not a printer address; use one of serial:/dev/..., usb:VID:PID, "
            "tcp:HOST:9100, file:/path",
        )
    kind, _, rest = value.partition(":")
    rest, _, query_text = rest.partition("?")
    query = {k: v[-1] for k, v in parse_qs(query_text).items()}
    if kind == "serial":
        if not rest:
            raise PrinterConfigError(key, "serial: needs a path, e.g. serial:/dev/qms-printer")
        baud = _int(query.get("baud", "9600"), "baud rate", key)
        return PrinterAddress("serial", path=rest, baudrate=baud)
    if kind == "file":
        if not rest:
            raise PrinterConfigError(key, "file: needs a path, e.g. file:/tmp/ticket.bin")
        return PrinterAddress("file", path=rest)
    if kind == "tcp":
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            host, port_text = rest, "9100"
        host = host.strip("[]")
        if not host:
            raise PrinterConfigError(key, "tcp: needs a host, e.g. tcp:192.168.1.60:9100")
        port = _int(port_text, "port", key)
        if not 0 < port < 65536:
            raise PrinterConfigError(key, f"port {port} is out of range")
        return PrinterAddress("tcp", host=host, port=port)
    if kind == "usb":
        vid, sep, pid = rest.partition(":")
        if not sep or not _HEX16.match(vid) or not _HEX16.match(pid):
            raise PrinterConfigError(key, f"usb: needs hex VID:PID (usb:0416:5011), not {rest!r}")
        return PrinterAddress(
            "usb",
            vendor_id=int(vid, 16),
            product_id=int(pid, 16),
            in_ep=_int(query.get("in", "0x82"), "in endpoint", key, 0),
            out_ep=_int(query.get("out", "0x01"), "out endpoint", key, 0),
        )
    raise PrinterConfigError(key, f"unknown printer kind {kind!r}; use one of {', '.join(KINDS)}")


def find_cjk_font(explicit: str | None = None) -> str:
    """A font with Chinese glyphs for the raster mode and previews; error naming what to install."""
    if explicit:
        if not Path(explicit).is_file():
            raise PrinterConfigError("printer_font", f"font file {explicit} does not exist")
        return explicit
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise PrinterConfigError(
        "printer_font", "no Chinese font found; install fonts-wqy-microhei (./qms setup does)"
    )


@dataclass(frozen=True)
class PrinterSettings:
    address: PrinterAddress = field(default_factory=lambda: PrinterAddress("file", "/dev/null"))
    encoding: str = "gb18030"
    paper_mm: int = 80
    qr_base: str = DEFAULT_QR_BASE
    status_timeout_s: float = 1.0
    # "status": DLE EOT before and after sending. "sync": also wait for the reply to GS r 1,
    # which comes only once the ticket has printed (for printers that implement GS r).
    confirm: str = "status"
    print_timeout_s: float = 10.0
    font_path: str | None = None

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise PrinterConfigError(
                "printer_encoding", f"{self.encoding!r} is not one of {', '.join(ENCODINGS)}"
            )
        if self.paper_mm not in PAPER_DOTS:
            raise PrinterConfigError("printer_paper_mm", f"{self.paper_mm} is not 80 or 58")
        if not re.match(r"^https?://[^/]+/", self.qr_base):
            raise PrinterConfigError(
                "printer_qr_base",
                f"{self.qr_base!r} must be an absolute address ending in /, such as "
                f"{DEFAULT_QR_BASE} (a phone scanning paper cannot follow a relative link)",
            )
        if self.confirm not in CONFIRMS:
            raise PrinterConfigError(
                "printer_confirm", f"{self.confirm!r} is not one of {', '.join(CONFIRMS)}"
            )
        if not self.print_timeout_s > 0:
            raise PrinterConfigError("printer_print_timeout_s", "must be more than 0")
        if not self.status_timeout_s > 0:
            raise PrinterConfigError("printer_status_timeout_s", "must be more than 0")

    @property
    def dots(self) -> int:
        return PAPER_DOTS[self.paper_mm]

    @property
    def columns(self) -> int:
        """Half-width characters per line in font A (12 dots)."""
        return self.dots // 12

    @classmethod
    def from_config(cls, entry: Mapping[str, object] | object) -> PrinterSettings:
        """From a hall config [[devices]] entry: a mapping or an object with those attributes."""

        def get(name: str, default: object) -> object:
            if isinstance(entry, Mapping):
                value = entry.get(name, default)
            else:
                value = getattr(entry, name, default)
            return default if value is None else value

        printer = get("printer", None)
        if printer is None:
            raise PrinterConfigError("printer", "this device has no printer")
        try:
            return cls(
                address=parse_printer_address(str(printer)),
                encoding=str(get("printer_encoding", "gb18030")),
                paper_mm=int(str(get("printer_paper_mm", 80))),
                qr_base=str(get("printer_qr_base", DEFAULT_QR_BASE)),
                status_timeout_s=float(str(get("printer_status_timeout_s", 1.0))),
                confirm=str(get("printer_confirm", "status")),
                print_timeout_s=float(str(get("printer_print_timeout_s", 10.0))),
                font_path=str(font) if (font := get("printer_font", None)) else None,
            )
        except (TypeError, ValueError) as e:
            if isinstance(e, PrinterConfigError):
                raise
            raise PrinterConfigError("printer", str(e)) from None
