"""python -m queue_server --config HALL.toml --data DIR --broker HOST:PORT --credentials FILE

Other tools on the same data: `python -m queue_server SUBCOMMAND ...` (see SUBCOMMANDS).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import socket
import sys
import threading
from datetime import datetime

from . import catalogue
from .backup import BackupError, BackupScheduler, BackupSettings, ServerLock
from .config import ConfigError, load_hall
from .mqtt import QueueServer
from .mqttlink import BrokerAddress, CredentialsError, load_password, tls_context
from .store import Store

# name -> module with main(argv) -> int; a module that does not exist yet says so.
SUBCOMMANDS = {
    "restore": "queue_server.backup",  # put an online backup back (installing issue)
    "report": "queue_server.reports",  # daily figures for supervisors (reports issue)
    "followups": "queue_server.followups",  # bad ratings to follow up (counter issue)
    "guide-reports": "queue_server.filing.guide_reports",  # 纠错 on guides (filing issue)
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        try:
            module = importlib.import_module(SUBCOMMANDS[argv[0]])
        except ModuleNotFoundError:
            print(f"queue_server: {argv[0]} is not built yet", file=sys.stderr)
            return 2
        return int(module.main(argv[1:]) or 0)
    return serve(argv)


def sd_notify(message: str) -> None:
    """Tell systemd (NOTIFY_SOCKET) about our state; nothing when not run by it."""
    where = os.environ.get("NOTIFY_SOCKET")
    if not where:
        return
    addr = "\0" + where[1:] if where.startswith("@") else where
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode("ascii"), addr)


def serve(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m queue_server",
        description="The hall's queue server (MQTT + SQLite). Also: python -m queue_server "
        + " | ".join(SUBCOMMANDS) + " ...")
    ap.add_argument("--config", required=True, help="hall config, e.g. assets/halls/demo.toml")
    ap.add_argument("--data", required=True, help="data directory (SQLite database lives here)")
    ap.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the hall's broker")
    ap.add_argument("--credentials", required=True, help="credentials.json from provisioning")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("queue_server")
    try:
        hall = load_hall(args.config)
        catalogue.for_hall(hall)  # a bad catalogue entry stops here, naming file and field
        broker = BrokerAddress.parse(args.broker)
        if broker.tls:
            tls_context(broker)  # a missing or bad hall CA stops here, in one line
        password = load_password(args.credentials, "server")
        backup_settings = BackupSettings.from_hall(hall, args.data)
        # One server per data directory; `restore` takes the same lock.
        lock = ServerLock(args.data).acquire()
        store = Store(args.data, hall)
    except (ConfigError, CredentialsError, BackupError, ValueError, OSError) as e:
        print(f"queue_server: {e}", file=sys.stderr)
        return 2
    backups = BackupScheduler(store.path, backup_settings, lambda: datetime.now(hall.tz))
    server = QueueServer(hall, store, broker, password)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("hall %s (%s): %d services, %d counters; data in %s", hall.id, hall.name,
             len(hall.services), len(hall.counters), store.path)
    server.start()
    backups.start()
    # Under systemd (Type=notify, WatchdogSec=): ready once started, then a watchdog ping
    # while the serving thread lives; a dead one gets the service restarted.
    watchdog_s = int(os.environ.get("WATCHDOG_USEC", "0")) / 3e6
    sd_notify("READY=1")
    while not stop.wait(watchdog_s or None):
        if server.alive():
            sd_notify("WATCHDOG=1")
    log.info("stopping")
    backups.stop()
    server.stop()
    lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
