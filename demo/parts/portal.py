"""The online side in the demo: a central broker, the hall bridged to it, and the portal.

Starts first (the hall's broker restarts once to take the bridge, before anything else
connects), then prints the portal's address: open it in a browser to watch the scripted
morning's figures change, look up a ticket or book. QMS_PORTAL_PORT picks the port."""

from __future__ import annotations

import os
import shutil
import socket
import time

from demo.parts import DemoContext
from provisioning.bridge import provision_bridge
from queue_server.mqttlink import BrokerAddress
from tests.support.broker import free_port

ORDER = 5


def _listening(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def start(ctx: DemoContext) -> None:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    central_dir = ctx.run_dir / "central"
    central_dir.mkdir(exist_ok=True)
    os.chmod(ctx.run_dir, 0o755)
    os.chmod(central_dir, 0o755)
    central = BrokerAddress("127.0.0.1", free_port())
    provision_bridge(ctx.hall.id, central_dir, central, hall_dir=ctx.broker.dir, retry_s=1)
    ctx.spawn("central-broker", [mosquitto, "-c", str(central_dir / "mosquitto.conf")])
    if not _listening(central.port):
        ctx.say(f"portal: the central broker did not start (log in {ctx.run_dir})")
        return
    ctx.broker.restart()  # Mosquitto reads its bridges only at start
    port = int(os.environ.get("QMS_PORTAL_PORT") or free_port())
    ctx.spawn("portal", ["-m", "portal", "--central", str(central), "--user", "portal-1",
                         "--credentials", str(central_dir / "credentials.json"),
                         "--halls", str(ctx.hall_path), "--listen",
                         f"127.0.0.1:{port}"])
    if _listening(port):
        ctx.say(f"portal: http://127.0.0.1:{port}/h/{ctx.hall.id} (live figures), "
                f"/book, /api/docs; central broker {central}")
    else:
        ctx.say(f"portal: did not start (log in {ctx.run_dir}/portal.log)")
