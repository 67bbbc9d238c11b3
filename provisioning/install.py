"""Turn a hall config into a working machine: `python -m provisioning install`.

One machine, one role:

    server    Mosquitto (qms-broker) + the queue server (qms-server), TLS for the LAN
    kiosk     the kiosk app in a locked-down session on tty1 (cage, nothing else)
    display   a board (叫号屏), locked down the same way
    counter   counter-<c>: the counter terminal in the clerk's desktop session
              pad-<c>:     the rating pad (评价器), locked down like a kiosk

Everything is written under --root (a scratch directory for testing, `/` for a real
machine); only with --root / does install also create the user, reload udev and
enable the services. The layout:

    /etc/qms/hall.toml           the hall config (a copy)
    /etc/qms/credentials.json    this device's password only, 0600, its service's user
    /etc/qms/qms.env             role, device, broker, paths: what `doctor` checks
    /etc/qms/tls/ca.crt          the hall CA (TLS halls); the server also keeps ca.key
    /var/lib/qms/broker/         Mosquitto's config, passwd, acl, persistence (server)
    /var/lib/qms/<role>/         the program's data (server: hall.db and backups/)
    /etc/systemd/system/qms-*.service, /etc/sysusers.d/qms.conf, /etc/udev/rules.d/...

Services log to journald (no files to rotate; size and age capped in
journald.conf.d/90-qms.conf); the programs log no personal data (ID numbers are
never logged, only ticket numbers).
"""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.broker import (
    SERVER_DEVICE,
    ProvisioningError,
    TlsListener,
    _write,
    provision_hall,
    read_credentials,
)
from provisioning.tls import TlsSettings, provision_tls
from queue_server.config import Hall
from queue_server.mqttlink import BrokerAddress

REPO = Path(__file__).resolve().parents[1]
UDEV_RULES = Path(__file__).resolve().parent / "udev" / "70-qms-devices.rules"
ROLES = ("server", "kiosk", "counter", "display")
USER = "qms"

ETC = Path("etc/qms")
CONFIG = ETC / "hall.toml"
CREDENTIALS = ETC / "credentials.json"
ENV_FILE = ETC / "qms.env"
TLS_DIR = ETC / "tls"
STATE = Path("var/lib/qms")
BROKER_DIR = STATE / "broker"
UNITS = Path("etc/systemd/system")
USER_UNITS = Path("etc/systemd/user")
PAM_SERVICE = "qms-session"
LOOPBACK = BrokerAddress("127.0.0.1", 1883)
MOSQUITTO = "/usr/sbin/mosquitto"
CAGE = "/usr/bin/cage"
XWAYLAND = "/usr/bin/Xwayland"
# The queue server pings the watchdog every third of this while its worker lives.
SERVER_WATCHDOG_S = 60


@dataclass(frozen=True)
class Plan:
    """What one machine gets: files (path under root -> text, mode) and units to enable."""

    role: str
    device: str
    broker: BrokerAddress
    files: dict[Path, tuple[str, int]] = field(default_factory=dict)
    units: tuple[str, ...] = ()
    user_units: tuple[str, ...] = ()
    session_user: str = USER


def _abs(p: Path) -> str:
    return "/" + str(p)


def role_of(device: str) -> str:
    kind = device.split("-", 1)[0]
    return {"pad": "counter"}.get(kind, kind)


def program_args(hall: Hall, device: str, broker: BrokerAddress) -> list[str]:
    """The app's command line after `python -m`."""
    common = ["--config", _abs(CONFIG), "--device", device, "--broker", str(broker),
              "--credentials", _abs(CREDENTIALS)]
    kind = device.split("-", 1)[0]
    if kind == "kiosk":
        return ["kiosk", *common, "--data", _abs(STATE / "kiosk")]
    if kind == "display":
        return ["display", *common]
    if kind == "pad":
        return ["counter", *common, "--rating-pad", "--fullscreen"]
    if kind == "counter":
        return ["counter", *common, "--fullscreen"]
    raise ProvisioningError(f"no program runs as {device!r}")


def _exec(python: str, args: Sequence[str]) -> str:
    # systemd splits ExecStart like a shell; none of our arguments has spaces or quotes
    # (paths under /etc/qms, device ids, host:port), which the checks above ensure.
    return " ".join([python, "-m", *args])


# --------------------------------------------------------------------------- units


def broker_unit(hall: Hall) -> str:
    return f"""\
# QMS: the message broker of hall {hall.id} ({hall.name}). Written by
# `python -m provisioning install --role server`; re-run it rather than editing.
[Unit]
Description=QMS message broker (Mosquitto) of hall {hall.id}
Documentation=man:mosquitto(8)
Wants=network-online.target
After=network-online.target
# The packaged mosquitto.service would take port 1883: it is disabled by install.
Conflicts=mosquitto.service
StartLimitIntervalSec=0

[Service]
Type=simple
# Started as root so it can bind, Mosquitto drops to its own `mosquitto` user
# (the config's `user` line) before reading passwd, acl and its persistence.
ExecStart={MOSQUITTO} -c {_abs(BROKER_DIR / "mosquitto.conf")}
# SIGHUP: reread passwd and acl (after `provisioning rotate` or a re-install).
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=2
LimitNOFILE=65536
SyslogIdentifier=qms-broker

[Install]
WantedBy=multi-user.target
"""


def server_unit(hall: Hall, python: str, app: Path, backup_dir: str | None) -> str:
    args = ["queue_server", "--config", _abs(CONFIG), "--data", _abs(STATE / "server"),
            "--broker", str(LOOPBACK), "--credentials", _abs(CREDENTIALS)]
    extra_rw = f"ReadWritePaths={backup_dir}\n" if backup_dir else ""
    return f"""\
# QMS: the queue server of hall {hall.id} ({hall.name}). Written by
# `python -m provisioning install --role server`; re-run it rather than editing.
[Unit]
Description=QMS queue server of hall {hall.id}
Wants=network-online.target qms-broker.service
After=network-online.target qms-broker.service
StartLimitIntervalSec=0

[Service]
# Tells systemd when it is up, then pings the watchdog while its worker thread
# lives: a hung server is restarted, and requests wait in the broker meanwhile.
Type=notify
NotifyAccess=main
WatchdogSec={SERVER_WATCHDOG_S}
User={USER}
Group={USER}
WorkingDirectory={app}
ExecStart={_exec(python, args)}
Restart=always
RestartSec=2
# SIGTERM lets it commit what it is doing and say `offline`.
TimeoutStopSec=30
Environment=PYTHONUNBUFFERED=1
SyslogIdentifier=qms-server
StateDirectory=qms/server
StateDirectoryMode=0750
{extra_rw}NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
"""


def session_unit(hall: Hall, device: str, python: str, app: Path, broker: BrokerAddress,
                 what: str, cage: str = CAGE) -> str:
    """A locked-down session on tty1: the app alone in cage, as user qms, for ever."""
    return f"""\
# QMS: {what} {device} of hall {hall.id}, alone on the screen. Written by
# `python -m provisioning install`; re-run it rather than editing.
#
# The session: systemd logs user {USER} in on tty1 (PAM service {PAM_SERVICE}, no
# password, no getty) and runs cage, a Wayland kiosk compositor that shows one
# application full screen: no desktop, no panel, no window to close, and without
# -s no Ctrl+Alt+F<n> to another console. Cage never blanks the screen. If the
# app exits or crashes, cage ends and systemd starts it all again.
[Unit]
Description=QMS {what} {device} (locked-down session on tty1)
Wants=network-online.target
After=network-online.target systemd-user-sessions.service plymouth-quit-wait.service
After=getty@tty1.service
Conflicts=getty@tty1.service
ConditionPathExists=/dev/tty1
StartLimitIntervalSec=0

[Service]
Type=simple
User={USER}
Group={USER}
PAMName={PAM_SERVICE}
TTYPath=/dev/tty1
TTYReset=yes
TTYVHangup=yes
TTYVTDisallocate=yes
StandardInput=tty-fail
StandardOutput=journal
StandardError=journal
UtmpIdentifier=tty1
UtmpMode=user
WorkingDirectory={app}
Environment=QT_QPA_PLATFORM=wayland
Environment=QT_WAYLAND_DISABLE_WINDOWDECORATION=1
Environment=XDG_SESSION_TYPE=wayland
Environment=PYTHONUNBUFFERED=1
StateDirectory=qms/{role_of(device)}
ExecStart={cage} -d -- {_exec(python, program_args(hall, device, broker))}
Restart=always
RestartSec=2
SyslogIdentifier=qms-{device}

[Install]
WantedBy=graphical.target
"""


def counter_unit(hall: Hall, device: str, python: str, app: Path,
                 broker: BrokerAddress) -> str:
    return f"""\
# QMS: the counter terminal {device} of hall {hall.id}, in the clerk's desktop
# session (a user unit: started with the graphical session, restarted if it dies).
# Written by `python -m provisioning install --role counter`.
[Unit]
Description=QMS counter terminal {device}
PartOf=graphical-session.target
After=graphical-session.target
StartLimitIntervalSec=0

[Service]
Type=simple
WorkingDirectory={app}
ExecStart={_exec(python, program_args(hall, device, broker))}
Restart=always
RestartSec=2
Environment=PYTHONUNBUFFERED=1
SyslogIdentifier=qms-{device}

[Install]
WantedBy=graphical-session.target
"""


# --------------------------------------------------------------------------- system files


SYSUSERS = f"""\
# QMS: the user every hall service runs as; devices (udev rules) belong to its group.
g {USER} -
u {USER} -:{USER} "QMS hall services" /var/lib/qms /usr/sbin/nologin
"""

TMPFILES = f"""\
# QMS state: only the services' user reads it (hall.db holds the ID hash secret).
d /var/lib/qms 0755 root root -
d /var/lib/qms/server 0750 {USER} {USER} -
d /var/lib/qms/kiosk 0750 {USER} {USER} -
"""

PAM = """\
# QMS locked-down session (kiosk, board, rating pad): systemd starts it for user qms
# on tty1 without a password (it never asks for one; nothing here authenticates).
account  required pam_unix.so
session  required pam_unix.so
session  required pam_loginuid.so
session  optional pam_keyinit.so force revoke
session  required pam_systemd.so
"""

LOGIND = """\
# QMS locked-down screen: no text consoles to switch to, and the buttons a
# visitor can reach do nothing (staff use the service menu or ssh).
[Login]
NAutoVTs=0
ReserveVT=0
HandlePowerKey=ignore
HandleSuspendKey=ignore
HandleHibernateKey=ignore
HandleRebootKey=ignore
IdleAction=ignore
"""

SYSCTL = """\
# QMS locked-down screen: no magic SysRq keys (Alt+SysRq+B reboots the machine).
kernel.sysrq = 0
"""

JOURNALD = """\
# QMS: services log to the journal, kept across reboots, capped in size and age.
# The programs log ticket numbers, never ID numbers; 90 days keeps a season's
# trouble-shooting without keeping a year of visits.
[Journal]
Storage=persistent
SystemMaxUse=500M
MaxRetentionSec=90day
"""

GRUB = """\
# QMS locked-down screen: the text console never blanks (consoleblank=0), and the
# boot stays quiet. Run update-grub after changing this.
GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT quiet consoleblank=0"
"""


def env_file(role: str, device: str, broker: BrokerAddress, data: str | None) -> str:
    lines = [
        "# QMS: what this machine is; `python -m provisioning doctor` reads it.",
        f"QMS_ROLE={role}", f"QMS_DEVICE={device}", f"QMS_CONFIG={_abs(CONFIG)}",
        f"QMS_BROKER={broker}", f"QMS_CREDENTIALS={_abs(CREDENTIALS)}",
    ]
    if data:
        lines.append(f"QMS_DATA={data}")
    return "\n".join(lines) + "\n"


def read_env(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = path.read_text("utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            out[key.strip()] = value.strip()
    return out


# --------------------------------------------------------------------------- planning


def plan(hall: Hall, role: str, device: str | None, *, broker: str | None, python: str,
         app: Path, credentials: dict[str, str], session_user: str | None = None,
         cage: str = CAGE) -> Plan:
    """Everything `role` needs on this machine, as text; nothing is written."""
    if role not in ROLES:
        raise ProvisioningError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    tls = TlsSettings.from_hall(hall)
    if role == "server":
        device = device or SERVER_DEVICE
        if device != SERVER_DEVICE:
            raise ProvisioningError(f"the server role is device 'server', not {device!r}")
        address = LOOPBACK
    else:
        if not device:
            choices = [d for d in hall.device_ids if role_of(d) == role]
            raise ProvisioningError(f"--device is required for role {role} (this hall's: "
                                    f"{', '.join(choices) or 'none'})")
        if hall.device(device) is None:
            raise ProvisioningError(f"{hall.path}: no device {device!r} in [[devices]]")
        if role_of(device) != role:
            raise ProvisioningError(f"{device} is a {role_of(device)} device, not a {role}")
        if broker:
            try:
                address = BrokerAddress.parse(broker)
            except ValueError as e:
                raise ProvisioningError(str(e)) from None
        elif tls is not None:
            address = BrokerAddress.parse(tls.broker_url)
        else:
            raise ProvisioningError(
                "give --broker (the server's address, e.g. mqtts://qms-server:8883) or "
                "[tls] hosts in the hall config")
        if not address.tls and address.host not in ("127.0.0.1", "::1", "localhost"):
            print(f"provisioning: warning: {device} will talk to {address} without TLS; "
                  f"passwords cross the LAN in the clear (add [tls] to the hall config)",
                  file=sys.stderr)
    if device not in credentials:
        raise ProvisioningError(f"the credentials given have no password for {device!r} (use "
                                f"the server's /var/lib/qms/broker/credentials.json or the "
                                f"file `provisioning rotate` wrote for it)")
    for text in (python, str(app)):
        if any(c.isspace() or c in "\"'\\;$" for c in text):
            raise ProvisioningError(f"{text!r}: paths with spaces or quotes cannot go into "
                                    f"a unit's ExecStart; install the app elsewhere")

    files: dict[Path, tuple[str, int]] = {
        CREDENTIALS: (json.dumps({device: credentials[device]}, indent=2) + "\n", 0o600),
        Path("etc/sysusers.d/qms.conf"): (SYSUSERS, 0o644),
        Path("etc/tmpfiles.d/qms.conf"): (TMPFILES, 0o644),
        Path("etc/systemd/journald.conf.d/90-qms.conf"): (JOURNALD, 0o644),
    }
    units: list[str] = []
    user_units: list[str] = []
    data: str | None = None
    if role == "server":
        from queue_server.backup import BackupSettings

        data = _abs(STATE / "server")
        backup_dir = BackupSettings.from_hall(hall, data).dir
        outside = None if str(backup_dir).startswith(data + "/") else str(backup_dir)
        files[UNITS / "qms-broker.service"] = (broker_unit(hall), 0o644)
        files[UNITS / "qms-server.service"] = (server_unit(hall, python, app, outside), 0o644)
        if outside:
            # Backups on another disk: made for the server's user at boot (the unit
            # may only write there, and refuses to start if the path is missing).
            files[Path("etc/tmpfiles.d/qms.conf")] = (
                TMPFILES + f"d {outside} 0750 {USER} {USER} -\n", 0o644)
        units += ["qms-broker.service", "qms-server.service"]
    else:
        kind = device.split("-", 1)[0]
        if kind == "counter":
            if not session_user:
                raise ProvisioningError(
                    "a counter terminal runs in the clerk's desktop session: name that login "
                    "with --session-user (its credentials file is made readable by it only)")
            files[USER_UNITS / f"qms-{device}.service"] = (
                counter_unit(hall, device, python, app, address), 0o644)
            user_units.append(f"qms-{device}.service")
        else:
            what = {"kiosk": "kiosk", "display": "board", "pad": "rating pad"}[kind]
            files[UNITS / f"qms-{device}.service"] = (
                session_unit(hall, device, python, app, address, what, cage), 0o644)
            units.append(f"qms-{device}.service")
            files[Path("etc/pam.d") / PAM_SERVICE] = (PAM, 0o644)
            files[Path("etc/systemd/logind.conf.d/90-qms-kiosk.conf")] = (LOGIND, 0o644)
            files[Path("etc/sysctl.d/90-qms-kiosk.conf")] = (SYSCTL, 0o644)
            files[Path("etc/default/grub.d/90-qms-kiosk.cfg")] = (GRUB, 0o644)
        if kind in ("kiosk", "pad", "counter"):
            files[Path("etc/udev/rules.d") / UDEV_RULES.name] = (UDEV_RULES.read_text("utf-8"),
                                                                0o644)
        if kind == "kiosk":
            data = _abs(STATE / "kiosk")
    files[ENV_FILE] = (env_file(role, device, address, data), 0o644)
    return Plan(role, device, address, files, tuple(units), tuple(user_units),
                session_user or USER)


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Installed:
    root: Path
    plan: Plan
    written: tuple[Path, ...]
    done: tuple[str, ...]  # what was run (real installs) or is left to run (--root)


def _user_ids(name: str) -> tuple[int, int] | None:
    try:
        u = pwd.getpwnam(name)
    except KeyError:
        return None
    return u.pw_uid, u.pw_gid


def _blocked_dir(exe: Path) -> Path | None:
    """The first directory on the way to `exe` (symlinks followed) others cannot enter."""
    for link in (exe, exe.resolve()):
        for d in reversed(link.parents):
            try:
                if not d.stat().st_mode & 0o001:
                    return d
            except OSError:
                return d
    return None


def _run(cmd: list[str], done: list[str], *, must: bool = True) -> None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        done.append(f"skipped (not installed): {' '.join(cmd)}")
        return
    if r.returncode != 0:
        problem = f"{' '.join(cmd)} failed: {(r.stderr or r.stdout).strip()}"
        if must:
            raise ProvisioningError(problem)
        done.append(f"warning: {problem}")
        return
    done.append(" ".join(cmd))


def install(hall: Hall, role: str, device: str | None = None, *, root: str | Path = "/",
            broker: str | None = None, credentials_file: str | Path | None = None,
            python: str | None = None, app: str | Path = REPO,
            session_user: str | None = None, cage: str = CAGE,
            activate: bool | None = None) -> Installed:
    """Write `role`'s files under `root`; `activate` (default: root is /) also creates the
    user, hands the credentials to it, reloads udev and enables and starts the services."""
    root = Path(root).resolve()
    real = root == Path("/") if activate is None else activate
    app = Path(app).resolve()
    venv_python = app / ".venv" / "bin" / "python"
    python = python or str(venv_python if venv_python.exists() else Path(sys.executable))
    if not Path(python).exists():
        raise ProvisioningError(f"{python} does not exist; run ./qms setup in {app} first")
    broker_dir = root / BROKER_DIR
    tls = TlsSettings.from_hall(hall)
    done: list[str] = []
    blocked = _blocked_dir(Path(python))
    if blocked is not None:
        problem = (f"{blocked} is closed to other users, so user {USER} cannot run {python}; "
                   f"make the venv with a system python (./qms setup with python3.11 from "
                   f"apt) under a readable directory such as /opt/qms")
        if real:
            raise ProvisioningError(problem)
        done.append(f"warning: {problem}")

    # The config is copied to /etc/qms: a path in it relative to where it is now would
    # point somewhere else there.
    for section, key in (("backup", "dir"), ("filing", "catalogue")):
        value = hall.section(section).get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            raise ProvisioningError(
                f"{hall.path}: {section}.{key} = {value!r} is relative to the config file, "
                f"which install copies to {_abs(CONFIG)}; write the absolute path")
    if role == "server" and device not in (None, SERVER_DEVICE):
        raise ProvisioningError(f"the server role is device 'server', not {device!r}")
    if role == "server":
        # The broker's files come first: they hold every device's password.
        tls_listener = None
        if tls is not None:
            tls_files = provision_tls(hall, root / TLS_DIR, tls.hosts)
            tls_listener = TlsListener(BrokerAddress("0.0.0.0", tls.port),
                                       Path("/") / TLS_DIR / tls_files.cert.name,
                                       Path("/") / TLS_DIR / tls_files.key.name)
        files = provision_hall(hall, broker_dir, LOOPBACK, tls=tls_listener)
        if not real:
            # The config names the broker's files where they will be on the machine.
            conf = files.conf.read_text("utf-8").replace(str(broker_dir), _abs(BROKER_DIR))
            _write(files.conf, conf, files.conf.stat().st_mode & 0o777)
        done += [f"warning: {w}" for w in files.warnings]
        credentials = read_credentials(files.credentials)
    else:
        if credentials_file is None:
            raise ProvisioningError("give --credentials FILE: the server's "
                                    "/var/lib/qms/broker/credentials.json (or the device's "
                                    "file from `provisioning rotate`), e.g. on a USB stick")
        credentials = read_credentials(Path(credentials_file))

    session = role != "server" and not (device or "").startswith("counter-")
    if real and session:
        # Debian's cage refuses to start without Xwayland, and does not depend on it.
        for exe in (cage, XWAYLAND):
            if not Path(exe).exists():
                raise ProvisioningError(f"{exe} not found: apt-get install cage xwayland (the "
                                        f"kiosk compositor) first")
    p = plan(hall, role, device, broker=broker, python=python, app=app,
             credentials=credentials, session_user=session_user, cage=cage)
    if p.broker.tls:
        ca = root / p.broker.ca_file.lstrip("/")
        if not ca.exists():
            raise ProvisioningError(
                f"{ca} is missing: copy ca.crt from the server's /etc/qms/tls/ (the "
                f"hall CA; never ca.key) before installing a {role}")
    owner: tuple[int, int] | None = None
    if real:
        sysusers = root / "etc/sysusers.d/qms.conf"
        sysusers.parent.mkdir(parents=True, exist_ok=True)
        _write(sysusers, SYSUSERS, 0o644)
        if _user_ids(USER) is None:
            if shutil.which("systemd-sysusers"):
                _run(["systemd-sysusers", str(sysusers)], done)
            else:
                _run(["useradd", "--system", "--user-group", "--home-dir", "/var/lib/qms",
                      "--shell", "/usr/sbin/nologin", USER], done)
        owner = _user_ids(p.session_user)
        if owner is None:
            raise ProvisioningError(f"user {p.session_user!r} does not exist")

    written: list[Path] = []
    shutil_config = root / CONFIG
    shutil_config.parent.mkdir(parents=True, exist_ok=True)
    _write(shutil_config, Path(hall.path).read_text("utf-8"), 0o644)
    written.append(shutil_config)
    for rel, (text, mode) in p.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, text, mode, owner if rel == CREDENTIALS else None)
        written.append(target)

    units = list(p.units)
    if real:
        _run(["systemd-tmpfiles", "--create", "/etc/tmpfiles.d/qms.conf"], done)
        _run(["systemctl", "daemon-reload"], done)
        if role == "server":
            # The packaged broker, if any, would hold port 1883.
            _run(["systemctl", "disable", "--now", "mosquitto.service"], done, must=False)
        else:
            _run(["udevadm", "control", "--reload"], done)
            _run(["udevadm", "trigger"], done, must=False)
            if units:
                _run(["sysctl", "--system"], done)
                _run(["systemctl", "set-default", "graphical.target"], done)
                _run(["systemctl", "mask", "ctrl-alt-del.target"], done)
        if units:
            _run(["systemctl", "enable", "--now", *units], done)
        if p.user_units:
            _run(["systemctl", "--global", "enable", *p.user_units], done)
    else:
        if units:
            mask = root / UNITS / "ctrl-alt-del.target"
            if role != "server" and not mask.exists():
                mask.symlink_to("/dev/null")
            _run(["systemctl", f"--root={root}", "enable", *units], done)
        if p.user_units:
            _run(["systemctl", f"--root={root}", "--global", "enable", *p.user_units], done)
        done.append(f"as root on the machine: systemd-sysusers; systemd-tmpfiles --create; "
                    f"chown {p.session_user} {_abs(CREDENTIALS)}; systemctl daemon-reload")
    return Installed(root, p, tuple(written), tuple(done))

