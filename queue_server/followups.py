"""python -m queue_server followups --config HALL.toml --data DIR [--all] [--json]
python -m queue_server followups --config HALL.toml --data DIR --handle NUMBER --note TEXT

Bad ratings (差评) are flagged for follow-up (回访) with a deadline of
`[rating] follow_up_days`; a supervisor lists the open ones and marks each handled
with a note of what was done. Works on the server's database while it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime

from .config import ConfigError, load_hall
from .store import Store

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m queue_server followups",
                                 description="List bad ratings due for follow-up; mark one "
                                 "handled.")
    ap.add_argument("--config", required=True, help="hall config, e.g. assets/halls/demo.toml")
    ap.add_argument("--data", required=True, help="the server's data directory")
    ap.add_argument("--all", action="store_true", help="list handled ones too")
    ap.add_argument("--json", action="store_true", help="print JSON lines")
    ap.add_argument("--handle", metavar="NUMBER", help="mark this ticket's follow-up handled")
    ap.add_argument("--note", help="what was done (required with --handle)")
    ap.add_argument("--day", type=date.fromisoformat,
                    help="YYYY-MM-DD of the ticket, when a number recurs over days")
    ap.add_argument("--by", default="supervisor", help="who marks it (audit log)")
    args = ap.parse_args(argv)
    if args.handle and not args.note:
        ap.error("--handle needs --note (what was done for the resident)")
    try:
        hall = load_hall(args.config)
        store = Store(args.data, hall)
    except (ConfigError, OSError, RuntimeError) as e:
        print(f"followups: {e}", file=sys.stderr)
        return 2
    try:
        if args.handle:
            try:
                row = store.handle_follow_up(args.handle, args.note, datetime.now(hall.tz),
                                             by=args.by, day=args.day)
            except LookupError as e:
                print(f"followups: {e}", file=sys.stderr)
                return 1
            print(f"{row['number']}: follow-up marked handled at {row['handled_at']}")
            return 0
        now = datetime.now(hall.tz)
        rows = store.follow_ups(include_handled=args.all)
        for r in rows:
            if args.json:
                print(json.dumps(r, ensure_ascii=False))
                continue
            due = datetime.fromisoformat(r["follow_up_due"])
            state = (f"handled {r['handled_at'][:16]} ({r['handled_note']})" if r["handled_at"]
                     else "OVERDUE" if due < now else f"due {due:%Y-%m-%d}")
            print(f"{r['day']} {r['number']:>6} counter {r['counter']:<3} "
                  f"{r['level']} {LEVELS.get(r['level'], '?')} - {r['reason'] or ''}"
                  f"{' / ' + r['comment'] if r['comment'] else ''} - {state}")
        if not args.json:
            print(f"{len(rows)} follow-up(s)" + ("" if args.all else " open"))
        return 0
    finally:
        store.close()
