"""The whole online path for browser tests: the hall's broker and queue server, the
bridge, a central broker and the portal on uvicorn, up and tidied away in order."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from portal.app import Portal, create_app
from portal.feed import Feed
from portal.model import Directory
from provisioning.bridge import provision_bridge
from queue_server.config import load_hall
from queue_server.mqttlink import BrokerAddress
from tests.provisioning.test_bridge import Central
from tests.support.broker import DEMO_HALL, Broker, free_port
from tests.support.server import in_process


def _wait(ready: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def online_hall(tmp_path: Path, notifier: Any = None) -> Iterator[tuple[Broker, str]]:
    """(the hall's broker, the portal's base URL), once the portal has the hall's figures."""
    cdir = Path(tempfile.mkdtemp(prefix="qms-central-"))
    os.chmod(cdir, 0o755)
    hall = Broker.start()
    central_addr = BrokerAddress("127.0.0.1", free_port())
    provision_bridge("demo", cdir, central_addr, hall_dir=hall.dir, retry_s=1)
    central = Central(cdir / "mosquitto.conf")
    central.start(central_addr.port)
    hall.restart()
    server = in_process(hall, tmp_path / "data")
    creds = json.loads((cdir / "credentials.json").read_text())
    directory = Directory()
    holder: list[Portal] = []
    feed = Feed(directory, central_addr, "portal-1", creds["portal-1"],
                on_change=lambda h: holder[0].hub.changed(h))
    options = {"notifier": notifier} if notifier is not None else {}
    portal = Portal(directory, feed, {"demo": load_hall(DEMO_HALL)}, sse_interval_s=0.3,
                    **options)
    holder.append(portal)
    feed.start()
    port = free_port()
    web = uvicorn.Server(uvicorn.Config(create_app(portal), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    _wait(lambda: _listening(port))
    _wait(lambda: directory.get("demo") is not None)
    try:
        yield hall, f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(5)
        feed.stop()
        server.stop()
        central.kill()
        hall.close()
        shutil.rmtree(cdir, ignore_errors=True)
