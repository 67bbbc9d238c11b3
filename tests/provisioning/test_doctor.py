"""`python -m provisioning doctor` against a real broker and server, with the ID card reader
and printer simulators on ptys standing in for a kiosk's devices."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devices.idcard.sim import ReaderSimulator, load_cards
from devices.printer.sim import PrinterSimulator
from provisioning.doctor import Check, Level, Target, render, run
from queue_server.config import load_hall
from queue_server.mqtt import QueueServer
from tests.support.broker import DEMO_HALL, REPO, Broker
from tests.support.server import in_process

CARDS = REPO / "assets" / "samples" / "idcards.json"


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[ReaderSimulator]:
    with ReaderSimulator(str(tmp_path / "idcard")) as sim:
        yield sim


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path / "printer") as sim:
        yield sim


@pytest.fixture
def hall_path(tmp_path: Path, reader: ReaderSimulator, printer: PrinterSimulator) -> Path:
    """The demo hall with kiosk-1's reader and printer on the simulators' ptys."""
    text = DEMO_HALL.read_text("utf-8")
    old = ('id = "kiosk-1"\nidcard_port = "/dev/qms-idcard"\nscanner_port = "/dev/qms-scanner"\n'
           'printer = "serial:/dev/qms-printer"\n')
    assert old in text
    new = (f'id = "kiosk-1"\nidcard_port = "{reader.path}"\nprinter = "serial:{printer.path}"\n'
           f'printer_status_timeout_s = 0.3\n')
    p = tmp_path / "hall.toml"
    p.write_text(text.replace(old, new), "utf-8")
    return p


@pytest.fixture
def server(broker: Broker, tmp_path: Path, hall_path: Path) -> Iterator[QueueServer]:
    s = in_process(broker, tmp_path / "server", hall_path)
    yield s
    s.stop()


@pytest.fixture
def kiosk(broker: Broker, tmp_path: Path, hall_path: Path) -> Target:
    creds = tmp_path / "kiosk-credentials.json"
    creds.write_text(json.dumps({"kiosk-1": broker.password("kiosk-1")}))
    creds.chmod(0o600)
    return Target(load_hall(hall_path), "kiosk-1", broker.broker_address, creds,
                  data=tmp_path / "kiosk-data")


def by_text(checks: list[Check], en: str) -> Check:
    found = [c for c in checks if en in c.en]
    assert len(found) == 1, (en, render(checks))
    return found[0]


def test_healthy_kiosk(server: QueueServer, kiosk: Target) -> None:
    checks = list(run(kiosk, services=False))
    text = render(checks)
    assert not any(c.failed for c in checks), text
    assert by_text(checks, "logged in as kiosk-1").level is Level.OK
    assert by_text(checks, "queue server is online").level is Level.OK
    assert by_text(checks, "clock agrees").level is Level.OK
    assert by_text(checks, "writable").level is Level.OK
    assert by_text(checks, "no card on it").level is Level.OK
    assert by_text(checks, "online with paper").level is Level.OK
    assert by_text(checks, "Chinese fonts").level is Level.OK
    assert "✓ 打印机正常，有纸 / printer serial:" in text
    assert text.endswith("全部正常。 / Everything checked is fine.")


def test_card_on_the_reader_and_paper_out(server: QueueServer, kiosk: Target,
                                          reader: ReaderSimulator,
                                          printer: PrinterSimulator) -> None:
    reader.present(load_cards(str(CARDS))[0])
    printer.set_paper("out")
    checks = list(run(kiosk, services=False))
    card = by_text(checks, "read a card")
    assert card.level is Level.OK and "张三" not in render(checks)  # no personal data
    paper = by_text(checks, "out of paper")
    assert paper.failed and paper.zh == "打印机缺纸" and "纸卷" in paper.fix_zh
    printer.set_paper("near_end")
    assert by_text(list(run(kiosk, services=False)), "nearly used up").level is Level.WARN


def test_missing_and_silent_printer_and_reader(server: QueueServer, kiosk: Target,
                                               reader: ReaderSimulator,
                                               printer: PrinterSimulator) -> None:
    printer.set_responding(False)
    reader.unplug()
    checks = list(run(kiosk, services=False))
    assert by_text(checks, "did not answer a status query").failed
    assert by_text(checks, "ID card reader not found").failed
    printer.stop()  # unplugged: its port is gone
    checks = list(run(kiosk, services=False))
    missing = by_text(checks, "no printer at serial:")
    assert missing.failed and missing.zh.startswith("找不到打印机")
    assert "USB" in missing.fix_zh and "USB" in missing.fix_en


def test_server_offline_wrong_password_and_skewed_clock(broker: Broker, kiosk: Target,
                                                        tmp_path: Path, hall_path: Path) -> None:
    # No server has ever run: no status, no state to compare clocks with.
    checks = list(run(kiosk, services=False))
    assert by_text(checks, "queue server is not known").failed
    assert by_text(checks, "clock not compared").level is Level.SKIP

    s = in_process(broker, tmp_path / "server", hall_path)
    s.stop()  # said `offline` on its way out; state stays retained
    tz = kiosk.hall.tz
    ahead = list(run(kiosk, services=False, now=lambda: datetime.now(tz) + timedelta(minutes=5)))
    assert by_text(ahead, "queue server is offline").failed
    assert by_text(ahead, "ahead of the server").failed
    behind = list(run(kiosk, services=False, now=lambda: datetime.now(tz) - timedelta(minutes=5)))
    skew = by_text(behind, "behind the server")
    assert skew.failed and "慢" in skew.zh

    creds = tmp_path / "wrong.json"
    creds.write_text(json.dumps({"kiosk-1": "not-it"}))
    creds.chmod(0o644)
    wrong = list(run(replace(kiosk, credentials=creds), services=False))
    assert by_text(wrong, "readable by others").failed
    refused = by_text(wrong, "the broker refused kiosk-1")
    assert refused.failed and "rotate" in refused.fix_en


def test_unwritable_data_dir(server: QueueServer, kiosk: Target, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    checks = list(run(replace(kiosk, data=blocker / "data"), services=False))
    assert by_text(checks, "is not writable").failed


def test_cli_exit_status_and_plain_text(server: QueueServer, broker: Broker, kiosk: Target,
                                        hall_path: Path, printer: PrinterSimulator) -> None:
    def doctor() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "provisioning", "doctor", "--config", str(hall_path),
             "--device", "kiosk-1", "--broker", broker.address, "--credentials",
             str(kiosk.credentials), "--data", str(kiosk.data), "--env", "/nonexistent",
             "--no-services"], cwd=REPO, capture_output=True, text=True, timeout=120)

    good = doctor()
    assert good.returncode == 0, good.stdout + good.stderr
    assert "✓ 消息服务器可连接" in good.stdout and "✗" not in good.stdout
    printer.set_paper("out")
    bad = doctor()
    assert bad.returncode == 1
    assert "✗ 打印机缺纸 / printer serial:" in bad.stdout
    assert "    → 装入新的热敏纸卷" in bad.stdout
    assert "有 1 项需要处理。 / 1 thing(s) to fix." in bad.stdout


def test_server_role(broker: Broker, tmp_path: Path, hall_path: Path) -> None:
    creds = tmp_path / "server.json"
    creds.write_text(json.dumps({"server": broker.password("server")}))
    creds.chmod(0o600)
    target = Target(load_hall(hall_path), "server", broker.broker_address, creds,
                    data=tmp_path / "server", broker_dir=broker.dir)
    idle = list(run(target, services=False))
    assert by_text(idle, "no queue server holds").failed
    assert by_text(idle, "no backups").failed
    assert by_text(idle, "password matches").level is Level.OK
    from tests.support.server import ServerProcess

    proc = ServerProcess(broker, tmp_path / "server", hall_path).start()
    try:
        proc.wait_log("backup written", 15)
        running = list(run(target, services=False))
        assert not any(c.failed for c in running), render(running)
        assert by_text(running, "queue server is running (queue server pid").level is Level.OK
        assert by_text(running, "1 backups").level is Level.OK
    finally:
        proc.close()


def test_a_port_the_kiosk_app_holds_is_not_probed(tmp_path: Path) -> None:
    """Two programs talking to one reader garble each other: the doctor leaves it alone."""
    from provisioning.doctor import check_idcard

    port = tmp_path / "ttyUSB0"
    port.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", "import sys,time; f=open(sys.argv[1]);"
                               "print('open', flush=True); time.sleep(30)", str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        c = check_idcard(str(port))
        assert c.level is Level.SKIP and f"in use by process {holder.pid}" in c.en
    finally:
        holder.kill()
        holder.wait()


def test_server_checks_its_tls_listener(tmp_path: Path) -> None:
    from provisioning.broker import TlsListener, provision_hall
    from provisioning.tls import provision_tls
    from queue_server.mqttlink import BrokerAddress
    from tests.support.broker import free_port

    tls_port = free_port()
    hall_path = tmp_path / "hall.toml"
    hall_path.write_text(DEMO_HALL.read_text("utf-8")
                         + f'\n[tls]\nhosts = ["127.0.0.1"]\nport = {tls_port}\n', "utf-8")
    hall = load_hall(hall_path)
    with Broker.start(hall_path) as broker:
        files = provision_tls(hall, broker.dir / "tls", ["127.0.0.1"])
        creds = tmp_path / "server.json"
        creds.write_text(json.dumps({"server": broker.password("server")}))
        creds.chmod(0o600)
        target = Target(hall, "server", broker.broker_address, creds, data=tmp_path / "srv",
                        broker_dir=broker.dir, tls_dir=files.dir)
        down = by_text(list(run(target, services=False)), "TLS listener 127.0.0.1")
        assert down.failed and "unreachable" in down.en
        provision_hall(hall, broker.dir, broker.broker_address,
                       tls=TlsListener(BrokerAddress("127.0.0.1", tls_port), files.cert,
                                       files.key))
        broker.restart()
        import time

        time.sleep(0.3)  # the TLS listener comes up with the plain one
        up = by_text(list(run(target, services=False)), "presents a valid certificate")
        assert up.level is Level.OK
        other = provision_tls(hall, tmp_path / "other", ["127.0.0.1"])
        bad = by_text(list(run(replace(target, tls_dir=other.dir), services=False)),
                      "certificate fails")
        assert bad.failed
