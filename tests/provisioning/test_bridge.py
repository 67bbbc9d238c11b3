"""`python -m provisioning bridge` with two real Mosquitto brokers on loopback: the hall's
and a central one over TLS; the WAN (the central broker) is killed and comes back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from provisioning.__main__ import main as provisioning_main
from provisioning.bridge import provision_bridge
from queue_server.client import RequestClient
from queue_server.mqttlink import BrokerAddress, connect, make_client, reason_ok
from tests.support.broker import Broker, free_port
from tests.support.server import in_process

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def make_certs(d: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (EC keys: quick to make)."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=qms test CA", "-days", "2",
        "-out", "ca.crt")
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key")
    run("req", "-new", "-key", "server.key", "-subj", "/CN=127.0.0.1", "-out", "server.csr")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.crt")
    for f in d.iterdir():
        os.chmod(f, 0o644)  # Mosquitto started as root reads them as `mosquitto`
    return d / "ca.crt", d / "server.crt", d / "server.key"


class Central:
    """The central broker as a subprocess, killable and restartable."""

    def __init__(self, conf: Path) -> None:
        self.conf = conf
        self.log = conf.parent / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.conf.parent)
        deadline = time.monotonic() + 10
        import socket
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"central mosquitto exited: {self.log.read_text()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.02)
        raise TimeoutError("central broker did not listen")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None


class Watcher:
    """A portal process on the central broker: watches snapshots, sends requests."""

    def __init__(self, address: BrokerAddress, user: str, password: str) -> None:
        self.messages: dict[str, Any] = {}
        self.cond = threading.Condition()
        self.client = make_client("demo", user, password, will=False)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        connect(self.client, address)
        self.client.loop_start()

    def _on_connect(self, c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any = None) -> None:
        if reason_ok(rc):
            c.subscribe([("qms/+/public/#", 1), ("qms/+/reply/portal/#", 1),
                         ("qms/+/status/bridge", 1)])

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages[msg.topic] = msg.payload
            self.cond.notify_all()

    def wait(self, topic: str, pred: Any = lambda p: True, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                p = self.messages.get(topic)
                if p is not None and pred(p):
                    return p
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{topic}: last {p!r}")
                self.cond.wait(left)

    def request(self, op: str, payload: dict[str, Any], reply: str) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = reply
        self.client.publish(f"qms/demo/cmd/portal/{op}", json.dumps(payload), 1,
                            properties=props)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def two_brokers(tmp_path: Path) -> Iterator[tuple[Broker, Central, Watcher, BrokerAddress]]:
    cdir = Path(tempfile.mkdtemp(prefix="qms-central-"))
    os.chmod(cdir, 0o755)
    certs = cdir / "certs"
    certs.mkdir()
    os.chmod(certs, 0o755)
    ca, cert, key = make_certs(certs)
    hall = Broker.start()
    tls_port, plain_port = free_port(), free_port()
    central_addr = BrokerAddress("127.0.0.1", tls_port)
    portal_addr = BrokerAddress("127.0.0.1", plain_port)
    rc = provisioning_main([
        "bridge", "--config", str(hall.hall.path), "--central", str(central_addr),
        "--central-dir", str(cdir), "--hall-dir", str(hall.dir),
        "--portal-listen", str(portal_addr), "--cafile", str(ca), "--certfile", str(cert),
        "--keyfile", str(key), "--retry-s", "1"])
    assert rc == 0
    central = Central(cdir / "mosquitto.conf")
    central.start(plain_port)
    hall.restart()  # Mosquitto reads bridges only at start
    server = in_process(hall, tmp_path / "data")
    creds = json.loads((cdir / "credentials.json").read_text())
    watcher = Watcher(portal_addr, "portal-1", creds["portal-1"])
    try:
        yield hall, central, watcher, portal_addr
    finally:
        watcher.close()
        server.stop()
        central.kill()
        hall.close()
        shutil.rmtree(cdir, ignore_errors=True)


def waiting_a(payload: bytes) -> int:
    snap = json.loads(payload)
    return next(s["waiting"] for s in snap["services"] if s["service"] == "A")


def test_snapshot_requests_and_replies_cross_and_survive_a_wan_cut(two_brokers: Any) -> None:
    hall, central, watcher, portal_addr = two_brokers
    snap = watcher.wait("qms/demo/public/wait")
    assert json.loads(snap)["hall"] == "demo"
    watcher.wait("qms/demo/status/bridge", lambda p: p == b"1")

    with RequestClient("demo", "kiosk-1", hall.password("kiosk-1"),
                       hall.broker_address) as kiosk:
        ticket = kiosk.request("issue", {"service": "A", "source": "walk_in"})["ticket"]
        before = waiting_a(watcher.wait("qms/demo/public/wait",
                                        lambda p: waiting_a(p) >= 1))

        # A portal lookup crosses in, its reply (to the portal's own reply topic) out.
        watcher.request("lookup", {"id": "r1", "code": ticket["code"]},
                        "qms/demo/reply/portal/p1")
        reply = json.loads(watcher.wait("qms/demo/reply/portal/p1"))
        assert reply["ok"] and reply["ticket"]["number"] == ticket["number"]

        # The WAN goes: the hall works as before.
        central.kill()
        for _ in range(3):
            assert kiosk.request("issue", {"service": "A", "source": "walk_in"},
                                 timeout=5)["ok"]
        # The WAN comes back: the central view is current within seconds.
        t0 = time.monotonic()
        central.start(portal_addr.port)
        watcher.wait("qms/demo/public/wait", lambda p: waiting_a(p) == before + 3,
                     timeout=15)
        took = time.monotonic() - t0
        print(f"central view current {took:.1f} s after the central broker restarted")
        assert took < 15
        watcher.wait("qms/demo/status/bridge", lambda p: p == b"1")


def test_central_acl_keeps_halls_apart(two_brokers: Any, tmp_path: Path) -> None:
    central = two_brokers[1]
    cdir = central.conf.parent
    acl = (cdir / "acl").read_text()
    assert "user bridge-demo\ntopic write qms/demo/public/#" in acl
    assert "topic read qms/demo/cmd/portal/#" in acl
    # A second hall joins: the first keeps its password, the second gets its own.
    before = json.loads((cdir / "credentials.json").read_text())
    files = provision_bridge("township", cdir, BrokerAddress("127.0.0.1", 1))
    after = json.loads((cdir / "credentials.json").read_text())
    assert after["bridge-demo"] == before["bridge-demo"]
    assert "bridge-township" in after and files.halls == ("demo", "township")
    assert "topic write qms/+/" not in (cdir / "acl").read_text().split("user bridge-")[1]
    assert "user bridge-township\ntopic write qms/township/public/#" in \
        (cdir / "acl").read_text()
