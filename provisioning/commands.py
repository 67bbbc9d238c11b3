"""The installing commands of `python -m provisioning`: tls, rotate, install, doctor.

Kept apart from __main__.py so each command's flags sit next to each other; the
modules they call hold the work (tls.py, rotate.py, install.py, doctor.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from provisioning.broker import DEFAULT_BROKER_USER
from queue_server.config import load_hall


def cmd_tls(args: argparse.Namespace) -> int:
    from provisioning.tls import TlsSettings, provision_tls

    hall = load_hall(args.config)
    settings = TlsSettings.from_hall(hall)
    hosts = args.host or (settings.hosts if settings else ())
    files = provision_tls(hall, args.out, hosts, broker_user=args.broker_user)
    what = "new broker certificate" if files.issued else "broker certificate kept"
    print(f"provisioning: {what} for {', '.join(files.hosts)}, valid until "
          f"{files.not_after:%Y-%m-%d}: {files.cert}", file=sys.stderr)
    print(f"provisioning: hall CA {files.ca_cert}; every device needs a copy as "
          f"/etc/qms/tls/ca.crt (`install` puts it there); keep {files.dir / 'ca.key'} "
          f"on this machine only", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add the installing commands to `python -m provisioning`'s subparsers."""
    tls = sub.add_parser(
        "tls",
        help="make the hall CA (once) and the broker's TLS certificate",
        description="Write DIR/ca.crt, DIR/ca.key, DIR/broker.crt and DIR/broker.key. "
        "Re-running keeps the CA, and the certificate unless its names changed or it "
        "expires within 90 days.",
    )
    tls.add_argument("--config", required=True, metavar="FILE", help="hall config")
    tls.add_argument("--out", required=True, metavar="DIR",
                     help="directory for the CA and certificate, e.g. /etc/qms/tls")
    tls.add_argument("--host", action="append", metavar="NAME_OR_IP",
                     help="a host name or address devices use to reach the server (repeat "
                     "for several); default: [tls] hosts of the hall config")
    tls.add_argument("--broker-user", default=DEFAULT_BROKER_USER, metavar="USER",
                     help="group that may read the broker key (default: %(default)s)")
    tls.set_defaults(run=cmd_tls)
