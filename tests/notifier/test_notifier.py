"""The SMS notifier against a local fake gateway (a real HTTP server on loopback)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from notifier.gateway import SendFailed, SmsConfig, SmsGateway
from notifier.rules import Watch, due, mask_phone, normalise_phone
from notifier.service import Notifier
from queue_server.config import ConfigError, Reader

NOW = datetime(2026, 11, 23, 9, 0)


class FakeGateway:
    """Records what it is sent; answers the queued statuses first, then 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.statuses: list[int] = []
        self.delay_s = 0.0
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(gw.delay_s)
                gw.received.append(body)
                gw.times.append(time.monotonic())
                status = gw.statuses.pop(0) if gw.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"

    def wait(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.received) >= n, self.received


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    gw = FakeGateway()
    yield gw
    gw.server.shutdown()


def config(gw: FakeGateway, **kw: Any) -> SmsConfig:
    return SmsConfig(url=gw.url, retry_delay_s=0.01, rate_per_s=100, ahead=3,
                     extra={"account": "hall-demo"}, **kw)


def ticket(status: str, ahead: int = 0, counter_name: str | None = None) -> dict[str, Any]:
    return {"number": "A015", "status": status, "ahead": ahead, "counter_name": counter_name}


def test_sends_once_when_n_ahead_and_once_when_called(gateway: FakeGateway,
                                                       tmp_path: Path) -> None:
    n = Notifier(tmp_path / "sms.db", config(gateway))
    n.watch("demo", "code1", "13800138000", NOW)
    hall = "示范县政务服务中心"
    for ahead in (6, 5, 4):
        n.on_ticket(n.watches("demo")[0], ticket("waiting", ahead), hall)
    n.on_ticket(n.watches("demo")[0], ticket("waiting", 3), hall)
    n.on_ticket(n.watches("demo")[0], ticket("waiting", 2), hall)
    gateway.wait(1)
    text = "【示范县政务服务中心】您的A015号前面还有3人，请尽快到大厅等候。"
    assert gateway.received[0] == {"account": "hall-demo", "phone": "13800138000",
                                   "text": text}
    n.on_ticket(n.watches("demo")[0], ticket("called", 0, "3号窗口"), hall)
    gateway.wait(2)
    assert gateway.received[1]["text"] == "【示范县政务服务中心】请A015号到3号窗口办理。"
    assert n.watches("demo") == []  # nothing more to send: the number is erased
    time.sleep(0.1)
    assert len(gateway.received) == 2
    n.close()


def test_nothing_without_a_number_and_bad_numbers_refused() -> None:
    assert normalise_phone("") is None and normalise_phone("12345") is None
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    assert mask_phone("13800138000") == "138****8000"
    w = Watch("demo", "c", "13800138000", NOW)
    assert due(w, ticket("done"), "x", 3, "{number}", "{number}") == []


def test_retries_then_gives_up_and_never_blocks(gateway: FakeGateway, tmp_path: Path) -> None:
    gw = SmsGateway(config(gateway, retries=2))
    gateway.statuses = [503, 500]
    gw.send("13800138000", "hi")  # third try succeeds
    assert len(gateway.received) == 3
    gateway.statuses = [400]
    with pytest.raises(SendFailed, match="refused"):
        gw.send("13800138000", "hi")  # a 4xx is final: no retry
    assert len(gateway.received) == 4
    dead = SmsGateway(SmsConfig(url="http://127.0.0.1:9/x", retries=1, retry_delay_s=0.01))
    with pytest.raises(SendFailed, match="unreachable after 2 tries"):
        dead.send("13800138000", "hi")
    # A slow gateway: on_ticket returns at once, the worker sends later.
    gateway.delay_s = 0.5
    n = Notifier(tmp_path / "sms.db", config(gateway))
    n.watch("demo", "c2", "13900139000", NOW)
    t0 = time.monotonic()
    n.on_ticket(n.watches("demo")[0], ticket("called", 0, "1号窗口"), "厅")
    assert time.monotonic() - t0 < 0.1
    gateway.wait(5)
    n.close()


def test_rate_limit_spaces_sends(gateway: FakeGateway) -> None:
    gw = SmsGateway(SmsConfig(url=gateway.url, rate_per_s=20))
    for _ in range(5):
        gw.send("13800138000", "x")
    assert gateway.times[-1] - gateway.times[0] >= 4 / 20 - 0.01


def test_numbers_expire(gateway: FakeGateway, tmp_path: Path) -> None:
    n = Notifier(tmp_path / "sms.db", config(gateway, keep_hours=24))
    n.watch("demo", "old", "13800138000", NOW - timedelta(hours=25))
    n.watch("demo", "new", "13800138001", NOW)
    assert n.expire(NOW) == 1 and [w.code for w in n.watches("demo")] == ["new"]
    n.close()


def test_config_errors_name_the_key() -> None:
    r = Reader("sms.toml")
    with pytest.raises(ConfigError, match=r"sms\.url"):
        SmsConfig.parse({"url": "ftp://x"}, r)
    with pytest.raises(ConfigError, match=r"sms\.ahead"):
        SmsConfig.parse({"url": "http://x", "ahead": -1}, r)
    assert SmsConfig.parse({"url": "http://x", "ahead": 5}, r).ahead == 5


def test_booking_numbers_expire_after_the_slot_whatever_the_offsets(
        gateway: FakeGateway, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    n = Notifier(tmp_path / "sms.db", config(gateway, keep_hours=24))
    shanghai = ZoneInfo("Asia/Shanghai")
    slot_end = datetime(2026, 11, 25, 10, 0, tzinfo=shanghai)  # two days ahead
    n.watch_booking("demo", "bk1", "13800138000", slot_end)
    utc_clock = datetime(2026, 11, 26, 1, 30, tzinfo=ZoneInfo("UTC"))  # 09:30 in the hall
    # 23.5 h after the slot in real time; compared as text in two offsets it looked 31.5 h.
    assert n.expire(utc_clock) == 0 and [w.kind for w in n.watches("demo")] == ["appointment"]
    assert n.expire(utc_clock + timedelta(hours=1)) == 1
    n.close()
