"""./qms bench reliability: does the hall ever lose a resident's place? Figures, not timings.

- crash: under load (kiosks issuing, counters calling), kill -9 the server process at
  random moments and restart it; count, from the clients' side, acknowledged tickets
  lost (lookup by code after the last restart), numbers issued twice in a day, tickets
  called twice (call replies and the events table) and requests never answered.
- broker: restart (and crash) Mosquitto; every client — server, kiosks, counters, a
  board — must come back: a kiosk issues, a counter calls it, the board sees the call
  and the counter's state. Time to recover p50/p99.
- fuzz: malformed payloads on every op of every role (wrong types, huge strings, deep
  JSON, invalid UTF-8, no id, random bytes): the server never dies and answers each one;
  random byte streams into the device parsers (ID card, scanner); the engine's
  hypothesis properties with many more examples than the test run.
- privacy: record every message any device can read during a simulated day; no ID
  number may appear outside the cmd and reply topics of the device that sent it.
- midnight: a day that crosses midnight on the server's clock (numbering restarts,
  tickets still open from before midnight are called after it), and the system clock
  stepping back a minute (nothing reordered, no number reused).

The quick versions run in ./qms test (tests/reliability/); this command runs the full
ones and prints a table.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench._sim import Devices, Plan, SimClock, id_number, pct, start_server
from bench.protocol import bench_hall
from queue_server.client import RequestClient, RequestTimeout
from queue_server.config import load_hall
from queue_server.mqttlink import connect, make_client
from tests.support.broker import REPO, Broker
from tests.support.server import ServerProcess


@dataclass
class Figures:
    name: str
    rows: list[tuple[str, Any, Any]] = field(default_factory=list)  # (what, value, must be)

    def add(self, what: str, value: Any, must: Any = None) -> None:
        self.rows.append((what, value, must))

    @property
    def failed(self) -> list[str]:
        return [w for w, v, m in self.rows if m is not None and v != m]


def _db_counts(data: Path) -> dict[str, int]:
    """Numbers issued twice per day and tickets called twice, from the database itself."""
    conn = sqlite3.connect(f"{(data / 'hall.db').resolve().as_uri()}?mode=ro", uri=True)
    try:
        reused = conn.execute(
            "SELECT COUNT(*) FROM (SELECT day, number FROM tickets GROUP BY day, number"
            " HAVING COUNT(*) > 1)").fetchone()[0]
        # a second non-recall call of a ticket with no requeue/transfer between them
        rows = conn.execute(
            "SELECT ticket, kind, json_extract(data, '$.recall') FROM events"
            " WHERE kind IN ('called', 'requeued', 'transferred') ORDER BY seq").fetchall()
        open_call: set[int] = set()
        twice = 0
        for ticket, kind, recall in rows:
            if kind != "called":
                open_call.discard(ticket)
            elif not recall:
                twice += ticket in open_call
                open_call.add(ticket)
        tickets = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        return {"reused": reused, "called_twice": twice, "tickets": tickets}
    finally:
        conn.close()


# --------------------------------------------------------------------------- crash


def crash(kills: int, tmp: Path, seed: int = 1, kiosks: int = 3, counters: int = 4) -> Figures:
    rnd = random.Random(seed)
    hall = bench_hall(tmp)
    data = tmp / "crash-data"
    f = Figures(f"crash: kill -9 the server {kills} times under load")
    acked: list[tuple[str, str, str]] = []  # (day, number, code)
    called: list[str] = []
    unanswered: list[str] = []
    refused: Counter[str] = Counter()
    stop = threading.Event()
    lock = threading.Lock()
    with Broker.start(hall) as broker:
        server = ServerProcess(broker, data, hall).start()
        clients = {d: RequestClient("demo", d, broker.password(d), broker.broker_address,
                                    will=False).start()
                   for d in [f"kiosk-{i}" for i in range(1, kiosks + 1)]
                   + [f"counter-{i}" for i in range(1, counters + 1)]}

        def kiosk(device: str) -> None:
            r = random.Random(f"{seed}-{device}")
            while not stop.is_set():
                try:
                    reply = clients[device].request(
                        "issue", {"service": r.choice("ABCDE")}, timeout=60)
                except RequestTimeout:
                    with lock:
                        unanswered.append(device)
                    continue
                with lock:
                    if reply["ok"]:
                        t = reply["ticket"]
                        acked.append((t["issued_at"][:10], t["number"], t["code"]))
                    else:
                        refused[reply["error"]["code"]] += 1
                time.sleep(r.uniform(0, 0.03))

        def counter(device: str) -> None:
            r = random.Random(f"{seed}-{device}")
            clients[device].request("open", timeout=60)
            while not stop.is_set():
                try:
                    reply = clients[device].request("call_next", timeout=60)
                except RequestTimeout:
                    with lock:
                        unanswered.append(device)
                    continue
                if reply["ok"]:
                    with lock:
                        called.append(reply["ticket"]["number"] + "@"
                                      + reply["ticket"]["issued_at"][:10])
                time.sleep(r.uniform(0.01, 0.06))

        # What the hall's speakers say: event/called (no recalls), as a board hears it:
        # a repeat with the same number, counter and `at` (a QoS 1 redelivery, or the
        # server announcing recent calls again after a restart) is spoken once.
        announced: set[tuple[str, str, str]] = set()
        board = make_client("demo", "display-1", broker.password("display-1"), will=False)

        def on_called(c: Any, u: Any, m: mqtt.MQTTMessage) -> None:
            call = json.loads(m.payload)
            if not call.get("recall"):
                with lock:
                    announced.add((call["number"], call["counter"], call["at"]))

        board.on_message = on_called
        board.on_connect = lambda c, *a: c.subscribe("qms/demo/event/called", 1)
        connect(board, broker.broker_address)
        board.loop_start()
        threads = [threading.Thread(target=kiosk if d.startswith("kiosk") else counter,
                                    args=(d,), daemon=True) for d in clients]
        for t in threads:
            t.start()
        downtime: list[float] = []
        try:
            for i in range(kills):
                time.sleep(rnd.uniform(0.1, 0.8))
                server.kill()
                t0 = time.monotonic()
                server.start(wait_online=False)
                server.wait_log("connected to broker", 60, occurrences=i + 2)
                downtime.append(time.monotonic() - t0)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(90)
        lost = 0
        lookup = clients["kiosk-1"]
        for _day, number, code in acked:
            reply = lookup.request("lookup", {"code": code}, timeout=60)
            if not reply["ok"] or reply["ticket"]["number"] != number:
                lost += 1
        time.sleep(0.5)  # the last announcements
        board.disconnect()
        board.loop_stop()
        for rc in clients.values():
            rc.close()
        server.close()
    numbers = Counter((d, n) for d, n, _ in acked)
    db = _db_counts(data)
    f.add("acknowledged tickets", len(acked))
    f.add("calls acknowledged", len(called))
    f.add("server restart to online, p50 s", round(statistics.median(downtime), 2))
    f.add("acknowledged tickets lost", lost, 0)
    f.add("numbers issued twice (replies)", sum(c > 1 for c in numbers.values()), 0)
    f.add("numbers issued twice (database)", db["reused"], 0)
    f.add("tickets called twice (replies)", sum(c > 1 for c in Counter(called).values()), 0)
    f.add("tickets called twice (events)", db["called_twice"], 0)
    f.add("requests never answered", len(unanswered), 0)
    heard = Counter(number for number, _counter, _at in announced)
    # (numbers alone: the run stays within one hall day)
    f.add("calls announced twice on event/called", sum(c > 1 for c in heard.values()), 0)
    f.add("acked calls never announced (killed before publish)",
          sum(n.split("@")[0] not in heard for n in called), 0)
    f.add("refusals", dict(refused) or "none")
    return f


# --------------------------------------------------------------------------- broker


def broker_restarts(n: int, tmp: Path) -> Figures:
    f = Figures(f"broker: restart Mosquitto {n} times (every other one kill -9); each round"
                " kiosk-1 issues, counter-2 calls, kiosk-2 looks up, a board sees call + state")
    hall_path = REPO / "assets/halls/demo.toml"
    hall = load_hall(hall_path)
    recover: list[float] = []
    failures: list[str] = []
    with Broker.start(hall_path) as broker:
        server = start_server(broker, tmp / "broker-data", hall_path)
        devices = Devices(hall, broker)
        board_calls: list[dict[str, Any]] = []
        states: dict[str, dict[str, Any]] = {}
        got = threading.Condition()
        board = make_client("demo", "display-1", broker.password("display-1"))

        def on_message(c: Any, u: Any, m: mqtt.MQTTMessage) -> None:
            with got:
                if m.topic.endswith("/event/called"):
                    board_calls.append(json.loads(m.payload))
                elif "/state/counter/" in m.topic:
                    states[m.topic.rsplit("/", 1)[1]] = json.loads(m.payload)
                got.notify_all()

        board.on_message = on_message
        board.on_connect = lambda c, *a: c.subscribe(
            [("qms/demo/event/called", 1), ("qms/demo/state/#", 1)])
        connect(board, broker.broker_address)
        board.loop_start()
        try:
            devices.request("counter-2", "open")
            for i in range(n):
                broker.restart(crash=i % 2 == 1)
                t0 = time.monotonic()
                try:
                    kiosk = devices.request("kiosk-1", "issue", {"service": "A"}, timeout=60)
                    number = kiosk["ticket"]["number"]
                    call = devices.request("counter-2", "call_next", timeout=60)
                    if not call["ok"] or call["ticket"]["number"] != number:
                        failures.append(f"restart {i}: counter-2 called {call}")
                    # another kiosk sees the same truth (a resident checking the ticket)
                    seen = devices.request("kiosk-2", "lookup", {"code": kiosk["ticket"]["code"]},
                                           timeout=60)
                    if not seen["ok"] or seen["ticket"]["status"] != "called" \
                            or seen["ticket"]["counter"] != "2":
                        failures.append(f"restart {i}: kiosk-2 sees {seen}")
                    deadline = time.monotonic() + 60
                    with got:
                        while time.monotonic() < deadline and not (
                                any(c.get("number") == number for c in board_calls)
                                and _current_number(states.get("2")) == number):
                            got.wait(0.1)
                    if not any(c.get("number") == number for c in board_calls):
                        failures.append(f"restart {i}: the board never saw {number} called")
                    elif _current_number(states.get("2")) != number:
                        failures.append(f"restart {i}: board state of counter 2 is stale")
                    recover.append(time.monotonic() - t0)
                except RequestTimeout as e:
                    failures.append(f"restart {i}: {e}")
            back = sum(rc.connected for rc in devices.clients.values())
            f.add("restarts", n)
            f.add("clients connected at the end", f"{back}/{len(devices.clients)}"
                  + (" + server" if server.wait_connected(5) else " (server OFFLINE)"))
            f.add("recover p50 s (issue → call → board)", round(pct(recover, 50), 2))
            f.add("recover p99 s", round(pct(recover, 99), 2))
            f.add("rounds not consistent", len(failures), 0)
            for msg in failures[:3]:
                f.add("  e.g.", msg)
        finally:
            board.disconnect()
            board.loop_stop()
            devices.close()
            server.stop()
    return f


def _current_number(state: dict[str, Any] | None) -> str | None:
    cur = (state or {}).get("ticket")
    return cur.get("number") if isinstance(cur, dict) else cur


# --------------------------------------------------------------------------- fuzz

OPS_BY_DEVICE = {
    "kiosk-1": ["issue", "checkin", "lookup"],
    "counter-1": ["open", "close", "call_next", "recall", "start", "skip", "requeue",
                  "transfer", "finish", "pause", "resume", "no_shows"],
    "pad-1": ["rate"],
    "portal": ["book", "cancel", "lookup"],
}
FIELDS = ["service", "source", "id_number", "priority", "code", "number", "counter", "level",
          "reason", "comment", "slot_start", "slot_end", "expect_current", "phone", "name"]


def bad_payload(r: random.Random) -> bytes:
    kind = r.randrange(9)
    if kind == 0:
        return bytes(r.randrange(256) for _ in range(r.randrange(0, 200)))  # random bytes
    if kind == 1:
        return b'{"id": "x' + bytes([0xff, 0xfe, 0xc3]) + b'"}'  # invalid UTF-8
    if kind == 2:
        depth = r.choice([50, 500, 5000, 100_000])
        return ("[" * depth + "]" * depth).encode()  # deep JSON
    if kind == 3:
        return json.dumps({"service": "A"}).encode()  # no id
    values: list[Any] = [None, True, 0, -1, 2 ** 70, 1.5, "", "A", "Z9", "x" * 70_000,
                         "\u0000", "\ud7ff", [], {}, [1, [2]], {"a": {"b": 1}}, "A001",
                         "110101199003077777", "2026-13-45T99:99", "../../#", "+"]
    body: dict[str, Any] = {}
    for key in r.sample(FIELDS, r.randrange(0, 5)):
        body[key] = r.choice(values)
    rid: Any = r.choice([uuid.uuid4().hex, uuid.uuid4().hex, 7, None, "", "é" * 3,
                         "x" * 100, ["a"]])
    if kind != 4:
        body["id"] = rid
    text = json.dumps(body, ensure_ascii=r.random() < 0.5)
    if kind == 5:
        text = text[: r.randrange(max(1, len(text)))]  # truncated
    return text.encode("utf-8", "surrogatepass")


class _Fuzzer:
    """Publishes with a fresh response topic per message, so every reply is matched."""

    def __init__(self, broker: Broker, device: str) -> None:
        self.device = device
        self.base = f"qms/demo/reply/{device}/fuzz"
        self.pending: set[str] = set()
        self.cond = threading.Condition()
        self.client = make_client("demo", device, broker.password(device), will=False)
        ready = threading.Event()
        self.client.on_connect = lambda c, *a: c.subscribe(self.base + "/#", 1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        connect(self.client, broker.broker_address)
        self.client.loop_start()
        if not ready.wait(10):
            raise TimeoutError(f"fuzz client {device} did not subscribe")

    def _on_message(self, c: Any, u: Any, m: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.pending.discard(m.topic)
            self.cond.notify_all()

    def send(self, op: str, payload: bytes, n: int, window: int = 100) -> None:
        tag = f"{self.base}/{n}"
        with self.cond:
            while len(self.pending) >= window:
                if not self.cond.wait(30):
                    break
            self.pending.add(tag)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = tag
        self.client.publish(f"qms/demo/cmd/{self.device}/{op}", payload, qos=1,
                            properties=props)

    def drain(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.pending and time.monotonic() < deadline:
                self.cond.wait(0.2)
            return len(self.pending)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fuzz(cases: int, parser_bytes: int, examples: int, tmp: Path, seed: int = 1) -> Figures:
    f = Figures(f"fuzz: {cases} malformed requests, {parser_bytes} random parser inputs")
    r = random.Random(seed)
    hall_path = REPO / "assets/halls/demo.toml"
    # the broker saves its store every 1000 changes, not after each (the hall default):
    # 100k QoS 1 messages would otherwise measure Mosquitto's disk, not the server
    with Broker.start(hall_path, autosave_changes=1000) as broker:
        server = start_server(broker, tmp / "fuzz-data", hall_path)
        fuzzers = {d: _Fuzzer(broker, d) for d in OPS_BY_DEVICE}
        try:
            for n in range(cases):
                device = r.choice(list(OPS_BY_DEVICE))
                op = r.choice(OPS_BY_DEVICE[device] + ["nope", "issue"])
                fuzzers[device].send(op, bad_payload(r), n)
            missing = sum(fz.drain(60) for fz in fuzzers.values())
            alive = server.alive()
            with RequestClient("demo", "kiosk-2", broker.password("kiosk-2"),
                               broker.broker_address, will=False) as rc:
                rc.start()
                still = rc.request("issue", {"service": "A"}, timeout=30)["ok"]
        finally:
            for fz in fuzzers.values():
                fz.close()
            server.stop()
    f.add("requests without a reply", missing, 0)
    f.add("server thread alive", alive, True)
    f.add("server still issues after the fuzz", still, True)
    crashed = parser_fuzz(parser_bytes, r)
    f.add("device parser crashes (ID card, scanner)", crashed, 0)
    if examples:
        rc_ = engine_properties(examples)
        f.add(f"engine hypothesis properties at {examples} examples", "pass" if rc_ == 0
              else f"FAIL (pytest rc {rc_})", "pass")
    return f


def parser_fuzz(n: int, r: random.Random) -> int:
    """Random byte streams, in random chunks, into the ID card frame parser (as the driver
    resumes after a FrameError) and the scanner's line and text decoders. A documented
    FrameError is the parser working; anything else is a crash."""
    from devices.idcard.protocol import FrameError, parse_command, parse_reply
    from devices.scanner.protocol import LineDecoder, decode_code

    def frames(stream: bytes, parse: Any) -> None:
        buf = b""
        i = 0
        while i < len(stream):
            k = r.randrange(1, 64)
            buf += stream[i:i + k]
            i += k
            for _ in range(10_000):  # every call consumes input or waits for more
                try:
                    item, buf = parse(buf)
                except FrameError as e:
                    buf = e.rest
                    continue
                if item is None:
                    break

    crashes = 0
    for _ in range(n):
        stream = bytes(r.randrange(256) for _ in range(r.randrange(1, 400)))
        if r.random() < 0.3:  # plant a preamble so frame bodies get parsed too
            cut = r.randrange(len(stream))
            stream = stream[:cut] + bytes.fromhex("AAAAAA9669") + stream[cut:]
        try:
            frames(stream, parse_reply)
            frames(stream, parse_command)
            d = LineDecoder()
            for i in range(0, len(stream), 17):
                for code in d.feed(stream[i:i + 17]):
                    decode_code(code)
        except Exception:  # any other exception is a crash we count
            crashes += 1
    return crashes


def engine_properties(examples: int) -> int:
    """The engine's hypothesis properties (tests/queue_server/test_engine_properties.py)
    with `examples` examples each instead of the test run's. Their own @settings pin
    max_examples, so the settings object hypothesis attached is replaced (an internal
    attribute: if a hypothesis upgrade renames it, this fails loudly, not silently)."""
    code = f"""
import sys
from hypothesis import settings
import tests.queue_server.test_engine_properties as m
tests = [f for n, f in vars(m).items() if n.startswith("test_") and hasattr(f, "hypothesis")]
assert tests, "no hypothesis tests found"
for f in tests:
    old = f._hypothesis_internal_use_settings
    f._hypothesis_internal_use_settings = settings(old, max_examples={examples})
    f()
print(len(tests), "properties passed")
"""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          timeout=3600).returncode


# --------------------------------------------------------------------------- privacy


@dataclass(frozen=True)
class Secret:
    kind: str  # id_number | name | phone | address | bank_account
    device: str  # the kiosk that sent it
    clerks: bool = False  # a filing: counters read it in full (in their replies)


FILING_ITEM = "gaoling-jintie"  # 高龄津贴: a form with name, phones, addresses, bank account
SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方", "慕容"]
GIVEN = "秀英建国桂兰德明玉珍淑华振华春梅志强丽娟"


def filing_visit(dev: Devices, rnd: random.Random, kiosk: str, clerk: str, plan: Plan,
                 secrets: dict[str, Secret], counts: Counter[str]) -> None:
    """A resident files a form at a kiosk (pages, name, phone, address, bank account),
    takes a ticket for it; half an hour later a clerk lists and opens the filing."""
    from tests.queue_server.filing_support import page

    idn = id_number(rnd, rnd.randint(1930, 1944))
    n = rnd.randrange(10_000, 100_000)
    values = {
        "name": rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
        "gender": "男" if int(idn[16]) % 2 else "女",
        "birth": f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}",
        "address": f"浙江省示范县清水镇溪口村{n}号", "id_number": idn,
        "phone": f"139{rnd.randrange(10 ** 8):08d}", "address_now": f"示范县城关镇新村{n}号",
        "bank_name": "农村商业银行", "bank_account": f"6230{rnd.randrange(10 ** 12):012d}"}
    for key in ("name", "phone", "address", "id_number", "bank_account"):
        secrets[values[key]] = Secret(key, kiosk, clerks=True)
    docs: dict[str, list[str]] = {}
    for i, material in enumerate(("id_card", "id_card", "hukou_book", "bank_card")):
        data = base64.b64encode(page(n * 4 + i)).decode("ascii")
        up = dev.request(kiosk, "upload", {"data": data})
        if up["ok"]:
            docs.setdefault(material, []).append(up["document"]["sha256"])
    filed = dev.request(kiosk, "file", {"item": FILING_ITEM, "values": values,
                                        "documents": docs, "consent": True})
    if not filed["ok"]:
        counts["filing refused: " + filed["error"]["code"]] += 1
        return
    number = filed["filing"]["number"]
    counts["filed"] += 1
    dev.request(kiosk, "filing_ticket", {"number": number})
    dev.request(kiosk, "filing_status", {"number": number})

    def clerk_reads() -> None:
        dev.request(clerk, "filings")
        if dev.request(clerk, "filing", {"number": number})["ok"]:
            counts["read by a clerk"] += 1

    plan.after(30, clerk_reads)


def privacy(arrivals: int, tmp: Path, seed: int = 1, filings: int = 3) -> Figures:
    """Record what every device can read during a simulated day with filings; look for
    ID numbers, names, phones, addresses and bank accounts where they must not be."""
    from bench.day import HallDay

    f = Figures(f"privacy: every readable message of a simulated day ({arrivals} residents,"
                f" {filings} filings)")
    hall_path = REPO / "assets/halls/demo.toml"
    hall = load_hall(hall_path)
    day = datetime.now(hall.tz).date()
    clock = SimClock(datetime(day.year, day.month, day.day, 17, 55, tzinfo=hall.tz)
                     - timedelta(days=1))
    secrets: dict[str, Secret] = {}
    counts: Counter[str] = Counter()
    records: list[tuple[str, str, bytes]] = []
    lock = threading.Lock()
    with Broker.start(hall_path, bind_client_ids=False) as broker:
        recorders = []
        for device in ("server", *hall.device_ids):
            # a second connection per device (the server too), subscribed to everything:
            # the broker's ACL delivers exactly what that device may read
            c = make_client("demo", device, broker.password(device), will=False)
            c._client_id = f"rec-{device}".encode()  # a second connection, not a takeover

            def on_message(cl: Any, u: Any, m: mqtt.MQTTMessage, dev: str = device) -> None:
                with lock:
                    records.append((dev, m.topic, bytes(m.payload)))

            c.on_message = on_message
            c.on_connect = lambda cl, *a: cl.subscribe("qms/#", 1)
            connect(c, broker.broker_address)
            c.loop_start()
            recorders.append(c)
        time.sleep(0.5)
        server = start_server(broker, tmp / "privacy-data", hall_path, clock)
        devices = Devices(hall, broker)
        original = devices.request

        def spy(device: str, op: str, payload: dict[str, Any] | None = None,
                **kw: Any) -> dict[str, Any]:
            if op == "issue" and payload and payload.get("id_number"):
                secrets[payload["id_number"]] = Secret("id_number", device)
            return original(device, op, payload, **kw)

        devices.request = spy  # type: ignore[method-assign]
        rnd = random.Random(seed)
        sim = HallDay(hall, devices, Plan(clock, 0, rnd), day, arrivals)
        try:
            sim.plan_residents()
            sim.plan_clerks()
            for i in range(filings):
                kiosk = sim.kiosks[i % len(sim.kiosks)]
                sim.plan.at(sim.t(9, 30 + 40 * i), lambda k=kiosk: filing_visit(
                    devices, rnd, k, "counter-2", sim.plan, secrets, counts))
            sim.plan.run(until=sim.close_at + timedelta(hours=1))
            time.sleep(0.5)
        finally:
            devices.close()
            server.stop()
            for c in recorders:
                c.disconnect()
                c.loop_stop()
    leaks = privacy_leaks(records, secrets)
    sent_on = {s: False for s in secrets}
    for _, topic, payload in records:
        text = payload.decode("utf-8", "replace")
        for s, sec in secrets.items():
            if not sent_on[s] and topic.startswith(f"qms/demo/cmd/{sec.device}/") and s in text:
                sent_on[s] = True
    kinds = Counter(sec.kind for sec in secrets.values())
    f.add("messages recorded (per reading device)", len(records))
    f.add("topics seen", len({t for _, t, _ in records}))
    f.add("personal values sent", ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    f.add("filings made / read by a clerk", f"{counts['filed']}/{counts['read by a clerk']}",
          f"{filings}/{filings}")
    f.add("values seen on their sender's cmd topic (the scan sees them)",
          f"{sum(sent_on.values())}/{len(secrets)}", f"{len(secrets)}/{len(secrets)}")
    f.add("values outside the allowed topics", len(leaks), 0)
    for leak in leaks[:3]:
        f.add("  e.g.", leak)
    refused = {k: v for k, v in counts.items() if k.startswith("filing refused")}
    if refused:
        f.add("filings refused", refused)
    return f


def privacy_leaks(records: list[tuple[str, str, bytes]],
                  secrets: dict[str, Secret]) -> list[str]:
    """(reader, topic, payload) holding a personal value outside the topics allowed for it:
    the sender's own cmd and reply topics, and for a filing the counters' reply topics
    (the clerk handling it reads it in full; docs/protocol-extensions.md, Personal data)."""
    leaks = []
    for reader, topic, payload in records:
        text = payload.decode("utf-8", "replace")
        upper = text.upper()
        for value, sec in secrets.items():
            if sec.kind == "id_number":
                if value.upper() not in upper and value[:17] not in text:
                    continue
            elif value not in text:
                continue
            reply = f"qms/demo/reply/{sec.device}"
            if topic.startswith(f"qms/demo/cmd/{sec.device}/") or topic == reply \
                    or topic.startswith(reply + "/"):
                continue
            if sec.clerks and topic.startswith("qms/demo/reply/counter-"):
                continue
            leaks.append(f"a {sec.kind} from {sec.device} on {topic} (read by {reader})")
    return leaks


# --------------------------------------------------------------------------- midnight


def midnight(tmp: Path) -> Figures:
    f = Figures("midnight and clock: a day crossing 00:00, the clock stepping back 1 min")
    hall_path = REPO / "assets/halls/demo.toml"
    hall = load_hall(hall_path)
    today = datetime.now(hall.tz).date()
    clock = SimClock(datetime(today.year, today.month, today.day, 23, 50, tzinfo=hall.tz))
    data = tmp / "midnight-data"
    with Broker.start(hall_path) as broker:
        server = start_server(broker, data, hall_path, clock)
        dev = Devices(hall, broker)
        try:
            before = [dev.request("kiosk-1", "issue", {"service": "A"})["ticket"]
                      for _ in range(3)]
            clock.step(timedelta(minutes=15))  # 00:05 the next day
            after = [dev.request("kiosk-1", "issue", {"service": "A"})["ticket"]
                     for _ in range(2)]
            f.add("numbers before midnight", " ".join(t["number"] for t in before))
            f.add("numbers after midnight", " ".join(t["number"] for t in after))
            f.add("numbering restarted at midnight", after[0]["number"] == "A001", True)
            dev.request("counter-2", "open")
            calls = [dev.request("counter-2", "call_next") for _ in range(5)]
            got = [c["ticket"]["code"] for c in calls if c["ok"]]
            f.add("tickets from before midnight called after it",
                  f"{sum(t['code'] in got for t in before)}/{len(before)}", f"{len(before)}/3"
                  if len(before) == 3 else None)
            f.add("order of calls = order of issue",
                  got == [t["code"] for t in before + after], True)
            old = dev.request("kiosk-2", "lookup", {"code": before[0]["code"]})
            f.add("yesterday's ticket still found by code", old["ok"], True)
            # the system clock steps back a minute
            issued = dev.request("kiosk-1", "issue", {"service": "B"})["ticket"]
            clock.step(timedelta(minutes=-1))
            stepped = [dev.request("kiosk-1", "issue", {"service": "B"})["ticket"]
                       for _ in range(2)]
            clock.step(timedelta(minutes=2))
            stepped.append(dev.request("kiosk-1", "issue", {"service": "B"})["ticket"])
            seq = [issued, *stepped]
            f.add("numbers around the step back", " ".join(t["number"] for t in seq))
            f.add("issue times never go back", all(
                a["issued_at"] <= b["issued_at"] for a, b in pairwise(seq)),
                True)
            dev.request("counter-4", "open")  # serves B only
            calls = [dev.request("counter-4", "call_next") for _ in range(len(seq))]
            f.add("called in issue order after the step back",
                  [c["ticket"]["number"] for c in calls if c["ok"]] == [t["number"] for t in seq],
                  True)
        finally:
            dev.close()
            server.stop()
    conn = sqlite3.connect(f"{(data / 'hall.db').resolve().as_uri()}?mode=ro", uri=True)
    ats = [datetime.fromisoformat(a) for (a,) in conn.execute(
        "SELECT at FROM events ORDER BY seq")]
    conn.close()
    f.add("events out of time order in the log",
          sum(b < a for a, b in pairwise(ats)), 0)
    db = _db_counts(data)
    f.add("numbers issued twice in a day (database)", db["reused"], 0)
    f.add("tickets called twice (events)", db["called_twice"], 0)
    return f


# --------------------------------------------------------------------------- main


def table(results: list[Figures]) -> str:
    out = []
    for fig in results:
        out.append(f"\n-- {fig.name}")
        for what, value, must in fig.rows:
            mark = "" if must is None else ("  ok" if value == must else f"  FAIL (want {must})")
            out.append(f"   {what:<52} {value}{mark}")
    bad = [f"{fig.name.split(':')[0]}: {w}" for fig in results for w in fig.failed]
    out.append("\n" + ("all figures as required" if not bad else "FAILED: " + "; ".join(bad)))
    return "\n".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="./qms bench reliability", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the ./qms test sizes")
    ap.add_argument("--only", nargs="*", choices=["crash", "broker", "fuzz", "privacy",
                                                  "midnight"])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--restarts", type=int, default=20)
    ap.add_argument("--cases", type=int, default=100_000, help="malformed MQTT requests")
    ap.add_argument("--parser-bytes", type=int, default=100_000,
                    help="random byte streams into the device parsers")
    ap.add_argument("--examples", type=int, default=20_000,
                    help="hypothesis examples per engine property")
    ap.add_argument("--arrivals", type=int, default=360, help="residents in the privacy day")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.quick:
        args.kills, args.restarts, args.cases, args.parser_bytes = 5, 3, 2000, 2000
        args.examples, args.arrivals = 0, 40
    only = set(args.only or ["crash", "broker", "fuzz", "privacy", "midnight"])
    tmp = Path(tempfile.mkdtemp(prefix="qms-reliability-"))
    os.chmod(tmp, 0o755)
    results: list[Figures] = []
    t0 = time.monotonic()
    steps = [
        ("midnight", lambda: midnight(tmp)),
        ("crash", lambda: crash(args.kills, tmp, args.seed)),
        ("broker", lambda: broker_restarts(args.restarts, tmp)),
        ("fuzz", lambda: fuzz(args.cases, args.parser_bytes, args.examples, tmp, args.seed)),
        ("privacy", lambda: privacy(args.arrivals, tmp, args.seed)),
    ]
    for name, run in steps:
        if name in only:
            print(f"[reliability] {name} …", file=sys.stderr, flush=True)
            results.append(run())
            # each part's figures as soon as they are in (the full run takes a while)
            print(table(results[-1:]).rsplit("\n\n", 1)[0], file=sys.stderr, flush=True)
    print(f"\n== ./qms bench reliability ({'quick' if args.quick else 'full'},"
          f" {time.monotonic() - t0:.0f} s) ==" + table(results))
    return 1 if any(fig.failed for fig in results) else 0
