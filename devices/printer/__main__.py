"""python -m devices.printer: build, preview, print a ticket, or ask a printer its status.

    python -m devices.printer --ticket t.json --out t.bin [--encoding raster] [--preview t.png]
    python -m devices.printer --ticket t.json --printer serial:/dev/qms-printer
    python -m devices.printer --port /dev/qms-printer --status [--timeout 1]
    python -m devices.printer --hall assets/halls/demo.toml --device kiosk-1 --status

With --hall, the device entry gives the printer and its settings; options given on the
command line win. Exit codes: 0 done, 1 printer problem (not answering, offline, out of
paper, not printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from .driver import TicketPrinter
from .errors import PrinterConfigError, PrinterError, TicketError
from .layout import Ticket, build_ticket, layout_ticket
from .settings import PrinterSettings, parse_printer_address


def _settings(args: argparse.Namespace) -> PrinterSettings:
    """Hall device entry (if --hall), then command-line options on top."""
    settings = PrinterSettings()
    if args.hall:
        from queue_server.config import ConfigError, load_hall

        try:
            hall = load_hall(args.hall)
        except (OSError, ConfigError) as e:
            raise PrinterConfigError("--hall", str(e)) from None
        device = hall.device(args.device)
        if device is None:
            raise PrinterConfigError("--device", f"{args.hall} has no device {args.device!r}")
        settings = PrinterSettings.from_config(device)
    changes: dict[str, object] = {}
    where = args.printer or args.port
    if where:
        # A bare path means a serial port: /dev/qms-printer from the udev rules.
        changes["address"] = parse_printer_address(
            where if ":" in where else f"serial:{where}", key="--printer/--port"
        )
    for option, field in (
        ("encoding", "encoding"),
        ("paper_mm", "paper_mm"),
        ("qr_base", "qr_base"),
        ("timeout", "status_timeout_s"),
    ):
        if getattr(args, option) is not None:
            changes[field] = getattr(args, option)
    if args.sync:
        changes["confirm"] = "sync"
    return dataclasses.replace(settings, **changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.printer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ticket", type=Path, help="ticket JSON file")
    parser.add_argument("--out", type=Path, help="write the ESC/POS bytes to this file")
    parser.add_argument("--preview", type=Path, help="draw the ticket layout as a PNG")
    parser.add_argument("--printer", help="print on serial:DEV, usb:VID:PID, tcp:HOST:PORT")
    parser.add_argument("--print", action="store_true", help="print on the --hall printer")
    parser.add_argument("--port", help="printer for --status: a device path or a printer address")
    parser.add_argument("--status", action="store_true", help="ask the printer (DLE EOT 1 and 4)")
    parser.add_argument("--hall", type=Path, help="hall config to take printer settings from")
    parser.add_argument("--device", default="kiosk-1", help="device id in --hall (kiosk-1)")
    parser.add_argument("--encoding", choices=["gb18030", "raster"])
    parser.add_argument("--paper-mm", type=int, choices=[80, 58])
    parser.add_argument("--qr-base", help="QR content is <base><code>")
    parser.add_argument("--timeout", type=float, help="status reply timeout, seconds (1)")
    parser.add_argument("--sync", action="store_true", help="confirm printing with GS r 1")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    # force: importing python-escpos already gave the root logger a handler.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if args.status == (args.ticket is not None):
        parser.print_usage(sys.stderr)
        print(
            "error: give either --ticket FILE (with --out, --preview, --printer or --print) "
            "or --status (with --port or --hall)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = _settings(args)
        return _status(args, settings) if args.status else _ticket(args, settings)
    except (PrinterConfigError, TicketError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except PrinterError as e:
        print(f"printer error: {e}", file=sys.stderr)
        return 1


def _status(args: argparse.Namespace, settings: PrinterSettings) -> int:
    if not (args.port or args.printer or args.hall):
        print("error: --status needs --port DEV or --hall FILE", file=sys.stderr)
        return 2
    status = TicketPrinter(settings).status()
    print(json.dumps(status.as_dict()))
    if not status.can_print or status.paper != "ok":
        print(status.describe(), file=sys.stderr)
    return 0


def _ticket(args: argparse.Namespace, settings: PrinterSettings) -> int:
    printing = bool(args.printer or args.print)
    if not (args.out or args.preview or printing):
        print("error: --ticket needs --out, --preview, --printer or --print", file=sys.stderr)
        return 2
    if args.print and not (args.hall or args.printer):
        print("error: --print needs --hall (or use --printer ADDRESS)", file=sys.stderr)
        return 2
    try:
        data = json.loads(args.ticket.read_text(encoding="utf-8"))
    except OSError as e:
        print(f"error: cannot read {args.ticket}: {e.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as e:
        print(f"error: {args.ticket} is not JSON: {e}", file=sys.stderr)
        return 2
    ticket = Ticket.from_dict(data)
    if args.out:
        args.out.write_bytes(build_ticket(ticket, settings))
        print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {settings.encoding})")
    if args.preview:
        from .render import render

        image = render(layout_ticket(ticket, settings), settings.dots, settings.font_path)
        image.save(args.preview)
        print(f"wrote {args.preview}")
    if printing:
        result = TicketPrinter(settings).print_ticket(data)
        status = result.status.as_dict() if result.status else {}
        print(json.dumps({"printed": result.number, "bytes": result.bytes_sent, **status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
