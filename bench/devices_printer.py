"""Ticket printer benchmark: render time in text (GB18030) and raster mode, and a whole
print_ticket (status, send, status) over the pty simulator.

    ./qms bench devices_printer [--runs 200] [--json]

Raster "cold" clears the glyph cache before every run (a kiosk's first ticket after start);
"warm" is every ticket after that. Figures are milliseconds on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from devices.printer import PrinterSettings, TicketPrinter, build_ticket, parse_printer_address
from devices.printer import render as render_module
from devices.printer.sim import PrinterSimulator

TZ = timezone(timedelta(hours=8))


def ticket(i: int) -> dict[str, object]:
    return {
        "hall_name": "示范县政务服务中心",
        "number": f"{'ABCDE'[i % 5]}{i % 1000:03d}",
        "service_name": ["综合受理", "社保医保", "不动产登记", "税务办理", "户籍证明"][i % 5],
        "issued_at": (datetime(2026, 11, 23, 8, 30, tzinfo=TZ) + timedelta(minutes=i)).isoformat(),
        "ahead": i % 40,
        "est_wait_s": (i % 40) * 370,
        "code": f"K{i:05d}",
        "id_tail": f"{i % 1000:03d}X" if i % 3 == 0 else None,
        "priority": i % 7 == 0,
        "appointment": i % 11 == 0,
    }


def measure(runs: int, fn: Callable[[int], int], before: Callable[[], None] | None = None):
    times, size = [], 0
    for i in range(runs):
        if before:
            before()
        start = time.perf_counter()
        size = fn(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return {"runs": runs, "median_ms": statistics.median(times), "p99_ms": p99, "bytes": size}


def clear_glyphs() -> None:
    render_module._glyph.cache_clear()
    render_module._font.cache_clear()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./qms bench devices_printer", description=__doc__)
    parser.add_argument("--runs", type=int, default=200, help="runs per case (default 200)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    text, raster = PrinterSettings(), PrinterSettings(encoding="raster")
    rows = {
        "render text (GB18030)": measure(runs, lambda i: len(build_ticket(ticket(i), text))),
        "render raster, warm glyphs": measure(
            runs, lambda i: len(build_ticket(ticket(i), raster))
        ),
        "render raster, cold glyphs": measure(
            max(1, runs // 4), lambda i: len(build_ticket(ticket(i), raster)), clear_glyphs
        ),
    }
    with PrinterSimulator() as sim:
        address = parse_printer_address(f"serial:{sim.path}")
        for name, encoding in (("text", "gb18030"), ("raster", "raster")):
            printer = TicketPrinter(PrinterSettings(address=address, encoding=encoding))
            rows[f"print_ticket via pty sim, {name}"] = measure(
                max(1, runs // 4), lambda i, p=printer: p.print_ticket(ticket(i)).bytes_sent
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'case':34} {'runs':>5} {'median ms':>10} {'p99 ms':>9} {'bytes':>7}")
    for name, r in rows.items():
        print(
            f"{name:34} {r['runs']:5d} {r['median_ms']:10.2f} {r['p99_ms']:9.2f} {r['bytes']:7d}"
        )
    return 0
