"""The hall-day simulator: deterministic for a seed, and the report agrees with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.day import run_day
from queue_server.config import load_hall
from queue_server.reports import build
from tests.support.broker import DEMO_HALL

DAY = date(2026, 11, 23)


def _figures(data: Path) -> list[dict]:
    r = build(data, DAY, DAY, hall=load_hall(DEMO_HALL), as_of=None)
    return [row.csv() for row in r.days + r.services + r.counters]


def test_same_seed_same_day_and_report_matches(tmp_path: Path) -> None:
    runs = []
    for n in (1, 2):
        sim, _ = run_day(DEMO_HALL, DAY, seed=5, speed=0, arrivals=30, data_dir=tmp_path / str(n))
        runs.append((sim.tally, _figures(tmp_path / str(n))))
    (t1, f1), (t2, f2) = runs
    assert t1 == t2 and f1 == f2
    total = f1[0]
    assert (total["issued"], total["served"], total["no_show"], total["transferred"]) == \
        (t1.issued, t1.served, t1.no_show, t1.transferred)
    assert t1.issued >= 30 and t1.served > 0 and t1.rated > 0
    assert not t1.refused
