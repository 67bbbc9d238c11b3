"""`python -m notifier --hall`: the hall-side SMS notifier, beside the queue server.

    python -m notifier --hall assets/halls/demo.toml --data /srv/qms/data \\
        --sms-config /etc/qms/sms.toml

Texts 前面还有 N 人 and 请到 X 号窗口, once each, for tickets linked to a self-service
filing whose form gave a mobile number. It reads the server's data directory read-only
(notifier/hall.py); the portal's reminders (ticket page, booking) run inside the portal.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import sys
import threading
import tomllib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from queue_server.config import ConfigError, Reader, load_hall

from .gateway import SmsConfig
from .hall import HallNotifier, HallSource, NotReady

log = logging.getLogger("notifier")


def load_sms(path: str) -> SmsConfig:
    data = tomllib.loads(Path(path).read_text("utf-8"))
    reader = Reader(path)
    return SmsConfig.parse(reader.required(data, "", "sms"), reader)


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m notifier", description=__doc__.split("\n")[0])
    p.add_argument("--hall", required=True, metavar="TOML", help="the hall's config file")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="the queue server's --data directory (read only)")
    p.add_argument("--sms-config", required=True, metavar="FILE",
                   help="TOML file with an [sms] table, as for the portal")
    p.add_argument("--db", metavar="FILE",
                   help="the notifier's own SQLite (sent flags, no phone numbers; "
                   "default: DIR/sms-notifier.db)")
    p.add_argument("--poll-s", type=float, default=1.0,
                   help="how often to look for the server's commits (default: %(default)s)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        hall = load_hall(args.hall)
        sms = load_sms(args.sms_config)
        if args.poll_s <= 0:
            raise ValueError(f"--poll-s must be positive, got {args.poll_s}")
        if not Path(args.data).is_dir():
            raise ValueError(f"--data {args.data}: no such directory")
    except (ValueError, ConfigError, OSError, tomllib.TOMLDecodeError) as e:
        print(f"notifier: error: {e}", file=sys.stderr)
        return 2
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
    db = args.db or str(Path(args.data) / "sms-notifier.db")
    notifier: HallNotifier | None = None
    waited = False
    try:
        while not stop.is_set():
            try:
                if notifier is None:
                    notifier = HallNotifier(HallSource(args.data, hall), db, sms)
                    log.info("following filings of hall %s in %s", hall.id, args.data)
                notifier.poll(datetime.now(hall.tz))
            except NotReady as e:
                if not waited:
                    log.warning("%s; waiting", e)
                    waited = True
            except sqlite3.Error as e:  # the server's file busy or being replaced: next time
                log.warning("reading %s failed: %s", args.data, e)
            stop.wait(args.poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        if notifier is not None:
            notifier.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
