"""Supervisors' reports: python -m queue_server report --data DIR --date D [--to D2] --out DIR

Reads the hall database read-only (never through the server), computes the figures
per day, service and counter (figures.py says how), writes CSV tables and one
printable page (report.png, report.pdf) to --out and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config import ConfigError, load_hall
from .figures import ALL, Report, ReportSettings, compute
from .source import ReportSourceError, load

__all__ = ["Report", "ReportSettings", "build", "compute", "load", "main"]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def build(data_dir: str | Path, first: date, last: date, *, hall: object | None = None,
          as_of: datetime | None = None, sla_minutes: float | None = None) -> Report:
    """The report for days first..last from the database in data_dir."""
    settings = ReportSettings.from_hall(hall) if hall is not None else ReportSettings()
    if sla_minutes is not None:
        settings = ReportSettings(sla_minutes=sla_minutes)
    tz = getattr(hall, "tz", None) or ZoneInfo("Asia/Shanghai")
    names = {s.code: s.name for s in getattr(hall, "services", ())}
    counters = {c.id: c.name for c in getattr(hall, "counters", ())}
    return compute(load(data_dir, first, last), first, last, settings=settings,
                   as_of=as_of or datetime.now(tz), service_names=names,
                   counter_names=counters)


def _pad(text: str, width: int) -> str:
    """Pad to a terminal width: a Chinese character takes two columns."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


def summary(report: Report) -> str:
    t = report.total
    lines = [f"{'':14} {'issued':>6} {'served':>6} {'noshow':>6} {'transf':>6} {'open':>5}"
             f" {'wait avg/p90 min':>17} {'>SLA':>6} {'svc avg/p90 min':>16} {'rating':>6}"
             f" {'f/u open/late':>13}  peak"]

    def line(label: str, r: object) -> str:
        from .figures import Row
        assert isinstance(r, Row)
        share = "" if r.over_sla_share is None else f"{r.over_sla_share * 100:.1f}%"
        w = f"{r.wait_avg_min if r.wait_avg_min is not None else '-'}/" \
            f"{r.wait_p90_min if r.wait_p90_min is not None else '-'}"
        s = f"{r.service_avg_min if r.service_avg_min is not None else '-'}/" \
            f"{r.service_p90_min if r.service_p90_min is not None else '-'}"
        label = _pad(label, 14)
        return (f"{label} {'' if r.issued is None else r.issued:>6} {r.served:>6}"
                f" {r.no_show:>6} {r.transferred:>6} {r.still_open:>5} {w:>17} {share:>6}"
                f" {s:>16} {r.rating_avg if r.rating_avg is not None else '-':>6}"
                f" {f'{r.follow_ups_open}/{r.follow_ups_overdue}':>13}  {r.peak_hour}")

    for r in report.days:
        lines.append(line(r.day if r.day != ALL else "total", r))
    lines.append("-- per service")
    lines += [line(f"{r.key} {r.name}", r) for r in report.services if r.day == ALL]
    lines.append("-- per counter (no clerk login exists: clerk = counter)")
    lines += [line(f"{r.key} {r.name}", r) for r in report.counters if r.day == ALL]
    lines.append(f"SLA {report.sla_minutes:g} min; {t.issued or 0} tickets"
                 f" {report.first}..{report.last}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from .output import render_page, write_csv

    ap = argparse.ArgumentParser(
        prog="python -m queue_server report", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the server's data directory (hall.db)")
    ap.add_argument("--date", required=True, type=_day, help="first day, YYYY-MM-DD")
    ap.add_argument("--to", type=_day, help="last day (default: --date)")
    ap.add_argument("--out", required=True, help="directory for the CSV files and the page")
    ap.add_argument("--config", help="hall config: service/counter names, [reports] SLA, zone")
    ap.add_argument("--sla", type=float, help="SLA minutes (overrides [reports] sla_minutes)")
    ap.add_argument("--json", action="store_true", help="also write report.json")
    ap.add_argument("--no-page", action="store_true", help="CSV only, no PNG/PDF")
    args = ap.parse_args(argv)
    first, last = args.date, args.to or args.date
    if last < first:
        print("report: --to is before --date", file=sys.stderr)
        return 2
    try:
        hall = load_hall(args.config) if args.config else None
        report = build(args.data, first, last, hall=hall, sla_minutes=args.sla)
    except (ConfigError, ReportSourceError, OSError) as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    files = write_csv(report, out)
    if args.json:
        path = out / "report.json"
        path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=1), "utf-8")
        files.append(path)
    if not args.no_page:
        files += render_page(report, out, getattr(hall, "name", ""))
    print(summary(report))
    print("wrote " + ", ".join(str(f) for f in files))
    if not report.tickets:
        print(f"report: no tickets issued {first}..{last} in {args.data}", file=sys.stderr)
    return 0
