"""The kiosk's devices in the demo: ID card reader, scanner and printer simulators on ptys
in the run dir, with FIFOs a person writes to while the demo runs:

    echo present 0     > RUN/idcard.in    # card N of assets/samples/idcards.json
    echo present elder > RUN/idcard.in    # a made-up card of someone aged 80 (绿色通道)
    echo remove        > RUN/idcard.in    # take it away (unplug / plug too)
    echo CODE          > RUN/scanner.in   # scan a code (a booking code, a ticket QR text)
    echo paper out     > RUN/printer.in   # paper ok|near_end|out, online, offline
    cp picture.png RUN/camera/            # hold a picture up to the kiosk's camera

The simulators run in the demo's own process (threads), so they stop with it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from demo.parts import REPO, DemoContext

ORDER = 20
log = logging.getLogger(__name__)
CARDS = REPO / "assets/samples/idcards.json"


def elder_card() -> dict[str, Any]:
    from queue_server.idnumber import check_char

    birth = date(date.today().year - 80, 3, 8)
    body = f"320582{birth:%Y%m%d}028"
    cards = json.loads(CARDS.read_text("utf-8"))
    return {**cards[0], "name": "王秀英", "gender": "女", "birth": birth.isoformat(),
            "id_number": body + check_char(body)}


def watch_fifo(path: Path, handle: Callable[[str], None], stop: threading.Event) -> None:
    """Each line written to the FIFO at `path` goes to `handle` (errors are printed)."""
    if not path.exists():
        os.mkfifo(path, 0o600)
    # Held open for writing too, so the reader never sees end-of-file between writers.
    fd = os.open(path, os.O_RDWR)

    def run() -> None:
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                if stop.is_set():
                    return
                text = line.strip()
                if text:
                    try:
                        handle(text)
                    except Exception as e:  # a typo must not end the demo's device
                        print(f"  {path.name}: {e}", flush=True)

    threading.Thread(target=run, name=f"fifo-{path.name}", daemon=True).start()


def start(ctx: DemoContext) -> None:
    if not ctx.gui:
        return  # the simulators serve the kiosk UI, which needs a display
    from devices.idcard.sim import ReaderSimulator
    from devices.printer.sim import PrinterSimulator
    from devices.scanner.sim import ScannerSimulator

    run = ctx.run_dir
    stop = threading.Event()
    reader = ReaderSimulator(str(run / "idcard"))
    scanner = ScannerSimulator(str(run / "scanner"))
    printer = PrinterSimulator(run / "printer", preview_dir=run / "tickets")
    reader.start()
    scanner.start()
    printer.start()
    (run / "camera").mkdir(exist_ok=True)
    ctx.closers.extend([stop.set, reader.stop, scanner.stop, printer.stop])
    cards = json.loads(CARDS.read_text("utf-8"))

    def idcard(cmd: str) -> None:
        word, _, arg = cmd.partition(" ")
        if word == "present":
            card = elder_card() if arg == "elder" else cards[int(arg or 0) % len(cards)]
            reader.remove()  # a fresh presentation, read again even if the same card
            reader.present(card)
            ctx.say(f"idcard: {card['name']} presented")
        elif word == "remove":
            reader.remove()
        elif word in ("unplug", "plug"):
            getattr(reader, word)()
        else:
            raise ValueError("present [N|elder] | remove | unplug | plug")

    def scan(code: str) -> None:
        scanner.scan(code)
        ctx.say(f"scanner: scanned {code!r}")

    def printer_cmd(cmd: str) -> None:
        word, _, arg = cmd.partition(" ")
        if word == "paper" and arg in ("ok", "near_end", "out"):
            printer.set_paper(arg)
        elif word in ("online", "offline"):
            printer.set_online(word == "online")
        else:
            raise ValueError("paper ok|near_end|out | online | offline")
        ctx.say(f"printer: {cmd}")

    watch_fifo(run / "idcard.in", idcard, stop)
    watch_fifo(run / "scanner.in", scan, stop)
    watch_fifo(run / "printer.in", printer_cmd, stop)
    code = book_for_demo(ctx)
    print(f"kiosk devices: simulators in {run} (printed tickets as pictures in {run}/tickets)\n"
          f"  present a card:   echo present 0 > {run}/idcard.in   (or: present elder)\n"
          f"  scan a code:      echo {code or 'CODE'} > {run}/scanner.in"
          f"{'   (a booking made for this demo)' if code else ''}\n"
          f"  printer trouble:  echo paper out > {run}/printer.in   (paper ok, offline, online)")


def book_for_demo(ctx: DemoContext) -> str:
    """A booking due now (service C) whose code a person can scan at the kiosk."""
    from queue_server.client import RequestClient

    now = datetime.now(ctx.hall.tz)
    start = now + timedelta(minutes=5)
    end = min(start + timedelta(minutes=30),
              start.replace(hour=23, minute=59, second=0, microsecond=0))
    if end <= start:
        return ""
    with contextlib.suppress(Exception), RequestClient(
        ctx.hall.id, "portal", ctx.broker.password("portal"), ctx.broker.broker_address
    ) as rc:
        reply = rc.request("book", {"service": "C", "slot_start": start.isoformat(),
                                    "slot_end": end.isoformat()}, timeout=5)
        if reply.get("ok"):
            return str(reply["code"])
    return ""
