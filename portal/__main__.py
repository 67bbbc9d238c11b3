"""`python -m portal`: serve the portal from the central broker.

    python -m portal --central 10.0.0.5:1884 --user portal-1 \\
        --credentials /srv/qms/central/credentials.json --halls assets/halls --listen 0.0.0.0:8080
"""

from __future__ import annotations

import argparse
import logging
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from notifier.gateway import SmsConfig
from notifier.service import Notifier
from queue_server.config import ConfigError, Hall, Reader, load_hall
from queue_server.mqttlink import BrokerAddress, CredentialsError, load_password

from .app import Portal, create_app
from .feed import Feed
from .model import Directory


def load_halls(paths: list[str] | None) -> dict[str, Hall]:
    """Hall configs (for booking slots): files, or directories of *.toml; the province
    keeps them for provisioning the bridges anyway."""
    halls = {}
    for given in paths or []:
        p = Path(given)
        if not p.exists():
            raise ValueError(f"--halls {given}: no such file or directory")
        for path in sorted(p.glob("*.toml")) if p.is_dir() else [p]:
            hall = load_hall(path)
            halls[hall.id] = hall
    return halls


def load_notifier(config: str | None, db: str) -> Notifier | None:
    if not config:
        return None
    data = tomllib.loads(Path(config).read_text("utf-8"))
    reader = Reader(config)
    return Notifier(db, SmsConfig.parse(reader.required(data, "", "sms"), reader))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m portal", description=__doc__.split("\n")[0])
    p.add_argument("--central", required=True, help="central broker HOST:PORT")
    p.add_argument("--user", default="portal-1",
                   help="central broker user, one per portal process (default: %(default)s)")
    p.add_argument("--credentials", required=True, metavar="FILE",
                   help="credentials.json of the central broker (python -m provisioning bridge)")
    p.add_argument("--halls", metavar="PATH", action="append",
                   help="a hall config, or a directory of them (*.toml), offered for booking; "
                   "may be given several times")
    p.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (default: %(default)s)")
    p.add_argument("--sms-config", metavar="FILE",
                   help="TOML file with an [sms] table (gateway url, templates, ahead, retries, "
                   "rate_per_s, keep_hours); without it no SMS reminders are offered")
    p.add_argument("--sms-db", default="portal-sms.db", metavar="FILE",
                   help="SQLite file for the phone numbers given (default: %(default)s)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        central = BrokerAddress.parse(args.central)
        listen = BrokerAddress.parse(args.listen, 8080)
        password = load_password(args.credentials, args.user)
        halls = load_halls(args.halls)
        notifier = load_notifier(args.sms_config, args.sms_db)
    except (ValueError, CredentialsError, ConfigError, OSError) as e:
        print(f"portal: error: {e}", file=sys.stderr)
        return 2
    directory = Directory()
    portal_placeholder: list[Portal] = []
    feed = Feed(directory, central, args.user, password,
                on_change=lambda hall: portal_placeholder[0].hub.changed(hall))
    portal = Portal(directory, feed, halls, notifier=notifier)
    portal_placeholder.append(portal)
    feed.start(timeout=None)
    try:
        uvicorn.run(create_app(portal), host=listen.host.strip("[]"), port=listen.port,
                    log_level="warning", access_log=False)
    finally:
        feed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
