"""./qms demo plays its scripted morning against a real broker and server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_morning_runs_and_reports() -> None:
    r = subprocess.run([sys.executable, "-m", "demo", "--speed", "20000"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "counters open" in out and "voice: 「请A001号到" in out
    assert "booking checked in" in out and "paused (工间休息)" in out
    assert "== the morning in figures ==" in out and "Traceback" not in r.stderr
