"""./qms demo: the hall on this machine.

Starts a Mosquitto broker provisioned from the hall config and the queue server (as
their own processes, as in a hall), then plays a scripted morning in fast time:
residents take numbers at two kiosks (some by ID card, some elderly, one with a
booking), clerks at the counters call, serve, skip no-shows, transfer, pause for a
break and get rated. Every step is printed, with the sentence the hall's voice
would speak. The UIs (kiosk, counter terminal, boards) join here as their issues land.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from demo.parts import DemoContext, parts  # noqa: E402
from queue_server.client import RequestClient  # noqa: E402
from queue_server.config import ConfigError, Hall, load_hall  # noqa: E402
from queue_server.idnumber import check_char  # noqa: E402
from queue_server.mqttlink import connect, make_client  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402

MORNING = (8 * 60 + 30, 12 * 60)  # 08:30-12:00, hall time of the script


def id_number(rnd: random.Random, birth_year: int) -> str:
    """A made-up resident ID number with a valid GB 11643 check digit."""
    head = f"320582{birth_year:04d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    body = head + f"{rnd.randint(0, 999):03d}"
    return body + check_char(body)


@dataclass(order=True)
class _Step:
    at: float  # minutes since midnight, hall time
    seq: int
    action: Callable[[], None] = field(compare=False)


class Morning:
    def __init__(self, hall: Hall, broker: Broker, speed: float, seed: int,
                 reserved: set[str] | None = None) -> None:
        self.hall, self.broker, self.speed = hall, broker, speed
        self.reserved = reserved or set()
        self.kiosks = [d.id for d in hall.devices
                       if d.role == "kiosk" and d.id not in self.reserved]
        self.rnd = random.Random(seed)
        self.steps: list[_Step] = []
        self.seq = 0
        self.now = MORNING[0]
        self.t0 = time.monotonic()
        self.clients: dict[str, RequestClient] = {}
        self.busy: dict[str, str | None] = {}
        self.waits: list[float] = []
        self.issued_at: dict[str, float] = {}
        self.counts = {"issued": 0, "served": 0, "no_show": 0, "transferred": 0, "rated": 0}

    # ------------------------------------------------------------ plumbing
    def client(self, device: str) -> RequestClient:
        if device not in self.clients:
            self.clients[device] = RequestClient(
                self.hall.id, device, self.broker.password(device), self.broker.broker_address
            ).start()
        return self.clients[device]

    def at(self, minute: float, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.steps, _Step(minute, self.seq, action))

    def clock(self) -> str:
        return f"{int(self.now) // 60:02d}:{int(self.now) % 60:02d}"

    def say(self, text: str) -> None:  # replaced by main() to share the demo's printer
        print(f"  {self.clock()}  {text}", flush=True)

    def run(self) -> None:
        while self.steps:
            step = heapq.heappop(self.steps)
            due = self.t0 + (step.at - MORNING[0]) * 60 / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.now = step.at
            step.action()

    # ------------------------------------------------------------ residents
    def plan_arrivals(self) -> None:
        weights = {"A": 5, "B": 4, "C": 1.5, "D": 2, "E": 1.5}
        minute = MORNING[0] + 1
        while minute < MORNING[1] - 30:
            service = self.rnd.choices(list(weights), list(weights.values()))[0]
            self.at(minute, lambda s=service: self.arrive(s))
            minute += self.rnd.expovariate(1 / 1.3)
        start = datetime.now(self.hall.tz) + timedelta(minutes=5)
        booking = self.client("portal").request("book", {
            "service": "C", "slot_start": start.isoformat(),
            "slot_end": (start + timedelta(minutes=30)).isoformat()})
        if booking["ok"]:
            self.at(MORNING[0] + 40, lambda: self.check_in(booking["code"]))

    def arrive(self, service: str) -> None:
        if not self.kiosks:
            return
        kiosk = self.rnd.choice(self.kiosks)
        payload: dict[str, Any] = {"service": service, "source": "walk_in"}
        how = "touch"
        if self.rnd.random() < 0.4:
            elderly = self.rnd.random() < 0.3
            year = self.rnd.randint(1935, 1954) if elderly else self.rnd.randint(1960, 2004)
            payload.update(source="id_card", id_number=id_number(self.rnd, year))
            how = "ID card"
        reply = self.client(kiosk).request("issue", payload)
        if not reply["ok"]:
            self.say(f"{kiosk}: refused: {reply['error']['message']}")
            return
        t = reply["ticket"]
        self.counts["issued"] += 1
        self.issued_at[t["number"]] = self.now
        mark = " [绿色通道]" if t["priority"] else ""
        # est_wait_s is left out: in fast time the server measures real (millisecond)
        # service times, so its estimate says nothing about the scripted hall.
        self.say(f"{kiosk}: issued {t['number']} {t['service_name']} by {how}{mark}"
                 f" - 前面还有{t['ahead']}人")

    def check_in(self, code: str) -> None:
        if not self.kiosks:
            return
        reply = self.client(self.kiosks[0]).request("checkin", {"code": code})
        if reply["ok"]:
            t = reply["ticket"]
            self.counts["issued"] += 1
            self.issued_at[t["number"]] = self.now
            self.say(f"{self.kiosks[0]}: booking checked in -> {t['number']} [预约, priority]")
        else:
            self.say(f"{self.kiosks[0]}: booking refused: {reply['error']['message']}")

    # ------------------------------------------------------------ clerks
    def open_counters(self) -> None:
        for c in self.hall.counters:
            device = f"counter-{c.id}"
            if device not in self.hall.device_ids or device in self.reserved:
                continue
            self.client(device).request("open")
            self.busy[c.id] = None
            self.at(MORNING[0] + 0.5 + self.rnd.random(), lambda cid=c.id: self.call(cid))
        self.say(f"{len(self.busy)} counters open")
        if self.busy:
            first = next(iter(self.busy))
            self.at(10 * 60, lambda: self.pause(first))

    def pause(self, cid: str) -> None:
        self.busy[cid] = "paused"
        self.client(f"counter-{cid}").request("pause", {"reason": "工间休息"})
        self.say(f"counter {cid}: paused (工间休息)")

    def call(self, cid: str) -> None:
        rc = self.client(f"counter-{cid}")
        if self.busy.get(cid) == "paused":
            rc.request("resume")
            self.busy[cid] = None
            self.say(f"counter {cid}: resumed")
        reply = rc.request("call_next")
        served = self.busy.get(cid)
        if served:
            self.counts["served"] += 1
            self.say(f"counter {cid}: served {served}")
            self.rate(cid, served)
        if not reply["ok"]:
            self.busy[cid] = None
            if self.now < MORNING[1]:
                self.at(self.now + 1.5, lambda: self.call(cid))
            return
        number = reply["ticket"]["number"]
        self.busy[cid] = number
        if number in self.issued_at:
            self.waits.append(self.now - self.issued_at.pop(number))
        svc = self.hall.service(reply["ticket"]["service"])
        minutes = max(1.0, self.rnd.gauss(svc.service_minutes if svc else 8, 2.5))
        roll = self.rnd.random()
        if roll < 0.07:
            self.at(self.now + 1, lambda: self.no_show(cid, number))
        elif roll < 0.11:
            self.at(self.now + minutes / 2, lambda: self.transfer(cid, number))
        else:
            self.at(self.now + minutes, lambda: self.call(cid))

    def no_show(self, cid: str, number: str) -> None:
        rc = self.client(f"counter-{cid}")
        rc.request("recall")
        self.say(f"counter {cid}: recalls {number}")
        rc.request("skip")
        self.counts["no_show"] += 1
        self.busy[cid] = None
        self.say(f"counter {cid}: {number} did not come (过号)")
        self.at(self.now + 0.5, lambda: self.call(cid))

    def transfer(self, cid: str, number: str) -> None:
        conf = self.hall.counter(cid)
        targets = [s.code for s in self.hall.services if conf and s.code not in conf.service_codes]
        to = self.rnd.choice(targets or ["A"])
        reply = self.client(f"counter-{cid}").request("transfer", {"service": to})
        if reply["ok"]:
            self.counts["transferred"] += 1
            self.say(f"counter {cid}: transferred {number} to service {to}")
        self.busy[cid] = None
        self.at(self.now + 0.5, lambda: self.call(cid))

    def rate(self, cid: str, number: str) -> None:
        level = self.rnd.choices([5, 4, 3, 2, 1], [60, 25, 9, 4, 2])[0]
        payload: dict[str, Any] = {"number": number, "level": level}
        if level <= self.hall.rating.reason_required_at_or_below:
            payload["reason"] = self.rnd.choice(self.hall.rating.reasons)
        pad = f"pad-{cid}"  # the resident rates on the window's pad, never the clerk
        if pad not in self.hall.device_ids or pad in self.reserved:
            return
        reply = self.client(pad).request("rate", payload)
        if reply["ok"]:
            self.counts["rated"] += 1
            if level <= self.hall.rating.reason_required_at_or_below:
                self.say(f"counter {cid}: {number} rated {level} ({payload['reason']}),"
                         " flagged for follow-up")

    def close(self) -> None:
        for rc in self.clients.values():
            rc.close()


def listen_calls(hall: Hall, broker: Broker, say: Callable[[str], None],
                 reserved: set[str]) -> Any:
    """What the hall board's speaker would say: every event/called, heard as a display
    that no board of the demo uses (None when the boards took them all)."""
    free = [d.id for d in hall.devices if d.role == "display" and d.id not in reserved]
    if not free:
        return None
    board = make_client(hall.id, free[0], broker.password(free[0]))

    def on_message(c: Any, u: Any, m: Any) -> None:
        call = json.loads(m.payload)
        say(f"voice: 「{call['text']}」" + (" (recall)" if call["recall"] else ""))

    board.on_message = on_message
    board.on_connect = lambda c, *a: c.subscribe(f"qms/{hall.id}/event/called", 1)
    connect(board, broker.broker_address)
    board.loop_start()
    return board


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./qms demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "assets/halls/demo.toml"))
    ap.add_argument("--speed", type=float, default=300.0,
                    help="hall minutes per real minute (300: the morning in ~42 s)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-script", action="store_true",
                    help="no scripted morning: just the hall and its UIs")
    ap.add_argument("--headless", action="store_true", help="start no UI even with a display")
    ap.add_argument("--stay", action="store_true",
                    help="keep everything running after the morning (Ctrl-C to stop)")
    args = ap.parse_args(argv)
    try:
        hall = load_hall(args.config)
    except ConfigError as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2
    # SIGTERM (systemd, a test's terminate) stops the hall as Ctrl-C does: every
    # process the demo started is stopped in the finally below.
    signal.signal(signal.SIGTERM, _interrupt)
    data = Path(tempfile.mkdtemp(prefix="qms-demo-data-"))
    run_dir = Path(tempfile.mkdtemp(prefix="qms-demo-run-"))
    gui = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and \
        not args.headless
    print(f"== {hall.name} ({hall.id}) ==")
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            print(f"  {text}", flush=True)

    with Broker.start(args.config) as broker:
        server = ServerProcess(broker, data, Path(args.config)).start()
        print(f"broker on {broker.address} (config {broker.dir}), server data in {data}")
        ctx = DemoContext(hall, Path(args.config), broker, data, run_dir, say, gui)
        morning: Morning | None = None
        board = None
        try:
            for part in parts():
                part.start(ctx)
            if not gui:
                print("(no display: the UIs are not started; run under X or with"
                      " xvfb-run to see them)")
            stay = args.stay or (gui and ctx.processes)
            if not args.no_script:
                print(f"a scripted morning 08:30-12:00 at {args.speed:g}x"
                      f" (logs of the parts in {run_dir}):\n")
                morning = Morning(hall, broker, args.speed, args.seed, ctx.reserved)
                morning.say = lambda text, m=morning: say(f"{m.clock()}  {text}")  # type: ignore[method-assign]
                board = listen_calls(hall, broker, morning.say, ctx.reserved)
                morning.open_counters()
                morning.plan_arrivals()
                morning.run()
                report(morning)
            if stay or args.no_script:
                print(f"\nthe hall is running. Watch it with:\n  mosquitto_sub -h 127.0.0.1"
                      f" -p {broker.port} -u display-1 -P {broker.password('display-1')}"
                      f" -t 'qms/{hall.id}/#' -v\nCtrl-C to stop.")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            if board is not None:
                board.disconnect()
                board.loop_stop()
            if morning is not None:
                morning.close()
            ctx.stop_all()
            server.close()
    return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def report(morning: Morning) -> None:
    waits = sorted(morning.waits)
    print("\n== the morning in figures ==")
    print("  " + ", ".join(f"{k} {v}" for k, v in morning.counts.items()))
    if waits:
        print(f"  wait until called: median {waits[len(waits) // 2]:.0f} min,"
              f" longest {waits[-1]:.0f} min")


if __name__ == "__main__":
    sys.exit(main())
