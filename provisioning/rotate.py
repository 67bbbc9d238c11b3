"""A new password for one device: `python -m provisioning rotate DEVICE`.

On the server, in the broker's directory (where `install --role server` put it):
credentials.json and passwd get the new password, the broker rereads passwd
(SIGHUP), and a connection still open with the old password is thrown out: we
connect once as the device with the new one, which takes over its session (the
broker binds the client id to the user, one connection per device), and leave.
The device's next try with the old password is refused.

The device needs its new credentials file: rotate writes DIR/devices/<device>.json
(0600) to carry over, or updates a local file in place (--device-credentials, e.g.
the server's own /etc/qms/credentials.json).
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from provisioning.broker import (
    CREDENTIALS_NAME,
    DEFAULT_BROKER_USER,
    PASSWD_NAME,
    SERVER_DEVICE,
    ProvisioningError,
    _write,
    new_password,
    read_credentials,
    render_passwd,
)
from queue_server.mqttlink import SESSION_EXPIRY_S, BrokerAddress, make_client, reason_ok
from queue_server.mqttlink import connect as mqtt_connect

DEVICES_DIR = "devices"
BROKER_UNIT = "qms-broker.service"


@dataclass(frozen=True)
class Rotated:
    device: str
    device_file: Path  # the device's new credentials file


def write_device_credentials(path: Path, device: str, password: str,
                             owner: tuple[int, int] | None = None) -> None:
    """A credentials file with one device, mode 0600 (owned by `owner` when given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, json.dumps({device: password}, indent=2) + "\n", 0o600, owner)


def rotate_device(broker_dir: str | Path, device: str, *,
                  device_credentials: str | Path | None = None,
                  broker_user: str = DEFAULT_BROKER_USER,
                  password: str | None = None) -> Rotated:
    """New password for `device` in the broker's files and the device's credentials file.

    The broker still accepts the old one until it rereads passwd (reload_broker).
    """
    d = Path(broker_dir)
    creds_path = d / CREDENTIALS_NAME
    if not creds_path.exists():
        raise ProvisioningError(f"{creds_path} not found: is {d} the broker's directory "
                                f"(see `python -m provisioning hall --out`)?")
    passwords = read_credentials(creds_path)
    if device not in passwords:
        raise ProvisioningError(f"no device {device!r} in {creds_path} (devices: "
                                f"{', '.join(sorted(passwords))})")
    passwords[device] = password or new_password()
    shared_owner = None
    if os.geteuid() == 0:
        try:
            shared_owner = (0, pwd.getpwnam(broker_user).pw_gid)
        except KeyError:
            raise ProvisioningError(f"user {broker_user!r} does not exist") from None
    target = Path(device_credentials) if device_credentials else d / DEVICES_DIR / f"{device}.json"
    try:
        # Same order as provisioning: the kept passwords first, then what is made from them.
        _write(creds_path, json.dumps(passwords, indent=2) + "\n", 0o600)
        _write(d / PASSWD_NAME, render_passwd(passwords), 0o640, shared_owner)
        owner = None
        if target.exists() and os.geteuid() == 0:
            st = target.stat()
            owner = (st.st_uid, st.st_gid)  # the service user that reads it keeps it
        write_device_credentials(target, device, passwords[device], owner)
    except OSError as e:
        raise ProvisioningError(f"cannot write the new password: {e.strerror}") from None
    return Rotated(device, target)


def reload_broker(pid: int | None = None) -> str:
    """Make Mosquitto reread passwd and acl: SIGHUP to `pid`, else `systemctl reload`."""
    if pid is not None:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            raise ProvisioningError(f"no broker process {pid}") from None
        return f"sent SIGHUP to the broker (pid {pid})"
    try:
        run = subprocess.run(["systemctl", "reload", BROKER_UNIT], capture_output=True,
                             text=True, timeout=30)
    except FileNotFoundError:
        raise ProvisioningError("systemctl not found; send SIGHUP to mosquitto yourself "
                                "(or pass --broker-pid)") from None
    if run.returncode != 0:
        raise ProvisioningError(f"systemctl reload {BROKER_UNIT} failed: "
                                f"{run.stderr.strip() or run.returncode}; the broker still "
                                f"takes the old password until it rereads passwd")
    return f"reloaded {BROKER_UNIT}"


def kick(broker: BrokerAddress, device: str, password: str, timeout: float = 5.0) -> None:
    """Throw out a connection still open as `device` by taking its session over.

    Resumes the session (clean start off, the same long expiry) and acknowledges
    nothing: whatever was queued for the device stays queued for it.
    """
    if device == SERVER_DEVICE:
        # The server's session holds every request in flight; never touch it. It is
        # restarted with its new credentials instead.
        return
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        client = make_client("", device, password, clean_start=False,
                             session_expiry_s=SESSION_EXPIRY_S, will=False, manual_ack=True)
        got = threading.Event()
        result: list[object] = []

        def on_connect(c: object, u: object, f: object, rc: object, p: object,
                       result: list[object] = result, got: threading.Event = got) -> None:
            result.append(rc)
            got.set()

        client.on_connect = on_connect
        try:
            mqtt_connect(client, broker, blocking=True)
            client.loop_start()
            got.wait(max(0.1, deadline - time.monotonic()))
        except OSError as e:
            last = str(e)
        finally:
            client.disconnect()
            client.loop_stop()
        if result and reason_ok(result[0]):
            return
        if result:
            last = str(result[0])
        # Mosquitto rereads passwd asynchronously after SIGHUP: try again shortly.
        time.sleep(0.1)
    raise ProvisioningError(f"could not log in as {device} with the new password ({last}); "
                            f"did the broker reread its passwd?")
