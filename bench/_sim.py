"""Pieces the hall-day simulator and the reliability suite share.

- SimClock: the server's time comes from the simulation (a settable clock), so a
  simulated day is deterministic for a seed however fast the machine runs it.
- Devices: one RequestClient per device id (the broker allows one connection each).
- start_server: the real QueueServer in this process, on a given clock.
"""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from demo.__main__ import id_number  # the demo's made-up GB 11643 ID numbers
from queue_server.client import RequestClient
from queue_server.config import Hall, load_hall
from queue_server.mqtt import Clock, QueueServer
from queue_server.store import Store
from tests.support.broker import Broker

__all__ = ["Devices", "Plan", "SimClock", "id_number", "pct", "start_server"]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))]


class SimClock:
    """Hall time set by the simulation; the server's Clock reads it."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = at

    def step(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def start_server(broker: Broker, data_dir: Path, hall_path: Path,
                 source: Callable[[], datetime] | None = None) -> QueueServer:
    hall = load_hall(hall_path)
    server = QueueServer(hall, Store(data_dir, hall), broker.broker_address,
                         broker.password("server"), clock=Clock(hall, source))
    server.start()
    if not server.wait_connected(15):
        server.stop()
        raise TimeoutError("queue server did not connect to the broker")
    return server


class Devices:
    """One RequestClient per device id, made on first use."""

    def __init__(self, hall: Hall, broker: Broker) -> None:
        self.hall, self.broker = hall, broker
        self.clients: dict[str, RequestClient] = {}
        self.sent = 0

    def __call__(self, device: str) -> RequestClient:
        rc = self.clients.get(device)
        if rc is None:
            rc = self.clients[device] = RequestClient(
                self.hall.id, device, self.broker.password(device), self.broker.broker_address,
                will=False).start()
        return rc

    def request(self, device: str, op: str, payload: dict[str, Any] | None = None,
                **kw: Any) -> dict[str, Any]:
        self.sent += 1
        return self(device).request(op, payload, **kw)

    def close(self) -> None:
        for rc in self.clients.values():
            rc.close()
        self.clients.clear()


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    action: Callable[[], None] = field(compare=False)


class Plan:
    """A discrete-event schedule in hall time; `run` paces it at `speed` (0: flat out)."""

    def __init__(self, clock: SimClock, speed: float, rnd: random.Random) -> None:
        self.clock, self.speed, self.rnd = clock, speed, rnd
        self.steps: list[_Step] = []
        self.seq = 0

    @property
    def now(self) -> datetime:
        return self.clock()

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.steps, _Step(when, self.seq, action))

    def after(self, minutes: float, action: Callable[[], None]) -> None:
        self.at(self.now + timedelta(minutes=minutes), action)

    def run(self, until: datetime | None = None) -> None:
        import time

        start_hall, start_real = self.now, time.monotonic()
        while self.steps:
            step = heapq.heappop(self.steps)
            if until is not None and step.at > until:
                break
            if step.at - self.now > timedelta(hours=1):  # the night: skip, do not pace it
                start_hall, start_real = step.at, time.monotonic()
            if self.speed > 0:
                due = start_real + (step.at - start_hall).total_seconds() / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if step.at > self.now:
                self.clock.set(step.at)
            step.action()
