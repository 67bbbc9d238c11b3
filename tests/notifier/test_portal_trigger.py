"""The portal checks a hall's watched tickets on the hall's changes; a change that comes
while a check runs is not lost (it could be the call itself)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from notifier.gateway import SmsConfig
from notifier.service import Notifier
from portal.app import Portal, create_app
from portal.model import Directory


class SlowHall:
    """Answers `lookup` with the ticket's current status, after `gate` opens."""

    def __init__(self) -> None:
        self.status = "waiting"
        self.asked: list[str] = []
        self.gate = asyncio.Event()

    async def request(self, hall: str, op: str, payload: dict[str, Any], *,
                      timeout: float = 10.0) -> dict[str, Any]:
        status = self.status  # what the hall says when the question arrives
        self.asked.append(status)
        await self.gate.wait()
        return {"ok": True, "ticket": {"number": "A015", "status": status, "ahead": 9,
                                       "counter_name": "3号窗口"}}


def test_a_change_during_a_check_runs_one_more_check(tmp_path: Path) -> None:
    sent: list[tuple[str, str]] = []

    class Gateway:
        def send(self, phone: str, text: str) -> None:
            sent.append((phone, text))

        def close(self) -> None:
            pass

    config = SmsConfig(url="http://127.0.0.1:9/x")
    notifier = Notifier(tmp_path / "sms.db", config, Gateway())  # type: ignore[arg-type]
    notifier.watch("demo", "abcdef123456", "13800138000", datetime.now().astimezone())
    hall = SlowHall()
    portal = Portal(Directory(), hall, notifier=notifier)
    create_app(portal)
    changed = portal.hub.listeners[-1]

    async def run() -> None:
        changed("demo")  # a check starts and waits for the hall
        await asyncio.sleep(0.01)
        hall.status = "called"
        changed("demo")  # the call: arrives while the first check still runs
        changed("demo")  # (several changes make one more check, not several)
        await asyncio.sleep(0.01)
        hall.gate.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(hall.asked) >= 2 and notifier.outbox.empty() and sent:
                break

    asyncio.run(run())
    assert hall.asked == ["waiting", "called"]
    notifier.close()
    assert sent == [("13800138000", "【demo】请A015号到3号窗口办理。")]
