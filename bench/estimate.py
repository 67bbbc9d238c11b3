"""`./qms bench estimate`: wait estimates against what happened, on simulated days.

Replays simulated days of the demo hall through the real engine (no broker, no disk):
a morning burst and an afternoon one, a lunch break where half the counters pause,
one counter closing for the afternoon, clerks of different speed, slower afternoons,
priority tickets, no-shows and transfers. For every ticket the estimate given at issue
is compared with the wait it really had (issue to first call). Prints the mean absolute
error of the learned model (estimate_learned.py), of the naive one (waiting × average
service time ÷ counters) and of the first model (estimate.py), side by side.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from queue_server import estimate
from queue_server.config import load_hall
from queue_server.engine import Context, Engine
from queue_server.engine import commands as c
from queue_server.engine.core import prune
from queue_server.engine.model import Source, TicketStatus

HALL = Path(__file__).resolve().parents[1] / "assets/halls/demo.toml"
RATES = {"A": 0.22, "B": 0.17, "C": 0.05, "D": 0.08, "E": 0.08}  # per minute, baseline
SPEED = {"1": 0.7, "2": 1.0, "3": 1.3, "4": 0.9, "5": 1.5, "6": 1.0}  # clerk's time factor


def burst(minute: float) -> float:
    if 9 * 60 <= minute < 10 * 60 + 30:
        return 2.2
    if 12 * 60 <= minute < 13 * 60 + 30:
        return 0.4
    if 14 * 60 + 30 <= minute < 15 * 60 + 30:
        return 1.6
    return 1.0


def simulate_day(engine: Engine, day: date, rnd: random.Random, tz: object,
                 rows: list[tuple[Any, ...]]) -> int:
    """Simulate one day into `rows`; returns how many tickets were not called that day."""
    hall = engine.hall
    codes = iter(range(10**9))
    start = datetime(day.year, day.month, day.day, 8, 30, tzinfo=tz)  # type: ignore[arg-type]
    end_issue = start.replace(hour=16, minute=30)
    heap: list[tuple[datetime, int, str, str]] = []
    seq = iter(range(10**9))

    def at(t: datetime, kind: str, arg: str) -> None:
        heapq.heappush(heap, (t, next(seq), kind, arg))

    def run(cmd: object, now: datetime) -> dict:
        out = engine.handle(cmd, Context(now, lambda: f"{day}-{next(codes)}"))  # type: ignore[arg-type]
        # As the server does after every batch: publish the state of the services the
        # command touched (so the estimate looks at the hall after every change).
        for code in sorted(out.services):
            if hall.service(code) is not None:
                engine.service_view(code, now)
        return out.reply

    t = start
    while t < end_issue:
        minute = t.hour * 60 + t.minute
        total = sum(RATES.values()) * burst(minute)
        t += timedelta(minutes=rnd.expovariate(total))
        svc = rnd.choices(list(RATES), list(RATES.values()))[0]
        at(t, "arrive", svc)
    for cid in SPEED:
        at(start, "open", cid)
        at(start + timedelta(seconds=5), "free", cid)
    for cid in ("2", "4", "6"):  # lunch 12:30-13:30 for half the counters
        at(start.replace(hour=12, minute=30), "pause", cid)
        at(start.replace(hour=13, minute=30), "resume", cid)
    at(start.replace(hour=15, minute=30), "close", "5")  # after its ticket then
    issued: dict[str, tuple[datetime, float, float, float]] = {}
    done_times: dict[str, list[float]] = {}
    closing: set[str] = set()
    now = start
    while heap:
        now, _, kind, arg = heapq.heappop(heap)
        if kind == "arrive":
            reply = run(c.Issue(arg, Source.WALK_IN, priority=rnd.random() < 0.08), now)
            if not reply["ok"]:
                continue
            tk = reply["ticket"]
            svc = hall.service(arg)
            assert svc is not None
            typical = svc.service_minutes * 60
            times = done_times.get(arg) or []
            avg = statistics.fmean(times) if times else typical
            n_conf = len(hall.counters_serving(arg))
            naive = tk["ahead"] * avg / n_conf
            st = engine.state
            med = estimate.median_service_s(st.service_times.get(arg, ()), svc.service_minutes)
            open_now = sum(1 for x in hall.counters_serving(arg)
                           if st.counters[x.id].status.value == "open")
            first = estimate.wait_s(tk["ahead"], med, open_now, n_conf)
            issued[tk["number"]] = (now, float(tk["est_wait_s"]), naive, float(first),
                                    arg, tk["ahead"], tk["priority"])
        elif kind in ("open", "pause", "resume"):
            cmd = {"open": c.Open, "pause": c.Pause, "resume": c.Resume}[kind](arg)
            run(cmd, now)
            if kind == "resume":
                at(now, "free", arg)
        elif kind == "close":
            closing.add(arg)
        elif kind == "free":
            ct = engine.state.counters[arg]
            if ct.status.value != "open":
                continue
            if arg in closing:
                if ct.current is not None:
                    run(c.Finish(arg), now)
                run(c.Close(arg), now)
                continue
            reply = run(c.CallNext(arg), now)
            if not reply["ok"]:
                if now < end_issue:
                    at(now + timedelta(seconds=20), "free", arg)  # nobody waiting: look again
                continue
            tk = reply["ticket"]
            if tk["number"] in issued and tk["status"] == "called":
                t0, learned, naive, first, svc_code, ahead, prio = issued.pop(tk["number"])
                actual = (now - t0).total_seconds()
                rows.append((actual, learned, naive, first, svc_code, ahead, prio, t0.hour))
            if rnd.random() < 0.05:  # did not come: skipped after a minute
                at(now + timedelta(seconds=60), "skip", arg)
                continue
            svc = hall.service(tk["service"])
            assert svc is not None
            slow = 1.25 if now.hour >= 14 else 1.0
            dur = svc.service_minutes * 60 * SPEED[arg] * slow * rnd.lognormvariate(0, 0.35)
            done_times.setdefault(tk["service"], []).append(dur)
            if rnd.random() < 0.03:
                at(now + timedelta(seconds=dur), "transfer", arg)
            else:
                at(now + timedelta(seconds=dur), "free", arg)
        elif kind == "skip":
            run(c.Skip(arg), now)
            at(now + timedelta(seconds=5), "free", arg)
        elif kind == "transfer":
            other = rnd.choice([s for s in RATES if s != "A"])
            run(c.Transfer(arg, service=other), now)
            at(now + timedelta(seconds=5), "free", arg)
    # Close the day as the hall does: tickets still waiting at closing time are not
    # served today (they go home, and are not measured); the clerks clear them.
    # (at 23:00, or when the last ticket was called if that was later: never back in time)
    end = max(now, datetime(day.year, day.month, day.day, 23, 0, tzinfo=tz))  # type: ignore[arg-type]
    for cid in SPEED:
        run(c.Open(cid), end)
        while run(c.CallNext(cid), end)["ok"]:
            run(c.Skip(cid), end)
        ct = engine.state.counters[cid]
        if ct.current is not None and engine.state.tickets[ct.current].status in (
                TicketStatus.CALLED, TicketStatus.SERVING):
            run(c.Finish(cid), end)
        run(c.Close(cid), end)
    return len(issued)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="./qms bench estimate", description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=5, help="simulated days (default: %(default)s)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    hall = load_hall(HALL)
    engine = Engine(hall)
    rnd = random.Random(args.seed)
    rows: list[tuple[Any, ...]] = []
    day0 = date(2026, 11, 23)
    unserved = 0
    first_day = 0
    for i in range(args.days):
        day = day0 + timedelta(days=i)
        # As the server does at midnight: keep yesterday's tickets, forget older ones
        # (so the model learns from today and yesterday only, as it would in a hall).
        prune(engine.state, day - timedelta(days=1))
        unserved += simulate_day(engine, day, rnd, hall.tz, rows)
        if i == 0:
            first_day = len(rows)
    if not rows:
        print("no ticket was called")
        return 1
    mae = [statistics.fmean(abs(r[0] - r[k]) for r in rows) for k in (1, 2, 3)]
    print(f"wait estimates over {args.days} simulated days, {len(rows)} tickets "
          f"(mean real wait {statistics.fmean(r[0] for r in rows) / 60:.1f} min; "
          f"{unserved} not called by closing time, not measured)")
    print(f"  {'model':<44} {'MAE (min)':>10} {'vs naive':>9}")
    names = ["learned (estimate_learned.py)",
             "naive: waiting x average / counters",
             "first model (median / open counters)"]
    for name, m in zip(names, mae, strict=True):
        print(f"  {name:<44} {m / 60:>10.2f} {m / mae[1]:>8.0%}")
    later = rows[first_day:]
    if later:
        m2 = [statistics.fmean(abs(r[0] - r[k]) for r in later) for k in (1, 2, 3)]
        print(f"  after the first day (the hall has history), {len(later)} tickets:")
        for name, m in zip(names, m2, strict=True):
            print(f"  {name:<44} {m / 60:>10.2f} {m / m2[1]:>8.0%}")
    print(f"  target: learned <= 50% of naive -> {'met' if mae[0] <= 0.5 * mae[1] else 'NOT met'}")
    return 0
