"""A thermal printer on a pseudo-terminal: it speaks the same bytes as the real one.

    python -m devices.printer.sim --link /tmp/qms-printer [--preview-dir DIR] [--paper out]

It answers DLE EOT 1/2/4 from its state, records every byte, and turns what it is sent
(GB18030 text under FS &, GS ! sizes, native QR codes, GS v 0 images) into a picture of each
ticket, written as PNG when --preview-dir is given. While offline or out of paper it prints
nothing, like a real printer. SIGUSR1 cycles the paper ok -> near_end -> out, SIGUSR2
switches online/offline.

In tests and the demo: `with PrinterSimulator() as sim:` then sim.path, sim.set_paper(...),
sim.set_online(...), sim.set_responding(...), sim.run_out_after(n), sim.tickets, sim.received.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import sys
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from . import protocol
from .layout import Bitmap, Element, Feed, Line, QRCode, Run
from .protocol import Command, PaperState

log = logging.getLogger(__name__)


@dataclass
class ReceivedTicket:
    """One ticket the simulator printed: its bytes (status queries excluded) and what it showed."""

    data: bytes
    elements: tuple[Element, ...]
    preview: Path | None = None

    @property
    def text(self) -> str:
        """All printed text, one line per line, for assertions."""
        return "\n".join(
            "".join(r.text for r in el.runs) for el in self.elements if isinstance(el, Line)
        )

    def render(self, dots: int = 576) -> Image.Image:
        from .render import render

        return render(self.elements, dots)


@dataclass
class _Page:
    """The interpreter's state between ESC @ and the cut."""

    align: str = "left"
    width: int = 1
    height: int = 1
    bold: bool = False
    chinese: bool = False
    qr_module: int = 3
    qr_data: str = ""
    runs: list[Run] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)

    def end_line(self, empty_is_feed: bool = True) -> None:
        if self.runs:
            self.elements.append(Line(tuple(self.runs), self.align))
            self.runs = []
        elif empty_is_feed:
            self.elements.append(Feed(1))


_ALIGN = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}


class PrinterSimulator:
    def __init__(
        self,
        link: str | os.PathLike[str] | None = None,
        preview_dir: str | os.PathLike[str] | None = None,
        dots: int = 576,
    ) -> None:
        self.link = Path(link) if link else None
        self.preview_dir = Path(preview_dir) if preview_dir else None
        self.dots = dots
        self.tickets: list[ReceivedTicket] = []
        self.queries: list[int] = []  # n of every DLE EOT n, in order
        self.dropped = 0  # print bytes ignored while offline or out of paper
        self.supports_gs_r = True  # False: a printer without GS r (transmit status)
        self._received = bytearray()
        self._paper = PaperState.OK
        self._online = True
        self._responding = True
        self._paper_budget: int | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self._buf = bytearray()
        self._page = _Page()
        self.path = ""

    # --- control -------------------------------------------------------------------------

    def start(self) -> str:
        self._master, self._slave = os.openpty()
        # Raw, so no byte (0x11, 0x13, 0x0a...) is translated or swallowed on the way.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        if self.link:
            if self.link.is_symlink():
                self.link.unlink()
            self.link.parent.mkdir(parents=True, exist_ok=True)
            self.link.symlink_to(self.path)
            self.path = str(self.link)
        if self.preview_dir:
            self.preview_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="printer-sim", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        if self.link and self.link.is_symlink():
            self.link.unlink()

    def __enter__(self) -> PrinterSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_paper(self, state: str | PaperState) -> None:
        with self._lock:
            self._paper = PaperState(state)
            self._paper_budget = None

    def set_online(self, online: bool) -> None:
        with self._lock:
            self._online = online

    def set_responding(self, responding: bool) -> None:
        """False: status queries get no answer, like a printer that is off or unplugged."""
        with self._lock:
            self._responding = responding

    def run_out_after(self, nbytes: int) -> None:
        """The roll ends after nbytes more print bytes: the ticket in progress is spoiled."""
        with self._lock:
            self._paper_budget = nbytes

    @property
    def paper(self) -> PaperState:
        return self._paper

    @property
    def online(self) -> bool:
        return self._online

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[ReceivedTicket]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.tickets) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self.tickets)

    # --- the printer ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._master, 65536)
            except OSError:
                time.sleep(0.02)
                continue
            with self._changed:
                self._received += chunk
                self._buf += chunk
                self._consume()
                self._changed.notify_all()

    def _consume(self) -> None:
        while True:
            cmd, used = protocol.next_command(self._buf)
            if cmd is None:
                return
            del self._buf[:used]
            if cmd.name == "DLE EOT":
                self._answer(cmd.data[2])
            elif cmd.name == "DLE \x14":
                pass  # real-time requests (pulse, recover) have no effect here
            else:
                self._print(cmd)

    def _answer(self, n: int) -> None:
        self.queries.append(n)
        if not self._responding:
            return
        reply = protocol.status_reply(n, online=self._online, paper=self._paper)
        with contextlib.suppress(OSError):
            os.write(self._master, reply)

    def _print(self, cmd: Command) -> None:
        if not self._online or self._paper is PaperState.OUT:
            self.dropped += len(cmd.data)
            return
        if self._paper_budget is not None:
            self._paper_budget -= len(cmd.data)
            if self._paper_budget < 0:
                log.info("simulated paper end in the middle of a ticket")
                self._paper, self._paper_budget = PaperState.OUT, None
                self.dropped += len(cmd.data) + len(self._page.data)
                self._page = _Page()
                return
        page = self._page
        head = cmd.data[:2]
        if head == protocol.GS + b"r":
            # Processed in turn, after what came before it has "printed"; not ticket content.
            if self.supports_gs_r and cmd.data[2] in (1, 49):
                with contextlib.suppress(OSError):
                    os.write(self._master, protocol.gs_r_reply(self._paper))
            return
        if head == protocol.INIT:
            if page.data.strip(b"\n"):
                self._finish()
            self._page = page = _Page()
        page.data += cmd.data
        if cmd.name == "text":
            codec = "gb18030" if page.chinese else "cp437"
            text = cmd.data.decode(codec, errors="replace")
            run = Run(text, page.width, page.height, page.bold)
            last = page.runs[-1] if page.runs else None
            if last and (last.width, last.height, last.bold) == (run.width, run.height, run.bold):
                page.runs[-1] = Run(last.text + text, run.width, run.height, run.bold)
            else:
                page.runs.append(run)
        elif cmd.name == "LF":
            page.end_line()
        elif head == protocol.CHINESE_MODE_ON:
            page.chinese = True
        elif head == protocol.CHINESE_MODE_OFF:
            page.chinese = False
        elif head == protocol.ESC + b"a":
            page.align = _ALIGN.get(cmd.data[2], "left")
        elif head == protocol.GS + b"!":
            page.width, page.height = (cmd.data[2] >> 4) + 1, (cmd.data[2] & 0x0F) + 1
        elif head == protocol.ESC + b"E":
            page.bold = bool(cmd.data[2] & 1)
        elif head == protocol.ESC + b"d":
            page.end_line(empty_is_feed=False)
            page.elements.append(Feed(cmd.data[2]))
        elif head == protocol.GS + b"(" and cmd.data[2:3] == b"k":
            self._qr(page, cmd.data)
        elif cmd.name == "GS v 0":
            page.end_line(empty_is_feed=False)
            page.elements.append(Bitmap(_raster_image(cmd.data)))
        elif head == protocol.GS + b"V":
            page.end_line(empty_is_feed=False)
            self._finish()

    def _qr(self, page: _Page, data: bytes) -> None:
        cn, fn = data[5], data[6]
        if cn != 0x31:
            return
        if fn == 0x43:  # set module size
            page.qr_module = data[7]
        elif fn == 0x50:  # store the data (after m = '0')
            page.qr_data = data[8:].decode("utf-8", errors="replace")
        elif fn == 0x51:  # print the stored symbol
            page.end_line(empty_is_feed=False)
            page.elements.append(QRCode(page.qr_data, page.qr_module, page.align))

    def _finish(self) -> None:
        page = self._page
        ticket = ReceivedTicket(bytes(page.data), tuple(page.elements))
        self._page = _Page()
        if self.preview_dir:
            ticket.preview = self.preview_dir / f"ticket-{len(self.tickets) + 1:04d}.png"
            try:
                ticket.render(self.dots).save(ticket.preview)
            except Exception as e:  # a broken preview must not stop the printer
                log.warning("could not write preview %s: %s", ticket.preview, e)
                ticket.preview = None
        self.tickets.append(ticket)
        log.info("printed ticket %d (%d bytes)", len(self.tickets), len(ticket.data))


def _raster_image(data: bytes) -> Image.Image:
    """GS v 0 m xL xH yL yH d...: bit 1 is a black dot; PIL's mode "1" has 1 = white."""
    width_bytes = data[4] + 256 * data[5]
    height = data[6] + 256 * data[7]
    inverted = bytes(b ^ 0xFF for b in data[8:])
    return Image.frombytes("1", (width_bytes * 8, height), inverted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.printer.sim", description="ESC/POS printer simulator on a pty"
    )
    parser.add_argument("--link", required=True, help="symlink to the pty, e.g. /tmp/qms-printer")
    parser.add_argument("--preview-dir", help="write a PNG of each ticket here")
    parser.add_argument("--paper", choices=[p.value for p in PaperState], default="ok")
    parser.add_argument("--offline", action="store_true", help="start offline")
    parser.add_argument("--silent", action="store_true", help="never answer status queries")
    parser.add_argument("--paper-mm", type=int, choices=[80, 58], default=80)
    args = parser.parse_args(argv)
    # force: importing python-escpos already gave the root logger a handler.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s printer-sim %(message)s", force=True
    )

    sim = PrinterSimulator(args.link, args.preview_dir, 576 if args.paper_mm == 80 else 384)
    sim.set_paper(args.paper)
    sim.set_online(not args.offline)
    sim.set_responding(not args.silent)
    try:
        path = sim.start()
    except OSError as e:
        print(f"printer-sim: cannot create {args.link}: {e.strerror}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def cycle_paper(*_: object) -> None:
        order = list(PaperState)
        sim.set_paper(order[(order.index(sim.paper) + 1) % len(order)])
        log.info("paper is now %s", sim.paper.value)

    def toggle_online(*_: object) -> None:
        sim.set_online(not sim.online)
        log.info("printer is now %s", "online" if sim.online else "offline")

    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, cycle_paper)
    signal.signal(signal.SIGUSR2, toggle_online)
    log.info(
        "printer simulator on %s -> %s (paper %s, %s)",
        path,
        os.ttyname(sim._slave),
        sim.paper.value,
        "online" if sim.online else "offline",
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    log.info("stopped after %d tickets", len(sim.tickets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
