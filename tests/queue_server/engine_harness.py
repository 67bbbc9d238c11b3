"""A hall engine on a fake clock, for tests that need no broker and no disk."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.config import Hall, load_hall
from queue_server.engine import Context, Engine, Outcome
from queue_server.engine import commands as c
from queue_server.engine.model import Source

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets/halls/demo.toml"
TOWNSHIP = REPO / "assets/halls/township.toml"
TZ = ZoneInfo("Asia/Shanghai")


class Desk:
    """An engine, a clock you move by hand, and short names for the commands."""

    def __init__(self, hall: Hall | None = None,
                 now: datetime = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)) -> None:
        self.hall = hall or load_hall(DEMO)
        self.engine = Engine(self.hall)
        self.now = now
        self._codes = count(1)

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)

    def run(self, cmd: Any) -> Outcome:
        return self.engine.handle(cmd, Context(self.now, lambda: f"code-{next(self._codes)}"))

    def ok(self, cmd: Any) -> dict[str, Any]:
        reply = self.run(cmd).reply
        assert reply["ok"], reply
        return reply

    def refused(self, cmd: Any) -> str:
        reply = self.run(cmd).reply
        assert not reply["ok"], reply
        return reply["error"]["code"]

    def issue(self, service: str = "A", **kw: Any) -> str:
        self.tick()
        return self.ok(c.Issue(service, kw.pop("source", Source.WALK_IN), **kw))["ticket"]["number"]

    def open(self, *counters: str) -> None:
        for cid in counters:
            self.ok(c.Open(cid))

    def call(self, counter: str) -> str | None:
        self.tick()
        reply = self.run(c.CallNext(counter)).reply
        if not reply["ok"]:
            assert reply["error"]["code"] == "NO_WAITING", reply
            return None
        return reply["ticket"]["number"]
