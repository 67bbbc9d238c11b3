"""Command line: `python -m provisioning COMMAND ...`; exit 2 on bad input, no traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from provisioning.bridge import add_bridge_parser
from provisioning.broker import (
    DEFAULT_AUTOSAVE_CHANGES,
    DEFAULT_BROKER_USER,
    ProvisioningError,
    provision_hall,
)
from provisioning.commands import register as add_install_parsers
from queue_server.config import ConfigError, load_hall
from queue_server.mqttlink import BrokerAddress

EXIT_USAGE = 2


def _address(text: str) -> BrokerAddress:
    try:
        return BrokerAddress.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_hall(args: argparse.Namespace) -> int:
    hall = load_hall(args.config)
    files = provision_hall(hall, args.out, args.listen, broker_user=args.broker_user,
                           bind_client_ids=not args.any_client_id,
                           autosave_changes=args.autosave_changes)
    for warning in files.warnings:
        print(f"provisioning: warning: {warning}", file=sys.stderr)
    if files.added:
        print(f"provisioning: new passwords for {', '.join(files.added)}", file=sys.stderr)
    if files.removed:
        print(
            f"provisioning: removed devices no longer in {args.config}: "
            f"{', '.join(files.removed)}",
            file=sys.stderr,
        )
    print(
        f"provisioning: hall {hall.id!r}: {len(files.devices)} devices, broker on "
        f"{files.listen}; start it with: mosquitto -c {files.conf} "
        f"(a running broker rereads passwd and acl on SIGHUP)",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m provisioning",
        description="Turn a hall config into what runs the hall (broker config, credentials, "
        "ACL).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    hall = sub.add_parser(
        "hall",
        help="write the hall's Mosquitto config, password file, ACL and credentials",
        description="Write DIR/mosquitto.conf, DIR/passwd, DIR/acl and DIR/credentials.json "
        "for a hall; re-running keeps existing passwords.",
    )
    hall.add_argument(
        "--config", required=True, metavar="FILE", help="hall config, e.g. assets/halls/demo.toml"
    )
    hall.add_argument(
        "--out", required=True, metavar="DIR", help="directory to write into (created if missing)"
    )
    hall.add_argument(
        "--listen", required=True, type=_address, metavar="HOST:PORT",
        help="address the broker listens on, e.g. 0.0.0.0:1883 for the hall's LAN"
    )
    hall.add_argument(
        "--broker-user",
        default=DEFAULT_BROKER_USER,
        metavar="USER",
        help="user Mosquitto drops to when started as root (default: %(default)s)",
    )
    hall.add_argument(
        "--autosave-changes",
        type=int,
        default=DEFAULT_AUTOSAVE_CHANGES,
        metavar="N",
        help="Mosquitto saves sessions and queued requests to disk after N changes "
        "(default: %(default)s; 1 keeps even the broker's queue through a crash, at about "
        "a third of the throughput)",
    )
    hall.add_argument(
        "--any-client-id",
        action="store_true",
        help="let clients pick their MQTT client id instead of forcing it to the username; "
        "for tests that connect several clients as one device, never for a hall",
    )
    hall.set_defaults(run=cmd_hall)
    add_bridge_parser(sub)
    add_install_parsers(sub)  # tls, rotate, install, doctor
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, ProvisioningError) as e:
        print(f"provisioning: error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
