"""The server on the broker: requests in, durable replies and retained state out.

One thread does everything: it reads every command the broker has sent, serves
them as a batch (parse → engine → store, all in one SQLite transaction: group
commit), and after COMMIT writes the replies, the state that changed and the calls,
and only then acknowledges the commands to the broker (manual ack), so a command
whose effect is not on disk is redelivered after a crash. The session is persistent
(clean start off), so commands sent while the server is down wait in the broker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from . import mqttlink, requests
from .config import Hall
from .engine import Context, Engine, EventKind, Outcome, TicketStatus
from .engine.core import prune
from .errors import Refusal
from .store import Store
from .topics import Topics, parse_cmd

log = logging.getLogger("queue_server")

BATCH_MAX = 256
REFRESH_S = 60.0  # public snapshot republished this often, so the portal sees a live hall
STATE_COALESCE_S = 0.1
STATE_SETTLE_S = 0.002
SLOW_BATCH_S = 0.1
RECONNECT_MIN_S, RECONNECT_MAX_S = 1.0, 8
ANNOUNCE_AGAIN_S = 120  # logged: a resident waits on every request of a slow batch


def new_code() -> str:
    """The unguessable token of a ticket or booking (lookup online, booking QR)."""
    return secrets.token_urlsafe(9)


class Clock:
    """Wall time in the hall's zone that never steps back (NTP corrections, a bad RTC)."""

    def __init__(self, hall: Hall, source: Callable[[], datetime] | None = None) -> None:
        self.tz = hall.tz
        self.source = source or (lambda: datetime.now(self.tz))
        self.last: datetime | None = None

    def floor(self, at: datetime | None) -> None:
        if at is not None and (self.last is None or at > self.last):
            self.last = at.astimezone(self.tz)

    def now(self) -> datetime:
        t = self.source().astimezone(self.tz)
        if self.last is not None and t < self.last:
            t = self.last
        self.last = t
        return t


@dataclass
class _Pending:
    msg: mqtt.MQTTMessage
    device: str = ""
    op: str = ""
    request_id: str | None = None
    reply: dict[str, Any] | None = None
    outcome: Outcome | None = None
    command: Any = None
    started: float = field(default_factory=time.perf_counter)


class QueueServer:
    def __init__(
        self,
        hall: Hall,
        store: Store,
        broker: mqttlink.BrokerAddress,
        password: str,
        clock: Clock | None = None,
    ) -> None:
        self.hall = hall
        self.store = store
        self.broker = broker
        self.topics = Topics(hall.id)
        self.clock = clock or Clock(hall)
        self._batch: list[mqtt.MQTTMessage] = []
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._dial_failed = False
        self._redial_at = 0.0
        self._backoff_s = RECONNECT_MIN_S
        self._last_refresh = 0.0
        self._republish = threading.Event()
        self._dirty_services: set[str] = set()
        self._dirty_counters: set[str] = set()
        self._dirty_since = 0.0
        self._replied_at = 0.0
        self._announced_recent = False
        self.engine = self._load_engine()
        self.client = mqttlink.make_client(
            hall.id, "server", password, clean_start=False,
            session_expiry_s=mqttlink.SESSION_EXPIRY_S, manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # ---------------------------------------------------------------- lifecycle

    def _load_engine(self) -> Engine:
        today = self.clock.now().date()
        state = self.store.load(today)
        self.clock.floor(state.last_at)
        self._day: date = self.clock.now().date()
        self.store.prune_requests(self._day)
        return Engine(self.hall, state)

    def start(self) -> None:
        """Connect and serve in a background thread; returns at once."""
        self.store.checkpoint_in_background()
        mqttlink.connect(self.client, self.broker)
        self._thread = threading.Thread(target=self._serve, name="qms-server", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def alive(self) -> bool:
        """The serving thread runs (systemd's watchdog is fed while it does)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Say `offline`, disconnect and close the store (from any thread)."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
        self.store.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: a wake-up is already pending
            self._wake_w.send(b"x")

    # ---------------------------------------------------------------- the serving thread

    def _serve(self) -> None:
        """The one thread that talks to the broker and the store.

        A request costs no thread hand-off: the bytes are read, the batch is committed,
        and the reply is written to the socket by this thread (paho's own loop thread
        would add two wake-ups, ~0.5 ms each on an idle machine, to every request)."""
        while not self._stop.is_set():
            try:
                sock = self.client.socket()
                if sock is None:
                    self._dial()
                    continue
                self._pump(sock, self._idle_timeout())
                self._housekeeping()
            except Exception:  # never let the server die; the batch is retried by clients
                log.exception("server loop error")
                self._stop.wait(0.1)
        self._goodbye()

    def _dial(self) -> None:
        """Connect, at most once per back-off (1, 2, 4, 8, 8 … s): a broker that is down,
        or that refuses the server's password, is not hammered."""
        now = time.monotonic()
        if now < self._redial_at:
            self._wait_wake(self._redial_at - now)
            return
        self._redial_at = now + self._backoff_s
        self._backoff_s = min(self._backoff_s * 2, RECONNECT_MAX_S)
        try:
            self.client.reconnect()
        except (OSError, ValueError) as e:
            if not self._dial_failed:
                log.warning("cannot reach broker %s (%s); retrying every %d s at most",
                            self.broker, e, RECONNECT_MAX_S)
            else:
                log.debug("broker %s still unreachable: %s", self.broker, e)
            self._dial_failed = True

    def _wait_wake(self, timeout: float) -> None:
        ready, _, _ = select.select([self._wake_r], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)

    def _idle_timeout(self) -> float:
        if self._connected.is_set() and (self._dirty_services or self._dirty_counters):
            mono = time.monotonic()
            due = min(self._replied_at + STATE_SETTLE_S, self._dirty_since + STATE_COALESCE_S)
            return max(0.0, due - mono)
        return 1.0  # keepalive and the REFRESH_S republish are checked at least this often

    def _pump(self, sock: Any, timeout: float) -> None:
        """Wait for the broker (or a wake-up), then read every command already there and
        serve them as one batch."""
        pending = getattr(sock, "pending", None)  # TLS: bytes decrypted but not yet read
        if pending is not None and pending():
            timeout = 0.0
        wlist = [sock] if self.client.want_write() else []
        readable, writable, _ = select.select([sock, self._wake_r], wlist, [], timeout)
        if self._wake_r in readable:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        if writable:
            self.client.loop_write()
        if sock in readable or (pending is not None and pending()):
            self._read_all(sock)
        if self._batch:
            batch, self._batch = self._batch, []
            self._process(batch)
        if self.client.socket() is not None:
            self.client.loop_misc()  # keepalive

    def _read_all(self, sock: Any) -> None:
        """paho reads a packet or a few per call; keep reading while bytes are there so
        a burst of commands becomes one transaction (group commit)."""
        while len(self._batch) < BATCH_MAX:
            if self.client.loop_read() != mqtt.MQTT_ERR_SUCCESS or self.client.socket() is not sock:
                return
            if not self._readable(sock):
                return

    @staticmethod
    def _readable(sock: Any) -> bool:
        pending = getattr(sock, "pending", None)
        if pending is not None and pending():
            return True
        return bool(select.select([sock], [], [], 0)[0])

    def _housekeeping(self) -> None:
        if not self._connected.is_set():
            return
        if self._dirty_services or self._dirty_counters:
            self._flush_state(self.clock.now())
        if self._republish.is_set() or time.monotonic() - self._last_refresh > REFRESH_S:
            self._republish.clear()
            self._publish_all()

    def _goodbye(self) -> None:
        if self._connected.is_set():
            info = self.client.publish(self.topics.status("server"), b"offline", 1, retain=True)
            deadline = time.monotonic() + 2
            while not info.is_published() and time.monotonic() < deadline:
                sock = self.client.socket()
                if sock is None:
                    break
                self._pump(sock, 0.05)
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self._wake_r.close()
        self._wake_w.close()

    # ---------------------------------------------------------- paho callbacks (this thread)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                    props: Any = None) -> None:
        if not mqttlink.reason_ok(rc):
            log.error("broker %s refused the server's connection: %s", self.broker, rc)
            return
        log.info("connected to broker %s (session present: %s)", self.broker,
                 getattr(flags, "session_present", "?"))
        self._dial_failed, self._redial_at, self._backoff_s = False, 0.0, RECONNECT_MIN_S
        client.subscribe(self.topics.cmd_filter, qos=1)
        client.publish(self.topics.status("server"), b"online", 1, retain=True)
        self._connected.set()
        self._republish.set()  # every state again: a new broker may have none retained

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                       props: Any = None) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting", rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._batch.append(msg)

    def _process(self, batch: list[mqtt.MQTTMessage]) -> None:
        now = self.clock.now()
        if now.date() != self._day:
            self._new_day(now.date())
        ctx = Context(now, new_code)
        t0 = time.perf_counter()
        items = [self._prepare(m) for m in batch]
        seen: dict[tuple[str, str], _Pending] = {}
        t_work = t0
        try:
            with self.store.transaction():
                for p in items:
                    if p.reply is not None and p.request_id is None:
                        continue  # unreadable request: answered, nothing to store
                    key = (p.device, p.request_id or "")
                    if key in seen and seen[key].reply is not None:
                        p.reply = seen[key].reply  # same id twice in one batch
                        continue
                    cached = self.store.cached_reply(p.device, p.request_id or "")
                    if cached is not None:
                        p.reply = cached
                        continue
                    if p.reply is None:
                        assert p.outcome is None
                        p.outcome = self.engine.handle(p.command, ctx)
                        p.reply = p.outcome.reply
                    p.reply = {"id": p.request_id, **p.reply}
                    self.store.record(
                        device=p.device, request_id=p.request_id, op=p.op, at=now,
                        events=p.outcome.events if p.outcome else [],
                        state=self.engine.state, reply=p.reply,
                    )
                    seen[key] = p
                t_work = time.perf_counter()
        except Exception:
            log.exception("could not commit a batch of %d requests; reloading state", len(items))
            self.engine = self._load_engine()
            for p in items:
                p.outcome = None
                p.reply = {"id": p.request_id, "ok": False,
                           "error": Refusal("INTERNAL").as_error()}
        t_commit = time.perf_counter()
        self._after_commit(items, now)
        t_end = time.perf_counter()
        if t_end - t0 > SLOW_BATCH_S:
            log.warning("slow batch of %d requests: %.0f ms work, %.0f ms commit, %.0f ms"
                        " publish", len(items), (t_work - t0) * 1000,
                        (t_commit - t_work) * 1000, (t_end - t_commit) * 1000)

    def _prepare(self, msg: mqtt.MQTTMessage) -> _Pending:
        p = _Pending(msg)
        parsed = parse_cmd(msg.topic)
        if parsed is None or parsed[0] != self.hall.id:
            p.reply = {"id": None, "ok": False, "error": Refusal("BAD_REQUEST").as_error()}
            return p
        _, p.device, p.op = parsed
        try:
            req = requests.parse(p.device, p.op, msg.payload, secret=self.store.secret,
                                 today=self.clock.now().date(), tz=self.hall.tz)
        except Refusal as r:
            p.request_id = r.request_id
            p.reply = {"ok": False, "error": r.as_error()}
            if p.request_id is None:
                p.reply = {"id": None, **p.reply}
            log.info("request %s/%s id=%s refused: %s", p.device, p.op, p.request_id, r)
            return p
        p.request_id = req.id
        p.command = req.command
        return p

    def _after_commit(self, items: list[_Pending], now: datetime) -> None:
        services: set[str] = set()
        counters: set[str] = set()
        for p in items:
            if p.outcome is not None:
                services |= p.outcome.services
                counters |= p.outcome.counters
                for e in p.outcome.events:
                    if e.kind is EventKind.CALLED:
                        self._publish_called(e.ticket or 0, e.counter or "", e.at,
                                             bool(e.data.get("recall")))
            self._reply(p)
        if (services or counters) and not (self._dirty_services or self._dirty_counters):
            self._dirty_since = time.monotonic()
        self._dirty_services |= services
        self._dirty_counters |= counters
        self._replied_at = time.monotonic()
        for p in items:
            try:
                self.client.ack(p.msg.mid, p.msg.qos)
            except Exception:  # the broker is gone; it redelivers, and the cache answers
                log.debug("ack of mid %s failed", p.msg.mid)
            ms = (time.perf_counter() - p.started) * 1000
            if p.reply is not None and p.reply.get("ok"):
                log.debug("%s/%s id=%s ok in %.1f ms", p.device, p.op, p.request_id, ms)

    def _reply(self, p: _Pending) -> None:
        if not p.device:
            log.warning("dropped a command on an unusable topic: %r", p.msg.topic[:200])
            return
        target = self.topics.reply(p.device)
        props_in = getattr(p.msg, "properties", None)
        props = None
        asked = getattr(props_in, "ResponseTopic", None) if props_in else None
        if asked:
            if self.topics.in_reply_tree(p.device, asked):
                target = asked
            else:
                log.warning("%s asked for replies on %r, outside its reply tree; using %s",
                            p.device, asked[:200], target)
        corr = getattr(props_in, "CorrelationData", None) if props_in else None
        if corr:
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = corr
        payload = json.dumps(p.reply, ensure_ascii=False).encode("utf-8")
        self.client.publish(target, payload, qos=1, properties=props)

    # ---------------------------------------------------------------- publishing state

    def _publish_json(self, topic: str, data: dict[str, Any], retain: bool = True) -> None:
        self.client.publish(topic, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                            qos=1, retain=retain)

    def _publish_called(self, ticket_id: int, counter: str, at: datetime, recall: bool) -> None:
        t = self.engine.state.tickets[ticket_id]
        conf = self.hall.counter(counter)
        name = conf.name if conf else f"{counter}号窗口"
        self._publish_json(self.topics.called, {
            "number": t.number, "service": t.service, "counter": counter,
            # milliseconds: boards tell two recalls in one second from a QoS 1 repeat
            "counter_name": name, "recall": recall,
            "at": at.isoformat(timespec="milliseconds"),
            "text": f"请{t.number}号到{name}办理",
        }, retain=False)

    def _flush_state(self, now: datetime) -> None:
        """Publish the state that changed, once the replies just written are through
        the broker: STATE_SETTLE_S after the last batch, so a board's update never
        competes with a resident's reply for the broker and the CPU. Under load (more
        commands already waiting) at most every STATE_COALESCE_S: a board cannot show
        1,000 changes a second, and each publish costs a syscall."""
        if not (self._dirty_services or self._dirty_counters):
            return
        mono = time.monotonic()
        if mono - self._dirty_since < STATE_COALESCE_S:
            sock = self.client.socket()
            if mono - self._replied_at < STATE_SETTLE_S or (
                    sock is not None and self._readable(sock)):
                return
        services, counters = self._dirty_services, self._dirty_counters
        self._dirty_services, self._dirty_counters = set(), set()
        self._publish_state(services, counters, now)

    def _publish_state(self, services: set[str], counters: set[str], now: datetime) -> None:
        for cid in sorted(counters):
            if cid in self.engine.state.counters:
                self._publish_json(self.topics.counter_state(cid),
                                   self.engine.counter_view(cid, now))
        for code in sorted(services):
            if self.hall.service(code) is not None:
                self._publish_json(self.topics.service_state(code),
                                   self.engine.service_view(code, now))
        self._publish_json(self.topics.public_wait, self.engine.public_wait(now))

    def _publish_all(self) -> None:
        now = self.clock.now()
        self._publish_state({s.code for s in self.hall.services},
                            {c.id for c in self.hall.counters}, now)
        self._last_refresh = time.monotonic()
        if not self._announced_recent:
            self._announced_recent = True
            self._announce_recent_calls(now)

    def _announce_recent_calls(self, now: datetime) -> None:
        """Once after start: a crash between committing a call and publishing its
        event/called would leave a resident who never hears their number (the reliability
        suite saw 65 of 1,654 calls over 100 kills). Calls of the last ANNOUNCE_AGAIN_S
        still waiting at their counter are announced again with their original `at`, so
        a board that did hear one takes this as a repeat and stays silent."""
        for cid, ct in self.engine.state.counters.items():
            t = self.engine.state.tickets.get(ct.current) if ct.current is not None else None
            if (t is not None and t.status is TicketStatus.CALLED and t.called_at is not None
                    and now - t.called_at <= timedelta(seconds=ANNOUNCE_AGAIN_S)):
                log.info("announcing %s at counter %s again after a restart", t.number, cid)
                self._publish_called(t.id, cid, t.called_at, recall=False)

    def _new_day(self, today: date) -> None:
        """Midnight: numbering restarts by itself (it is per day); forget old closed tickets."""
        gone = prune(self.engine.state, today.fromordinal(today.toordinal() - 1))
        self.store.prune_requests(today)
        log.info("new day %s: %d closed tickets of earlier days dropped from memory", today,
                 len(gone))
        self._day = today
