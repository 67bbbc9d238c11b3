"""./qms bench display: how fast a call reaches the boards, against the broker's own fan-out.

In one run, on one broker (a bench copy of the demo hall with display-1..50):
  - baseline: a plain QoS 1 publish (as `server`, to `event/bench`) received by 50
    subscribers — the broker's raw fan-out;
  - call: a counter's `call_next` (the real queue server in its own process, durable
    commit) → `event/called` received by the same 50 board clients;
  rounds alternate baseline and call, so both see the same machine load. The 50 clients
  run in a child process on one thread (select), so this process's GIL does not time them.
  Target: call p50 and p99 ≤ 2 × the baseline's.
Then a real Qt window board and hall board (offscreen, each with its own device and
BoardLink) in this process: time from `event/called` received to the board painted
with the new number, and from `call_next` sent to painted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import select
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from bench.protocol import bench_hall, pct
from queue_server.client import RequestClient
from queue_server.mqttlink import BrokerAddress, connect, make_client
from tests.support.broker import Broker
from tests.support.server import ServerProcess

BOARDS = 50
QT_WINDOW, QT_HALL = "display-51", "display-52"


def display_hall(tmp: Path) -> Path:
    path = bench_hall(tmp)
    text = path.read_text("utf-8")
    text += "".join(f'\n[[devices]]\nid = "display-{n}"\n' for n in range(4, 53))
    path.write_text(text, "utf-8")
    return path


def _subscriber_main(address: str, passwords: dict[str, str], out: Any, stop: Any) -> None:
    """The 50 board clients, in their own process and on one thread (select over their
    sockets): the receive times are not spoiled by this process's GIL or by paho's
    50 loop threads taking turns, for the baseline and the call alike."""
    host, port = address.rsplit(":", 1)
    clients: list[mqtt.Client] = []

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
        data = json.loads(msg.payload)
        out.put((data.get("key") or data.get("number"), now))

    subscribed = [0]
    for device, password in passwords.items():
        c = make_client("demo", device, password, will=False)
        c.on_message = on_message
        c.on_subscribe = lambda *a: subscribed.__setitem__(0, subscribed[0] + 1)
        connect(c, BrokerAddress(host, int(port)), blocking=True)
        c.subscribe("qms/demo/event/#", 1)
        clients.append(c)
    announced = False
    while not stop.is_set():
        socks = {c.socket(): c for c in clients}
        want_w = [s for s, c in socks.items() if c.want_write()]
        readable, writable, _ = select.select(list(socks), want_w, [], 0.05)
        for sock in readable:
            socks[sock].loop_read()
        for sock in writable:
            socks[sock].loop_write()
        for c in clients:
            c.loop_misc()
        if not announced and subscribed[0] == len(clients):
            out.put(("__ready__", 0.0))
            announced = True
    for c in clients:
        c.disconnect()


class Subscribers:
    """Board clients display-1..n in a child process; `wait(key)` gives when each got it."""

    def __init__(self, broker: Broker, n: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.queue: Any = ctx.Queue()
        self.stop = ctx.Event()
        self.got: dict[str, list[float]] = {}
        passwords = {f"display-{i}": broker.password(f"display-{i}") for i in range(1, n + 1)}
        self.proc = ctx.Process(target=_subscriber_main,
                                args=(broker.address, passwords, self.queue, self.stop),
                                daemon=True)
        self.proc.start()
        self.wait("__ready__", 1, timeout=30)

    def wait(self, key: str, n: int, timeout: float = 10) -> list[float]:
        deadline = time.monotonic() + timeout
        while len(self.got.get(key, ())) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{key}: {len(self.got.get(key, ()))} of {n} boards got it")
            try:
                k, t = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            self.got.setdefault(k, []).append(t)
        return self.got.pop(key)

    def close(self) -> None:
        self.stop.set()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


def fan_out(broker: Broker, rounds: int) -> tuple[list[float], list[float], list[float],
                                                  list[float], list[float]]:
    """Per-subscriber latencies and per-round 'all 50 have it' times, baseline and call."""
    subs = Subscribers(broker, BOARDS)
    raw = make_client("demo", "server", broker.password("server"), will=False,
                      client_id="bench-raw")  # the broker runs with any client id here
    connect(raw, broker.broker_address, blocking=True)
    raw.loop_start()
    kiosk = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                          broker.broker_address, will=False).start()
    counter = RequestClient("demo", "counter-3", broker.password("counter-3"),
                            broker.broker_address, will=False).start()
    base, call, base_all, call_all, reply_t = [], [], [], [], []
    try:
        assert counter.request("open")["ok"]
        for _ in range(rounds + 5):
            assert kiosk.request("issue", {"service": "A", "source": "walk_in"})["ok"]
        for i in range(rounds + 5):
            warm = i < 5
            body = {"key": f"raw-{i}", "number": "A000", "counter": "3",
                    "text": "请A000号到3号窗口办理", "at": "2026-11-23T09:00:00+08:00"}
            t0 = time.perf_counter()
            raw.publish("qms/demo/event/bench", json.dumps(body, ensure_ascii=False).encode(),
                        qos=1)
            got = subs.wait(f"raw-{i}", BOARDS)
            if not warm:
                base += [t - t0 for t in got]
                base_all.append(max(got) - t0)
            t0 = time.perf_counter()
            reply = counter.request("call_next")
            replied = time.perf_counter()
            assert reply["ok"], reply
            got = subs.wait(reply["ticket"]["number"], BOARDS)
            if not warm:
                call += [t - t0 for t in got]
                call_all.append(max(got) - t0)
                reply_t.append(replied - t0)
    finally:
        counter.close()
        kiosk.close()
        raw.disconnect()
        raw.loop_stop()
        subs.close()
    return base, call, base_all, call_all, reply_t


def qt_boards(broker: Broker, hall_path: Path, rounds: int) -> dict[str, list[float]]:
    """A real WindowBoard and HallBoard: event received → painted, call_next → painted."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from display.app import BoardController
    from display.link import BoardLink
    from display.model import HallView, WindowView
    from display.settings import DisplaySettings
    from display.widgets import HallBoard, WindowBoard
    from queue_server.config import load_hall
    from ui.theme import install_fonts

    app = QApplication.instance() or QApplication([])
    install_fonts(app)  # type: ignore[arg-type]
    hall = load_hall(hall_path)
    settings = DisplaySettings.from_hall(hall)
    out: dict[str, list[float]] = {"window_event": [], "window_call": [], "hall_event": [],
                                   "hall_call": [], "window_paint": [], "hall_paint": []}
    paint_cost: dict[tuple[str, str], float] = {}
    links, boards = [], {}
    seen: dict[str, float] = {}  # number -> when the boards' link got event/called
    painted: dict[tuple[str, str], float] = {}
    for device, kind in ((QT_WINDOW, "window"), (QT_HALL, "hall")):
        link = BoardLink("demo", device, broker.password(device), broker.broker_address)
        board = WindowBoard() if kind == "window" else HallBoard(settings.notice_speed)
        BoardController(hall, settings, link, board, counter="3" if kind == "window" else None)
        board.resize(1280, 720) if kind == "window" else board.resize(1920, 1080)
        board.show()

        def on_paint(t: float, b: Any = board, k: str = kind) -> None:
            v = b.painted_view
            number = v.number if isinstance(v, WindowView) else (
                v.calls[0].number if isinstance(v, HallView) and v.calls else None)
            if number and (k, number) not in painted:
                painted[(k, number)] = t
                paint_cost[(k, number)] = b.paint_s

        board.painted.connect(on_paint)
        if kind == "window":
            link.message.connect(lambda topic, data, t: topic.endswith("/event/called")
                                 and seen.setdefault(data["number"], t))
        link.start()
        links.append(link)
        boards[kind] = board
    deadline = time.monotonic() + 10
    while not all(lk.connected for lk in links) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    counter = RequestClient("demo", "counter-3", broker.password("counter-3"),
                            broker.broker_address, will=False).start()
    kiosk = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                          broker.broker_address, will=False).start()
    try:
        for _ in range(rounds + 3):
            assert kiosk.request("issue", {"service": "A", "source": "walk_in"})["ok"]
        for i in range(rounds + 3):
            result: dict[str, Any] = {}
            sent = time.monotonic()
            # the request runs on a thread: the GUI thread must stay free to paint
            th = threading.Thread(
                target=lambda r=result: r.update(counter.request("call_next")))
            th.start()
            number = None
            end = time.monotonic() + 10
            while time.monotonic() < end:
                app.processEvents()
                if number is None and "ticket" in result:
                    number = result["ticket"]["number"]
                if number and ("window", number) in painted and ("hall", number) in painted:
                    break
                time.sleep(0.0005)
            th.join()
            if number is None or number not in seen:
                raise TimeoutError(f"round {i}: no call seen ({result})")
            if i < 3:
                continue  # warm-up: first paints load fonts
            for kind in ("window", "hall"):
                t = painted[(kind, number)]
                out[f"{kind}_event"].append(max(0.0, t - seen[number]))
                out[f"{kind}_call"].append(t - sent)
                out[f"{kind}_paint"].append(paint_cost[(kind, number)])
    finally:
        counter.close()
        kiosk.close()
        for lk in links:
            lk.close()
        for b in boards.values():
            b.close()
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="./qms bench display", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=200, help="calls measured (fan-out)")
    ap.add_argument("--paint-rounds", type=int, default=50, help="calls measured (Qt boards)")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    args = ap.parse_args(argv)
    rounds = 20 if args.quick else args.rounds
    paint_rounds = 10 if args.quick else args.paint_rounds
    tmp = Path(tempfile.mkdtemp(prefix="qms-bench-display-"))
    hall = display_hall(tmp)
    with Broker.start(hall, bind_client_ids=False) as broker:
        server = ServerProcess(broker, tmp / "data", hall).start()
        try:
            base, call, base_all, call_all, reply = fan_out(broker, rounds)
            paint = qt_boards(broker, hall, paint_rounds)
        finally:
            server.close()
    ms = 1000.0

    def row(label: str, xs: list[float]) -> str:
        return (f"{label:<44} p50 {pct(xs, 50) * ms:7.2f} ms   p99 {pct(xs, 99) * ms:7.2f} ms"
                f"   (n={len(xs)})")

    print("\n== ./qms bench display ==")
    print(f"{BOARDS} board clients, {rounds} rounds, baseline and call alternating")
    print(row("baseline  QoS1 publish -> each subscriber", base))
    print(row("call      call_next -> each board's event", call))
    print(row("baseline  publish -> all 50 have it", base_all))
    print(row("call      call_next -> all 50 have it", call_all))
    r50 = pct(call, 50) / pct(base, 50)
    r99 = pct(call, 99) / pct(base, 99)
    verdict = "MET" if max(r50, r99) <= 2 else "NOT MET"
    print(f"ratio call/baseline: p50 {r50:.2f}x  p99 {r99:.2f}x   target <= 2x: {verdict}")
    print(row("          (call_next -> its reply, for scale)", reply))
    print(f"Qt boards (offscreen), {paint_rounds} calls")
    print(row("window board  event received -> painted", paint["window_event"]))
    print(row("hall board    event received -> painted", paint["hall_event"]))
    print(row("window board  call_next sent -> painted", paint["window_call"]))
    print(row("hall board    call_next sent -> painted", paint["hall_call"]))
    print(row("window board  the paint itself (1280x720)", paint["window_paint"]))
    print(row("hall board    the paint itself (1920x1080)", paint["hall_paint"]))
    return 0
