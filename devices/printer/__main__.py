"""python -m devices.printer: build, preview, print a ticket, or ask a printer its status.

    python -m devices.printer --ticket t.json --out t.bin [--encoding raster] [--preview t.png]
    python -m devices.printer --ticket t.json --printer serial:/dev/qms-printer
    python -m devices.printer --port /dev/qms-printer --status [--timeout 1]

Exit codes: 0 done, 1 printer problem (not answering, offline, out of paper), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .driver import TicketPrinter
from .errors import PrinterConfigError, PrinterError, TicketError
from .layout import Ticket, build_ticket, layout_ticket
from .settings import DEFAULT_QR_BASE, PrinterSettings, parse_printer_address


def _address(port: str):
    # A bare path means a serial port: the usual case, /dev/qms-printer from the udev rules.
    return parse_printer_address(port if ":" in port else f"serial:{port}", key="--port")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.printer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ticket", type=Path, help="ticket JSON file")
    parser.add_argument("--out", type=Path, help="write the ESC/POS bytes to this file")
    parser.add_argument("--preview", type=Path, help="draw the ticket layout as a PNG")
    parser.add_argument("--printer", help="print on serial:DEV, usb:VID:PID or tcp:HOST:PORT")
    parser.add_argument("--port", help="printer for --status: a device path or a printer address")
    parser.add_argument("--status", action="store_true", help="ask the printer (DLE EOT 1 and 4)")
    parser.add_argument("--encoding", choices=["gb18030", "raster"], default="gb18030")
    parser.add_argument("--paper-mm", type=int, choices=[80, 58], default=80)
    parser.add_argument("--qr-base", default=DEFAULT_QR_BASE, help="QR content is <base><code>")
    parser.add_argument("--timeout", type=float, default=1.0, help="status reply timeout, seconds")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if args.status == (args.ticket is not None):
        parser.print_usage(sys.stderr)
        print(
            "error: give either --ticket FILE (with --out, --preview or --printer) or "
            "--port DEV --status",
            file=sys.stderr,
        )
        return 2
    try:
        return _status(args) if args.status else _ticket(args)
    except (PrinterConfigError, TicketError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except PrinterError as e:
        print(f"printer error: {e}", file=sys.stderr)
        return 1


def _status(args: argparse.Namespace) -> int:
    if not args.port:
        print("error: --status needs --port DEV", file=sys.stderr)
        return 2
    settings = PrinterSettings(address=_address(args.port), status_timeout_s=args.timeout)
    status = TicketPrinter(settings).status()
    print(json.dumps(status.as_dict()))
    if not status.can_print or status.paper != "ok":
        print(status.describe(), file=sys.stderr)
    return 0


def _ticket(args: argparse.Namespace) -> int:
    if not (args.out or args.preview or args.printer):
        print("error: --ticket needs --out, --preview or --printer", file=sys.stderr)
        return 2
    try:
        data = json.loads(args.ticket.read_text(encoding="utf-8"))
    except OSError as e:
        print(f"error: cannot read {args.ticket}: {e.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as e:
        print(f"error: {args.ticket} is not JSON: {e}", file=sys.stderr)
        return 2
    address = parse_printer_address(args.printer) if args.printer else None
    settings = PrinterSettings(
        encoding=args.encoding,
        paper_mm=args.paper_mm,
        qr_base=args.qr_base,
        status_timeout_s=args.timeout,
        **({"address": address} if address else {}),
    )
    ticket = Ticket.from_dict(data)
    if args.out:
        args.out.write_bytes(build_ticket(ticket, settings))
        print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {settings.encoding})")
    if args.preview:
        from .render import render

        render(layout_ticket(ticket, settings), settings.dots).save(args.preview)
        print(f"wrote {args.preview}")
    if args.printer:
        result = TicketPrinter(settings).print_ticket(data)
        print(
            json.dumps(
                {
                    "printed": result.number,
                    "bytes": result.bytes_sent,
                    **(result.status.as_dict() if result.status else {}),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
