"""Reports from a real SQLite hall database written by the real engine and store."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_server.config import load_hall, parse_hall
from queue_server.engine import Context, Engine
from queue_server.engine import commands as c
from queue_server.engine.model import Source
from queue_server.reports import build, main
from queue_server.reports.figures import ALL, ReportSettings, percentile
from queue_server.reports.source import ReportSourceError, open_readonly
from queue_server.store import Store

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets/halls/demo.toml"
TZ = ZoneInfo("Asia/Shanghai")


class Recorder:
    """Engine + Store on a hand-moved clock: the server's write path without MQTT."""

    def __init__(self, data: Path) -> None:
        self.hall = load_hall(DEMO)
        self.store = Store(data, self.hall)
        self.engine = Engine(self.hall)
        self.codes = count(1)
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)

    def at(self, hh: int, mm: int, day: int = 23) -> Recorder:
        self.now = datetime(2026, 11, day, hh, mm, tzinfo=TZ)
        return self

    def do(self, cmd: Any, device: str = "kiosk-1") -> dict[str, Any]:
        out = self.engine.handle(cmd, Context(self.now, lambda: f"code-{next(self.codes)}"))
        with self.store.transaction():
            self.store.record(device=device, request_id=None, op="x", at=self.now,
                              events=out.events, state=self.engine.state, reply=None)
        return out.reply


def morning(data: Path) -> Recorder:
    h = Recorder(data)
    h.at(9, 0).do(c.Issue("A", Source.WALK_IN))                   # A001
    h.at(9, 5).do(c.Issue("A", Source.ID_CARD))                   # A002
    h.at(9, 10).do(c.Issue("B", Source.WALK_IN))                  # B001
    h.do(c.Open("1"), "counter-1")
    h.do(c.Open("4"), "counter-4")
    assert h.at(9, 10).do(c.CallNext("1"), "counter-1")["ticket"]["number"] == "A001"
    h.at(9, 12).do(c.Start("1"), "counter-1")
    assert h.at(9, 20).do(c.CallNext("1"), "counter-1")["ticket"]["number"] == "A002"
    assert h.do(c.Rate("1", "A001", 5, None, None), "counter-1")["ok"]
    h.at(9, 21).do(c.Skip("1"), "counter-1")
    assert h.at(9, 40).do(c.CallNext("4"), "counter-4")["ticket"]["number"] == "B001"
    h.at(9, 45).do(c.Transfer("4", service="A"), "counter-4")
    assert h.at(9, 50).do(c.CallNext("1"), "counter-1")["ticket"]["number"] == "B001"
    h.at(10, 0).do(c.Finish("1"), "counter-1")
    assert h.do(c.Rate("1", "B001", 1, "等候时间太长", None), "counter-1")["ok"]
    return h


def test_percentile_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == 4.0


def test_figures_per_day_service_counter(tmp_path: Path) -> None:
    h = morning(tmp_path)
    day = h.now.date()
    r = build(tmp_path, day, day, hall=h.hall, as_of=h.now)
    total = r.total
    assert (total.issued, total.served, total.no_show, total.transferred) == (3, 2, 1, 1)
    assert total.still_open == 0
    # waits: A001 10, A002 15, B001 30 in B, then 5 in A after the transfer
    assert total.waits == 4
    assert total.wait_avg_min == 15.0 and total.wait_p90_min == 30.0
    assert total.over_sla_share == 0.25
    # service: A001 started 09:12 → 09:20 (8), B001 called 09:50 → 10:00 (10, no start)
    assert total.service_avg_min == 9.0 and total.service_p90_min == 10.0
    assert total.rating[5] == 1 and total.rating[1] == 1 and total.rating_avg == 3.0
    assert (total.follow_ups_open, total.follow_ups_overdue) == (1, 0)
    assert total.peak_hour == "09:00-10:00" and total.peak_count == 3
    assert [d.day for d in r.days] == [day.isoformat(), ALL]

    svc = {s.key: s for s in r.services if s.day == ALL}
    assert svc["A"].name == "综合受理"
    assert (svc["A"].issued, svc["A"].served, svc["A"].no_show, svc["A"].waits) == (2, 2, 1, 3)
    assert svc["A"].wait_avg_min == 10.0
    assert (svc["B"].issued, svc["B"].transferred, svc["B"].over_sla_share) == (1, 1, 1.0)
    assert svc["A"].rating[1] == 1  # B001 was served (and rated) in A
    assert svc["C"].issued == 0 and svc["C"].waits == 0  # every configured service listed

    ctr = {x.key: x for x in r.counters if x.day == ALL}
    assert (ctr["1"].served, ctr["1"].no_show, ctr["1"].transferred) == (2, 1, 0)
    assert ctr["1"].issued is None and ctr["1"].name == "1号窗口"
    assert (ctr["4"].served, ctr["4"].transferred) == (0, 1)
    assert ctr["1"].follow_ups_open == 1 and ctr["4"].follow_ups_open == 0

    later = build(tmp_path, day, day, hall=h.hall, as_of=h.now + timedelta(days=16))
    assert later.total.follow_ups_overdue == 1
    assert later.follow_ups[0]["state"] == "overdue"
    assert later.follow_ups[0]["number"] == "B001"
    strict = build(tmp_path, day, day, hall=h.hall, as_of=h.now, sla_minutes=5)
    assert strict.total.over_sla_share == 0.75


def test_ticket_belongs_to_its_issue_day_and_open_ones_are_counted(tmp_path: Path) -> None:
    h = morning(tmp_path)
    h.at(23, 50).do(c.Issue("E", Source.WALK_IN))       # E001 on the 23rd
    h.at(0, 10, day=24).do(c.Issue("E", Source.WALK_IN))  # E001 again on the 24th
    h.at(0, 20, day=24).do(c.CallNext("1"), "counter-1")  # calls the 23rd's E001 (30 min)
    r = build(tmp_path, h.now.date() - timedelta(days=1), h.now.date(), hall=h.hall,
              as_of=h.now)
    days = {d.day: d for d in r.days}
    assert days["2026-11-23"].issued == 4 and days["2026-11-24"].issued == 1
    assert days["2026-11-23"].waits == 5 and days["2026-11-23"].still_open == 1
    assert days["2026-11-24"].waits == 0 and days["2026-11-24"].still_open == 1
    assert days[ALL].issued == 5
    from queue_server.reports.output import render_page

    page = render_page(r, tmp_path / "out", h.hall.name)  # the by-day chart of a range
    assert all(p.stat().st_size > 10_000 for p in page)
    only_24 = build(tmp_path, h.now.date(), h.now.date(), hall=h.hall, as_of=h.now)
    assert only_24.total.issued == 1 and only_24.total.waits == 0


def test_settings_from_hall_config() -> None:
    text = DEMO.read_text("utf-8")
    import tomllib

    data = tomllib.loads(text)
    data["reports"] = {"sla_minutes": 30}
    assert ReportSettings.from_hall(parse_hall(data, "x.toml")).sla_minutes == 30
    data["reports"] = {"sla_minutes": 0}
    with pytest.raises(ValueError, match=r"reports\.sla_minutes"):
        ReportSettings.from_hall(parse_hall(data, "x.toml"))
    data["reports"] = {"sla": 3}
    with pytest.raises(ValueError, match=r"reports\.sla"):
        ReportSettings.from_hall(parse_hall(data, "x.toml"))
    assert ReportSettings.from_hall(load_hall(DEMO)).sla_minutes == 20


def test_cli_writes_csv_and_page_without_touching_the_database(tmp_path: Path,
                                                               capsys: Any) -> None:
    h = morning(tmp_path / "data")
    h.store.close()
    db = tmp_path / "data" / "hall.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out = tmp_path / "out"
    rc = main(["--data", str(tmp_path / "data"), "--date", "2026-11-23", "--out", str(out),
               "--config", str(DEMO), "--json"])
    assert rc == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    for name in ("by_day.csv", "by_service.csv", "by_counter.csv", "by_hour.csv",
                 "follow_ups.csv", "report.png", "report.pdf", "report.json"):
        assert (out / name).stat().st_size > 0, name
    text = (out / "by_counter.csv").read_text("utf-8-sig")
    assert text.splitlines()[0].startswith("day,key,name,issued,served")
    assert "1号窗口" in text
    assert "B001" in (out / "follow_ups.csv").read_text("utf-8-sig")
    printed = capsys.readouterr().out
    assert "total" in printed and "clerk = counter" in printed
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        open_readonly(tmp_path / "data").execute("DELETE FROM events")


def test_cli_errors_are_plain(tmp_path: Path, capsys: Any) -> None:
    assert main(["--data", str(tmp_path), "--date", "2026-11-23", "--out", str(tmp_path)]) == 2
    assert "no hall database" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--date", "23.11.2026", "--out", str(tmp_path)])
    with pytest.raises(ReportSourceError):
        open_readonly(tmp_path / "missing")


def test_recall_is_one_visit_and_requeue_waits_again(tmp_path: Path) -> None:
    h = Recorder(tmp_path)
    h.at(9, 0).do(c.Issue("A", Source.WALK_IN))
    h.do(c.Open("2"), "counter-2")
    h.at(9, 4).do(c.CallNext("2"), "counter-2")
    h.at(9, 6).do(c.Recall("2"), "counter-2")
    h.at(9, 8).do(c.Skip("2"), "counter-2")
    assert h.at(9, 30).do(c.Requeue("2", "A001"), "counter-2")["ok"]
    h.at(9, 33).do(c.CallNext("2"), "counter-2")
    h.at(9, 40).do(c.Finish("2"), "counter-2")
    r = build(tmp_path, h.now.date(), h.now.date(), hall=h.hall, as_of=h.now)
    t = r.total
    assert (t.issued, t.served, t.no_show, t.waits) == (1, 1, 1, 2)
    assert t.wait_avg_min == 3.5  # 4 min, then 3 min after the requeue
    assert t.service_avg_min == 7.0
    hours = [x for x in r.hours if x.day == ALL]
    assert [(x.hour, x.issued, x.called, x.served) for x in hours] == [(9, 1, 2, 1)]
