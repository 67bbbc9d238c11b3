"""A hall's Mosquitto broker: config, password file, ACL and device credentials.

`provision_hall` writes into one directory everything `mosquitto -c DIR/mosquitto.conf`
needs, so the demo, the tests and a real hall start the broker the same way:

    mosquitto.conf     listener, auth, persistence (absolute paths only)
    passwd             Mosquitto's own $7$ (PBKDF2-SHA512) hashes, one line per device
    acl                PROTOCOL.md "Who may do what", one block per device
    credentials.json   {"<device>": "<password>"}, mode 0600, for the hall's own programs
    data/              Mosquitto's persistence (sessions, queued and retained messages)

Re-running keeps the passwords already in credentials.json, so devices in the field
keep working; new devices get new random passwords, devices no longer in the hall
config lose their access.

Started as root, Mosquitto drops to the `mosquitto` user before it reads the
password and ACL files and writes its persistence; so when provisioning runs as
root it hands those to that user's group (0640) and data/ to that user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pwd
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from queue_server.config import Hall
from queue_server.durable import write_atomic
from queue_server.mqttlink import BrokerAddress

SERVER_DEVICE = "server"
DEFAULT_BROKER_USER = "mosquitto"

# Mosquitto 2's password format ($7$): PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte
# digest; 101 iterations is what mosquitto_passwd writes, and the broker reads the
# count from each line, so it is only the cost of a login.
PBKDF2_ITERATIONS = 101
SALT_BYTES = 12

# A server that is down must find every request waiting when it comes back:
# Mosquitto's default of 1000 queued messages per session would drop the rest.
MAX_QUEUED_MESSAGES = 100_000

CONF_NAME = "mosquitto.conf"
PASSWD_NAME = "passwd"
ACL_NAME = "acl"
CREDENTIALS_NAME = "credentials.json"
DATA_NAME = "data"
# Extra config a later step adds (the online bridge: `python -m provisioning bridge`);
# Mosquitto reads every *.conf in it, and a missing directory would stop it starting.
INCLUDE_NAME = "conf.d"


class ProvisioningError(RuntimeError):
    """Provisioning cannot go on; str() is a one-line message for the operator."""


@dataclass(frozen=True)
class BrokerFiles:
    """What provision_hall wrote, and what changed in the device list."""

    dir: Path
    listen: BrokerAddress
    devices: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def conf(self) -> Path:
        return self.dir / CONF_NAME

    @property
    def passwd(self) -> Path:
        return self.dir / PASSWD_NAME

    @property
    def acl(self) -> Path:
        return self.dir / ACL_NAME

    @property
    def credentials(self) -> Path:
        return self.dir / CREDENTIALS_NAME

    @property
    def data_dir(self) -> Path:
        return self.dir / DATA_NAME


# --------------------------------------------------------------------------- passwords


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """The `$7$...` hash Mosquitto 2 expects after `username:` in its password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return "$7${}${}${}".format(
        iterations, base64.b64encode(salt).decode("ascii"), base64.b64encode(digest).decode("ascii")
    )


def verify_password(password: str, encoded: str) -> bool:
    """True if `encoded` (a $7$ hash) is the hash of `password`."""
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
        if kind != "7":
            return False
        want = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac(
            "sha512", password.encode("utf-8"), base64.b64decode(salt), int(iterations), len(want)
        )
    except ValueError:
        return False
    return hmac.compare_digest(want, got)


def new_password() -> str:
    # URL-safe base64 has no ':' or whitespace, which the password file and
    # shell-quoted test commands would trip over.
    return secrets.token_urlsafe(18)


# --------------------------------------------------------------------------- rendering


def hall_devices(hall: Hall) -> tuple[str, ...]:
    """Every MQTT user of the hall: the implicit server first, then the config's devices."""
    return (SERVER_DEVICE, *hall.device_ids)


def device_acl(hall_id: str, device: str) -> tuple[list[str], list[str]]:
    """(publish, subscribe) topic filters of one device, as in PROTOCOL.md."""
    root = f"qms/{hall_id}"
    own_status = [f"{root}/status/{device}", f"{root}/status/{device}/#"]
    role = device.split("-", 1)[0]
    if device == SERVER_DEVICE:
        return [f"{root}/#"], [f"{root}/cmd/#", f"{root}/status/#"]
    # pad-<c>: the rating pad of counter <c>, facing the resident (docs/protocol-extensions.md)
    if role in ("kiosk", "counter", "pad") or device == "portal":
        return (
            [f"{root}/cmd/{device}/#", *own_status],
            [f"{root}/reply/{device}", f"{root}/reply/{device}/#",
             f"{root}/state/#", f"{root}/event/#", f"{root}/status/#"],
        )
    if role == "display":
        return own_status, [f"{root}/state/#", f"{root}/event/#", f"{root}/public/#",
                            f"{root}/status/#"]
    if device == "bridge":
        return [], [f"{root}/public/#"]
    # config.DEVICE_ID_RE admits no other names; refuse rather than guess rights.
    raise ProvisioningError(f"device {device!r} has no role in PROTOCOL.md's access table")


def render_acl(hall: Hall) -> str:
    lines = [
        f"# Mosquitto ACL of hall {hall.id!r} ({hall.name}).",
        "# Written by `python -m provisioning hall` from the hall config; edit that config and",
        "# re-run rather than editing this file.",
        "#",
        "# One block per device (the MQTT username). Mosquitto denies whatever no line allows.",
        "#   topic write F   the device may publish to topics matching F",
        "#   topic read F    the device may subscribe to F and receive from it",
        "# `X/#` also matches X itself; the bare X lines are there only to make that plain.",
        "# A denied publish is dropped (QoS 1 gets PUBACK 0x87 Not authorized). Mosquitto",
        "# grants every SUBSCRIBE and applies `read` to each message it would deliver, so a",
        "# subscription outside these lines is accepted but receives nothing.",
        "# The contract is PROTOCOL.md, section \"Who may do what\".",
        "",
    ]
    for device in hall_devices(hall):
        publish, subscribe = device_acl(hall.id, device)
        lines.append(f"user {device}")
        lines += [f"topic write {t}" for t in publish]
        lines += [f"topic read {t}" for t in subscribe]
        if not publish:
            lines.append("# publishes nothing")
        lines.append("")
    return "\n".join(lines)


def render_passwd(passwords: dict[str, str]) -> str:
    return "".join(f"{device}:{hash_password(pw)}\n" for device, pw in passwords.items())


@dataclass(frozen=True)
class TlsListener:
    """A second listener, for the hall's LAN, over TLS (provisioning/tls.py makes the files)."""

    listen: BrokerAddress
    cert_file: Path
    key_file: Path


def render_tls_listener(tls: TlsListener | None) -> str:
    if tls is None:
        return ""
    return f"""

# The hall's LAN, over TLS: devices check this certificate against the hall CA
# (mqtts://... addresses); passwords never cross the LAN in the clear.
listener {tls.listen.port} {tls.listen.host.strip("[]")}
certfile {tls.cert_file}
keyfile {tls.key_file}
tls_version tlsv1.2
"""


DEFAULT_AUTOSAVE_CHANGES = 100


def render_conf(hall: Hall, out: Path, listen: BrokerAddress, broker_user: str,
                bind_client_ids: bool = True, autosave_changes: int = DEFAULT_AUTOSAVE_CHANGES,
                tls: TlsListener | None = None) -> str:
    # Mosquitto wants a bare IPv6 address after the port, without brackets.
    host = listen.host.strip("[]")
    if bind_client_ids:
        client_ids = """
# The client id is the username, whatever the client sends: otherwise any device
# could connect as client id `server`, throw the server off and, with a clean
# start, wipe its session and the requests queued in it. One connection per device.
use_username_as_clientid true
"""
    else:
        client_ids = """
# Client ids are NOT bound to usernames (provisioned with --any-client-id, as for
# tests that connect several clients as one device): a device can take over
# another's session by using its client id. Never use this in a hall.
use_username_as_clientid false
"""
    return f"""\
# Mosquitto broker of hall {hall.id!r} ({hall.name}).
# Written by `python -m provisioning hall`; re-run it rather than editing this file.
# Start with: mosquitto -c {out / CONF_NAME}

# Settings below apply to every listener.
per_listener_settings false
listener {listen.port} {host}{render_tls_listener(tls)}
allow_anonymous false
password_file {out / PASSWD_NAME}
acl_file {out / ACL_NAME}
{client_ids}
# Started as root, Mosquitto drops to this user; provisioning gave it read access
# to passwd/acl and ownership of data/.
user {broker_user}

# Nagle's algorithm delays small packets: a QoS 1 request/reply on loopback took
# 88 ms with it and 0.8 ms without.
set_tcp_nodelay true

# The server keeps a persistent session (clean start off, long session expiry), so
# requests sent while it is down wait in the broker; keep them all, not the last 1000.
max_queued_messages {MAX_QUEUED_MESSAGES}
max_queued_bytes 0

# Sessions, their queued QoS 1 messages and retained state survive a restart only
# through this database. Mosquitto writes it on a clean shutdown (SIGTERM) and
# otherwise only on autosave; `autosave_on_changes` makes the interval a count of
# changes (queued message, retained message, subscription). Each save rewrites the
# whole file and fsyncs it, stalling the broker: saving after every change capped a
# hall at ~500 durable requests/s, after 100 changes ~1,400/s. Nothing acknowledged
# depends on this file: the server's SQLite is the truth and republishes all state at
# connect, and clients retry unanswered requests under the same id until answered
# (the kiosk from a durable outbox), so a crash costs only a retry. Provision with
# --autosave-changes 1 to keep even the broker's queue through a crash.
persistence true
persistence_location {out / DATA_NAME}
persistence_file mosquitto.db
autosave_on_changes true
autosave_interval {autosave_changes}

# Log to stderr: the service manager (or the test fixture) keeps it. Not
# `information`: with the autosave above it logs a line for every saved change.
# Connections, refusals and errors are notices or worse.
log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S

# Further config (the online bridge) lives in its own files, kept across re-runs.
include_dir {out / INCLUDE_NAME}
"""


# --------------------------------------------------------------------------- writing


def _broker_ids(broker_user: str) -> tuple[int, int]:
    try:
        user = pwd.getpwnam(broker_user)
    except KeyError:
        raise ProvisioningError(
            f"user {broker_user!r} does not exist; Mosquitto started as root drops to it "
            f"(install mosquitto, or pass --broker-user)"
        ) from None
    return user.pw_uid, user.pw_gid


def _write(path: Path, text: str, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Replace `path` atomically, with `mode` (and owner) set before it appears."""
    write_atomic(path, text.encode("utf-8"), mode=mode, owner=owner)


def read_credentials(path: Path) -> dict[str, str]:
    """Existing passwords; {} when the file does not exist yet."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ProvisioningError(f"cannot read {path}: {e.strerror}") from None
    except ValueError:
        # Never silently start over: new passwords would lock every device out.
        raise ProvisioningError(
            f"{path} is not valid JSON; fix or remove it (removing gives every device "
            f"a new password)"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ProvisioningError(f"{path} must be a JSON object of device name to password")
    return data


def _untraversable(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory on the way to `path` that user uid/gid cannot enter."""
    for d in [*reversed(path.parents), path]:
        try:
            st = d.stat()
        except OSError:
            return d
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return d
    return None


def provision_hall(
    hall: Hall,
    out: str | Path,
    listen: BrokerAddress,
    *,
    broker_user: str = DEFAULT_BROKER_USER,
    bind_client_ids: bool = True,
    autosave_changes: int = DEFAULT_AUTOSAVE_CHANGES,
    tls: TlsListener | None = None,
) -> BrokerFiles:
    """Write the broker files for `hall` into `out` (created if missing).

    bind_client_ids=False lets clients choose their client id (tests only);
    autosave_changes is how many changes Mosquitto saves its database after.
    """
    if autosave_changes < 1:
        raise ProvisioningError(f"autosave changes must be 1 or more, got {autosave_changes}")
    out = Path(out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ProvisioningError(f"cannot create {out}: {e.strerror}") from None

    as_root = os.geteuid() == 0
    broker_ids = _broker_ids(broker_user) if as_root else None
    # Readable by the broker's group only; root keeps ownership so the broker
    # cannot rewrite its own access rules.
    shared_owner = (0, broker_ids[1]) if broker_ids else None

    devices = hall_devices(hall)
    credentials_path = out / CREDENTIALS_NAME
    old = read_credentials(credentials_path)
    passwords = {d: old.get(d) or new_password() for d in devices}
    added = tuple(d for d in devices if d not in old)
    removed = tuple(sorted(d for d in old if d not in passwords))

    data_dir = out / DATA_NAME
    try:
        data_dir.mkdir(mode=0o700, exist_ok=True)
        (out / INCLUDE_NAME).mkdir(mode=0o755, exist_ok=True)
        if broker_ids:
            os.chown(data_dir, *broker_ids)
            for f in data_dir.iterdir():
                os.chown(f, *broker_ids)
        os.chmod(data_dir, 0o700)
        # Credentials first: if anything below fails, the passwords that the
        # other files will be written from are already kept.
        _write(credentials_path, json.dumps(passwords, indent=2) + "\n", 0o600)
        _write(out / PASSWD_NAME, render_passwd(passwords), 0o640, shared_owner)
        _write(out / ACL_NAME, render_acl(hall), 0o640, shared_owner)
        conf = render_conf(hall, out, listen, broker_user, bind_client_ids, autosave_changes,
                           tls)
        _write(out / CONF_NAME, conf, 0o640, shared_owner)
    except OSError as e:
        raise ProvisioningError(f"cannot write into {out}: {e.strerror}") from None

    warnings: list[str] = []
    if broker_ids:
        blocked = _untraversable(out, *broker_ids)
        if blocked is not None:
            warnings.append(
                f"user {broker_user!r} cannot enter {blocked}: Mosquitto started as root "
                f"drops to that user and will fail to open {out / PASSWD_NAME}; provision "
                f"into a directory it can reach"
            )
    return BrokerFiles(out, listen, devices, added, removed, tuple(warnings))
