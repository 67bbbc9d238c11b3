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


def cmd_rotate(args: argparse.Namespace) -> int:
    from provisioning.rotate import kick, reload_broker, rotate_device

    done = rotate_device(args.broker_dir, args.device,
                         device_credentials=args.device_credentials,
                         broker_user=args.broker_user)
    print(f"provisioning: new password for {done.device} in {args.broker_dir}", file=sys.stderr)
    if args.no_reload:
        print("provisioning: the broker takes the old password until it rereads passwd "
              "(systemctl reload qms-broker)", file=sys.stderr)
    else:
        print(f"provisioning: {reload_broker(args.broker_pid)}", file=sys.stderr)
        kick(args.broker, done.device, _password(done.device_file, done.device))
        print(f"provisioning: the old password no longer works; a connection {done.device} "
              f"still had open was closed", file=sys.stderr)
    if args.device_credentials:
        print(f"provisioning: updated {done.device_file}; restart the device's service",
              file=sys.stderr)
    else:
        print(f"provisioning: copy {done.device_file} to {done.device} as "
              f"/etc/qms/credentials.json (owner qms, mode 0600) and restart its service "
              f"(or reboot it)", file=sys.stderr)
    return 0


def _repo() -> Any:
    from provisioning.install import REPO

    return REPO


def _password(path: Any, device: str) -> str:
    from queue_server.mqttlink import load_password

    return load_password(path, device)


def _address(text: str) -> Any:
    from queue_server.mqttlink import BrokerAddress

    try:
        return BrokerAddress.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_install(args: argparse.Namespace) -> int:
    from provisioning.install import install

    hall = load_hall(args.config)
    done = install(hall, args.role, args.device, root=args.root, broker=args.broker,
                   credentials_file=args.credentials, python=args.python, app=args.app_dir,
                   session_user=args.session_user, cage=args.cage)
    p = done.plan
    print(f"provisioning: {p.role} {p.device} of hall {hall.id!r} installed under {done.root} "
          f"(broker {p.broker})", file=sys.stderr)
    for path in done.written:
        print(f"  wrote {path}", file=sys.stderr)
    for step in done.done:
        print(f"  {step}", file=sys.stderr)
    units = [*p.units, *p.user_units]
    print(f"provisioning: services: {', '.join(units)}; check this machine with: "
          f"python -m provisioning doctor --config /etc/qms/hall.toml", file=sys.stderr)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from provisioning.doctor import Target, render, run
    from provisioning.install import read_env

    env = read_env(Path(args.env))
    device = args.device or env.get("QMS_DEVICE")
    if not device:
        print("provisioning: error: give --device (this machine's device id; `install` "
              f"writes it to {args.env})", file=sys.stderr)
        return 2
    hall = load_hall(args.config)
    same = env.get("QMS_DEVICE") == device
    default_broker = "127.0.0.1:1883" if device == "server" else None
    broker_text = args.broker or (env.get("QMS_BROKER") if same else None) or default_broker
    if not broker_text:
        print("provisioning: error: give --broker (the address this device uses)",
              file=sys.stderr)
        return 2
    data = args.data or (env.get("QMS_DATA") if same else None)
    if data is None and device == "server":
        data = "/var/lib/qms/server"
    target = Target(
        hall=hall, device=device, broker=_address(broker_text),
        credentials=Path(args.credentials or (env.get("QMS_CREDENTIALS") if same else None)
                         or "/etc/qms/credentials.json"),
        data=Path(data) if data else None, broker_dir=Path(args.broker_dir))
    checks = []
    for check in run(target, services=not args.no_services):
        checks.append(check)
    print(render(checks))
    return 1 if any(c.failed for c in checks) else 0


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

    rot = sub.add_parser(
        "rotate",
        help="give one device a new password; the old one stops working",
        description="On the server: new password for DEVICE in the broker's credentials.json "
        "and passwd, reload the broker, close a connection still open with the old password, "
        "and write the device's new credentials file (BROKER_DIR/devices/DEVICE.json to copy "
        "to it, or --device-credentials to update a local one).",
    )
    rot.add_argument("device", metavar="DEVICE", help="device id, e.g. kiosk-1")
    rot.add_argument("--broker-dir", default="/var/lib/qms/broker", metavar="DIR",
                     help="the broker's directory (default: %(default)s)")
    rot.add_argument("--device-credentials", metavar="FILE",
                     help="update this credentials file in place (e.g. the server's "
                     "/etc/qms/credentials.json when DEVICE is server)")
    rot.add_argument("--broker", type=_address, default=_address("127.0.0.1:1883"),
                     metavar="HOST:PORT", help="the broker, to close the old connection "
                     "(default: %(default)s)")
    rot.add_argument("--broker-pid", type=int, metavar="PID",
                     help="send SIGHUP to this Mosquitto instead of systemctl reload "
                     "qms-broker")
    rot.add_argument("--no-reload", action="store_true",
                     help="only write the files; reload the broker yourself")
    rot.add_argument("--broker-user", default=DEFAULT_BROKER_USER, metavar="USER",
                     help="group that may read passwd (default: %(default)s)")
    rot.set_defaults(run=cmd_rotate)

    ins = sub.add_parser(
        "install",
        help="set this machine up for one role: services, user, credentials, udev, lock-down",
        description="Write systemd units, the qms user, this device's credentials file, udev "
        "rules and (kiosk, board, rating pad) a locked-down session under --root; with "
        "--root / (the default, as root) also create the user and enable the services.",
    )
    ins.add_argument("--config", required=True, metavar="FILE", help="hall config")
    ins.add_argument("--role", required=True, choices=("server", "kiosk", "counter", "display"))
    ins.add_argument("--device", metavar="ID",
                     help="this machine's device id (kiosk-1, counter-2, pad-2, display-1); "
                     "the server is 'server'")
    ins.add_argument("--root", default="/", metavar="DIR",
                     help="install under DIR instead of / (to look at the files first)")
    ins.add_argument("--broker", metavar="ADDRESS",
                     help="the server's broker for devices, e.g. mqtts://qms-server:8883 "
                     "(default: the first of [tls] hosts)")
    ins.add_argument("--credentials", metavar="FILE",
                     help="devices: the server's /var/lib/qms/broker/credentials.json or the "
                     "device's own file; only this device's password is installed")
    ins.add_argument("--session-user", metavar="LOGIN",
                     help="counter terminals: the clerk's desktop login it runs in")
    ins.add_argument("--app-dir", default=str(_repo()), metavar="DIR",
                     help="where this code is installed (default: %(default)s)")
    ins.add_argument("--python", metavar="PATH",
                     help="interpreter for the services (default: APP_DIR/.venv/bin/python)")
    ins.add_argument("--cage", default="/usr/bin/cage", metavar="PATH",
                     help="the kiosk compositor (default: %(default)s)")
    ins.set_defaults(run=cmd_install)

    doc = sub.add_parser(
        "doctor",
        help="check this machine and say, in Chinese and English, what to fix",
        description="Checks the broker login, the queue server, the clock, disk, data "
        "directory, this device's reader/printer/scanner, fonts and voice. Exit status 1 "
        "when something is wrong. Defaults come from /etc/qms/qms.env (written by install).",
    )
    doc.add_argument("--config", required=True, metavar="FILE", help="hall config")
    doc.add_argument("--device", metavar="ID", help="device to check (default: this machine's)")
    doc.add_argument("--broker", metavar="ADDRESS", help="broker address the device uses")
    doc.add_argument("--credentials", metavar="FILE", help="the device's credentials file")
    doc.add_argument("--data", metavar="DIR", help="the program's data directory")
    doc.add_argument("--env", default="/etc/qms/qms.env", metavar="FILE",
                     help="what install wrote about this machine (default: %(default)s)")
    doc.add_argument("--broker-dir", default="/var/lib/qms/broker", metavar="DIR",
                     help="server: the broker's directory (default: %(default)s)")
    doc.add_argument("--no-services", action="store_true",
                     help="do not ask systemd whether the services run")
    doc.set_defaults(run=cmd_doctor)
