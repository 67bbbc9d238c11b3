"""Hall CA + broker certificate, a real Mosquitto with the TLS listener, clients that verify it."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509

from provisioning.broker import TlsListener, provision_hall
from provisioning.tls import TlsSettings, cert_hosts, load_cert, provision_tls
from queue_server.config import ConfigError, load_hall, parse_hall
from queue_server.mqttlink import BrokerAddress, CredentialsError, make_client, reason_ok
from queue_server.mqttlink import connect as mqtt_connect
from tests.support.broker import DEMO_HALL, REPO, Broker, Collector, close_client, free_port

NOT_AUTHORIZED = 0x87


@pytest.fixture
def tls_broker() -> Iterator[tuple[Broker, BrokerAddress]]:
    """The demo hall's broker with a TLS listener on 127.0.0.1 next to the plain one."""
    hall = load_hall(DEMO_HALL)
    broker = Broker.start(DEMO_HALL)
    try:
        files = provision_tls(hall, broker.dir / "tls", ["127.0.0.1", "qms-server"])
        tls_port = free_port()
        provision_hall(hall, broker.dir, broker.broker_address,
                       tls=TlsListener(BrokerAddress("127.0.0.1", tls_port), files.cert,
                                       files.key))
        broker.restart()
        address = BrokerAddress("127.0.0.1", tls_port, tls=True, ca_file=str(files.ca_cert))
        yield broker, address
    finally:
        broker.close()


def tls_connect(address: BrokerAddress, device: str, password: str,
                timeout: float = 5.0) -> tuple[mqtt.Client, Collector]:
    """Connect over TLS through mqttlink (as every hall program does); raise on refusal."""
    client = make_client("demo", device, password, will=False)
    client.reconnect_delay_set(0.05, 0.2)
    col = Collector(client)
    result: dict[str, object] = {}
    done = threading.Event()
    on_connect = client.on_connect

    def first(c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
        result.setdefault("rc", rc)
        done.set()
        on_connect(c, u, f, rc, p)  # type: ignore[misc]

    client.on_connect = first
    deadline = time.monotonic() + timeout
    while True:  # the TLS listener may still be coming up after the restart
        try:
            mqtt_connect(client, address, blocking=True)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    client.loop_start()
    if not done.wait(timeout):
        close_client(client)
        raise TimeoutError("no CONNACK")
    if not reason_ok(result["rc"]):
        close_client(client)
        raise ConnectionError(f"refused: {result['rc']}")
    return client, col


def test_ca_and_broker_certificate(tmp_path: Path) -> None:
    hall = load_hall(DEMO_HALL)
    files = provision_tls(hall, tmp_path / "tls", ["qms-server", "192.168.10.2"])
    assert files.issued
    ca, cert = load_cert(files.ca_cert), load_cert(files.cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    assert set(cert_hosts(cert)) == {"qms-server", "192.168.10.2"}
    assert cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=4 * 365)
    assert stat.S_IMODE(os.stat(tmp_path / "tls" / "ca.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o640
    ctx = ssl.create_default_context(cafile=str(files.ca_cert))  # a client loads the CA
    assert ctx.cert_store_stats()["x509_ca"] == 1

    # Re-running keeps the CA and the certificate; new names give a new certificate
    # from the same CA (the devices keep trusting it).
    again = provision_tls(hall, tmp_path / "tls", ["192.168.10.2", "qms-server"])
    assert not again.issued and load_cert(files.cert) == cert
    more = provision_tls(hall, tmp_path / "tls", ["qms-server", "192.168.10.2", "10.0.0.2"])
    assert more.issued and load_cert(files.ca_cert) == ca
    assert load_cert(files.cert).issuer == ca.subject


def test_tls_settings_from_hall_config(tmp_path: Path) -> None:
    import tomllib

    raw = tomllib.loads(DEMO_HALL.read_text("utf-8"))
    assert TlsSettings.from_hall(parse_hall(raw, tmp_path / "h.toml")) is None
    raw["tls"] = {"hosts": ["qms-server", "192.168.10.2"]}
    s = TlsSettings.from_hall(parse_hall(raw, tmp_path / "h.toml"))
    assert s is not None and s.port == 8883 and s.broker_url == "mqtts://qms-server:8883"
    assert BrokerAddress.parse(s.broker_url) == BrokerAddress("qms-server", 8883, tls=True)
    raw["tls"] = {"hosts": []}
    with pytest.raises(ConfigError, match=r"h.toml: tls.hosts: name at least one"):
        TlsSettings.from_hall(parse_hall(raw, tmp_path / "h.toml"))


def test_broker_over_tls_enforces_logins_and_the_acl(
    tls_broker: tuple[Broker, BrokerAddress],
) -> None:
    broker, address = tls_broker
    conf = (broker.dir / "mosquitto.conf").read_text()
    assert f"listener {address.port} 127.0.0.1\ncertfile" in conf

    kiosk, kcol = tls_connect(address, "kiosk-1", broker.password("kiosk-1"))
    server, scol = tls_connect(address, "server", broker.password("server"))
    try:
        assert isinstance(kiosk.socket(), ssl.SSLSocket)
        scol.subscribe_ok("qms/demo/cmd/#")
        kcol.subscribe_ok("qms/demo/reply/kiosk-2/#", "qms/demo/reply/kiosk-1/#")
        assert reason_ok(kcol.publish("qms/demo/cmd/kiosk-1/issue", {"id": "r1"}))
        scol.wait_for("qms/demo/cmd/kiosk-1/issue")
        # Another kiosk's requests and replies are out of reach, over TLS as over plain TCP.
        assert kcol.publish("qms/demo/cmd/kiosk-2/issue", {"id": "r2"}).value == NOT_AUTHORIZED
        assert kcol.publish("qms/demo/state/service/A", {"x": 1}).value == NOT_AUTHORIZED
        scol.publish("qms/demo/reply/kiosk-2", {"id": "r2"})
        scol.publish("qms/demo/reply/kiosk-1", {"id": "r1"})
        kcol.wait_for("qms/demo/reply/kiosk-1")
        kcol.assert_nothing("qms/demo/reply/kiosk-2")
    finally:
        close_client(kiosk)
        close_client(server)

    with pytest.raises(ConnectionError, match="refused"):
        tls_connect(address, "kiosk-1", "not-the-password")


def test_clients_verify_the_broker_certificate(
    tls_broker: tuple[Broker, BrokerAddress], tmp_path: Path,
) -> None:
    broker, address = tls_broker
    # A certificate from another CA (an impostor on the LAN) is refused.
    other = provision_tls(load_hall(DEMO_HALL), tmp_path / "other", ["127.0.0.1"])
    impostor = BrokerAddress(address.host, address.port, tls=True, ca_file=str(other.ca_cert))
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        tls_connect(impostor, "kiosk-1", broker.password("kiosk-1"))
    # The certificate must name the host dialled: it names 127.0.0.1, not ::1 / localhost.
    wrong_name = BrokerAddress("localhost", address.port, tls=True, ca_file=address.ca_file)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        tls_connect(wrong_name, "kiosk-1", broker.password("kiosk-1"))
    # A missing CA file is a clear error, not a silent unverified connection.
    missing = BrokerAddress(address.host, address.port, tls=True, ca_file="/nonexistent/ca.crt")
    with pytest.raises(CredentialsError, match=r"hall CA certificate \S+ca.crt not found"):
        tls_connect(missing, "kiosk-1", broker.password("kiosk-1"))
    # Plain loopback stays as it was.
    plain = broker.collector("kiosk-2")
    assert plain.connections == 1


def test_cli_tls(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    run = subprocess.run([sys.executable, "-m", "provisioning", "tls", "--config",
                          str(DEMO_HALL), "--out", str(out), "--host", "qms-server"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert (out / "ca.crt").exists() and "qms-server" in run.stderr
    assert "/etc/qms/tls/ca.crt" in run.stderr  # where to copy the CA
    bad = subprocess.run([sys.executable, "-m", "provisioning", "tls", "--config",
                          str(DEMO_HALL), "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "give at least one host" in bad.stderr


def test_broker_address_forms() -> None:
    assert BrokerAddress.parse("10.0.0.2:1883") == BrokerAddress("10.0.0.2", 1883)
    tls = BrokerAddress.parse("mqtts://qms-server")
    assert (tls.host, tls.port, tls.tls, tls.ca_file) == ("qms-server", 8883, True,
                                                          "/etc/qms/tls/ca.crt")
    custom = BrokerAddress.parse("mqtts://10.0.0.2:9883?ca=/tmp/ca.crt")
    assert (custom.port, custom.ca_file) == (9883, "/tmp/ca.crt")
    for addr in (tls, custom, BrokerAddress("h", 1)):
        assert BrokerAddress.parse(str(addr)) == addr  # what install writes, the apps read
    for bad in ("http://x", "mqtt://x?ca=/c", "mqtts://x?cert=/c", "mqtts://x:0"):
        with pytest.raises(ValueError):
            BrokerAddress.parse(bad)
