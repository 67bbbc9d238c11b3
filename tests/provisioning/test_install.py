"""`python -m provisioning install` under a scratch root: units that systemd accepts, a
broker config that starts a real Mosquitto with TLS and the ACL, files with safe modes."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.broker import ProvisioningError
from provisioning.install import UDEV_RULES, install
from queue_server.config import load_hall
from queue_server.mqttlink import BrokerAddress, reason_ok
from tests.provisioning.test_tls import NOT_AUTHORIZED, tls_connect
from tests.support.broker import DEMO_HALL, MOSQUITTO, REPO, close_client, free_port

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def tls_hall(tmp_path: Path) -> Path:
    """The demo hall with a [tls] table, as a technician would write it."""
    p = tmp_path / "hall.toml"
    p.write_text(DEMO_HALL.read_text("utf-8")
                 + '\n[tls]\nhosts = ["127.0.0.1", "qms-server"]\nport = 8883\n', "utf-8")
    return p


@pytest.fixture
def root() -> Iterator[Path]:
    # Mosquitto drops to its own user: the scratch root must be traversable for it.
    d = Path(tempfile.mkdtemp(prefix="qms-install-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cage(tmp_path: Path) -> str:
    """Stands in for /usr/bin/cage, which systemd-analyze wants to exist."""
    p = tmp_path / "cage"
    p.write_text("#!/bin/sh\nexec \"$@\"\n")
    p.chmod(0o755)
    return str(p)


def unit(path: Path) -> configparser.ConfigParser:
    """Parse a unit file (systemd's syntax is INI with repeatable keys)."""
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(path.read_text("utf-8"))
    return cp


def verify(*units: Path, user: bool = False) -> None:
    """`systemd-analyze verify` where available, else a parser check of the same basics."""
    if SYSTEMD_ANALYZE:
        cmd = [SYSTEMD_ANALYZE, *(["--user"] if user else []), "verify", *map(str, units)]
        # A user manager wants its runtime directory, which a root shell here has not.
        env = {**os.environ, "XDG_RUNTIME_DIR": tempfile.mkdtemp()} if user else None
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        # systemd prints problems it tolerates on stderr too; ours must have none.
        assert [ln for ln in r.stderr.splitlines() if any(u.name in ln for u in units)] == []
    for u in units:
        cp = unit(u)
        assert {"Unit", "Service", "Install"} <= set(cp.sections()), u
        assert cp["Service"]["Restart"] == "always"
        exe = cp["Service"]["ExecStart"].split()[0]
        assert os.access(exe, os.X_OK), exe


def run_install(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "provisioning", "install", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_server_install(tls_hall: Path, root: Path) -> None:
    r = run_install("--config", tls_hall, "--role", "server", "--root", root)
    assert r.returncode == 0, r.stderr
    units = root / "etc/systemd/system"
    broker_u, server_u = units / "qms-broker.service", units / "qms-server.service"
    verify(broker_u, server_u)

    s = unit(server_u)
    assert s["Service"]["User"] == "qms" and s["Service"]["Type"] == "notify"
    assert s["Service"]["WatchdogSec"] == "60"
    assert "qms-broker.service" in s["Unit"]["After"] and "network-online.target" in \
        s["Unit"]["After"]
    assert s["Service"]["ExecStart"].endswith(
        "-m queue_server --config /etc/qms/hall.toml --data /var/lib/qms/server --broker "
        "127.0.0.1:1883 --credentials /etc/qms/credentials.json")
    assert s["Service"]["ProtectSystem"] == "strict"
    assert unit(broker_u)["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    # enabled in the scratch root the way systemctl does it
    assert (units / "multi-user.target.wants" / "qms-server.service").is_symlink()

    creds = root / "etc/qms/credentials.json"
    broker_creds = json.loads((root / "var/lib/qms/broker/credentials.json").read_text())
    assert json.loads(creds.read_text()) == {"server": broker_creds["server"]}
    assert mode(creds) == 0o600 and mode(root / "etc/qms/tls/ca.key") == 0o600
    assert "u qms -:qms" in (root / "etc/sysusers.d/qms.conf").read_text()
    assert "MaxRetentionSec" in (root / "etc/systemd/journald.conf.d/90-qms.conf").read_text()
    env = (root / "etc/qms/qms.env").read_text()
    assert "QMS_ROLE=server" in env and "QMS_DATA=/var/lib/qms/server" in env

    conf = (root / "var/lib/qms/broker/mosquitto.conf").read_text()
    assert "password_file /var/lib/qms/broker/passwd" in conf and str(root) not in conf
    assert "listener 8883 0.0.0.0\ncertfile /etc/qms/tls/broker.crt" in conf

    # Re-running keeps every password and the CA.
    ca = (root / "etc/qms/tls/ca.crt").read_bytes()
    assert run_install("--config", tls_hall, "--role", "server", "--root", root).returncode == 0
    assert json.loads((root / "var/lib/qms/broker/credentials.json").read_text()) == broker_creds
    assert (root / "etc/qms/tls/ca.crt").read_bytes() == ca


def test_installed_broker_config_runs_mosquitto_with_tls_and_the_acl(
    tls_hall: Path, root: Path,
) -> None:
    install(load_hall(tls_hall), "server", root=root)
    # Point the installed config at the scratch root and free ports, and start it.
    conf_path = root / "var/lib/qms/broker/mosquitto.conf"
    plain, tls_port = free_port(), free_port()
    conf = (conf_path.read_text()
            .replace("/var/lib/qms/broker", str(root / "var/lib/qms/broker"))
            .replace("/etc/qms/tls", str(root / "etc/qms/tls"))
            .replace("listener 1883 127.0.0.1", f"listener {plain} 127.0.0.1")
            .replace("listener 8883 0.0.0.0", f"listener {tls_port} 127.0.0.1"))
    conf_path.write_text(conf)
    log = open(root / "mosquitto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf_path)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", plain), 0.2).close()
                break
            except OSError:
                assert proc.poll() is None, (root / "mosquitto.log").read_text()
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.05)
        # A kiosk installed from the server's files: its own credentials and the hall CA.
        kiosk_root = root / "kiosk"
        (kiosk_root / "etc/qms/tls").mkdir(parents=True)
        shutil.copy(root / "etc/qms/tls/ca.crt", kiosk_root / "etc/qms/tls/ca.crt")
        install(load_hall(tls_hall), "kiosk", "kiosk-1", root=kiosk_root,
                credentials_file=root / "var/lib/qms/broker/credentials.json")
        env = (kiosk_root / "etc/qms/qms.env").read_text()
        assert "QMS_BROKER=mqtts://127.0.0.1:8883" in env  # [tls] hosts[0]
        password = json.loads((kiosk_root / "etc/qms/credentials.json").read_text())["kiosk-1"]
        address = BrokerAddress("127.0.0.1", tls_port, tls=True,
                                ca_file=str(kiosk_root / "etc/qms/tls/ca.crt"))
        client, col = tls_connect(address, "kiosk-1", password)
        try:
            assert reason_ok(col.publish("qms/demo/cmd/kiosk-1/issue", {"id": "1"}))
            assert col.publish("qms/demo/cmd/kiosk-2/issue", {"id": "2"}).value == \
                NOT_AUTHORIZED
        finally:
            close_client(client)
        with pytest.raises(ConnectionError, match="refused"):
            tls_connect(address, "kiosk-2", password)  # kiosk-1's password is not kiosk-2's
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_kiosk_display_and_pad_get_a_locked_down_session(
    tls_hall: Path, root: Path, cage: str,
) -> None:
    server_root = root / "server"
    install(load_hall(tls_hall), "server", root=server_root)
    creds = server_root / "var/lib/qms/broker/credentials.json"
    for role, device, module in (("kiosk", "kiosk-2", "kiosk"), ("display", "display-1",
                                 "display"), ("counter", "pad-3", "counter")):
        r_root = root / device
        (r_root / "etc/qms/tls").mkdir(parents=True)
        shutil.copy(server_root / "etc/qms/tls/ca.crt", r_root / "etc/qms/tls/ca.crt")
        r = run_install("--config", tls_hall, "--role", role, "--device", device, "--root",
                        r_root, "--credentials", creds, "--cage", cage)
        assert r.returncode == 0, r.stderr
        path = r_root / "etc/systemd/system" / f"qms-{device}.service"
        verify(path)
        u = unit(path)
        exec_start = u["Service"]["ExecStart"]
        assert exec_start.startswith(f"{cage} -d -- ")  # no -s: no switching consoles
        assert f" -m {module} --config /etc/qms/hall.toml --device {device} --broker " \
            f"mqtts://127.0.0.1:8883 --credentials /etc/qms/credentials.json" in exec_start
        assert u["Service"]["User"] == "qms" and u["Service"]["TTYPath"] == "/dev/tty1"
        assert u["Service"]["PAMName"] == "qms-session"
        assert "getty@tty1.service" in u["Unit"]["Conflicts"]
        assert u["Install"]["WantedBy"] == "graphical.target"
        creds_file = r_root / "etc/qms/credentials.json"
        assert list(json.loads(creds_file.read_text())) == [device]  # only its own password
        assert mode(creds_file) == 0o600
        logind = (r_root / "etc/systemd/logind.conf.d/90-qms-kiosk.conf").read_text()
        assert "NAutoVTs=0" in logind and "HandlePowerKey=ignore" in logind
        assert "kernel.sysrq = 0" in (r_root / "etc/sysctl.d/90-qms-kiosk.conf").read_text()
        assert "consoleblank=0" in (r_root / "etc/default/grub.d/90-qms-kiosk.cfg").read_text()
        assert os.readlink(r_root / "etc/systemd/system/ctrl-alt-del.target") == "/dev/null"
        assert "pam_systemd.so" in (r_root / "etc/pam.d/qms-session").read_text()
        if module == "kiosk":
            assert exec_start.endswith("--data /var/lib/qms/kiosk")
        if device.startswith(("kiosk", "pad")):
            rules = r_root / "etc/udev/rules.d/70-qms-devices.rules"
            assert rules.read_text() == UDEV_RULES.read_text()
            assert 'GROUP="qms", MODE="0660"' in rules.read_text()


def test_counter_terminal_is_a_user_unit_of_the_clerk(tls_hall: Path, root: Path) -> None:
    install(load_hall(tls_hall), "server", root=root / "server")
    creds = root / "server/var/lib/qms/broker/credentials.json"
    (root / "c/etc/qms/tls").mkdir(parents=True)
    shutil.copy(root / "server/etc/qms/tls/ca.crt", root / "c/etc/qms/tls/ca.crt")
    r = run_install("--config", tls_hall, "--role", "counter", "--device", "counter-2", "--root",
                    root / "c", "--credentials", creds)
    assert r.returncode == 2 and "--session-user" in r.stderr
    r = run_install("--config", tls_hall, "--role", "counter", "--device", "counter-2", "--root",
                    root / "c", "--credentials", creds, "--session-user", "clerk2")
    assert r.returncode == 0, r.stderr
    path = root / "c/etc/systemd/user/qms-counter-2.service"
    verify(path, user=True)
    u = unit(path)
    assert u["Install"]["WantedBy"] == "graphical-session.target"
    assert "-m counter --config /etc/qms/hall.toml --device counter-2" in u["Service"]["ExecStart"]


def test_install_refuses_what_would_not_work(tls_hall: Path, root: Path) -> None:
    hall = load_hall(tls_hall)
    install(hall, "server", root=root / "s")
    creds = root / "s/var/lib/qms/broker/credentials.json"
    cases = [
        (dict(role="kiosk", device=None), "--device is required for role kiosk"),
        (dict(role="kiosk", device="display-1"), "display-1 is a display device, not a kiosk"),
        (dict(role="kiosk", device="kiosk-7"), "no device 'kiosk-7'"),
        (dict(role="kiosk", device="kiosk-1", credentials_file=None), "give --credentials"),
        (dict(role="kiosk", device="kiosk-1"), "ca.crt is missing: copy ca.crt"),
        (dict(role="server", device="kiosk-1"), "the server role is device 'server'"),
    ]
    for kw, why in cases:
        kw.setdefault("credentials_file", creds)
        with pytest.raises(ProvisioningError, match=why.replace("(", r"\(")):
            install(hall, root=root / "k", **kw)  # type: ignore[arg-type]
    one = root / "one.json"
    one.write_text(json.dumps({"kiosk-2": "x"}))
    (root / "k/etc/qms/tls").mkdir(parents=True)
    shutil.copy(root / "s/etc/qms/tls/ca.crt", root / "k/etc/qms/tls/ca.crt")
    with pytest.raises(ProvisioningError, match="no password for 'kiosk-1'"):
        install(hall, "kiosk", "kiosk-1", root=root / "k", credentials_file=one)


def test_server_tells_systemd_it_is_ready_and_pings_the_watchdog(tmp_path: Path) -> None:
    from tests.support.broker import Broker

    sock_path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(15)
    with Broker.start(DEMO_HALL) as broker:
        env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "300000"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "queue_server", "--config", str(DEMO_HALL), "--data",
             str(tmp_path / "data"), "--broker", broker.address, "--credentials",
             str(broker.credentials_file)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            got = [sock.recv(100) for _ in range(3)]
        finally:
            proc.terminate()
            proc.wait(15)
            sock.close()
    assert got[0] == b"READY=1" and got[1:] == [b"WATCHDOG=1", b"WATCHDOG=1"]


def test_backups_on_another_disk_are_writable_for_the_server(tmp_path: Path, root: Path) -> None:
    hall = tmp_path / "hall.toml"
    hall.write_text(DEMO_HALL.read_text("utf-8") + '\n[backup]\ndir = "/srv/usb/qms-backups"\n',
                    "utf-8")
    install(load_hall(hall), "server", root=root)
    u = unit(root / "etc/systemd/system/qms-server.service")
    assert u["Service"]["ReadWritePaths"] == "/srv/usb/qms-backups"
    tmpfiles = (root / "etc/tmpfiles.d/qms.conf").read_text()
    assert "d /srv/usb/qms-backups 0750 qms qms -" in tmpfiles


def test_activation_steps_on_a_real_machine(monkeypatch: pytest.MonkeyPatch, tls_hall: Path,
                                            root: Path, cage: str) -> None:
    """What install runs with --root / (recorded here, not run: this is not a hall PC)."""
    import provisioning.install as inst

    ran: list[list[str]] = []
    users: dict[str, tuple[int, int]] = {}
    monkeypatch.setattr(inst, "_user_ids", lambda name: users.get(name))
    hall = load_hall(tls_hall)

    def sysusers_creates_qms(cmd: list[str], done: list[str], must: bool = True) -> None:
        ran.append(cmd)
        if cmd[0] == "systemd-sysusers":
            users["qms"] = (os.getuid(), os.getgid())

    monkeypatch.setattr(inst, "_run", sysusers_creates_qms)
    python = "/usr/bin/python3"  # the qms user must be able to run the interpreter
    install(hall, "server", root=root / "s", activate=True, python=python)
    assert ran[0][0] == "systemd-sysusers"
    assert ["systemctl", "disable", "--now", "mosquitto.service"] in ran
    assert ran[-1] == ["systemctl", "enable", "--now", "qms-broker.service", "qms-server.service"]
    assert os.stat(root / "s/etc/qms/credentials.json").st_uid == os.getuid()

    ran.clear()
    (root / "k/etc/qms/tls").mkdir(parents=True)
    shutil.copy(root / "s/etc/qms/tls/ca.crt", root / "k/etc/qms/tls/ca.crt")
    monkeypatch.setattr(inst, "XWAYLAND", cage)  # stands in for /usr/bin/Xwayland too
    install(hall, "kiosk", "kiosk-1", root=root / "k", activate=True, cage=cage, python=python,
            credentials_file=root / "s/var/lib/qms/broker/credentials.json")
    assert ["udevadm", "control", "--reload"] in ran
    assert ["systemctl", "mask", "ctrl-alt-del.target"] in ran
    assert ["systemctl", "set-default", "graphical.target"] in ran
    assert ran[-1] == ["systemctl", "enable", "--now", "qms-kiosk-1.service"]
    with pytest.raises(ProvisioningError, match="apt-get install cage xwayland"):
        install(hall, "kiosk", "kiosk-1", root=root / "k", activate=True, python=python,
                cage=str(root / "no-cage"),
                credentials_file=root / "s/var/lib/qms/broker/credentials.json")
    # A venv under a home directory others cannot enter would never start as qms.
    closed = Path(tempfile.mkdtemp())  # mode 0700
    (closed / "python").symlink_to(sys.executable)
    with pytest.raises(ProvisioningError, match=f"{closed} is closed to other users"):
        install(hall, "server", root=root / "s", activate=True, python=str(closed / "python"))
    shutil.rmtree(closed)


SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
PROBE = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv)
w = QLabel("请A001号到1号窗口")
w.showFullScreen()
def done():
    s = w.screen().size()
    w.grab().save(sys.argv[1] + "/probe.png")
    json.dump({"platform": app.platformName(), "window": [w.width(), w.height()],
               "screen": [s.width(), s.height()]}, open(sys.argv[1] + "/probe.json", "w"))
    app.quit()
QTimer.singleShot(1500, done)
app.exec()
"""


@pytest.mark.skipif(not (shutil.which("cage") and Path("/usr/bin/Xwayland").exists()
                         and SYSTEM_PYTHON.exists() and shutil.which("setpriv")),
                    reason="needs cage, Xwayland, a system python and setpriv")
def test_the_session_shows_a_qt_app_full_screen_in_cage(tls_hall: Path, root: Path) -> None:
    """The kiosk unit's compositor and environment, run as an unprivileged user with
    wlroots' headless backend: a Qt window comes up on Wayland, full screen."""
    server = root / "s"
    install(load_hall(tls_hall), "server", root=server)
    (root / "k/etc/qms/tls").mkdir(parents=True)
    shutil.copy(server / "etc/qms/tls/ca.crt", root / "k/etc/qms/tls/ca.crt")
    install(load_hall(tls_hall), "kiosk", "kiosk-1", root=root / "k", cage="/usr/bin/cage",
            credentials_file=server / "var/lib/qms/broker/credentials.json")
    text = (root / "k/etc/systemd/system/qms-kiosk-1.service").read_text()
    env = dict(line.removeprefix("Environment=").split("=", 1)
               for line in text.splitlines() if line.startswith("Environment="))
    exec_start = next(ln for ln in text.splitlines() if ln.startswith("ExecStart=")).split()
    compositor = exec_start[0].removeprefix("ExecStart=")
    assert exec_start[1:3] == ["-d", "--"]

    out = root / "probe"
    out.mkdir()
    runtime = root / "runtime"
    runtime.mkdir(mode=0o700)
    (root / "probe.py").write_text(PROBE)
    for d in (out, runtime):
        os.chown(d, 65534, 65534)
    env.update(PATH="/usr/bin:/bin", HOME=str(out), XDG_RUNTIME_DIR=str(runtime),
               WLR_BACKENDS="headless", WLR_HEADLESS_OUTPUTS="1", WLR_RENDERER="pixman",
               WLR_LIBINPUT_NO_DEVICES="1",
               # the venv's packages with an interpreter user nobody may run
               PYTHONPATH=str(next(Path(sys.prefix).glob("lib/python3*/site-packages"))))
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        compositor, "-d", "--", str(SYSTEM_PYTHON), str(root / "probe.py"),
                        str(out)], env=env, capture_output=True, text=True, timeout=90)
    assert (out / "probe.json").exists(), r.stdout + r.stderr
    got = json.loads((out / "probe.json").read_text())
    assert got["platform"] == "wayland"
    assert got["window"] == got["screen"]  # alone and full screen


def test_relative_paths_in_the_config_are_refused(tmp_path: Path, root: Path) -> None:
    hall = tmp_path / "hall.toml"
    hall.write_text(DEMO_HALL.read_text("utf-8") + '\n[backup]\ndir = "backups"\n', "utf-8")
    with pytest.raises(ProvisioningError, match=r"backup.dir = 'backups' is relative"):
        install(load_hall(hall), "server", root=root)
    assert not (root / "etc").exists()
