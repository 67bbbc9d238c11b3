"""A real Mosquitto for tests, provisioned exactly as a hall's broker is.

    with Broker.start(DEMO_HALL) as broker:          # or the `broker` pytest fixture
        kiosk = broker.collector("kiosk-1", "qms/demo/reply/kiosk-1/#")
        server = broker.collector("server", "qms/demo/cmd/#")
        kiosk.publish("qms/demo/cmd/kiosk-1/issue", {"id": "r1", "service": "A"})
        msg = server.wait_for("qms/demo/cmd/+/issue", lambda m: m.json()["id"] == "r1")

Every client made through a Broker (connect, collector) is disconnected when the
broker is closed, so no paho thread outlives its test reconnecting to nothing.

As in a hall, the client id is forced to the username: one connection per device
(see Broker.start for bind_client_ids=False). Denied publishes get PUBACK 0x87;
denied subscriptions are granted but receive nothing (Mosquitto checks `read` per
message). After broker.restart() or .kill() + restart(crash=True), a collector
resubscribes by itself: call collector.wait_connections(2) before expecting more.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from provisioning.broker import DEFAULT_AUTOSAVE_CHANGES, BrokerFiles, provision_hall
from queue_server.config import Hall, load_hall
from queue_server.mqttlink import BrokerAddress, make_client, reason_ok
from queue_server.mqttlink import connect as mqtt_connect

REPO = Path(__file__).resolve().parents[2]
DEMO_HALL = REPO / "assets" / "halls" / "demo.toml"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
LOG_NAME = "mosquitto.log"


class BrokerError(RuntimeError):
    """The test broker did not start or stop as it should; the message has its log."""


class ConnectRefused(ConnectionError):
    """The broker answered CONNECT with a failure reason code."""

    def __init__(self, device: str, reason_code: Any) -> None:
        self.device = device
        self.reason_code = reason_code
        super().__init__(f"broker refused {device!r}: {reason_code}")


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _encode(payload: Any) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties | None = None

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.payload)


class Collector:
    """Keeps everything a client receives, and waits for SUBACKs, PUBACKs and messages.

    Takes over the client's on_message, on_subscribe and on_publish callbacks, and
    on_connect to subscribe again after a reconnect that lost the session (a clean
    start, or a broker restart without it): after `broker.restart()`, call
    `wait_connections(2)` before expecting messages again.
    """

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self._cond = threading.Condition()
        self._messages: list[Received] = []
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._pubacks: dict[int, ReasonCode] = {}
        self._topics: dict[str, int] = {}
        self._connections = 0
        self._ready = 0
        self._resubscribing: tuple[int, int] | None = None
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_connect = self._on_connect

    # paho callbacks (network thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if not reason_ok(reason_code):
            return
        with self._cond:
            self._connections += 1
            generation = self._connections
            topics = list(self._topics.items())
            if getattr(flags, "session_present", False) or not topics:
                self._ready = generation
                self._cond.notify_all()
                return
        _, mid = client.subscribe(topics)
        with self._cond:
            self._resubscribing = (mid, generation)
            self._cond.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        with self._cond:
            self._messages.append(
                Received(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), props)
            )
            self._cond.notify_all()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_codes: list[ReasonCode], properties: Any) -> None:
        with self._cond:
            self._subacks[mid] = list(reason_codes)
            self._cond.notify_all()

    def _resubscribed(self) -> bool | None:
        pending = self._resubscribing
        if pending is not None and self._subacks.pop(pending[0], None) is not None:
            self._ready = max(self._ready, pending[1])
            self._resubscribing = None
        return True if self._ready >= self._connections else None

    @property
    def connections(self) -> int:
        """CONNACKs this client has had, the first one included."""
        with self._cond:
            return self._connections

    def wait_connections(self, n: int, timeout: float = 5.0) -> None:
        """Wait for the n-th CONNACK and for the subscriptions to be back in place."""
        self._wait(lambda: True if self._connections >= n and self._resubscribed() else None,
                   timeout, f"not reconnected ({n} connections) and resubscribed")

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason_code: ReasonCode, properties: Any) -> None:
        with self._cond:
            self._pubacks[mid] = reason_code
            self._cond.notify_all()

    def _wait(self, ready: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = ready()
                if got is not None:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what} within {timeout} s")
                self._cond.wait(left)

    def subscribe(self, *topics: str, qos: int = 1, timeout: float = 5.0) -> list[ReasonCode]:
        """Subscribe and return the SUBACK reason codes (one per topic); does not assert."""
        with self._cond:
            self._topics.update((t, qos) for t in topics)
        rc, mid = self.client.subscribe([(t, qos) for t in topics])
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise ConnectionError(f"cannot send SUBSCRIBE: {mqtt.error_string(rc)}")
        return self._wait(lambda: self._subacks.pop(mid, None), timeout,
                          f"no SUBACK for {', '.join(topics)}")

    def subscribe_ok(self, *topics: str, qos: int = 1, timeout: float = 5.0) -> None:
        codes = self.subscribe(*topics, qos=qos, timeout=timeout)
        refused = [f"{t}: {c}" for t, c in zip(topics, codes, strict=False) if not reason_ok(c)]
        if refused:
            raise AssertionError(f"subscription refused: {'; '.join(refused)}")

    def publish(self, topic: str, payload: Any = None, *, qos: int = 1, retain: bool = False,
                properties: Properties | None = None, timeout: float = 5.0) -> ReasonCode:
        """Publish (dict/list payloads as JSON) and return the PUBACK reason code.

        For QoS 0 the code is Success once the packet is written. Mosquitto answers a
        denied QoS 1 publish with PUBACK 0x87 (Not authorized) and drops it.
        """
        info = self.client.publish(topic, _encode(payload), qos=qos, retain=retain,
                                   properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"cannot send PUBLISH to {topic}: {mqtt.error_string(info.rc)}")
        return self._wait(lambda: self._pubacks.pop(info.mid, None), timeout,
                          f"no PUBACK for {topic}")

    def wait_for(self, topic_filter: str = "#", predicate: Callable[[Received], bool] | None = None,
                 timeout: float = 5.0) -> Received:
        """The first message received (also before the call) matching filter and predicate."""

        def find() -> Received | None:
            for m in self._messages:
                if mqtt.topic_matches_sub(topic_filter, m.topic) and (
                    predicate is None or predicate(m)
                ):
                    return m
            return None

        return self._wait(find, timeout, f"no message on {topic_filter} matched")

    def received(self, topic_filter: str = "#") -> list[Received]:
        with self._cond:
            return [m for m in self._messages if mqtt.topic_matches_sub(topic_filter, m.topic)]

    def assert_nothing(self, topic_filter: str = "#", within: float = 0.3) -> None:
        """Wait `within` seconds and fail if anything matching arrived (denials are silent)."""
        time.sleep(within)
        got = self.received(topic_filter)
        if got:
            raise AssertionError(f"expected nothing on {topic_filter}, got {got[0].topic}"
                                 f" {got[0].payload[:80]!r} (+{len(got) - 1} more)")

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()


class Broker:
    """A Mosquitto subprocess on 127.0.0.1 with a hall's provisioned config."""

    def __init__(self, hall: Hall, files: BrokerFiles, owns_dir: bool,
                 bind_client_ids: bool) -> None:
        self.hall = hall
        self.files = files
        self.bind_client_ids = bind_client_ids
        self._owns_dir = owns_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._clients: list[mqtt.Client] = []

    # ----------------------------------------------------------------- life cycle

    @classmethod
    def start(cls, hall_config_path: str | Path = DEMO_HALL,
              workdir: str | Path | None = None, *, bind_client_ids: bool = True,
              autosave_changes: int = DEFAULT_AUTOSAVE_CHANGES) -> Broker:
        """Provision `hall_config_path` into a fresh directory (or `workdir`) and start it.

        The default directory is under /tmp and world-traversable, because Mosquitto
        started as root reads its files as the `mosquitto` user (pytest's tmp_path is
        not traversable for it); it is removed on close (a given `workdir` is not).

        As in a hall, the broker makes every client id the username, so a second
        connection as a device throws out the first (and they take turns for ever);
        `connect`/`collector` refuse to make one. bind_client_ids=False
        (`--any-client-id`) lets a test connect several clients as one device, e.g.
        watch cmd/# as `server` while the queue server runs.
        """
        hall = load_hall(hall_config_path)
        owns_dir = workdir is None
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix=f"qms-broker-{hall.id}-")
            os.chmod(workdir, 0o755)
        last: BrokerError | None = None
        try:
            # Another process may take the free port before Mosquitto binds it.
            for _ in range(5):
                files = provision_hall(hall, workdir, BrokerAddress(HOST, free_port()),
                                       bind_client_ids=bind_client_ids,
                                       autosave_changes=autosave_changes)
                if files.warnings and os.geteuid() == 0:
                    raise BrokerError("; ".join(files.warnings))
                broker = cls(hall, files, owns_dir, bind_client_ids)
                try:
                    broker._spawn()
                    return broker
                except BrokerError as e:
                    last = e
                    if "Address already in use" not in str(e):
                        raise
            raise last or BrokerError("could not start Mosquitto")
        except BaseException:
            if owns_dir:
                shutil.rmtree(workdir, ignore_errors=True)
            raise

    def _spawn(self) -> None:
        log_path = self.log_path
        with open(log_path, "ab") as log:
            since = log.tell()
            try:
                self._proc = subprocess.Popen(
                    [MOSQUITTO, "-c", str(self.files.conf)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.files.dir,
                )
            except FileNotFoundError:
                raise BrokerError(f"{MOSQUITTO} not found; `./qms setup` installs mosquitto "
                                  f"(as root)") from None
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise BrokerError(f"mosquitto exited with {code} on start; its log "
                                  f"({log_path}):\n{self.log_text(since)}")
            if self._listening(self._proc.pid) and self._accepts():
                return
            if time.monotonic() > deadline:
                self._terminate(signal.SIGKILL)
                raise BrokerError(f"mosquitto did not accept connections within "
                                  f"{START_TIMEOUT_S} s; its log ({log_path}):\n"
                                  f"{self.log_text(since)}")
            time.sleep(0.005)

    def _listening(self, pid: int) -> bool:
        """Whether process `pid` itself listens on our port: a connect alone could reach
        whoever else holds the port, while Mosquitto is still failing to bind it."""
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            mine = set()
            for fd in fds:
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        mine.add(link[8:-1])
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with contextlib.suppress(FileNotFoundError), open(table) as f:
                    for line in f.readlines()[1:]:
                        cols = line.split()
                        port = int(cols[1].rsplit(":", 1)[1], 16)
                        if cols[3] == "0A" and port == self.port and cols[9] in mine:
                            return True
            return False
        except OSError:
            return True  # no /proc to ask (not Linux): trust the connect

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _terminate(self, sig: signal.Signals, timeout: float = 10.0) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                return proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise BrokerError(f"mosquitto ignored {sig.name} for {timeout} s") from None
        return proc.returncode

    def stop(self) -> None:
        """SIGTERM and wait: Mosquitto saves its persistence database on the way out."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash; only what was autosaved survives."""
        self._terminate(signal.SIGKILL)

    def restart(self, *, crash: bool = False) -> None:
        """Stop (or kill, with crash=True) and start again on the same port and directory."""
        if crash:
            self.kill()
        else:
            self.stop()
        self._spawn()

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads passwd and acl (after re-provisioning into .dir)."""
        if self._proc is None:
            raise BrokerError("the broker is not running")
        self._proc.send_signal(signal.SIGHUP)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Disconnect every client made here, stop the broker, remove its directory."""
        clients, self._clients = self._clients, []
        for client in clients:
            close_client(client)
        try:
            self.stop()
        finally:
            if self._owns_dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- facts

    @property
    def host(self) -> str:
        return self.files.listen.host

    @property
    def port(self) -> int:
        return self.files.listen.port

    @property
    def address(self) -> str:
        """'127.0.0.1:PORT', what the programs' --broker flags take."""
        return str(self.files.listen)

    @property
    def broker_address(self) -> BrokerAddress:
        return self.files.listen

    @property
    def dir(self) -> Path:
        return self.files.dir

    @property
    def credentials_file(self) -> Path:
        return self.files.credentials

    @property
    def hall_id(self) -> str:
        return self.hall.id

    @property
    def log_path(self) -> Path:
        return self.dir / LOG_NAME

    def log_text(self, since: int = 0) -> str:
        """Mosquitto's log (all its runs in this directory), from byte offset `since`."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def password(self, device: str) -> str:
        return json.loads(self.credentials_file.read_text("utf-8"))[device]

    # ----------------------------------------------------------------- clients

    def connect(self, device: str, **kw: Any) -> mqtt.Client:
        """A connected paho client for `device`; see `connect` in this module."""
        if self.bind_client_ids:
            for other in self._clients:
                if other._username == device.encode() and not getattr(other, "_qms_closed", 0):
                    raise RuntimeError(
                        f"{device!r} is already connected through this broker, whose client "
                        f"ids are bound to usernames as in a hall: a second connection would "
                        f"throw out the first. Close it (close_client), use another device, "
                        f"or Broker.start(..., bind_client_ids=False)."
                    )
        client = connect(self, device, **kw)
        self._clients.append(client)
        return client

    def collector(self, device: str, *topics: str, qos: int = 1, **kw: Any) -> Collector:
        """A connected client for `device` that collects what it receives, subscribed
        (and SUBACKed, all granted) to `topics`. It collects from the first CONNACK on,
        so messages queued in a resumed session (clean_start=False) are not missed."""
        made: list[Collector] = []
        self.connect(device, prepare=lambda c: made.append(Collector(c)), **kw)
        col = made[0]
        if topics:
            col.subscribe_ok(*topics, qos=qos)
        return col


def connect(
    broker: Broker,
    device: str,
    *,
    password: str | None = None,
    clean_start: bool = True,
    session_expiry_s: int = 0,
    will: bool = False,
    client_id: str | None = None,
    timeout: float = 5.0,
    reconnect_delay_s: float = 0.05,
    prepare: Callable[[mqtt.Client], object] | None = None,
) -> mqtt.Client:
    """Connect `device` (mqttlink.make_client) and wait for CONNACK; loop_start is running.

    Raises ConnectRefused (with .reason_code) when the broker says no, TimeoutError
    when it does not answer. The MQTT client id defaults to the device id for a
    persistent session (clean_start=False: the session belongs to that id, as in the
    hall), else to a fresh unique id so a test's observers never take over the
    session of the device under test.
    `prepare(client)` runs before connecting, to set callbacks that must see what
    arrives right after CONNACK; an on_connect it sets is still called.
    Not tracked: call close_client, or use Broker.connect to have it closed for you.
    """
    if password is None:
        password = broker.password(device)
    client = make_client(
        broker.hall_id, device, password, clean_start=clean_start,
        session_expiry_s=session_expiry_s, will=will,
        client_id=client_id or (device if not clean_start else f"{device}-t{os.urandom(4).hex()}"),
    )
    # mqttlink waits at least 1 s before reconnecting; a test restarting the broker
    # should not wait for that.
    client.reconnect_delay_set(min_delay=reconnect_delay_s, max_delay=1)  # type: ignore[arg-type]
    done = threading.Event()
    result: list[Any] = []

    if prepare is not None:
        prepare(client)
    chained = client.on_connect

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                   properties: Any) -> None:
        if chained is not None:
            chained(c, userdata, flags, reason_code, properties)
        result.append(reason_code)
        done.set()

    client.on_connect = on_connect
    mqtt_connect(client, broker.broker_address)
    client.loop_start()
    if not done.wait(timeout):
        close_client(client)
        raise TimeoutError(f"no CONNACK for {device!r} from {broker.address} within {timeout} s")
    if not reason_ok(result[0]):
        close_client(client)
        raise ConnectRefused(device, result[0])
    return client


def close_client(client: mqtt.Client) -> None:
    """Disconnect cleanly (no will) and stop the network thread."""
    client._qms_closed = True  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        client.disconnect()
    with contextlib.suppress(Exception):
        client.loop_stop()
