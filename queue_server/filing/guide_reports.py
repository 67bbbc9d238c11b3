"""python -m queue_server guide-reports --config HALL.toml --data DIR [--all] [--json]
python -m queue_server guide-reports --config HALL.toml --data DIR --handle ID --note TEXT

Residents' 纠错 reports on the 办事指南 (the kiosk's `report_guide_error`), for the
supervisor who keeps the catalogue right: list the open ones (grouped by item, the guide
version they saw), mark one handled with what was changed. The handling is appended to
the audit log. Works on the server's database while it runs (the server only inserts
reports and never reads them back).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from ..catalogue import for_hall
from ..config import ConfigError, load_hall
from ..store import Store


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m queue_server guide-reports",
                                 description="List residents' error reports on guides (纠错);"
                                 " mark one handled.")
    ap.add_argument("--config", required=True, help="hall config, e.g. assets/halls/demo.toml")
    ap.add_argument("--data", required=True, help="the server's data directory")
    ap.add_argument("--all", action="store_true", help="list handled ones too")
    ap.add_argument("--json", action="store_true", help="print JSON lines")
    ap.add_argument("--handle", metavar="ID", type=int, help="mark this report handled")
    ap.add_argument("--note", help="what was changed (required with --handle)")
    ap.add_argument("--by", default="supervisor", help="who marks it (audit log)")
    args = ap.parse_args(argv)
    if args.handle is not None and not args.note:
        ap.error("--handle needs --note (what was corrected in the guide)")
    try:
        hall = load_hall(args.config)
        _, cat = for_hall(hall)
        store = Store(args.data, hall)
    except (ConfigError, OSError, RuntimeError) as e:
        print(f"guide-reports: {e}", file=sys.stderr)
        return 2
    try:
        if args.handle is not None:
            now = datetime.now(hall.tz).isoformat(timespec="seconds")
            with store.transaction():
                done = store.db.execute(
                    "UPDATE guide_reports SET handled_at = ?, handled_note = ? WHERE id = ?"
                    " AND handled_at IS NULL", [now, args.note, args.handle]).rowcount
                if done:
                    store.db.execute(
                        "INSERT INTO events (at, device, request_id, kind, data)"
                        " VALUES (?,?,?,?,?)", [now, args.by, None, "guide_report_handled",
                                                json.dumps({"report": args.handle,
                                                            "note": args.note},
                                                           ensure_ascii=False)])
            if not done:
                print(f"guide-reports: no open report {args.handle}", file=sys.stderr)
                return 1
            print(f"report {args.handle} marked handled at {now}")
            return 0
        rows = store.filing.guide_reports(include_handled=args.all)
        for r in rows:
            if args.json:
                print(json.dumps(r, ensure_ascii=False))
                continue
            item = cat.items.get(r["item"])
            name = item.name if item else r["item"]
            current = item.version if item else "?"
            stale = "" if current == r["version"] else f" (guide now v{current})"
            choices = "、".join(json.loads(r["choices"]))
            state = f" - handled {r['handled_at'][:16]}: {r['handled_note']}" if r[
                "handled_at"] else ""
            print(f"#{r['id']} {r['at'][:16]} {r['device']:<8} {name} v{r['version']}{stale}:"
                  f" {choices}{' / ' + r['text'] if r['text'] else ''}{state}")
        if not args.json:
            print(f"{len(rows)} report(s)" + ("" if args.all else " open"))
        return 0
    finally:
        store.close()
