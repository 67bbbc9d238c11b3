"""`python -m provisioning rotate`: a new password for one device locks the old one out."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from provisioning.broker import ProvisioningError, verify_password
from provisioning.rotate import kick, rotate_device
from tests.support.broker import REPO, Broker, ConnectRefused, close_client


def passwd_line(broker: Broker, device: str) -> str:
    for line in (broker.dir / "passwd").read_text().splitlines():
        if line.startswith(f"{device}:"):
            return line.split(":", 1)[1]
    raise AssertionError(f"{device} not in passwd")


def wait_until(cond, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_rotate_cli_locks_the_old_password_out(broker: Broker) -> None:
    old = broker.password("kiosk-1")
    others = {d: broker.password(d) for d in ("server", "kiosk-2", "counter-1")}
    connected = broker.connect("kiosk-1")  # a device (or a thief) online with the old password
    assert connected.is_connected()

    run = subprocess.run(
        [sys.executable, "-m", "provisioning", "rotate", "kiosk-1", "--broker-dir",
         str(broker.dir), "--broker", broker.address,
         "--broker-pid", str(broker._proc.pid)],  # type: ignore[union-attr]
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "old password no longer works" in run.stderr
    assert "devices/kiosk-1.json" in run.stderr and "/etc/qms/credentials.json" in run.stderr

    new = broker.password("kiosk-1")
    assert new != old and verify_password(new, passwd_line(broker, "kiosk-1"))
    device_file = broker.dir / "devices" / "kiosk-1.json"
    assert json.loads(device_file.read_text()) == {"kiosk-1": new}
    assert stat.S_IMODE(os.stat(device_file).st_mode) == 0o600
    assert {d: broker.password(d) for d in others} == others  # nobody else changed

    # The open connection was thrown out and cannot come back with the old password.
    assert wait_until(lambda: not connected.is_connected())
    time.sleep(0.5)  # it keeps retrying every 50 ms
    assert not connected.is_connected()
    close_client(connected)
    with pytest.raises(ConnectRefused):
        broker.connect("kiosk-1", password=old)
    fresh = broker.connect("kiosk-1", password=new)
    assert fresh.is_connected()
    broker.connect("kiosk-2")  # others still log in


def test_kick_keeps_what_was_queued_for_the_device(broker: Broker) -> None:
    """Taking the session over acknowledges nothing: queued replies wait for the device."""
    away = broker.collector("kiosk-2", "qms/demo/reply/kiosk-2/#", clean_start=False,
                            session_expiry_s=3600)
    close_client(away.client)
    server = broker.collector("server")
    server.publish("qms/demo/reply/kiosk-2", {"id": "r1", "ok": True})

    done = rotate_device(broker.dir, "kiosk-2")
    broker.reload()
    new = json.loads(done.device_file.read_text())["kiosk-2"]
    kick(broker.broker_address, "kiosk-2", new)

    back = broker.collector("kiosk-2", password=new, clean_start=False, session_expiry_s=3600)
    msg = back.wait_for("qms/demo/reply/kiosk-2")
    assert msg.json() == {"id": "r1", "ok": True}


def test_rotate_refuses_unknown_devices_and_updates_a_local_file(broker: Broker,
                                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProvisioningError, match="no device 'kiosk-9'"):
        rotate_device(broker.dir, "kiosk-9")
    with pytest.raises(ProvisioningError, match="not found"):
        rotate_device(tmp_path, "kiosk-1")
    local = tmp_path / "credentials.json"
    local.write_text(json.dumps({"server": broker.password("server")}))
    done = rotate_device(broker.dir, "server", device_credentials=local)
    assert done.device_file == local
    assert json.loads(local.read_text()) == {"server": broker.password("server")}
    assert stat.S_IMODE(os.stat(local).st_mode) == 0o600
