"""What is wrong with this machine? `python -m provisioning doctor --config HALL.toml`.

Each check says, in plain Chinese and English, what it found and, when something
is wrong, what to do. Exit status 1 if any check failed (a warning does not fail).

The checks use the real parts of the hall: the MQTT login through mqttlink (TLS and
all), the ID card reader through devices.idcard.CardReader, the printer through
devices.printer.TicketPrinter. They are functions returning Check values, so they
are tested without a terminal; `render` makes the text.

On a device, the MQTT check logs in as that device. The broker allows one
connection per device, so the running app is disconnected for a moment and comes
back by itself; the check resumes the device's session rather than wiping it, and
subscribes at QoS 0 so nothing is queued for it afterwards. On the server, the
doctor never logs in as `server` (its session holds the requests in flight): it
checks the broker port and the password against the broker's passwd instead.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt

from queue_server.config import Device, Hall
from queue_server.mqttlink import (
    SESSION_EXPIRY_S,
    BrokerAddress,
    CredentialsError,
    make_client,
    reason_ok,
)
from queue_server.mqttlink import connect as mqtt_connect

# The server republishes every service's state this often (queue_server.mqtt.REFRESH_S),
# so a retained state is at most this old when the clocks agree.
STATE_REFRESH_S = 60.0
CLOCK_TOLERANCE_S = 30.0
MIN_FREE_BYTES = 1 << 30
MIN_FREE_SHARE = 0.05
MQTT_TIMEOUT_S = 5.0
FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


class Level(enum.Enum):
    OK = "✓"
    WARN = "!"
    FAIL = "✗"
    SKIP = "–"


@dataclass(frozen=True)
class Check:
    level: Level
    zh: str
    en: str
    fix_zh: str = ""
    fix_en: str = ""

    @property
    def failed(self) -> bool:
        return self.level is Level.FAIL


def ok(zh: str, en: str) -> Check:
    return Check(Level.OK, zh, en)


def fail(zh: str, en: str, fix_zh: str, fix_en: str) -> Check:
    return Check(Level.FAIL, zh, en, fix_zh, fix_en)


def render(checks: list[Check]) -> str:
    lines: list[str] = []
    for c in checks:
        lines.append(f"{c.level.value} {c.zh} / {c.en}")
        if c.fix_zh or c.fix_en:
            lines.append(f"    → {c.fix_zh} / {c.fix_en}")
    bad = sum(c.failed for c in checks)
    if bad:
        lines.append(f"有 {bad} 项需要处理。 / {bad} thing(s) to fix.")
    else:
        lines.append("全部正常。 / Everything checked is fine.")
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """What to check: this machine's device and how it reaches the hall."""

    hall: Hall
    device: str
    broker: BrokerAddress
    credentials: Path
    data: Path | None = None
    broker_dir: Path = Path("/var/lib/qms/broker")
    tls_dir: Path = Path("/etc/qms/tls")

    @property
    def role(self) -> str:
        return self.device.split("-", 1)[0]


# --------------------------------------------------------------------------- credentials


def check_credentials(t: Target) -> tuple[Check, str | None]:
    p = t.credentials
    try:
        data = json.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        return fail(f"找不到密码文件 {p}", f"credentials file {p} not found",
                    "在服务器上重新安装本机（provisioning install）",
                    "re-run `provisioning install` with the server's credentials"), None
    except (OSError, ValueError) as e:
        return fail(f"密码文件 {p} 无法读取", f"credentials file {p} cannot be read: {e}",
                    "以 root 身份运行本检查，或重新安装本机",
                    "run the doctor as root, or re-install this machine"), None
    password = data.get(t.device) if isinstance(data, dict) else None
    if not isinstance(password, str):
        return fail(f"密码文件里没有 {t.device} 的密码", f"{p} has no password for {t.device}",
                    "用服务器上的密码文件重新安装本机",
                    "re-install with the server's credentials.json"), None
    mode = os.stat(p).st_mode & 0o777
    if mode & 0o077:
        return fail(f"密码文件 {p} 其他用户也能读", f"{p} is readable by others (mode {mode:o})",
                    f"执行 chmod 600 {p}", f"chmod 600 {p}"), password
    return ok(f"密码文件正常（{t.device}）", f"credentials file {p} holds {t.device}, mode 600"), \
        password


# --------------------------------------------------------------------------- broker


@dataclass
class HallView:
    """What the doctor saw on the broker: retained server status and state times."""

    server_status: str | None = None
    state_times: list[datetime] | None = None


def _connect_and_look(t: Target, password: str) -> tuple[Check, HallView | None]:
    view = HallView(state_times=[])
    got = threading.Event()
    result: list[object] = []
    lock = threading.Lock()
    client = make_client(t.hall.id, t.device, password, clean_start=False,
                         session_expiry_s=SESSION_EXPIRY_S, will=False, manual_ack=True)

    def on_connect(c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
        result.append(rc)
        got.set()

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            if msg.topic.endswith("/status/server"):
                view.server_status = msg.payload.decode("utf-8", "replace")
            else:
                try:
                    at = json.loads(msg.payload).get("at")
                    view.state_times.append(datetime.fromisoformat(at))  # type: ignore[union-attr]
                except (ValueError, TypeError, AttributeError):
                    pass

    client.on_connect = on_connect
    client.on_message = on_message
    where = f"{t.broker}"
    try:
        mqtt_connect(client, t.broker, blocking=True)
    except CredentialsError as e:
        return fail("无法校验服务器证书（缺少根证书）", str(e),
                    "从服务器复制 /etc/qms/tls/ca.crt 到本机同一位置",
                    "copy /etc/qms/tls/ca.crt from the server to the same place here"), None
    except ssl.SSLCertVerificationError as e:
        return fail(f"服务器证书不对（{where}）", f"the broker's certificate is not trusted: "
                    f"{e.verify_message}",
                    "确认连的是本大厅的服务器；名称须与证书一致，必要时在服务器上重新运行 "
                    "provisioning tls", "check the address is this hall's server and named in "
                    "its certificate ([tls] hosts); re-run `provisioning tls` on the server"), None
    except OSError as e:
        return fail(f"连不上消息服务器 {where}", f"cannot reach the broker at {where}: {e}",
                    "检查网线和服务器是否开机；在服务器上执行 systemctl status qms-broker",
                    "check the network cable and that the server is on; on the server: "
                    "systemctl status qms-broker"), None
    client.loop_start()
    try:
        if not got.wait(MQTT_TIMEOUT_S):
            return fail(f"消息服务器 {where} 没有应答", f"no answer from the broker at {where}",
                        "在服务器上执行 systemctl restart qms-broker",
                        "on the server: systemctl restart qms-broker"), None
        if not reason_ok(result[0]):
            return fail("消息服务器拒绝了本机的密码", f"the broker refused {t.device}: {result[0]}",
                        f"密码可能已更换：在服务器上执行 python -m provisioning rotate "
                        f"{t.device}，把新密码文件装到本机",
                        f"the password may have been rotated: run `provisioning rotate "
                        f"{t.device}` on the server and install the new file here"), None
        root = f"qms/{t.hall.id}"
        # QoS 0: an offline session does not queue QoS 0 messages, so nothing piles up.
        client.subscribe([(f"{root}/status/server", 0), (f"{root}/state/service/+", 0)])
        deadline = time.monotonic() + 1.0
        want = len(t.hall.services)
        while time.monotonic() < deadline:
            with lock:
                if view.server_status is not None and len(view.state_times or []) >= want:
                    break
            time.sleep(0.02)
        client.unsubscribe([f"{root}/status/server", f"{root}/state/service/+"])
        time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    return ok(f"消息服务器可连接，{t.device} 登录成功", f"broker {where} reachable, logged in as "
              f"{t.device}"), view


def check_server_status(view: HallView | None) -> Check:
    if view is None:
        return Check(Level.SKIP, "未检查排队服务器（连不上消息服务器）",
                     "queue server not checked (no broker)")
    if view.server_status == "online":
        return ok("排队服务器在线", "queue server is online")
    return fail("排队服务器不在线", f"queue server is {view.server_status or 'not known'}",
                "在服务器上执行 systemctl restart qms-server，查看 journalctl -u qms-server",
                "on the server: systemctl restart qms-server; see journalctl -u qms-server")


def check_clock(view: HallView | None, now: datetime) -> Check:
    if view is None or not view.state_times:
        return Check(Level.SKIP, "未比对时钟（没有收到服务器时间）",
                     "clock not compared (no state from the server)")
    newest = max(view.state_times)
    age = (now - newest).total_seconds()
    if -CLOCK_TOLERANCE_S <= age <= STATE_REFRESH_S + CLOCK_TOLERANCE_S:
        return ok("本机时钟与服务器一致", f"clock agrees with the server's (last state {age:.0f} s "
                  f"ago, republished every {STATE_REFRESH_S:.0f} s)")
    if age < 0:
        return fail(f"本机时钟比服务器慢约 {-age:.0f} 秒", f"this clock is about {-age:.0f} s "
                    f"behind the server's", "校准本机时间（timedatectl，或设置与服务器同步）",
                    "set the time (timedatectl set-ntp true, with the server as time source)")
    return fail(f"本机时钟比服务器快约 {age - STATE_REFRESH_S:.0f} 秒以上",
                f"this clock is at least {age - STATE_REFRESH_S:.0f} s ahead of the server's "
                f"(or the server has not published for {age:.0f} s)",
                "校准本机时间；若时间无误，检查服务器", "set the time; if it is right, check the "
                "server (journalctl -u qms-server)")


def check_server_side(t: Target, password: str) -> list[Check]:
    """On the server: the broker port answers, the password is the broker's, the
    queue server holds its data directory."""
    from provisioning.broker import verify_password
    from queue_server.backup import LOCK_NAME, ServerLock

    out: list[Check] = []
    try:
        with socket.create_connection((t.broker.host, t.broker.port), timeout=2):
            out.append(ok(f"消息服务器端口 {t.broker} 可连接", f"broker port {t.broker} answers"))
    except OSError as e:
        out.append(fail("消息服务器没有运行", f"nothing answers on {t.broker}: {e}",
                        "执行 systemctl restart qms-broker，查看 journalctl -u qms-broker",
                        "systemctl restart qms-broker; see journalctl -u qms-broker"))
    passwd = t.broker_dir / "passwd"
    try:
        line = next((ln.split(":", 1)[1] for ln in passwd.read_text().splitlines()
                     if ln.startswith("server:")), "")
        if verify_password(password, line):
            out.append(ok("排队服务器的密码与消息服务器一致", f"the server's password matches "
                          f"{passwd}"))
        else:
            out.append(fail("排队服务器的密码与消息服务器不一致", f"the server's password is not "
                            f"the one in {passwd}", "重新运行 provisioning install --role server",
                            "re-run `provisioning install --role server`"))
    except OSError as e:
        out.append(Check(Level.SKIP, "未核对密码（读不到消息服务器的密码文件）",
                         f"password not compared: {passwd}: {e.strerror}"))
    if t.data is not None:
        lock = ServerLock(t.data)
        try:
            lock.acquire("doctor")
        except Exception:  # DatabaseBusy, or no access to the lock file: held either way
            holder = (t.data / LOCK_NAME).read_text(errors="replace").strip() \
                if (t.data / LOCK_NAME).exists() else "?"
            out.append(ok("排队服务器正在运行", f"the queue server is running ({holder})"))
        else:
            lock.release()
            out.append(fail("排队服务器没有运行", f"no queue server holds {t.data}",
                            "执行 systemctl restart qms-server，查看 journalctl -u qms-server",
                            "systemctl restart qms-server; see journalctl -u qms-server"))
    return out


def check_tls_listener(t: Target, ca_file: Path) -> Check | None:
    """Server with [tls]: the LAN listener answers with a certificate devices will accept."""
    from provisioning.tls import TlsSettings

    settings = TlsSettings.from_hall(t.hall)
    if settings is None:
        return None
    host = settings.hosts[0]
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file))
        with socket.create_connection((host, settings.port), timeout=3) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert()
    except FileNotFoundError:
        return fail("找不到大厅根证书", f"hall CA {ca_file} not found",
                    "重新运行 provisioning install --role server",
                    "re-run `provisioning install --role server`")
    except ssl.SSLCertVerificationError as e:
        return fail("消息服务器的证书不被设备接受", f"the TLS listener's certificate fails: "
                    f"{e.verify_message}", "重新运行 provisioning install --role server",
                    "re-run `provisioning install --role server` ([tls] hosts must name this "
                    "machine)")
    except OSError as e:
        return fail(f"设备连不上消息服务器的加密端口 {host}:{settings.port}",
                    f"TLS listener {host}:{settings.port} unreachable: {e}",
                    "检查本机地址是否为 [tls] hosts 的第一个；执行 systemctl restart qms-broker",
                    "check this machine has the first [tls] hosts address; systemctl restart "
                    "qms-broker")
    days = int((ssl.cert_time_to_seconds(str(cert["notAfter"])) - time.time()) // 86400)
    if days < 30:
        return Check(Level.WARN, f"消息服务器证书 {days} 天后过期",
                     f"the broker certificate expires in {days} days",
                     "运行 python -m provisioning install --role server 更新证书",
                     "re-run `provisioning install --role server` to renew it")
    return ok(f"设备可用加密方式连接 {host}:{settings.port}", f"TLS listener {host}:"
              f"{settings.port} presents a valid certificate ({days} days left)")


def check_backups(t: Target, now: datetime) -> Check:
    from queue_server.backup import BackupSettings, list_backups

    settings = BackupSettings.from_hall(t.hall, t.data or "/var/lib/qms/server")
    if not settings.enabled:
        return Check(Level.WARN, "数据备份已关闭", "backups are off ([backup] enabled = false)",
                     "在大厅配置中打开 [backup]", "turn [backup] on in the hall config")
    found = list_backups(settings.dir)
    if not found:
        return fail("还没有数据备份", f"no backups in {settings.dir}",
                    "确认排队服务器在运行；备份在启动时自动进行",
                    "check the queue server runs: it backs up when it starts")
    age = (now.replace(tzinfo=None) - found[-1].at).total_seconds()
    if age > 2 * settings.interval_s + 600:
        return fail(f"最近一次备份是 {age / 3600:.1f} 小时前", f"the newest backup is "
                    f"{age / 3600:.1f} h old ({found[-1].path})",
                    "查看 journalctl -u qms-server 中的 backup 记录",
                    "see the backup lines in journalctl -u qms-server")
    if t.data is not None and (t.data / "filing.key").exists() \
            and not (settings.dir / "filing.key").exists():
        return fail("备份里没有材料密钥，恢复后读不出申报材料",
                    f"{settings.dir} has no filing.key: restored filings could not be read",
                    "重启排队服务器（启动时会备份），或手工复制 filing.key 到备份目录",
                    "restart the queue server (it backs up at start), or copy filing.key into "
                    "the backup directory")
    return ok(f"数据备份正常（共 {len(found)} 份）", f"{len(found)} backups, newest "
              f"{found[-1].path.name}")


# --------------------------------------------------------------------------- this machine


def check_disk(path: Path) -> Check:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    usage = shutil.disk_usage(p)
    free_gb = usage.free / (1 << 30)
    if usage.free < MIN_FREE_BYTES or usage.free < usage.total * MIN_FREE_SHARE:
        return fail(f"磁盘空间不足（剩 {free_gb:.1f} GB）", f"low disk space on {p}: "
                    f"{free_gb:.1f} GB free of {usage.total / (1 << 30):.0f} GB",
                    "删除不需要的文件，或换更大的硬盘",
                    "free some space (old files in /var/log, /tmp) or fit a larger disk")
    return ok(f"磁盘空间充足（剩 {free_gb:.1f} GB）", f"{free_gb:.1f} GB free on {p}")


def check_writable(path: Path) -> Check:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as f:
            f.write(b"x")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return fail(f"数据目录 {path} 无法写入", f"data directory {path} is not writable: "
                    f"{e.strerror}", "检查磁盘是否已满或损坏；执行 systemd-tmpfiles --create",
                    "check the disk (full? read-only after errors?); systemd-tmpfiles --create")
    return ok(f"数据目录 {path} 可写", f"data directory {path} is writable")


def _port_busy(port: str) -> list[int]:
    from queue_server.backup import processes_using

    # A pseudo-terminal is a simulator's, which keeps its own end open by design;
    # real readers and printers are never ptys.
    if os.path.realpath(port).startswith("/dev/pts/"):
        return []
    try:
        return processes_using(Path(port))
    except OSError:
        return []


def check_idcard(port: str, read_s: float = 1.5) -> Check:
    from devices import DeviceState
    from devices.idcard import CardReader, CardReadError

    if not os.path.exists(port):
        return fail(f"找不到身份证阅读器（{port}）", f"ID card reader not found at {port}",
                    "检查阅读器的 USB 线；换一个 USB 口；执行 udevadm trigger",
                    "check the reader's USB cable, try another port, then udevadm trigger")
    busy = _port_busy(port)
    if busy:
        return Check(Level.SKIP, "身份证阅读器正被自助机程序使用，未检查",
                     f"ID card reader {port} is in use by process {busy[0]}; not checked",
                     "如需检查，先停止自助机服务", "stop the kiosk service to check it")
    reader = CardReader(port, retries=2)
    try:
        card = reader.read_card(timeout=read_s)
    except CardReadError as e:
        return fail("阅读器上的身份证读不出", f"a card is on the reader but cannot be read: {e}",
                    "拿开身份证重放；仍不行请换一张卡试，或清洁阅读器",
                    "take the card away and put it back; try another card")
    finally:
        status = reader.status
        reader.close()
    if card is not None:
        # Only that a card is there: the doctor prints no personal data.
        return ok("身份证阅读器正常，读到一张身份证（请取走）",
                  f"ID card reader at {port} answers and read a card (take it away)")
    if status.state is DeviceState.READY:
        return ok("身份证阅读器正常（上面没有身份证）",
                  f"ID card reader at {port} answers; no card on it")
    return fail("身份证阅读器没有应答",
                f"ID card reader at {port}: {status.message or status.state}",
                "拔插阅读器的 USB 线；确认阅读器指示灯亮",
                "unplug and replug the reader; check its power light")


def check_printer(device: Device) -> Check:
    from devices.printer import (
        PaperState,
        PrinterConfigError,
        PrinterError,
        PrinterNotResponding,
        PrinterSettings,
        PrinterUnavailable,
        StatusUnsupported,
        TicketPrinter,
    )

    try:
        settings = PrinterSettings.from_config(device)
    except PrinterConfigError as e:
        return fail("打印机设置有误", f"printer settings: {e}", "修改大厅配置中的打印机设置",
                    "fix the printer keys in the hall config")
    address = settings.address
    if address.kind == "serial":
        if not os.path.exists(address.path):
            return fail(f"找不到打印机（{address.path}）", f"no printer at {address}",
                        "检查打印机电源和 USB 线；执行 udevadm trigger",
                        "check the printer's power and USB cable, then udevadm trigger")
        busy = _port_busy(address.path)
        if busy:
            return Check(Level.SKIP, "打印机正被自助机程序使用，未检查",
                         f"printer {address} is in use by process {busy[0]}; not checked",
                         "如需检查，先停止自助机服务", "stop the kiosk service to check it")
    try:
        status = TicketPrinter(settings).status()
    except StatusUnsupported:
        return Check(Level.WARN, "打印机不报告状态，无法检查纸张",
                     f"{address} cannot report its status; paper not checked")
    except PrinterUnavailable as e:
        return fail("打印机连不上", f"printer {address}: {e}",
                    "检查打印机电源和连线", "check the printer's power and cable")
    except PrinterNotResponding as e:
        return fail("打印机没有应答", str(e), "打开打印机电源；检查连线和波特率设置",
                    "switch the printer on; check the cable and the baud rate")
    except PrinterError as e:
        return fail("打印机出错", f"printer {address}: {e}", "关掉打印机电源再打开",
                    "switch the printer off and on")
    if status.paper is PaperState.OUT:
        return fail("打印机缺纸", f"printer {address}: out of paper",
                    "装入新的热敏纸卷，合上盖子",
                    "load a new roll of thermal paper, close the cover")
    if status.cover_open:
        return fail("打印机盖子没关好", f"printer {address}: cover open", "合上打印机盖子",
                    "close the printer cover")
    if not status.can_print:
        return fail("打印机离线", f"printer {address}: {status.describe()}",
                    "关掉打印机电源再打开；检查是否卡纸", "switch it off and on; check for a jam")
    if status.paper is PaperState.NEAR_END:
        return Check(Level.WARN, "打印机纸快用完了", f"printer {address}: paper nearly used up",
                     "准备好新纸卷", "have a new roll ready")
    return ok("打印机正常，有纸", f"printer {address} is online with paper")


def check_port(port: str, zh: str, en: str) -> Check:
    if os.path.exists(port):
        return ok(f"{zh}已连接（{port}）", f"{en} present at {port}")
    return fail(f"找不到{zh}（{port}）", f"{en} not found at {port}",
                "检查 USB 线；执行 udevadm trigger",
                "check its USB cable, then udevadm trigger")


def check_fonts(fc_list: Callable[[], str] | None = None) -> Check:
    found = any(os.path.exists(f) for f in FONT_FILES)
    if not found and shutil.which("fc-list"):
        out = (fc_list or (lambda: subprocess.run(["fc-list", ":lang=zh"], capture_output=True,
                                                  text=True, timeout=30).stdout))()
        found = "WenQuanYi" in out or "文泉驿" in out
    if found:
        return ok("中文字体已安装", "Chinese fonts installed (WenQuanYi)")
    return fail("没有中文字体", "no Chinese font (fonts-wqy-microhei)",
                "执行 apt-get install fonts-wqy-microhei", "apt-get install fonts-wqy-microhei")


def check_voice(espeak: str = "espeak-ng") -> Check:
    exe = shutil.which(espeak)
    if exe is None:
        return fail("没有语音合成（叫号不会出声）", "no espeak-ng: calls would be silent",
                    "执行 apt-get install espeak-ng", "apt-get install espeak-ng")
    try:
        r = subprocess.run([exe, "-v", "cmn", "--stdout", "请A001号到1号窗口"],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        r = None
        err = str(e)
    if r is None or r.returncode != 0 or not r.stdout.startswith(b"RIFF"):
        err = err if r is None else r.stderr.decode(errors="replace").strip()
        return fail("语音合成不能说普通话", f"espeak-ng cannot speak Mandarin (cmn): {err}",
                    "执行 apt-get install --reinstall espeak-ng espeak-ng-data",
                    "apt-get install --reinstall espeak-ng espeak-ng-data")
    return ok("语音合成正常（普通话）", "espeak-ng speaks Mandarin")


def check_service(unit: str) -> Check:
    if not shutil.which("systemctl"):
        return Check(Level.SKIP, "未检查服务（没有 systemd）", f"{unit} not checked (no systemctl)")
    r = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True,
                       timeout=30)
    state = r.stdout.strip()
    if state == "active":
        return ok(f"服务 {unit} 在运行", f"service {unit} is running")
    if "offline" in r.stderr or "not been booted with systemd" in r.stderr or not state:
        return Check(Level.SKIP, "未检查服务（systemd 未运行）",
                     f"{unit} not checked (systemd is not running here)")
    return fail(f"服务 {unit} 没有运行（{state}）", f"service {unit} is {state}",
                f"执行 systemctl restart {unit}，查看 journalctl -u {unit}",
                f"systemctl restart {unit}; see journalctl -u {unit} -e")


# --------------------------------------------------------------------------- all of it


def run(t: Target, *, now: Callable[[], datetime] | None = None,
        services: bool = True, voice: bool | None = None) -> Iterator[Check]:
    """Every check that applies to `t`, in the order a technician would look."""
    clock = now or (lambda: datetime.now(t.hall.tz))
    cred, password = check_credentials(t)
    yield cred
    if t.role == "server":
        if password is not None:
            yield from check_server_side(t, password)
        listener = check_tls_listener(t, t.tls_dir / "ca.crt")
        if listener is not None:
            yield listener
        yield check_backups(t, clock())
    elif password is not None:
        login, view = _connect_and_look(t, password)
        yield login
        yield check_server_status(view)
        yield check_clock(view, clock())
    if services:
        units = ["qms-broker.service", "qms-server.service"] if t.role == "server" else \
            [f"qms-{t.device}.service"] if t.role != "counter" else []
        for u in units:
            yield check_service(u)
    yield check_disk(t.data or Path("/var/lib/qms"))
    if t.data is not None:
        yield check_writable(t.data)
    device = t.hall.device(t.device)
    if device is not None:
        if device.idcard_port:
            yield check_idcard(device.idcard_port)
        if device.printer:
            yield check_printer(device)
        if device.scanner_port:
            yield check_port(device.scanner_port, "扫码器", "QR scanner")
        if device.camera is not None:
            yield check_port(f"/dev/video{device.camera}", "摄像头", "camera")
    if t.role != "server":
        yield check_fonts()
    if voice if voice is not None else t.role == "display":
        yield check_voice()

