"""./qms bench day: a whole hall day against a real broker and the real queue server.

Simulated residents arrive at the kiosks by an hourly profile (some by ID card, some
elderly, some with a booking made through the portal that morning); simulated clerks
call, start, serve for a drawn service time (log-normal around the service's
`service_minutes`), skip no-shows after a recall, transfer, take lunch and short
breaks, get rated (worse after long waits) and close when their queues are empty.

The server's clock is the simulation's clock, and every request is answered before
the next step, so a seed gives the same day on any machine; --speed only paces it
(hall seconds per real second; 0 runs flat out). At the end the day's report is
built from the server's database exactly as `python -m queue_server report` does,
and checked against the simulator's own counts.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._sim import Devices, Plan, SimClock, id_number, start_server
from queue_server.config import ConfigError, Hall, load_hall
from queue_server.reports import build, summary
from queue_server.reports.output import render_page, write_csv
from tests.support.broker import Broker

# Relative arrivals per hour of the day: a morning peak, a lunch dip, an afternoon peak.
PROFILE = {8: 0.8, 9: 1.7, 10: 1.8, 11: 1.2, 12: 0.4, 13: 0.7, 14: 1.4, 15: 1.4, 16: 1.0,
           17: 0.2}
OPEN_AT, CLOSE_AT = (8, 30), (17, 30)


@dataclass
class Tally:
    issued: int = 0
    served: int = 0
    no_show: int = 0
    transferred: int = 0
    rated: int = 0
    booked: int = 0
    checked_in: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reply: dict[str, Any]) -> None:
        code = reply["error"]["code"]
        self.refused[code] = self.refused.get(code, 0) + 1


class HallDay:
    def __init__(self, hall: Hall, devices: Devices, plan: Plan, day: date,
                 arrivals: int, sla_minutes: float = 20.0) -> None:
        self.hall, self.dev, self.plan, self.day = hall, devices, plan, day
        self.rnd = plan.rnd
        self.arrivals = arrivals
        self.sla = sla_minutes
        self.tally = Tally()
        self.kiosks = [d.id for d in hall.devices if d.role == "kiosk"]
        self.counters = [c.id for c in hall.counters if f"counter-{c.id}" in hall.device_ids]
        self.issued_at: dict[str, datetime] = {}
        self.current: dict[str, tuple[str, datetime] | None] = {}
        self.breaks: dict[str, list[tuple[datetime, float]]] = {}
        self.closed: set[str] = set()
        self.idle: set[str] = set()

    def t(self, hh: int, mm: float = 0) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=self.hall.tz) + \
            timedelta(hours=hh, minutes=mm)

    @property
    def open_at(self) -> datetime:
        return self.t(*OPEN_AT)

    @property
    def close_at(self) -> datetime:
        return self.t(*CLOSE_AT)

    # ------------------------------------------------------------------ residents
    def plan_residents(self) -> None:
        # demand follows capacity: each counter's time shared among its services
        weights = {s.code: sum(1 / len(c.services) for c in self.hall.counters_serving(s.code))
                   * 60 / s.service_minutes for s in self.hall.services}
        total = sum(PROFILE.values())
        for hour, w in PROFILE.items():
            n = round(self.arrivals * w / total)
            lo = max(self.t(hour), self.open_at)
            hi = min(self.t(hour + 1), self.close_at - timedelta(minutes=15))
            if hi <= lo:
                continue
            span = (hi - lo).total_seconds()
            for offset in sorted(self.rnd.uniform(0, span) for _ in range(n)):
                at = lo + timedelta(seconds=offset)
                # residents come for what is open then (a township hall closes at noon)
                open_now = {c: w for c, w in weights.items()
                            if (svc := self.hall.service(c)) and svc.hours.is_open(at)}
                if open_now:
                    service = self.rnd.choices(list(open_now), list(open_now.values()))[0]
                    self.plan.at(at, lambda s=service: self.arrive(s))
        # bookings are made the evening before (halls that book a day ahead at the earliest)
        self.plan.at(self.t(18) - timedelta(days=1), self.book_ahead)

    def arrive(self, service: str) -> None:
        kiosk = self.rnd.choice(self.kiosks)
        payload: dict[str, Any] = {"service": service, "source": "walk_in"}
        if self.rnd.random() < 0.45:
            elderly = self.rnd.random() < 0.2
            year = self.rnd.randint(1935, 1954) if elderly else self.rnd.randint(1960, 2006)
            payload.update(source="id_card", id_number=id_number(self.rnd, year))
        reply = self.dev.request(kiosk, "issue", payload)
        if reply["ok"]:
            self.tally.issued += 1
            self.issued_at[reply["ticket"]["number"]] = self.plan.now
            self.wake(service)
        else:
            self.tally.refuse(reply)

    def book_ahead(self) -> None:
        """The portal books ~4% of the day's residents into slots; some cancel or stay away."""
        for _ in range(max(1, self.arrivals // 25)):
            svc = self.rnd.choice(self.hall.services)
            slots = [self.t(h, m) for h in range(9, 17) for m in (0, 30)
                     if svc.hours.is_open(self.t(h, m))
                     and svc.hours.is_open(self.t(h, m + 29))]
            if not slots:
                continue
            start = self.rnd.choice(slots)
            reply = self.dev.request("portal", "book", {
                "service": svc.code, "slot_start": start.isoformat(),
                "slot_end": (start + timedelta(minutes=30)).isoformat()})
            if not reply["ok"]:
                self.tally.refuse(reply)
                continue
            self.tally.booked += 1
            roll = self.rnd.random()
            code = reply["code"]
            if roll < 0.1:
                self.plan.after(5, lambda c=code: self.dev.request("portal", "cancel",
                                                                   {"code": c}))
            elif roll < 0.2:
                pass  # never comes
            else:
                early = self.rnd.uniform(0, 20)
                self.plan.at(start - timedelta(minutes=early), lambda c=code: self.check_in(c))

    def check_in(self, code: str) -> None:
        reply = self.dev.request(self.rnd.choice(self.kiosks), "checkin", {"code": code})
        if reply["ok"]:
            self.tally.issued += 1
            self.tally.checked_in += 1
            self.issued_at[reply["ticket"]["number"]] = self.plan.now
            self.wake(reply["ticket"]["service"])
        else:
            self.tally.refuse(reply)

    # ------------------------------------------------------------------ clerks
    def plan_clerks(self) -> None:
        for i, cid in enumerate(self.counters):
            lunch = self.t(11, 45) if i % 2 == 0 else self.t(12, 30)
            self.breaks[cid] = [(lunch, 45.0)]
            if self.rnd.random() < 0.5:
                self.breaks[cid].append((self.t(15, self.rnd.uniform(0, 30)), 10.0))
            self.current[cid] = None
            self.plan.at(self.open_at + timedelta(minutes=self.rnd.uniform(0, 3)),
                         lambda c=cid: self.open(c))

    def dev_of(self, cid: str) -> str:
        return f"counter-{cid}"

    def open(self, cid: str) -> None:
        self.dev.request(self.dev_of(cid), "open")
        self.call(cid)

    def call(self, cid: str) -> None:
        now = self.plan.now
        due = [b for b in self.breaks[cid] if b[0] <= now]
        if due:
            self.breaks[cid].remove(due[0])
            self.dev.request(self.dev_of(cid), "pause",
                             {"reason": "午休" if due[0][1] > 30 else "工间休息"})
            self.plan.after(due[0][1], lambda: self.resume(cid))
            return
        reply = self.dev.request(self.dev_of(cid), "call_next")
        if not reply["ok"]:
            if now >= self.close_at:
                self.dev.request(self.dev_of(cid), "close")
                self.closed.add(cid)
            else:  # nobody waiting: the terminal shows when someone joins a queue
                self.idle.add(cid)
                self.plan.after(10, lambda: self.poll(cid))
            return
        number = reply["ticket"]["number"]
        svc = self.hall.service(reply["ticket"]["service"])
        mean = svc.service_minutes if svc else 8
        sigma = 0.5
        minutes = self.rnd.lognormvariate(math.log(mean) - sigma ** 2 / 2, sigma)
        roll = self.rnd.random()
        if roll < 0.05:
            self.plan.after(1, lambda: self.dev.request(self.dev_of(cid), "recall"))
            self.plan.after(2, lambda: self.no_show(cid))
            return
        self.plan.after(self.rnd.uniform(0.3, 1.0), lambda: self.dev.request(
            self.dev_of(cid), "start"))
        if roll < 0.09:
            self.plan.after(1 + minutes / 2, lambda: self.transfer(cid))
        else:
            self.plan.after(1 + minutes, lambda: self.finish(cid, number))

    def poll(self, cid: str) -> None:
        if cid in self.idle:
            self.idle.discard(cid)
            self.call(cid)

    def wake(self, service: str) -> None:
        """A ticket joined `service`: an idle clerk serving it calls within half a minute."""
        for cid in sorted(self.idle):
            conf = self.hall.counter(cid)
            if conf is not None and service in conf.service_codes:
                self.idle.discard(cid)
                self.plan.after(self.rnd.uniform(0.1, 0.5), lambda c=cid: self.call(c))
                return

    def resume(self, cid: str) -> None:
        self.dev.request(self.dev_of(cid), "resume")
        self.call(cid)

    def no_show(self, cid: str) -> None:
        if self.dev.request(self.dev_of(cid), "skip")["ok"]:
            self.tally.no_show += 1
        self.plan.after(0.2, lambda: self.call(cid))

    def transfer(self, cid: str) -> None:
        conf = self.hall.counter(cid)
        targets = [s.code for s in self.hall.services
                   if conf is not None and s.code not in conf.service_codes]
        to = self.rnd.choice(targets) if targets else None
        if to and self.dev.request(self.dev_of(cid), "transfer", {"service": to})["ok"]:
            self.tally.transferred += 1
            self.wake(to)
        self.plan.after(0.3, lambda: self.call(cid))

    def finish(self, cid: str, number: str) -> None:
        if self.dev.request(self.dev_of(cid), "finish")["ok"]:
            self.tally.served += 1
            if self.rnd.random() < 0.75:
                self.rate(cid, number)
        self.plan.after(0.2, lambda: self.call(cid))

    def rate(self, cid: str, number: str) -> None:
        waited = self.plan.now - self.issued_at.get(number, self.plan.now)
        long_wait = waited > timedelta(minutes=self.sla * 1.5)
        weights = [40, 30, 15, 10, 5] if long_wait else [70, 22, 6, 1.5, 0.5]
        level = self.rnd.choices([5, 4, 3, 2, 1], weights)[0]
        payload: dict[str, Any] = {"number": number, "level": level}
        if level <= self.hall.rating.reason_required_at_or_below:
            payload["reason"] = "等候时间太长" if long_wait else \
                self.rnd.choice(self.hall.rating.reasons)
        reply = self.dev.request(f"pad-{cid}", "rate", payload)  # the resident's rating pad
        if reply["ok"]:
            self.tally.rated += 1
        else:
            self.tally.refuse(reply)


def run_day(hall_path: Path, day: date, *, seed: int, speed: float, arrivals: int,
            data_dir: Path, broker: Broker | None = None) -> tuple[HallDay, float]:
    """Play one day into data_dir; returns the simulation and its real duration (s)."""
    hall = load_hall(hall_path)
    clock = SimClock(datetime(day.year, day.month, day.day, 17, 55, tzinfo=hall.tz)
                     - timedelta(days=1))
    own = broker is None
    broker = broker or Broker.start(hall_path)
    server = start_server(broker, data_dir, hall_path, clock)
    devices = Devices(hall, broker)
    rnd = random.Random(seed)
    plan = Plan(clock, speed, rnd)
    from queue_server.reports import ReportSettings

    sim = HallDay(hall, devices, plan, day, arrivals, ReportSettings.from_hall(hall).sla_minutes)
    t0 = time.monotonic()
    try:
        sim.plan_residents()
        sim.plan_clerks()
        plan.run(until=sim.close_at + timedelta(hours=2))
    finally:
        devices.close()
        server.stop()
        if own:
            broker.close()
    return sim, time.monotonic() - t0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="./qms bench day", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hall", default="assets/halls/demo.toml", help="hall config")
    ap.add_argument("--speed", type=float, default=600.0,
                    help="hall seconds per real second (600: the day in about a minute;"
                    " 0: as fast as the server answers)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--arrivals", type=int, default=300, help="residents in the day")
    ap.add_argument("--date", type=date.fromisoformat, help="the day (default: today)")
    ap.add_argument("--data", help="data directory to keep (default: a temp dir)")
    ap.add_argument("--out", help="report directory (default: DATA/report)")
    args = ap.parse_args(argv)
    hall_path = Path(args.hall)
    try:
        hall = load_hall(hall_path)
    except ConfigError as e:
        print(f"bench day: {e}", file=sys.stderr)
        return 2
    day = args.date or datetime.now(hall.tz).date()
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="qms-day-"))
    if (data / "hall.db").exists():
        print(f"bench day: {data} already holds a hall database; give an empty --data",
              file=sys.stderr)
        return 2
    print(f"== ./qms bench day: {hall.name}, {day}, seed {args.seed}, {args.arrivals} residents,"
          f" speed {args.speed:g}x ==")
    sim, real_s = run_day(hall_path, day, seed=args.seed, speed=args.speed,
                          arrivals=args.arrivals, data_dir=data)
    t = sim.tally
    print(f"simulated {sim.plan.seq} steps, {sim.dev.sent} requests in {real_s:.1f} s real")
    print(f"simulator counted: issued {t.issued} (bookings {t.booked}, checked in"
          f" {t.checked_in}), served {t.served}, no-show {t.no_show}, transferred"
          f" {t.transferred}, rated {t.rated}; refused {t.refused or 'none'}")
    report = build(data, day, day, hall=hall, as_of=sim.plan.now)
    out = Path(args.out) if args.out else data / "report"
    files = write_csv(report, out) + render_page(report, out, hall.name)
    print()
    print(summary(report))
    total = report.total
    agree = (total.issued, total.served, total.no_show, total.transferred) == \
        (t.issued, t.served, t.no_show, t.transferred)
    print(f"\nreport agrees with the simulator's counts: {'yes' if agree else 'NO'}")
    print(f"data in {data}; report files: {', '.join(str(f) for f in files)}")
    return 0 if agree else 1
