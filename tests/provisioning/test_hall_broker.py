"""`python -m provisioning hall` against a real Mosquitto: files, logins, ACL, persistence."""

from __future__ import annotations

import base64
import grp
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import tests.support.broker as support
from provisioning.broker import (
    CONF_NAME,
    hash_password,
    provision_hall,
    render_conf,
    verify_password,
)
from queue_server.config import load_hall
from queue_server.mqttlink import BrokerAddress
from tests.support.broker import DEMO_HALL, Broker, ConnectRefused

REPO = Path(__file__).resolve().parents[2]
TOWNSHIP_HALL = REPO / "assets" / "halls" / "township.toml"
AS_ROOT = os.geteuid() == 0
NOT_AUTHORIZED = 0x87

DEMO_DEVICES = {
    "server", "kiosk-1", "kiosk-2", "portal", "bridge",
    *(f"counter-{i}" for i in range(1, 7)), *(f"display-{i}" for i in range(1, 4)),
    *(f"pad-{i}" for i in range(1, 7)),
}


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioning", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )


@pytest.fixture
def outdir() -> Iterator[Path]:
    # Not tmp_path: as root, the mosquitto user must be able to reach the files.
    d = Path(tempfile.mkdtemp(prefix="qms-prov-test-"))
    d.chmod(0o755)
    yield d / "broker"
    shutil.rmtree(d, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- files


def test_cli_writes_the_four_files_with_safe_modes(outdir: Path) -> None:
    r = run_cli("hall", "--config", DEMO_HALL, "--out", outdir, "--listen", "127.0.0.1:18999")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr

    credentials = json.loads((outdir / "credentials.json").read_text())
    assert set(credentials) == DEMO_DEVICES
    assert len(set(credentials.values())) == len(credentials)
    assert all(len(pw) >= 20 for pw in credentials.values())
    assert mode(outdir / "credentials.json") == 0o600
    assert (outdir / "credentials.json").stat().st_uid == os.geteuid()

    hashes = dict(
        line.split(":", 1) for line in (outdir / "passwd").read_text().splitlines() if line
    )
    assert set(hashes) == DEMO_DEVICES
    for device, pw in credentials.items():
        assert hashes[device].startswith("$7$101$")
        assert verify_password(pw, hashes[device])
        assert pw not in (outdir / "passwd").read_text()

    conf = (outdir / CONF_NAME).read_text()
    lines = {ln.strip() for ln in conf.splitlines() if ln.strip() and not ln.startswith("#")}
    for expected in (
        "listener 18999 127.0.0.1",
        "allow_anonymous false",
        f"password_file {outdir / 'passwd'}",
        f"acl_file {outdir / 'acl'}",
        "set_tcp_nodelay true",
        "persistence true",
        f"persistence_location {outdir / 'data'}",
        "max_queued_messages 100000",
        "autosave_on_changes true",
        "autosave_interval 100",
        "use_username_as_clientid true",
    ):
        assert expected in lines, expected

    for name in ("passwd", "acl", CONF_NAME):
        assert mode(outdir / name) == 0o640, name
    if AS_ROOT:
        mosquitto = pwd.getpwnam("mosquitto")
        for name in ("passwd", "acl", CONF_NAME):
            st = (outdir / name).stat()
            assert (st.st_uid, grp.getgrgid(st.st_gid).gr_name) == (0, "mosquitto"), name
        assert (outdir / "data").stat().st_uid == mosquitto.pw_uid


def test_acl_file_reads_as_one_block_per_device(outdir: Path) -> None:
    files = provision_hall(load_hall(DEMO_HALL), outdir, BrokerAddress("127.0.0.1", 18999))
    acl = files.acl.read_text()
    assert acl.startswith("# Mosquitto ACL of hall 'demo'")
    blocks = re.findall(r"^user (\S+)$", acl, re.M)
    assert blocks == ["server", *load_hall(DEMO_HALL).device_ids]
    bridge = acl.split("user bridge\n", 1)[1].split("\n\n", 1)[0]
    assert [ln for ln in bridge.splitlines() if ln.startswith("topic")] == [
        "topic read qms/demo/public/#"
    ]


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    """Our $7$ reader and writer agree with Mosquitto's own tool."""
    passwd = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "u", "s3cret:é"], check=True)
    theirs = passwd.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret:é", theirs)
    assert not verify_password("s3cret", theirs)
    iterations, salt = theirs.split("$")[2:4]
    assert hash_password("s3cret:é", salt=base64.b64decode(salt),
                         iterations=int(iterations)) == theirs
    assert hash_password("x") != hash_password("x")  # a fresh salt each time


def test_rerun_keeps_passwords_adds_new_devices_and_drops_removed(outdir: Path,
                                                                  tmp_path: Path) -> None:
    listen = BrokerAddress("127.0.0.1", 18999)
    first = provision_hall(load_hall(DEMO_HALL), outdir, listen)
    assert set(first.added) == DEMO_DEVICES
    before = json.loads(first.credentials.read_text())

    # The same hall a month later: a fourth board, and kiosk-2 taken away.
    text = DEMO_HALL.read_text("utf-8").replace('[[devices]]\nid = "kiosk-2"', "[[devices]]\n"
                                                 'id = "display-4"')
    changed = tmp_path / "demo.toml"
    changed.write_text(text, "utf-8")
    r = run_cli("hall", "--config", changed, "--out", outdir, "--listen", str(listen))
    assert r.returncode == 0, r.stderr
    assert "new passwords for display-4" in r.stderr
    assert "kiosk-2" in r.stderr

    after = json.loads(first.credentials.read_text())
    assert set(after) == DEMO_DEVICES - {"kiosk-2"} | {"display-4"}
    assert all(after[d] == before[d] for d in after if d in before)
    assert "kiosk-2" not in first.passwd.read_text()
    assert "user kiosk-2" not in first.acl.read_text()
    assert mode(first.credentials) == 0o600

    # Nothing changes on a plain re-run.
    again = provision_hall(load_hall(changed), outdir, listen)
    assert again.added == again.removed == ()
    assert json.loads(first.credentials.read_text()) == after


def test_a_running_broker_takes_new_devices_on_sighup(broker: Broker, tmp_path: Path) -> None:
    changed = tmp_path / "demo.toml"
    changed.write_text(DEMO_HALL.read_text("utf-8") + '\n[[devices]]\nid = "display-4"\n')
    r = run_cli("hall", "--config", changed, "--out", broker.dir, "--listen", broker.address)
    assert r.returncode == 0, r.stderr
    with pytest.raises(ConnectRefused):
        support.connect(broker, "display-4")
    broker.reload()
    deadline = time.monotonic() + 5
    while True:
        try:
            support.close_client(support.connect(broker, "display-4"))
            break
        except ConnectRefused:
            assert time.monotonic() < deadline, broker.log_text()
            time.sleep(0.05)
    support.close_client(support.connect(broker, "kiosk-1"))  # old passwords still good


def test_listen_address_goes_into_the_listener_line(tmp_path: Path) -> None:
    hall = load_hall(DEMO_HALL)
    assert "\nlistener 1883 0.0.0.0\n" in render_conf(
        hall, tmp_path, BrokerAddress.parse("0.0.0.0:1883"), "mosquitto")
    assert "\nlistener 1884 ::1\n" in render_conf(
        hall, tmp_path, BrokerAddress.parse("[::1]:1884"), "mosquitto")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[hall]\nid = "Demo Hall"\n', "hall.id"),
        ("[hall\n", "(syntax)"),
        (None, "cannot be read"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, content: str | None,
                                           expected: str) -> None:
    config = tmp_path / "bad.toml"
    if content is not None:
        config.write_text(content)
    r = run_cli("hall", "--config", config, "--out", tmp_path / "out", "--listen", "127.0.0.1:1")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"provisioning: error: {config}: ")
    assert expected in r.stderr
    assert not (tmp_path / "out" / "credentials.json").exists()


def test_bad_listen_address_and_broken_credentials_exit_2(outdir: Path) -> None:
    r = run_cli("hall", "--config", DEMO_HALL, "--out", outdir, "--listen", "localhost:http")
    assert r.returncode == 2
    assert "HOST:PORT" in r.stderr and "Traceback" not in r.stderr

    outdir.mkdir()
    (outdir / "credentials.json").write_text("{not json")
    r = run_cli("hall", "--config", DEMO_HALL, "--out", outdir, "--listen", "127.0.0.1:1")
    assert r.returncode == 2
    assert r.stderr == (f"provisioning: error: {outdir / 'credentials.json'} is not valid JSON; "
                        "fix or remove it (removing gives every device a new password)\n")
    assert (outdir / "credentials.json").read_text() == "{not json"


@pytest.mark.skipif(not AS_ROOT, reason="the root case needs root")
def test_warns_when_the_broker_user_cannot_reach_the_directory(tmp_path: Path) -> None:
    # pytest's tmp_path lies under /tmp/pytest-of-root, mode 0700.
    files = provision_hall(load_hall(DEMO_HALL), tmp_path / "b", BrokerAddress("127.0.0.1", 1))
    assert len(files.warnings) == 1
    assert "cannot enter" in files.warnings[0]


# --------------------------------------------------------------------------- the broker


@pytest.mark.skipif(not AS_ROOT, reason="the root case needs root")
def test_started_as_root_it_runs_as_mosquitto_and_persists(broker: Broker) -> None:
    pid = broker._proc.pid  # type: ignore[union-attr]
    uid = next(
        int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ln.startswith("Uid:")
    )
    assert uid == pwd.getpwnam("mosquitto").pw_uid
    server = broker.collector("server")
    server.publish("qms/demo/state/service/A", {"waiting": 3}, retain=True)
    broker.stop()
    db = broker.dir / "data" / "mosquitto.db"
    assert db.stat().st_uid == uid
    assert "Error" not in broker.log_text()


def test_every_device_connects_with_its_password(broker: Broker) -> None:
    for device in sorted(DEMO_DEVICES):
        support.close_client(support.connect(broker, device))


def _raw_connack(broker: Broker, username: str | None, password: str | None) -> int:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                         reconnect_on_failure=False)
    if username is not None:
        client.username_pw_set(username, password)
    codes: list[int] = []
    client.on_connect = lambda c, u, f, rc, p: codes.append(rc.value)
    client.connect(broker.host, broker.port)
    deadline = time.monotonic() + 5
    while not codes and time.monotonic() < deadline:
        client.loop(0.05)
    client.disconnect()
    assert codes, "no CONNACK"
    return codes[0]


def test_anonymous_wrong_password_and_unknown_user_are_refused(broker: Broker) -> None:
    assert _raw_connack(broker, "kiosk-1", broker.password("kiosk-1")) == 0
    assert _raw_connack(broker, None, None) == NOT_AUTHORIZED
    assert _raw_connack(broker, "kiosk-1", broker.password("kiosk-2")) == NOT_AUTHORIZED
    assert _raw_connack(broker, "kiosk-1", "") == NOT_AUTHORIZED
    assert _raw_connack(broker, "kiosk-9", broker.password("kiosk-1")) == NOT_AUTHORIZED
    with pytest.raises(ConnectRefused) as refused:
        support.connect(broker, "counter-1", password="guess")
    assert refused.value.reason_code.value == NOT_AUTHORIZED


# Who may publish where (PROTOCOL.md "Who may do what"), written out by hand rather
# than derived from provisioning, so that the two are checked against each other.
PUBLISH = {
    "server": set(),  # all of qms/demo/#: filled in below
    "kiosk-1": {"cmd/kiosk-1/issue", "status/kiosk-1", "status/kiosk-1/printer"},
    "counter-1": {"cmd/counter-1/call_next", "status/counter-1"},
    "pad-1": {"cmd/pad-1/rate", "status/pad-1"},
    "portal": {"cmd/portal/book", "status/portal"},
    "display-1": {"status/display-1", "status/display-1/tts"},
    "bridge": set(),
}
PUBLISH_PROBES = sorted(
    {t for ts in PUBLISH.values() for t in ts}
    | {"cmd/counter-1/call_next", "cmd/pad-2/rate", "cmd/kiosk-2/issue", "cmd/display-1/issue",
       "state/x",
       "status/kiosk-2", "status/kiosk-10", "cmd/kiosk-10/issue", "reply/kiosk-2", "other"}
)
PUBLISH["server"] = set(PUBLISH_PROBES)  # all of qms/demo/#


@pytest.mark.parametrize("device", sorted(PUBLISH))
def test_publish_rights_by_puback(broker: Broker, device: str) -> None:
    client = broker.collector(device)
    got = {t for t in PUBLISH_PROBES
           if not client.publish(f"qms/demo/{t}", {"id": "x"}).is_failure}
    assert got == PUBLISH[device]
    assert client.publish("qms/other-hall/cmd/x", {"id": "x"}).value == NOT_AUTHORIZED


# Which of the server's messages reach a device subscribed to all of qms/demo/#.
DELIVERY_PROBES = ["cmd/kiosk-1/issue", "reply/kiosk-1", "reply/kiosk-1/r7", "reply/kiosk-2",
                   "state/counter/1", "event/called", "public/wait", "status/kiosk-1",
                   "status/kiosk-1/printer", "other/x"]
READ = {
    "server": {"cmd/kiosk-1/issue", "status/kiosk-1", "status/kiosk-1/printer"},
    "kiosk-1": {"reply/kiosk-1", "reply/kiosk-1/r7", "state/counter/1", "event/called",
                "status/kiosk-1", "status/kiosk-1/printer"},
    "counter-1": {"state/counter/1", "event/called", "status/kiosk-1", "status/kiosk-1/printer"},
    "pad-1": {"state/counter/1", "event/called", "status/kiosk-1", "status/kiosk-1/printer"},
    "display-1": {"state/counter/1", "event/called", "public/wait", "status/kiosk-1",
                  "status/kiosk-1/printer"},
    "bridge": {"public/wait"},
}


def test_each_device_receives_only_what_it_may_read() -> None:
    # Mosquitto grants every SUBSCRIBE and applies `read` per delivered message, so
    # the wide subscription is what shows exactly what each device can see.
    with Broker.start(DEMO_HALL, bind_client_ids=False) as broker:
        _check_reads(broker)


def _check_reads(broker: Broker) -> None:
    watchers = {d: broker.collector(d, "qms/demo/#", client_id=f"{d}-watch") for d in READ}
    sender = broker.collector("server")
    for topic in DELIVERY_PROBES:
        assert not sender.publish(f"qms/demo/{topic}", {"t": topic}).is_failure
    # Messages from one sender arrive in order: an end marker every watcher can read
    # (status/ or public/) means the rest has come or never will.
    sender.publish("qms/demo/status/end", "end")
    sender.publish("qms/demo/public/end", "end")
    for device, watcher in watchers.items():
        watcher.wait_for("qms/demo/public/end" if device == "bridge" else "qms/demo/status/end")
        time.sleep(0.02)
        got = {m.topic.removeprefix("qms/demo/") for m in watcher.received()}
        got -= {"status/end", "public/end"}
        assert got == READ[device], device


def test_kiosk_cannot_reach_other_devices_commands_or_replies(broker: Broker) -> None:
    server = broker.collector("server", "qms/demo/cmd/#")
    display = broker.collector("display-1", "qms/demo/state/#")
    kiosk = broker.collector("kiosk-1")
    assert kiosk.publish("qms/demo/cmd/counter-1/call_next", {"id": "k1"}).value == NOT_AUTHORIZED
    assert kiosk.publish("qms/demo/state/counter/1", {"status": "open"},
                         retain=True).value == NOT_AUTHORIZED
    # A denied subscription is granted but stays empty (see the ACL file's header).
    codes = kiosk.subscribe("qms/demo/reply/kiosk-2", "qms/demo/cmd/#")
    assert all(c.value in (1, NOT_AUTHORIZED) for c in codes)
    counter = broker.collector("counter-1")
    assert not counter.publish("qms/demo/cmd/counter-1/call_next", {"id": "c1"}).is_failure
    server.publish("qms/demo/reply/kiosk-2", {"id": "k2", "ok": True})

    assert server.wait_for("qms/demo/cmd/#").json() == {"id": "c1"}
    kiosk.assert_nothing("#", within=0.2)
    assert [m.json()["id"] for m in server.received()] == ["c1"]
    display.assert_nothing("#", within=0)


def test_display_cannot_command_and_bridge_cannot_publish(broker: Broker) -> None:
    server = broker.collector("server", "qms/demo/cmd/#", "qms/demo/status/#")
    bridge = broker.collector("bridge", "qms/demo/public/#")
    display = broker.collector("display-1")
    assert display.publish("qms/demo/cmd/display-1/issue", {"id": "d1"}).value == NOT_AUTHORIZED
    assert not display.publish("qms/demo/status/display-1", "online", retain=True).is_failure
    assert bridge.publish("qms/demo/public/wait", {"hall": "fake"}).value == NOT_AUTHORIZED
    assert server.wait_for("qms/demo/status/display-1").text == "online"
    server.assert_nothing("qms/demo/cmd/#", within=0.2)
    bridge.assert_nothing("#", within=0)


# --------------------------------------------------------------------------- persistence


def _queue_requests_for_offline_server(broker: Broker, n: int) -> None:
    server = broker.collector("server", "qms/demo/cmd/#", clean_start=False,
                              session_expiry_s=3600)
    support.close_client(server.client)
    kiosk = broker.collector("kiosk-1")
    for i in range(n):
        assert not kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": f"r{i}"}).is_failure


def _resumed_server_receives(broker: Broker, n: int) -> list[str]:
    server = broker.collector("server", clean_start=False, session_expiry_s=3600)
    deadline = time.monotonic() + 5
    while len(server.received()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return [m.json()["id"] for m in server.received("qms/demo/cmd/kiosk-1/issue")]


def test_requests_queued_for_the_server_survive_a_broker_restart(broker: Broker) -> None:
    # Before the server's persistent session exists: a clean start as `server`
    # (client id = username) would wipe that session and its queue.
    state = broker.collector("server")
    state.publish("qms/demo/state/service/A", {"waiting": 3}, retain=True)
    support.close_client(state.client)
    _queue_requests_for_offline_server(broker, 50)
    broker.restart()
    assert _resumed_server_receives(broker, 50) == [f"r{i}" for i in range(50)]
    display = broker.collector("display-1", "qms/demo/state/#")
    assert display.wait_for("qms/demo/state/service/A").json() == {"waiting": 3}


def test_with_autosave_1_requests_queued_for_the_server_survive_a_broker_crash() -> None:
    # A hall that wants the broker's own queue kept through a crash provisions with
    # --autosave-changes 1 (the default, 100, relies on clients retrying instead:
    # tests/queue_server/test_server.py).
    with Broker.start(DEMO_HALL, autosave_changes=1) as broker:
        _queue_requests_for_offline_server(broker, 20)
        # autosave_on_changes saves right after the change, not before the PUBACK:
        # give it that instant, then crash.
        time.sleep(0.2)
        broker.restart(crash=True)
        assert _resumed_server_receives(broker, 20) == [f"r{i}" for i in range(20)]


def test_a_device_cannot_take_over_the_servers_session(broker: Broker) -> None:
    server = broker.collector("server", "qms/demo/cmd/#", clean_start=False,
                              session_expiry_s=3600)
    lost: list[object] = []
    server.client.on_disconnect = lambda *args: lost.append(args)
    # Claims the server's client id with a clean start: with ids bound to usernames
    # the broker calls it kiosk-1 and the server never notices.
    kiosk = broker.collector("kiosk-1", client_id="server")
    assert not kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "r1"}).is_failure
    assert server.wait_for("qms/demo/cmd/kiosk-1/issue").json() == {"id": "r1"}
    assert lost == []
    assert "as kiosk-1 " in broker.log_text()
    with pytest.raises(RuntimeError, match="already connected"):
        broker.connect("server")


# --------------------------------------------------------------------------- the fixture


def test_fixture_retries_when_its_port_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = [taken.getsockname()[1]]
        real = support.free_port
        monkeypatch.setattr(support, "free_port", lambda host="127.0.0.1": (
            ports.pop() if ports else real(host)))
        with Broker.start(DEMO_HALL) as b:
            assert b.port != taken.getsockname()[1]
            assert b.running
