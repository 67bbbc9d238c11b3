"""The online link: a hall's Mosquitto bridged to the central (provincial) broker.

`provision_bridge` writes both ends:

    central DIR   mosquitto.conf, passwd, acl, credentials.json for the central broker:
                  one user per hall's bridge (`bridge-<hall>`) and the portal users
                  (`portal-1` … `portal-N`, one per portal process, since the broker
                  binds the client id to the username). Re-running adds halls and keeps
                  every password, so it is run once per hall at the province.
    hall DIR      conf.d/bridge.conf next to the hall's mosquitto.conf (which includes
                  conf.d/), holding the hall's own central credentials; restart the
                  hall's broker to take it (Mosquitto does not reload bridges on SIGHUP).

What crosses (PROTOCOL.md names the hall's device `portal`; on the central broker the
portal processes speak for it):

    out  qms/{hall}/public/#            the wait snapshot (retained, no personal data)
    out  qms/{hall}/reply/portal/#      the server's replies to portal requests
    in   qms/{hall}/cmd/portal/#        book / cancel / lookup from the portal
    out  qms/{hall}/status/bridge       1/0: the link's state (Mosquitto's notification)

The bridge uses a clean session: a portal request made while the WAN is down is
dropped with the link (the portal has already told the resident it timed out), never
delivered an hour later. The hall's retained snapshot is sent again on every
reconnect, so the central view is current within seconds of the link coming back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.broker import (
    ACL_NAME,
    CONF_NAME,
    CREDENTIALS_NAME,
    DATA_NAME,
    DEFAULT_BROKER_USER,
    INCLUDE_NAME,
    PASSWD_NAME,
    ProvisioningError,
    _broker_ids,
    _write,
    new_password,
    read_credentials,
    render_passwd,
)
from queue_server.config import load_hall
from queue_server.mqttlink import BrokerAddress

BRIDGE_CONF_NAME = "bridge.conf"
PORTAL_DEVICE = "portal"


def bridge_user(hall_id: str) -> str:
    """The hall bridge's username and client id on the central broker."""
    return f"bridge-{hall_id}"


def portal_users(count: int) -> list[str]:
    return [f"portal-{i}" for i in range(1, count + 1)]


def bridge_topics(hall_id: str) -> list[tuple[str, str]]:
    """(topic filter, direction seen from the hall) of what the bridge carries."""
    root = f"qms/{hall_id}"
    return [
        (f"{root}/public/#", "out"),
        (f"{root}/reply/{PORTAL_DEVICE}/#", "out"),
        (f"{root}/cmd/{PORTAL_DEVICE}/#", "in"),
    ]


def notification_topic(hall_id: str) -> str:
    return f"qms/{hall_id}/status/bridge"


@dataclass(frozen=True)
class BridgeFiles:
    central_dir: Path
    hall_conf: Path | None
    bridge_user: str
    halls: tuple[str, ...]
    portals: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def central_conf(self) -> Path:
        return self.central_dir / CONF_NAME

    @property
    def central_credentials(self) -> Path:
        return self.central_dir / CREDENTIALS_NAME


# --------------------------------------------------------------------------- rendering


def render_bridge_conf(hall_id: str, central: BrokerAddress, password: str, *,
                       cafile: Path | None, retry_s: int = 2) -> str:
    user = bridge_user(hall_id)
    host = central.host.strip("[]")
    if cafile is not None:
        tls = f"""\
# TLS to the central broker; its certificate must name {host} and chain to this CA.
bridge_cafile {cafile}
bridge_insecure false
"""
    else:
        tls = """\
# NO TLS: only for a test or a link that is already encrypted (VPN). Pass --cafile.
"""
    topics = "\n".join(f"topic {t} {d} 1" for t, d in bridge_topics(hall_id))
    return f"""\
# Bridge of hall {hall_id!r} to the central broker.
# Written by `python -m provisioning bridge`; re-run it rather than editing this file.
connection central
address {host}:{central.port}
bridge_protocol_version mqttv50
remote_clientid {user}
remote_username {user}
remote_password {password}
{tls}
# A request queued while the link is down must not be carried out hours later;
# the retained snapshot is sent again on reconnect, so nothing is lost by this.
cleansession true
try_private false
start_type automatic
keepalive_interval 20
# Reconnect backoff (seconds, min max): the link is back within seconds.
restart_timeout {retry_s} {max(retry_s, 30)}
notifications true
notifications_local_only false
notification_topic {notification_topic(hall_id)}
bridge_attempt_unsubscribe false

{topics}
"""


def central_acl(halls: list[str], portals: list[str]) -> str:
    lines = [
        "# Central (provincial) broker ACL. Written by `python -m provisioning bridge`.",
        "# A hall's bridge may write only its own hall's public snapshot and portal",
        "# replies, and read only the portal's requests to its hall.",
        "",
    ]
    for p in portals:
        lines += [f"user {p}",
                  f"topic write qms/+/cmd/{PORTAL_DEVICE}/#",
                  "topic read qms/+/public/#",
                  f"topic read qms/+/reply/{PORTAL_DEVICE}/#",
                  "topic read qms/+/status/bridge",
                  ""]
    for hall in halls:
        root = f"qms/{hall}"
        lines += [f"user {bridge_user(hall)}",
                  f"topic write {root}/public/#",
                  f"topic write {root}/reply/{PORTAL_DEVICE}/#",
                  f"topic write {notification_topic(hall)}",
                  f"topic read {root}/cmd/{PORTAL_DEVICE}/#",
                  ""]
    return "\n".join(lines)


def render_central_conf(out: Path, listen: BrokerAddress, *, certfile: Path | None,
                        keyfile: Path | None, portal_listen: BrokerAddress | None) -> str:
    tls = ""
    if certfile is not None and keyfile is not None:
        tls = f"certfile {certfile}\nkeyfile {keyfile}\ntls_version tlsv1.2\n"
    portal = ""
    if portal_listen is not None:
        portal = f"""
# Portal processes on the province's own network: plain MQTT, same users and ACL.
listener {portal_listen.port} {portal_listen.host.strip("[]")}
"""
    return f"""\
# Central (provincial) broker: the halls' bridges and the portal meet here.
# Written by `python -m provisioning bridge`; re-run it rather than editing this file.
per_listener_settings false
allow_anonymous false
password_file {out / PASSWD_NAME}
acl_file {out / ACL_NAME}
use_username_as_clientid true
set_tcp_nodelay true

# The halls' bridges connect here (over the WAN: TLS).
listener {listen.port} {listen.host.strip("[]")}
{tls}{portal}
# Retained snapshots survive a restart of this broker; the bridges also resend them.
persistence true
persistence_location {out / DATA_NAME}
persistence_file mosquitto.db
autosave_interval 60
max_queued_messages 1000

log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S
"""


# --------------------------------------------------------------------------- writing


def provision_bridge(
    hall_id: str,
    central_dir: str | Path,
    central: BrokerAddress,
    *,
    hall_dir: str | Path | None = None,
    central_listen: BrokerAddress | None = None,
    portal_listen: BrokerAddress | None = None,
    portals: int = 1,
    cafile: str | Path | None = None,
    certfile: str | Path | None = None,
    keyfile: str | Path | None = None,
    retry_s: int = 2,
    broker_user: str = DEFAULT_BROKER_USER,
) -> BridgeFiles:
    """Add hall `hall_id` to the central broker in `central_dir` and write its bridge.

    `central` is the address the hall dials (what the certificate names);
    `central_listen` what the central broker binds (default: `central`).
    """
    if portals < 1:
        raise ProvisioningError(f"portals must be 1 or more, got {portals}")
    if (certfile is None) != (keyfile is None):
        raise ProvisioningError("give both --certfile and --keyfile for the central TLS listener")
    paths = {"cafile": cafile, "certfile": certfile, "keyfile": keyfile}
    resolved: dict[str, Path | None] = {}
    for name, p in paths.items():
        resolved[name] = Path(p).resolve() if p is not None else None
        if resolved[name] is not None and not resolved[name].is_file():  # type: ignore[union-attr]
            raise ProvisioningError(f"--{name} {p}: no such file")
    cdir = Path(central_dir).resolve()
    # As for the hall: Mosquitto started as root reads passwd/acl as broker_user.
    broker_ids = _broker_ids(broker_user) if os.geteuid() == 0 else None
    shared = (0, broker_ids[1]) if broker_ids else None
    try:
        cdir.mkdir(parents=True, exist_ok=True)
        (cdir / DATA_NAME).mkdir(mode=0o700, exist_ok=True)
        if broker_ids:
            os.chown(cdir / DATA_NAME, *broker_ids)
    except OSError as e:
        raise ProvisioningError(f"cannot create {cdir}: {e.strerror}") from None
    creds_path = cdir / CREDENTIALS_NAME
    old = read_credentials(creds_path)
    user = bridge_user(hall_id)
    halls = sorted({u.removeprefix("bridge-") for u in old if u.startswith("bridge-")}
                   | {hall_id})
    existing_portals = [u for u in old if u.startswith("portal-")]
    portal_list = portal_users(max(portals, len(existing_portals)))
    users = [*portal_list, *(bridge_user(h) for h in halls)]
    passwords = {u: old.get(u) or new_password() for u in users}
    added = tuple(u for u in users if u not in old)
    try:
        _write(creds_path, json.dumps(passwords, indent=2) + "\n", 0o600)
        _write(cdir / PASSWD_NAME, render_passwd(passwords), 0o640, shared)
        _write(cdir / ACL_NAME, central_acl(halls, portal_list), 0o640, shared)
        _write(cdir / CONF_NAME, render_central_conf(
            cdir, central_listen or central, certfile=resolved["certfile"],
            keyfile=resolved["keyfile"], portal_listen=portal_listen), 0o640, shared)
    except OSError as e:
        raise ProvisioningError(f"cannot write into {cdir}: {e.strerror}") from None

    hall_conf = None
    if hall_dir is not None:
        include = Path(hall_dir).resolve() / INCLUDE_NAME
        if not include.is_dir():
            raise ProvisioningError(
                f"{include} does not exist: provision the hall first "
                f"(python -m provisioning hall --out {hall_dir} …)")
        hall_conf = include / BRIDGE_CONF_NAME
        text = render_bridge_conf(hall_id, central, passwords[user], cafile=resolved["cafile"],
                                  retry_s=retry_s)
        # Same owner and mode as the hall's passwd: it holds the hall's central password.
        st = (include.parent / PASSWD_NAME).stat() if (include.parent / PASSWD_NAME).exists() \
            else None
        owner = (st.st_uid, st.st_gid) if st is not None else None
        try:
            _write(hall_conf, text, 0o640, owner)
        except OSError as e:
            raise ProvisioningError(f"cannot write {hall_conf}: {e.strerror}") from None
    return BridgeFiles(cdir, hall_conf, user, tuple(halls), tuple(portal_list), added)


# --------------------------------------------------------------------------- command line


def _address(text: str) -> BrokerAddress:
    try:
        return BrokerAddress.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_bridge(args: argparse.Namespace) -> int:
    hall = load_hall(args.config)
    files = provision_bridge(
        hall.id, args.central_dir, args.central, hall_dir=args.hall_dir,
        central_listen=args.central_listen, portal_listen=args.portal_listen,
        portals=args.portals, cafile=args.cafile, certfile=args.certfile,
        keyfile=args.keyfile, retry_s=args.retry_s)
    if files.added:
        print(f"provisioning: new central users {', '.join(files.added)}", file=sys.stderr)
    print(f"provisioning: central broker ({len(files.halls)} halls): mosquitto -c "
          f"{files.central_conf}; portal passwords in {files.central_credentials}",
          file=sys.stderr)
    if files.hall_conf is not None:
        print(f"provisioning: hall {hall.id!r} bridge: {files.hall_conf}; restart the hall's "
              f"broker to take it", file=sys.stderr)
    if args.cafile is None:
        print("provisioning: warning: no --cafile: the bridge runs without TLS",
              file=sys.stderr)
    return 0


def add_bridge_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bridge",
        help="bridge a hall's broker to the central broker, and write the central config",
        description="Add a hall to the central broker's users and ACL (in --central-dir) and, "
        "with --hall-dir, write the hall's conf.d/bridge.conf. Run once per hall; passwords "
        "already given are kept.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="the hall's config")
    p.add_argument("--central", required=True, type=_address, metavar="HOST:PORT",
                   help="address the hall dials for the central broker (the TLS listener)")
    p.add_argument("--central-dir", required=True, metavar="DIR",
                   help="the central broker's directory (mosquitto.conf, passwd, acl, "
                   "credentials.json)")
    p.add_argument("--hall-dir", metavar="DIR",
                   help="the hall's broker directory from `provisioning hall` (gets "
                   "conf.d/bridge.conf)")
    p.add_argument("--central-listen", type=_address, metavar="HOST:PORT",
                   help="what the central broker binds for the bridges (default: --central)")
    p.add_argument("--portal-listen", type=_address, metavar="HOST:PORT",
                   help="an extra plain listener for portal processes on the province's LAN")
    p.add_argument("--portals", type=int, default=1, metavar="N",
                   help="portal users portal-1..portal-N, one per portal process "
                   "(default: %(default)s)")
    p.add_argument("--cafile", metavar="FILE", help="CA the hall checks the central broker with")
    p.add_argument("--certfile", metavar="FILE", help="central broker's TLS certificate")
    p.add_argument("--keyfile", metavar="FILE", help="central broker's TLS key")
    p.add_argument("--retry-s", type=int, default=2, metavar="S",
                   help="first reconnect delay of the bridge (default: %(default)s)")
    p.set_defaults(run=cmd_bridge)
